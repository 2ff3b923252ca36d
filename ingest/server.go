// Package ingest is the HTTP service merchants send events to. It speaks the
// Segment HTTP Tracking API and the GA4 Measurement Protocol, validates
// every message, enriches it with what only ingest knows (receive time,
// country from the client IP, the user agent), rate-limits each merchant and
// publishes to Pub/Sub, answering 2xx only once Pub/Sub has acknowledged
// every accepted event. Hostile input is refused cheaply: nesting, numbers,
// ids and amounts are bounded before anything expands them. Metrics and
// diagnostic detail are served on a separate operators' listener.
// docs/ingest.md describes the endpoints and errors.
package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	json "github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/keys"
)

// Segment's and GA's limits.
const (
	MaxMessageBytes = 32 << 10  // one Segment message
	MaxBatchBytes   = 500 << 10 // one Segment batch (decompressed)
	MaxMPBytes      = 130_000   // one GA4 Measurement Protocol request (decompressed)
)

// Keys is what ingest needs from the key store (keys.Set, keys.FileStore).
type Keys interface {
	ByWriteKey(k string) (merchant string, ok bool)
	BySecret(k string) (merchant string, ok bool)
	RateLimit(merchant string) (keys.Limit, bool)
	Commerce(merchant, name string) string
}

// Server is the ingest HTTP service.
type Server struct {
	cfg       Config
	keys      Keys
	pub       Publisher
	log       *slog.Logger
	val       validator
	now       func() time.Time
	stats     *stats
	limits    *limiters
	authFails *authFailures
	proxies   []netip.Prefix
	ready     readyCache
}

// NewServer checks its dependencies and returns a Server.
func NewServer(cfg Config, ks Keys, pub Publisher, log *slog.Logger) (*Server, error) {
	if ks == nil || pub == nil || log == nil {
		return nil, errors.New("ingest.NewServer: keys, publisher and logger are required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ingest.NewServer: %w", err)
	}
	proxies, _ := parsePrefixes(cfg.TrustedProxies) // checked by Validate
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
		now:       time.Now,
		stats:     newStats(),
		limits:    newLimiters(ks, keys.Limit{EventsPerSecond: cfg.RateLimit, Burst: cfg.RateBurst}),
		authFails: newAuthFailures(cfg.AuthFailuresPerMinute, cfg.AuthFailureBurst),
		proxies:   proxies,
		ready:     readyCache{ttl: time.Second},
	}, nil
}

// App returns the public Fiber application with every route attached.
func (s *Server) App() *fiber.App {
	app := fiber.New(fiber.Config{
		// The wire limit; each endpoint checks its own, smaller one after
		// decompression (MaxMessageBytes, MaxMPBytes).
		BodyLimit:             MaxBatchBytes,
		DisableStartupMessage: true,
		ErrorHandler:          s.errorHandler,
		JSONEncoder:           json.Marshal,
		JSONDecoder:           json.Unmarshal,
		ReadTimeout:           s.cfg.ReadTimeout,
		WriteTimeout:          s.cfg.WriteTimeout,
		IdleTimeout:           s.cfg.IdleTimeout,
	})
	s.Routes(app)
	return app
}

// OpsApp returns the operators' application: /metrics, /healthz and
// /readyz with the reason when not ready. It is served on INGEST_OPS_ADDR,
// never on the public port.
func (s *Server) OpsApp() *fiber.App {
	app := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		ReadTimeout:           s.cfg.ReadTimeout,
		WriteTimeout:          s.cfg.WriteTimeout,
		IdleTimeout:           s.cfg.IdleTimeout,
	})
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	app.Get("/readyz", s.handleReady(true))
	app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(s.stats.reg, promhttp.HandlerOpts{})))
	return app
}

// Routes attaches the middleware and handlers of the public application.
// /healthz and /readyz (status only) stay here for Cloud Run's probes.
func (s *Server) Routes(app *fiber.App) {
	app.Use(s.requestID, s.observe)
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	app.Get("/readyz", s.handleReady(false))

	app.Post("/v1/batch", s.handleSegmentBatch())
	for _, typ := range []string{event.TypeTrack, event.TypePage, event.TypeScreen, event.TypeIdentify, event.TypeGroup, event.TypeAlias} {
		app.Post("/v1/"+typ, s.handleSegmentSingle(typ))
	}
	app.Post("/mp/collect", s.handleMPCollect(false))
	app.Post("/debug/mp/collect", s.handleMPCollect(true))
}

// Serve answers on ln until ctx is done, then stops accepting connections
// and waits up to cfg.ShutdownTimeout for in-flight requests (and so their
// publishes) to finish. The caller closes the publisher afterwards.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	return s.serve(ctx, ln, s.App())
}

// ServeOps answers the operators' routes (OpsApp) on ln until ctx is done.
func (s *Server) ServeOps(ctx context.Context, ln net.Listener) error {
	return s.serve(ctx, ln, s.OpsApp())
}

