package queryapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"sort"
	"testing"
	"time"

	"cloud.google.com/go/bigtable"

	"github.com/footfall/footfall/internal/layout"
)

// This file checks the API against a ground truth computed directly from
// generated raw events: the events are aggregated into hourly rows the way
// the pipeline does (plain code, independent of the API), written to the
// emulator, and every answer is compared with counts taken from the raw
// events in the requested zone.

type gEvent struct {
	at                    time.Time
	visitor, name         string
	page, country, device string
	currency              string
	minor                 int64
}

type gSession struct {
	visitor string
	events  []gEvent
}

func (s gSession) start() time.Time { return s.events[0].at }
func (s gSession) bounce() bool {
	return len(s.events) == 1 && s.events[0].name == "page_view"
}

// engaged: at least 10 s, or 2 or more views, or a purchase (docs/metrics.md).
func (s gSession) engaged() bool {
	views := 0
	for _, e := range s.events {
		if e.name == "page_view" {
			views++
		}
		if e.name == "purchase" {
			return true
		}
	}
	return views >= 2 || s.millis() >= 10_000
}

func (s gSession) millis() int64 {
	return s.events[len(s.events)-1].at.Sub(s.events[0].at).Milliseconds()
}

var (
	gCountries = []string{"JP", "US", "GB", "DE", "FR", "BR"}
	gDevices   = []string{"desktop", "mobile", "tablet"}
	gNames     = []string{"page_view", "page_view", "page_view", "add_to_cart", "signup", "purchase"}
)

// generate makes sessions starting uniformly in [from, to), by visitors
// drawn from a pool of pool visitors (so visitors return across days).
func generate(seed uint64, n, pool int, from, to time.Time) []gSession {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]gSession, n)
	for i := range out {
		v := fmt.Sprintf("v%d", rng.IntN(pool))
		at := from.Add(time.Duration(rng.Int64N(int64(to.Sub(from))))).Truncate(time.Millisecond)
		country := gCountries[rng.IntN(len(gCountries))]
		device := gDevices[rng.IntN(len(gDevices))]
		k := 1 + rng.IntN(5)
		s := gSession{visitor: v}
		for j := 0; j < k; j++ {
			name := gNames[rng.IntN(len(gNames))]
			if j == 0 {
				name = "page_view"
			}
			e := gEvent{at: at, visitor: v, name: name, page: fmt.Sprintf("/p%d", rng.IntN(8)), country: country, device: device}
			if name == "purchase" {
				if rng.IntN(2) == 0 {
					e.currency, e.minor = "USD", int64(100+rng.IntN(20000))
				} else {
					e.currency, e.minor = "JPY", int64(100+rng.IntN(9000))
				}
			}
			s.events = append(s.events, e)
			at = at.Add(time.Duration(rng.IntN(600_000)) * time.Millisecond)
		}
		out[i] = s
	}
	return out
}

func dimValue(e gEvent, d layout.Dimension) string {
	switch d {
	case layout.DimEvent:
		return e.name
	case layout.DimPage:
		return e.page
	case layout.DimCountry:
		return e.country
	case layout.DimDevice:
		return e.device
	}
	panic(d)
}

// topK per dimension, as small as to push some values into (other).
var gTopK = map[layout.Dimension]int{layout.DimEvent: 10, layout.DimPage: 3, layout.DimCountry: 10, layout.DimDevice: 10}

