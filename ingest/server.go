// Package ingest is the HTTP service merchants send events to. It speaks the
// Segment HTTP Tracking API, validates every message, enriches it with what
// only ingest knows (receive time, country from the client IP) and publishes
// it to Pub/Sub, answering 2xx only once Pub/Sub has acknowledged it.
package ingest

import (
	"context"
	"encoding/base64"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	json "github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/phuslu/iploc"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/keys"
)

// Segment's limits.
const (
	MaxMessageBytes = 32 << 10
	MaxBatchBytes   = 500 << 10
)

// Server is the ingest HTTP service.
type Server struct {
	cfg   Config
	keys  *keys.Set
	pub   Publisher
	log   *slog.Logger
	val   validator
	now   func() time.Time
	reg   *prometheus.Registry
	stats *stats
}

// NewServer checks its dependencies and returns a Server.
func NewServer(cfg Config, ks *keys.Set, pub Publisher, log *slog.Logger) (*Server, error) {
	if ks == nil || pub == nil || log == nil {
		return nil, errors.New("ingest.NewServer: keys, publisher and logger are required")
	}
	reg := prometheus.NewRegistry()
	return &Server{
		cfg:  cfg,
		keys: ks,
		pub:  pub,
		log:  log,
		val: validator{
			maxMessageBytes: MaxMessageBytes,
			maxAge:          cfg.MaxEventAge,
			maxFuture:       cfg.MaxFutureSkew,
		},
		now:   time.Now,
		reg:   reg,
		stats: newStats(reg),
	}, nil
}

// App returns the Fiber application with every route attached.
func (s *Server) App() *fiber.App {
	app := fiber.New(fiber.Config{
		BodyLimit:             MaxBatchBytes,
		DisableStartupMessage: true,
		ErrorHandler:          s.errorHandler,
		JSONEncoder:           json.Marshal,
		JSONDecoder:           json.Unmarshal,
	})
	s.Routes(app)
	return app
}

// Routes attaches the handlers.
func (s *Server) Routes(app *fiber.App) {
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	app.Get("/readyz", s.handleReady())
	app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})))
	app.Post("/v1/batch", s.handleBatch())
}

func (s *Server) handleReady() fiber.Handler {
	return func(c *fiber.Ctx) error {
		if err := s.pub.Ready(c.UserContext()); err != nil {
			return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"ready": false, "error": err.Error()})
		}
		return c.JSON(fiber.Map{"ready": true})
	}
}

// errorResponse is the body of every error answer.
type errorResponse struct {
	Success bool            `json:"success"`
	Error   string          `json:"error"`
	Errors  []*MessageError `json:"errors,omitempty"`
}

func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	code := fiber.StatusInternalServerError
	msg := "internal error"
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code, msg = fe.Code, fe.Message
		if code == fiber.StatusRequestEntityTooLarge {
			msg = "request body is larger than the 500 KB batch limit; send fewer messages per batch"
		}
	}
	if code >= 500 {
		s.log.Error("request failed", "err", err, "path", c.Path())
	}
	return c.Status(code).JSON(errorResponse{Error: msg})
}

// handleBatch serves POST /v1/batch.
func (s *Server) handleBatch() fiber.Handler {
	return func(c *fiber.Ctx) error {
		received := s.now()
		body := c.Body()
		var b segmentBatch
		if err := json.Unmarshal(body, &b); err != nil {
			s.stats.rejected.WithLabelValues("malformed").Inc()
			return c.Status(fiber.StatusBadRequest).JSON(errorResponse{Error: "body is not a Segment batch: " + jsonErrorMessage(err)})
		}
		merchant, ok := s.merchantFromBasic(c.Get(fiber.HeaderAuthorization), b.WriteKey)
		if !ok {
			s.stats.rejected.WithLabelValues("unauthorized").Inc()
			c.Set(fiber.HeaderWWWAuthenticate, `Basic realm="footfall"`)
			return c.Status(fiber.StatusUnauthorized).JSON(errorResponse{Error: "unknown write key: send it as the HTTP Basic user name (empty password) or as writeKey in the body"})
		}
		if len(b.Batch) == 0 {
			s.stats.rejected.WithLabelValues("empty").Inc()
			return c.Status(fiber.StatusBadRequest).JSON(errorResponse{Error: "batch is empty or missing: send {\"batch\": [messages]}"})
		}
		ri := s.requestInfo(c, merchant, received, b.SentAt)
		events := make([]*event.Event, 0, len(b.Batch))
		var bad []*MessageError
		for i, raw := range b.Batch {
			e, merr := s.val.segmentEvent(raw, i, "", ri)
			if merr != nil {
				merr.Field = fieldPath(i, merr.Field)
				bad = append(bad, merr)
				continue
			}
			events = append(events, e)
		}
		if len(bad) > 0 {
			s.stats.rejected.WithLabelValues("invalid").Add(float64(len(bad)))
			return c.Status(fiber.StatusBadRequest).JSON(errorResponse{
				Error:  strconv.Itoa(len(bad)) + " of " + strconv.Itoa(len(b.Batch)) + " messages are invalid; nothing in this batch was accepted",
				Errors: bad,
			})
		}
		return s.publish(c, events)
	}
}

