package transforms

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/cespare/xxhash/v2"

	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/pipelines/enrich"
	"github.com/footfall/footfall/pipelines/internal/lag"
)

func init() {
	register.Function1x2(keyByVisitor)
	register.DoFn2x0[Hit, func(string, hitBatch)](&routeAllFn{})
	register.DoFn5x0[context.Context, string, func(*hitBatch) bool, func(string, Aggregate), func(string, hitBatch)](&firstPassFn{})
	register.DoFn4x0[context.Context, string, func(*hitBatch) bool, func(string, Aggregate)](&visitAggFn{})
	register.Emitter2[string, hitBatch]()
	register.Iter1[hitBatch]()
	register.DoFn7x1[context.Context, state.Provider, timers.Provider, string, Hit, func(beam.EventTime, Hit), func(beam.EventTime, Session), error](&visitFn{})
	register.Emitter2[beam.EventTime, Session]()
	register.Iter1[Hit]()
}

// visitKey is the key of the per-visitor step: the visitor key, or for an
// unattached event "\x01" and its user id (its copies are still
// deduplicated together, but it has no visitor and no session).
func visitKey(h *Hit) string {
	if h.Visitor != "" {
		return h.Merchant + "\x00" + h.Visitor
	}
	return h.Merchant + "\x00\x01" + h.UserID
}

func keyByVisitor(h Hit) (string, Hit) { return visitKey(&h), h }

// VisitAndAggregateAll is attachment, the per-visitor step and the
// hourly aggregation for bounded input (batch). It groups each visitor
// key's hits (PCollection<Hit>, from Enrich) and each user id's sightings
// and user-id-only hits; attaches the latter (attachSorted); applies
// docs/metrics.md's rules to each visitor key's hits in event-time order
// (visitor.run: duplicates dropped, repeated transactions zeroed, sessions
// built with each session's dimensions applied to all its hits); and adds
// the hits (at their event time) and sessions (at their start) that fall
// in [from, to) (from = to = 0: all) to per-merchant-hour aggregates kept
// for the bundle. It returns the bundles' partial aggregates
// (PCollection<KV<string, Aggregate>> keyed by layout.TotalsKey); merge
// them per key.
//
// The shuffles: one grouping holds both visitors' and users' groups
// (routeAllFn), each key's hits of a bundle sent as one element. A
// visitor that no user-id-only event can be attached to (none of its
// events but a bot's carries a user id) is complete in it and aggregated
// at once. An identified visitor's events and the user-id-only events
// attached to it meet in a second grouping,
// by visitor. Shipping every annotated event again to group it by hour
// cost a second full shuffle; and a Flatten of the attached events into
// every event's grouping, as the streaming graph has, costs every event
// two more passes through Prism, which runs a Flatten as a stage of its
// own (22 % more CPU, docs/benchmarks.md). A side input would avoid both,
// but Prism v2.77 sometimes runs its consumer before the side input is
// written (apache/beam#36563; seen here as attached events missing).
func VisitAndAggregateAll(s beam.Scope, hits beam.PCollection, from, to time.Time, maxValues int) beam.PCollection {
	s = s.Scope("VisitAndAggregateAll")
	keyed := beam.ParDo(s, &routeAllFn{}, beam.WindowInto(s, window.NewGlobalWindows(), hits))
	var f, t int64
	if !from.IsZero() {
		f, t = from.UnixMicro(), to.UnixMicro()
	}
	first, identified := beam.ParDo2(s, &firstPassFn{From: f, To: t, MaxValues: maxValues}, beam.GroupByKey(s, keyed))
	second := beam.ParDo(s, &visitAggFn{From: f, To: t, MaxValues: maxValues}, beam.GroupByKey(s, identified))
	return beam.Flatten(s, first, second)
}

// userGroup starts the key of a user's group in VisitAndAggregateAll's
// first grouping; a visitor key starts with its merchant id, which
// cannot hold it.
const userGroup = "\x02"

// routeAllMaxHits is how many hits routeAllFn holds at most before it
// sends what it holds.
const routeAllMaxHits = 200_000

