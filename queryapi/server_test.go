package queryapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigtable"
	json "github.com/goccy/go-json"

	"github.com/footfall/footfall/internal/keys"
	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/internal/testenv"
)

var h0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

type fixture struct {
	srv *Server
	tbl *bigtable.Table
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	c := testenv.Bigtable(t)
	store, err := NewBigtable(context.Background(), testenv.Project, testenv.Instance)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ks, err := keys.NewSet(keys.File{Merchants: []keys.Merchant{
		{ID: "shop-a", WriteKeys: []string{"wa"}, ReadKeys: []string{"ra"}},
		{ID: "shop-b", WriteKeys: []string{"wb"}, ReadKeys: []string{"rb"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(Config{MaxPoints: 2000}, ks, store, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, tbl: c.Open(layout.TableMetrics)}
}

func (f *fixture) put(t *testing.T, merchant string, hour time.Time, family string, tot *layout.Totals) {
	t.Helper()
	cells, err := tot.Cells()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.tbl.Apply(context.Background(), layout.TotalsKey(merchant, hour), layout.ReplaceFamily(family, cells, bigtable.Now())); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) get(t *testing.T, key, url string) (int, map[string]any, http.Header) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := f.srv.App().Test(req, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("body %q: %v", b, err)
	}
	return resp.StatusCode, out, resp.Header
}

func TestTimeseriesPrefersSealedAndFillsGaps(t *testing.T) {
	f := newFixture(t)
	f.put(t, "shop-a", h0, layout.FamilyProvisional, &layout.Totals{Events: 5, ByName: map[string]int64{"signup": 2}})
	f.put(t, "shop-a", h0, layout.FamilySealed, &layout.Totals{Events: 7, PageViews: 3, ByName: map[string]int64{"signup": 4}})
	f.put(t, "shop-a", h0.Add(2*time.Hour), layout.FamilyProvisional, &layout.Totals{Events: 11, ByName: map[string]int64{"signup": 1}})
	f.put(t, "shop-b", h0.Add(time.Hour), layout.FamilySealed, &layout.Totals{Events: 1000})

	code, out, _ := f.get(t, "ra", "/v1/timeseries?metrics=events,pageviews&interval=hour&from=2026-11-01T00:00:00Z&to=2026-11-01T03:00:00Z")
	if code != 200 {
		t.Fatalf("status %d: %v", code, out)
	}
	pts := out["points"].([]any)
	want := []struct {
		start      string
		events, pv float64
	}{{"2026-11-01T00:00:00Z", 7, 3}, {"2026-11-01T01:00:00Z", 0, 0}, {"2026-11-01T02:00:00Z", 11, 0}}
	if len(pts) != len(want) {
		t.Fatalf("%d points, want %d: %v", len(pts), len(want), pts)
	}
	for i, w := range want {
		p := pts[i].(map[string]any)
		if p["start"] != w.start || p["events"] != w.events || p["pageviews"] != w.pv {
			t.Errorf("point %d = %v, want %+v", i, p, w)
		}
	}

	code, out, _ = f.get(t, "ra", "/v1/timeseries?metrics=events&event=signup&interval=day&from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z")
	if code != 200 {
		t.Fatalf("status %d: %v", code, out)
	}
	if p := out["points"].([]any)[0].(map[string]any); p["events"] != float64(5) {
		t.Errorf("signup events for the day = %v, want 5 (sealed 4 + provisional 1)", p["events"])
	}
}

func TestTimeseriesIsolatesMerchants(t *testing.T) {
	f := newFixture(t)
	f.put(t, "shop-b", h0, layout.FamilySealed, &layout.Totals{Events: 1000})
	code, out, _ := f.get(t, "ra", "/v1/timeseries?metrics=events&interval=day&from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z")
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	if p := out["points"].([]any)[0].(map[string]any); p["events"] != float64(0) || out["merchant"] != "shop-a" {
		t.Errorf("shop-a's key sees %v for merchant %v; want 0 for shop-a", p, out["merchant"])
	}
}

func TestTimeseriesErrors(t *testing.T) {
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
		{"unknown metric", "ra", strings.Replace(base, "metrics=events", "metrics=clicks", 1), 400, "clicks"},
		{"bad from", "ra", strings.Replace(base, "2026-11-01T00:00:00Z", "yesterday", 1), 400, "RFC 3339"},
		{"from after to", "ra", "/v1/timeseries?metrics=events&from=2026-11-03T00:00:00Z&to=2026-11-02T00:00:00Z", 400, "before"},
		{"bad interval", "ra", strings.Replace(base, "interval=hour", "interval=fortnight", 1), 400, "interval"},
		{"too many points", "ra", "/v1/timeseries?metrics=events&interval=hour&from=2026-01-01T00:00:00Z&to=2026-11-01T00:00:00Z", 400, "limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, hdr := f.get(t, tc.key, tc.url)
			if code != tc.want {
				t.Fatalf("status %d, want %d: %v", code, tc.want, out)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q, want application/problem+json", ct)
			}
			if d, _ := out["detail"].(string); !strings.Contains(d, tc.detail) {
				t.Errorf("detail %q does not mention %q", d, tc.detail)
			}
		})
	}
}
