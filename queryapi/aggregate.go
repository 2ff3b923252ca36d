package queryapi

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"sort"
	"time"

	"github.com/axiomhq/hyperloglog"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/footfall/footfall/internal/layout"
)

// state is a snapshot of the watermarks and seal records, shared by the
// requests of FreshnessTTL.
type state struct {
	Watermarks
	readAt time.Time
}

// sealed reports whether every hour of [start, end) is sealed.
func (st *state) sealed(end time.Time) bool {
	return !st.SealedThrough.IsZero() && !end.After(st.SealedThrough)
}

// fingerprint identifies the seal state of the hours in [start, end): it
// changes when any of them is re-sealed (its seal record's changed_at or
// sealed_at moves).
func (st *state) fingerprint(start, end time.Time) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for t := start.Unix(); t < end.Unix(); t += 3600 {
		binary.LittleEndian.PutUint64(b[:], uint64(st.Changed[t]))
		h.Write(b[:])
	}
	binary.LittleEndian.PutUint64(b[:], uint64(end.Unix()))
	h.Write(b[:])
	return h.Sum64()
}

// current reports whether a row read for the hour starting at hour (sealed
// or provisional, written at at) is to be served: a seal of the hour
// supersedes every row it did not write (layout.Current).
func (st *state) current(hour time.Time, sealed bool, at int64) bool {
	fam := layout.FamilyProvisional
	if sealed {
		fam = layout.FamilySealed
	}
	return layout.Current(st.Seals[hour.Unix()], fam, at)
}

// currentHours keeps the hours whose values are to be served (in place).
func (st *state) currentHours(hs []Hour) []Hour {
	out := hs[:0]
	for _, h := range hs {
		if st.current(h.Start, h.Sealed, h.Totals.UpdatedAt) {
			out = append(out, h)
		}
	}
	return out
}

// currentBreakdowns keeps the breakdown hours to be served (in place).
func (st *state) currentBreakdowns(hs []BreakdownHour) []BreakdownHour {
	out := hs[:0]
	for _, h := range hs {
		if st.current(h.Start, h.Sealed, h.Breakdown.UpdatedAt) {
			out = append(out, h)
		}
	}
	return out
}

// freshState returns the current snapshot. It is read from the meta
// table at most once per FreshnessTTL; once older than that, it is still
// served (for up to 10×FreshnessTTL) while one background read refreshes
// it, so that no request waits for the refresh.
func (s *Server) freshState(ctx context.Context) (*state, error) {
	s.stateMu.Lock()
	cur := s.state
	s.stateMu.Unlock()
	ttl := s.cfg.FreshnessTTL
	if cur != nil {
		age := s.now().Sub(cur.readAt)
		if age < ttl {
			return cur, nil
		}
		if age < 10*ttl {
			s.flight.DoChan("\x00state", func() (any, error) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				return s.readState(ctx)
			})
			return cur, nil
		}
	}
	v, err, _ := s.flight.Do("\x00state", func() (any, error) { return s.readState(ctx) })
	if err != nil {
		return nil, err
	}
	return v.(*state), nil
}

func (s *Server) readState(ctx context.Context) (*state, error) {
	w, err := s.store.Watermarks(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "reading watermarks failed", "err", err)
		return nil, err
	}
	st := &state{Watermarks: w, readAt: s.now()}
	s.stateMu.Lock()
	s.state = st
	s.stateMu.Unlock()
	return st, nil
}

// cacheKey names one cached sealed aggregate.
type cacheKey struct {
	merchant   string
	kind       byte // 't' totals, 'f' filtered item, 'b' merged breakdown, 'B' breakdown answer
	dim        layout.Dimension
	value      string // filter value; for 'B', the limit and metrics
	start, end int64
}

type cacheEntry struct {
	fp     uint64
	stored time.Time
	val    any
}

// aggCache holds aggregates of sealed hours. An entry is served while the
// seal records of its hours are unchanged and it is younger than SealedTTL.
type aggCache struct {
	lru *lru.Cache[cacheKey, cacheEntry]
	ttl time.Duration
}

func newAggCache(size int, ttl time.Duration) *aggCache {
	if size <= 0 {
		return &aggCache{}
	}
	c, err := lru.New[cacheKey, cacheEntry](size)
	if err != nil {
		panic(err)
	}
	return &aggCache{lru: c, ttl: ttl}
}

func (c *aggCache) get(k cacheKey, fp uint64, now time.Time) (any, bool) {
	if c.lru == nil {
		return nil, false
	}
	e, ok := c.lru.Get(k)
	if ok && (e.fp != fp || now.Sub(e.stored) >= c.ttl) {
		c.lru.Remove(k)
		ok = false
	}
	return e.val, ok
}

