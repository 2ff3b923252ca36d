package transforms

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/pipelines/internal/lag"
)

func init() {
	register.DoFn3x3[beam.EventTime, string, Aggregate, beam.EventTime, string, Aggregate](&stampAggFn{})
	register.DoFn3x3[beam.EventTime, string, layout.Totals, beam.EventTime, string, layout.Totals](&stampMinuteFn{})
	register.DoFn5x1[context.Context, state.Provider, string, Aggregate, func(string, layout.RowContent), error](&foldHourFn{})
	register.DoFn5x1[context.Context, state.Provider, string, layout.Totals, func(string, layout.RowContent), error](&foldMinuteFn{})
}

// The streaming job turns panes into rows without any single-row
// transaction (docs/pipeline.md, "Provisional writes"): a stateful step
// keyed by merchant-hour folds each pane into the hour's state and emits
// the hour's whole rows, which the sink writes with plain mutations
// (layout.OverwriteFamily). The state and the rows it emits are committed
// together, so a runner that re-runs a bundle (Dataflow after a worker
// loss) folds the same pane into the same state again and emits the same
// content: a repeated write changes nothing, and the sink's timestamps keep
// a late, stale write from hiding a newer one.
//
// The state expires with its window: each pane is re-timestamped to the
// last millisecond before (end of its hour + horizon + foldMargin) and put
// in a one-millisecond fixed window, so the runner drops an hour's state
// once the watermark has passed the last moment a pane of it can come
// (hours older than the horizon are left to the sealer). Prism v2.77
// expires a stateful DoFn's window state at the window's end, whatever the
// allowed lateness, which is what this relies on (docs/pipeline.md).

// foldMargin keeps an hour's fold state a little longer than the hourly
// window that feeds it can fire.
const foldMargin = time.Minute

// expiryOf returns the instant an hour's fold state expires.
func expiryOf(hour time.Time, horizon time.Duration) time.Time {
	return hour.Add(time.Hour + horizon + foldMargin)
}

// FoldHours folds the panes of merchant-hour aggregates
// (PCollection<KV<string, Aggregate>>, both streams of HourlyMetrics,
// flattened) into the hour's rows (PCollection<KV<string,
// layout.RowContent>>), each row whole, stamped with a write time that
// increases with every pane.
func FoldHours(s beam.Scope, panes beam.PCollection, horizon time.Duration, opts RowOptions) beam.PCollection {
	s = s.Scope("FoldHours")
	stamped := beam.ParDo(s, &stampAggFn{HorizonMillis: horizon.Milliseconds()}, panes)
	w := beam.WindowInto(s, window.NewFixedWindows(time.Millisecond), stamped)
	return beam.ParDo(s, &foldHourFn{State: state.MakeValueState[[]byte]("hour"), MaxNames: opts.MaxNames, TopK: opts.TopK}, w)
}

// FoldMinutes does for realtime minute panes (PCollection<KV<string,
// layout.Totals>> keyed by layout.RealtimeKey) what FoldHours does for
// hours.
func FoldMinutes(s beam.Scope, panes beam.PCollection, horizon time.Duration) beam.PCollection {
	s = s.Scope("FoldMinutes")
	stamped := beam.ParDo(s, &stampMinuteFn{HorizonMillis: horizon.Milliseconds()}, panes)
	w := beam.WindowInto(s, window.NewFixedWindows(time.Millisecond), stamped)
	return beam.ParDo(s, &foldMinuteFn{State: state.MakeValueState[[]byte]("minute")}, w)
}

type stampAggFn struct{ HorizonMillis int64 }

func (fn *stampAggFn) ProcessElement(_ beam.EventTime, key string, a Aggregate) (beam.EventTime, string, Aggregate) {
	k, err := layout.ParseKey(key)
	if err != nil {
		panic(err) // the transforms made the key
	}
	return expiryStamp(k.Time, fn.HorizonMillis), key, a
}

type stampMinuteFn struct{ HorizonMillis int64 }

func (fn *stampMinuteFn) ProcessElement(_ beam.EventTime, key string, t layout.Totals) (beam.EventTime, string, layout.Totals) {
	k, err := layout.ParseKey(key)
	if err != nil {
		panic(err)
	}
	return expiryStamp(layout.Hour(k.Time), fn.HorizonMillis), key, t
}

func expiryStamp(hour time.Time, horizonMillis int64) beam.EventTime {
	return beam.EventTime(expiryOf(hour, time.Duration(horizonMillis)*time.Millisecond).UnixMilli() - 1)
}