// routeAllFn keys hits for VisitAndAggregateAll's first grouping: a hit
// with an anonymous id by its visitor key, and a sighting of it by user;
// a user-id-only hit, and a bot's without an anonymous id, by user (their
// visitor key is their user id, so all of a key's hits are in that
// group). It sends each key's hits of a bundle as one element (at most
// routeAllMaxHits held): Prism's cost is per element, and a visitor's
// events arrive spread over the hour, so a bundle's batches are several
// times fewer than its hits.
type routeAllFn struct {
	keys []string
	by   map[string][]Hit
	n    int
}

func (fn *routeAllFn) ProcessElement(h Hit, emit func(string, hitBatch)) {
	if fn.by == nil {
		fn.by = map[string][]Hit{}
	}
	direct, sighting := attachRole(&h)
	if !direct || h.Anon == "" {
		fn.add(userGroup+h.Merchant+"\x00"+h.UserID, h)
	} else {
		fn.add(visitKey(&h), h)
		if sighting {
			fn.add(userGroup+h.Merchant+"\x00"+h.UserID, sightingOf(h))
		}
	}
	if fn.n >= routeAllMaxHits {
		fn.FinishBundle(emit)
	}
}

func (fn *routeAllFn) add(key string, h Hit) {
	hs, ok := fn.by[key]
	if !ok {
		fn.keys = append(fn.keys, key)
	}
	fn.by[key] = append(hs, h)
	fn.n++
}

func (fn *routeAllFn) FinishBundle(emit func(string, hitBatch)) {
	for _, k := range fn.keys {
		emit(k, hitBatch{fn.by[k]}) // encoded as it is emitted
	}
	clear(fn.by)
	fn.keys, fn.n = fn.keys[:0], 0
}

// firstPassFn handles a group of the first grouping. A user's group: its
// user-id-only hits are attached to the visitors of its sightings, and
// sent with those visitors' key to the second grouping; the unattached
// ones, and a bot's hits without an anonymous id, are that user's visitor
// key's hits, which it visits. A visitor's group: visited at once, unless
// one of its hits is a sighting (something may be attached to it), then
// sent on whole to the second grouping.
type firstPassFn struct {
	From, To  int64 // Unix µs; 0, 0: everything
	MaxValues int

	aggs    *visitAggs
	hitsBuf []Hit
}

func (fn *firstPassFn) StartBundle(_ context.Context, _ func(string, Aggregate), _ func(string, hitBatch)) {
	fn.aggs = newVisitAggs(fn.From, fn.To, fn.MaxValues)
}

func (fn *firstPassFn) ProcessElement(ctx context.Context, key string, iter func(*hitBatch) bool, _ func(string, Aggregate), identified func(string, hitBatch)) {
	hits := fn.hitsBuf[:0]
	var b hitBatch
	for iter(&b) {
		hits = append(hits, b.Hits...)
	}
	defer func() { fn.hitsBuf = hits[:0] }()
	if strings.HasPrefix(key, userGroup) {
		var attachable, own []Hit
		for _, h := range hits {
			if h.Bot() && h.Anon == "" {
				own = append(own, h)
			} else {
				attachable = append(attachable, h)
			}
		}
		attached := map[string][]Hit{}
		attachSorted(attachable, func(h Hit) {
			if h.Flags&flagUnattached != 0 {
				own = append(own, h)
				return
			}
			k := visitKey(&h)
			attached[k] = append(attached[k], h)
		})
		for k, hs := range attached {
			identified(k, hitBatch{hs})
		}
		if len(own) > 0 {
			fn.aggs.visit(ctx, own)
		}
		return
	}
	for i := range hits {
		if _, sighting := attachRole(&hits[i]); sighting {
			identified(key, hitBatch{hits}) // encoded as it is emitted
			return
		}
	}
	fn.aggs.visit(ctx, hits)
}

func (fn *firstPassFn) FinishBundle(_ context.Context, emit func(string, Aggregate), _ func(string, hitBatch)) {
	fn.aggs.flush(emit)
}

// visitAggFn visits the groups of the second grouping: identified
// visitors' hits with the user-id-only hits attached to them, which come
// in batches (a visitor's whole first group is one element: Prism's cost
// is per element).
type visitAggFn struct {
	From, To  int64 // Unix µs; 0, 0: everything
	MaxValues int

	aggs    *visitAggs
	hitsBuf []Hit
}

func (fn *visitAggFn) StartBundle(_ context.Context, _ func(string, Aggregate)) {
	fn.aggs = newVisitAggs(fn.From, fn.To, fn.MaxValues)
}

