package transforms

import (
	"errors"
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/filter"

	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/pipelines/internal/limits"
)

// Options configure Metrics. The zero value is the batch job's: one pane
// per hour, every event counted, no realtime rows.
type Options struct {
	// EarlyFiring > 0 makes the job a streaming one: hourly windows fire
	// discarding panes that often (processing time) and again after late
	// data; a sink merges the panes.
	EarlyFiring time.Duration
	// AllowedLateness: how long after an hour ends its events still update
	// it (streaming).
	AllowedLateness time.Duration
	// DedupLateness: how long after an hour ends a duplicate is still
	// recognised (streaming); 0 means AllowedLateness. Keep it below
	// AllowedLateness when the dedup state of AllowedLateness hours does
	// not fit in memory.
	DedupLateness time.Duration
	// WallClockLateness drops and counts events by how late they arrive,
	// judged by the wall clock (SplitLate). Streaming only.
	WallClockLateness bool
	// Realtime adds per-minute rows (Outputs.Realtime). Streaming only.
	Realtime bool
	// MaxNames bounds distinct event names per merchant-hour
	// (default limits.DefaultMaxNames).
	MaxNames int
	// TopK bounds each breakdown (default limits.DefaultTopK).
	TopK int
	// From and To, when set, keep only outputs for hours in [From, To):
	// totals and breakdowns of those hours and sessions that start in
	// them. A batch job reads SessionInputRange(From, To) and sets these.
	From, To time.Time
	// InjectBug is TEST ONLY: a named deliberate bug (BugCountBots) for
	// tests of bug-fix-and-backfill. Empty in production.
	InjectBug string
}

