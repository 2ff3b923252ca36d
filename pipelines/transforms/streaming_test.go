package transforms

import (
	"fmt"
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
)

func init() {
	register.Function2x1(formatEvents)
}

func formatEvents(key string, t layout.Totals) string {
	return fmt.Sprintf("%s events=%d visitors=%d", key, t.Events, t.VisitorCount())
}

func encoded(t testing.TB, id string, at time.Time) []byte {
	t.Helper()
	e := event.Event{ID: id, MerchantID: "shop", Type: event.TypeTrack, Name: "signup", AnonymousID: "v-" + id,
		EventTime: at.UnixMicro(), ReceiveTime: at.UnixMicro(), Source: event.SourceSegment}
	b, err := event.Encode(&e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The streaming configuration on a TestStream: duplicates are dropped while
// their hour's dedup state lives (hour end + DedupLateness), a duplicate
// after that is counted again (the documented dedup window), late events
// within AllowedLateness restate their hour in a late pane, and events
// beyond it are dropped by the runner. Panes are discarding; summing them
// per row (what the sink does) gives the hour's values.
func TestStreamingDedupAndLateness(t *testing.T) {
	h10 := base.Add(10 * time.Hour)
	ms := func(t time.Time) int64 { return t.UnixMilli() }
	ts := teststream.NewConfig()
	add := func(at time.Time, msgs ...[]byte) {
		t.Helper()
		var els []any
		for _, m := range msgs {
			els = append(els, m)
		}
		if err := ts.AddElements(ms(at), els...); err != nil {
			t.Fatal(err)
		}
	}
	advance := func(to time.Time) {
		t.Helper()
		if err := ts.AdvanceWatermark(ms(to)); err != nil {
			t.Fatal(err)
		}
	}
	e1, e2 := encoded(t, "e1", h10.Add(5*time.Minute)), encoded(t, "e2", h10.Add(10*time.Minute))
	add(h10.Add(5*time.Minute), e1, e2, e1)                                 // on time, one duplicate
	advance(h10.Add(90 * time.Minute))                                      // hour 10 closed; dedup state kept until 12:00
	add(h10.Add(5*time.Minute), e1)                                         // late duplicate: dropped
	add(h10.Add(20*time.Minute), encoded(t, "e3", h10.Add(20*time.Minute))) // late: counted
	advance(h10.Add(150 * time.Minute))                                     // dedup state of hour 10 expired; window open until 13:00
	add(h10.Add(10*time.Minute), e2)                                        // duplicate after the dedup window: counted again
	advance(h10.Add(210 * time.Minute))                                     // past allowed lateness
	add(h10.Add(30*time.Minute), encoded(t, "e4", h10.Add(30*time.Minute))) // too late: dropped
	if err := ts.AdvanceWatermarkToInfinity(); err != nil {
		t.Fatal(err)
	}

	before := counters.Snapshot()
	p, s := beam.NewPipelineWithRoot()
	out := Metrics(s, teststream.Create(s, ts), Options{EarlyFiring: time.Second, AllowedLateness: 2 * time.Hour, DedupLateness: time.Hour, Realtime: true})
	sum := func(c beam.PCollection) beam.PCollection {
		return beam.CombinePerKey(s, &mergeTotalsFn{}, beam.WindowInto(s, window.NewGlobalWindows(), c))
	}
	passert.Equals(s, beam.ParDo(s, formatEvents, sum(out.Totals)), "shop#t#2026110110 events=4 visitors=3")
	minutes := beam.ParDo(s, formatEvents, sum(out.Realtime))
	passert.Equals(s, minutes, "shop#r#202611011005 events=1 visitors=1", "shop#r#202611011010 events=2 visitors=1", "shop#r#202611011020 events=1 visitors=1")
	ptest.RunAndValidate(t, p)

	after := counters.Snapshot()
	if got := after["events_duplicate"] - before["events_duplicate"]; got != 2 {
		t.Errorf("events_duplicate counted %d, want 2 (one on time, one late)", got)
	}
	if got := after["events_decoded"] - before["events_decoded"]; got != 7 {
		t.Errorf("events_decoded counted %d, want 7", got)
	}
}
