// Package querybench measures the query API under load: it preloads a
// Bigtable emulator with a realistic layout (many merchants, months of
// hourly totals rows with visitor sketches, breakdown rows, seal records
// and watermarks) and drives the real HTTP server at a fixed concurrency,
// reporting latency percentiles and throughput (docs/benchmarks.md).
package querybench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"cloud.google.com/go/bigtable"

	"github.com/footfall/footfall/internal/layout"
)

// Layout says what Preload writes.
type Layout struct {
	Merchants int
	Days      int       // days of hourly rows ending at End
	End       time.Time // a whole hour: "now" of the data
	// Provisional is how many hours before End are provisional; earlier
	// hours are sealed (family s, seal records, sealed_through).
	Provisional int
	// Dims are the dimensions with breakdown rows; TopK values per hour.
	Dims []layout.Dimension
	TopK int
	// Quarters also writes each hour's quarter rows (layout v2: totals
	// and breakdowns per UTC quarter hour, which serve bucket edges that
	// cut an hour, e.g. midnight in Asia/Kolkata). Each visitor of an
	// hour falls in one of its quarters.
	Quarters bool
}

// Merchant is the id of merchant i; ReadKey its read key.
func Merchant(i int) string { return fmt.Sprintf("m%04d", i) }

// ReadKey is merchant i's read key.
func ReadKey(i int) string { return fmt.Sprintf("rk-%04d", i) }

// SealedThrough is where the sealed hours end.
func (l Layout) SealedThrough() time.Time {
	return l.End.Add(-time.Duration(l.Provisional) * time.Hour)
}

// Start is the first hour with data.
func (l Layout) Start() time.Time { return l.End.AddDate(0, 0, -l.Days) }

// visitorsPerHour gives merchants a long-tailed size: merchant 0 about
// 2,000 visitors in its busiest hours, merchant 999 about 8.
func visitorsPerHour(i int, h time.Time) int {
	base := 2000 / math.Pow(float64(i+1), 0.8)
	daily := 0.6 + 0.4*math.Sin(float64(h.Hour())/24*2*math.Pi)
	return max(1, int(base*daily))
}

// Stats counts what Preload wrote.
type Stats struct {
	Rows, Bytes int64
	// QuarterRows and QuarterBytes are the quarter rows among them.
	QuarterRows, QuarterBytes int64
}

// Preload writes the layout's rows for every merchant (workers merchants
// at a time; memory stays bounded by one merchant-day per worker).
func Preload(ctx context.Context, metrics, meta *bigtable.Table, l Layout, workers int, progress func(merchantsDone int)) (Stats, error) {
	var st Stats
	var done atomic.Int64
	jobs := make(chan int)
	errc := make(chan error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				ms, err := preloadMerchant(ctx, metrics, l, i)
				if err != nil {
					errc <- err
					return
				}
				atomic.AddInt64(&st.Rows, ms.Rows)
				atomic.AddInt64(&st.Bytes, ms.Bytes)
				atomic.AddInt64(&st.QuarterRows, ms.QuarterRows)
				atomic.AddInt64(&st.QuarterBytes, ms.QuarterBytes)
				if n := done.Add(1); progress != nil {
					progress(int(n))
				}
			}
		}()
	}
	var ferr error
