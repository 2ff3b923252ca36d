package transforms

import (
	"errors"
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/filter"

	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/pipelines/internal/limits"
)

// Options configure Metrics. The zero value is the batch job's: one value
// per merchant-hour, every archived event counted, no realtime rows.
type Options struct {
	// EarlyFiring > 0 makes the job a streaming one: hourly windows fire
	// discarding panes that often (processing time) and again after late
	// data, and each merchant-hour's panes are folded into its rows.
	EarlyFiring time.Duration
	// Horizon (streaming; 0: DefaultHorizon) is how long after an hour ends the streaming job
	// still updates it; events for older hours are left to the sealer,
	// which reads them from the archive. It bounds the streaming job's
	// state (docs/pipeline.md).
	Horizon time.Duration
	// Realtime adds per-minute rows (Outputs.Realtime). Streaming only.
	Realtime bool
	// MaxNames bounds distinct event names per merchant-hour
	// (default limits.DefaultMaxNames).
	MaxNames int
	// TopK bounds each breakdown (default limits.DefaultTopK).
	TopK int
	// Cover (batch) lists totals row keys (layout.TotalsKey) of
	// merchant-hours whose rows must be written even when they have no
	// events (zero totals, empty breakdowns), so that a merchant-scoped
	// seal replaces stale values of an hour that no longer has events.
	Cover []string
	// From and To, when set, keep only outputs for hours in [From, To):
	// rows of those hours, made of the events and the sessions that start
	// in them. A batch job reads InputRange(From, To) and sets these.
	From, To time.Time
	// InjectBug is TEST ONLY: a named deliberate bug (BugCountBots) for
	// tests of bug-fix-and-backfill. Empty in production.
	InjectBug string
}

// DefaultHorizon is the streaming horizon: long enough for the hour just
// closed and late, retried and redelivered events of the hours before it;
// the sealer takes over an hour once it has settled (SettledAfter) and
// owns everything older.
const DefaultHorizon = 3 * time.Hour