func (fn *visitAggFn) ProcessElement(ctx context.Context, _ string, iter func(*hitBatch) bool, _ func(string, Aggregate)) {
	hits := fn.hitsBuf[:0]
	var b hitBatch
	for iter(&b) {
		hits = append(hits, b.Hits...)
	}
	fn.aggs.visit(ctx, hits)
	fn.hitsBuf = hits[:0]
}

func (fn *visitAggFn) FinishBundle(_ context.Context, emit func(string, Aggregate)) {
	fn.aggs.flush(emit)
}

// visitAggs runs the per-visitor rules on visitor keys' hits and adds
// their output in [from, to) to per-merchant-hour aggregates, kept until
// flush.
type visitAggs struct {
	from, to  int64
	maxValues int
	aggs      map[string]*Aggregate
	hitAgg    hitAggFn
	sessAgg   sessionAggFn
}

func newVisitAggs(from, to int64, maxValues int) *visitAggs {
	return &visitAggs{from: from, to: to, maxValues: maxValues, aggs: map[string]*Aggregate{},
		hitAgg: hitAggFn{MaxValues: maxValues}, sessAgg: sessionAggFn{MaxValues: maxValues}}
}

func (va *visitAggs) in(t int64) bool { return va.from == va.to || (t >= va.from && t < va.to) }

func (va *visitAggs) agg(key string) *Aggregate {
	a := va.aggs[key]
	if a == nil {
		a = &Aggregate{}
		va.aggs[key] = a
	}
	return a
}

// visit sorts one visitor key's hits and runs the rules on them.
func (va *visitAggs) visit(ctx context.Context, hits []Hit) {
	sortHits(hits)
	var v visitor
	st := v.run(hits, func(h Hit) {
		if va.in(h.Time) {
			k, _ := keyHitByHour(h)
			a := va.agg(k)
			*a = va.hitAgg.AddInput(*a, h)
		}
	}, func(se Session) {
		if va.in(se.Start) {
			k, _ := keySessionByHour(se)
			a := va.agg(k)
			*a = va.sessAgg.AddInput(*a, se)
		}
	})
	st.count(ctx)
}

// flush emits the aggregates, bounded, and forgets them.
func (va *visitAggs) flush(emit func(string, Aggregate)) {
	for k, a := range va.aggs {
		a.bound(0, maxValues(va.maxValues))
		emit(k, *a)
	}
	va.aggs = map[string]*Aggregate{}
}

// sortHits orders hits by event time, then receive time, then id: the
// order in which docs/metrics.md's rules are applied.
func sortHits(hits []Hit) {
	slices.SortStableFunc(hits, func(a, b Hit) int {
		return cmp.Or(cmp.Compare(a.Time, b.Time), cmp.Compare(a.Receive, b.Receive), strings.Compare(a.ID, b.ID))
	})
}

// visitStats counts what a visitor step dropped or closed.
type visitStats struct{ dups, txDups, closed int64 }

func (st visitStats) count(ctx context.Context) {
	if st.dups > 0 {
		duplicateEvents.Inc(ctx, st.dups)
	}
	if st.txDups > 0 {
		duplicateTransactions.Inc(ctx, st.txDups)
	}
	if st.closed > 0 {
		sessionsClosed.Inc(ctx, st.closed)
	}
}

// visitor applies docs/metrics.md's per-visitor rules to one visitor
// key's hits in event-time order.
type visitor struct {
	lastCopy map[string]int64 // event id → event time of its previous copy
	lastTx   map[string]int64 // transaction id → event time of its previous purchase
	open     []*building
	tails    map[string]tail // client session id → its last closed session
	st       visitStats
}

// tail is what a new session needs of the previous one of its client
// session id: when it ended and when its run started (a session cut at a
// full hour continues the run).
type tail struct{ Run, Last int64 }

// building is a session being built by visitor.run: its hits wait for
// the session's end, which decides its entry page.
type building struct {
	openSession
	hits []Hit
}

