package transforms

import (
	"context"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

func init() {
	register.DoFn4x0[context.Context, beam.EventTime, Hit, func(Hit)](&latenessFn{})
	register.Emitter1[Hit]()
}

// latenessMargin keeps SplitLate's wall-clock checks a little ahead of the
// runner's watermark (which trails the wall clock), so that nothing it
// passes on is dropped silently by the runner further down.
const latenessMargin = time.Minute

// WithinHorizon keeps the streaming hits (PCollection<Hit>) whose hour
// ended less than horizon ago, judged by the wall clock (the streaming
// watermark trails it: by a few seconds on Prism, more on a backlogged
// Dataflow job, so this judges no later than the runner would). Older
// hits are counted (events_beyond_horizon) and left to the sealer: they
// are in the archive already, and the sealer counts, deduplicates and
// sessionizes them with the rest of their hours (docs/pipeline.md, "Who
// owns which age of event"). This is what bounds the streaming job's state
// to its rate times the horizon. Hits that arrive after their hour ended
// are counted as events_late and still update it. Batch jobs do not call
// it: every archived event counts.
func WithinHorizon(s beam.Scope, hits beam.PCollection, horizon time.Duration) beam.PCollection {
	s = s.Scope("WithinHorizon")
	return beam.ParDo(s, &latenessFn{HorizonMillis: horizon.Milliseconds()}, hits)
}

type latenessFn struct {
	HorizonMillis int64
}

func (fn *latenessFn) ProcessElement(ctx context.Context, ts beam.EventTime, h Hit, emit func(Hit)) {
	end := ts.ToTime().UTC().Truncate(time.Hour).Add(time.Hour)
	now := time.Now()
	closedFor := now.Sub(end) + latenessMargin // how long ago the hour closed, rounded up
	switch {
	case closedFor >= time.Duration(fn.HorizonMillis)*time.Millisecond:
		beyondHorizon.Inc(ctx, 1)
		return
	case now.After(end):
		lateEvents.Inc(ctx, 1)
	}
	emit(h)
}
