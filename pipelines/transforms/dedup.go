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
	register.DoFn2x2[beam.EventTime, Hit, beam.EventTime, Hit](&stampFn{})
	register.DoFn5x1[context.Context, state.Provider, string, Hit, func(Hit), error](&dedupFn{})
	register.Emitter1[Hit]()
}

// latenessMargin keeps SplitLate's wall-clock checks a little ahead of the
// runner's watermark (which trails the wall clock), so that nothing it
// passes on is dropped silently by the runner further down.
const latenessMargin = time.Minute

// SplitLate sorts streaming hits by how late they arrive, judged by the
// wall clock (the streaming watermark trails it: by a few seconds on
// Prism, more on a backlogged Dataflow job, so this judges no later than
// the runner would). Hits whose hour ended more than allowedLateness ago
// are dropped and counted (events_too_late): the runner would otherwise
// drop them silently at the hourly aggregation. Hits that arrive after
// their hour ended are counted as events_late and still restate it. The
// rest are returned as fresh (their hour ended less than dedupLateness ago:
// Dedup still has their ids) or stale (older: their dedup state has
// expired, so they bypass Dedup, counted as events_dedup_skipped). Batch
// jobs do not call it: every archived event counts.
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
	closedFor := now.Sub(end) + latenessMargin // how long ago the hour closed, rounded up
	switch {
	case closedFor >= time.Duration(fn.AllowedMillis)*time.Millisecond:
		tooLateEvents.Inc(ctx, 1)
		return
	case now.After(end):
		lateEvents.Inc(ctx, 1)
	}
	if closedFor >= time.Duration(fn.DedupMillis)*time.Millisecond {
		undedupedEvents.Inc(ctx, 1)
		stale(h)
		return
	}
	fresh(h)
}

// Dedup drops hits whose (merchant, event id) was already seen
// (PCollection<Hit> → PCollection<Hit>, each timestamped with its event
// time again, in the global window) for as long as the hit's UTC hour of
// event time plus `lateness`: a stateful DoFn keyed by (merchant, event id)
// keeps one flag per id. A copy arriving later is not recognised and
// counts again (streaming routes such hits around Dedup with SplitLate).
// In batch every copy is recognised.
//
// How the state expires: each hit is re-timestamped to the last
// millisecond before (end of its hour + lateness) and put in a
// one-millisecond fixed window, so the runner garbage-collects an id's
// state exactly when that instant passes; after Dedup the hits get their
// event time back. This uses the runner's own window expiry and no timer
// per id: Prism v2.77 ignores allowed lateness when it expires a stateful
// DoFn's window state (so hourly windows with allowed lateness would drop
// the ids at the hour's end), and a pending timer per id made Prism slow
// down as ids accumulated (it scans every key with a pending timer when it
// builds a bundle). Copies of one event share its event time (ingest sets
// it once), hence the same instant and window.
func Dedup(s beam.Scope, hits beam.PCollection, lateness time.Duration) beam.PCollection {
	s = s.Scope("Dedup")
	expiring := beam.ParDo(s, &stampFn{LatenessMillis: lateness.Milliseconds()}, hits)
	w := beam.WindowInto(s, window.NewFixedWindows(time.Millisecond), expiring)
	keyed := beam.ParDo(s, keyByEventID, w)
	kept := beam.ParDo(s, &dedupFn{Seen: state.MakeValueState[bool]("seen")}, keyed)
	return beam.WindowInto(s, window.NewGlobalWindows(), beam.ParDo(s, &stampFn{Restore: true}, kept))
}

// stampFn moves a hit's timestamp to the last millisecond of its dedup
// lifetime, or (Restore) back to its event time.
type stampFn struct {
	LatenessMillis int64
	Restore        bool
}

func (fn *stampFn) ProcessElement(_ beam.EventTime, h Hit) (beam.EventTime, Hit) {
	t := time.UnixMicro(h.Time)
	if fn.Restore {
		return beam.EventTime(t.UnixMilli()), h
	}
	expiry := t.UTC().Truncate(time.Hour).Add(time.Hour + time.Duration(fn.LatenessMillis)*time.Millisecond)
	return beam.EventTime(expiry.UnixMilli() - 1), h
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