// run processes hits sorted by sortHits, emitting every kept hit (with
// its session's dimensions) and every session.
func (v *visitor) run(hits []Hit, emitHit func(Hit), emitSession func(Session)) visitStats {
	v.lastCopy, v.lastTx, v.tails = map[string]int64{}, map[string]int64{}, map[string]tail{}
	window := DedupWindow.Microseconds()
	for _, h := range hits {
		prev, seen := v.lastCopy[h.ID]
		v.lastCopy[h.ID] = h.Time
		if seen && h.Time-prev <= window {
			v.st.dups++
			continue
		}
		if settle(&h, v.lastTx) {
			v.st.txDups++
		}
		if h.Bot() || h.Sessionless() {
			emitHit(h)
			continue
		}
		// Sessions that ended before this hit close first.
		kept := v.open[:0]
		for _, b := range v.open {
			if b.closeAt() <= h.Time {
				v.close(b, emitHit, emitSession)
				continue
			}
			kept = append(kept, b)
		}
		v.open = kept
		var cur *building
		for _, b := range v.open {
			if b.SID == h.SessionID {
				cur = b
				break
			}
		}
		if cur == nil {
			if len(v.open) >= MaxOpenSessions {
				oldest := 0
				for i, b := range v.open {
					if b.Last < v.open[oldest].Last {
						oldest = i
					}
				}
				v.close(v.open[oldest], emitHit, emitSession)
				v.open = slices.Delete(v.open, oldest, oldest+1)
			}
			cur = &building{openSession: newOpenSession(&h, v.tails[h.SessionID])}
			v.open = append(v.open, cur)
		}
		cur.add(&h)
		cur.hits = append(cur.hits, h)
	}
	for _, b := range v.open {
		v.close(b, emitHit, emitSession)
	}
	v.open = nil
	return v.st
}

// close emits a session's hits, each with the session's dimensions, and
// the session.
func (v *visitor) close(b *building, emitHit func(Hit), emitSession func(Session)) {
	se := b.session(b.hits[0].Merchant, b.hits[0].Visitor)
	v.tails[b.SID] = tail{Run: b.Run, Last: b.Last}
	for _, h := range b.hits {
		b.annotate(&h)
		emitHit(h)
	}
	v.st.closed++
	emitSession(se)
}

// settle prepares a hit for counting: an unattached hit loses every
// dimension but its name; a purchase whose transaction id the visitor
// already bought within DedupWindow before keeps no revenue. lastTx maps
// transaction ids to the time of their last purchase. It reports whether
// the revenue was dropped.
func settle(h *Hit, lastTx map[string]int64) bool {
	if h.Flags&flagUnattached != 0 {
		h.Dims, h.Entry, h.Visitor = noneDims, layout.NoneValue, ""
	}
	if !h.Purchase() || h.TxID == "" {
		return false
	}
	prev, seen := lastTx[h.TxID]
	lastTx[h.TxID] = h.Time
	if seen && h.Time-prev <= DedupWindow.Microseconds() && h.Revenue != 0 {
		h.Revenue = 0
		return true
	}
	return false
}

// openSession is a session still open: what is known of it so far.
type openSession struct {
	SID          string
	Start, Last  int64
	Run          int64       // when the run of events without a SessionGap pause began
	First        enrich.Dims // session-scoped values of the first event
	Entry        string
	EntryAt      int64
	Exit         string
	ExitAt       int64
	Events       int64
	Views        int64
	Interactions int64
	Purchase     bool
}

// newOpenSession starts a session with h. prev is the previous session of
// the same client session id (zero when none): when h comes less than
// SessionGap after it, that session was cut at a full hour and h
// continues its run.
func newOpenSession(h *Hit, prev tail) openSession {
	run := h.Time
	if prev.Last != 0 && h.Time-prev.Last < SessionGap.Microseconds() {
		run = prev.Run
	}
	return openSession{SID: h.SessionID, Start: h.Time, Last: h.Time, Run: run, First: h.Dims,
		Entry: layout.NoneValue, Exit: layout.NoneValue, EntryAt: h.Time, ExitAt: h.Time}
}

// closeAt is when the session has ended for sure: SessionGap after its
// last event, or at the first full UTC hour after its last event when its
// run will have lasted LongRun by then, whichever is earlier.
func (o *openSession) closeAt() int64 {
	end := o.Last + SessionGap.Microseconds()
	hour := time.Hour.Microseconds()
	next := (o.Last/hour + 1) * hour // the first full hour after Last
	if o.Run <= next-LongRun.Microseconds() && next < end {
		end = next
	}
	return end
}

// accepts reports whether h belongs to the session: the same client
// session id, before the session's end (closeAt) and not more than
// SessionGap before its start (the streaming step sees events out of
// order).
func (o *openSession) accepts(h *Hit) bool {
	return h.SessionID == o.SID && h.Time < o.closeAt() && h.Time > o.Start-SessionGap.Microseconds()
}

