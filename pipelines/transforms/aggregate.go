package transforms

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/pipelines/internal/beamcoder"
	"github.com/footfall/footfall/pipelines/internal/limits"
)

func init() {
	beam.RegisterCoder(reflect.TypeOf(Aggregate{}), encodeAggregate, decodeAggregate)
	register.Function1x2(keyHitByHour)
	register.Function1x2(keySessionByHour)
	register.Combiner3[Aggregate, Hit, Aggregate](&hitAggFn{})
	register.Combiner3[Aggregate, Session, Aggregate](&sessionAggFn{})
	register.Combiner1[Aggregate](&mergeAggFn{})
	register.Emitter2[string, Aggregate]()
	register.DoFn3x0[string, Aggregate, func(string, layout.RowContent)](&rowsFn{})
	register.Emitter2[string, layout.RowContent]()
	register.Function1x2(keyHitByMinute)
	register.Combiner2[layout.Totals, Hit](&minuteFn{})
}

// nDims is the number of breakdown dimensions.
var nDims = len(layout.Dimensions)

// quarterAgg is one merchant's totals and breakdowns (indexed like
// layout.Dimensions) for one UTC quarter hour, while being aggregated.
type quarterAgg struct {
	T layout.Totals
	B []layout.Breakdown
}

func newQuarterAgg() *quarterAgg { return &quarterAgg{B: make([]layout.Breakdown, nDims)} }

// Aggregate is one merchant-hour's quarters (nil: nothing in that quarter);
// the hour's own rows are derived from them (Rows). Aggregates of one
// merchant-hour computed from disjoint sets of visitors merge exactly
// (Merge): the sealer splits a large hour by visitor that way.
type Aggregate struct {
	Q [layout.Quarters]*quarterAgg
	// Latest is the newest event time (Unix µs) of the hits in it; the
	// streaming fold reports it to pipelines/internal/lag.
	Latest int64
}

func (a *Aggregate) quarter(t int64) *quarterAgg {
	q := layout.QuarterOf(time.UnixMicro(t))
	if a.Q[q] == nil {
		a.Q[q] = newQuarterAgg()
	}
	return a.Q[q]
}

// Merge adds o into a (o's parts may be shared by a afterwards: o must not
// be used again).
func (a *Aggregate) Merge(o *Aggregate) { a.merge(o) }

func (a *Aggregate) merge(o *Aggregate) {
	a.Latest = max(a.Latest, o.Latest)
	for i, q := range o.Q {
		switch {
		case q == nil:
		case a.Q[i] == nil:
			a.Q[i] = q
		default:
			must(a.Q[i].T.Merge(&q.T))
			for d := range a.Q[i].B {
				must(a.Q[i].B[d].Merge(&q.B[d]))
			}
		}
	}
}

// bound caps event names and truncates breakdowns of every quarter.
func (a *Aggregate) bound(maxNames, topK int) {
	for _, q := range a.Q {
		if q == nil {
			continue
		}
		q.T.ByName = limits.CapNames(q.T.ByName, maxNames)
		for d := range q.B {
			must(q.B[d].Truncate(topK))
		}
	}
}

// HourlyMetrics aggregates hits and sessions into one Aggregate per
// merchant-hour (PCollection<KV<string, Aggregate>> keyed by
// layout.TotalsKey): hits (PCollection<Hit>, after Visit) count at their
// event time, sessions (PCollection<Session>) at their start. In streaming
// both are in triggered hourly windows and the result is two streams of
// panes; in batch one value per key.
func HourlyMetrics(s beam.Scope, hits, sessions beam.PCollection, maxValues int) (fromHits, fromSessions beam.PCollection) {
	s = s.Scope("HourlyMetrics")
	fromHits = beam.CombinePerKey(s, &hitAggFn{MaxValues: maxValues}, beam.ParDo(s, keyHitByHour, hits))
	fromSessions = beam.CombinePerKey(s, &sessionAggFn{MaxValues: maxValues}, beam.ParDo(s, keySessionByHour, sessions))
	return fromHits, fromSessions
}

func keyHitByHour(h Hit) (string, Hit) {
	return layout.TotalsKey(h.Merchant, layout.Hour(time.UnixMicro(h.Time))), h
}

func keySessionByHour(se Session) (string, Session) {
	return layout.TotalsKey(se.Merchant, layout.Hour(time.UnixMicro(se.Start))), se
}

// hitAggFn counts hits into their quarters (docs/metrics.md): bots only
// as bot events; every other hit as an event, a view, a visitor (unless
// unattached), by name, revenue, and in every breakdown with event
// metrics. MaxValues bounds each breakdown on output (keeping the values
// with the most events), far above TopK, so that a merchant-hour's
// aggregate stays bounded while its top TopK stay exact.
type hitAggFn struct{ MaxValues int }

