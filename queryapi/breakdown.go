package queryapi

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/axiomhq/hyperloglog"
	"github.com/gofiber/fiber/v2"
	"golang.org/x/sync/errgroup"

	"github.com/footfall/footfall/internal/layout"
)

// BreakdownResponse is the body of GET /v1/breakdown.
type BreakdownResponse struct {
	Merchant  string   `json:"merchant"`
	Dimension string   `json:"dimension"`
	Metrics   []string `json:"metrics"`
	Limit     int      `json:"limit"`
	TimeZone  string   `json:"timezone"`
	From      string   `json:"from"`
	To        string   `json:"to"`
	// Rows are the top values by the ranking metric (ties by events, then
	// by value), each with "value" and one entry per metric.
	Rows []Point `json:"rows"`
	// Other is everything not in Rows: the values beyond limit and what
	// each hour had already folded into (other).
	Other Point `json:"other"`
	// Total is the range's totals, read from the totals rows: the same
	// numbers GET /v1/summary answers for the same range. For events,
	// pageviews and revenue it is the sum of Rows and Other; when the
	// stored rows disagree, TotalNote says by how much and why.
	Total     Point  `json:"total"`
	TotalNote string `json:"total_note,omitempty"`
	Note      string `json:"note"`
	Sealed    bool   `json:"sealed"`
	Freshness
}

const breakdownNote = "each stored hour keeps its top values and folds the rest into (other); over a range, a value that was " +
	"outside the top values in some hours is counted in other for those hours, so its row can be lower than its true total. " +
	"events, pageviews and revenue of rows plus other add up to total; visitors do not add up, since one visitor can have several values. " +
	"total is the summary of the same range (visitors from the totals rows' sketches)"

// mergedBreakdown is the merged breakdown of a range: at most
// BREAKDOWN_MAX_VALUES values plus other. Once cached it is shared and
// only read.
type mergedBreakdown struct {
	values map[string]*layout.Item
	other  layout.Item
	folded int // values folded into other while merging (over the bound)
	bytes  int
}

func (b *mergedBreakdown) sizeBytes() int { return b.bytes }

// ranked is a computed breakdown: the top rows and the rest. Its aggs are
// estimated when it is built.
type ranked struct {
	values []string
	rows   []*agg
	other  *agg
	folded int
	bytes  int
}

func (r *ranked) sizeBytes() int { return r.bytes }

func (s *Server) handleBreakdown() fiber.Handler {
	return handleRanged(s, "/v1/breakdown", parseBreakdownRequest,
		func(r breakdownRequest) (time.Time, time.Time) { return r.From, r.To },
		func(ctx context.Context, merchant string, r breakdownRequest, st *state) (any, error) {
			return s.breakdown(ctx, merchant, r, st)
		})
}

// breakdown answers one breakdown request.
func (s *Server) breakdown(ctx context.Context, merchant string, req breakdownRequest, st *state) (*BreakdownResponse, error) {
	// The breakdown rows and the totals rows are read at the same time.
	var total *agg
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		total, err = s.periodTotals(gctx, merchant, req.From, req.To, req.Range.Loc, st)
		return err
	})
	r, err := s.rank(gctx, merchant, req.Dim, req.From, req.To, req.Limit, rankBy(req.Dim, req.Metrics), st)
	if gerr := g.Wait(); err == nil {
		err = gerr
	}
	if err != nil {
		return nil, err
	}
	render := func(a *agg) Point {
		p := make(Point, len(req.Metrics)+1)
		for _, m := range req.Metrics {
			p[m] = value(m, a, "")
		}
		return p
	}
	loc := req.Range.Loc
	resp := &BreakdownResponse{
		Merchant: merchant, Dimension: string(req.Dim), Metrics: req.Metrics, Limit: req.Limit, TimeZone: loc.String(),
		From: formatTime(req.From, loc), To: formatTime(req.To, loc),
		Rows: make([]Point, len(r.rows)), Other: render(r.other), Total: render(total),
		Note: breakdownNote, Sealed: st.sealed(req.To), Freshness: freshnessOf(st, loc),
	}
	if r.folded > 0 {
		resp.Note += fmt.Sprintf("; the range had more than %d distinct values, the most that are merged: %d less frequent ones were folded into other",
			s.cfg.BreakdownMaxValues, r.folded)
	}
	for i, a := range r.rows {
		p := render(a)
		p["value"] = r.values[i]
		resp.Rows[i] = p
	}
	resp.TotalNote = totalNote(req.Dim, r, total)
	return resp, nil
}

