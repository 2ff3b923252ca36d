package queryapi

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/axiomhq/hyperloglog"

	"github.com/footfall/footfall/internal/layout"
)

// A week must never show fewer visitors than a day inside it. Here every
// visitor of a week comes on its Wednesday, so the week, the day and a
// summary of the week must show the same number. (Before, the day was
// merged into a sparse sketch and estimated by linear counting, the week
// into a dense one estimated by LogLog-Beta: they differed by up to the
// dense sketch's error, either way.)
func TestWeekNeverShowsFewerVisitorsThanItsDays(t *testing.T) {
	f := newFixture(t)
	monday := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	counts := []int{700, 1500, 2600, 3300, 4100, 5200, 6400, 7900}
	for k, n := range counts {
		wed := monday.AddDate(0, 0, 7*k+2)
		for h := range 24 {
			tot := &layout.Totals{Visitors: layout.NewVisitorSketch()}
			for i := h; i < n; i += 24 {
				tot.Events++
				tot.Visitors.Insert(fmt.Appendf(nil, "w%d-v%d", k, i))
			}
			f.put(t, "shop-a", wed.Add(time.Duration(h)*time.Hour), layout.FamilySealed, tot)
		}
	}
	end := monday.AddDate(0, 0, 7*len(counts))
	f.watermarks(t, end, end)
	q := func(path string, v url.Values) map[string]any {
		v.Set("from", monday.Format(time.DateOnly))
		v.Set("to", end.Format(time.DateOnly))
		return f.ok(t, "ra", path+"?"+v.Encode())
	}
	days := points(t, q("/v1/timeseries", url.Values{"metrics": {"visitors"}, "interval": {"day"}}))
	weeks := points(t, q("/v1/timeseries", url.Values{"metrics": {"visitors"}, "interval": {"week"}}))
	months := points(t, q("/v1/timeseries", url.Values{"metrics": {"visitors"}, "interval": {"month"}}))
	for k, n := range counts {
		day, week := num(days[7*k+2]["visitors"]), num(weeks[k]["visitors"])
		v := url.Values{"metrics": {"visitors"}}
		v.Set("from", monday.AddDate(0, 0, 7*k).Format(time.DateOnly))
		v.Set("to", monday.AddDate(0, 0, 7*k+7).Format(time.DateOnly))
		sum := num(f.ok(t, "ra", "/v1/summary?"+v.Encode())["current"].(map[string]any)["visitors"])
		if week != day || sum != day {
			t.Errorf("week %d (%d visitors, all on Wednesday): day %v, week %v, summary of the week %v; want all equal", k, n, day, week, sum)
		}
		if d := day - float64(n); d*d > float64(n*n)*9*0.0082*0.0082 {
			t.Errorf("week %d: %v visitors, truth %d", k, day, n)
		}
	}
	for _, m := range months {
		for _, d := range days {
			if d["start"].(string) >= m["start"].(string) && d["end"].(string) <= m["end"].(string) && num(d["visitors"]) > num(m["visitors"]) {
				t.Errorf("month %v shows %v visitors, fewer than its day %v with %v", m["start"], m["visitors"], d["start"], d["visitors"])
			}
		}
	}
}

// The breakdown's total is the summary of the same range, visitors
// included (before, it merged the precision-12 sketches of the breakdown
// values and disagreed with the summary's precision-14 totals).
func TestBreakdownTotalIsTheSummary(t *testing.T) {
	f := newGroundTruthFixture(t)
	for _, tc := range []struct {
		dim      layout.Dimension
		tz       string
		from, to string
	}{
		{layout.DimCountry, "UTC", "2026-03-01", "2026-03-31"},
		{layout.DimPage, "Asia/Tokyo", "2026-03-01", "2026-03-15"},
		{layout.DimDevice, "America/New_York", "2026-03-05", "2026-03-12"},
		{layout.DimEvent, "Europe/London", "2026-10-20", "2026-11-06"}, // partly provisional
	} {
		t.Run(fmt.Sprintf("%s/%s", tc.dim, tc.tz), func(t *testing.T) {
			v := url.Values{"tz": {tc.tz}, "from": {tc.from}, "to": {tc.to}}
			s := f.ok(t, "r", "/v1/summary?metrics=events,pageviews,visitors,revenue&"+v.Encode())
			v.Set("dimension", string(tc.dim))
			v.Set("metrics", "events,pageviews,visitors,revenue")
			b := f.ok(t, "r", "/v1/breakdown?"+v.Encode())
			cur, total := s["current"].(map[string]any), b["total"].(map[string]any)
			for _, m := range []string{"events", "pageviews", "visitors"} {
				if num(cur[m]) != num(total[m]) {
					t.Errorf("%s: breakdown total %v, summary %v", m, total[m], cur[m])
				}
			}
			if !sameRevenue(revenueOfPoint(cur), revenueOfPoint(total)) {
				t.Errorf("revenue: breakdown total %v, summary %v", total["revenue"], cur["revenue"])
			}
			if note, ok := b["total_note"]; ok {
				t.Errorf("total_note %q for rows that agree with the totals", note)
			}
		})
	}
}

