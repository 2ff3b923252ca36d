package queryapi

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/footfall/footfall/internal/layout"
)

// Sealed buckets are cached until their hours are re-sealed; provisional
// ones are read on every request.
func TestSealedCacheFollowsSealRecords(t *testing.T) {
	f := newFixture(t)
	day := "/v1/timeseries?metrics=events&interval=day&from=2026-11-01&to=2026-11-03"
	f.put(t, "shop-a", h0.Add(3*time.Hour), layout.FamilySealed, &layout.Totals{Events: 10})
	f.put(t, "shop-a", h0.Add(27*time.Hour), layout.FamilyProvisional, &layout.Totals{Events: 1})
	f.sealRecord(t, h0.Add(3*time.Hour), h0.Add(5*time.Hour))
	f.watermarks(t, h0.Add(24*time.Hour), h0.Add(28*time.Hour)) // day 1 sealed, day 2 not

	events := func() (float64, float64) {
		t.Helper()
		p := points(t, f.ok(t, "ra", day))
		return num(p[0]["events"]), num(p[1]["events"])
	}
	if d1, d2 := events(); d1 != 10 || d2 != 1 {
		t.Fatalf("days = %v, %v; want 10, 1", d1, d2)
	}
	// The rows change without a new seal record: the sealed day is served
	// from the cache, the provisional day is read again.
	f.put(t, "shop-a", h0.Add(3*time.Hour), layout.FamilySealed, &layout.Totals{Events: 20})
	f.put(t, "shop-a", h0.Add(27*time.Hour), layout.FamilyProvisional, &layout.Totals{Events: 2})
	if d1, d2 := events(); d1 != 10 || d2 != 2 {
		t.Errorf("after rows changed: days = %v, %v; want 10 (cached, sealed) and 2 (provisional, read again)", d1, d2)
	}
	// A re-seal of the hour moves its seal record: the cache lets go.
	f.sealRecord(t, h0.Add(3*time.Hour), h0.Add(30*time.Hour))
	if d1, _ := events(); d1 != 20 {
		t.Errorf("after re-seal: day 1 = %v, want 20", d1)
	}
	// And without seal records, CACHE_SEALED_TTL bounds how long it is kept.
	f.put(t, "shop-a", h0.Add(3*time.Hour), layout.FamilySealed, &layout.Totals{Events: 30})
	f.now = f.now.Add(f.srv.cfg.SealedTTL)
	if d1, _ := events(); d1 != 30 {
		t.Errorf("after CACHE_SEALED_TTL: day 1 = %v, want 30", d1)
	}
}

func TestCacheOffReadsEveryTime(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.CacheBytes = 0 })
	f.put(t, "shop-a", h0, layout.FamilySealed, &layout.Totals{Events: 10})
	f.watermarks(t, h0.Add(24*time.Hour), h0.Add(24*time.Hour))
	u := "/v1/summary?from=2026-11-01&to=2026-11-02"
	f.ok(t, "ra", u)
	f.put(t, "shop-a", h0, layout.FamilySealed, &layout.Totals{Events: 11})
	if got := num(f.ok(t, "ra", u)["current"].(map[string]any)["events"]); got != 11 {
		t.Errorf("events = %v, want 11", got)
	}
}

func TestETagsForSealedAnswers(t *testing.T) {
	f := newFixture(t)
	f.put(t, "shop-a", h0, layout.FamilySealed, &layout.Totals{Events: 10})
	f.sealRecord(t, h0, h0.Add(2*time.Hour))
	f.watermarks(t, h0.Add(24*time.Hour), h0.Add(25*time.Hour))
	sealed := "/v1/timeseries?interval=day&from=2026-11-01&to=2026-11-02"
	open := "/v1/timeseries?interval=day&from=2026-11-01&to=2026-11-03"

	r := f.do(t, "ra", sealed)
	etag := r.header.Get("ETag")
	if etag == "" || r.header.Get("Cache-Control") != "private, max-age=60" {
		t.Fatalf("sealed answer: ETag %q, Cache-Control %q", etag, r.header.Get("Cache-Control"))
	}
	if r := f.do(t, "ra", sealed, "If-None-Match", etag); r.code != 304 || len(r.raw) != 0 {
		t.Errorf("If-None-Match with the current ETag: status %d, %d bytes; want 304, empty", r.code, len(r.raw))
	}
	// The ETag belongs to the merchant and the query.
	if r := f.do(t, "rb", sealed, "If-None-Match", etag); r.code != 200 {
		t.Errorf("another merchant's request with this ETag: status %d, want 200", r.code)
	}
	if r := f.do(t, "ra", sealed+"&tz=Europe/London", "If-None-Match", etag); r.code != 200 {
		t.Errorf("another query with this ETag: status %d, want 200", r.code)
	}
	// A re-seal changes it.
	f.sealRecord(t, h0, h0.Add(30*time.Hour))
	if r := f.do(t, "ra", sealed, "If-None-Match", etag); r.code != 200 || r.header.Get("ETag") == etag {
		t.Errorf("after re-seal: status %d, ETag %q; want 200 and a new ETag", r.code, r.header.Get("ETag"))
	}
	// Answers with provisional hours have no ETag and must be revalidated.
	r = f.do(t, "ra", open)
	if r.header.Get("ETag") != "" || r.header.Get("Cache-Control") != "private, no-cache" {
		t.Errorf("open answer: ETag %q, Cache-Control %q", r.header.Get("ETag"), r.header.Get("Cache-Control"))
	}
}