// totalNote explains a difference between rows + other and the totals
// rows in what adds up for dim ("" when they agree): events, page views
// and revenue where items hold event metrics, sessions where they hold
// session metrics.
func totalNote(dim layout.Dimension, r *ranked, total *agg) string {
	sum := &layout.Totals{}
	for _, a := range append([]*agg{r.other}, r.rows...) {
		c := *a.t
		c.Visitors = nil
		if err := sum.Merge(&c); err != nil {
			return "rows plus other could not be added up: " + err.Error()
		}
	}
	t := total.t
	var diffs []string
	if dim.EventMetrics() {
		if sum.Events != t.Events || sum.PageViews != t.PageViews {
			diffs = append(diffs, fmt.Sprintf("%d events and %d page views where the totals rows have %d and %d", sum.Events, sum.PageViews, t.Events, t.PageViews))
		}
		if !sameMoney(sum.Revenue, t.Revenue) {
			diffs = append(diffs, "a different revenue")
		}
	}
	if dim.SessionScoped() && sum.Sessions != t.Sessions {
		diffs = append(diffs, fmt.Sprintf("%d sessions where the totals rows have %d", sum.Sessions, t.Sessions))
	}
	if len(diffs) == 0 {
		return ""
	}
	return "rows plus other count " + strings.Join(diffs, ", and ") + ": the streaming job writes an open hour's totals " +
		"and breakdown rows in separate mutations, so a provisional hour can be read between the two; the difference " +
		"disappears within seconds, and at the latest when the hour is sealed"
}

func sameMoney(a, b layout.Money) bool {
	for c, x := range a {
		y := b[c]
		sc := max(x.Scale, y.Scale)
		if x.Rescale(sc) != y.Rescale(sc) {
			return false
		}
	}
	for c := range b {
		if _, ok := a[c]; !ok && b[c].Minor != 0 {
			return false
		}
	}
	return true
}

// rank merges the hourly breakdowns of [from, to) and ranks the values.
// A fully sealed range's ranking is cached; otherwise the sealed part's
// merged breakdown is cached and the rest read on every request.
func (s *Server) rank(ctx context.Context, merchant string, dim layout.Dimension, from, to time.Time, limit int, by string, st *state) (*ranked, error) {
	now := s.now()
	if st.sealed(to) {
		k := cacheKey{merchant: merchant, kind: 'B', dim: dim, value: fmt.Sprint(limit, by), start: from.Unix(), end: to.Unix()}
		fp := st.fingerprint(from, to)
		if v, ok := s.cache.get(k, fp, now); ok {
			s.countCache(1, 0)
			return v.(*ranked), nil
		}
		s.countCache(0, 1)
		b, err := s.mergeBreakdown(ctx, merchant, dim, from, to, by, st)
		if err != nil {
			return nil, err
		}
		r, err := rankBreakdown(b, limit, by)
		if err != nil {
			return nil, err
		}
		s.cache.put(k, fp, now, r)
		return r, nil
	}
	edge := from
	if !st.SealedThrough.IsZero() && st.SealedThrough.After(from) {
		edge = st.SealedThrough.Truncate(time.Hour)
	}
	sealed := &mergedBreakdown{}
	if edge.After(from) {
		k := cacheKey{merchant: merchant, kind: 'b', dim: dim, value: by, start: from.Unix(), end: edge.Unix()}
		fp := st.fingerprint(from, edge)
		if v, ok := s.cache.get(k, fp, now); ok {
			s.countCache(1, 0)
			sealed = v.(*mergedBreakdown)
		} else {
			s.countCache(0, 1)
			b, err := s.mergeBreakdown(ctx, merchant, dim, from, edge, by, st)
			if err != nil {
				return nil, err
			}
			s.cache.put(k, fp, now, b)
			sealed = b
		}
	}
	tail, err := s.mergeBreakdown(ctx, merchant, dim, edge, to, by, st)
	if err != nil {
		return nil, err
	}
	merged, err := overlay(sealed, tail)
	if err != nil {
		return nil, err
	}
	return rankBreakdown(merged, limit, by)
}