// Validate reports the first problem with o.
func (o Options) Validate() error {
	switch {
	case o.EarlyFiring < 0 || o.AllowedLateness < 0 || o.DedupLateness < 0:
		return errors.New("transforms: durations must not be negative")
	case o.DedupLateness > o.AllowedLateness:
		return fmt.Errorf("transforms: dedup lateness %s exceeds allowed lateness %s", o.DedupLateness, o.AllowedLateness)
	case o.EarlyFiring == 0 && (o.WallClockLateness || o.Realtime):
		return errors.New("transforms: wall-clock lateness and realtime rows need a streaming job (EarlyFiring > 0)")
	case o.From.IsZero() != o.To.IsZero() || (!o.From.IsZero() && !o.From.Before(o.To)):
		return fmt.Errorf("transforms: output range [%s, %s) must be both set and non-empty, or neither", o.From, o.To)
	case !o.From.IsZero() && (o.From != layout.Hour(o.From) || o.To != layout.Hour(o.To)):
		return errors.New("transforms: the output range must start and end on UTC hours")
	case o.InjectBug != "" && o.InjectBug != BugCountBots:
		return fmt.Errorf("transforms: unknown injected bug %q (known: %q)", o.InjectBug, BugCountBots)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.DedupLateness == 0 {
		o.DedupLateness = o.AllowedLateness
	}
	if o.MaxNames <= 0 {
		o.MaxNames = limits.DefaultMaxNames
	}
	if o.TopK <= 0 {
		o.TopK = limits.DefaultTopK
	}
	return o
}

// Outputs are what Metrics produces, each keyed by its Bigtable row key.
type Outputs struct {
	// Totals: PCollection<KV<string, layout.Totals>> keyed by
	// layout.TotalsKey. In batch exactly one per merchant-hour (events and
	// sessions merged), in the global window; in streaming several per
	// pane (the event totals and the session totals) for the sink to merge.
	Totals beam.PCollection
	// Breakdowns: PCollection<KV<string, layout.Breakdown>> keyed by
	// layout.BreakdownKey, at most TopK values plus Other each. In batch
	// every merchant-hour with totals has all nine (empty ones too), in the
	// global window; in streaming empty panes are left out.
	Breakdowns beam.PCollection
	// Realtime: PCollection<KV<string, layout.Totals>> keyed by
	// layout.RealtimeKey (events, page views, visitors per minute); only
	// with Options.Realtime, else the zero PCollection.
	Realtime beam.PCollection
}

// Metrics is the whole shared computation from Pub/Sub message bodies
// (PCollection<[]byte>): Decode, then MetricsFromEvents.
func Metrics(s beam.Scope, msgs beam.PCollection, opts Options) Outputs {
	s = s.Scope("Metrics")
	return MetricsFromEvents(s, Decode(s, msgs), opts)
}

// MetricsFromEvents computes every metric from events
// (PCollection<event.Event>; Enrich timestamps them with their event time):
// enrich → [streaming: SplitLate] → dedup → hourly windows → totals and
// breakdowns; non-bot hits → sessions → session totals; [streaming:
// per-minute realtime rows]. It panics on invalid options (a programming
// error: validate flags with Options.Validate first).
func MetricsFromEvents(s beam.Scope, events beam.PCollection, opts Options) Outputs {
	s = s.Scope("MetricsFromEvents")
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	opts = opts.withDefaults()
	streaming := opts.EarlyFiring > 0
	wopts := WindowOptions{EarlyFiring: opts.EarlyFiring, AllowedLateness: opts.AllowedLateness}

	hits := Enrich(s, events, opts.InjectBug)
	// Streaming deduplicates and tracks sessions incrementally with state
	// (and timers); batch does the same by grouping, which gives the same
	// result without the state API's per-event round trips.
	switch {
	case opts.WallClockLateness:
		fresh, stale := SplitLate(s, hits, opts.AllowedLateness, opts.DedupLateness)
		hits = beam.Flatten(s, Dedup(s, fresh, opts.DedupLateness), beam.WindowInto(s, window.NewGlobalWindows(), stale))
	case streaming:
		hits = Dedup(s, hits, opts.DedupLateness)
	default:
		hits = DedupAll(s, hits)
	}
	hourly := Hourly(s, hits, wopts)
	totals, breakdowns := HourlyMetrics(s, hourly, opts.MaxNames, opts.TopK, !streaming)

	humans := filter.Exclude(s, hits, isBot)
	var sessions beam.PCollection
	if streaming {
		sessions = Sessions(s, humans)
	} else {
		sessions = SessionsAll(s, humans)
	}
	if !opts.From.IsZero() {
		sessions = beam.ParDo(s, &startsInFn{From: opts.From.UnixMicro(), To: opts.To.UnixMicro()}, sessions)
	}
	if streaming {
		totals = beam.Flatten(s, totals, SessionTotals(s, Hourly(s, sessions, wopts)))
	} else {
		// One row, one write: merge event and session totals, in the
		// global window (the session totals' keys carry their start hour).
		global := func(c beam.PCollection) beam.PCollection { return beam.WindowInto(s, window.NewGlobalWindows(), c) }
		totals = beam.CombinePerKey(s, &mergeTotalsFn{}, beam.Flatten(s, global(totals), SessionTotals(s, sessions)))
		breakdowns = global(breakdowns)
	}
	out := Outputs{Totals: totals, Breakdowns: breakdowns}
	if !opts.From.IsZero() {
		keep := &hourInFn{From: opts.From.UnixMicro(), To: opts.To.UnixMicro()}
		out.Totals = beam.ParDo(s, keep, out.Totals)
		out.Breakdowns = beam.ParDo(s, keep, out.Breakdowns)
	}
	if opts.Realtime {
		out.Realtime = MinuteTotals(s, filter.Exclude(s, hourly, isBot))
	}
	return out
}

func isBot(h Hit) bool { return h.Bot }

// startsInFn keeps sessions that start in [From, To) (Unix µs).
type startsInFn struct{ From, To int64 }

func (fn *startsInFn) ProcessElement(se Session, emit func(Session)) {
	if se.Start >= fn.From && se.Start < fn.To {
		emit(se)
	}
}

// hourInFn keeps rows whose hour is in [From, To) (Unix µs).
type hourInFn struct{ From, To int64 }

func (fn *hourInFn) ProcessElement(key string, v beam.V, emit func(string, beam.V)) {
	k, err := layout.ParseKey(key)
	if err != nil {
		panic(err) // the transforms made the key
	}
	if t := k.Time.UnixMicro(); t >= fn.From && t < fn.To {
		emit(key, v)
	}
}

// mergeTotalsFn merges Totals of one row.
type mergeTotalsFn struct{}

func (mergeTotalsFn) MergeAccumulators(a, b layout.Totals) layout.Totals {
	must(a.Merge(&b))
	return a
}

func init() {
	register.Function1x1(isBot)
	register.DoFn2x0[Session, func(Session)](&startsInFn{})
	register.Emitter1[Session]()
	register.DoFn3x0[string, beam.V, func(string, beam.V)](&hourInFn{})
	register.Emitter2[string, beam.V]()
	register.Combiner1[layout.Totals](&mergeTotalsFn{})
}
