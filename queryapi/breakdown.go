package queryapi

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/axiomhq/hyperloglog"
	"github.com/gofiber/fiber/v2"

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
	// Rows are the top values by events (ties by value), each with
	// "value" and one entry per metric.
	Rows []Point `json:"rows"`
	// Other is everything not in Rows: the values beyond limit and what
	// each hour had already folded into (other).
	Other Point `json:"other"`
	// Total is all values together: for events, pageviews and revenue the
	// sum of Rows and Other.
	Total  Point  `json:"total"`
	Note   string `json:"note"`
	Sealed bool   `json:"sealed"`
	Freshness
}

const breakdownNote = "each stored hour keeps its top values and folds the rest into (other); over a range, a value that was " +
	"outside the top values in some hours is counted in other for those hours, so its row can be lower than its true total. " +
	"events, pageviews and revenue of rows plus other add up to total; visitors do not add up, since one visitor can have several values"

// ranked is a computed breakdown: the top rows, the rest, and the total.
type ranked struct {
	values []string
	rows   []*agg
	other  *agg
	total  *agg
}

func (s *Server) handleBreakdown() fiber.Handler {
	const route = "/v1/breakdown"
	return func(c *fiber.Ctx) error {
		q, err := newQuery(c, route)
		if err != nil {
			return err
		}
		merchant := merchantOf(c)
		dim, err := parseDimension(q.get("dimension"))
		if err != nil {
			return err
		}
		metrics, err := parseMetrics(q.get("metrics"), itemMetrics, " per dimension value (breakdown rows hold events, pageviews, visitors and revenue)")
		if err != nil {
			return err
		}
		limit, err := parseLimit(q.get("limit"))
		if err != nil {
			return err
		}
		rng, err := parseRange(q, s.cfg.MaxRangeDays)
		if err != nil {
			return err
		}
		from, to := hourRange(rng.From, rng.To)
		if err := checkWholeHours(rng.Loc, from, to); err != nil {
			return err
		}
		st, err := s.freshState(c.UserContext())
		if err != nil {
			return err
		}
		return s.respond(c, s.sealedSeed(st, from, to), func() (any, error) {
			r, err := s.rank(c.UserContext(), merchant, dim, from, to, limit, rankBy(metrics), st)
			if err != nil {
				return nil, err
			}
			render := func(a *agg) Point {
				p := make(Point, len(metrics)+1)
				for _, m := range metrics {
					p[m] = value(m, a, "")
				}
				return p
			}
			resp := BreakdownResponse{
				Merchant: merchant, Dimension: string(dim), Metrics: metrics, Limit: limit, TimeZone: rng.Loc.String(),
				From: formatTime(from, rng.Loc), To: formatTime(to, rng.Loc),
				Rows: make([]Point, len(r.rows)), Other: render(r.other), Total: render(r.total),
				Note: breakdownNote, Sealed: st.sealed(to), Freshness: freshnessOf(st, rng.Loc),
			}
			for i, a := range r.rows {
				p := render(a)
				p["value"] = r.values[i]
				resp.Rows[i] = p
			}
			return resp, nil
		})
	}
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
		b, err := s.mergedBreakdown(ctx, merchant, dim, from, to, st)
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
	sealed := &layout.Breakdown{}
	if edge.After(from) {
		k := cacheKey{merchant: merchant, kind: 'b', dim: dim, start: from.Unix(), end: edge.Unix()}
		fp := st.fingerprint(from, edge)
		if v, ok := s.cache.get(k, fp, now); ok {
			s.countCache(1, 0)
			sealed = v.(*layout.Breakdown)
		} else {
			s.countCache(0, 1)
			b, err := s.mergedBreakdown(ctx, merchant, dim, from, edge, st)
			if err != nil {
				return nil, err
			}
			s.cache.put(k, fp, now, b)
			sealed = b
		}
	}
	tail, err := s.mergedBreakdown(ctx, merchant, dim, edge, to, st)
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
func overlay(a, b *layout.Breakdown) (*layout.Breakdown, error) {
	out := &layout.Breakdown{Values: make(map[string]*layout.Item, len(a.Values)+len(b.Values))}
	for v, it := range a.Values {
		out.Values[v] = it
	}
	for v, it := range b.Values {
		if cur, ok := a.Values[v]; ok {
			m := &layout.Item{}
			if err := m.Merge(cur); err != nil {
				return nil, err
			}
			if err := m.Merge(it); err != nil {
				return nil, err
			}
			it = m
		}
		out.Values[v] = it
	}
	if err := out.Other.Merge(&a.Other); err != nil {
		return nil, err
	}
	if err := out.Other.Merge(&b.Other); err != nil {
		return nil, err
	}
	return out, nil
}

// mergedBreakdown reads and merges the hourly breakdowns of [from, to)
// that are to be served.
func (s *Server) mergedBreakdown(ctx context.Context, merchant string, dim layout.Dimension, from, to time.Time, st *state) (*layout.Breakdown, error) {
	hours, err := s.store.Breakdowns(ctx, merchant, dim, from, to, "")
	if err != nil {
		return nil, err
	}
	hours = st.currentBreakdowns(hours)
	b := &layout.Breakdown{Values: map[string]*layout.Item{}}
	dense := to.Sub(from) > denseAfter
	for _, h := range hours {
		for v, it := range h.Breakdown.Values {
			acc := b.Values[v]
			if acc == nil {
				acc = newItemAcc(dense)
				b.Values[v] = acc
			}
			if err := acc.Merge(it); err != nil {
				return nil, err
			}
		}
		if dense && b.Other.Visitors == nil {
			b.Other = *newItemAcc(true)
		}
		if err := b.Other.Merge(&h.Breakdown.Other); err != nil {
			return nil, err
		}
	}
	return b, nil
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
// requested metrics if it is events, pageviews or visitors, else events
// (revenue has one amount per currency).
func rankBy(metrics []string) string {
	if len(metrics) > 0 && (metrics[0] == "pageviews" || metrics[0] == "visitors") {
		return metrics[0]
	}
	return "events"
}

// rankBreakdown orders b's values by the metric by (ties by events, then
// by value), keeps the first limit, and folds the rest into other. It does
// not modify b.
func rankBreakdown(b *layout.Breakdown, limit int, by string) (*ranked, error) {
	vals := make([]string, 0, len(b.Values))
	score := make(map[string]int64, len(b.Values))
	for v, it := range b.Values {
		vals = append(vals, v)
		switch by {
		case "pageviews":
			score[v] = it.PageViews
		case "visitors":
			score[v] = it.VisitorCount()
		default:
			score[v] = it.Events
		}
	}
	sort.Slice(vals, func(i, j int) bool {
		a, c := b.Values[vals[i]], b.Values[vals[j]]
		if si, sj := score[vals[i]], score[vals[j]]; si != sj {
			return si > sj
		}
		if a.Events != c.Events {
			return a.Events > c.Events
		}
		return strings.Compare(vals[i], vals[j]) < 0
	})
	top := vals[:min(limit, len(vals))]
	many := len(vals)-len(top) > 16
	other := newItemAcc(many)
	if err := other.Merge(&b.Other); err != nil {
		return nil, err
	}
	for _, v := range vals[len(top):] {
		if err := other.Merge(b.Values[v]); err != nil {
			return nil, err
		}
	}
	total := newItemAcc(many || len(top) > 16)
	if err := total.Merge(other); err != nil {
		return nil, err
	}
	r := &ranked{values: top, rows: make([]*agg, len(top)), other: itemAgg(other)}
	for i, v := range top {
		r.rows[i] = itemAgg(b.Values[v])
		if err := total.Merge(b.Values[v]); err != nil {
			return nil, err
		}
	}
	r.total = itemAgg(total)
	return r, nil
}
