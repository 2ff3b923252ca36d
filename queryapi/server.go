// Package queryapi is the HTTP service dashboards read metrics from. It reads
// the Bigtable layout of internal/layout, prefers sealed hours over
// provisional ones, and says in every answer how complete and fresh the data is.
package queryapi

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	json "github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/footfall/footfall/internal/keys"
	"github.com/footfall/footfall/internal/layout"
)

// Server is the query API.
type Server struct {
	cfg   Config
	keys  *keys.Set
	store Store
	log   *slog.Logger
	reg   *prometheus.Registry
	reqs  *prometheus.CounterVec
	lat   *prometheus.HistogramVec
}

// NewServer checks its dependencies and returns a Server.
func NewServer(cfg Config, ks *keys.Set, store Store, log *slog.Logger) (*Server, error) {
	if ks == nil || store == nil || log == nil {
		return nil, errors.New("queryapi.NewServer: keys, store and logger are required")
	}
	reg := prometheus.NewRegistry()
	s := &Server{cfg: cfg, keys: ks, store: store, log: log, reg: reg,
		reqs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "footfall_queryapi_requests_total", Help: "Requests by route and status code.",
		}, []string{"route", "code"}),
		lat: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "footfall_queryapi_request_seconds", Help: "Request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, []string{"route"}),
	}
	reg.MustRegister(s.reqs, s.lat, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return s, nil
}

// App returns the Fiber application with every route attached.
func (s *Server) App() *fiber.App {
	app := fiber.New(fiber.Config{
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
	app.Get("/metrics", adaptor.HTTPHandler(promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{})))
	v1 := app.Group("/v1", s.observe, s.authenticate)
	v1.Get("/timeseries", s.handleTimeseries())
}

// problem is an RFC 9457 problem details body.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// errBadRequest marks errors that are the caller's to fix.
type errBadRequest struct{ msg string }

func (e *errBadRequest) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &errBadRequest{fmt.Sprintf(format, args...)}
}

func (s *Server) errorHandler(c *fiber.Ctx, err error) error {
	code := fiber.StatusInternalServerError
	detail := "internal error; try again, and report it if it persists"
	var br *errBadRequest
	var fe *fiber.Error
	switch {
	case errors.As(err, &br):
		code, detail = fiber.StatusBadRequest, br.msg
	case errors.As(err, &fe):
		code, detail = fe.Code, fe.Message
	default:
		s.log.Error("request failed", "err", err, "path", c.Path())
	}
	c.Set(fiber.HeaderContentType, "application/problem+json")
	body, _ := json.Marshal(problem{Type: "about:blank", Title: httpStatusText(code), Status: code, Detail: detail})
	return c.Status(code).Send(body)
}

func httpStatusText(code int) string {
	switch code {
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 404:
		return "Not Found"
	case 429:
		return "Too Many Requests"
	case 503:
		return "Service Unavailable"
	}
	return "Internal Server Error"
}

func (s *Server) observe(c *fiber.Ctx) error {
	start := time.Now()
	err := c.Next()
	route := c.Route().Path
	code := c.Response().StatusCode()
	if err != nil {
		var fe *fiber.Error
		var br *errBadRequest
		switch {
		case errors.As(err, &fe):
			code = fe.Code
		case errors.As(err, &br):
			code = 400
		default:
			code = 500
		}
	}
	s.reqs.WithLabelValues(route, fmt.Sprint(code)).Inc()
	s.lat.WithLabelValues(route).Observe(time.Since(start).Seconds())
	return err
}

// authenticate resolves "Authorization: Bearer <read key>" to a merchant.
func (s *Server) authenticate(c *fiber.Ctx) error {
	tok, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
	if !ok {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="footfall"`)
		return fiber.NewError(fiber.StatusUnauthorized, "send your read key as \"Authorization: Bearer <read key>\"")
	}
	m, ok := s.keys.ByReadKey(strings.TrimSpace(tok))
	if !ok {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="footfall", error="invalid_token"`)
		return fiber.NewError(fiber.StatusUnauthorized, "unknown read key")
	}
	c.Locals("merchant", m)
	return c.Next()
}

// Point is one bucket of a time series: its start and one number per metric.
type Point map[string]any

// TimeseriesResponse is the body of GET /v1/timeseries.
type TimeseriesResponse struct {
	Merchant string   `json:"merchant"`
	Metrics  []string `json:"metrics"`
	Interval string   `json:"interval"`
	TimeZone string   `json:"timezone"`
	From     string   `json:"from"`
	To       string   `json:"to"`
	Event    string   `json:"event,omitempty"`
	Points   []Point  `json:"points"`
	Freshness
}

