package transforms

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/teststream"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/pipelines/internal/counters"
	"github.com/footfall/footfall/pipelines/internal/lag"
)

func init() {
	register.Combiner1[layout.RowContent](&latestRowFn{})
	register.Function2x1(formatTotalsRow)
}

// latestRowFn keeps the newest version of a row (the highest _gen): what
// Bigtable serves after the sink wrote every version.
type latestRowFn struct{}

func (latestRowFn) MergeAccumulators(a, b layout.RowContent) layout.RowContent {
	if gen(b) > gen(a) {
		return b
	}
	return a
}

func gen(rc layout.RowContent) int64 {
	for _, c := range rc.Cells {
		if c.Qualifier == layout.ColGeneration {
			v, _ := layout.DecodeInt(c.Value)
			return v
		}
	}
	return 0
}

// formatTotalsRow renders the event side of totals rows (sessions are
// compared separately: the streaming step sees events in arrival order).
func formatTotalsRow(key string, rc layout.RowContent) string {
	k, _ := layout.ParseKey(key)
	if k.Kind != layout.KindTotals {
		return "other"
	}
	t, err := layout.TotalsFromCells(rc.Cells)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%s events=%d pv=%d bots=%d visitors=%d names=%s revenue=%s sessions=%d", key, t.Events, t.PageViews, t.BotEvents,
		t.VisitorCount(), sortedMap(t.ByName), money(t.Revenue), t.Sessions)
}

// The streaming job on a TestStream of one recent hour, events in
// event-time order with copies: the newest version of each row the fold
// emitted equals what the batch job computes from the same events.
func TestStreamingRowsMatchBatch(t *testing.T) {
	hour := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	var evs []event.Event
	for i := 0; i < 240; i++ {
		v := i % 12
		at := hour.Add(time.Duration(i*14) * time.Second)
		e := event.Event{ID: fmt.Sprintf("e%d", i), MerchantID: "shop", Type: event.TypePage, Name: event.NamePageView,
			AnonymousID: fmt.Sprintf("v%d", v), EventTime: at.UnixMicro(), ReceiveTime: at.UnixMicro(), Source: event.SourceSegment,
			PageURL: fmt.Sprintf("https://shop.example.com/p%d", i%5), UserAgent: humanUAs[v%len(humanUAs)]}
		if v == 11 {
			e.UserAgent = botUAs[0]
		}
		if i%9 == 0 {
			e.Type, e.Name, e.RevenueMinor, e.Currency, e.RevenueScale, e.TransactionID = event.TypeTrack, "purchase", 1000+int64(i), "EUR", 2, fmt.Sprintf("o%d", i/18)
		}
		evs = append(evs, e)
	}
	ts := teststream.NewConfig()
	var sent int
	for chunk := 0; chunk < 6; chunk++ {
		var els []any
		for _, e := range evs[chunk*40 : (chunk+1)*40] {
			b, err := event.Encode(&e)
			if err != nil {
				t.Fatal(err)
			}
			els = append(els, b)
			if sent%25 == 0 {
				els = append(els, b) // a redelivery
			}
			sent++
		}
		last := time.UnixMicro(evs[(chunk+1)*40-1].EventTime)
		if err := ts.AddElements(last.UnixMilli(), els...); err != nil {
			t.Fatal(err)
		}
		if err := ts.AdvanceWatermark(last.UnixMilli()); err != nil {
			t.Fatal(err)
		}
	}
	if err := ts.AdvanceWatermarkToInfinity(); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, l := range reference(t, evs, Options{}) {
		key, _, _ := strings.Cut(l, " ")
		if k, _ := layout.ParseKey(key); k.Kind == layout.KindTotals {
			want = append(want, key)
		}
	}
	if len(want) != 1 {
		t.Fatalf("want one totals row, got %v", want)
	}

	before := counters.Snapshot()
	keyed0, taken0 := lag.Process.Counts()
	p, s := beam.NewPipelineWithRoot()
	out := Metrics(s, teststream.Create(s, ts), Options{EarlyFiring: time.Second, Realtime: true})
	latest := beam.CombinePerKey(s, &latestRowFn{}, beam.WindowInto(s, window.NewGlobalWindows(), out.Rows))
	got := beam.ParDo(s, formatTotalsRow, latest)
	batch := beam.ParDo(s, formatTotalsRow, beam.WindowInto(s, window.NewGlobalWindows(),
		MetricsFromEvents(s, beam.CreateList(s, evs), Options{}).Rows))
	passert.Equals(s, got, batch)
	ptest.RunAndValidate(t, p)

	after := counters.Snapshot()
	if got := after["events_duplicate"] - before["events_duplicate"]; got < 10 {
		t.Errorf("events_duplicate counted %d, want the 10 redeliveries (streaming) and more (batch)", got)
	}
	// The reader's in-flight bound (lag.Tracker.Crowded) relies on every
	// element keyed for a stateful step being counted once each way.
	keyed, taken := lag.Process.Counts()
	if keyed-keyed0 < int64(sent) || keyed-keyed0 != taken-taken0 {
		t.Errorf("stateful steps: %d elements keyed and %d received during the run; want every one of the %d hits keyed for Visit, and as many received",
			keyed-keyed0, taken-taken0, sent)
	}
}