// load aggregates sessions into hourly and quarter-hour totals and
// breakdown rows, as the pipeline does (docs/metrics.md: sessions count in
// the period they start in; session-scoped dimensions carry the session's
// metrics under its first event's value), and writes them: hours ending by
// sealedThrough as sealed, later ones as provisional.
func load(t testing.TB, f *fixture, merchant string, sessions []gSession, sealedThrough time.Time) {
	t.Helper()
	// period: an hour (q = -1) or one of its quarters.
	type period struct {
		hour time.Time
		q    int
	}
	totals := map[period]*layout.Totals{}
	bds := map[layout.Dimension]map[period]*layout.Breakdown{}
	periods := func(at time.Time) [2]period {
		h := at.Truncate(time.Hour)
		return [2]period{{h, -1}, {h, at.Minute() / 15}}
	}
	tot := func(p period) *layout.Totals {
		if totals[p] == nil {
			totals[p] = &layout.Totals{Visitors: layout.NewVisitorSketch(), ByName: map[string]int64{}}
		}
		return totals[p]
	}
	item := func(d layout.Dimension, p period, v string) *layout.Item {
		if bds[d] == nil {
			bds[d] = map[period]*layout.Breakdown{}
		}
		b := bds[d][p]
		if b == nil {
			b = &layout.Breakdown{Values: map[string]*layout.Item{}}
			bds[d][p] = b
		}
		it := b.Values[v]
		if it == nil {
			it = &layout.Item{Visitors: layout.NewItemSketch()}
			b.Values[v] = it
		}
		return it
	}
	for _, s := range sessions {
		for _, p := range periods(s.start()) {
			st := tot(p)
			st.Sessions++
			st.SessionMillis += s.millis()
			if s.bounce() {
				st.Bounces++
			}
			if s.engaged() {
				st.EngagedSessions++
			}
			for d := range gTopK {
				if !d.SessionScoped() {
					continue
				}
				it := item(d, p, dimValue(s.events[0], d))
				it.Sessions++
				it.SessionMillis += s.millis()
				if s.bounce() {
					it.Bounces++
				}
				if s.engaged() {
					it.EngagedSessions++
				}
			}
		}
		for _, e := range s.events {
			for _, p := range periods(e.at) {
				t := tot(p)
				t.Events++
				t.ByName[e.name]++
				if e.name == "page_view" {
					t.PageViews++
				}
				if e.currency != "" {
					t.Revenue = t.Revenue.Add(e.currency, layout.Amount{Minor: e.minor, Scale: gScale[e.currency]})
				}
				t.Visitors.Insert([]byte(e.visitor))
				for d := range gTopK {
					it := item(d, p, dimValue(e, d))
					it.Events++
					if e.name == "page_view" {
						it.PageViews++
					}
					if e.currency != "" {
						it.Revenue = it.Revenue.Add(e.currency, layout.Amount{Minor: e.minor, Scale: gScale[e.currency]})
					}
					it.Visitors.Insert([]byte(e.visitor))
				}
			}
		}
	}
	fam := func(h time.Time) string {
		if !h.Add(time.Hour).After(sealedThrough) {
			return layout.FamilySealed
		}
		return layout.FamilyProvisional
	}
	var keys []string
	var muts []*bigtable.Mutation
	add := func(key string, family string, cells []layout.Cell, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, key)
		muts = append(muts, layout.ReplaceFamily(family, cells, bigtable.Now()))
	}
	qtot := map[time.Time]*layout.QuarterTotals{}
	for p, tt := range totals {
		if p.q < 0 {
			cells, err := tt.Cells()
			add(layout.TotalsKey(merchant, p.hour), fam(p.hour), cells, err)
			continue
		}
		if qtot[p.hour] == nil {
			qtot[p.hour] = &layout.QuarterTotals{}
		}
		qtot[p.hour].Q[p.q] = tt
	}
	for h, q := range qtot {
		cells, err := q.Cells()
		add(layout.QuarterTotalsKey(merchant, h), fam(h), cells, err)
	}
	for d, byPeriod := range bds {
		qbd := map[time.Time]*layout.QuarterBreakdowns{}
		for p, b := range byPeriod {
			if err := b.Truncate(gTopK[d]); err != nil {
				t.Fatal(err)
			}
			if p.q < 0 {
				cells, err := b.Cells()
				add(layout.BreakdownKey(merchant, d, p.hour), fam(p.hour), cells, err)
				continue
			}
			if qbd[p.hour] == nil {
				qbd[p.hour] = &layout.QuarterBreakdowns{}
			}
			qbd[p.hour].Q[p.q] = b
		}
		for h, q := range qbd {
			cells, err := q.Cells()
			add(layout.QuarterBreakdownKey(merchant, d, h), fam(h), cells, err)
		}
	}
	for off := 0; off < len(keys); off += 1000 {
		end := min(off+1000, len(keys))
		errs, err := f.tbl.ApplyBulk(context.Background(), keys[off:end], muts[off:end])
		if err == nil && errs != nil {
			err = errors.Join(errs...)
		}
		if err != nil {
			t.Fatalf("write rows: %v", err)
		}
	}
}

// gScale is each generated currency's ISO 4217 scale.
var gScale = map[string]int8{"USD": 2, "JPY": 0}

// truth is what the API should say for one bucket, from raw events.
type truth struct {
	events, pageviews, sessions, bounces, millis int64
	engaged                                      int64
	byName                                       map[string]int64
	revenue                                      map[string]int64
	visitors                                     map[string]bool
}

func newTruth() *truth {
	return &truth{byName: map[string]int64{}, revenue: map[string]int64{}, visitors: map[string]bool{}}
}

// bucketKey names the local bucket of t the way a person would: the local
// date (day), the date of its Monday (week), the month, or the UTC hour.
func bucketKey(t time.Time, interval string, loc *time.Location) string {
	l := t.In(loc)
	switch interval {
	case "hour":
		// The local hour: the last whole minute at or before t at which
		// the local clock showed a whole hour (a UTC half hour in India).
		m := t.Truncate(time.Minute)
		for i := 0; i < 180 && m.In(loc).Minute() != 0; i++ {
			m = m.Add(-time.Minute)
		}
		return m.UTC().Format(time.RFC3339)
	case "day":
		return l.Format(time.DateOnly)
	case "week":
		wd := (int(l.Weekday()) + 6) % 7
		return l.AddDate(0, 0, -wd).Format(time.DateOnly)
	case "month":
		return l.Format("2006-01")
	}
	panic(interval)
}

