// Package transforms holds the composite Beam transforms that the streaming
// job and the batch (seal and backfill) job share: decode, window, and
// aggregate into the Bigtable layout. Sources and sinks live in
// pipelines/io; nothing here talks to the outside world, so tests drive
// these transforms with beam.Create.
package transforms

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window/trigger"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/layout"
)

func init() {
	beam.RegisterCoder(reflect.TypeOf(event.Event{}), encodeEvent, decodeEvent)
	beam.RegisterCoder(reflect.TypeOf(layout.Totals{}), encodeTotals, decodeTotals)
	register.DoFn3x0[context.Context, []byte, func(beam.EventTime, event.Event)](&decodeFn{})
	register.Emitter2[beam.EventTime, event.Event]()
	register.Function1x2(keyByHour)
	register.Combiner2[layout.Totals, event.Event](&totalsFn{})
}

// Counters visible in the job's metrics (namespace "footfall").
var (
	decodedEvents = beam.NewCounter("footfall", "events_decoded")
	invalidEvents = beam.NewCounter("footfall", "events_invalid")
)

// Decode turns Pub/Sub message bodies (PCollection<[]byte>) into events
// (PCollection<event.Event>), each timestamped with its event time. Bodies
// that do not decode are counted as events_invalid and dropped: ingest
// validated them, so this only happens after a contract bug, and the raw
// message is still in the archive's dead-letter file.
func Decode(s beam.Scope, msgs beam.PCollection) beam.PCollection {
	s = s.Scope("Decode")
	return beam.ParDo(s, &decodeFn{}, msgs)
}

type decodeFn struct{}

func (fn *decodeFn) ProcessElement(ctx context.Context, b []byte, emit func(beam.EventTime, event.Event)) {
	e, err := event.Decode(b)
	if err != nil {
		invalidEvents.Inc(ctx, 1)
		log.Warnf(ctx, "dropping undecodable message: %v", err)
		return
	}
	decodedEvents.Inc(ctx, 1)
	emit(beam.EventTime(e.EventTime/1000), e)
}

// WindowOptions say how hourly windows fire.
type WindowOptions struct {
	// EarlyFiring, when positive, fires a pane that often (processing time)
	// while an hour is open and again after late data: the streaming job's
	// provisional updates. Zero fires once per window (batch).
	EarlyFiring time.Duration
	// AllowedLateness is how long after an hour ends its events are still
	// counted; later ones are dropped (they reach the sealed values from
	// the archive instead).
	AllowedLateness time.Duration
}

// Hourly assigns events to fixed one-hour event-time windows (UTC hours).
// With EarlyFiring the panes are discarding: each pane carries only the
// events since the previous one, and the sink merges it into what is stored.
// (Accumulating panes are wrong under load on Prism v2.77; discarding panes
// were exact: see docs/pipeline.md.)
func Hourly(s beam.Scope, events beam.PCollection, opts WindowOptions) beam.PCollection {
	s = s.Scope("Hourly")
	wopts := []beam.WindowIntoOption{}
	if opts.EarlyFiring > 0 {
		every := trigger.AfterProcessingTime().PlusDelay(opts.EarlyFiring)
		wopts = append(wopts,
			beam.Trigger(trigger.AfterEndOfWindow().EarlyFiring(every).LateFiring(every)),
			beam.AllowedLateness(opts.AllowedLateness),
			beam.PanesDiscard())
	}
	return beam.WindowInto(s, window.NewFixedWindows(time.Hour), events, wopts...)
}

// HourlyTotals aggregates hour-windowed events (PCollection<event.Event>)
// into one layout.Totals per merchant and hour:
// PCollection<KV<string, layout.Totals>> keyed by the totals row key.
func HourlyTotals(s beam.Scope, events beam.PCollection) beam.PCollection {
	s = s.Scope("HourlyTotals")
	keyed := beam.ParDo(s, keyByHour, events)
	return beam.CombinePerKey(s, &totalsFn{}, keyed)
}

func keyByHour(e event.Event) (string, event.Event) {
	return layout.TotalsKey(e.MerchantID, layout.Hour(e.Time())), e
}

// totalsFn sums events into Totals.
type totalsFn struct{}

func (totalsFn) CreateAccumulator() layout.Totals { return layout.Totals{} }

func (totalsFn) AddInput(t layout.Totals, e event.Event) layout.Totals {
	t.Events++
	if e.Name == event.NamePageView {
		t.PageViews++
	}
	if t.ByName == nil {
		t.ByName = map[string]int64{}
	}
	t.ByName[e.Name]++
	return t
}

func (totalsFn) MergeAccumulators(a, b layout.Totals) layout.Totals {
	if err := a.Merge(&b); err != nil {
		panic(fmt.Sprintf("transforms: merge totals: %v", err)) // sketches of one precision always merge
	}
	return a
}

func (totalsFn) ExtractOutput(t layout.Totals) layout.Totals { return t }

func encodeEvent(e event.Event) ([]byte, error) { return event.Encode(&e) }

func decodeEvent(b []byte) (event.Event, error) { return event.Decode(b) }

func encodeTotals(t layout.Totals) ([]byte, error) {
	cells, err := t.Cells()
	if err != nil {
		return nil, err
	}
	return layout.MarshalCells(cells), nil
}

func decodeTotals(b []byte) (layout.Totals, error) {
	cells, err := layout.UnmarshalCells(b)
	if err != nil {
		return layout.Totals{}, err
	}
	t, err := layout.TotalsFromCells(cells)
	if err != nil {
		return layout.Totals{}, err
	}
	return *t, nil
}