// When the breakdown rows and the totals rows disagree (an open hour read
// between the streaming job's two merges), the answer says so and why.
func TestBreakdownSaysWhyItsTotalDiffers(t *testing.T) {
	f := newFixture(t)
	h := h0.Add(3 * time.Hour)
	f.put(t, "shop-a", h, layout.FamilyProvisional, &layout.Totals{Events: 12, PageViews: 5})
	f.putBreakdown(t, "shop-a", layout.DimPage, h, layout.FamilyProvisional, &layout.Breakdown{Values: map[string]*layout.Item{
		"/a": {Events: 7, PageViews: 3}, "/b": {Events: 3, PageViews: 2},
	}})
	b := f.ok(t, "ra", "/v1/breakdown?dimension=page&from=2026-11-01&to=2026-11-02")
	note, _ := b["total_note"].(string)
	if num(b["total"].(map[string]any)["events"]) != 12 || !contains(note, "10 events") || !contains(note, "12") {
		t.Errorf("total %v, total_note %q; want 12 and a note naming 10 and 12 events", b["total"], note)
	}
}

// Concurrent breakdowns share the cached sealed part of their range; with
// -race this showed Estimate compacting shared sparse sketches while other
// requests read them.
func TestConcurrentBreakdownsShareCachedSketches(t *testing.T) {
	f := newFixture(t)
	for h := range 30 {
		b := &layout.Breakdown{Values: map[string]*layout.Item{}}
		for v := range 12 {
			if h >= 24 && v > 0 {
				break // values only in sealed hours are served from the cached sealed part as they are
			}
			it := &layout.Item{Events: int64(10 + v), Visitors: layout.NewItemSketch()}
			// 3 or 4 new visitors an hour: the merged sparse sketches
			// keep some in their unsorted temporary set.
			for i := range 3 + v%2 {
				it.Visitors.Insert(fmt.Appendf(nil, "v%d-%d-%d", v, h, i))
			}
			b.Values[fmt.Sprintf("/p%d", v)] = it
		}
		fam := layout.FamilySealed
		if h >= 24 {
			fam = layout.FamilyProvisional
		}
		f.putBreakdown(t, "shop-a", layout.DimPage, h0.Add(time.Duration(h)*time.Hour), fam, b)
	}
	f.watermarks(t, h0.Add(24*time.Hour), h0.Add(30*time.Hour))
	const u = "/v1/breakdown?dimension=page&metrics=visitors,events&from=2026-11-01&to=2026-11-03&limit="
	// The first requests run concurrently (the cached part's sketches are
	// then as the merge left them); every answer must agree with a later
	// one made alone.
	var mu sync.Mutex
	var got []map[string]any
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 6 {
				limit := 1 + (g*6+i)%11 // different answers, one shared cached sealed part
				rows := f.ok(t, "ra", fmt.Sprint(u, limit))["rows"].([]any)
				mu.Lock()
				for _, r := range rows {
					got = append(got, r.(map[string]any))
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	want := map[string]float64{}
	for _, r := range f.ok(t, "ra", u+"12")["rows"].([]any) {
		r := r.(map[string]any)
		want[r["value"].(string)] = num(r["visitors"])
	}
	for _, r := range got {
		if v := num(r["visitors"]); v != want[r["value"].(string)] {
			t.Errorf("%v had %v visitors in a concurrent answer, %v alone", r["value"], v, want[r["value"].(string)])
		}
	}
}

// Serving a request never changes what the cache holds: entries are shared
// by concurrent requests and only read.
func TestRequestsDoNotModifyCachedSketches(t *testing.T) {
	f := newFixture(t)
	for h := range 30 {
		b := &layout.Breakdown{Values: map[string]*layout.Item{}}
		tot := &layout.Totals{Visitors: layout.NewVisitorSketch()}
		for v := range 5 {
			it := &layout.Item{Events: int64(1 + v), Visitors: layout.NewItemSketch()}
			for i := range 40 {
				id := fmt.Appendf(nil, "v%d-%d-%d", v, h, i)
				it.Visitors.Insert(id)
				tot.Visitors.Insert(id)
				tot.Events++
			}
			b.Values[fmt.Sprintf("/p%d", v)] = it
		}
		fam := layout.FamilySealed
		if h >= 20 {
			fam = layout.FamilyProvisional
		}
		f.putBreakdown(t, "shop-a", layout.DimPage, h0.Add(time.Duration(h)*time.Hour), fam, b)
		f.put(t, "shop-a", h0.Add(time.Duration(h)*time.Hour), fam, tot)
	}
	f.watermarks(t, h0.Add(20*time.Hour), h0.Add(30*time.Hour))
	reqs := []string{
		"/v1/breakdown?dimension=page&metrics=visitors&from=2026-11-01&to=2026-11-03&limit=2",
		"/v1/breakdown?dimension=page&metrics=visitors&from=2026-11-01&to=2026-11-02",
		"/v1/timeseries?metrics=visitors&interval=day&from=2026-11-01&to=2026-11-03",
		"/v1/summary?metrics=visitors&from=2026-11-01&to=2026-11-03",
	}
	for _, u := range reqs {
		f.ok(t, "ra", u)
	}
	snapshot := func() map[string]string {
		out := map[string]string{}
		for k, e := range f.srv.cache.c.All() {
			sks := map[string]*hyperloglog.Sketch{}
			switch v := e.val.(type) {
			case *agg:
				for i, sk := range v.sks {
					sks[fmt.Sprint("totals", i)] = sk
				}
			case *mergedBreakdown:
				sks["other"] = v.other.Visitors
				for val, it := range v.values {
					sks[val] = it.Visitors
				}
			case *ranked:
				for i, sk := range v.other.sks {
					sks[fmt.Sprint("other", i)] = sk
				}
				for i, a := range v.rows {
					for j, sk := range a.sks {
						sks[fmt.Sprint(v.values[i], j)] = sk
					}
				}
			}
			for name, sk := range sks {
				if sk != nil {
					b, _ := sk.MarshalBinary()
					out[fmt.Sprintf("%+v/%s", k, name)] = string(b)
				}
			}
		}
		return out
	}
	before := snapshot()
	if len(before) == 0 {
		t.Fatal("nothing cached")
	}
	for _, u := range reqs {
		f.ok(t, "ra", u)
		f.ok(t, "ra", u+"&tz=UTC")
	}
	after := snapshot()
	for k, b := range before {
		if a, ok := after[k]; ok && a != b {
			t.Errorf("cached sketch %s changed while serving requests", k)
		}
	}
}

// Two requests rank the same cached sealed breakdown at once, as rank
// does with the cached sealed part of a range (run with -race: on
// 36ded95 the same test, with that commit's signatures, reported a data
// race in Sketch.Estimate compacting the shared sparse sketches).
func TestRankingASharedBreakdownConcurrently(t *testing.T) {
	f := newFixture(t)
	for h := range 24 {
		b := &layout.Breakdown{Values: map[string]*layout.Item{}}
		for v := range 12 {
			it := &layout.Item{Events: int64(10 + v), Visitors: layout.NewItemSketch()}
			for i := range 3 + v%2 {
				it.Visitors.Insert(fmt.Appendf(nil, "v%d-%d-%d", v, h, i))
			}
			b.Values[fmt.Sprintf("/p%d", v)] = it
		}
		f.putBreakdown(t, "shop-a", layout.DimPage, h0.Add(time.Duration(h)*time.Hour), layout.FamilySealed, b)
	}
	f.watermarks(t, h0.Add(24*time.Hour), h0.Add(30*time.Hour))
	st, err := f.srv.freshState(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	shared, err := f.srv.mergeBreakdown(context.Background(), "shop-a", layout.DimPage, h0, h0.Add(24*time.Hour), "visitors", st)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	res := make([]*ranked, 4)
	for i := range res {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := rankBreakdown(shared, 1+i, "visitors")
			if err != nil {
				t.Error(err)
			}
			res[i] = r
		}()
	}
	wg.Wait()
	for i, r := range res {
		if r == nil || r.values[0] != res[0].values[0] || r.rows[0].visitors != res[0].rows[0].visitors {
			t.Errorf("ranking %d differs from ranking 0", i)
		}
	}
}