func (c *aggCache) put(k cacheKey, fp uint64, now time.Time, v any) {
	if c.lru != nil {
		c.lru.Add(k, cacheEntry{fp: fp, stored: now, val: v})
	}
}

// agg is the merged metrics of one bucket. It is immutable once built:
// cached aggs are shared between requests.
type agg struct {
	t        *layout.Totals
	visitors int64 // estimated once, when the bucket was built
	inOther  int   // filtered series: hours where the value may hide in "other"
}

var emptyAgg = &agg{t: &layout.Totals{}}

func newAgg(t *layout.Totals, inOther int) *agg {
	return &agg{t: t, visitors: t.VisitorCount(), inOther: inOther}
}

// bucketOf returns the index of the bucket holding t (bs sorted, contiguous
// or not), or -1.
func bucketOf(bs []Bucket, t time.Time) int {
	i := sort.Search(len(bs), func(i int) bool { return bs[i].End.After(t) })
	if i < len(bs) && !t.Before(bs[i].Start) {
		return i
	}
	return -1
}

// totals returns the merged totals of each bucket (see buckets).
func (s *Server) totals(ctx context.Context, merchant string, bs []Bucket, st *state) ([]*agg, error) {
	return s.buckets(ctx, bs, st, layout.VisitorPrecision, func(b Bucket) cacheKey {
		return cacheKey{merchant: merchant, kind: 't', start: b.Start.Unix(), end: b.End.Unix()}
	}, func(span Bucket, merge func(time.Time, *layout.Totals, bool)) error {
		hours, err := s.store.Hours(ctx, merchant, span.Start, span.End)
		for _, h := range st.currentHours(hours) {
			merge(h.Start, h.Totals, false)
		}
		return err
	})
}

// filtered returns, per bucket, the metrics of one breakdown value, read
// from the breakdown rows of its dimension.
func (s *Server) filtered(ctx context.Context, merchant string, f *Filter, bs []Bucket, st *state) ([]*agg, error) {
	return s.buckets(ctx, bs, st, layout.BreakdownPrecision, func(b Bucket) cacheKey {
		return cacheKey{merchant: merchant, kind: 'f', dim: f.Dim, value: f.Value, start: b.Start.Unix(), end: b.End.Unix()}
	}, func(span Bucket, merge func(time.Time, *layout.Totals, bool)) error {
		hours, err := s.store.Breakdowns(ctx, merchant, f.Dim, span.Start, span.End, f.Value)
		for _, h := range st.currentBreakdowns(hours) {
			it, ok := h.Breakdown.Values[f.Value]
			if !ok {
				merge(h.Start, nil, h.Breakdown.Other.Events > 0)
				continue
			}
			merge(h.Start, itemTotals(it), false)
		}
		return err
	})
}

func itemTotals(it *layout.Item) *layout.Totals {
	return &layout.Totals{Events: it.Events, PageViews: it.PageViews, Revenue: it.Revenue, Visitors: it.Visitors}
}

// denseAfter is the span above which merged sketches start dense: merging
// many sparse sketches into a sparse one rebuilds its sorted list again and
// again, while merging into a dense one is linear.
const denseAfter = 24 * time.Hour

// newAcc returns an empty accumulator for a span of length d.
func newAcc(d time.Duration, precision uint8) *layout.Totals {
	t := &layout.Totals{}
	if d > denseAfter {
		sk, err := hyperloglog.NewSketch(precision, false)
		if err != nil {
			panic(err)
		}
		t.Visitors = sk
	}
	return t
}

