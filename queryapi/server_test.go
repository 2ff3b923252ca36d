package queryapi

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/footfall/footfall/internal/layout"
)

var h0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func TestTimeseriesPrefersSealedAndFillsGaps(t *testing.T) {
	f := newFixture(t)
	f.put(t, "shop-a", h0, layout.FamilyProvisional, &layout.Totals{Events: 5, ByName: map[string]int64{"signup": 2}})
	f.put(t, "shop-a", h0, layout.FamilySealed, &layout.Totals{Events: 7, PageViews: 3, ByName: map[string]int64{"signup": 4}})
	f.put(t, "shop-a", h0.Add(2*time.Hour), layout.FamilyProvisional, &layout.Totals{Events: 11, ByName: map[string]int64{"signup": 1}})
	f.put(t, "shop-b", h0.Add(time.Hour), layout.FamilySealed, &layout.Totals{Events: 1000})
	f.watermarks(t, h0.Add(time.Hour), h0.Add(150*time.Minute))

	body := f.ok(t, "ra", "/v1/timeseries?metrics=events,pageviews&interval=hour&from=2026-11-01T00:00:00Z&to=2026-11-01T03:00:00Z")
	pts := points(t, body)
	want := []struct {
		start      string
		events, pv float64
		sealed     bool
	}{{"2026-11-01T00:00:00Z", 7, 3, true}, {"2026-11-01T01:00:00Z", 0, 0, false}, {"2026-11-01T02:00:00Z", 11, 0, false}}
	if len(pts) != len(want) {
		t.Fatalf("%d points, want %d: %v", len(pts), len(want), pts)
	}
	for i, w := range want {
		p := pts[i]
		if p["start"] != w.start || p["events"] != w.events || p["pageviews"] != w.pv || p["sealed"] != w.sealed {
			t.Errorf("point %d = %v, want %+v", i, p, w)
		}
	}
	if body["sealed_through"] != "2026-11-01T01:00:00Z" || body["provisional_as_of"] != "2026-11-01T02:30:00Z" {
		t.Errorf("freshness = %v, %v", body["sealed_through"], body["provisional_as_of"])
	}

	body = f.ok(t, "ra", "/v1/timeseries?metrics=events&event=signup&interval=day&from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z")
	if p := points(t, body)[0]; p["events"] != float64(5) || p["sealed"] != false {
		t.Errorf("signup events for the day = %v (sealed %v), want 5 (sealed 4 + provisional 1), not sealed", p["events"], p["sealed"])
	}
}

// isolationCases call every endpoint; each would show shop-b's data if the
// merchant came from anywhere but the key.
var isolationCases = []string{
	"/v1/timeseries?metrics=events,pageviews,visitors,sessions,revenue&interval=day&from=2026-11-01&to=2026-11-02",
	"/v1/timeseries?metrics=events&interval=hour&from=2026-11-01T00:00:00Z&to=2026-11-01T02:00:00Z",
	"/v1/timeseries?metrics=events,visitors,revenue&interval=day&filters=country==JP&from=2026-11-01&to=2026-11-02",
	"/v1/breakdown?dimension=country&metrics=events,visitors,revenue&from=2026-11-01&to=2026-11-02",
	"/v1/summary?metrics=events,visitors,revenue,sessions&from=2026-11-01&to=2026-11-02",
	"/v1/realtime",
}