// groundTruth buckets raw events (and sessions by their start) in loc,
// keeping only those whose time satisfies keep.
func groundTruth(sessions []gSession, interval string, loc *time.Location, keep func(gEvent) bool) map[string]*truth {
	out := map[string]*truth{}
	get := func(k string) *truth {
		if out[k] == nil {
			out[k] = newTruth()
		}
		return out[k]
	}
	for _, s := range sessions {
		if keep == nil {
			tr := get(bucketKey(s.start(), interval, loc))
			tr.sessions++
			tr.millis += s.millis()
			if s.bounce() {
				tr.bounces++
			}
			if s.engaged() {
				tr.engaged++
			}
		}
		for _, e := range s.events {
			if keep != nil && !keep(e) {
				continue
			}
			tr := get(bucketKey(e.at, interval, loc))
			tr.events++
			tr.byName[e.name]++
			if e.name == "page_view" {
				tr.pageviews++
			}
			if e.currency != "" {
				tr.revenue[e.currency] += e.minor
			}
			tr.visitors[e.visitor] = true
		}
	}
	return out
}

// pointKey is the bucket key of an API point (its start, read in loc).
func pointKey(t testing.TB, p map[string]any, interval string, loc *time.Location) string {
	t.Helper()
	start, err := time.Parse(time.RFC3339, p["start"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return bucketKey(start, interval, loc)
}

// visitorTolerance is the allowed error of a visitor estimate: 3 standard
// errors of HLL++ at precision 14 (1.04/√16384 ≈ 0.8 %), at least 1.
func visitorTolerance(want int) float64 { return math.Max(1, 3*0.0082*float64(want)) }

func revenueOfPoint(p map[string]any) map[string]int64 {
	out := map[string]int64{}
	rev, _ := p["revenue"].(map[string]any)
	for code, m := range rev {
		out[code] = int64(num(m.(map[string]any)["minor"]))
	}
	return out
}

func sameRevenue(a, b map[string]int64) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// Two windows of generated traffic: one across the March DST changes
// (US 2026-03-08, UK 2026-03-29), one across the autumn ones (UK
// 2026-10-25, US 2026-11-01).
var (
	springFrom = time.Date(2026, 2, 26, 0, 0, 0, 0, time.UTC)
	springTo   = time.Date(2026, 4, 10, 0, 0, 0, 0, time.UTC) // Adelaide, Lord Howe, Chatham: 2026-04-05
	autumnFrom = time.Date(2026, 10, 20, 0, 0, 0, 0, time.UTC)
	autumnTo   = time.Date(2026, 11, 6, 0, 0, 0, 0, time.UTC)
)

type gtFixture struct {
	*fixture
	sessions []gSession
}

func newGroundTruthFixture(t *testing.T) *gtFixture {
	t.Helper()
	f := newFixture(t)
	sessions := append(generate(1, 6000, 900, springFrom, springTo), generate(2, 3000, 900, autumnFrom, autumnTo)...)
	// Sealed up to mid-October; the autumn window is partly provisional.
	sealed := time.Date(2026, 10, 28, 5, 0, 0, 0, time.UTC)
	load(t, f.fixture(), "shop", sessions, sealed)
	// Another merchant's traffic in the same hours must never show up.
	load(t, f.fixture(), "shop-b", generate(3, 2000, 300, springFrom, autumnTo), sealed)
	f.watermarks(t, sealed, sealed.Add(50*time.Hour))
	return &gtFixture{fixture: f, sessions: sessions}
}

func (f *fixture) fixture() *fixture { return f }

func TestTimeseriesMatchesGroundTruth(t *testing.T) {
	f := newGroundTruthFixture(t)
	tests := []struct {
		tz, interval string
		from, to     string
	}{
		{"UTC", "day", "2026-02-26", "2026-04-03"},
		{"UTC", "hour", "2026-03-07T20:00:00Z", "2026-03-09T04:00:00Z"},
		{"Asia/Tokyo", "day", "2026-02-26", "2026-04-03"},
		{"Asia/Tokyo", "week", "2026-03-02", "2026-03-30"},
		{"America/New_York", "day", "2026-03-01", "2026-03-15"},   // 2026-03-08 has 23 hours
		{"America/New_York", "hour", "2026-03-07", "2026-03-09"},  // hourly across the spring change
		{"America/New_York", "week", "2026-02-23", "2026-04-06"},  // weeks spanning the change
		{"America/New_York", "month", "2026-02-01", "2026-05-01"}, // March starts at UTC-5, ends at UTC-4
		{"America/New_York", "day", "2026-10-25", "2026-11-06"},   // 2026-11-01 has 25 hours
		{"Europe/London", "day", "2026-03-20", "2026-04-03"},      // 2026-03-29 has 23 hours
		{"Europe/London", "day", "2026-10-20", "2026-11-06"},      // 2026-10-25 has 25 hours
		{"Europe/London", "month", "2026-10-01", "2026-12-01"},    // partly provisional
		// Zones whose offsets are not whole hours: buckets cut UTC hours
		// and are served from quarter rows there.
		{"Asia/Kolkata", "day", "2026-02-26", "2026-04-03"}, // +05:30
		{"Asia/Kolkata", "hour", "2026-03-07", "2026-03-09"},
		{"Asia/Kolkata", "week", "2026-03-02", "2026-03-30"},
		{"Asia/Kolkata", "month", "2026-03-01", "2026-05-01"},
		{"Asia/Kolkata", "day", "2026-10-20", "2026-11-06"},   // partly provisional
		{"Asia/Kathmandu", "day", "2026-03-01", "2026-03-15"}, // +05:45
		{"Asia/Kathmandu", "hour", "2026-03-10", "2026-03-11"},
		{"America/St_Johns", "day", "2026-03-01", "2026-03-15"}, // -03:30 -> -02:30 on 2026-03-08
		{"America/St_Johns", "hour", "2026-03-07", "2026-03-09"},
		{"America/St_Johns", "day", "2026-10-25", "2026-11-06"},     // -02:30 -> -03:30 on 2026-11-01
		{"Australia/Adelaide", "day", "2026-03-28", "2026-04-10"},   // +10:30 -> +09:30 on 2026-04-05
		{"Australia/Adelaide", "hour", "2026-04-04", "2026-04-06"},  // the 25-hour day by hour
		{"Australia/Lord_Howe", "day", "2026-03-28", "2026-04-10"},  // +11:00 -> +10:30 on 2026-04-05
		{"Australia/Lord_Howe", "hour", "2026-04-04", "2026-04-06"}, // one 90-minute hour
		{"Australia/Lord_Howe", "week", "2026-03-23", "2026-04-06"},
		{"Pacific/Chatham", "day", "2026-03-28", "2026-04-10"}, // +13:45 -> +12:45 on 2026-04-05
	}
	metrics := "events,pageviews,visitors,sessions,bounce_rate,engaged_sessions,engagement_rate,avg_session_duration,revenue"
	for _, tc := range tests {
		t.Run(tc.tz+"/"+tc.interval+"/"+tc.from, func(t *testing.T) {
			loc, _ := time.LoadLocation(tc.tz)
			want := groundTruth(f.sessions, tc.interval, loc, nil)
			q := url.Values{"metrics": {metrics}, "interval": {tc.interval}, "tz": {tc.tz}, "from": {tc.from}, "to": {tc.to}}
			body := f.ok(t, "r", "/v1/timeseries?"+q.Encode())
			pts := points(t, body)
			if len(pts) == 0 {
				t.Fatal("no points")
			}
			seen := map[string]bool{}
			var nonEmpty int
			for _, p := range pts {
				k := pointKey(t, p, tc.interval, loc)
				if seen[k] {
					t.Fatalf("two points for bucket %s", k)
				}
				seen[k] = true
				w := want[k]
				if w == nil {
					w = newTruth()
				}
				if w.events > 0 {
					nonEmpty++
				}
				for _, c := range []struct {
					name string
					want int64
				}{{"events", w.events}, {"pageviews", w.pageviews}, {"sessions", w.sessions}, {"engaged_sessions", w.engaged}} {
					if got := int64(num(p[c.name])); got != c.want {
						t.Errorf("%s %s = %d, want %d", k, c.name, got, c.want)
					}
				}
				if got := revenueOfPoint(p); !sameRevenue(got, w.revenue) {
					t.Errorf("%s revenue = %v, want %v", k, got, w.revenue)
				}
				if got, wv := num(p["visitors"]), len(w.visitors); math.Abs(got-float64(wv)) > visitorTolerance(wv) {
					t.Errorf("%s visitors = %v, want %d ± %.0f", k, got, wv, visitorTolerance(wv))
				}
				if w.sessions == 0 {
					if p["bounce_rate"] != nil || p["avg_session_duration"] != nil {
						t.Errorf("%s: ratios %v, %v without sessions, want null", k, p["bounce_rate"], p["avg_session_duration"])
					}
				} else {
					if got, wb := num(p["bounce_rate"]), float64(w.bounces)/float64(w.sessions); math.Abs(got-wb) > 0.00005 {
						t.Errorf("%s bounce_rate = %v, want %.4f", k, got, wb)
					}
					if got, we := num(p["engagement_rate"]), float64(w.engaged)/float64(w.sessions); math.Abs(got-we) > 0.00005 {
						t.Errorf("%s engagement_rate = %v, want %.4f", k, got, we)
					}
					if got, wd := num(p["avg_session_duration"]), float64(w.millis)/float64(w.sessions)/1000; math.Abs(got-wd) > 0.0005+1e-9 { // rounded to 3 digits: off by at most half a unit
						t.Errorf("%s avg_session_duration = %v, want %.3f", k, got, wd)
					}
				}
			}
			if nonEmpty == 0 {
				t.Fatal("every point is empty: the test compares nothing")
			}
			// Every event of the requested range is in some point.
			from, _ := time.Parse(time.RFC3339, body["from"].(string))
			to, _ := time.Parse(time.RFC3339, body["to"].(string))
			var inRange int64
			for _, s := range f.sessions {
				for _, e := range s.events {
					if !e.at.Before(from) && e.at.Before(to) {
						inRange++
					}
				}
			}
			var sum int64
			for _, p := range pts {
				sum += int64(num(p["events"]))
			}
			if sum != inRange {
				t.Errorf("points sum to %d events, the range [%s, %s) holds %d", sum, from, to, inRange)
			}
		})
	}
}

// The local day of a DST change has 23 or 25 hours, and its buckets start
// at local midnight.
func TestDayBucketsAcrossDST(t *testing.T) {
	f := newGroundTruthFixture(t)
	tests := []struct {
		tz, day string
		hours   int
	}{
		{"America/New_York", "2026-03-08", 23},
		{"America/New_York", "2026-11-01", 25},
		{"Europe/London", "2026-03-29", 23},
		{"Europe/London", "2026-10-25", 25},
		{"Asia/Tokyo", "2026-03-08", 24},
	}
	for _, tc := range tests {
		t.Run(tc.tz+"/"+tc.day, func(t *testing.T) {
			body := f.ok(t, "r", "/v1/timeseries?"+url.Values{"interval": {"day"}, "tz": {tc.tz}, "from": {tc.day}, "to": {tc.day + "T12:00:00Z"}}.Encode())
			p := points(t, body)[0]
			start, _ := time.Parse(time.RFC3339, p["start"].(string))
			end, _ := time.Parse(time.RFC3339, p["end"].(string))
			loc, _ := time.LoadLocation(tc.tz)
			if got := int(end.Sub(start) / time.Hour); got != tc.hours {
				t.Errorf("day %s in %s spans %d hours (%s to %s), want %d", tc.day, tc.tz, got, p["start"], p["end"], tc.hours)
			}
			if l := start.In(loc); l.Hour() != 0 || l.Format(time.DateOnly) != tc.day {
				t.Errorf("day starts at %s local, want %s 00:00", l, tc.day)
			}
		})
	}
}

func TestVisitorsOverThirtyDaysAreMergedNotSummed(t *testing.T) {
	f := newGroundTruthFixture(t)
	from, to := "2026-03-01", "2026-03-31"
	loc := time.UTC
	distinct := map[string]bool{}
	for _, s := range f.sessions {
		for _, e := range s.events {
			if d := e.at.In(loc).Format(time.DateOnly); d >= from && d < to {
				distinct[e.visitor] = true
			}
		}
	}
	body := f.ok(t, "r", "/v1/summary?metrics=visitors&from="+from+"&to="+to)
	got := num(body["current"].(map[string]any)["visitors"])
	want := len(distinct)
	if math.Abs(got-float64(want)) > visitorTolerance(want) {
		t.Errorf("30-day visitors = %v, want %d ± %.0f", got, want, visitorTolerance(want))
	}
	var sumDaily float64
	for _, p := range points(t, f.ok(t, "r", "/v1/timeseries?metrics=visitors&interval=day&from="+from+"&to="+to)) {
		sumDaily += num(p["visitors"])
	}
	if sumDaily < 2*float64(want) {
		t.Fatalf("test data: daily visitors sum to %v, not much more than %d distinct; visitors must return across days", sumDaily, want)
	}
	if math.Abs(got-sumDaily) <= visitorTolerance(want) {
		t.Errorf("30-day visitors %v equal the sum of daily visitors %v: they must be a sketch merge", got, sumDaily)
	}
	// The monthly bucket agrees with the summary (both merge 30 days).
	m := points(t, f.ok(t, "r", "/v1/timeseries?metrics=visitors&interval=month&from=2026-03-01&to=2026-04-01"))
	if len(m) != 1 {
		t.Fatalf("%d month points", len(m))
	}
	monthDistinct := map[string]bool{}
	for _, s := range f.sessions {
		for _, e := range s.events {
			if e.at.Month() == time.March && e.at.Year() == 2026 {
				monthDistinct[e.visitor] = true
			}
		}
	}
	if g, w := num(m[0]["visitors"]), len(monthDistinct); math.Abs(g-float64(w)) > visitorTolerance(w) {
		t.Errorf("March visitors = %v, want %d ± %.0f", g, w, visitorTolerance(w))
	}
}

func TestSummaryMatchesGroundTruth(t *testing.T) {
	f := newGroundTruthFixture(t)
	tests := []struct {
		tz, from, to           string
		wantPrevFrom, wantPrev string
	}{
		{"UTC", "2026-03-15", "2026-03-22", "2026-03-08T00:00:00Z", "2026-03-15T00:00:00Z"},
		// New York: the previous week holds the 23-hour day; it still
		// starts at local midnight seven days earlier.
		{"America/New_York", "2026-03-10", "2026-03-17", "2026-03-03T00:00:00-05:00", "2026-03-10T00:00:00-04:00"},
		{"Asia/Tokyo", "2026-03-20", "2026-04-01", "2026-03-08T00:00:00+09:00", "2026-03-20T00:00:00+09:00"},
		{"Europe/London", "2026-10-29", "2026-11-05", "2026-10-22T00:00:00+01:00", "2026-10-29T00:00:00Z"},
		{"Asia/Kolkata", "2026-03-10", "2026-03-17", "2026-03-03T00:00:00+05:30", "2026-03-10T00:00:00+05:30"},
		{"America/St_Johns", "2026-03-08", "2026-03-10", "2026-03-06T00:00:00-03:30", "2026-03-08T00:00:00-03:30"},
		// Lord Howe: the current period holds the day of 24.5 hours.
		{"Australia/Lord_Howe", "2026-04-03", "2026-04-08", "2026-03-29T00:00:00+11:00", "2026-04-03T00:00:00+11:00"},
		// Not midnights: the previous period has the same duration.
		{"UTC", "2026-03-10T06:00:00Z", "2026-03-10T18:00:00Z", "2026-03-09T18:00:00Z", "2026-03-10T06:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.tz+"/"+tc.from, func(t *testing.T) {
			loc, _ := time.LoadLocation(tc.tz)
			q := url.Values{"metrics": {"events,pageviews,sessions,revenue,visitors,bounce_rate"}, "tz": {tc.tz}, "from": {tc.from}, "to": {tc.to}}
			body := f.ok(t, "r", "/v1/summary?"+q.Encode())
			if body["previous_from"] != tc.wantPrevFrom || body["previous_to"] != tc.wantPrev {
				t.Fatalf("previous period %v – %v, want %s – %s", body["previous_from"], body["previous_to"], tc.wantPrevFrom, tc.wantPrev)
			}
			period := func(fromS, toS string) *truth {
				from, _ := time.Parse(time.RFC3339, fromS)
				to, _ := time.Parse(time.RFC3339, toS)
				tr := newTruth()
				for _, s := range f.sessions {
					if st := s.start(); !st.Before(from) && st.Before(to) {
						tr.sessions++
						if s.bounce() {
							tr.bounces++
						}
					}
					for _, e := range s.events {
						if !e.at.Before(from) && e.at.Before(to) {
							tr.events++
							if e.name == "page_view" {
								tr.pageviews++
							}
							if e.currency != "" {
								tr.revenue[e.currency] += e.minor
							}
							tr.visitors[e.visitor] = true
						}
					}
				}
				return tr
			}
			cur := period(body["from"].(string), body["to"].(string))
			prev := period(body["previous_from"].(string), body["previous_to"].(string))
			_ = loc
			for _, side := range []struct {
				name string
				w    *truth
			}{{"current", cur}, {"previous", prev}} {
				got := body[side.name].(map[string]any)
				if int64(num(got["events"])) != side.w.events || int64(num(got["pageviews"])) != side.w.pageviews || int64(num(got["sessions"])) != side.w.sessions {
					t.Errorf("%s = %v, want events %d pageviews %d sessions %d", side.name, got, side.w.events, side.w.pageviews, side.w.sessions)
				}
				if g := revenueOfPoint(got); !sameRevenue(g, side.w.revenue) {
					t.Errorf("%s revenue = %v, want %v", side.name, g, side.w.revenue)
				}
				if g, w := num(got["visitors"]), len(side.w.visitors); math.Abs(g-float64(w)) > visitorTolerance(w) {
					t.Errorf("%s visitors = %v, want %d", side.name, g, w)
				}
			}
			ch := body["change"].(map[string]any)["events"].(map[string]any)
			if int64(num(ch["absolute"])) != cur.events-prev.events {
				t.Errorf("events change = %v, want %d", ch["absolute"], cur.events-prev.events)
			}
			if prev.events == 0 {
				if ch["percent"] != nil {
					t.Errorf("percent = %v with an empty previous period, want null", ch["percent"])
				}
			} else if wp := float64(cur.events-prev.events) / float64(prev.events) * 100; math.Abs(num(ch["percent"])-wp) > 0.005 {
				t.Errorf("events change percent = %v, want %.2f", ch["percent"], wp)
			}
			rch := body["change"].(map[string]any)["revenue"].(map[string]any)
			for code := range cur.revenue {
				d := rch[code].(map[string]any)["absolute"].(map[string]any)
				if int64(num(d["minor"])) != cur.revenue[code]-prev.revenue[code] {
					t.Errorf("revenue change %s = %v, want %d", code, d, cur.revenue[code]-prev.revenue[code])
				}
			}
		})
	}
}

func TestBreakdownMatchesGroundTruth(t *testing.T) {
	f := newGroundTruthFixture(t)
	tests := []struct {
		dim      layout.Dimension
		limit    int
		tz       string
		from, to string
		exact    bool // every value fits in each hour's top K
	}{
		{layout.DimCountry, 10, "Asia/Tokyo", "2026-03-01", "2026-03-31", true},
		{layout.DimCountry, 3, "UTC", "2026-03-01", "2026-03-31", true},
		{layout.DimDevice, 2, "America/New_York", "2026-03-01", "2026-03-15", true},
		{layout.DimEvent, 10, "Europe/London", "2026-10-20", "2026-11-06", true}, // partly provisional
		{layout.DimPage, 2, "UTC", "2026-03-01", "2026-03-31", false},            // K=3 of 8 pages per hour
		{layout.DimCountry, 10, "Asia/Kathmandu", "2026-03-01", "2026-03-31", true},
		{layout.DimDevice, 2, "Australia/Lord_Howe", "2026-03-28", "2026-04-09", true},
		{layout.DimEvent, 10, "America/St_Johns", "2026-10-25", "2026-11-06", true}, // partly provisional
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/limit%d/%s", tc.dim, tc.limit, tc.tz), func(t *testing.T) {
			q := url.Values{"dimension": {string(tc.dim)}, "metrics": {"events,pageviews,visitors,revenue"}, "limit": {fmt.Sprint(tc.limit)}, "tz": {tc.tz}, "from": {tc.from}, "to": {tc.to}}
			body := f.ok(t, "r", "/v1/breakdown?"+q.Encode())
			from, _ := time.Parse(time.RFC3339, body["from"].(string))
			to, _ := time.Parse(time.RFC3339, body["to"].(string))
			in := func(e gEvent) bool { return !e.at.Before(from) && e.at.Before(to) }
			all := newTruth()
			byValue := map[string]*truth{}
			for _, s := range f.sessions {
				for _, e := range s.events {
					if !in(e) {
						continue
					}
					v := dimValue(e, tc.dim)
					if byValue[v] == nil {
						byValue[v] = newTruth()
					}
					for _, tr := range []*truth{all, byValue[v]} {
						tr.events++
						if e.name == "page_view" {
							tr.pageviews++
						}
						if e.currency != "" {
							tr.revenue[e.currency] += e.minor
						}
						tr.visitors[e.visitor] = true
					}
				}
			}
			rows := body["rows"].([]any)
			if len(rows) != min(tc.limit, len(byValue)) {
				t.Errorf("%d rows, want %d", len(rows), min(tc.limit, len(byValue)))
			}
			other, total := body["other"].(map[string]any), body["total"].(map[string]any)
			// The invariant: rows + other = total = everything in range.
			sumEv, sumPV := num(other["events"]), num(other["pageviews"])
			sumRev := revenueOfPoint(other)
			prev := math.Inf(1)
			for _, r := range rows {
				r := r.(map[string]any)
				sumEv += num(r["events"])
				sumPV += num(r["pageviews"])
				for k, v := range revenueOfPoint(r) {
					sumRev[k] += v
				}
				if num(r["events"]) > prev {
					t.Errorf("rows not ordered by events: %v after %v", r["events"], prev)
				}
				prev = num(r["events"])
				w := byValue[r["value"].(string)]
				if w == nil {
					t.Fatalf("row %v is no value of the data", r["value"])
				}
				if tc.exact {
					if int64(num(r["events"])) != w.events || int64(num(r["pageviews"])) != w.pageviews || !sameRevenue(revenueOfPoint(r), w.revenue) {
						t.Errorf("row %v = %v, want events %d pageviews %d revenue %v", r["value"], r, w.events, w.pageviews, w.revenue)
					}
					if g, wv := num(r["visitors"]), len(w.visitors); math.Abs(g-float64(wv)) > math.Max(1, 3*0.0163*float64(wv)) {
						t.Errorf("row %v visitors = %v, want %d", r["value"], g, wv)
					}
				} else if int64(num(r["events"])) > w.events {
					t.Errorf("row %v events %v exceed the truth %d", r["value"], r["events"], w.events)
				}
			}
			if int64(sumEv) != all.events || int64(num(total["events"])) != all.events {
				t.Errorf("rows+other events = %v, total %v, truth %d", sumEv, total["events"], all.events)
			}
			if int64(sumPV) != all.pageviews || int64(num(total["pageviews"])) != all.pageviews {
				t.Errorf("rows+other pageviews = %v, total %v, truth %d", sumPV, total["pageviews"], all.pageviews)
			}
			if !sameRevenue(sumRev, all.revenue) || !sameRevenue(revenueOfPoint(total), all.revenue) {
				t.Errorf("rows+other revenue = %v, total %v, truth %v", sumRev, revenueOfPoint(total), all.revenue)
			}
			if g, w := num(total["visitors"]), len(all.visitors); math.Abs(g-float64(w)) > math.Max(1, 3*0.0163*float64(w)) {
				t.Errorf("total visitors = %v, want %d", g, w)
			}
			if tc.exact {
				// The top rows are the values with the most events.
				var vals []string
				for v := range byValue {
					vals = append(vals, v)
				}
				sort.Slice(vals, func(i, j int) bool {
					if byValue[vals[i]].events != byValue[vals[j]].events {
						return byValue[vals[i]].events > byValue[vals[j]].events
					}
					return vals[i] < vals[j]
				})
				for i, r := range rows {
					if got := r.(map[string]any)["value"]; got != vals[i] {
						t.Errorf("row %d = %v, want %s", i, got, vals[i])
					}
				}
			}
		})
	}
}