// foldState is what the fold keeps per merchant-hour.
type foldState struct {
	At, Gen int64
	Agg     Aggregate
}

type foldHourFn struct {
	State    state.Value[[]byte]
	MaxNames int
	TopK     int
}

func (fn *foldHourFn) ProcessElement(ctx context.Context, sp state.Provider, key string, pane Aggregate, emit func(string, layout.RowContent)) error {
	b, ok, err := fn.State.Read(sp)
	if err != nil {
		return fmt.Errorf("fold: read state of %s: %w", key, err)
	}
	var st foldState
	var prev []row
	opts := RowOptions{MaxNames: fn.MaxNames, TopK: fn.TopK}
	if ok {
		if st, err = decodeFoldState(b); err != nil {
			return fmt.Errorf("fold: decode state of %s: %w", key, err)
		}
		if prev, err = rowsOf(key, &st.Agg, opts, st.At, st.Gen); err != nil {
			return err
		}
	}
	lag.Process.Folded(pane.Latest)
	st.Agg.merge(&pane)
	st.Agg.bound(fn.MaxNames, fn.TopK)
	st.At, st.Gen = nextStamp(st.At), st.Gen+1
	rows, err := rowsOf(key, &st.Agg, opts, st.At, st.Gen)
	if err != nil {
		return err
	}
	enc, err := encodeFoldState(st)
	if err != nil {
		return err
	}
	if err := fn.State.Write(sp, enc); err != nil {
		return fmt.Errorf("fold: write state of %s: %w", key, err)
	}
	emitRows(prev, rows, emit)
	return nil
}

// emitRows emits each row of rows with the qualifiers its previous version
// (in prev) had and it has not.
func emitRows(prev, rows []row, emit func(string, layout.RowContent)) {
	before := make(map[string][]layout.Cell, len(prev))
	for _, r := range prev {
		before[r.key] = r.content.Cells
	}
	for _, r := range rows {
		if old, ok := before[r.key]; ok {
			now := make(map[string]bool, len(r.content.Cells))
			for _, c := range r.content.Cells {
				now[c.Qualifier] = true
			}
			for _, c := range old {
				if !now[c.Qualifier] {
					r.content.Drop = append(r.content.Drop, c.Qualifier)
				}
			}
		}
		emit(r.key, r.content)
	}
}

// nextStamp returns the write time of the next version of a row: now, in
// whole milliseconds (Bigtable's timestamp granularity), and always after
// the previous one.
func nextStamp(prev int64) int64 {
	now := time.Now().UnixMilli() * 1000
	return max(now, prev+1000)
}

type foldMinuteFn struct {
	State state.Value[[]byte]
}

func (fn *foldMinuteFn) ProcessElement(ctx context.Context, sp state.Provider, key string, pane layout.Totals, emit func(string, layout.RowContent)) error {
	b, ok, err := fn.State.Read(sp)
	if err != nil {
		return fmt.Errorf("fold: read state of %s: %w", key, err)
	}
	var cur layout.Totals
	if ok {
		cells, err := layout.UnmarshalCells(b)
		if err == nil {
			var t *layout.Totals
			if t, err = layout.TotalsFromCells(cells); err == nil {
				cur = *t
			}
		}
		if err != nil {
			return fmt.Errorf("fold: decode state of %s: %w", key, err)
		}
	}
	must(cur.Merge(&pane))
	cur.UpdatedAt, cur.Generation = nextStamp(cur.UpdatedAt), cur.Generation+1
	cells, err := cur.Cells()
	if err != nil {
		return err
	}
	if err := fn.State.Write(sp, layout.MarshalCells(cells)); err != nil {
		return fmt.Errorf("fold: write state of %s: %w", key, err)
	}
	emit(key, layout.RowContent{Cells: cells})
	return nil
}

func encodeFoldState(st foldState) ([]byte, error) {
	agg, err := encodeAggregate(st.Agg)
	if err != nil {
		return nil, err
	}
	b := appendVarints(nil, st.At, st.Gen)
	return append(b, agg...), nil
}

func decodeFoldState(b []byte) (foldState, error) {
	var st foldState
	r := reader{b: b}
	st.At, st.Gen = r.varint(), r.varint()
	if r.err != nil {
		return st, r.err
	}
	var err error
	st.Agg, err = decodeAggregate(r.b)
	return st, err
}
