// Package lag measures, inside one streaming process, how far the job's
// folded state trails what its Pub/Sub reader has handed on, so that the
// reader can stop pulling while the job is behind instead of queueing the
// excess in the runner's memory (docs/pipeline.md, "Back-pressure").
//
// The reader reports the newest event time of every batch it emits
// (Pulled), the fold the newest event time of every pane it folds
// (Folded); Behind is the difference. Both are maxima of event times, so
// an event dropped on the way (a duplicate, a bot, one beyond the
// horizon) or a late one cannot make the job look behind. Event times
// from the future count as the moment they were seen. It works where the
// reader and the fold share a process: on Prism (loopback workers). On
// Dataflow the native source reports nothing and Behind is always 0.
//
// Behind alone would also hold when nothing is in flight: when the newest
// event pulled never reaches the fold (beyond the streaming horizon, or a
// user-id-only event waiting to be attached). Holding therefore also
// asks that the fold be busy — that it folded a pane within FoldIdle —
// so a reader never waits on a job that has nothing left to do.
//
// Behind is a difference of maxima, and Prism does not drain a stateful
// stage's queue in event-time order across keys: a job can fold panes
// with new event times while millions of older elements still wait in
// front of Attach and Visit. The tracker therefore also counts, exactly,
// the elements keyed for those two stateful steps (Keyed) less the ones
// their ProcessElement received (Taken): InFlight is what waits inside
// the runner's shuffle, and Crowded holds the reader while it exceeds a
// bound, so the runner's queue, and its memory, stays bounded whatever
// the offered rate. Every element keyed is received once, so the count
// cannot drift; should a retried bundle count one twice, Crowded holds
// only while the stateful steps keep receiving (within FoldIdle), like
// Holding.
package lag

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Tracker holds the two maxima, in Unix microseconds.
type Tracker struct {
	pulled, folded, first atomic.Int64
	lastFold              atomic.Int64 // wall clock of the latest fold, Unix µs
	keyed, taken          atomic.Int64 // elements keyed for, and received by, the stateful steps
	lastTaken             atomic.Int64 // wall clock of the latest Taken, Unix µs
	now                   func() time.Time
}

// FoldIdle is how long after its latest pane the fold counts as idle.
// Panes come every --early-firing (10 s) per active hour while events
// flow.
const FoldIdle = 30 * time.Second

// New returns a tracker that reads the clock with now (time.Now if nil).
func New(now func() time.Time) *Tracker {
	if now == nil {
		now = time.Now
	}
	return &Tracker{now: now}
}

// Process is the tracker of this process: the reader and the fold report
// to it and /metrics serves its Behind as footfall_pipeline_lag_seconds.
var Process = New(nil)

func init() {
	prometheus.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "footfall_pipeline_lag_seconds",
		Help: "Prism: how far, in event time, the newest event folded into the provisional rows trails the newest one the Pub/Sub reader handed on.",
	}, func() float64 { return Process.Behind().Seconds() }))
	prometheus.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "footfall_pipeline_in_flight",
		Help: "Prism: elements keyed for the stateful steps (Attach, Visit) that have not reached them yet: the queue inside the runner.",
	}, func() float64 { return float64(Process.InFlight()) }))
}

// Pulled records the newest event time (Unix µs) of a batch the reader
// handed on.
func (t *Tracker) Pulled(us int64) {
	us = t.clamp(us)
	t.first.CompareAndSwap(0, us)
	storeMax(&t.pulled, us)
}

// Folded records the newest event time (Unix µs) of a pane folded into
// the provisional rows.
func (t *Tracker) Folded(us int64) {
	t.lastFold.Store(t.now().UnixMicro())
	if us <= 0 {
		return
	}
	storeMax(&t.folded, t.clamp(us))
}

// Behind is how far the newest folded event trails the newest pulled
// one; before the first fold, how far the newest pulled one is past the
// first pulled one. 0 when nothing was pulled.
func (t *Tracker) Behind() time.Duration {
	p := t.pulled.Load()
	if p == 0 {
		return 0
	}
	f := t.folded.Load()
	if f == 0 {
		f = t.first.Load()
	}
	if p <= f {
		return 0
	}
	return time.Duration(p-f) * time.Microsecond
}

// Holding says whether a reader should wait: the job is more than maxLag
// behind and its fold is busy.
func (t *Tracker) Holding(maxLag time.Duration) bool {
	if t.Behind() <= maxLag {
		return false
	}
	last := t.lastFold.Load()
	return last != 0 && t.now().UnixMicro()-last < FoldIdle.Microseconds()
}

// Keyed records n elements handed to the shuffle in front of a stateful
// step (Attach or Visit).
func (t *Tracker) Keyed(n int64) { t.keyed.Add(n) }

// Taken records n elements a stateful step's ProcessElement received.
func (t *Tracker) Taken(n int64) {
	t.taken.Add(n)
	t.lastTaken.Store(t.now().UnixMicro())
}

// InFlight is how many elements keyed for the stateful steps have not
// reached them yet (never negative).
func (t *Tracker) InFlight() int64 {
	taken := t.taken.Load() // before keyed: a concurrent pair cannot read negative
	return max(0, t.keyed.Load()-taken)
}

// Counts returns the elements keyed for, and received by, the stateful
// steps since the process started.
func (t *Tracker) Counts() (keyed, taken int64) { return t.keyed.Load(), t.taken.Load() }

// Crowded says whether a reader should wait because more than limit
// elements wait in front of the stateful steps while those steps are
// receiving (they took one within FoldIdle).
func (t *Tracker) Crowded(limit int64) bool {
	if t.InFlight() <= limit {
		return false
	}
	last := t.lastTaken.Load()
	return last != 0 && t.now().UnixMicro()-last < FoldIdle.Microseconds()
}

// clamp takes a future event time as the present.
func (t *Tracker) clamp(us int64) int64 {
	return min(us, t.now().UnixMicro())
}

func storeMax(v *atomic.Int64, us int64) {
	for {
		old := v.Load()
		if us <= old || v.CompareAndSwap(old, us) {
			return
		}
	}
}
