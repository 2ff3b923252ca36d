package queryapi

import (
	"time"

	"github.com/maypok86/otter/v2"

	"github.com/footfall/footfall/internal/layout"
)

// cacheKey names one cached sealed aggregate.
type cacheKey struct {
	merchant   string
	kind       byte // 't' totals, 'f' filtered item, 'b' merged breakdown, 'B' breakdown answer
	dim        layout.Dimension
	value      string // filter value; for 'B', the limit and metrics
	start, end int64
}

// sized is a cached value that knows about how many bytes it holds.
type sized interface{ sizeBytes() int }

type cacheEntry struct {
	fp     uint64
	stored time.Time
	val    sized
}

// entryOverhead is what one entry costs besides its value: the key, the
// entry and the cache's own node (measured order of magnitude).
const entryOverhead = 200

// aggCache holds aggregates of sealed hours, bounded by the bytes they
// hold (CACHE_BYTES), not by their number: one merged breakdown can hold
// thousands of sketches, one day of a small merchant a few bytes. An entry
// is served while the seal records of its hours are unchanged and it is
// younger than SealedTTL. Entries are immutable once stored: they are
// shared by concurrent requests.
type aggCache struct {
	c   *otter.Cache[cacheKey, cacheEntry]
	max uint64
	ttl time.Duration
}

func newAggCache(maxBytes int64, ttl time.Duration) *aggCache {
	if maxBytes <= 0 {
		return &aggCache{}
	}
	c := otter.Must(&otter.Options[cacheKey, cacheEntry]{
		MaximumWeight: uint64(maxBytes),
		Weigher: func(k cacheKey, e cacheEntry) uint32 {
			return uint32(min(entryOverhead+len(k.merchant)+len(k.value)+e.val.sizeBytes(), 1<<31))
		},
	})
	return &aggCache{c: c, max: uint64(maxBytes), ttl: ttl}
}

func (c *aggCache) get(k cacheKey, fp uint64, now time.Time) (any, bool) {
	if c.c == nil {
		return nil, false
	}
	e, ok := c.c.GetIfPresent(k)
	if ok && (e.fp != fp || now.Sub(e.stored) >= c.ttl) {
		c.c.Invalidate(k)
		ok = false
	}
	if !ok {
		return nil, false
	}
	return e.val, true
}

func (c *aggCache) put(k cacheKey, fp uint64, now time.Time, v sized) {
	if c.c != nil {
		c.c.Set(k, cacheEntry{fp: fp, stored: now, val: v})
	}
}

// bytes is the weight the cache holds now (after pending evictions).
func (c *aggCache) bytes() uint64 {
	if c.c == nil {
		return 0
	}
	return c.c.WeightedSize()
}
