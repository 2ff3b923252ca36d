package seal

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/bigtable"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/internal/testenv"
	"github.com/footfall/footfall/pipelines/io/archive"
	"github.com/footfall/footfall/pipelines/io/btsink"
	"github.com/footfall/footfall/pipelines/transforms"
)

func TestMain(m *testing.M) { ptest.MainWithDefault(m, "prism") }

var (
	h0     = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	human  = "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/118.0"
	robots = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)

// gen makes n events of the merchants over hours from h0: about one in
// ten from a crawler, about one in eight archived twice (a redelivery).
func gen(seed uint64, n, hours int, merchants ...string) (archived, unique []event.Event) {
	rng := rand.New(rand.NewPCG(seed, 3))
	names := []string{event.NamePageView, event.NamePageView, "signup", "purchase"}
	for i := range n {
		at := h0.Add(time.Duration(rng.Int64N(int64(hours) * int64(time.Hour)))).Truncate(time.Millisecond)
		e := event.Event{ID: fmt.Sprintf("s%d-%d", seed, i), MerchantID: merchants[rng.IntN(len(merchants))], Type: event.TypeTrack,
			Name: names[rng.IntN(len(names))], AnonymousID: fmt.Sprintf("v%d", rng.IntN(60)), EventTime: at.UnixMicro(),
			ReceiveTime: at.UnixMicro(), Source: event.SourceSegment, PageURL: "https://shop.example.com/p", UserAgent: human}
		if rng.IntN(10) == 0 {
			e.UserAgent = robots
		}
		if e.Name == "purchase" {
			e.RevenueMinor, e.Currency, e.RevenueScale = int64(100+rng.IntN(9000)), "EUR", 2
		}
		unique = append(unique, e)
		archived = append(archived, e)
		if rng.IntN(8) == 0 {
			archived = append(archived, e)
		}
	}
	return archived, unique
}

// truth is the expected totals of one merchant-hour, from the unique
// events alone (crawlers are the events with the crawler's user agent).
type truth struct {
	events, pageViews, bots, revenue int64
	visitors                         map[string]bool
}

func groundTruth(unique []event.Event) map[string]*truth {
	out := map[string]*truth{}
	for _, e := range unique {
		k := layout.TotalsKey(e.MerchantID, e.Time())
		if out[k] == nil {
			out[k] = &truth{visitors: map[string]bool{}}
		}
		t := out[k]
		if e.UserAgent == robots {
			t.bots++
			continue
		}
		t.events++
		if e.Name == event.NamePageView {
			t.pageViews++
		}
		t.revenue += e.RevenueMinor
		t.visitors[e.AnonymousID] = true
	}
	return out
}

type env struct {
	dir string
	w   *archive.Writer
	bt  *bigtable.Client
	r   *Runner
}

func newEnv(t *testing.T) *env {
	t.Helper()
	bt := testenv.Bigtable(t)
	dir := t.TempDir()
	w, err := archive.NewWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := OpenRecords(context.Background(), testenv.Project, testenv.Instance, "", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Close() })
	return &env{dir: dir, w: w, bt: bt, r: &Runner{Runner: "prism", Source: Dir(dir), Records: rec, ChunkHours: 2,
		Bigtable: btsink.Options{Project: testenv.Project, Instance: testenv.Instance}}}
}

func (e *env) archive(t *testing.T, events []event.Event) {
	t.Helper()
	if err := e.w.WriteBatch(context.Background(), events); err != nil {
		t.Fatal(err)
	}
}

