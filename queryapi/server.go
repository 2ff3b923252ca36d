// Package queryapi is the HTTP service dashboards read metrics from: time
// series, breakdowns, summaries with the previous period, and a realtime
// view, for the merchant a read key belongs to. It reads the Bigtable layout
// of internal/layout, prefers sealed hours over provisional ones, says in
// every answer how complete and fresh the data is, and serves its own
// OpenAPI document at /openapi.json.
package queryapi

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	json "github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/sync/singleflight"

	"github.com/footfall/footfall/queryapi/dashboard"
)

// KeyLookup resolves a read key to its merchant (*keys.Set does).
type KeyLookup interface {
	ByReadKey(key string) (merchant string, ok bool)
}

// Server is the query API.
type Server struct {
	cfg      Config
	keys     KeyLookup
	store    Store
	log      *slog.Logger
	now      func() time.Time
	cache    *aggCache
	flight   singleflight.Group
	limiters *limiters
	gates    *gates

	stateMu sync.Mutex
	state   *state

	reg       *prometheus.Registry
	reqs      *prometheus.CounterVec
	lat       *prometheus.HistogramVec
	cacheHits *prometheus.CounterVec
	refused   *prometheus.CounterVec
}

// NewServer checks its dependencies and returns a Server.
func NewServer(cfg Config, ks KeyLookup, store Store, log *slog.Logger) (*Server, error) {
	if ks == nil || store == nil || log == nil {
		return nil, errors.New("queryapi.NewServer: keys, store and logger are required")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("queryapi.NewServer: %w", err)
	}
	reg := prometheus.NewRegistry()
	if c, ok := ks.(prometheus.Collector); ok { // the Bigtable key store's counters
		reg.MustRegister(c)
	}
	s := &Server{cfg: cfg, keys: ks, store: store, log: log, reg: reg, now: time.Now,
		cache:    newAggCache(cfg.CacheBytes, cfg.SealedTTL),
		limiters: newLimiters(cfg.RateLimit, cfg.RateBurst, cfg.RateKeys),
		gates:    newGates(cfg.MerchantConcurrency, cfg.RateKeys),
		reqs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "footfall_queryapi_requests_total", Help: "Requests by route and status code.",
		}, []string{"route", "code"}),
		lat: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "footfall_queryapi_request_seconds", Help: "Request latency by route.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
		}, []string{"route"}),
		cacheHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "footfall_queryapi_cache_buckets_total", Help: "Buckets served from the sealed cache (hit) or read from Bigtable (miss).",
		}, []string{"result"}),
	}
	s.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "footfall_queryapi_refused_total",
		Help: "Requests cut short to protect the service: reason=timeout (REQUEST_TIMEOUT passed), too_large (answer over MAX_RESPONSE_BYTES).",
	}, []string{"reason"})
	cacheBytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "footfall_queryapi_cache_bytes", Help: "Bytes the sealed-aggregate cache holds (its weight; CACHE_BYTES bounds it).",
	}, func() float64 { return float64(s.cache.bytes()) })
	reg.MustRegister(s.reqs, s.lat, s.cacheHits, s.refused, cacheBytes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return s, nil
}

func (s *Server) countCache(hits, misses int) {
	if hits > 0 {
		s.cacheHits.WithLabelValues("hit").Add(float64(hits))
	}
	if misses > 0 {
		s.cacheHits.WithLabelValues("miss").Add(float64(misses))
	}
}