// add counts h into the session. An earlier event than the first becomes
// the first (streaming, out of order).
func (o *openSession) add(h *Hit) {
	if h.Time < o.Start {
		o.Start, o.First = h.Time, h.Dims
	}
	o.Last = max(o.Last, h.Time)
	o.Events++
	if h.View() {
		o.Views++
	} else {
		o.Interactions++
	}
	if h.Purchase() {
		o.Purchase = true
	}
	if h.Page != layout.NoneValue {
		if o.Entry == layout.NoneValue || h.Time < o.EntryAt {
			o.Entry, o.EntryAt = h.Page, h.Time
		}
		if o.Exit == layout.NoneValue || h.Time >= o.ExitAt {
			o.Exit, o.ExitAt = h.Page, h.Time
		}
	}
}

// annotate gives h the session's session-scoped dimensions.
func (o *openSession) annotate(h *Hit) {
	page := h.Page
	h.Dims = o.First
	h.Page = page
	h.Entry = o.Entry
}

func (o *openSession) session(merchant, visitor string) Session {
	return Session{Merchant: merchant, Visitor: visitor, Start: o.Start, End: o.Last, Events: o.Events, Views: o.Views,
		Interactions: o.Interactions, Purchase: o.Purchase, Dims: o.First, Entry: o.Entry, Exit: o.Exit}
}

// Visit is the per-visitor step for unbounded input (streaming): the same
// rules as VisitAndAggregateAll, incrementally, with state per visitor key in the
// global window (docs/pipeline.md): recent event and transaction ids, and
// the open sessions. A hit is emitted at once with its session's
// dimensions as known so far (an earlier event arriving later changes the
// session, not the hits already emitted: sealing makes them exact); a
// session is emitted once the watermark passes its end (closeAt), by an
// event-time timer that holds the output watermark at the earliest open
// session's start, so sessions are never late. MaxSessionLength bounds
// that hold. An id is forgotten DedupWindow after both its event time and
// its arrival, at the visitor's next event or timer, so a visitor active
// for days holds an hour of ids, not days of them; the state is cleared
// DedupWindow after the visitor's last event.
func Visit(s beam.Scope, hits beam.PCollection) (annotated, sessions beam.PCollection) {
	s = s.Scope("Visit")
	keyed := beam.ParDo(s, keyByVisitorCounted, beam.WindowInto(s, window.NewGlobalWindows(), hits))
	return beam.ParDo2(s, &visitFn{
		State: state.MakeValueState[[]byte]("visitor"),
		Close: timers.InEventTime("close"),
	}, keyed)
}

type visitFn struct {
	State state.Value[[]byte] // encodeVisitState
	Close timers.EventTime
}

// visitState is the streaming visitor step's state for one visitor key.
type visitState struct {
	TimerAt int64 // Unix µs the timer is set for
	IDs     []seenID
	Txs     []seenID
	Open    []openSession
	// Tails remembers, per client session id, the last session closed
	// while its run may still go on (SessionGap after its last event).
	Tails []sidTail
}

type sidTail struct {
	SID string
	tail
}

func (vs *visitState) tail(sid string) tail {
	for _, t := range vs.Tails {
		if t.SID == sid {
			return t.tail
		}
	}
	return tail{}
}

// closed records that o closed (for the run of its next session).
func (vs *visitState) closed(o openSession) {
	vs.Tails = slices.DeleteFunc(vs.Tails, func(t sidTail) bool { return t.SID == o.SID })
	vs.Tails = append(vs.Tails, sidTail{SID: o.SID, tail: tail{Run: o.Run, Last: o.Last}})
}

// seenID is an event or transaction id the visitor step remembers: its
// 64-bit fingerprint (xxhash), event time and arrival (both Unix µs).
// Fingerprints keep the per-visitor state at ~17 bytes an id, read and
// written without an allocation per id (the state is read and written for
// every event); two different ids of one visitor within the dedup window
// collide with probability about n²/2⁶⁵ (below 10⁻¹² for MaxRecentIDs).
type seenID struct {
	H    uint64
	Time int64
	Seen int64 // arrival, wall clock; kept to the millisecond
}