// served reads what the query API would serve for a merchant-hour.
func (e *env) served(t *testing.T, keys []string, from, to time.Time) map[string]*layout.Totals {
	t.Helper()
	seals, err := e.r.Records.Seals(context.Background(), from, to)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.r.Records.ServedTotals(context.Background(), keys, seals)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// check compares the served totals of every merchant-hour in [from, to)
// with the ground truth: exact counts and revenue, visitors within 2 %
// (HyperLogLog++ at precision 14 is exact in its sparse range, which
// these counts are in).
func (e *env) check(t *testing.T, want map[string]*truth, merchants []string, from, to time.Time) {
	t.Helper()
	var keys []string
	for _, m := range merchants {
		for h := from; h.Before(to); h = h.Add(time.Hour) {
			keys = append(keys, layout.TotalsKey(m, h))
		}
	}
	got := e.served(t, keys, from, to)
	for _, k := range keys {
		w, g := want[k], got[k]
		if w == nil {
			if g != nil && (g.Events != 0 || g.BotEvents != 0) {
				t.Errorf("%s: served %d events, want none", k, g.Events)
			}
			continue
		}
		if g == nil {
			t.Errorf("%s: nothing served, want %d events", k, w.events)
			continue
		}
		if g.Events != w.events || g.PageViews != w.pageViews || g.BotEvents != w.bots || g.Revenue["EUR"].Minor != w.revenue {
			t.Errorf("%s: events %d, page views %d, bots %d, revenue %d; want %d, %d, %d, %d",
				k, g.Events, g.PageViews, g.BotEvents, g.Revenue["EUR"].Minor, w.events, w.pageViews, w.bots, w.revenue)
		}
		if v, wv := g.VisitorCount(), int64(len(w.visitors)); math.Abs(float64(v-wv)) > 0.02*float64(wv) {
			t.Errorf("%s: %d visitors, want %d", k, v, wv)
		}
	}
}

// rows returns every metrics row of a merchant (family s), for comparing
// before and after.
func (e *env) rows(t *testing.T, merchant string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := e.bt.Open(layout.TableMetrics).ReadRows(context.Background(), layout.MerchantPrefix(merchant), func(r bigtable.Row) bool {
		out[r.Key()] = fmt.Sprint(r[layout.FamilySealed])
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Sealing hours gives exactly the ground truth; a rerun changes no row;
// a merchant-scoped run recomputes that merchant only.
func TestBackfillExactRerunAndScope(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	archived, unique := gen(1, 3000, 4, "shop-a", "shop-b")
	e.archive(t, archived)
	from, to := h0, h0.Add(4*time.Hour)

	// Provisional values from a streaming job that counted wrong: the seal
	// replaces them (and retires one the seal does not recompute).
	for _, k := range []string{layout.TotalsKey("shop-a", h0), layout.TotalsKey("shop-c", h0)} {
		wrong := &layout.Totals{Events: 99999, UpdatedAt: time.Now().UnixMilli() * 1000}
		cells, _ := wrong.Cells()
		if err := e.bt.Open(layout.TableMetrics).Apply(ctx, k, layout.OverwriteFamily(layout.FamilyProvisional, cells, nil, bigtable.Timestamp(wrong.UpdatedAt))); err != nil {
			t.Fatal(err)
		}
	}

	sum, err := e.r.Backfill(ctx, from, to, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Hours != 4 || sum.Chunks != 2 || sum.EventsRead == 0 || sum.RowsChanged == 0 {
		t.Errorf("summary = %+v; want 4 hours in 2 chunks, events read and rows changed", sum)
	}
	want := groundTruth(unique)
	e.check(t, want, []string{"shop-a", "shop-b", "shop-c"}, from, to)
	seals, _ := e.r.Records.Seals(ctx, from, to)
	for h := from; h.Before(to); h = h.Add(time.Hour) {
		st, _ := archive.Stat(e.dir, h)
		if s := seals[h]; s.SealedAt == 0 || s.Runs != 1 || s.Events != st.Rows || s.ArchivedAt != st.Newest.UnixMicro() {
			t.Errorf("seal record of %s = %+v; want sealed once, %d events, archived at %d", h, s, st.Rows, st.Newest.UnixMicro())
		}
	}

	// A rerun: the same values, no row changed.
	sum, err = e.r.Backfill(ctx, from, to, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if sum.RowsChanged != 0 || sum.RowsSame == 0 {
		t.Errorf("rerun summary = %+v; want no row changed", sum)
	}
	e.check(t, want, []string{"shop-a", "shop-b", "shop-c"}, from, to)

	// More events of both merchants are archived; a run scoped to shop-a
	// takes in shop-a's, and leaves every shop-b row exactly as it was.
	beforeB := e.rows(t, "shop-b")
	more, moreUnique := gen(2, 500, 4, "shop-a", "shop-b")
	e.archive(t, more)
	if _, err := e.r.Backfill(ctx, from, to, []string{"shop-a"}, false); err != nil {
		t.Fatal(err)
	}
	if after := e.rows(t, "shop-b"); fmt.Sprint(after) != fmt.Sprint(beforeB) {
		t.Errorf("a run scoped to shop-a changed shop-b's rows")
	}
	var aOnly []event.Event
	for _, ev := range append(append([]event.Event(nil), unique...), moreUnique...) {
		if ev.MerchantID == "shop-a" {
			aOnly = append(aOnly, ev)
		}
	}
	e.check(t, groundTruth(aOnly), []string{"shop-a"}, from, to)
}

// A deliberately wrong run (crawlers counted as visitors) gives wrong
// numbers; backfilling with the correct logic gives the ground truth.
func TestBackfillFixesABug(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	archived, unique := gen(3, 2000, 2, "shop-a")
	e.archive(t, archived)
	from, to := h0, h0.Add(2*time.Hour)
	want := groundTruth(unique)

	e.r.InjectBug = transforms.BugCountBots
	if _, err := e.r.Backfill(ctx, from, to, nil, false); err != nil {
		t.Fatal(err)
	}
	k := layout.TotalsKey("shop-a", h0)
	if got := e.served(t, []string{k}, from, to)[k]; got == nil || got.Events == want[k].events {
		t.Fatalf("with the bug: %+v; want a wrong event count (not %d)", got, want[k].events)
	}
	e.r.InjectBug = ""
	sum, err := e.r.Backfill(ctx, from, to, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if sum.RowsChanged == 0 {
		t.Errorf("the fix changed no row: %+v", sum)
	}
	e.check(t, want, []string{"shop-a"}, from, to)
}

// A dry run reports old and new values and writes nothing.
func TestDryRun(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	archived, unique := gen(4, 800, 1, "shop-a", "shop-b")
	e.archive(t, archived)
	k := layout.TotalsKey("shop-a", h0)
	seven := &layout.Totals{Events: 7, UpdatedAt: time.Now().UnixMilli() * 1000}
	cells, _ := seven.Cells()
	if err := e.bt.Open(layout.TableMetrics).Apply(ctx, k, layout.OverwriteFamily(layout.FamilyProvisional, cells, nil, bigtable.Timestamp(seven.UpdatedAt))); err != nil {
		t.Fatal(err)
	}
	var diffs []Diff
	e.r.OnChunk = func(c Chunk) { diffs = append(diffs, c.DryRunDiffs...) }
	if _, err := e.r.Backfill(ctx, h0, h0.Add(time.Hour), []string{"shop-a"}, true); err != nil {
		t.Fatal(err)
	}
	want := groundTruth(unique)
	if len(diffs) != 1 || diffs[0].Merchant != "shop-a" || diffs[0].Old.Events != 7 || diffs[0].New.Events != want[k].events {
		t.Errorf("diffs = %+v; want shop-a from 7 to %d events", diffs, want[k].events)
	}
	if rows := e.rows(t, "shop-a"); rows[k] != "[]" {
		t.Errorf("a dry run wrote sealed values: %v", rows[k])
	}
	if seals, _ := e.r.Records.Seals(ctx, h0, h0.Add(time.Hour)); len(seals) != 0 {
		t.Errorf("a dry run wrote seal records: %v", seals)
	}
}

// The sealer seals closed hours once, again when the archive receives
// events for a sealed hour, and advances sealed_through.
func TestSealClosedHours(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	archived, unique := gen(5, 1500, 3, "shop-a")
	e.archive(t, archived)
	sc := Schedule{Grace: 2 * time.Minute, Final: 24 * time.Hour, Lookback: 12 * time.Hour}
	// At h0+3h02m: hours h0 and h0+1 have settled (an hour after their end,
	// grace passed); h0+2 has not.
	now := h0.Add(3*time.Hour + 2*time.Minute)
	clock := now
	e.r.Clock = func() time.Time { return clock }
	pass, err := e.r.SealClosedHours(ctx, now, sc)
	if err != nil {
		t.Fatal(err)
	}
	if pass.Hours != 2 || !pass.SealedThrough.Equal(h0.Add(2*time.Hour)) {
		t.Errorf("first pass = %+v; want 2 hours sealed through %s", pass, h0.Add(2*time.Hour))
	}
	if st, _ := e.r.Records.SealedThrough(ctx); !st.Equal(h0.Add(2 * time.Hour)) {
		t.Errorf("sealed_through = %s, want %s", st, h0.Add(2*time.Hour))
	}
	var inFirst []event.Event
	for _, ev := range unique {
		if ev.Time().Before(h0.Add(2 * time.Hour)) {
			inFirst = append(inFirst, ev)
		}
	}
	e.check(t, groundTruth(inFirst), []string{"shop-a"}, h0, h0.Add(2*time.Hour))

	// Nothing new: nothing to do.
	if pass, err = e.r.SealClosedHours(ctx, now.Add(time.Minute), sc); err != nil || pass.Hours != 0 {
		t.Errorf("second pass = %+v, %v; want nothing sealed", pass, err)
	}
	// A late event for h0 is archived: h0 is sealed again, and so is the
	// sealed hour whose sessions it can change (h0+1).
	late := event.Event{ID: "late-1", MerchantID: "shop-a", Type: event.TypeTrack, Name: "signup", AnonymousID: "late-visitor",
		EventTime: h0.Add(10 * time.Minute).UnixMicro(), ReceiveTime: now.UnixMicro(), Source: event.SourceSegment, UserAgent: human}
	e.archive(t, []event.Event{late})
	clock = now.Add(2 * time.Minute)
	if pass, err = e.r.SealClosedHours(ctx, clock, sc); err != nil || pass.Hours != 2 {
		t.Errorf("pass after a late event = %+v, %v; want h0 and h0+1 sealed again", pass, err)
	}
	e.check(t, groundTruth(append(inFirst, late)), []string{"shop-a"}, h0, h0.Add(2*time.Hour))
	seals, _ := e.r.Records.Seals(ctx, h0, h0.Add(2*time.Hour))
	if seals[h0].Runs != 2 || seals[h0.Add(time.Hour)].Runs != 2 {
		t.Errorf("h0 sealed %d times, h0+1 %d; want 2 each", seals[h0].Runs, seals[h0.Add(time.Hour)].Runs)
	}
	// Once h0+2 settles it is sealed; nothing else is.
	clock = h0.Add(6 * time.Hour)
	if pass, err = e.r.SealClosedHours(ctx, clock, sc); err != nil || pass.Hours != 1 {
		t.Errorf("pass after h0+2 settled = %+v, %v; want h0+2 sealed", pass, err)
	}
}

func TestSchedule(t *testing.T) {
	sc := DefaultSchedule
	h := h0
	sealedAt := func(d time.Duration) layout.Seal {
		return layout.Seal{SealedAt: h.Add(d).UnixMicro(), Events: 10, ArchivedAt: h.Add(30 * time.Minute).UnixMicro()}
	}
	st := archive.HourStat{Rows: 10, Newest: h.Add(30 * time.Minute)}
	tests := []struct {
		name  string
		now   time.Duration // after h
		rec   layout.Seal
		st    archive.HourStat
		known bool
		want  string
	}{
		{"open hour", 30 * time.Minute, layout.Seal{}, st, true, ""},
		{"closed, not settled: a session may still be running", time.Hour + 10*time.Minute, layout.Seal{}, st, true, ""},
		{"settled, within grace", 2*time.Hour + time.Minute, layout.Seal{}, st, true, ""},
		{"settled", 2*time.Hour + 2*time.Minute, layout.Seal{}, st, true, "settled"},
		{"settled, nothing archived", 2*time.Hour + 2*time.Minute, layout.Seal{}, archive.HourStat{}, true, ""},
		{"settled, source cannot tell", 2*time.Hour + 2*time.Minute, layout.Seal{}, archive.HourStat{}, false, "settled"},
		{"sealed, nothing new", 2*time.Hour + 10*time.Minute, sealedAt(2*time.Hour + 3*time.Minute), st, true, ""},
		{"more rows", 2*time.Hour + 10*time.Minute, sealedAt(2*time.Hour + 3*time.Minute), archive.HourStat{Rows: 11, Newest: st.Newest}, true, "new events"},
		{"newer file", 2*time.Hour + 10*time.Minute, sealedAt(2*time.Hour + 3*time.Minute), archive.HourStat{Rows: 10, Newest: h.Add(time.Hour + 5*time.Minute)}, true, "new events"},
		{"a source that can tell needs no final reseal", 25 * time.Hour, sealedAt(2*time.Hour + 3*time.Minute), st, true, ""},
		{"final, source cannot tell", 25 * time.Hour, sealedAt(2*time.Hour + 3*time.Minute), st, false, "final"},
		{"after final", 26 * time.Hour, sealedAt(25 * time.Hour), st, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sc.due(h.Add(tc.now), h, tc.rec, tc.st, tc.known); got != tc.want {
				t.Errorf("due = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestChunks(t *testing.T) {
	hs := []time.Time{h0, h0.Add(time.Hour), h0.Add(2 * time.Hour), h0.Add(5 * time.Hour), h0.Add(6 * time.Hour)}
	got := chunks(hs, 2)
	want := [][]time.Time{{h0, h0.Add(time.Hour)}, {h0.Add(2 * time.Hour)}, {h0.Add(5 * time.Hour), h0.Add(6 * time.Hour)}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("chunks = %v, want %v", got, want)
	}
}

func TestJobValidate(t *testing.T) {
	ok := Job{From: h0, To: h0.Add(time.Hour), Source: Dir(os.TempDir()), Bigtable: btsink.Options{Project: "p", Instance: "i"}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("Validate rejected a good job: %v", err)
	}
	bad := map[string]func(*Job){
		"not hour aligned": func(j *Job) { j.From = h0.Add(time.Minute) },
		"empty range":      func(j *Job) { j.To = j.From },
		"backwards":        func(j *Job) { j.To = h0.Add(-time.Hour) },
		"bad merchant":     func(j *Job) { j.Merchants = []string{"Shop A"} },
		"no bigtable":      func(j *Job) { j.Bigtable.Instance = "" },
	}
	for name, mut := range bad {
		t.Run(name, func(t *testing.T) {
			j := ok
			mut(&j)
			if err := j.Validate(); err == nil {
				t.Errorf("Validate accepted %+v", j)
			}
		})
	}
}

// rowsPerHour is the rows of one merchant-hour: totals and quarter
// totals, a breakdown and a quarter breakdown per dimension.
var rowsPerHour = 2 + 2*int64(len(layout.Dimensions))

// Sharding a chunk by merchant gives the same sealed values as one job,
// for full and merchant-scoped runs.
func TestMerchantShards(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	merchants := []string{"shop-a", "shop-b", "shop-c", "shop-d", "shop-e"}
	archived, unique := gen(6, 2000, 2, merchants...)
	e.archive(t, archived)
	from, to := h0, h0.Add(2*time.Hour)
	e.r.MerchantShards = 3
	sum, err := e.r.Backfill(ctx, from, to, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if sum.RowsChanged != 2*rowsPerHour*int64(len(merchants)) {
		t.Errorf("sharded run changed %d rows, want %d (%d per merchant-hour, each written once)", sum.RowsChanged, 2*rowsPerHour*int64(len(merchants)), rowsPerHour)
	}
	e.check(t, groundTruth(unique), merchants, from, to)
	// A scoped, sharded run: shop-z has no events and gets explicit zero
	// rows exactly once; the others keep their values.
	sum, err = e.r.Backfill(ctx, from, to, []string{"shop-a", "shop-z"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if sum.RowsChanged != 2*rowsPerHour || sum.RowsSame != 2*rowsPerHour {
		t.Errorf("scoped sharded run: %d rows changed, %d unchanged; want %d each (shop-z's new zero rows, shop-a's)", sum.RowsChanged, sum.RowsSame, 2*rowsPerHour)
	}
	e.check(t, groundTruth(unique), append(merchants, "shop-z"), from, to)
}

// The seal lease is exclusive: a second run waits until the first
// releases it, and a lease whose holder stopped renewing expires.
func TestSealLease(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, err := e.r.Records.AcquireLease(ctx, "a", 3*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *Lease)
	go func() {
		b, err := e.r.Records.AcquireLease(ctx, "b", 3*time.Second, nil)
		if err != nil {
			t.Error(err)
		}
		got <- b
	}()
	select {
	case <-got:
		t.Fatal("b took the lease while a held it")
	case <-time.After(4 * time.Second): // longer than the TTL: a keeps renewing
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	b := <-got
	if holder, _ := e.r.Records.leaseHolder(ctx); holder != "b" {
		t.Errorf("after a released, the lease is held by %q, want b", holder)
	}
	// b dies without releasing (its renewals stop): the lease expires.
	close(b.stop)
	<-b.done
	tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := e.r.Records.AcquireLease(tctx, "c", 3*time.Second, nil)
	if err != nil {
		t.Fatalf("the lease of a dead holder did not expire: %v", err)
	}
	if err := c.Release(ctx); err != nil {
		t.Fatal(err)
	}
}

// A merchant-scoped backfill that starts first and a full seal of the
// same hours that starts while it runs: without the lease the seal would
// finish first and record a newer generation than the backfill's rows,
// which the backfill then writes over shop-a's — shop-a's hours would
// serve nothing (issue 16.6). With the lease the seal waits, takes its
// generation after the backfill, and every merchant-hour serves exactly
// the ground truth.
func TestBackfillBesideTheSealer(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	archived, unique := gen(7, 1500, 2, "shop-a", "shop-b")
	e.archive(t, archived)
	from, to := h0, h0.Add(2*time.Hour)
	gate, entered := make(chan struct{}), make(chan struct{})
	gates.Store("scoped", gate)
	gates.Store("scoped-entered", entered)
	scoped := *e.r
	scoped.Source = gatedSource{Source: e.r.Source, Gate: "scoped"}
	errs := make(chan error, 2)
	go func() { _, err := scoped.Backfill(ctx, from, to, []string{"shop-a"}, false); errs <- err }()
	<-entered // the backfill's job is reading: it has its generation
	go func() { _, err := e.r.Backfill(ctx, from, to, nil, false); errs <- err }()
	time.Sleep(3 * time.Second) // the full seal runs, or waits for the lease
	close(gate)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	e.check(t, groundTruth(unique), []string{"shop-a", "shop-b"}, from, to)
}

// gates holds the channels gateFn waits on, by name (the DoFn runs in this
// process: Prism loopback).
var gates sync.Map

// gatedSource reads like Source, but its events wait for the gate.
type gatedSource struct {
	Source
	Gate string
}

func (g gatedSource) Read(s beam.Scope, from, to time.Time, merchants []string) beam.PCollection {
	return beam.ParDo(s, &gateFn{Gate: g.Gate}, g.Source.Read(s, from, to, merchants))
}

type gateFn struct{ Gate string }

func (fn *gateFn) ProcessElement(e event.Event, emit func(event.Event)) {
	if ch, ok := gates.LoadAndDelete(fn.Gate + "-entered"); ok {
		close(ch.(chan struct{}))
	}
	if ch, ok := gates.Load(fn.Gate); ok {
		<-ch.(chan struct{})
	}
	emit(e)
}

func init() {
	register.DoFn2x0[event.Event, func(event.Event)](&gateFn{})
}

// Splitting a chunk by visitor (what bounds the sealer's memory on a busy
// hour) seals exactly what one job seals: a second seal of the same hours,
// split into many jobs, changes no row. The events include logged-in
// visitors and user-id-only server events (attached across shards by the
// spill's routing) and copies; the server events are either everywhere or
// only before and after the sealed hour (where the spill routes them in a
// pass of their own).
func TestVisitorShardsSealTheSame(t *testing.T) {
	for _, tc := range []struct {
		name          string
		seed          uint64
		orphansInHour bool
	}{
		{"user-id-only events everywhere", 8, true},
		{"user-id-only events only outside the hour", 9, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			from, to := h0.Add(time.Hour), h0.Add(2*time.Hour)
			archived, _ := gen(tc.seed, 3000, 3, "shop-a", "shop-b")
			rng := rand.New(rand.NewPCG(tc.seed, 9))
			for i := range archived {
				v := archived[i].AnonymousID
				inHour := archived[i].EventTime >= from.UnixMicro() && archived[i].EventTime < to.UnixMicro()
				switch n := rng.IntN(10); {
				case n < 3: // logged in: a sighting of the pair
					archived[i].UserID = "u-" + v
				case n == 3 && (tc.orphansInHour || !inHour): // a server-side event of that user, user id only
					archived[i].UserID, archived[i].AnonymousID, archived[i].UserAgent = "u-"+v, "", "analytics-node/1.0"
				}
			}
			e.archive(t, archived)
			e.r.MaxEventsPerJob = -1
			if _, err := e.r.Backfill(ctx, from, to, nil, false); err != nil {
				t.Fatal(err)
			}
			e.r.MaxEventsPerJob = 300
			var chunks []Chunk
			e.r.OnChunk = func(c Chunk) { chunks = append(chunks, c) }
			sum, err := e.r.Backfill(ctx, from, to, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(chunks) != 1 || chunks[0].VisitorShards < 5 {
				t.Fatalf("chunks = %+v; want one chunk split into several visitor shards", chunks)
			}
			t.Logf("sharded seal: %+v, chunk %+v", sum, chunks[0])
			if sum.RowsChanged != 0 || sum.RowsSame != 2*rowsPerHour {
				t.Errorf("the sharded seal changed %d rows (%d unchanged); want 0 changed of %d", sum.RowsChanged, sum.RowsSame, 2*rowsPerHour)
			}
		})
	}
}