// Validate reports the first problem with o.
func (o Options) Validate() error {
	switch {
	case o.EarlyFiring < 0 || o.Horizon < 0:
		return errors.New("transforms: durations must not be negative")
	case o.EarlyFiring > 0 && o.Horizon != 0 && o.Horizon < time.Hour:
		return fmt.Errorf("transforms: the streaming horizon %s is shorter than an hour: an hour's late events would never be counted before it is sealed", o.Horizon)
	case o.EarlyFiring == 0 && o.Realtime:
		return errors.New("transforms: realtime rows need a streaming job (EarlyFiring > 0)")
	case o.From.IsZero() != o.To.IsZero() || (!o.From.IsZero() && !o.From.Before(o.To)):
		return fmt.Errorf("transforms: output range [%s, %s) must be both set and non-empty, or neither", o.From, o.To)
	case !o.From.IsZero() && (o.From != layout.Hour(o.From) || o.To != layout.Hour(o.To)):
		return errors.New("transforms: the output range must start and end on UTC hours")
	case len(o.Cover) > 0 && o.EarlyFiring > 0:
		return errors.New("transforms: Cover is for batch jobs")
	case o.InjectBug != "" && o.InjectBug != BugCountBots:
		return fmt.Errorf("transforms: unknown injected bug %q (known: %q)", o.InjectBug, BugCountBots)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.EarlyFiring > 0 && o.Horizon == 0 {
		o.Horizon = DefaultHorizon
	}
	if o.MaxNames <= 0 {
		o.MaxNames = limits.DefaultMaxNames
	}
	if o.TopK <= 0 {
		o.TopK = limits.DefaultTopK
	}
	return o
}

// Outputs are what Metrics produces.
type Outputs struct {
	// Rows: PCollection<KV<string, layout.RowContent>> keyed by row key:
	// every totals, quarter totals, breakdown and quarter breakdown row of
	// each merchant-hour. In batch exactly one per row, in the global
	// window (a merchant-hour with events has all its rows, empty
	// breakdowns too); in streaming the whole row again after every pane
	// (write them with plain mutations: see FoldHours).
	Rows beam.PCollection
	// Realtime: PCollection<KV<string, layout.RowContent>> keyed by
	// layout.RealtimeKey (events, page views, visitors per minute); only
	// with Options.Realtime, else the zero PCollection.
	Realtime beam.PCollection
	// Aggregates (batch): PCollection<KV<string, Aggregate>> keyed by
	// layout.TotalsKey, one per merchant-hour: what Rows is made of. A
	// caller that splits an hour's events by visitor over several jobs
	// merges these (Aggregate.Merge) and writes RowsOf the result.
	Aggregates beam.PCollection
}

// Metrics is the whole shared computation from Pub/Sub message bodies
// (PCollection<[]byte>): Decode, then MetricsFromEvents.
func Metrics(s beam.Scope, msgs beam.PCollection, opts Options) Outputs {
	s = s.Scope("Metrics")
	return MetricsFromEvents(s, Decode(s, msgs), opts)
}

// MetricsFromEvents computes every metric from events
// (PCollection<event.Event>; Enrich timestamps them with their event
// time), as docs/metrics.md defines them: enrich → [streaming: within the
// horizon] → attach user-id-only events → per visitor: deduplicate, build
// sessions and give each event its session's dimensions → count events
// and sessions per merchant and quarter hour → rows; [streaming: realtime
// minutes]. Streaming and batch run the same rules; streaming with state
// and timers (Attach, Visit, FoldHours), batch by grouping
// (VisitAndAggregateAll), which gives the same result without the state API's
// per-event round trips. It panics on invalid options (a programming
// error: validate flags with Options.Validate first).
func MetricsFromEvents(s beam.Scope, events beam.PCollection, opts Options) Outputs {
	s = s.Scope("MetricsFromEvents")
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	opts = opts.withDefaults()
	streaming := opts.EarlyFiring > 0
	rowOpts := RowOptions{MaxNames: opts.MaxNames, TopK: opts.TopK, AllDims: !streaming}

	hits := Enrich(s, events, opts.InjectBug)
	if !streaming {
		parts := []beam.PCollection{VisitAndAggregateAll(s, hits, opts.From, opts.To, 0)}
		if len(opts.Cover) > 0 {
			parts = append(parts, beam.ParDo(s, emptyAgg, beam.CreateList(s, opts.Cover)))
		}
		merged := beam.CombinePerKey(s, &mergeAggFn{}, beam.Flatten(s, parts...))
		return Outputs{Rows: Rows(s, merged, rowOpts), Aggregates: merged}
	}
	hits = WithinHorizon(s, hits, opts.Horizon)
	annotated, sessions := Visit(s, Attach(s, hits))
	if !opts.From.IsZero() {
		from, to := opts.From.UnixMicro(), opts.To.UnixMicro()
		annotated = beam.ParDo(s, &hitInFn{From: from, To: to}, annotated)
		sessions = beam.ParDo(s, &sessionInFn{From: from, To: to}, sessions)
	}
	wopts := WindowOptions{EarlyFiring: opts.EarlyFiring, AllowedLateness: opts.Horizon}
	hourly := Hourly(s, annotated, wopts)
	fromHits, fromSessions := HourlyMetrics(s, hourly, Hourly(s, sessions, wopts), 0)
	out := Outputs{Rows: FoldHours(s, beam.Flatten(s, fromHits, fromSessions), opts.Horizon, rowOpts)}
	if opts.Realtime {
		out.Realtime = FoldMinutes(s, MinuteTotals(s, filter.Exclude(s, hourly, isBot)), opts.Horizon)
	}
	return out
}

// emptyAgg is an aggregate with nothing in it for a totals row key: its
// rows are zero totals and empty breakdowns.
func emptyAgg(key string) (string, Aggregate) { return key, Aggregate{} }

func isBot(h Hit) bool { return h.Bot() }

// hitInFn keeps hits whose event time is in [From, To) (Unix µs).
type hitInFn struct{ From, To int64 }

func (fn *hitInFn) ProcessElement(t beam.EventTime, h Hit, emit func(beam.EventTime, Hit)) {
	if h.Time >= fn.From && h.Time < fn.To {
		emit(t, h)
	}
}

// sessionInFn keeps sessions that start in [From, To) (Unix µs).
type sessionInFn struct{ From, To int64 }

func (fn *sessionInFn) ProcessElement(t beam.EventTime, se Session, emit func(beam.EventTime, Session)) {
	if se.Start >= fn.From && se.Start < fn.To {
		emit(t, se)
	}
}

func init() {
	register.Function1x1(isBot)
	register.DoFn3x0[beam.EventTime, Hit, func(beam.EventTime, Hit)](&hitInFn{})
	register.DoFn3x0[beam.EventTime, Session, func(beam.EventTime, Session)](&sessionInFn{})
	register.Function1x2(emptyAgg)
}