// buckets computes the merged metrics of each bucket. A bucket is split at
// sealed_through into a sealed part, which is cached (keyed on its span and
// served while its hours' seal records are unchanged), and a live part,
// which is read on every request. Missing parts are read with one
// row-range scan per contiguous span. Sketches are merged per bucket and
// estimated once per bucket.
func (s *Server) buckets(ctx context.Context, bs []Bucket, st *state, precision uint8, key func(Bucket) cacheKey,
	read func(span Bucket, merge func(hour time.Time, t *layout.Totals, inOther bool)) error) ([]*agg, error) {
	now := s.now()
	edge := st.SealedThrough.Truncate(time.Hour)
	sealedPart := func(b Bucket) Bucket {
		if st.SealedThrough.IsZero() || !edge.After(b.Start) {
			return Bucket{b.Start, b.Start}
		}
		if edge.Before(b.End) {
			return Bucket{b.Start, edge}
		}
		return b
	}
	cached := make([]*agg, len(bs))
	var toRead []Bucket // spans to read, in order
	hits, misses := 0, 0
	for i, b := range bs {
		sp := sealedPart(b)
		if sp.End.After(sp.Start) {
			if v, ok := s.cache.get(key(sp), st.fingerprint(sp.Start, sp.End), now); ok {
				cached[i] = v.(*agg)
				hits++
				if sp.End.Before(b.End) {
					toRead = append(toRead, Bucket{sp.End, b.End})
				}
				continue
			}
		}
		misses++
		toRead = append(toRead, b)
	}
	s.countCache(hits, misses)
	sealedAcc := make([]*layout.Totals, len(bs))
	liveAcc := make([]*layout.Totals, len(bs))
	sealedOther := make([]int, len(bs))
	liveOther := make([]int, len(bs))
	// The hours' sketches are collected and merged per bucket part once
	// all are read (mergeAll), when the part's size is known; the
	// sketches read from the store belong to this request.
	sealedSk := make([][]*hyperloglog.Sketch, len(bs))
	liveSk := make([][]*hyperloglog.Sketch, len(bs))
	var merr error
	merge := func(h time.Time, t *layout.Totals, inOther bool) {
		i := bucketOf(bs, h)
		if i < 0 {
			return
		}
		acc, other, sks := liveAcc, liveOther, liveSk
		if sp := sealedPart(bs[i]); h.Before(sp.End) {
			if cached[i] != nil {
				return // read as part of a span, but already known
			}
			acc, other, sks = sealedAcc, sealedOther, sealedSk
		}
		if inOther {
			other[i]++
		}
		if t == nil {
			return
		}
		if acc[i] == nil {
			acc[i] = newAcc(bs[i].End.Sub(bs[i].Start), precision)
		}
		if t.Visitors != nil {
			sks[i] = append(sks[i], t.Visitors)
			c := *t
			c.Visitors = nil
			t = &c
		}
		if err := acc[i].Merge(t); err != nil && merr == nil {
			merr = err
		}
	}
	for _, sp := range mergeSpans(toRead) {
		if err := read(sp, merge); err != nil {
			return nil, err
		}
	}
	for i := range bs {
		for _, p := range []struct {
			acc []*layout.Totals
			sks [][]*hyperloglog.Sketch
		}{{sealedAcc, sealedSk}, {liveAcc, liveSk}} {
			if a := p.acc[i]; a != nil && len(p.sks[i]) > 0 {
				var err error
				if a.Visitors, err = mergeAll(a.Visitors, p.sks[i], a.Events >= denseEvents, precision); err != nil && merr == nil {
					merr = err
				}
			}
		}
	}
	if merr != nil {
		return nil, merr
	}
	out := make([]*agg, len(bs))
	for i, b := range bs {
		sa := cached[i]
		if sp := sealedPart(b); sa == nil && sp.End.After(sp.Start) {
			sa = build(sealedAcc[i], sealedOther[i])
			s.cache.put(key(sp), st.fingerprint(sp.Start, sp.End), now, sa)
		}
		switch {
		case liveAcc[i] == nil && liveOther[i] == 0 && sa != nil:
			out[i] = sa
		case sa == nil:
			out[i] = build(liveAcc[i], liveOther[i])
		default:
			t := newAcc(b.End.Sub(b.Start), precision)
			if err := t.Merge(sa.t); err != nil {
				return nil, err
			}
			if liveAcc[i] != nil {
				if err := t.Merge(liveAcc[i]); err != nil {
					return nil, err
				}
			}
			out[i] = newAgg(t, sa.inOther+liveOther[i])
		}
	}
	return out, nil
}

// denseEvents is the number of events in a bucket from which its visitor
// sketches are merged into a dense sketch: merging many sparse sketches
// into one sparse sketch rebuilds its sorted list every ~m/100 new
// entries, which grows quadratically and made merges half the CPU of an
// uncached request; a dense sketch takes each entry in constant time but
// costs 2^precision bytes and a slower estimate, worth it only for big
// buckets. Events stand in for visitors, which are not known before the
// merge (docs/benchmarks.md).
const denseEvents = 10_000

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

// mergeAggs merges several buckets into one (summaries): sketches are
// merged and estimated once.
func mergeAggs(as []*agg, span time.Duration, precision uint8) (*agg, error) {
	t := newAcc(span, precision)
	inOther := 0
	for _, a := range as {
		if err := t.Merge(a.t); err != nil {
			return nil, err
		}
		inOther += a.inOther
	}
	return newAgg(t, inOther), nil
}