// overlay returns the sum of a (cached, shared) and b without copying a:
// values only in a are shared, values in both are merged into new items.
// The result must only be read.
func overlay(a, b *mergedBreakdown) (*mergedBreakdown, error) {
	if len(b.values) == 0 && b.other.Events == 0 && b.other.Visitors == nil {
		return a, nil
	}
	out := &mergedBreakdown{values: make(map[string]*layout.Item, len(a.values)+len(b.values)), folded: a.folded + b.folded}
	for v, it := range a.values {
		out.values[v] = it
	}
	for v, it := range b.values {
		if cur, ok := a.values[v]; ok {
			m := &layout.Item{}
			if err := m.Merge(cur); err != nil {
				return nil, err
			}
			if err := m.Merge(it); err != nil {
				return nil, err
			}
			it = m
		}
		out.values[v] = it
	}
	if err := out.other.Merge(&a.other); err != nil {
		return nil, err
	}
	if err := out.other.Merge(&b.other); err != nil {
		return nil, err
	}
	return out, nil
}

// itemAcc accumulates one value's items; its sketch turns dense after
// denseMerges merges (merging many sparse sketches into a sparse one
// rebuilds its sorted list again and again).
type itemAcc struct {
	layout.Item
	merges int
	dense  bool
}

const denseMerges = 24

func (a *itemAcc) merge(o *layout.Item) error {
	a.merges++
	if !a.dense && a.merges >= denseMerges && o.Visitors != nil {
		if err := a.densify(); err != nil {
			return err
		}
	}
	return a.Item.Merge(o)
}

// densify turns the accumulator's sketch dense (a copy: the sparse one may
// belong to a decoded row, never to the cache).
func (a *itemAcc) densify() error {
	d, err := hyperloglog.NewSketch(layout.BreakdownPrecision, false)
	if err != nil {
		return err
	}
	if err := d.Merge(a.Visitors); err != nil {
		return err
	}
	a.Visitors, a.dense = d, true
	return nil
}

