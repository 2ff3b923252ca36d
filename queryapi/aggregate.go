package queryapi

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/axiomhq/hyperloglog"

	"github.com/footfall/footfall/internal/layout"
)

// agg is the merged metrics of one bucket. It is immutable once built:
// cached aggs are shared between requests.
type agg struct {
	t *layout.Totals // counts and revenue; its Visitors is always nil
	// sks are the bucket's visitor sketches: its visitors are their union
	// (one merged sketch for a cached part; a cached part and live hours
	// are estimated together without merging them).
	sks      []*hyperloglog.Sketch
	visitors int64 // estimated once, when the bucket was built
	inOther  int   // filtered series: hours where the value may hide in "other"
	bytes    int   // about how much memory it holds
}

var emptyAgg = &agg{t: &layout.Totals{}}

// newAgg makes an agg of t, which it takes over (its sketch moves to sks).
func newAgg(t *layout.Totals, inOther int) *agg {
	var sks []*hyperloglog.Sketch
	if t.Visitors != nil {
		sks = []*hyperloglog.Sketch{t.Visitors}
		t.Visitors = nil
	}
	return aggOf(t, sks, inOther)
}

// aggOf makes an agg of counts (without sketch) and the sketches sks.
func aggOf(counts *layout.Totals, sks []*hyperloglog.Sketch, inOther int) *agg {
	v := estimateUnion(sks)
	size := 64 + v.bytes + 48*(len(counts.ByName)+len(counts.Revenue))
	for n := range counts.ByName {
		size += len(n)
	}
	return &agg{t: counts, sks: sks, visitors: v.count, inOther: inOther, bytes: size}
}

func (a *agg) sizeBytes() int { return a.bytes }

// bucketOf returns the index of the bucket holding t (bs sorted, contiguous
// or not), or -1.
func bucketOf(bs []Bucket, t time.Time) int {
	i := sort.Search(len(bs), func(i int) bool { return bs[i].End.After(t) })
	if i < len(bs) && !t.Before(bs[i].Start) {
		return i
	}
	return -1
}

// hourFn receives one piece of a bucket — an hour from an hourly row, or
// a quarter hour from a quarter row — starting at start, with its totals
// (nil when the piece only counts toward inOther), as a source reads them.
type hourFn func(start time.Time, t *layout.Totals, inOther bool) error

// source reads what plan says and hands every piece to fn, in time order.
type source func(plan readPlan, fn hourFn) error

// readPlan says which rows serve a set of spans: the hourly rows of the
// hours they cover whole, and the quarter rows of the hours that a span or
// bucket edge cuts (only the quarters inside a span are served). Buckets
// whose edges are whole UTC hours — every bucket in UTC and in whole-hour
// zones — read hourly rows only, exactly as before quarter rows existed.
type readPlan struct {
	spans []Bucket    // quarter-aligned, sorted, disjoint
	whole []Bucket    // hour-aligned runs of the hours read whole
	cut   []time.Time // hours read from quarter rows, sorted
}

// futureSkew bounds how far ahead of now an event's time can be (ingest
// refuses events more than MAX_FUTURE_SKEW, 10 minutes, ahead): hours
// starting later hold no rows and are not read.
const futureSkew = time.Hour

// planReads plans the reads of spans given every bucket edge, up to
// horizon (hours starting at or after it are not read).
func planReads(spans []Bucket, edges []time.Time, horizon time.Time) readPlan {
	var clipped []Bucket
	for _, sp := range spans {
		if !sp.Start.Before(horizon) {
			break
		}
		if sp.End.After(horizon) {
			sp.End = horizon
		}
		clipped = append(clipped, sp)
	}
	spans = clipped
	cutSet := map[int64]bool{}
	for _, e := range edges {
		if h := e.Truncate(time.Hour); !h.Equal(e) {
			cutSet[h.Unix()] = true
		}
	}
	p := readPlan{spans: spans}
	for _, sp := range spans {
		for h := sp.Start.Truncate(time.Hour); h.Before(sp.End); h = h.Add(time.Hour) {
			if cutSet[h.Unix()] || h.Before(sp.Start) || h.Add(time.Hour).After(sp.End) {
				if n := len(p.cut); n == 0 || !p.cut[n-1].Equal(h) {
					p.cut = append(p.cut, h)
				}
				continue
			}
			if n := len(p.whole); n > 0 && p.whole[n-1].End.Equal(h) {
				p.whole[n-1].End = h.Add(time.Hour)
			} else {
				p.whole = append(p.whole, Bucket{h, h.Add(time.Hour)})
			}
		}
	}
	return p
}