feed:
	for i := 0; i < l.Merchants; i++ {
		select {
		case jobs <- i:
		case ferr = <-errc:
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if ferr == nil {
		select {
		case ferr = <-errc:
		default:
		}
	}
	if ferr != nil {
		return st, ferr
	}
	return st, writeMeta(ctx, meta, l)
}

func writeMeta(ctx context.Context, meta *bigtable.Table, l Layout) error {
	var keys []string
	var muts []*bigtable.Mutation
	sealedAt := l.SealedThrough().Add(10 * time.Minute).UnixMicro()
	for h := l.Start(); h.Before(l.SealedThrough()); h = h.Add(time.Hour) {
		m := bigtable.NewMutation()
		m.Set(layout.FamilyMeta, layout.ColSealedAt, bigtable.Now(), layout.EncodeInt(sealedAt))
		m.Set(layout.FamilyMeta, layout.ColSealRuns, bigtable.Now(), layout.EncodeInt(1))
		keys, muts = append(keys, layout.SealKey(h)), append(muts, m)
	}
	m := bigtable.NewMutation()
	m.Set(layout.FamilyMeta, layout.ColSealedThrough, bigtable.Now(), layout.EncodeInt(l.SealedThrough().UnixMicro()))
	m.Set(layout.FamilyMeta, layout.ColProvisionalAt, bigtable.Now(), layout.EncodeInt(l.End.Add(-10*time.Second).UnixMicro()))
	keys, muts = append(keys, layout.MetaWatermarks), append(muts, m)
	return applyBulk(ctx, meta, keys, muts)
}

func applyBulk(ctx context.Context, t *bigtable.Table, keys []string, muts []*bigtable.Mutation) error {
	for off := 0; off < len(keys); off += 500 {
		end := min(off+500, len(keys))
		errs, err := t.ApplyBulk(ctx, keys[off:end], muts[off:end])
		if err == nil && errs != nil {
			err = errors.Join(errs...)
		}
		if err != nil {
			return fmt.Errorf("querybench: write rows: %w", err)
		}
	}
	return nil
}

var pages = func() []string {
	p := make([]string, 40)
	for i := range p {
		p[i] = fmt.Sprintf("/products/item-%02d", i)
	}
	p[0], p[1], p[2] = "/", "/cart", "/checkout"
	return p
}()

// preloadMerchant writes one merchant's rows, a day at a time.
func preloadMerchant(ctx context.Context, tbl *bigtable.Table, l Layout, i int) (st Stats, err error) {
	m := Merchant(i)
	rng := rand.New(rand.NewPCG(uint64(i), 42))
	pool := max(50, visitorsPerHour(i, time.Time{})*40) // returning visitors
	var id [12]byte
	binary.LittleEndian.PutUint32(id[:4], uint32(i))
	sealedThrough := l.SealedThrough()
	for day := l.Start(); day.Before(l.End); day = day.Add(24 * time.Hour) {
		var keys []string
		var muts []*bigtable.Mutation
		for h := day; h.Before(day.Add(24*time.Hour)) && h.Before(l.End); h = h.Add(time.Hour) {
			fam := layout.FamilySealed
			if !h.Before(sealedThrough) {
				fam = layout.FamilyProvisional
			}
			n := visitorsPerHour(i, h)
			at := h.Add(time.Hour).UnixMicro()
			// Index 0 is the hour; 1..4 its quarters (when written).
			parts := 1
			if l.Quarters {
				parts = 1 + layout.Quarters
			}
			ts := make([]*layout.Totals, parts)
			bds := make([][]*layout.Breakdown, parts)
			nv := make([]int, parts)
			for k := range ts {
				ts[k] = &layout.Totals{Visitors: layout.NewVisitorSketch(), UpdatedAt: at}
				bds[k] = make([]*layout.Breakdown, len(l.Dims))
				for d := range bds[k] {
					bds[k][d] = &layout.Breakdown{Values: map[string]*layout.Item{}, UpdatedAt: at}
				}
			}
			for v := 0; v < n; v++ {
				binary.LittleEndian.PutUint64(id[4:], uint64(rng.IntN(pool)))
				evs := int64(1 + rng.IntN(5))
				pv := int64(1 + rng.IntN(int(evs)))
				vals := make([]string, len(l.Dims))
				for d, dim := range l.Dims {
					vals[d] = dimValue(dim, rng)
				}
				in := []int{0}
				if l.Quarters {
					in = append(in, 1+v%layout.Quarters)
				}
				for _, k := range in {
					t := ts[k]
					nv[k]++
					t.Visitors.Insert(id[:])
					t.Events += evs
					t.PageViews += pv
					for d, val := range vals {
						it := bds[k][d].Values[val]
						if it == nil {
							it = &layout.Item{Visitors: layout.NewItemSketch()}
							bds[k][d].Values[val] = it
						}
						it.Events += evs
						it.PageViews += pv
						it.Visitors.Insert(id[:])
					}
				}
			}
			dur := int64(30_000 + rng.IntN(120_000))
			price := int64(1000 + rng.IntN(9000))
			for k, t := range ts {
				t.Sessions = int64(float64(nv[k]) * 1.2)
				t.Bounces = t.Sessions * 2 / 5
				t.EngagedSessions = t.Sessions / 2
				t.SessionMillis = t.Sessions * dur
				t.ByName = map[string]int64{"page_view": t.PageViews, "add_to_cart": (t.Events - t.PageViews) / 2, "purchase": (t.Events - t.PageViews) / 4}
				t.ByName["signup"] = t.Events - t.PageViews - t.ByName["add_to_cart"] - t.ByName["purchase"]
				if p := t.ByName["purchase"]; p > 0 {
					t.Revenue = layout.Money{"USD": {Minor: p * price, Scale: 2}}
				}
				if nv[k] == 0 {
					ts[k] = nil
				}
				for d := range l.Dims {
					if err := bds[k][d].Truncate(l.TopK); err != nil {
						return st, err
					}
				}
			}
			add := func(key string, cells []layout.Cell, quarter bool) {
				keys, muts = append(keys, key), append(muts, layout.ReplaceFamily(fam, cells, bigtable.Now()))
				st.Bytes += cellBytes(cells)
				if quarter {
					st.QuarterRows++
					st.QuarterBytes += cellBytes(cells)
				}
			}
			cells, err := ts[0].Cells()
			if err != nil {
				return st, err
			}
			add(layout.TotalsKey(m, h), cells, false)
			for d, dim := range l.Dims {
				cells, err := bds[0][d].Cells()
				if err != nil {
					return st, err
				}
				add(layout.BreakdownKey(m, dim, h), cells, false)
			}
			if l.Quarters {
				qt := &layout.QuarterTotals{UpdatedAt: at}
				copy(qt.Q[:], ts[1:])
				cells, err := qt.Cells()
				if err != nil {
					return st, err
				}
				add(layout.QuarterTotalsKey(m, h), cells, true)
				for d, dim := range l.Dims {
					qb := &layout.QuarterBreakdowns{UpdatedAt: at}
					for q := range layout.Quarters {
						if ts[1+q] != nil {
							qb.Q[q] = bds[1+q][d]
						}
					}
					cells, err := qb.Cells()
					if err != nil {
						return st, err
					}
					add(layout.QuarterBreakdownKey(m, dim, h), cells, true)
				}
			}
		}
		if err := applyBulk(ctx, tbl, keys, muts); err != nil {
			return st, err
		}
		st.Rows += int64(len(keys))
	}
	return st, nil
}

func cellBytes(cells []layout.Cell) int64 {
	var n int64
	for _, c := range cells {
		n += int64(len(c.Qualifier) + len(c.Value))
	}
	return n
}

var (
	countries = []string{"US", "JP", "GB", "DE", "FR", "BR", "IN", "CA", "AU", "MX", "ES", "IT"}
	devices   = []string{"desktop", "mobile", "tablet"}
)

// dimValue draws a value with a skewed (roughly Zipf) distribution.
func dimValue(d layout.Dimension, rng *rand.Rand) string {
	skew := func(n int) int { return min(n-1, int(float64(n)*math.Pow(rng.Float64(), 2.5))) }
	switch d {
	case layout.DimPage:
		return pages[skew(len(pages))]
	case layout.DimCountry:
		return countries[skew(len(countries))]
	case layout.DimDevice:
		return devices[skew(len(devices))]
	}
	return layout.NoneValue
}