// mergeBreakdown reads and merges the breakdowns of [from, to) that are
// to be served (hourly rows, and quarter rows for an hour from or to
// cuts), as they are read. It keeps at most
// cfg.BreakdownMaxValues values: beyond that, the lower-ranked half is
// folded into other (a value folded early that comes back later starts
// again, its earlier counts staying in other: rows can be lower than the
// truth, never higher, and rows + other still add up).
func (s *Server) mergeBreakdown(ctx context.Context, merchant string, dim layout.Dimension, from, to time.Time, by string, st *state) (*mergedBreakdown, error) {
	accs := map[string]*itemAcc{}
	other := &itemAcc{}
	folded := 0
	maxValues := s.cfg.BreakdownMaxValues
	add := func(bd *layout.Breakdown) error {
		for v, it := range bd.Values {
			if acc := accs[v]; acc != nil {
				if err := acc.merge(it); err != nil {
					return err
				}
				continue
			}
			// The decoded row belongs to this request: its item becomes
			// the accumulator without a copy.
			accs[v] = &itemAcc{Item: *it}
		}
		if err := other.merge(&bd.Other); err != nil {
			return err
		}
		if len(accs) > maxValues {
			n, err := foldLowest(accs, other, maxValues/2, by)
			if err != nil {
				return err
			}
			folded += n
		}
		return nil
	}
	// Whole hours from hourly rows, the hours from or to cuts from the
	// quarters inside [from, to) of quarter rows.
	plan := planReads([]Bucket{{from, to}}, []time.Time{from, to}, s.now().Add(futureSkew).Truncate(time.Hour).Add(time.Hour))
	if len(plan.cut) > 0 {
		err := s.store.QuarterBreakdowns(ctx, merchant, dim, plan.cut, "", func(q QuarterBreakdownHour) error {
			if !st.current(q.Start, q.Sealed, q.Breakdowns.UpdatedAt) {
				return nil
			}
			for i, bd := range q.Breakdowns.Q {
				if bd != nil && plan.covers(layout.QuarterStart(q.Start, i)) {
					if err := add(bd); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	if len(plan.whole) > 0 {
		err := s.store.Breakdowns(ctx, merchant, dim, plan.whole, "", func(h BreakdownHour) error {
			if !st.current(h.Start, h.Sealed, h.Breakdown.UpdatedAt) {
				return nil
			}
			return add(h.Breakdown)
		})
		if err != nil {
			return nil, err
		}
	}
	b := &mergedBreakdown{values: make(map[string]*layout.Item, len(accs)), other: other.Item, folded: folded, bytes: 64}
	for v, a := range accs {
		b.values[v] = &a.Item
		b.bytes += 96 + len(v) + itemBytes(&a.Item)
	}
	b.bytes += itemBytes(&b.other)
	return b, nil
}

func itemBytes(it *layout.Item) int {
	return estimateSketch(it.Visitors).bytes + 32*len(it.Revenue)
}

// foldLowest keeps the keep values ranked highest by by (events for
// visitors, which are not estimated while merging) and merges the rest
// into other. It returns how many it folded.
func foldLowest(accs map[string]*itemAcc, other *itemAcc, keep int, by string) (int, error) {
	vals := slices.Collect(maps.Keys(accs))
	sort.Slice(vals, func(i, j int) bool {
		a, b := &accs[vals[i]].Item, &accs[vals[j]].Item
		if sa, sb := countScore(a, by), countScore(b, by); sa != sb {
			return sa > sb
		}
		return vals[i] < vals[j]
	})
	if !other.dense {
		if err := other.densify(); err != nil { // other takes many values
			return 0, err
		}
	}
	for _, v := range vals[keep:] {
		if err := other.merge(&accs[v].Item); err != nil {
			return 0, err
		}
		delete(accs, v)
	}
	return len(vals) - keep, nil
}

// newItemAcc returns an empty item, with a dense sketch when many sketches
// will be merged into it.
func newItemAcc(dense bool) *layout.Item {
	it := &layout.Item{}
	if dense {
		sk, err := hyperloglog.NewSketch(layout.BreakdownPrecision, false)
		if err != nil {
			panic(err)
		}
		it.Visitors = sk
	}
	return it
}

// rankBy is the metric a breakdown is ranked by: the first of the
// requested metrics if it is a count (events, pageviews, visitors,
// sessions, engaged_sessions), else events — or sessions for a dimension
// without event metrics (exit_page). Rates and revenue (one amount per
// currency) do not rank.
func rankBy(dim layout.Dimension, metrics []string) string {
	if len(metrics) > 0 {
		switch metrics[0] {
		case MetricEvents, MetricPageViews, MetricVisitors, MetricSessions, MetricEngaged:
			return metrics[0]
		}
	}
	if !dim.EventMetrics() {
		return MetricSessions
	}
	return MetricEvents
}

// countScore is an item's score for by, without estimating visitors
// (events stand in for them, sessions where there are no events).
func countScore(it *layout.Item, by string) int64 {
	switch by {
	case MetricPageViews:
		return it.PageViews
	case MetricSessions:
		return it.Sessions
	case MetricEngaged:
		return it.EngagedSessions
	}
	if it.Events == 0 {
		return it.Sessions
	}
	return it.Events
}

// rankBreakdown orders b's values by the metric by (ties by events, then
// by value), keeps the first limit, and folds the rest into other. It only
// reads b, whose items may be shared with other requests.
func rankBreakdown(b *mergedBreakdown, limit int, by string) (*ranked, error) {
	vals := make([]string, 0, len(b.values))
	score := make(map[string]int64, len(b.values))
	for v, it := range b.values {
		vals = append(vals, v)
		if by == MetricVisitors {
			score[v] = estimateSketch(it.Visitors).count
		} else {
			score[v] = countScore(it, by)
		}
	}
	sort.Slice(vals, func(i, j int) bool {
		a, c := b.values[vals[i]], b.values[vals[j]]
		if si, sj := score[vals[i]], score[vals[j]]; si != sj {
			return si > sj
		}
		if a.Events != c.Events {
			return a.Events > c.Events
		}
		if a.Sessions != c.Sessions {
			return a.Sessions > c.Sessions
		}
		return strings.Compare(vals[i], vals[j]) < 0
	})
	top := vals[:min(limit, len(vals))]
	other := newItemAcc(len(vals)-len(top) > 16)
	if err := other.Merge(&b.other); err != nil {
		return nil, err
	}
	for _, v := range vals[len(top):] {
		if err := other.Merge(b.values[v]); err != nil {
			return nil, err
		}
	}
	r := &ranked{values: top, rows: make([]*agg, len(top)), other: itemAgg(other), folded: b.folded}
	r.bytes = 64 + r.other.bytes
	for i, v := range top {
		r.rows[i] = itemAgg(b.values[v])
		r.bytes += 64 + len(v) + r.rows[i].bytes
	}
	return r, nil
}