// expires returns when s is forgotten: DedupWindow after its event time
// and after its arrival (a late event's retry a bundle later is still a
// copy).
func (s seenID) expires() int64 { return max(s.Time, s.Seen) + DedupWindow.Microseconds() }

// forget drops the ids and transaction ids that expired before now.
func (vs *visitState) forget(now int64) {
	gone := func(s seenID) bool { return s.expires() < now }
	vs.IDs = slices.DeleteFunc(vs.IDs, gone)
	vs.Txs = slices.DeleteFunc(vs.Txs, gone)
}

func fingerprint(id string) uint64 { return xxhash.Sum64String(id) }

func (fn *visitFn) ProcessElement(ctx context.Context, sp state.Provider, tp timers.Provider, key string, h Hit,
	emitHit func(beam.EventTime, Hit), emitSession func(beam.EventTime, Session)) error {
	lag.Process.Taken(1)
	vs, err := fn.read(sp)
	if err != nil {
		return err
	}
	merchant, visitor, _ := strings.Cut(key, "\x00")
	res := vs.add(&h, time.Now().UnixMicro())
	for _, o := range res.closed {
		sessionsClosed.Inc(ctx, 1)
		emitSession(beam.EventTime(o.Start/1000), o.session(merchant, visitor))
	}
	switch {
	case res.dup:
		duplicateEvents.Inc(ctx, 1)
	case res.txDup:
		duplicateTransactions.Inc(ctx, 1)
	}
	if !res.dup {
		emitHit(beam.EventTime(h.Time/1000), h)
	}
	return fn.schedule(sp, tp, vs)
}

// visitResult is what adding one hit to a visitor's state did.
type visitResult struct {
	dup    bool          // a copy: dropped
	txDup  bool          // a repeated purchase: kept without revenue
	closed []openSession // sessions closed to make room (MaxOpenSessions)
}

// add applies the per-visitor rules to one more hit, arriving at now (Unix
// µs), in arrival order: the streaming counterpart of visitor.run, and the
// same for hits that arrive in event-time order. h gets its session's
// dimensions.
func (vs *visitState) add(h *Hit, now int64) visitResult {
	var res visitResult
	window := DedupWindow.Microseconds()
	vs.forget(now)
	id := fingerprint(h.ID)
	for _, s := range vs.IDs {
		if s.H == id && abs(h.Time-s.Time) <= window {
			res.dup = true
		}
	}
	// A dropped copy is remembered too: the rule compares each copy with
	// every other (a chain of copies less than an hour apart counts once).
	vs.IDs = remember(vs.IDs, seenID{id, h.Time, now})
	if res.dup {
		return res
	}
	if h.Flags&flagUnattached != 0 {
		h.Dims, h.Entry, h.Visitor = noneDims, layout.NoneValue, ""
	}
	if h.Purchase() && h.TxID != "" {
		dup, tx := false, fingerprint(h.TxID)
		for _, s := range vs.Txs {
			if s.H == tx && abs(h.Time-s.Time) <= window {
				dup = true
			}
		}
		if dup && h.Revenue != 0 {
			h.Revenue = 0
			res.txDup = true
		}
		vs.Txs = remember(vs.Txs, seenID{tx, h.Time, now})
	}
	if h.Bot() || h.Sessionless() {
		return res
	}
	var cur *openSession
	for i := range vs.Open {
		if vs.Open[i].accepts(h) {
			cur = &vs.Open[i]
			break
		}
	}
	if cur == nil {
		// Sessions that have ended by this hit's time close first, as in
		// visitor.run; then the cap.
		keep := vs.Open[:0]
		for _, o := range vs.Open {
			if o.closeAt() <= h.Time {
				res.closed = append(res.closed, o)
				vs.closed(o)
				continue
			}
			keep = append(keep, o)
		}
		vs.Open = keep
		if len(vs.Open) >= MaxOpenSessions {
			oldest := 0
			for i := range vs.Open {
				if vs.Open[i].Last < vs.Open[oldest].Last {
					oldest = i
				}
			}
			res.closed = append(res.closed, vs.Open[oldest])
			vs.closed(vs.Open[oldest])
			vs.Open = slices.Delete(vs.Open, oldest, oldest+1)
		}
		vs.Open = append(vs.Open, newOpenSession(h, vs.tail(h.SessionID)))
		cur = &vs.Open[len(vs.Open)-1]
	}
	cur.add(h)
	cur.annotate(h)
	return res
}

