package queryapi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"cloud.google.com/go/bigtable"
	json "github.com/goccy/go-json"

	"github.com/footfall/footfall/internal/keys"
	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/internal/testenv"
)

// fixture is a query API over an in-process Bigtable emulator, with two
// merchants: shop-a (read key "ra") and shop-b (read key "rb").
type fixture struct {
	srv  *Server
	tbl  *bigtable.Table
	meta *bigtable.Table
	now  time.Time
}

func newFixture(t testing.TB, mod ...func(*Config)) *fixture {
	t.Helper()
	c := testenv.Bigtable(t)
	store, err := NewBigtable(context.Background(), testenv.Project, testenv.Instance, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ks, err := keys.NewSet(keys.File{Merchants: []keys.Merchant{
		{ID: "shop-a", WriteKeys: []string{"wa"}, ReadKeys: []string{"ra"}},
		{ID: "shop-b", WriteKeys: []string{"wb"}, ReadKeys: []string{"rb"}},
		{ID: "shop", WriteKeys: []string{"w"}, ReadKeys: []string{"r"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.RateLimit, cfg.RateBurst = 1e6, 1e6 // tests that count on limits set their own
	cfg.FreshnessTTL = 0                    // every request sees the latest watermarks
	for _, m := range mod {
		m(&cfg)
	}
	srv, err := NewServer(cfg, ks, store, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{srv: srv, tbl: c.Open(layout.TableMetrics), meta: c.Open(layout.TableMeta), now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	srv.now = func() time.Time { return f.now }
	return f
}

func (f *fixture) apply(t testing.TB, tbl *bigtable.Table, key string, m *bigtable.Mutation) {
	t.Helper()
	if err := tbl.Apply(context.Background(), key, m); err != nil {
		t.Fatal(err)
	}
}

// put writes a totals row. A sealed row without UpdatedAt is stamped
// f.now, as a seal running now would stamp it (layout.Current).
func (f *fixture) put(t testing.TB, merchant string, hour time.Time, family string, tot *layout.Totals) {
	t.Helper()
	if family == layout.FamilySealed && tot.UpdatedAt == 0 {
		tot.UpdatedAt = f.now.UnixMicro()
	}
	cells, err := tot.Cells()
	if err != nil {
		t.Fatal(err)
	}
	f.apply(t, f.tbl, layout.TotalsKey(merchant, hour), layout.ReplaceFamily(family, cells, bigtable.Now()))
}

func (f *fixture) putBreakdown(t testing.TB, merchant string, dim layout.Dimension, hour time.Time, family string, b *layout.Breakdown) {
	t.Helper()
	if family == layout.FamilySealed && b.UpdatedAt == 0 {
		b.UpdatedAt = f.now.UnixMicro()
	}
	cells, err := b.Cells()
	if err != nil {
		t.Fatal(err)
	}
	f.apply(t, f.tbl, layout.BreakdownKey(merchant, dim, hour), layout.ReplaceFamily(family, cells, bigtable.Now()))
}

func (f *fixture) putMinute(t testing.TB, merchant string, minute time.Time, tot *layout.Totals) {
	t.Helper()
	cells, err := tot.Cells()
	if err != nil {
		t.Fatal(err)
	}
	f.apply(t, f.tbl, layout.RealtimeKey(merchant, minute), layout.ReplaceFamily(layout.FamilyRealtime, cells, bigtable.Now()))
}

// watermarks writes the meta row: hours ending by sealedThrough are sealed.
func (f *fixture) watermarks(t testing.TB, sealedThrough, provisionalAt time.Time) {
	t.Helper()
	m := bigtable.NewMutation()
	m.Set(layout.FamilyMeta, layout.ColSealedThrough, bigtable.Now(), layout.EncodeInt(sealedThrough.UnixMicro()))
	m.Set(layout.FamilyMeta, layout.ColProvisionalAt, bigtable.Now(), layout.EncodeInt(provisionalAt.UnixMicro()))
	f.apply(t, f.meta, layout.MetaWatermarks, m)
}

// sealRecord writes the seal record of an hour.
func (f *fixture) sealRecord(t testing.TB, hour time.Time, sealedAt time.Time) {
	t.Helper()
	m := bigtable.NewMutation()
	m.Set(layout.FamilyMeta, layout.ColSealedAt, bigtable.Now(), layout.EncodeInt(sealedAt.UnixMicro()))
	f.apply(t, f.meta, layout.SealKey(hour), m)
}

type response struct {
	code   int
	body   map[string]any
	raw    []byte
	header http.Header
}

func (f *fixture) do(t testing.TB, key, url string, hdr ...string) response {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.srv.App().Test(req, 30_000)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	r := response{code: resp.StatusCode, raw: b, header: resp.Header}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &r.body); err != nil {
			t.Fatalf("GET %s: body %q: %v", url, b, err)
		}
	}
	return r
}

// ok GETs url and fails the test unless the answer is 200.
func (f *fixture) ok(t testing.TB, key, url string) map[string]any {
	t.Helper()
	r := f.do(t, key, url)
	if r.code != 200 {
		t.Fatalf("GET %s: status %d: %s", url, r.code, r.raw)
	}
	return r.body
}

func points(t testing.TB, body map[string]any) []map[string]any {
	t.Helper()
	raw, ok := body["points"].([]any)
	if !ok {
		t.Fatalf("no points in %v", body)
	}
	out := make([]map[string]any, len(raw))
	for i, p := range raw {
		out[i] = p.(map[string]any)
	}
	return out
}

func num(v any) float64 {
	f, _ := v.(float64)
	return f
}