// App returns the Fiber application of the public port with every route
// attached and its connection timeouts set.
func (s *Server) App() *fiber.App {
	app := fiber.New(fiber.Config{
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

// MetricsHandler serves the Prometheus metrics; it belongs on the metrics
// listener (QUERYAPI_METRICS_ADDR), never on the public port.
func (s *Server) MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	return mux
}

// MetricsServer is an http.Server for MetricsHandler on addr, with the
// same timeouts as the public port.
func (s *Server) MetricsServer(addr string) *http.Server {
	return &http.Server{Addr: addr, Handler: s.MetricsHandler(),
		ReadHeaderTimeout: s.cfg.ReadTimeout, ReadTimeout: s.cfg.ReadTimeout,
		WriteTimeout: s.cfg.WriteTimeout, IdleTimeout: s.cfg.IdleTimeout}
}

// Routes attaches the handlers of the public port.
func (s *Server) Routes(app *fiber.App) {
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	app.Get("/openapi.json", s.handleOpenAPI())
	dashboard.Register(app) // GET / and /dashboard/: the page is public, its data needs a read key
	v1 := app.Group("/v1", s.observe, s.authenticate, s.rateLimit, s.deadline)
	v1.Get("/timeseries", s.handleTimeseries())
	v1.Get("/breakdown", s.handleBreakdown())
	v1.Get("/summary", s.handleSummary())
	v1.Get("/realtime", s.handleRealtime())
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
	case errors.Is(err, context.DeadlineExceeded):
		s.refused.WithLabelValues("timeout").Inc()
		s.log.WarnContext(c.UserContext(), "request timed out", "err", err, "path", c.Path(), "timeout", s.cfg.RequestTimeout.String())
		code = fiber.StatusServiceUnavailable
		detail = fmt.Sprintf("the query did not finish within %s (REQUEST_TIMEOUT); try again, or ask for a shorter range", s.cfg.RequestTimeout)
		c.Set(fiber.HeaderRetryAfter, "1")
	default:
		s.log.ErrorContext(c.UserContext(), "request failed", "err", err, "path", c.Path())
	}
	c.Set(fiber.HeaderContentType, "application/problem+json")
	c.Set(fiber.HeaderCacheControl, "no-store")
	body, _ := json.Marshal(problem{Type: "about:blank", Title: http.StatusText(code), Status: code, Detail: detail})
	return c.Status(code).Send(body)
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
		case errors.Is(err, context.DeadlineExceeded):
			code = 503
		default:
			code = 500
		}
	}
	s.reqs.WithLabelValues(route, fmt.Sprint(code)).Inc()
	s.lat.WithLabelValues(route).Observe(time.Since(start).Seconds())
	return err
}

// deadline bounds the work of a request (store reads, merging) by
// REQUEST_TIMEOUT: its context is cancelled then, and the answer is 503.
func (s *Server) deadline(c *fiber.Ctx) error {
	ctx, cancel := context.WithTimeout(c.UserContext(), s.cfg.RequestTimeout)
	defer cancel()
	c.SetUserContext(ctx)
	return c.Next()
}

const (
	localMerchant = "merchant"
	localKey      = "read_key"
)

// authenticate resolves "Authorization: Bearer <read key>" to a merchant.
// The merchant comes from the key only: no parameter can name another.
func (s *Server) authenticate(c *fiber.Ctx) error {
	tok, ok := strings.CutPrefix(c.Get(fiber.HeaderAuthorization), "Bearer ")
	if !ok {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="footfall"`)
		return fiber.NewError(fiber.StatusUnauthorized, "send your read key as \"Authorization: Bearer <read key>\"")
	}
	tok = strings.TrimSpace(tok)
	m, ok := s.keys.ByReadKey(tok)
	if !ok {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="footfall", error="invalid_token"`)
		return fiber.NewError(fiber.StatusUnauthorized, "unknown read key; a read key (not a write key) of your merchant is needed")
	}
	c.Locals(localMerchant, m)
	// Fiber's strings point into reused request buffers; the limiter keeps
	// the key beyond this request.
	c.Locals(localKey, strings.Clone(tok))
	return c.Next()
}

func merchantOf(c *fiber.Ctx) string { return c.Locals(localMerchant).(string) }