// fire closes the sessions that have ended by now and forgets the ids
// that have expired; it reports whether anything remains.
func (vs *visitState) fire(now int64) (closed []openSession, remains bool) {
	keep := vs.Open[:0]
	for _, o := range vs.Open {
		if o.closeAt() <= now {
			closed = append(closed, o)
			vs.closed(o)
			continue
		}
		keep = append(keep, o)
	}
	vs.Open = keep
	vs.forget(now)
	vs.Tails = slices.DeleteFunc(vs.Tails, func(t sidTail) bool { return t.Last+SessionGap.Microseconds() <= now })
	return closed, len(vs.Open) > 0 || len(vs.IDs) > 0 || len(vs.Txs) > 0 || len(vs.Tails) > 0
}

func (fn *visitFn) OnTimer(ctx context.Context, sp state.Provider, tp timers.Provider, key string, tc timers.Context,
	_ func(beam.EventTime, Hit), emitSession func(beam.EventTime, Session)) error {
	vs, err := fn.read(sp)
	if err != nil {
		return err
	}
	closed, remains := vs.fire(vs.TimerAt)
	for i := range closed {
		fn.emit(ctx, key, &closed[i], emitSession)
	}
	if !remains {
		if err := fn.State.Clear(sp); err != nil {
			return fmt.Errorf("visit: clear state: %w", err)
		}
		return nil
	}
	return fn.schedule(sp, tp, vs)
}

func (fn *visitFn) emit(ctx context.Context, key string, o *openSession, emitSession func(beam.EventTime, Session)) {
	merchant, visitor, _ := strings.Cut(key, "\x00")
	sessionsClosed.Inc(ctx, 1)
	emitSession(beam.EventTime(o.Start/1000), o.session(merchant, visitor))
}

// schedule stores vs and sets the timer at the earliest session end (or,
// with no session open, when the last remembered id expires), holding the
// output watermark at the earliest open session's start.
//
// A re-set timer always moves by at least a millisecond: Prism v2.77
// miscounts watermark holds when a timer is re-set to the same firing time
// with a different hold and then panics ("negative watermark hold count").
func (fn *visitFn) schedule(sp state.Provider, tp timers.Provider, vs visitState) error {
	var fire, hold int64 = 0, 0
	for _, o := range vs.Open {
		if c := o.closeAt(); fire == 0 || c < fire {
			fire = c
		}
		if hold == 0 || o.Start < hold {
			hold = o.Start
		}
	}
	if fire == 0 {
		for _, s := range append(slices.Clip(vs.IDs), vs.Txs...) {
			if e := s.expires() + 1; fire == 0 || e > fire {
				fire = e
			}
		}
		for _, t := range vs.Tails {
			if e := t.Last + SessionGap.Microseconds(); fire == 0 || e > fire {
				fire = e
			}
		}
	}
	fireMs := ceilMillis(fire)
	if prev := vs.TimerAt / 1000; prev != 0 && fireMs <= prev {
		fireMs = prev + 1
	}
	vs.TimerAt = fireMs * 1000
	if hold == 0 || hold/1000 > fireMs {
		hold = fireMs * 1000
	}
	fn.Close.Set(tp, time.UnixMilli(fireMs), timers.WithOutputTimestamp(time.UnixMilli(hold/1000)))
	if err := fn.State.Write(sp, encodeVisitState(vs)); err != nil {
		return fmt.Errorf("visit: write state: %w", err)
	}
	return nil
}

func (fn *visitFn) read(sp state.Provider) (visitState, error) {
	b, ok, err := fn.State.Read(sp)
	if err != nil {
		return visitState{}, fmt.Errorf("visit: read state: %w", err)
	}
	if !ok {
		return visitState{}, nil
	}
	return decodeVisitState(b)
}