func (fn *hitAggFn) CreateAccumulator() Aggregate { return Aggregate{} }

func (fn *hitAggFn) AddInput(a Aggregate, h Hit) Aggregate {
	q := a.quarter(h.Time)
	a.Latest = max(a.Latest, h.Time)
	if h.Bot() {
		q.T.BotEvents++
		return a
	}
	t := &q.T
	t.Events++
	view := h.View()
	if view {
		t.PageViews++
	}
	var vis []byte
	if h.Visitor != "" {
		vis = []byte(h.Visitor)
		if t.Visitors == nil {
			t.Visitors = layout.NewVisitorSketch()
		}
		t.Visitors.Insert(vis)
	}
	if t.ByName == nil {
		t.ByName = map[string]int64{}
	}
	t.ByName[h.Name]++
	rev := layout.Amount{Minor: h.Revenue, Scale: h.Scale}
	if h.Revenue != 0 {
		t.Revenue = t.Revenue.Add(h.Currency, rev)
	}
	for i, d := range layout.Dimensions {
		if !d.EventMetrics() {
			continue
		}
		it := item(&q.B[i], h.Dim(d))
		it.Events++
		if view {
			it.PageViews++
		}
		if h.Revenue != 0 {
			it.Revenue = it.Revenue.Add(h.Currency, rev)
		}
		if vis != nil {
			if it.Visitors == nil {
				it.Visitors = layout.NewItemSketch()
			}
			it.Visitors.Insert(vis)
		}
	}
	return a
}

// item returns b's item for value v, creating it.
func item(b *layout.Breakdown, v string) *layout.Item {
	if b.Values == nil {
		b.Values = map[string]*layout.Item{}
	}
	it := b.Values[v]
	if it == nil {
		it = &layout.Item{}
		b.Values[v] = it
	}
	return it
}

func (fn *hitAggFn) MergeAccumulators(a, b Aggregate) Aggregate {
	a.merge(&b)
	return a
}

func (fn *hitAggFn) ExtractOutput(a Aggregate) Aggregate {
	a.bound(0, maxValues(fn.MaxValues))
	return a
}

func maxValues(n int) int {
	if n <= 0 {
		return 10 * limits.DefaultTopK
	}
	return n
}

// sessionAggFn counts sessions into the quarter of their start: sessions,
// bounces, engaged sessions and duration in the totals and in every
// session-scoped breakdown, and the session's visitor in the exit page's
// (whose value no hit carries).
type sessionAggFn struct{ MaxValues int }

func (fn *sessionAggFn) CreateAccumulator() Aggregate { return Aggregate{} }

