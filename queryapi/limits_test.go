package queryapi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/footfall/footfall/internal/layout"
)

// The cache is bounded by the bytes it holds, not by its entries: days of
// a big merchant (dense 16 KiB sketches) fill a 256 KiB cache after about
// 16 of them, however many entries it could count.
func TestCacheIsBoundedByBytes(t *testing.T) {
	const limit = 256 << 10
	f := newFixture(t, func(c *Config) { c.CacheBytes = limit })
	for d := range 60 {
		tot := &layout.Totals{Events: 20000, Visitors: layout.NewVisitorSketch()}
		for i := range 20000 {
			tot.Visitors.Insert(fmt.Appendf(nil, "d%d-%d", d, i))
		}
		f.put(t, "shop-a", h0.Add(time.Duration(24*d)*time.Hour), layout.FamilySealed, tot)
	}
	end := h0.Add(60 * 24 * time.Hour)
	f.watermarks(t, end, end)
	body := f.ok(t, "ra", "/v1/timeseries?metrics=visitors&interval=day&from=2026-11-01&to=2026-12-31")
	if n := len(points(t, body)); n != 60 {
		t.Fatalf("%d points", n)
	}
	f.srv.cache.c.CleanUp()
	if got := f.srv.cache.bytes(); got > limit || got < limit/4 {
		t.Errorf("cache holds %d bytes after 60 dense days; want at most CACHE_BYTES = %d (and some of it used)", got, limit)
	}
	if got := f.srv.cache.c.EstimatedSize(); got >= 60 {
		t.Errorf("cache kept %d of 60 days of 16 KiB sketches in %d bytes", got, limit)
	}
}

// A breakdown merges at most BREAKDOWN_MAX_VALUES distinct values; the
// rest is folded into other, rows + other still equal total, the top
// values stay exact, and the answer says it happened.
func TestBreakdownMergesABoundedNumberOfValues(t *testing.T) {
	const maxValues = 2000
	f := newFixture(t, func(c *Config) { c.BreakdownMaxValues = maxValues })
	var events int64
	for h := range 30 {
		b := &layout.Breakdown{Values: map[string]*layout.Item{
			"/top": {Events: 1000, Visitors: layout.NewItemSketch()},
			"/two": {Events: 500},
		}}
		b.Values["/top"].Visitors.Insert(fmt.Appendf(nil, "top-%d", h))
		for i := range 98 { // values seen in one hour only
			b.Values[fmt.Sprintf("/once/%d/%d", h, i)] = &layout.Item{Events: 1}
		}
		events += 1000 + 500 + 98
		f.putBreakdown(t, "shop-a", layout.DimPage, h0.Add(time.Duration(h)*time.Hour), layout.FamilySealed, b)
		f.put(t, "shop-a", h0.Add(time.Duration(h)*time.Hour), layout.FamilySealed, &layout.Totals{Events: 1000 + 500 + 98})
	}
	f.watermarks(t, h0.Add(30*time.Hour), h0.Add(30*time.Hour))
	st, err := f.srv.freshState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.srv.mergeBreakdown(context.Background(), "shop-a", layout.DimPage, h0, h0.Add(30*time.Hour), "events", st)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.values) > maxValues || m.folded == 0 {
		t.Errorf("merged %d values (folded %d), want at most %d", len(m.values), m.folded, maxValues)
	}
	body := f.ok(t, "ra", "/v1/breakdown?dimension=page&from=2026-11-01T00:00:00Z&to=2026-11-02T06:00:00Z&limit=2")
	rows := body["rows"].([]any)
	top, two := rows[0].(map[string]any), rows[1].(map[string]any)
	if top["value"] != "/top" || num(top["events"]) != 30000 || two["value"] != "/two" || num(two["events"]) != 15000 {
		t.Errorf("rows %v; want /top 30000 and /two 15000, exact", rows)
	}
	other, total := num(body["other"].(map[string]any)["events"]), num(body["total"].(map[string]any)["events"])
	if other+30000+15000 != total || int64(total) != events {
		t.Errorf("rows + other = %v, total %v, truth %d", other+45000, total, events)
	}
	if note := body["note"].(string); !contains(note, "folded into other") {
		t.Errorf("note %q does not say values were folded", note)
	}
}

// An answer larger than MAX_RESPONSE_BYTES is refused with a 400 that
// says what to ask for instead.
func TestAnswerSizeIsBounded(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MaxResponseBytes = 4096 })
	if r := f.do(t, "ra", "/v1/timeseries?interval=hour&from=2026-11-01&to=2026-11-02"); r.code != 200 {
		t.Fatalf("a day by hour: status %d, want 200: %s", r.code, r.raw)
	}
	r := f.do(t, "ra", "/v1/timeseries?interval=hour&from=2026-11-01&to=2026-11-08")
	if d, _ := r.body["detail"].(string); r.code != 400 || !contains(d, "MAX_RESPONSE_BYTES") {
		t.Errorf("a week by hour: status %d, %s; want 400 naming MAX_RESPONSE_BYTES", r.code, r.raw)
	}
}

// blockingStore never answers a totals read before its context ends.
type blockingStore struct{ Store }

func (blockingStore) Hours(ctx context.Context, _ string, _ []Bucket, _ func(Hour) error) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Minute):
		return errors.New("blockingStore: the request was not cancelled within a minute")
	}
}