// remember appends s to ids, forgetting the oldest beyond MaxRecentIDs.
func remember(ids []seenID, s seenID) []seenID {
	ids = append(ids, s)
	if len(ids) > MaxRecentIDs {
		ids = slices.Delete(ids, 0, len(ids)-MaxRecentIDs)
	}
	return ids
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

func encodeVisitState(vs visitState) []byte {
	b := make([]byte, 0, 16*(len(vs.IDs)+len(vs.Txs))+64*len(vs.Tails)+256*len(vs.Open)+32)
	b = binary.AppendVarint(b, vs.TimerAt)
	for _, ids := range [][]seenID{vs.IDs, vs.Txs} {
		b = binary.AppendUvarint(b, uint64(len(ids)))
		for _, s := range ids {
			b = binary.LittleEndian.AppendUint64(b, s.H)
			b = binary.AppendVarint(b, s.Time)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(vs.Tails)))
	for _, t := range vs.Tails {
		b = appendString(b, t.SID)
		b = appendVarints(b, t.Run, t.Last)
	}
	b = binary.AppendUvarint(b, uint64(len(vs.Open)))
	for _, o := range vs.Open {
		for _, s := range o.strings() {
			b = appendString(b, *s)
		}
		for _, v := range o.ints() {
			b = binary.AppendVarint(b, *v)
		}
		if o.Purchase {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	// The ids' arrivals come last, in milliseconds after their event
	// time (rounded up), so that a state written before arrivals were
	// kept still decodes (decodeVisitState).
	for _, ids := range [][]seenID{vs.IDs, vs.Txs} {
		for _, s := range ids {
			b = binary.AppendVarint(b, ceilMillis(s.Seen-s.Time))
		}
	}
	return b
}

// ceilMillis returns us microseconds in milliseconds, rounded up.
func ceilMillis(us int64) int64 {
	ms := us / 1000
	if us%1000 > 0 {
		ms++
	}
	return ms
}

func decodeVisitState(b []byte) (visitState, error) {
	var vs visitState
	r := reader{b: b}
	vs.TimerAt = r.varint()
	for _, ids := range []*[]seenID{&vs.IDs, &vs.Txs} {
		n := r.uvarint()
		if r.err == nil && n > uint64(len(r.b)) {
			r.err = errShortState
		}
		if r.err == nil {
			*ids = make([]seenID, 0, n)
		}
		for i := uint64(0); i < n && r.err == nil; i++ {
			*ids = append(*ids, seenID{H: r.uint64(), Time: r.varint()})
		}
	}
	n := r.uvarint()
	for i := uint64(0); i < n && r.err == nil; i++ {
		vs.Tails = append(vs.Tails, sidTail{SID: r.string(), tail: tail{Run: r.varint(), Last: r.varint()}})
	}
	n = r.uvarint()
	for i := uint64(0); i < n && r.err == nil; i++ {
		var o openSession
		for _, s := range o.strings() {
			*s = r.string()
		}
		for _, v := range o.ints() {
			*v = r.varint()
		}
		o.Purchase = r.byte() == 1
		vs.Open = append(vs.Open, o)
	}
	if r.err == nil && len(r.b) == 0 && len(vs.IDs)+len(vs.Txs) > 0 {
		// A state written before arrivals were kept: its ids expire when
		// the timer it set fires, as they did then.
		for _, ids := range [][]seenID{vs.IDs, vs.Txs} {
			for i := range ids {
				ids[i].Seen = vs.TimerAt - DedupWindow.Microseconds()
			}
		}
		return vs, nil
	}
	for _, ids := range [][]seenID{vs.IDs, vs.Txs} {
		for i := range ids {
			ids[i].Seen = ids[i].Time + r.varint()*1000
		}
	}
	if r.err == nil && len(r.b) != 0 {
		r.err = errShortState
	}
	return vs, r.err
}

func (o *openSession) strings() []*string {
	return []*string{&o.SID, &o.First.Page, &o.First.Source, &o.First.Medium, &o.First.Campaign, &o.First.Country,
		&o.First.Device, &o.First.Browser, &o.First.OS, &o.Entry, &o.Exit}
}

func (o *openSession) ints() []*int64 {
	return []*int64{&o.Start, &o.Last, &o.Run, &o.EntryAt, &o.ExitAt, &o.Events, &o.Views, &o.Interactions}
}

func appendVarints(b []byte, vs ...int64) []byte {
	for _, v := range vs {
		b = binary.AppendVarint(b, v)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// reader decodes what the encoders above wrote, remembering the first
// error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errShortState
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errShortState
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) string() string {
	l := r.uvarint()
	if r.err != nil || uint64(len(r.b)) < l {
		r.err = errShortState
		return ""
	}
	s := string(r.b[:l])
	r.b = r.b[l:]
	return s
}

func (r *reader) uint64() uint64 {
	if r.err != nil || len(r.b) < 8 {
		r.err = errShortState
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *reader) byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.err = errShortState
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}