// A bucket that is partly sealed caches its sealed hours and reads only
// the rest.
func TestPartlySealedBucket(t *testing.T) {
	f := newFixture(t)
	u := "/v1/timeseries?metrics=events&interval=day&from=2026-11-01&to=2026-11-02"
	f.put(t, "shop-a", h0.Add(3*time.Hour), layout.FamilySealed, &layout.Totals{Events: 10})
	f.put(t, "shop-a", h0.Add(15*time.Hour), layout.FamilyProvisional, &layout.Totals{Events: 1})
	f.sealRecord(t, h0.Add(3*time.Hour), h0.Add(5*time.Hour))
	f.watermarks(t, h0.Add(12*time.Hour), h0.Add(15*time.Hour))
	get := func() (float64, any) {
		t.Helper()
		p := points(t, f.ok(t, "ra", u))[0]
		return num(p["events"]), p["sealed"]
	}
	if got, sealed := get(); got != 11 || sealed != false {
		t.Fatalf("day = %v (sealed %v), want 11, not sealed", got, sealed)
	}
	f.put(t, "shop-a", h0.Add(3*time.Hour), layout.FamilySealed, &layout.Totals{Events: 20})
	f.put(t, "shop-a", h0.Add(15*time.Hour), layout.FamilyProvisional, &layout.Totals{Events: 2})
	if got, _ := get(); got != 12 {
		t.Errorf("day = %v, want 12 (10 cached sealed + 2 read live)", got)
	}
	f.sealRecord(t, h0.Add(3*time.Hour), h0.Add(20*time.Hour))
	if got, _ := get(); got != 22 {
		t.Errorf("after re-seal: day = %v, want 22", got)
	}
}

// spyStore records the spans of totals rows each request reads.
type spyStore struct {
	Store
	mu    sync.Mutex
	reads []string
}

func (s *spyStore) Hours(ctx context.Context, merchant string, spans []Bucket, fn func(Hour) error) error {
	s.mu.Lock()
	for _, sp := range spans {
		s.reads = append(s.reads, merchant+" "+sp.Start.Format("02T15")+"–"+sp.End.Format("02T15"))
	}
	s.mu.Unlock()
	return s.Store.Hours(ctx, merchant, spans, fn)
}

func (s *spyStore) QuarterHours(ctx context.Context, merchant string, hours []time.Time, fn func(QuarterHour) error) error {
	s.mu.Lock()
	for _, h := range hours {
		s.reads = append(s.reads, merchant+" quarters of "+h.Format("02T15"))
	}
	s.mu.Unlock()
	return s.Store.QuarterHours(ctx, merchant, hours, fn)
}

func (s *spyStore) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.reads
	s.reads = nil
	return r
}

// A series reads one row range per contiguous span it needs, and once its
// sealed buckets are cached, only the provisional hours.
func TestReadsOnlyWhatIsNeeded(t *testing.T) {
	f := newFixture(t)
	spy := &spyStore{Store: f.srv.store}
	f.srv.store = spy
	f.put(t, "shop-a", h0.Add(3*time.Hour), layout.FamilySealed, &layout.Totals{Events: 1})
	f.watermarks(t, h0.Add(36*time.Hour), h0.Add(40*time.Hour)) // day 1 sealed, day 2 until 12:00
	u := "/v1/timeseries?interval=day&from=2026-11-01&to=2026-11-04"
	f.ok(t, "ra", u)
	if got, want := spy.take(), []string{"shop-a 01T00–04T00"}; !slices.Equal(got, want) {
		t.Errorf("first request read %v, want %v", got, want)
	}
	f.ok(t, "ra", u)
	if got, want := spy.take(), []string{"shop-a 02T12–04T00"}; !slices.Equal(got, want) {
		t.Errorf("second request read %v, want %v (the hours after sealed_through)", got, want)
	}
	// A summary of day 1 shares its cached bucket: only the previous day
	// (for the comparison) is read.
	f.ok(t, "ra", "/v1/summary?from=2026-11-01&to=2026-11-02")
	if got, want := spy.take(), []string{"shop-a 31T00–01T00"}; !slices.Equal(got, want) {
		t.Errorf("summary read %v, want %v", got, want)
	}
	f.ok(t, "ra", "/v1/summary?from=2026-11-01&to=2026-11-02")
	if got := spy.take(); len(got) != 0 {
		t.Errorf("second summary of sealed days read %v, want nothing", got)
	}
	// In India a day runs from 18:30 to 18:30 UTC: the whole hours come
	// from hourly rows (one scan), the cut hours from quarter rows.
	f.ok(t, "ra", "/v1/timeseries?interval=day&tz=Asia/Kolkata&from=2026-11-06&to=2026-11-08")
	want := []string{"shop-a quarters of 05T18", "shop-a quarters of 06T18", "shop-a quarters of 07T18",
		"shop-a 05T19–06T18", "shop-a 06T19–07T18"}
	if got := spy.take(); !slices.Equal(got, want) {
		t.Errorf("two days in Asia/Kolkata read %v, want %v", got, want)
	}
	// Hours in the future (after now, 2026-12-01T00:00Z, and the next
	// hour) are not read.
	f.ok(t, "ra", "/v1/timeseries?interval=day&tz=Asia/Kolkata&from=2026-11-30&to=2026-12-02")
	want = []string{"shop-a quarters of 29T18", "shop-a quarters of 30T18", "shop-a 29T19–30T18", "shop-a 30T19–01T02"}
	if got := spy.take(); !slices.Equal(got, want) {
		t.Errorf("today and tomorrow in Asia/Kolkata read %v, want %v", got, want)
	}
}