func TestEveryEndpointIsolatesMerchants(t *testing.T) {
	f := newFixture(t)
	f.now = h0.Add(30 * time.Minute)
	// Only shop-b has data; shop-a's key must see none of it, however asked.
	vis := layout.NewVisitorSketch()
	vis.Insert([]byte("b-visitor"))
	bt := &layout.Totals{Events: 1000, PageViews: 10, Sessions: 5, Visitors: vis, Revenue: layout.Money{"USD": {Minor: 99, Scale: 2}}}
	f.put(t, "shop-b", h0, layout.FamilySealed, bt)
	f.put(t, "shop-b", h0, layout.FamilyProvisional, bt)
	f.putMinute(t, "shop-b", h0.Add(29*time.Minute), bt)
	item := &layout.Item{Events: 1000, Revenue: layout.Money{"USD": {Minor: 99, Scale: 2}}, Visitors: layout.NewItemSketch()}
	item.Visitors.Insert([]byte("b-visitor"))
	f.putBreakdown(t, "shop-b", layout.DimCountry, h0, layout.FamilySealed, &layout.Breakdown{Values: map[string]*layout.Item{"JP": item}})
	f.watermarks(t, h0.Add(time.Hour), h0.Add(20*time.Minute))

	for _, u := range isolationCases {
		t.Run(u, func(t *testing.T) {
			// Sanity: shop-b's own key sees its data, so the check below can fail.
			if got := f.ok(t, "rb", u); !strings.Contains(fmt.Sprint(got), "1000") {
				t.Fatalf("shop-b does not see its own data: %v", got)
			}
			a := f.ok(t, "ra", u)
			if a["merchant"] != "shop-a" {
				t.Errorf("merchant = %v, want shop-a", a["merchant"])
			}
			if s := fmt.Sprint(a); strings.Contains(s, "1000") || strings.Contains(s, "99") {
				t.Errorf("shop-a's key sees shop-b's numbers: %s", s)
			}
			// No parameter can name another merchant.
			sep := "?"
			if strings.Contains(u, "?") {
				sep = "&"
			}
			r := f.do(t, "ra", u+sep+"merchant=shop-b")
			if r.code != 400 || strings.Contains(string(r.raw), "1000") {
				t.Errorf("with merchant=shop-b: status %d, body %s; want 400 and none of shop-b's data", r.code, r.raw)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	f := newFixture(t)
	base := "/v1/timeseries?metrics=events&interval=hour&from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z"
	tests := []struct {
		name, key, url string
		want           int
		detail         string
	}{
		{"no key", "", base, 401, "Bearer"},
		{"unknown key", "zzz", base, 401, "unknown read key"},
		{"write key is not a read key", "wa", base, 401, "unknown read key"},
		{"unknown metric", "ra", strings.Replace(base, "metrics=events", "metrics=clicks", 1), 400, `unknown metric "clicks"`},
		{"bad from", "ra", strings.Replace(base, "2026-11-01T00:00:00Z", "yesterday", 1), 400, "RFC 3339"},
		{"missing to", "ra", "/v1/timeseries?from=2026-11-01", 400, "to is required"},
		{"from after to", "ra", "/v1/timeseries?metrics=events&from=2026-11-03T00:00:00Z&to=2026-11-02T00:00:00Z", 400, "before"},
		{"bad interval", "ra", strings.Replace(base, "interval=hour", "interval=fortnight", 1), 400, "interval"},
		{"too many points", "ra", "/v1/timeseries?metrics=events&interval=hour&from=2026-01-01T00:00:00Z&to=2026-11-01T00:00:00Z", 400, "limit"},
		{"range too long", "ra", "/v1/timeseries?interval=month&from=2020-01-01&to=2026-01-01", 400, "longest range"},
		{"unknown zone", "ra", base + "&tz=Mars/Olympus", 400, "unknown time zone"},
		{"offset not a whole number of quarter hours", "ra", "/v1/timeseries?from=1971-03-01&to=1971-03-02&tz=Africa/Monrovia", 400, "UTC-00:44:30"},
		{"bad filter", "ra", base + "&filters=country", 400, "dimension==value"},
		{"filter on unknown dimension", "ra", base + "&filters=planet==mars", 400, "unknown dimension"},
		{"filter with a list", "ra", base + "&filters=country==JP,US", 400, "one value"},
		{"filter by an event-scoped dimension with sessions", "ra", strings.Replace(base, "metrics=events", "metrics=sessions", 1) + "&filters=page==/home", 400, "not available"},
		{"exit pages with events", "ra", "/v1/breakdown?dimension=exit_page&metrics=events&from=2026-11-01&to=2026-11-02", 400, "not available"},
		{"event with filter", "ra", base + "&event=signup&filters=country==JP", 400, "cannot be combined"},
		{"unknown parameter", "ra", base + "&metric=events", 400, "unknown parameter metric"},
		{"unknown dimension", "ra", "/v1/breakdown?dimension=planet&from=2026-11-01&to=2026-11-02", 400, "unknown dimension"},
		{"missing dimension", "ra", "/v1/breakdown?from=2026-11-01&to=2026-11-02", 400, "dimension is required"},
		{"breakdown of sessions", "ra", "/v1/breakdown?dimension=page&metrics=sessions&from=2026-11-01&to=2026-11-02", 400, "not available"},
		{"bad limit", "ra", "/v1/breakdown?dimension=page&limit=0&from=2026-11-01&to=2026-11-02", 400, "limit"},
		{"limit not a number", "ra", "/v1/breakdown?dimension=page&limit=ten&from=2026-11-01&to=2026-11-02", 400, "limit"},
		{"summary bad time", "ra", "/v1/summary?from=2026-13-01&to=2026-11-02", 400, "from"},
		{"realtime takes no parameters", "ra", "/v1/realtime?from=2026-11-01", 400, "takes no parameters"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, tc.key, tc.url)
			if r.code != tc.want {
				t.Fatalf("status %d, want %d: %s", r.code, tc.want, r.raw)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q, want application/problem+json", ct)
			}
			if d, _ := r.body["detail"].(string); !strings.Contains(d, tc.detail) {
				t.Errorf("detail %q does not mention %q", d, tc.detail)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.RateLimit, c.RateBurst = 2, 3 })
	u := "/v1/realtime"
	for i := 0; i < 3; i++ {
		r := f.do(t, "ra", u)
		if r.code != 200 {
			t.Fatalf("request %d: status %d, want 200 (within the burst)", i, r.code)
		}
		if got, want := r.header.Get("X-RateLimit-Remaining"), fmt.Sprint(2-i); got != want {
			t.Errorf("request %d: X-RateLimit-Remaining = %q, want %q", i, got, want)
		}
		if got := r.header.Get("X-RateLimit-Limit"); got != "3" {
			t.Errorf("X-RateLimit-Limit = %q, want 3", got)
		}
	}
	r := f.do(t, "ra", u)
	if r.code != 429 {
		t.Fatalf("4th request at once: status %d, want 429", r.code)
	}
	if r.header.Get("Retry-After") != "1" || r.header.Get("X-RateLimit-Reset") != "2" {
		t.Errorf("Retry-After %q, X-RateLimit-Reset %q; want 1 and 2 (3 tokens at 2/s)", r.header.Get("Retry-After"), r.header.Get("X-RateLimit-Reset"))
	}
	if d, _ := r.body["detail"].(string); !strings.Contains(d, "2 requests per second") {
		t.Errorf("detail %q does not state the limit", d)
	}
	// Another key has its own bucket.
	if r := f.do(t, "rb", u); r.code != 200 {
		t.Errorf("other key: status %d, want 200", r.code)
	}
	// Half a second later one token is back (the clock is the server's).
	f.now = f.now.Add(500 * time.Millisecond)
	if r := f.do(t, "ra", u); r.code != 200 {
		t.Errorf("after 0.5 s: status %d, want 200", r.code)
	}
}

func TestLimitersAreBounded(t *testing.T) {
	l := newLimiters(1, 1, 10)
	for i := 0; i < 1000; i++ {
		l.get(fmt.Sprint("key-", i))
	}
	if n := l.lru.Len(); n != 10 {
		t.Errorf("%d limiters kept, want 10", n)
	}
}

func TestRealtime(t *testing.T) {
	f := newFixture(t)
	f.now = h0.Add(40*time.Minute + 20*time.Second)
	sk := func(ids ...string) *layout.Totals {
		t := &layout.Totals{Visitors: layout.NewVisitorSketch()}
		for _, id := range ids {
			t.Visitors.Insert([]byte(id))
			t.Events++
		}
		return t
	}
	hour := sk("a", "b", "c", "d")
	hour.PageViews = 2
	f.put(t, "shop-a", h0, layout.FamilyProvisional, hour)
	f.putMinute(t, "shop-a", h0.Add(10*time.Minute), sk("x")) // 31 minutes ago: outside
	f.putMinute(t, "shop-a", h0.Add(11*time.Minute), sk("a", "b"))
	f.putMinute(t, "shop-a", h0.Add(39*time.Minute), sk("b", "c"))
	f.putMinute(t, "shop-a", h0.Add(40*time.Minute), sk("d"))
	f.watermarks(t, h0, h0.Add(40*time.Minute))

	body := f.ok(t, "ra", "/v1/realtime")
	if h := body["hour"].(map[string]any); h["events"] != float64(4) || h["pageviews"] != float64(2) || h["visitors"] != float64(4) || h["start"] != "2026-11-01T00:00:00Z" {
		t.Errorf("hour = %v", h)
	}
	mins := body["minutes"].([]any)
	if len(mins) != 30 {
		t.Fatalf("%d minutes, want 30", len(mins))
	}
	first, last := mins[0].(map[string]any), mins[29].(map[string]any)
	if first["start"] != "2026-11-01T00:11:00Z" || first["events"] != float64(2) || last["start"] != "2026-11-01T00:40:00Z" || last["events"] != float64(1) {
		t.Errorf("first %v, last %v", first, last)
	}
	if l := body["last_30_minutes"].(map[string]any); l["events"] != float64(5) || l["visitors"] != float64(4) {
		t.Errorf("last 30 minutes = %v, want 5 events by 4 distinct visitors", l)
	}
	if body["as_of"] != "2026-11-01T00:40:20Z" || !strings.Contains(body["note"].(string), "provisional") || body["provisional_as_of"] != "2026-11-01T00:40:00Z" {
		t.Errorf("as_of %v, note %v, provisional_as_of %v", body["as_of"], body["note"], body["provisional_as_of"])
	}
}
