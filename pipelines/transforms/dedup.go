package transforms

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

func init() {
	register.DoFn5x0[context.Context, beam.EventTime, Hit, func(Hit), func(Hit)](&latenessFn{})
	register.Function1x2(keyByEventID)
	register.DoFn5x1[context.Context, state.Provider, string, Hit, func(Hit), error](&dedupFn{})
	register.Emitter1[Hit]()
}

// latenessMargin keeps the wall-clock checks of SplitLate a little ahead of
// the runner's watermark (which trails the wall clock), so that nothing
// SplitLate passes on is dropped silently by the runner further down.
const latenessMargin = time.Minute

// SplitLate sorts streaming hits by how late they arrive, judged by the
// wall clock (the streaming watermark trails it by a few seconds on
// Prism, more on a backlogged Dataflow job, so this judges earlier than
// the runner would): hits whose hour ended more than allowedLateness ago
// are dropped and counted as events_too_late; the rest are returned in
// fresh (hour ended less than dedupLateness ago: deduplicated) and stale
// (older: their dedup state has expired, so they bypass Dedup, counted as
// events_dedup_skipped). Hits that arrive after their hour ended count as
// events_late. Batch jobs do not call it: every archived event counts.
func SplitLate(s beam.Scope, hits beam.PCollection, allowedLateness, dedupLateness time.Duration) (fresh, stale beam.PCollection) {
	s = s.Scope("SplitLate")
	return beam.ParDo2(s, &latenessFn{AllowedMillis: allowedLateness.Milliseconds(), DedupMillis: dedupLateness.Milliseconds()}, hits)
}

type latenessFn struct {
	AllowedMillis int64
	DedupMillis   int64
}

func (fn *latenessFn) ProcessElement(ctx context.Context, ts beam.EventTime, h Hit, fresh, stale func(Hit)) {
	end := ts.ToTime().UTC().Truncate(time.Hour).Add(time.Hour)
	now := time.Now()
	age := now.Sub(end) + latenessMargin // how long ago the hour closed, rounded up
	switch {
	case age >= time.Duration(fn.AllowedMillis)*time.Millisecond:
		tooLateEvents.Inc(ctx, 1)
		return
	case now.After(end):
		lateEvents.Inc(ctx, 1)
	}
	if age >= time.Duration(fn.DedupMillis)*time.Millisecond {
		undedupedEvents.Inc(ctx, 1)
		stale(h)
		return
	}
	fresh(h)
}

// Dedup drops hits whose (merchant, event id) was already seen in the same
// UTC hour of event time (PCollection<Hit> → PCollection<Hit>, one per
// id). It keeps one small state cell per id in hourly windows whose
// allowed lateness is `lateness`, so the state expires with the hour plus
// that lateness: a copy arriving later is not recognised (streaming routes
// such hits around Dedup with SplitLate). The output is in those hourly
// windows; re-window it before aggregating. In batch every copy is seen
// and all but one dropped.
//
// Copies of one event always share its event time (ingest sets it once),
// so they always fall into the same hour.
func Dedup(s beam.Scope, hits beam.PCollection, lateness time.Duration) beam.PCollection {
	s = s.Scope("Dedup")
	w := beam.WindowInto(s, window.NewFixedWindows(time.Hour), hits, beam.AllowedLateness(lateness))
	keyed := beam.ParDo(s, keyByEventID, w)
	return beam.ParDo(s, &dedupFn{Seen: state.MakeValueState[bool]("seen")}, keyed)
}

func keyByEventID(h Hit) (string, Hit) { return h.Merchant + "\x00" + h.ID, h }

type dedupFn struct {
	Seen state.Value[bool]
}

func (fn *dedupFn) ProcessElement(ctx context.Context, sp state.Provider, _ string, h Hit, emit func(Hit)) error {
	seen, _, err := fn.Seen.Read(sp)
	if err != nil {
		return fmt.Errorf("dedup: read state: %w", err)
	}
	if seen {
		duplicateEvents.Inc(ctx, 1)
		return nil
	}
	if err := fn.Seen.Write(sp, true); err != nil {
		return fmt.Errorf("dedup: write state: %w", err)
	}
	emit(h)
	return nil
}