// covers reports whether the quarter hour starting at q lies in a span.
func (p readPlan) covers(q time.Time) bool {
	i := sort.Search(len(p.spans), func(i int) bool { return p.spans[i].End.After(q) })
	return i < len(p.spans) && !q.Before(p.spans[i].Start)
}

// piece is one quarter hour read from a quarter row.
type piece struct {
	start   time.Time
	t       *layout.Totals
	inOther bool
}

// merged hands fn the quarter pieces (few, read first, in order) and the
// hourly pieces that scan hands it, in time order.
func merged(quarters []piece, scan func(each func(start time.Time, t *layout.Totals, inOther bool) error) error, fn hourFn) error {
	qi := 0
	flush := func(before time.Time) error {
		for ; qi < len(quarters) && quarters[qi].start.Before(before); qi++ {
			if err := fn(quarters[qi].start, quarters[qi].t, quarters[qi].inOther); err != nil {
				return err
			}
		}
		return nil
	}
	if scan != nil {
		if err := scan(func(start time.Time, t *layout.Totals, inOther bool) error {
			if err := flush(start); err != nil {
				return err
			}
			return fn(start, t, inOther)
		}); err != nil {
			return err
		}
	}
	return flush(time.Unix(1<<40, 0))
}

// totals returns the merged totals of each bucket (see buckets).
func (s *Server) totals(ctx context.Context, merchant string, bs []Bucket, st *state) ([]*agg, error) {
	return s.buckets(bs, st, layout.VisitorPrecision, func(b Bucket) cacheKey {
		return cacheKey{merchant: merchant, kind: 't', start: b.Start.Unix(), end: b.End.Unix()}
	}, func(plan readPlan, fn hourFn) error {
		var quarters []piece
		if len(plan.cut) > 0 {
			err := s.store.QuarterHours(ctx, merchant, plan.cut, func(q QuarterHour) error {
				if !st.current(q.Start, q.Sealed, q.Totals.UpdatedAt) {
					return nil
				}
				for i, t := range q.Totals.Q {
					if qs := layout.QuarterStart(q.Start, i); t != nil && plan.covers(qs) {
						quarters = append(quarters, piece{start: qs, t: t})
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		var scan func(func(time.Time, *layout.Totals, bool) error) error
		if len(plan.whole) > 0 {
			scan = func(each func(time.Time, *layout.Totals, bool) error) error {
				return s.store.Hours(ctx, merchant, plan.whole, func(h Hour) error {
					if !st.current(h.Start, h.Sealed, h.Totals.UpdatedAt) {
						return nil
					}
					return each(h.Start, h.Totals, false)
				})
			}
		}
		return merged(quarters, scan, fn)
	})
}

// filtered returns, per bucket, the metrics of one breakdown value, read
// from the breakdown rows of its dimension.
func (s *Server) filtered(ctx context.Context, merchant string, f *Filter, bs []Bucket, st *state) ([]*agg, error) {
	item := func(b *layout.Breakdown) (*layout.Totals, bool) {
		it, ok := b.Values[f.Value]
		if !ok {
			return nil, !b.Other.Empty()
		}
		return itemTotals(it), false
	}
	return s.buckets(bs, st, layout.BreakdownPrecision, func(b Bucket) cacheKey {
		return cacheKey{merchant: merchant, kind: 'f', dim: f.Dim, value: f.Value, start: b.Start.Unix(), end: b.End.Unix()}
	}, func(plan readPlan, fn hourFn) error {
		var quarters []piece
		if len(plan.cut) > 0 {
			err := s.store.QuarterBreakdowns(ctx, merchant, f.Dim, plan.cut, f.Value, func(q QuarterBreakdownHour) error {
				if !st.current(q.Start, q.Sealed, q.Breakdowns.UpdatedAt) {
					return nil
				}
				for i, b := range q.Breakdowns.Q {
					if qs := layout.QuarterStart(q.Start, i); b != nil && plan.covers(qs) {
						t, inOther := item(b)
						quarters = append(quarters, piece{qs, t, inOther})
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		var scan func(func(time.Time, *layout.Totals, bool) error) error
		if len(plan.whole) > 0 {
			scan = func(each func(time.Time, *layout.Totals, bool) error) error {
				return s.store.Breakdowns(ctx, merchant, f.Dim, plan.whole, f.Value, func(h BreakdownHour) error {
					if !st.current(h.Start, h.Sealed, h.Breakdown.UpdatedAt) {
						return nil
					}
					t, inOther := item(h.Breakdown)
					return each(h.Start, t, inOther)
				})
			}
		}
		return merged(quarters, scan, fn)
	})
}

func itemTotals(it *layout.Item) *layout.Totals {
	return &layout.Totals{Events: it.Events, PageViews: it.PageViews, Revenue: it.Revenue, Visitors: it.Visitors,
		Sessions: it.Sessions, Bounces: it.Bounces, EngagedSessions: it.EngagedSessions, SessionMillis: it.SessionMillis}
}

// denseEvents is the number of events in a bucket from which its visitor
// sketches are merged into a dense sketch: merging many sparse sketches
// into one sparse sketch rebuilds its sorted list every ~m/100 new
// entries, which grows quadratically and made merges half the CPU of an
// uncached request; a dense sketch takes each entry in constant time but
// costs 2^precision bytes, worth it only for big buckets. Events stand in
// for visitors, which are not known before the merge (docs/benchmarks.md).
const denseEvents = 10_000

// maxPending bounds the hourly sketches a part keeps before merging them
// (a month of hours is never held at once).
const maxPending = 48

// part accumulates the hours of one part (sealed or live) of a bucket.
// Sketches are collected and merged when the part is complete, when its
// size is known, or densely once maxPending have piled up.
type part struct {
	acc     *layout.Totals // counts and revenue; Visitors only once dense
	pending []*hyperloglog.Sketch
	inOther int
	touched bool
}

func (p *part) add(t *layout.Totals, inOther bool, precision uint8) error {
	p.touched = true
	if inOther {
		p.inOther++
	}
	if t == nil {
		return nil
	}
	if p.acc == nil {
		p.acc = &layout.Totals{}
	}
	if t.Visitors != nil {
		p.pending = append(p.pending, t.Visitors)
		c := *t
		c.Visitors = nil
		t = &c
	}
	if err := p.acc.Merge(t); err != nil {
		return err
	}
	if len(p.pending) >= maxPending {
		return p.mergePending(true, precision)
	}
	return nil
}

// mergePending merges the pending sketches into the accumulator (dense:
// into a dense sketch).
func (p *part) mergePending(dense bool, precision uint8) error {
	if len(p.pending) == 0 {
		return nil
	}
	var err error
	p.acc.Visitors, err = mergeAll(p.acc.Visitors, p.pending, dense, precision)
	clear(p.pending)
	p.pending = p.pending[:0]
	return err
}

// merged is the part's totals with its sketches merged into one (nil
// when nothing was read): for a part that is cached.
func (p *part) merged(precision uint8) (*layout.Totals, error) {
	if p.acc == nil {
		return nil, nil
	}
	if err := p.mergePending(p.acc.Events >= denseEvents, precision); err != nil {
		return nil, err
	}
	return p.acc, nil
}

// unmerged is the part's counts (nil when nothing was read) and its
// sketches as read: for a part estimated once and dropped.
func (p *part) unmerged() (*layout.Totals, []*hyperloglog.Sketch) {
	if p.acc == nil {
		return nil, nil
	}
	sks := p.pending
	if p.acc.Visitors != nil {
		sks = append(sks, p.acc.Visitors)
		p.acc.Visitors = nil
	}
	return p.acc, sks
}

// bucketWork is one bucket of a request being computed: which part of it
// is sealed, what the cache had for it, and the two parts read.
type bucketWork struct {
	Bucket
	sealedSpan Bucket // [Start, edge): the hours sealed (empty when none)
	cached     *agg   // the sealed part, from the cache
	sealed     part   // the sealed part, when not cached
	live       part   // the hours after sealed_through
	out        *agg
}

// buckets computes the merged metrics of each bucket. A bucket is split at
// sealed_through into a sealed part, which is cached (keyed on its span and
// served while its hours' seal records are unchanged), and a live part,
// which is read on every request. Missing parts are read with one
// row-range scan per contiguous span, streaming: a bucket is finished
// (merged and estimated once) as soon as the scan has passed it.
func (s *Server) buckets(bs []Bucket, st *state, precision uint8, key func(Bucket) cacheKey, read source) ([]*agg, error) {
	now := s.now()
	edge := st.SealedThrough.Truncate(time.Hour)
	work := make([]bucketWork, len(bs))
	var toRead []Bucket // spans to read, in order
	hits, misses := 0, 0
	for i, b := range bs {
		w := &work[i]
		w.Bucket = b
		w.sealedSpan = Bucket{b.Start, b.Start}
		if !st.SealedThrough.IsZero() && edge.After(b.Start) {
			w.sealedSpan.End = b.End
			if edge.Before(b.End) {
				w.sealedSpan.End = edge
			}
		}
		if w.sealedSpan.End.After(w.sealedSpan.Start) {
			if v, ok := s.cache.get(key(w.sealedSpan), st.fingerprint(w.sealedSpan.Start, w.sealedSpan.End), now); ok {
				w.cached = v.(*agg)
				hits++
				if w.sealedSpan.End.Before(b.End) {
					toRead = append(toRead, Bucket{w.sealedSpan.End, b.End})
				}
				continue
			}
		}
		misses++
		toRead = append(toRead, b)
	}
	s.countCache(hits, misses)

	done := 0 // buckets before done are finished
	finish := func(upTo time.Time) error {
		for ; done < len(work) && !work[done].End.After(upTo); done++ {
			if err := s.finishBucket(&work[done], st, precision, key, now); err != nil {
				return err
			}
		}
		return nil
	}
	edges := make([]time.Time, 0, 2*len(bs))
	for _, b := range bs {
		edges = append(edges, b.Start, b.End)
	}
	if spans := mergeSpans(toRead); len(spans) > 0 {
		err := read(planReads(spans, edges, now.Add(futureSkew).Truncate(time.Hour).Add(time.Hour)), func(h time.Time, t *layout.Totals, inOther bool) error {
			if err := finish(h); err != nil {
				return err
			}
			i := bucketOf(bs, h)
			if i < 0 {
				return nil
			}
			w := &work[i]
			p := &w.live
			if h.Before(w.sealedSpan.End) {
				if w.cached != nil {
					return nil // read as part of a span, but already known
				}
				p = &w.sealed
			}
			if err := p.add(t, inOther, precision); err != nil {
				return fmt.Errorf("merge hour %s: %w", h.Format(time.RFC3339), err)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if err := finish(bs[len(bs)-1].End); err != nil {
		return nil, err
	}
	out := make([]*agg, len(bs))
	for i := range work {
		out[i] = work[i].out
	}
	return out, nil
}

// finishBucket merges a bucket's parts, caches its sealed part and sets out.
func (s *Server) finishBucket(w *bucketWork, st *state, precision uint8, key func(Bucket) cacheKey, now time.Time) error {
	sa := w.cached
	if sa == nil && w.sealedSpan.End.After(w.sealedSpan.Start) {
		t, err := w.sealed.merged(precision)
		if err != nil {
			return err
		}
		sa = build(t, w.sealed.inOther)
		s.cache.put(key(w.sealedSpan), st.fingerprint(w.sealedSpan.Start, w.sealedSpan.End), now, sa)
	}
	live, liveSks := w.live.unmerged()
	switch {
	case live == nil && w.live.inOther == 0 && sa != nil:
		w.out = sa
	case sa == nil && live == nil:
		w.out = build(nil, w.live.inOther)
	default:
		// New counts; the sketches of the shared sealed part and of the
		// live hours are estimated together, not merged.
		counts := &layout.Totals{}
		var sks []*hyperloglog.Sketch
		inOther := w.live.inOther
		if sa != nil {
			if err := counts.Merge(sa.t); err != nil {
				return err
			}
			sks = append(sks, sa.sks...)
			inOther += sa.inOther
		}
		if live != nil {
			if err := counts.Merge(live); err != nil {
				return err
			}
			sks = append(sks, liveSks...)
		}
		w.out = aggOf(counts, sks, inOther)
	}
	w.sealed, w.live = part{}, part{}
	return nil
}

// mergeAll merges sks (which it may modify) into dst (nil: none yet).
func mergeAll(dst *hyperloglog.Sketch, sks []*hyperloglog.Sketch, dense bool, precision uint8) (*hyperloglog.Sketch, error) {
	if dst == nil && dense {
		var err error
		if dst, err = hyperloglog.NewSketch(precision, false); err != nil {
			return nil, fmt.Errorf("new sketch: %w", err)
		}
	}
	if dst == nil {
		dst, sks = sks[0], sks[1:]
	}
	for _, sk := range sks {
		if err := dst.Merge(sk); err != nil {
			return nil, fmt.Errorf("merge sketches: %w", err)
		}
	}
	return dst, nil
}

func build(t *layout.Totals, inOther int) *agg {
	if t == nil && inOther == 0 {
		return emptyAgg
	}
	if t == nil {
		t = &layout.Totals{}
	}
	return newAgg(t, inOther)
}

// mergeSpans joins adjacent spans (given in order).
func mergeSpans(in []Bucket) []Bucket {
	var out []Bucket
	for _, b := range in {
		if n := len(out); n > 0 && !out[n-1].End.Before(b.Start) {
			if b.End.After(out[n-1].End) {
				out[n-1].End = b.End
			}
			continue
		}
		out = append(out, b)
	}
	return out
}

// mergeAggs merges several buckets into one (summaries): counts add, and
// the visitors are those of the union of all their sketches, estimated
// once without merging them. The aggs are shared and only read.
func mergeAggs(as []*agg) (*agg, error) {
	if len(as) == 1 {
		return as[0], nil
	}
	counts := &layout.Totals{}
	var sks []*hyperloglog.Sketch
	inOther := 0
	for _, a := range as {
		if err := counts.Merge(a.t); err != nil {
			return nil, err
		}
		sks = append(sks, a.sks...)
		inOther += a.inOther
	}
	return aggOf(counts, sks, inOther), nil
}

// mergeAggsInto merges several buckets into one agg with one merged
// sketch (dense when they hold many events): for an agg that is cached.
// The aggs are shared and only read.
func mergeAggsInto(as []*agg, precision uint8) (*agg, error) {
	counts := &layout.Totals{}
	inOther := 0
	for _, a := range as {
		if err := counts.Merge(a.t); err != nil {
			return nil, err
		}
		inOther += a.inOther
	}
	var sks []*hyperloglog.Sketch
	for _, a := range as {
		for _, sk := range a.sks {
			if len(sks) == 0 {
				m, err := hyperloglog.NewSketch(precision, counts.Events < denseEvents)
				if err != nil {
					return nil, err
				}
				sks = append(sks, m)
			}
			if err := sks[0].Merge(sk); err != nil {
				return nil, fmt.Errorf("merge sketches: %w", err)
			}
		}
	}
	return aggOf(counts, sks, inOther), nil
}