// Freshness says how complete and fresh an answer is.
type Freshness struct {
	// SealedThrough: hours ending at or before it are final (recomputed
	// from the archive); null when nothing is sealed yet.
	SealedThrough *string `json:"sealed_through"`
	// ProvisionalAsOf: when the streaming job last updated provisional values.
	ProvisionalAsOf *string `json:"provisional_as_of"`
}

var supportedMetrics = map[string]func(t *layout.Totals, event string) any{
	"events": func(t *layout.Totals, ev string) any {
		if ev != "" {
			return t.ByName[ev]
		}
		return t.Events
	},
	"pageviews": func(t *layout.Totals, _ string) any { return t.PageViews },
}

func (s *Server) handleTimeseries() fiber.Handler {
	return func(c *fiber.Ctx) error {
		merchant := c.Locals("merchant").(string)
		metrics, err := parseMetrics(c.Query("metrics", "events"))
		if err != nil {
			return err
		}
		from, to, err := parseRange(c.Query("from"), c.Query("to"))
		if err != nil {
			return err
		}
		interval := c.Query("interval", "hour")
		var step time.Duration
		switch interval {
		case "hour":
			step = time.Hour
		case "day":
			step = 24 * time.Hour
		default:
			return badRequest("interval %q is not supported; use hour or day", interval)
		}
		start := from.Truncate(step)
		n := int(to.Sub(start)/step) + 1
		if n > s.cfg.MaxPoints {
			return badRequest("%s to %s by %s is %d points; the limit is %d: use a longer interval or a shorter range", from.Format(time.RFC3339), to.Format(time.RFC3339), interval, n, s.cfg.MaxPoints)
		}
		hours, err := s.store.Hours(c.UserContext(), merchant, start, to)
		if err != nil {
			return err
		}
		buckets := map[time.Time]*layout.Totals{}
		for _, h := range hours {
			b := h.Start.Truncate(step)
			if buckets[b] == nil {
				buckets[b] = &layout.Totals{}
			}
			if err := buckets[b].Merge(h.Totals); err != nil {
				return err
			}
		}
		ev := c.Query("event")
		resp := TimeseriesResponse{
			Merchant: merchant, Metrics: metrics, Interval: interval, TimeZone: "UTC",
			From: start.Format(time.RFC3339), To: to.Format(time.RFC3339), Event: ev,
			Points: []Point{},
		}
		empty := &layout.Totals{}
		for b := start; b.Before(to); b = b.Add(step) {
			t := buckets[b]
			if t == nil {
				t = empty
			}
			p := Point{"start": b.Format(time.RFC3339)}
			for _, m := range metrics {
				p[m] = supportedMetrics[m](t, ev)
			}
			resp.Points = append(resp.Points, p)
		}
		if resp.Freshness, err = s.freshness(c); err != nil {
			return err
		}
		return c.JSON(resp)
	}
}

func (s *Server) freshness(c *fiber.Ctx) (Freshness, error) {
	w, err := s.store.Watermarks(c.UserContext())
	if err != nil {
		return Freshness{}, err
	}
	var f Freshness
	if !w.SealedThrough.IsZero() {
		v := w.SealedThrough.Format(time.RFC3339)
		f.SealedThrough = &v
	}
	if !w.ProvisionalAt.IsZero() {
		v := w.ProvisionalAt.Format(time.RFC3339)
		f.ProvisionalAsOf = &v
	}
	return f, nil
}

func parseMetrics(q string) ([]string, error) {
	var out []string
	for _, m := range strings.Split(q, ",") {
		m = strings.TrimSpace(m)
		if m == "" {
			continue
		}
		if _, ok := supportedMetrics[m]; !ok {
			return nil, badRequest("unknown metric %q; supported: events, pageviews", m)
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, badRequest("metrics is empty; ask for at least one, e.g. metrics=events")
	}
	return out, nil
}

func parseRange(fromQ, toQ string) (time.Time, time.Time, error) {
	if fromQ == "" || toQ == "" {
		return time.Time{}, time.Time{}, badRequest("from and to are required (RFC 3339, e.g. from=2026-11-01T00:00:00Z)")
	}
	from, err := time.Parse(time.RFC3339, fromQ)
	if err != nil {
		return time.Time{}, time.Time{}, badRequest("from %q is not an RFC 3339 time such as 2026-11-01T00:00:00Z", fromQ)
	}
	to, err := time.Parse(time.RFC3339, toQ)
	if err != nil {
		return time.Time{}, time.Time{}, badRequest("to %q is not an RFC 3339 time such as 2026-11-02T00:00:00Z", toQ)
	}
	if !from.Before(to) {
		return time.Time{}, time.Time{}, badRequest("from (%s) must be before to (%s)", fromQ, toQ)
	}
	return from.UTC(), to.UTC(), nil
}
