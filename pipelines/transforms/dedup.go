package transforms

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

func init() {
	register.DoFn4x0[context.Context, beam.EventTime, Hit, func(Hit)](&latenessFn{})
	register.Function1x2(keyByEventID)
	register.DoFn7x1[context.Context, beam.EventTime, state.Provider, timers.Provider, string, Hit, func(Hit), error](&dedupFn{})
	register.Emitter1[Hit]()
}

// latenessMargin keeps DropTooLate's wall-clock check a little ahead of the
// runner's watermark (which trails the wall clock), so that nothing it
// passes on is dropped silently by the runner further down.
const latenessMargin = time.Minute

// DropTooLate drops and counts (events_too_late) streaming hits whose hour
// ended more than allowedLateness ago, judged by the wall clock, and counts
// the ones that arrive after their hour ended (events_late, still counted
// in the metrics). The streaming watermark trails the wall clock (by a few
// seconds on Prism, more on a backlogged Dataflow job), so this judges no
// later than the runner would, which would otherwise drop such events
// silently at the hourly aggregation. Batch jobs do not call it: every
// archived event counts.
func DropTooLate(s beam.Scope, hits beam.PCollection, allowedLateness time.Duration) beam.PCollection {
	s = s.Scope("DropTooLate")
	return beam.ParDo(s, &latenessFn{AllowedMillis: allowedLateness.Milliseconds()}, hits)
}

type latenessFn struct {
	AllowedMillis int64
}

func (fn *latenessFn) ProcessElement(ctx context.Context, ts beam.EventTime, h Hit, emit func(Hit)) {
	end := ts.ToTime().UTC().Truncate(time.Hour).Add(time.Hour)
	now := time.Now()
	if now.Sub(end)+latenessMargin >= time.Duration(fn.AllowedMillis)*time.Millisecond {
		tooLateEvents.Inc(ctx, 1)
		return
	}
	if now.After(end) {
		lateEvents.Inc(ctx, 1)
	}
	emit(h)
}

// Dedup drops hits whose (merchant, event id) was already seen
// (PCollection<Hit> → PCollection<Hit>, in the global window), for as long
// as the hit's UTC hour of event time plus `lateness`: a stateful DoFn keyed
// by (merchant, event id) keeps one flag per id and an event-time timer at
// the end of the hit's hour + lateness that clears it. A copy arriving after
// that is not recognised and counts again. In batch the timers fire at the
// end, so every copy is recognised.
//
// The state lives in the global window with an explicit timer rather than
// in hourly windows with allowed lateness because Prism (v2.77) expires a
// stateful DoFn's window state at the window's end, ignoring allowed
// lateness; the timer expires it at the same time on every runner. Copies
// of one event share its event time (ingest sets it once), so the hour is
// the same for all copies.
func Dedup(s beam.Scope, hits beam.PCollection, lateness time.Duration) beam.PCollection {
	s = s.Scope("Dedup")
	g := beam.WindowInto(s, window.NewGlobalWindows(), hits)
	keyed := beam.ParDo(s, keyByEventID, g)
	return beam.ParDo(s, &dedupFn{
		Seen:           state.MakeValueState[bool]("seen"),
		Expire:         timers.InEventTime("expire"),
		LatenessMillis: lateness.Milliseconds(),
	}, keyed)
}

func keyByEventID(h Hit) (string, Hit) { return h.Merchant + "\x00" + h.ID, h }

type dedupFn struct {
	Seen           state.Value[bool]
	Expire         timers.EventTime
	LatenessMillis int64
}

func (fn *dedupFn) ProcessElement(ctx context.Context, ts beam.EventTime, sp state.Provider, tp timers.Provider, _ string, h Hit, emit func(Hit)) error {
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
	end := ts.ToTime().UTC().Truncate(time.Hour).Add(time.Hour)
	// No output timestamp: the timer emits nothing, so it must not hold
	// the watermark back for the hours that the ids are kept.
	fn.Expire.Set(tp, end.Add(time.Duration(fn.LatenessMillis)*time.Millisecond), timers.WithNoOutputTimestamp())
	emit(h)
	return nil
}

func (fn *dedupFn) OnTimer(ctx context.Context, sp state.Provider, tp timers.Provider, _ string, _ timers.Context, _ func(Hit)) error {
	if err := fn.Seen.Clear(sp); err != nil {
		return fmt.Errorf("dedup: clear state: %w", err)
	}
	return nil
}

// DedupAll is Dedup for bounded input (batch): it groups all copies of
// each (merchant, event id) in its UTC hour and keeps one. The output is in
// hourly windows (every copy shares the event's hour). It gives the same
// result as Dedup in batch without a state round trip per event (the Go
// SDK reads and writes user state through the runner's state API one
// request at a time, which dominated Prism batch runs: see
// docs/benchmarks.md).
func DedupAll(s beam.Scope, hits beam.PCollection) beam.PCollection {
	s = s.Scope("DedupAll")
	keyed := beam.ParDo(s, keyByEventID, beam.WindowInto(s, window.NewFixedWindows(time.Hour), hits))
	return beam.ParDo(s, firstHit, beam.GroupByKey(s, keyed))
}

func firstHit(ctx context.Context, _ string, copies func(*Hit) bool, emit func(Hit)) {
	var h, dup Hit
	if !copies(&h) {
		return
	}
	n := int64(0)
	for copies(&dup) {
		n++
	}
	if n > 0 {
		duplicateEvents.Inc(ctx, n)
	}
	emit(h)
}

func init() {
	register.Function4x0(firstHit)
	register.Iter1[Hit]()
}