func (s *Server) serve(ctx context.Context, ln net.Listener, app *fiber.App) error {
	errc := make(chan error, 1)
	go func() { errc <- app.Listener(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("ingest: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.log.Info("ingest draining", "addr", ln.Addr().String(), "timeout", s.cfg.ShutdownTimeout.String())
	if err := app.ShutdownWithTimeout(s.cfg.ShutdownTimeout); err != nil {
		return fmt.Errorf("ingest: shutdown: %w", err)
	}
	<-errc
	return nil
}

// readyCache remembers the last readiness check for ttl, so that probes
// cannot turn into a flood of admin calls to Pub/Sub.
type readyCache struct {
	ttl time.Duration
	mu  sync.Mutex
	at  time.Time
	err error
}

// handleReady answers readiness. The public answer is the status alone:
// the reason (Pub/Sub's error text, which names the project and topic) is
// logged when readiness changes and shown only on the operators' listener
// (detail).
func (s *Server) handleReady(detail bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		r := &s.ready
		r.mu.Lock()
		if r.at.IsZero() || time.Since(r.at) > r.ttl {
			was := r.err
			r.err = s.pub.Ready(c.UserContext())
			switch {
			case r.err != nil && (was == nil || r.at.IsZero()):
				s.log.Warn("not ready: Pub/Sub unreachable", "err", r.err)
			case r.err == nil && was != nil:
				s.log.Info("ready again: Pub/Sub reachable")
			}
			r.at = time.Now()
		}
		err := r.err
		r.mu.Unlock()
		switch {
		case err == nil:
			return c.JSON(fiber.Map{"ready": true})
		case detail:
			return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"ready": false, "error": err.Error()})
		default:
			return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"ready": false})
		}
	}
}

// requestError is a failure of the whole request (auth, body, limits), kept
// apart from per-message validation errors. Each protocol renders it in its
// own body format.
type requestError struct {
	status int
	reason string // metric label: a small fixed set
	msg    string
	field  string // GA4: fieldPath; Segment: ""
	code   string // GA4 validationCode
	retry  int    // Retry-After seconds, when > 0
}

func (e *requestError) Error() string { return e.msg }

func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	code := fiber.StatusInternalServerError
	msg := "internal error; retry later"
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code, msg = fe.Code, fe.Message
		switch code {
		case fiber.StatusRequestEntityTooLarge:
			msg = fmt.Sprintf("request body is larger than the %d-byte limit; send fewer messages per request", MaxBatchBytes)
		case fiber.StatusNotFound:
			msg = "no such endpoint: " + c.Method() + " " + c.Path() + " (see docs/ingest.md)"
		case fiber.StatusMethodNotAllowed:
			msg = "method not allowed: use POST"
		}
	}
	if code >= 500 {
		s.logger(c).Error("request failed", "err", err, "path", c.Path())
	}
	s.stats.requestsRejected.WithLabelValues(reasonForStatus(code)).Inc()
	return c.Status(code).JSON(segmentResponse{Error: msg})
}

func reasonForStatus(code int) string {
	switch code {
	case fiber.StatusRequestEntityTooLarge:
		return "too_large"
	case fiber.StatusNotFound, fiber.StatusMethodNotAllowed:
		return "no_route"
	case fiber.StatusRequestTimeout:
		return "timeout"
	}
	if code >= 500 {
		return "internal"
	}
	return "bad_request"
}

// publish makes events durable. It returns nil once Pub/Sub acknowledged
// every event, else a 503 requestError: the client must retry.
func (s *Server) publish(c *fiber.Ctx, events []*event.Event) *requestError {
	ctx, cancel := context.WithTimeout(c.UserContext(), s.cfg.PublishTimeout)
	defer cancel()
	start := time.Now()
	err := s.pub.Publish(ctx, events)
	s.stats.publishSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		s.stats.eventsRejected.WithLabelValues(events[0].Source, "unavailable").Add(float64(len(events)))
		s.logger(c).Warn("publish failed; answering 503", "err", err, "events", len(events), "merchant", events[0].MerchantID)
		return &requestError{status: fiber.StatusServiceUnavailable, reason: "unavailable", retry: s.cfg.RetryAfter, code: "VALUE_INVALID",
			msg: "events could not be stored right now; nothing was accepted, retry after " + strconv.Itoa(s.cfg.RetryAfter) + " s"}
	}
	s.stats.eventsAccepted.WithLabelValues(events[0].Source).Add(float64(len(events)))
	s.stats.batchSize.Observe(float64(len(events)))
	return nil
}

// admit charges n events to the merchant's token bucket; a 429 requestError
// means the merchant sends faster than its limit.
func (s *Server) admit(c *fiber.Ctx, merchant, source string, n int) *requestError {
	ok, wait, lim := s.limits.take(merchant, n, s.now())
	if ok {
		return nil
	}
	return s.rateLimited(c, merchant, source, n, wait, lim)
}

// admitEarly refuses a request before its events are validated when the
// merchant's bucket cannot pay for a single event (n: the messages it
// carries, for the metrics).
func (s *Server) admitEarly(c *fiber.Ctx, merchant, source string, n int) *requestError {
	debt, wait, lim := s.limits.inDebt(merchant, s.now())
	if !debt {
		return nil
	}
	return s.rateLimited(c, merchant, source, n, wait, lim)
}

func (s *Server) rateLimited(c *fiber.Ctx, merchant, source string, n int, wait time.Duration, lim keys.Limit) *requestError {
	secs := int((wait + time.Second - 1) / time.Second)
	if secs < 1 {
		secs = 1
	}
	s.stats.eventsRejected.WithLabelValues(source, "rate_limited").Add(float64(n))
	s.stats.rateLimited.Inc()
	s.logger(c).Info("rate limited", "merchant", merchant, "events", n, "retry_after_s", secs)
	return &requestError{status: fiber.StatusTooManyRequests, reason: "rate_limited", retry: secs, code: "VALUE_OUT_OF_BOUNDS",
		msg: fmt.Sprintf("rate limit exceeded: this merchant may send %g events/s with bursts of %d; nothing in this request was accepted, retry after %d s", lim.EventsPerSecond, lim.Burst, secs)}
}