// Freshness says how complete and fresh an answer is.
type Freshness struct {
	// SealedThrough: hours ending at or before it are final (recomputed
	// from the archive); null when nothing is sealed yet.
	SealedThrough *string `json:"sealed_through"`
	// ProvisionalAsOf: when the streaming job last updated provisional
	// values; null when it never has.
	ProvisionalAsOf *string `json:"provisional_as_of"`
}

func freshnessOf(st *state, loc *time.Location) Freshness {
	var f Freshness
	if !st.SealedThrough.IsZero() {
		v := st.SealedThrough.In(loc).Format(time.RFC3339)
		f.SealedThrough = &v
	}
	if !st.ProvisionalAt.IsZero() {
		v := st.ProvisionalAt.In(loc).Format(time.RFC3339)
		f.ProvisionalAsOf = &v
	}
	return f
}

func formatTime(t time.Time, loc *time.Location) string { return t.In(loc).Format(time.RFC3339) }

// canonicalQuery is the request's parameters sorted, so that equivalent
// requests share a key.
func canonicalQuery(c *fiber.Ctx) string {
	var kv []string
	c.Context().QueryArgs().VisitAll(func(k, v []byte) { kv = append(kv, string(k)+"="+string(v)) })
	sort.Strings(kv)
	return strings.Join(kv, "&")
}

// handleRanged is the handler of an endpoint that answers over a range:
// it parses the query into the endpoint's typed request, reads the freshness
// state once, and responds with answer's result, cacheable when the span
// it covers is sealed.
func handleRanged[R any](s *Server, route string, parse func(*query, Config) (R, error), span func(R) (from, to time.Time),
	answer func(ctx context.Context, merchant string, req R, st *state) (any, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		q, err := newQuery(c, route)
		if err != nil {
			return err
		}
		req, err := parse(q, s.cfg)
		if err != nil {
			return err
		}
		merchant := merchantOf(c)
		ctx := c.UserContext()
		st, err := s.freshState(ctx)
		if err != nil {
			return err
		}
		from, to := span(req)
		return s.respond(c, s.sealedSeed(st, from, to), func() (any, error) {
			return answer(ctx, merchant, req, st)
		})
	}
}

// respond answers with the JSON of build(). Identical concurrent requests
// of one merchant share one build. When sealedSeed is not empty, the answer
// covers sealed hours only: it gets an ETag derived from the request and
// the seal state (so If-None-Match can be answered with 304 before reading
// anything) and may be cached by the client for a minute.
func (s *Server) respond(c *fiber.Ctx, sealedSeed string, build func() (any, error)) error {
	key := merchantOf(c) + "\x00" + c.Path() + "?" + canonicalQuery(c)
	if sealedSeed != "" {
		h := fnv.New64a()
		h.Write([]byte(key))
		h.Write([]byte{0})
		h.Write([]byte(sealedSeed))
		etag := `"` + hex.EncodeToString(h.Sum(nil)) + `"`
		c.Set(fiber.HeaderETag, etag)
		c.Set(fiber.HeaderCacheControl, "private, max-age=60")
		if inm := c.Get(fiber.HeaderIfNoneMatch); inm != "" && etagMatches(inm, etag) {
			return c.SendStatus(fiber.StatusNotModified)
		}
	} else {
		c.Set(fiber.HeaderCacheControl, "private, no-cache")
	}
	v, err, _ := s.flight.Do(key, func() (any, error) {
		leave, err := s.gates.enter(c.UserContext(), merchantOf(c))
		if err != nil {
			return nil, err
		}
		defer leave()
		resp, err := build()
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(resp)
		if err != nil {
			return nil, err
		}
		if len(b) > s.cfg.MaxResponseBytes {
			s.refused.WithLabelValues("too_large").Inc()
			return nil, badRequest("the answer would be %d bytes, more than %d (MAX_RESPONSE_BYTES): ask for fewer points (a longer interval or a shorter range), fewer metrics or a smaller limit",
				len(b), s.cfg.MaxResponseBytes)
		}
		return b, nil
	})
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	return c.Send(v.([]byte))
}

func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
