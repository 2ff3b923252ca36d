package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	json "github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// BackpressureConfig turns on back-pressure from the pipeline's backlog
// (docs/ingest.md, "Back-pressure"): while the subscription the pipeline
// reads holds more than MaxMessages unacknowledged messages, or its oldest
// one has waited longer than MaxAge, ingest answers 503 with Retry-After
// instead of publishing. It lets go once both are back under half their
// bound. Off unless BACKPRESSURE_BACKLOG_URL is set: the local stack sets
// it (its Pub/Sub emulator keeps everything in memory); in production
// Pub/Sub holds a backlog for the subscription's retention, and the
// oldest-unacked-age alert (terraform/modules/monitoring) is the guard.
type BackpressureConfig struct {
	// URL answers GET with the backlog as JSON: {"messages": N,
	// "oldest_unacked_age_seconds": S} (the local Pub/Sub emulator's
	// /v1/backlog?subscription=...). Empty: back-pressure is off.
	URL string `env:"BACKPRESSURE_BACKLOG_URL"`
	// MaxAge and MaxMessages bound the backlog.
	MaxAge      time.Duration `env:"BACKPRESSURE_MAX_AGE, default=3m"`
	MaxMessages int64         `env:"BACKPRESSURE_MAX_MESSAGES, default=1000000"`
	// Poll is how often the backlog is read.
	Poll time.Duration `env:"BACKPRESSURE_POLL_INTERVAL, default=1s"`
}

func (c BackpressureConfig) validate() error {
	if c.URL == "" {
		return nil
	}
	if c.MaxAge <= 0 || c.MaxMessages <= 0 || c.Poll <= 0 {
		return errors.New("ingest: with BACKPRESSURE_BACKLOG_URL set, BACKPRESSURE_MAX_AGE, BACKPRESSURE_MAX_MESSAGES and BACKPRESSURE_POLL_INTERVAL must be positive")
	}
	return nil
}

// Backlog is a subscription's backlog at one instant.
type Backlog struct {
	Messages         int64   `json:"messages"`
	OldestAgeSeconds float64 `json:"oldest_unacked_age_seconds"`
}

// BacklogSource reads the backlog that back-pressure watches.
type BacklogSource interface {
	Backlog(ctx context.Context) (Backlog, error)
}

// HTTPBacklog reads the backlog as JSON from a URL.
type HTTPBacklog struct {
	URL    string
	Client *http.Client
}

var _ BacklogSource = HTTPBacklog{}

// Backlog GETs the URL.
func (h HTTPBacklog) Backlog(ctx context.Context) (Backlog, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.URL, nil)
	if err != nil {
		return Backlog{}, err
	}
	resp, err := h.Client.Do(req)
	if err != nil {
		return Backlog{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Backlog{}, fmt.Errorf("GET %s: status %s", h.URL, resp.Status)
	}
	var b Backlog
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		return Backlog{}, fmt.Errorf("GET %s: %w", h.URL, err)
	}
	return b, nil
}

// backpressure decides, from the latest backlog read, whether ingest
// refuses events. A nil *backpressure (off) never does.
type backpressure struct {
	cfg BackpressureConfig
	src BacklogSource
	log *slog.Logger

	mu       sync.Mutex
	on       bool
	why      string // why it is on
	failing  bool   // the last read failed
	rejected prometheus.Counter
	engaged  prometheus.Gauge
	changes  *prometheus.CounterVec // to: on, off
	messages prometheus.Gauge
	age      prometheus.Gauge
	errs     prometheus.Counter
}

