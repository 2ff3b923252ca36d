// Package transforms holds the composite Beam transforms that the streaming
// job and the batch (seal and backfill) job share: decode → enrich → dedup
// → window → aggregate into the Bigtable layout (totals, breakdowns,
// sessions, realtime minutes). Metrics is the one entry point both jobs
// call. Sources and sinks live in pipelines/io; nothing here talks to the
// outside world, so tests drive these transforms with beam.Create and
// teststream. docs/pipeline.md describes the whole graph.
package transforms

import (
	"context"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window/trigger"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/pipelines/internal/beamcoder"
	"github.com/footfall/footfall/pipelines/internal/counters"
)

var _ = beamcoder.EncodeTotals // the coders of event.Event, layout.Totals and layout.Breakdown

func init() {
	register.DoFn3x0[context.Context, []byte, func(beam.EventTime, event.Event)](&decodeFn{})
	register.Emitter2[beam.EventTime, event.Event]()
}

// Counters (Beam namespace "footfall", mirrored to Prometheus).
var (
	decodedEvents         = counters.New("events_decoded", "Pub/Sub messages decoded into events.")
	invalidEvents         = counters.New("events_invalid", "Messages that did not decode or validate (dropped).")
	duplicateEvents       = counters.New("events_duplicate", "Events dropped as duplicates of an earlier (merchant, event id).")
	botEvents             = counters.New("events_bot", "Events from bots and crawlers (counted only as bot_events).")
	lateEvents            = counters.New("events_late", "Events that arrived after their hour had closed (still counted).")
	beyondHorizon         = counters.New("events_beyond_horizon", "Events whose hour ended longer ago than the streaming horizon: left to the sealer, which counts them from the archive.")
	sessionsClosed        = counters.New("sessions_closed", "Sessions closed and emitted by the session tracker.")
	duplicateTransactions = counters.New("purchases_repeated", "Purchases whose transaction id the visitor had bought within the dedup window: counted as events, without revenue.")
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
	// counted (the streaming horizon); later ones reach the sealed values
	// from the archive instead.
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