// A request whose store reads outlast REQUEST_TIMEOUT is answered 503
// with Retry-After, and its reads are cancelled.
func TestRequestTimeout(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.RequestTimeout = 50 * time.Millisecond })
	f.srv.store = blockingStore{f.srv.store}
	r := f.do(t, "ra", "/v1/timeseries?from=2026-11-01&to=2026-11-02")
	if d, _ := r.body["detail"].(string); r.code != 503 || r.header.Get("Retry-After") == "" || !contains(d, "REQUEST_TIMEOUT") {
		t.Errorf("status %d, Retry-After %q, %s; want 503 naming REQUEST_TIMEOUT", r.code, r.header.Get("Retry-After"), r.raw)
	}
}

// A client that sends its headers too slowly is cut off after READ_TIMEOUT.
func TestSlowClientIsCutOff(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.ReadTimeout = 100 * time.Millisecond })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := f.srv.App()
	go app.Listener(ln)
	t.Cleanup(func() { app.Shutdown() })
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: x\r\n"); err != nil { // and never the blank line
		t.Fatal(err)
	}
	// Without a read timeout the server waits for the rest forever; this
	// bound only keeps a failing test from hanging.
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, err = bufio.NewReader(conn).ReadString('\n')
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatal("the server kept a half-sent request open for 20 s; want it closed after READ_TIMEOUT")
	}
}

func TestTimeoutsAreConfigured(t *testing.T) {
	cfg, err := LoadConfig(context.Background(), envconfig.MapLookuper(map[string]string{
		"READ_TIMEOUT": "3s", "WRITE_TIMEOUT": "4s", "IDLE_TIMEOUT": "5s", "REQUEST_TIMEOUT": "6s", "SHUTDOWN_TIMEOUT": "7s",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ReadTimeout != 3*time.Second || cfg.WriteTimeout != 4*time.Second || cfg.IdleTimeout != 5*time.Second ||
		cfg.RequestTimeout != 6*time.Second || cfg.ShutdownTimeout != 7*time.Second {
		t.Errorf("config %+v", cfg)
	}
	f := newFixture(t, func(c *Config) { *c = cfg; c.FreshnessTTL = 0 })
	got := f.srv.App().Config()
	if got.ReadTimeout != cfg.ReadTimeout || got.WriteTimeout != cfg.WriteTimeout || got.IdleTimeout != cfg.IdleTimeout {
		t.Errorf("Fiber timeouts read %v write %v idle %v; want 3s 4s 5s", got.ReadTimeout, got.WriteTimeout, got.IdleTimeout)
	}
	for _, bad := range []map[string]string{{"READ_TIMEOUT": "0s"}, {"SHUTDOWN_TIMEOUT": "0s"}, {"QUERYAPI_METRICS_ADDR": "127.0.0.1:8081"}} {
		if _, err := LoadConfig(context.Background(), envconfig.MapLookuper(bad)); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// Metrics are served on their own listener, never on the public port;
// health stays public.
func TestMetricsAreNotOnThePublicPort(t *testing.T) {
	f := newFixture(t)
	f.ok(t, "ra", "/v1/timeseries?from=2026-11-01&to=2026-11-02")
	if r := f.do(t, "", "/metrics"); r.code != 404 {
		t.Errorf("GET /metrics on the public port: %d, want 404", r.code)
	}
	if r, err := f.srv.App().Test(httptest.NewRequest(http.MethodGet, "/healthz", nil)); err != nil || r.StatusCode != 200 {
		t.Errorf("GET /healthz on the public port: %v, %v; want 200", r, err)
	}
	rec := httptest.NewRecorder()
	f.srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{`footfall_queryapi_requests_total{code="200",route="/v1/timeseries"} 1`, "footfall_queryapi_cache_bytes", "go_goroutines"} {
		if rec.Code != 200 || !strings.Contains(body, want) {
			t.Errorf("metrics listener: status %d, no %q", rec.Code, want)
		}
	}
}

// gatedStore holds every totals read of shop-a until released, counting
// how many are inside at once.
type gatedStore struct {
	Store
	inside, most atomic.Int32
	release      chan struct{}
}

func (g *gatedStore) Hours(ctx context.Context, merchant string, spans []Bucket, fn func(Hour) error) error {
	if merchant == "shop-a" {
		n := g.inside.Add(1)
		defer g.inside.Add(-1)
		for m := g.most.Load(); n > m && !g.most.CompareAndSwap(m, n); m = g.most.Load() {
		}
		select {
		case <-g.release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return g.Store.Hours(ctx, merchant, spans, fn)
}

// One merchant's requests compute at most MERCHANT_CONCURRENCY at a time,
// whatever read keys they use; another merchant is not held up by them.
func TestMerchantConcurrencyIsBounded(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.MerchantConcurrency = 2 })
	g := &gatedStore{Store: f.srv.store, release: make(chan struct{})}
	f.srv.store = g
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f.ok(t, "ra", fmt.Sprintf("/v1/timeseries?from=2026-11-0%d&to=2026-11-0%d", 1+i, 2+i))
		}()
	}
	for deadline := time.Now().Add(20 * time.Second); g.inside.Load() < 2 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	f.ok(t, "rb", "/v1/timeseries?from=2026-11-01&to=2026-11-02") // shop-b is served meanwhile
	if got := g.most.Load(); got != 2 {
		t.Errorf("%d requests of one merchant computed at once, want MERCHANT_CONCURRENCY = 2", got)
	}
	close(g.release)
	wg.Wait()
	if got := g.most.Load(); got > 2 {
		t.Errorf("%d requests of one merchant computed at once, want at most 2", got)
	}
}