func newBackpressure(cfg BackpressureConfig, src BacklogSource, reg prometheus.Registerer, log *slog.Logger) *backpressure {
	if cfg.URL == "" && src == nil {
		return nil
	}
	if src == nil {
		src = HTTPBacklog{URL: cfg.URL, Client: &http.Client{Timeout: max(cfg.Poll, time.Second)}}
	}
	b := &backpressure{cfg: cfg, src: src, log: log,
		engaged: prometheus.NewGauge(prometheus.GaugeOpts{Name: "footfall_ingest_backpressure",
			Help: "1 while ingest refuses events (503) because the pipeline's backlog is beyond its bound, else 0."}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{Name: "footfall_ingest_backpressure_rejected_requests_total",
			Help: "Requests answered 503 because of back-pressure."}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "footfall_ingest_backpressure_changes_total",
			Help: "Times back-pressure was switched, by the state it switched to (on, off)."}, []string{"to"}),
		messages: prometheus.NewGauge(prometheus.GaugeOpts{Name: "footfall_ingest_backlog_messages",
			Help: "Unacknowledged messages of the pipeline's subscription at the latest read."}),
		age: prometheus.NewGauge(prometheus.GaugeOpts{Name: "footfall_ingest_backlog_oldest_unacked_age_seconds",
			Help: "Age of the oldest unacknowledged message of the pipeline's subscription at the latest read."}),
		errs: prometheus.NewCounter(prometheus.CounterOpts{Name: "footfall_ingest_backlog_read_errors_total",
			Help: "Failed reads of the backlog (back-pressure is off until a read succeeds)."}),
	}
	reg.MustRegister(b.engaged, b.rejected, b.changes, b.messages, b.age, b.errs)
	return b
}

// run reads the backlog every Poll until ctx is done.
func (b *backpressure) run(ctx context.Context) {
	if b == nil {
		return
	}
	b.log.Info("back-pressure on the pipeline's backlog enabled", "url", b.cfg.URL, "max_age", b.cfg.MaxAge.String(),
		"max_messages", b.cfg.MaxMessages, "poll", b.cfg.Poll.String())
	t := time.NewTicker(b.cfg.Poll)
	defer t.Stop()
	for {
		b.poll(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// poll reads the backlog once and switches back-pressure on or off,
// logging each switch once. A failed read switches it off (ingest fails
// open: publishing then tells whether Pub/Sub is there).
func (b *backpressure) poll(ctx context.Context) {
	bl, err := b.src.Backlog(ctx)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		b.errs.Inc()
		if !b.failing {
			b.log.Warn("cannot read the pipeline's backlog; back-pressure is off until a read succeeds", "url", b.cfg.URL, "err", err)
		}
		b.failing = true
		b.set(false, "")
		return
	}
	if b.failing {
		b.log.Info("reading the pipeline's backlog again", "url", b.cfg.URL)
	}
	b.failing = false
	b.messages.Set(float64(bl.Messages))
	b.age.Set(bl.OldestAgeSeconds)
	age := time.Duration(bl.OldestAgeSeconds * float64(time.Second))
	switch {
	case bl.Messages > b.cfg.MaxMessages:
		b.set(true, fmt.Sprintf("%d unacknowledged messages, more than %d", bl.Messages, b.cfg.MaxMessages))
	case age > b.cfg.MaxAge:
		b.set(true, fmt.Sprintf("the oldest unacknowledged message is %s old, more than %s", age.Round(time.Second), b.cfg.MaxAge))
	case bl.Messages <= b.cfg.MaxMessages/2 && age <= b.cfg.MaxAge/2:
		b.set(false, "")
	}
}

// set switches the state, logging and counting a change. b.mu is held.
func (b *backpressure) set(on bool, why string) {
	if on == b.on {
		return
	}
	b.on, b.why = on, why
	if on {
		b.engaged.Set(1)
		b.changes.WithLabelValues("on").Inc()
		b.log.Warn("back-pressure on: answering 503 with Retry-After until the pipeline catches up", "reason", why,
			"max_age", b.cfg.MaxAge.String(), "max_messages", b.cfg.MaxMessages)
		return
	}
	b.engaged.Set(0)
	b.changes.WithLabelValues("off").Inc()
	b.log.Info("back-pressure off: accepting events again")
}

// state says whether events are refused now, and why.
func (b *backpressure) state() (bool, string) {
	if b == nil {
		return false, ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.on, b.why
}

// admitBacklog returns a 503 requestError while back-pressure is on.
func (s *Server) admitBacklog(events int, source string) *requestError {
	on, why := s.bp.state()
	if !on {
		return nil
	}
	s.bp.rejected.Inc()
	s.stats.eventsRejected.WithLabelValues(source, "backpressure").Add(float64(events))
	return &requestError{status: fiber.StatusServiceUnavailable, reason: "backpressure", retry: s.cfg.RetryAfter, code: "VALUE_INVALID",
		msg: "the event pipeline is behind (" + why + "); nothing was accepted, retry after " + strconv.Itoa(s.cfg.RetryAfter) + " s"}
}