func TestFilteredSeriesMatchesGroundTruth(t *testing.T) {
	f := newGroundTruthFixture(t)
	tests := []struct {
		name, filter, tz, interval, from, to string
		keep                                 func(gEvent) bool
		exact                                bool
	}{
		{"country JP in Tokyo", "country==JP", "Asia/Tokyo", "day", "2026-03-01", "2026-03-10", func(e gEvent) bool { return e.country == "JP" }, true},
		{"device in New York across DST", "device=mobile", "America/New_York", "day", "2026-03-06", "2026-03-11", func(e gEvent) bool { return e.device == "mobile" }, true},
		{"event name in London", "event==purchase", "Europe/London", "week", "2026-10-19", "2026-11-09", func(e gEvent) bool { return e.name == "purchase" }, true},
		{"page folded into other", "page==/p7", "UTC", "day", "2026-03-01", "2026-03-05", func(e gEvent) bool { return e.page == "/p7" }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loc, _ := time.LoadLocation(tc.tz)
			want := groundTruth(f.sessions, tc.interval, loc, tc.keep)
			q := url.Values{"metrics": {"events,pageviews,visitors,revenue"}, "filters": {tc.filter}, "interval": {tc.interval}, "tz": {tc.tz}, "from": {tc.from}, "to": {tc.to}}
			body := f.ok(t, "r", "/v1/timeseries?"+q.Encode())
			if body["filter"] == nil {
				t.Error("the answer does not echo the filter and its note")
			}
			var hidden float64
			for _, p := range points(t, body) {
				k := pointKey(t, p, tc.interval, loc)
				w := want[k]
				if w == nil {
					w = newTruth()
				}
				hidden += num(p["in_other_hours"])
				if tc.exact {
					if int64(num(p["events"])) != w.events || int64(num(p["pageviews"])) != w.pageviews || !sameRevenue(revenueOfPoint(p), w.revenue) {
						t.Errorf("%s = %v, want events %d pageviews %d revenue %v", k, p, w.events, w.pageviews, w.revenue)
					}
					if g, wv := num(p["visitors"]), len(w.visitors); math.Abs(g-float64(wv)) > math.Max(1, 3*0.0163*float64(wv)) {
						t.Errorf("%s visitors = %v, want %d", k, g, wv)
					}
					if num(p["in_other_hours"]) != 0 {
						t.Errorf("%s in_other_hours = %v, want 0 (the value is in every hour's top K)", k, p["in_other_hours"])
					}
				} else if int64(num(p["events"])) > w.events {
					t.Errorf("%s events %v exceed the truth %d", k, p["events"], w.events)
				}
			}
			if !tc.exact && hidden == 0 {
				t.Error("a value outside the hourly top K is reported in no in_other_hours")
			}
		})
	}
}