// publish makes events durable, then answers 200; on failure 503 with
// Retry-After, so that the client retries (messageId keeps it idempotent).
func (s *Server) publish(c *fiber.Ctx, events []*event.Event) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), s.cfg.PublishTimeout)
	defer cancel()
	start := time.Now()
	err := s.pub.Publish(ctx, events)
	s.stats.publishSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		s.stats.rejected.WithLabelValues("unavailable").Add(float64(len(events)))
		s.log.Warn("publish failed; answering 503", "err", err, "events", len(events))
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(s.cfg.RetryAfter))
		return c.Status(fiber.StatusServiceUnavailable).JSON(errorResponse{Error: "events could not be stored right now; nothing was accepted, retry after " + strconv.Itoa(s.cfg.RetryAfter) + " s"})
	}
	s.stats.accepted.Add(float64(len(events)))
	s.stats.batchSize.Observe(float64(len(events)))
	return c.JSON(fiber.Map{"success": true})
}

func fieldPath(i int, field string) string {
	p := "batch[" + strconv.Itoa(i) + "]"
	if field != "" {
		p += "." + field
	}
	return p
}

// merchantFromBasic resolves the write key from HTTP Basic auth (user name,
// empty password) or, failing that, the body's writeKey.
func (s *Server) merchantFromBasic(header, bodyKey string) (string, bool) {
	if k, ok := strings.CutPrefix(header, "Basic "); ok {
		if raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(k)); err == nil {
			user, _, _ := strings.Cut(string(raw), ":")
			if m, ok := s.keys.ByWriteKey(user); ok {
				return m, true
			}
			return "", false
		}
		return "", false
	}
	if bodyKey != "" {
		return s.keys.ByWriteKey(bodyKey)
	}
	return "", false
}

// requestInfo gathers what ingest knows about the request: the country of
// the client IP is looked up here and the IP itself is never stored.
func (s *Server) requestInfo(c *fiber.Ctx, merchant string, received time.Time, sentAt string) *requestInfo {
	return &requestInfo{
		merchant:  merchant,
		received:  received,
		sentAt:    sentAt,
		country:   countryOf(c.IP()),
		userAgent: c.Get(fiber.HeaderUserAgent),
		countryOf: countryOf,
	}
}

// countryOf returns the ISO 3166-1 alpha-2 country of ip, or "" when unknown.
func countryOf(ip string) string {
	addr := net.ParseIP(strings.TrimSpace(ip))
	if addr == nil {
		return ""
	}
	cc := iploc.Country(addr)
	if cc == "" || cc == "ZZ" {
		return ""
	}
	return cc
}

type stats struct {
	accepted       prometheus.Counter
	rejected       *prometheus.CounterVec
	publishSeconds prometheus.Histogram
	batchSize      prometheus.Histogram
}

func newStats(reg *prometheus.Registry) *stats {
	st := &stats{
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "footfall_ingest_events_accepted_total", Help: "Events published and acknowledged by Pub/Sub.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "footfall_ingest_events_rejected_total", Help: "Events or requests rejected, by reason.",
		}, []string{"reason"}),
		publishSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "footfall_ingest_publish_seconds", Help: "Time to publish a request's events and receive every acknowledgement.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "footfall_ingest_batch_events", Help: "Events per accepted request.",
			Buckets: []float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000},
		}),
	}
	reg.MustRegister(st.accepted, st.rejected, st.publishSeconds, st.batchSize,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return st
}
