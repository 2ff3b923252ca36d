package queryapi

import (
	"context"
	"encoding/binary"
	"hash/fnv"
	"sort"
	"sync"
	"time"

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
// changes when any of them is re-sealed (its seal record's sealed_at moves).
func (st *state) fingerprint(start, end time.Time) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for t := start.Unix(); t < end.Unix(); t += 3600 {
		binary.LittleEndian.PutUint64(b[:], uint64(st.Seals[t]))
		h.Write(b[:])
	}
	binary.LittleEndian.PutUint64(b[:], uint64(end.Unix()))
	h.Write(b[:])
	return h.Sum64()
}

// freshState returns the current snapshot, reading the meta table at most
// once per FreshnessTTL (concurrent callers share one read).
func (s *Server) freshState(ctx context.Context) (*state, error) {
	s.stateMu.Lock()
	cur := s.state
	s.stateMu.Unlock()
	now := s.now()
	if cur != nil && now.Sub(cur.readAt) < s.cfg.FreshnessTTL {
		return cur, nil
	}
	v, err, _ := s.flight.Do("\x00state", func() (any, error) {
		w, err := s.store.Watermarks(ctx)
		if err != nil {
			return nil, err
		}
		st := &state{Watermarks: w, readAt: s.now()}
		s.stateMu.Lock()
		s.state = st
		s.stateMu.Unlock()
		return st, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*state), nil
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

	mu           sync.Mutex
	hits, misses int64
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

// spans groups the buckets at the given indices (ascending) into
// contiguous time spans, so that each span is read with one row-range scan.
func spans(bs []Bucket, idx []int) []Bucket {
	var out []Bucket
	for _, i := range idx {
		if n := len(out); n > 0 && out[n-1].End.Equal(bs[i].Start) {
			out[n-1].End = bs[i].End
			continue
		}
		out = append(out, bs[i])
	}
	return out
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

// totals returns the merged totals of each bucket: cached where the
// bucket is sealed and cached, otherwise read (one scan per contiguous span
// of missing buckets), merged and, when sealed, cached.
func (s *Server) totals(ctx context.Context, merchant string, bs []Bucket, st *state) ([]*agg, error) {
	return s.buckets(ctx, bs, st, func(b Bucket) cacheKey {
		return cacheKey{merchant: merchant, kind: 't', start: b.Start.Unix(), end: b.End.Unix()}
	}, func(span Bucket, merge func(time.Time, *layout.Totals, bool)) error {
		hours, err := s.store.Hours(ctx, merchant, span.Start, span.End)
		for _, h := range hours {
			merge(h.Start, h.Totals, false)
		}
		return err
	})
}

// filtered returns, per bucket, the metrics of one breakdown value, read
// from the breakdown rows of its dimension.
func (s *Server) filtered(ctx context.Context, merchant string, f *Filter, bs []Bucket, st *state) ([]*agg, error) {
	return s.buckets(ctx, bs, st, func(b Bucket) cacheKey {
		return cacheKey{merchant: merchant, kind: 'f', dim: f.Dim, value: f.Value, start: b.Start.Unix(), end: b.End.Unix()}
	}, func(span Bucket, merge func(time.Time, *layout.Totals, bool)) error {
		hours, err := s.store.Breakdowns(ctx, merchant, f.Dim, span.Start, span.End, f.Value)
		for _, h := range hours {
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

func (s *Server) buckets(ctx context.Context, bs []Bucket, st *state, key func(Bucket) cacheKey,
	read func(span Bucket, merge func(hour time.Time, t *layout.Totals, inOther bool)) error) ([]*agg, error) {
	now := s.now()
	out := make([]*agg, len(bs))
	var missing []int
	for i, b := range bs {
		if st.sealed(b.End) {
			if v, ok := s.cache.get(key(b), st.fingerprint(b.Start, b.End), now); ok {
				out[i] = v.(*agg)
				continue
			}
		}
		missing = append(missing, i)
	}
	s.countCache(len(bs)-len(missing), len(missing))
	if len(missing) == 0 {
		return out, nil
	}
	acc := make([]*layout.Totals, len(bs))
	other := make([]int, len(bs))
	var merr error
	merge := func(h time.Time, t *layout.Totals, inOther bool) {
		i := bucketOf(bs, h)
		if i < 0 || out[i] != nil {
			return
		}
		if inOther {
			other[i]++
		}
		if t == nil {
			return
		}
		if acc[i] == nil {
			acc[i] = &layout.Totals{}
		}
		if err := acc[i].Merge(t); err != nil && merr == nil {
			merr = err
		}
	}
	for _, sp := range spans(bs, missing) {
		if err := read(sp, merge); err != nil {
			return nil, err
		}
	}
	if merr != nil {
		return nil, merr
	}
	for _, i := range missing {
		a := emptyAgg
		if acc[i] != nil || other[i] > 0 {
			t := acc[i]
			if t == nil {
				t = &layout.Totals{}
			}
			a = newAgg(t, other[i])
		}
		out[i] = a
		if b := bs[i]; st.sealed(b.End) {
			s.cache.put(key(b), st.fingerprint(b.Start, b.End), now, a)
		}
	}
	return out, nil
}

// mergeAggs merges several buckets into one (summaries): sketches are
// merged and estimated once.
func mergeAggs(as []*agg) (*agg, error) {
	t := &layout.Totals{}
	inOther := 0
	for _, a := range as {
		if err := t.Merge(a.t); err != nil {
			return nil, err
		}
		inOther += a.inOther
	}
	return newAgg(t, inOther), nil
}