// Only an offset that is no whole number of quarter hours is refused (the
// zones refused while metrics were stored per UTC hour are served now:
// TestEveryZoneMatchesGroundTruth).
func TestOnlyNonQuarterOffsetsAreRefused(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		url    string
		code   int
		detail string
	}{
		{"/v1/summary?tz=Africa/Monrovia&from=1971-03-01&to=1971-03-05", 400, "Africa/Monrovia is UTC-00:44:30"},
		{"/v1/timeseries?interval=day&tz=Asia/Kolkata&from=2026-03-01&to=2026-03-05", 200, ""},
		{"/v1/summary?tz=Asia/Tehran&from=2026-03-01&to=2026-03-05", 200, ""},
		{"/v1/breakdown?dimension=page&tz=Asia/Kathmandu&from=2026-03-01&to=2026-03-05", 200, ""},
		{"/v1/summary?tz=Asia/Singapore&from=1981-12-20T00:00:00Z&to=1982-01-05T00:00:00Z", 200, ""}, // +07:30 then +08:00
	} {
		r := f.do(t, "r", tc.url)
		if r.code != tc.code {
			t.Errorf("%s: status %d, want %d: %s", tc.url, r.code, tc.code, r.raw)
			continue
		}
		if d, _ := r.body["detail"].(string); !contains(d, tc.detail) {
			t.Errorf("%s: detail %q does not say %q", tc.url, d, tc.detail)
		}
	}
}