// Events whose hour ended longer ago than the horizon are left to the
// sealer: counted, not processed.
func TestStreamingLeavesOldHoursToTheSealer(t *testing.T) {
	old := time.Now().UTC().Truncate(time.Hour).Add(-5 * time.Hour)
	e := event.Event{ID: "old", MerchantID: "shop", Type: event.TypeTrack, Name: "signup", AnonymousID: "v",
		EventTime: old.UnixMicro(), ReceiveTime: time.Now().UnixMicro(), Source: event.SourceSegment}
	b, _ := event.Encode(&e)
	ts := teststream.NewConfig()
	if err := ts.AddElements(old.UnixMilli(), b); err != nil {
		t.Fatal(err)
	}
	if err := ts.AdvanceWatermarkToInfinity(); err != nil {
		t.Fatal(err)
	}
	before := counters.Snapshot()
	p, s := beam.NewPipelineWithRoot()
	out := Metrics(s, teststream.Create(s, ts), Options{EarlyFiring: time.Second, Horizon: 3 * time.Hour})
	passert.Empty(s, out.Rows)
	ptest.RunAndValidate(t, p)
	if got := counters.Snapshot()["events_beyond_horizon"] - before["events_beyond_horizon"]; got != 1 {
		t.Errorf("events_beyond_horizon counted %d, want 1", got)
	}
}

// The fold's rows: every version of a row carries a larger _gen and a
// later _at than the one before, so the sink's writes are ordered.
func TestFoldStampsIncrease(t *testing.T) {
	a := Aggregate{}
	key := layout.TotalsKey("m", base)
	h := Hit{ID: "x", Merchant: "m", Visitor: "v", Name: "page_view", Time: base.UnixMicro(), Entry: "/", Dims: noneDims}
	a = (&hitAggFn{}).AddInput(a, h)
	var st foldState
	var ats []int64
	for i := 0; i < 3; i++ {
		st.Agg.merge(&Aggregate{Q: a.Q})
		st.At, st.Gen = nextStamp(st.At), st.Gen+1
		rows, err := rowsOf(key, &st.Agg, RowOptions{}, st.At, st.Gen)
		if err != nil {
			t.Fatal(err)
		}
		ats = append(ats, rows[0].content.UpdatedAt())
		a = (&hitAggFn{}).AddInput(Aggregate{}, h)
	}
	if !sort.SliceIsSorted(ats, func(i, j int) bool { return ats[i] < ats[j] }) || ats[0] == ats[1] || ats[1] == ats[2] || ats[2]%1000 != 0 {
		t.Errorf("write times %v are not strictly increasing whole milliseconds", ats)
	}
	enc, err := encodeFoldState(st)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeFoldState(enc)
	if err != nil || back.Gen != 3 || back.At != st.At || back.Agg.Q[0].T.Events != 3 {
		t.Errorf("fold state round trip = %+v, %v", back, err)
	}
}

// A late event (its hour ended, within the horizon) and its retry, which
// arrives after the watermark has passed the event's dedup window: the
// streaming job still counts it once, because it keeps ids DedupWindow
// after they arrive, not only after their event time.
func TestStreamingDedupsALateRetry(t *testing.T) {
	at := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour).Add(10 * time.Minute)
	e := event.Event{ID: "late", MerchantID: "shop", Type: event.TypePage, Name: event.NamePageView, AnonymousID: "v",
		EventTime: at.UnixMicro(), ReceiveTime: time.Now().UnixMicro(), Source: event.SourceSegment,
		PageURL: "https://shop.example.com/", UserAgent: humanUAs[0]}
	b, err := event.Encode(&e)
	if err != nil {
		t.Fatal(err)
	}
	ts := teststream.NewConfig()
	if err := ts.AddElements(at.UnixMilli(), b); err != nil {
		t.Fatal(err)
	}
	// The watermark moves past the event's dedup window (as on a live
	// job, where it follows the wall clock), then the retry arrives.
	if err := ts.AdvanceWatermark(at.Add(DedupWindow + SessionGap + time.Minute).UnixMilli()); err != nil {
		t.Fatal(err)
	}
	if err := ts.AddElements(at.UnixMilli(), b); err != nil {
		t.Fatal(err)
	}
	if err := ts.AdvanceWatermarkToInfinity(); err != nil {
		t.Fatal(err)
	}
	p, s := beam.NewPipelineWithRoot()
	out := Metrics(s, teststream.Create(s, ts), Options{EarlyFiring: time.Second, Horizon: 3 * time.Hour})
	latest := beam.CombinePerKey(s, &latestRowFn{}, beam.WindowInto(s, window.NewGlobalWindows(), out.Rows))
	got := beam.ParDo(s, formatTotalsRow, latest)
	batch := beam.ParDo(s, formatTotalsRow, beam.WindowInto(s, window.NewGlobalWindows(),
		MetricsFromEvents(s, beam.CreateList(s, []event.Event{e}), Options{}).Rows))
	passert.Equals(s, got, batch)
	ptest.RunAndValidate(t, p)
}