func (fn *sessionAggFn) AddInput(a Aggregate, se Session) Aggregate {
	q := a.quarter(se.Start)
	bounce, engaged, ms := b2i(se.Bounce()), b2i(se.Engaged()), se.Duration().Milliseconds()
	q.T.Sessions++
	q.T.Bounces += bounce
	q.T.EngagedSessions += engaged
	q.T.SessionMillis += ms
	for i, d := range layout.Dimensions {
		if !d.SessionScoped() {
			continue
		}
		it := item(&q.B[i], se.Dim(d))
		it.Sessions++
		it.Bounces += bounce
		it.EngagedSessions += engaged
		it.SessionMillis += ms
		if d == layout.DimExit && se.Visitor != "" {
			if it.Visitors == nil {
				it.Visitors = layout.NewItemSketch()
			}
			it.Visitors.Insert([]byte(se.Visitor))
		}
	}
	return a
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func (fn *sessionAggFn) MergeAccumulators(a, b Aggregate) Aggregate {
	a.merge(&b)
	return a
}

func (fn *sessionAggFn) ExtractOutput(a Aggregate) Aggregate {
	a.bound(0, maxValues(fn.MaxValues))
	return a
}

// mergeAggFn merges the aggregates of one merchant-hour (batch: the hits'
// and the sessions' into one, so that each row is written once).
type mergeAggFn struct{}

func (mergeAggFn) MergeAccumulators(a, b Aggregate) Aggregate {
	a.merge(&b)
	return a
}

// RowOptions bound the rows of a merchant-hour and stamp them.
type RowOptions struct {
	MaxNames int
	TopK     int
	// AllDims writes every breakdown row, empty ones too (a seal must
	// replace stale rows); otherwise empty breakdowns are left out.
	AllDims bool
}

// Rows turns merchant-hour aggregates (PCollection<KV<string, Aggregate>>)
// into the Bigtable rows of each (PCollection<KV<string,
// layout.RowContent>>): the hour's totals and breakdowns, and the quarter
// rows, bounded by opts. Used by the batch job; the streaming job's fold
// does the same per pane.
func Rows(s beam.Scope, aggs beam.PCollection, opts RowOptions) beam.PCollection {
	s = s.Scope("Rows")
	return beam.ParDo(s, &rowsFn{MaxNames: opts.MaxNames, TopK: opts.TopK, AllDims: opts.AllDims}, aggs)
}

type rowsFn struct {
	MaxNames, TopK int
	AllDims        bool
}

func (fn *rowsFn) ProcessElement(key string, a Aggregate, emit func(string, layout.RowContent)) {
	rows, err := rowsOf(key, &a, RowOptions{MaxNames: fn.MaxNames, TopK: fn.TopK, AllDims: fn.AllDims}, 0, 0)
	if err != nil {
		panic(err) // the transforms made the key and the aggregate
	}
	for _, r := range rows {
		emit(r.key, r.content)
	}
}

type row struct {
	key     string
	content layout.RowContent
}

// Row is one Bigtable row of an aggregate.
type Row struct {
	Key     string
	Content layout.RowContent
}

// RowsOf computes the rows of the merchant-hour aggregate a under its
// totals row key, as the batch job writes them (every breakdown row, empty
// ones too).
func RowsOf(key string, a *Aggregate, maxNames, topK int) ([]Row, error) {
	rs, err := rowsOf(key, a, RowOptions{MaxNames: maxNames, TopK: topK, AllDims: true}, 0, 0)
	if err != nil {
		return nil, err
	}
	out := make([]Row, len(rs))
	for i, r := range rs {
		out[i] = Row{Key: r.key, Content: r.content}
	}
	return out, nil
}

// rowsOf computes the rows of one merchant-hour aggregate, stamped with at
// and gen: the hour's totals (the quarters merged, names capped) and
// breakdowns (the quarters merged, then truncated to TopK), the quarter
// totals row (each quarter's names capped) and the quarter breakdown rows
// (each quarter truncated to TopK). a is left untouched.
func rowsOf(key string, a *Aggregate, opts RowOptions, at, gen int64) ([]row, error) {
	k, err := layout.ParseKey(key)
	if err != nil || k.Kind != layout.KindTotals {
		return nil, fmt.Errorf("transforms: %q is not a totals row key", key)
	}
	maxNames, topK := opts.MaxNames, opts.TopK
	if maxNames <= 0 {
		maxNames = limits.DefaultMaxNames
	}
	if topK <= 0 {
		topK = limits.DefaultTopK
	}
	cells := func(c interface{ Cells() ([]layout.Cell, error) }) ([]layout.Cell, error) { return c.Cells() }
	var out []row
	// Totals: the hour, then its quarters.
	hour := layout.Totals{UpdatedAt: at, Generation: gen}
	qt := layout.QuarterTotals{UpdatedAt: at, Generation: gen}
	for i, q := range a.Q {
		if q == nil {
			continue
		}
		must(hour.Merge(&q.T))
		t := q.T
		t.ByName = limits.CapNames(t.ByName, maxNames)
		qt.Q[i] = &t
	}
	hour.ByName = limits.CapNames(hour.ByName, maxNames)
	hc, err := cells(&hour)
	if err != nil {
		return nil, err
	}
	qc, err := cells(&qt)
	if err != nil {
		return nil, err
	}
	out = append(out, row{key, layout.RowContent{Cells: hc}}, row{layout.QuarterTotalsKey(k.Merchant, k.Time), layout.RowContent{Cells: qc}})
	// Breakdowns, dimension by dimension.
	for d, dim := range layout.Dimensions {
		hb := layout.Breakdown{Values: map[string]*layout.Item{}, UpdatedAt: at, Generation: gen}
		qb := layout.QuarterBreakdowns{UpdatedAt: at, Generation: gen}
		empty := true
		for i, q := range a.Q {
			if q == nil {
				continue
			}
			b := cloneBreakdown(&q.B[d])
			if len(b.Values) > 0 || !b.Other.Empty() {
				empty = false
			}
			must(hb.Merge(b))
			b = cloneBreakdown(&q.B[d])
			must(b.Truncate(topK))
			qb.Q[i] = b
		}
		if empty && !opts.AllDims {
			continue
		}
		must(hb.Truncate(topK))
		bc, err := cells(&hb)
		if err != nil {
			return nil, err
		}
		qbc, err := cells(&qb)
		if err != nil {
			return nil, err
		}
		out = append(out, row{layout.BreakdownKey(k.Merchant, dim, k.Time), layout.RowContent{Cells: bc}},
			row{layout.QuarterBreakdownKey(k.Merchant, dim, k.Time), layout.RowContent{Cells: qbc}})
	}
	return out, nil
}

// cloneBreakdown copies b deeply enough that merging into or truncating
// the copy leaves b as it was.
func cloneBreakdown(b *layout.Breakdown) *layout.Breakdown {
	out := &layout.Breakdown{Values: make(map[string]*layout.Item, len(b.Values)), UpdatedAt: b.UpdatedAt, Generation: b.Generation}
	for v, it := range b.Values {
		out.Values[v] = cloneItem(it)
	}
	out.Other = *cloneItem(&b.Other)
	return out
}

func cloneItem(it *layout.Item) *layout.Item {
	c := *it
	c.Revenue = layout.Money(nil).Merge(it.Revenue)
	if it.Visitors != nil {
		c.Visitors = it.Visitors.Clone()
	}
	return &c
}

// must panics on a sketch merge error: sketches of one precision always
// merge, so an error is a programming error.
func must(err error) {
	if err != nil {
		panic(fmt.Sprintf("transforms: %v", err))
	}
}

// MinuteTotals aggregates non-bot hits (PCollection<Hit>, in triggered
// windows) into per-merchant, per-UTC-minute Totals holding events, page
// views and visitors, keyed by layout.RealtimeKey: the realtime rows.
func MinuteTotals(s beam.Scope, hits beam.PCollection) beam.PCollection {
	s = s.Scope("MinuteTotals")
	keyed := beam.ParDo(s, keyHitByMinute, hits)
	return beam.CombinePerKey(s, &minuteFn{}, keyed)
}

func keyHitByMinute(h Hit) (string, Hit) {
	return layout.RealtimeKey(h.Merchant, time.UnixMicro(h.Time).UTC().Truncate(time.Minute)), h
}

type minuteFn struct{}

func (minuteFn) CreateAccumulator() layout.Totals { return layout.Totals{} }

func (minuteFn) AddInput(t layout.Totals, h Hit) layout.Totals {
	t.Events++
	if h.View() {
		t.PageViews++
	}
	if h.Visitor != "" {
		if t.Visitors == nil {
			t.Visitors = layout.NewVisitorSketch()
		}
		t.Visitors.Insert([]byte(h.Visitor))
	}
	return t
}

func (minuteFn) MergeAccumulators(a, b layout.Totals) layout.Totals {
	must(a.Merge(&b))
	return a
}

func (minuteFn) ExtractOutput(t layout.Totals) layout.Totals { return t }

// encodeAggregate: a byte with a bit per quarter present, then per present
// quarter its totals and each breakdown, each as a uvarint length and its
// packed cells.
func encodeAggregate(a Aggregate) ([]byte, error) {
	var mask byte
	for i, q := range a.Q {
		if q != nil {
			mask |= 1 << i
		}
	}
	out := []byte{mask}
	for _, q := range a.Q {
		if q == nil {
			continue
		}
		t, err := beamcoder.EncodeTotals(q.T)
		if err != nil {
			return nil, err
		}
		out = binary.AppendUvarint(out, uint64(len(t)))
		out = append(out, t...)
		for _, b := range q.B {
			enc, err := beamcoder.EncodeBreakdown(b)
			if err != nil {
				return nil, err
			}
			out = binary.AppendUvarint(out, uint64(len(enc)))
			out = append(out, enc...)
		}
	}
	return binary.AppendVarint(out, a.Latest), nil
}

func decodeAggregate(p []byte) (Aggregate, error) {
	var a Aggregate
	if len(p) == 0 {
		return a, errShortState
	}
	mask := p[0]
	p = p[1:]
	next := func() ([]byte, error) {
		l, n := binary.Uvarint(p)
		if n <= 0 || uint64(len(p)-n) < l {
			return nil, errShortState
		}
		part := p[n : n+int(l)]
		p = p[n+int(l):]
		return part, nil
	}
	for i := range a.Q {
		if mask&(1<<i) == 0 {
			continue
		}
		q := newQuarterAgg()
		part, err := next()
		if err != nil {
			return a, err
		}
		if q.T, err = beamcoder.DecodeTotals(part); err != nil {
			return a, err
		}
		for d := range q.B {
			if part, err = next(); err != nil {
				return a, err
			}
			if q.B[d], err = beamcoder.DecodeBreakdown(part); err != nil {
				return a, err
			}
		}
		a.Q[i] = q
	}
	latest, n := binary.Varint(p)
	if n <= 0 {
		return a, errShortState
	}
	a.Latest, p = latest, p[n:]
	if len(p) != 0 {
		return a, fmt.Errorf("transforms: %d bytes after an hour aggregate", len(p))
	}
	return a, nil
}
