package queryapi

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/footfall/footfall/internal/layout"
)

// SummaryResponse is the body of GET /v1/summary.
type SummaryResponse struct {
	Merchant     string   `json:"merchant"`
	Metrics      []string `json:"metrics"`
	TimeZone     string   `json:"timezone"`
	From         string   `json:"from"`
	To           string   `json:"to"`
	PreviousFrom string   `json:"previous_from"`
	PreviousTo   string   `json:"previous_to"`
	// Current and Previous hold one value per metric; Change one Change
	// per metric (RevenueChange per currency for revenue).
	Current  map[string]any `json:"current"`
	Previous map[string]any `json:"previous"`
	Change   map[string]any `json:"change"`
	// Sealed and PreviousSealed: every hour of the period is sealed.
	Sealed         bool `json:"sealed"`
	PreviousSealed bool `json:"previous_sealed"`
	Freshness
}

// Change compares a metric with the previous period: Absolute is current
// minus previous; Percent is that relative to previous, null when the
// previous value is 0 or null.
type Change struct {
	Absolute any      `json:"absolute"`
	Percent  *float64 `json:"percent"`
}

// RevenueChange is Change for one currency.
type RevenueChange struct {
	Absolute Money    `json:"absolute"`
	Percent  *float64 `json:"percent"`
}

// previousPeriod is the period of the same length just before [from, to):
// the same number of calendar days when both ends are local midnights in
// loc (so a DST change does not shift it by an hour), else the same duration.
func previousPeriod(from, to time.Time, loc *time.Location) (time.Time, time.Time) {
	lf, lt := from.In(loc), to.In(loc)
	if lf.Equal(floor(from, IntervalDay, loc)) && lt.Equal(floor(to, IntervalDay, loc)) {
		days := int(time.Date(lt.Year(), lt.Month(), lt.Day(), 0, 0, 0, 0, time.UTC).Sub(time.Date(lf.Year(), lf.Month(), lf.Day(), 0, 0, 0, 0, time.UTC)) / (24 * time.Hour))
		return localMidnight(lf.Year(), lf.Month(), lf.Day()-days, loc), from
	}
	return from.Add(-to.Sub(from)), from
}

// quarterRange rounds [from, to) out to whole UTC quarter hours, the
// finest period stored.
func quarterRange(from, to time.Time) (time.Time, time.Time) {
	f := from.Truncate(layout.Quarter)
	t := to.Truncate(layout.Quarter)
	if t.Before(to) {
		t = t.Add(layout.Quarter)
	}
	return f, t
}

// dayPieces splits [from, to) into local days of loc, the first and last
// clipped to the range, so that whole days come from the day cache.
func dayPieces(from, to time.Time, loc *time.Location) []Bucket {
	var out []Bucket
	for s := from; s.Before(to); {
		e := next(floor(s, IntervalDay, loc), IntervalDay, loc)
		if !e.After(s) { // cannot happen with a sane zone; never loop forever
			e = s.Add(time.Hour)
		}
		if e.After(to) {
			e = to
		}
		out = append(out, Bucket{s, e})
		s = e
	}
	return out
}

// periodTotals merges the totals of [from, to) from day pieces, which the
// cache shares with daily series. The pieces of its sealed part are also
// merged into one sketch that is cached itself (keyed on that span and its
// seal records, like a bucket), so that a request estimates one sealed
// sketch and its live hours' instead of one sketch per day.
func (s *Server) periodTotals(ctx context.Context, merchant string, from, to time.Time, loc *time.Location, st *state) (*agg, error) {
	sealedEnd := from
	if edge := st.SealedThrough.Truncate(time.Hour); !st.SealedThrough.IsZero() && edge.After(from) {
		sealedEnd = edge
		if to.Before(edge) {
			sealedEnd = to
		}
	}
	var parts []*agg
	if pieces := dayPieces(from, sealedEnd, loc); len(pieces) > 1 {
		now := s.now()
		k := cacheKey{merchant: merchant, kind: 'p', start: from.Unix(), end: sealedEnd.Unix()}
		fp := st.fingerprint(from, sealedEnd)
		v, ok := s.cache.get(k, fp, now)
		s.countCache(btoi(ok), 1-btoi(ok))
		if ok {
			parts = append(parts, v.(*agg))
		} else {
			ps, err := s.totals(ctx, merchant, pieces, st)
			if err != nil {
				return nil, err
			}
			m, err := mergeAggsInto(ps, layout.VisitorPrecision)
			if err != nil {
				return nil, err
			}
			s.cache.put(k, fp, now, m)
			parts = append(parts, m)
		}
	} else {
		sealedEnd = from // zero or one piece: the day cache serves it
	}
	if to.After(sealedEnd) {
		ps, err := s.totals(ctx, merchant, dayPieces(sealedEnd, to, loc), st)
		if err != nil {
			return nil, err
		}
		parts = append(parts, ps...)
	}
	return mergeAggs(parts)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *Server) handleSummary() fiber.Handler {
	return handleRanged(s, "/v1/summary", parseSummaryRequest,
		func(r summaryRequest) (time.Time, time.Time) { return r.PrevFrom, r.To },
		func(ctx context.Context, merchant string, r summaryRequest, st *state) (any, error) {
			return s.summary(ctx, merchant, r, st)
		})
}

// summary answers one summary request.
func (s *Server) summary(ctx context.Context, merchant string, req summaryRequest, st *state) (*SummaryResponse, error) {
	loc := req.Range.Loc
	cur, err := s.periodTotals(ctx, merchant, req.From, req.To, loc, st)
	if err != nil {
		return nil, err
	}
	prev, err := s.periodTotals(ctx, merchant, req.PrevFrom, req.PrevTo, loc, st)
	if err != nil {
		return nil, err
	}
	resp := &SummaryResponse{
		Merchant: merchant, Metrics: req.Metrics, TimeZone: loc.String(),
		From: formatTime(req.From, loc), To: formatTime(req.To, loc),
		PreviousFrom: formatTime(req.PrevFrom, loc), PreviousTo: formatTime(req.PrevTo, loc),
		Current: map[string]any{}, Previous: map[string]any{}, Change: map[string]any{},
		Sealed: st.sealed(req.To), PreviousSealed: st.sealed(req.PrevTo),
		Freshness: freshnessOf(st, loc),
	}
	for _, m := range req.Metrics {
		cv, pv := value(m, cur, ""), value(m, prev, "")
		resp.Current[m], resp.Previous[m] = cv, pv
		resp.Change[m] = change(cv, pv)
	}
	return resp, nil
}

func change(cur, prev any) any {
	pct := func(c, p float64) *float64 {
		if p == 0 {
			return nil
		}
		v := round((c-p)/p*100, 2)
		return &v
	}
	switch c := cur.(type) {
	case int64:
		p := prev.(int64)
		return Change{Absolute: c - p, Percent: pct(float64(c), float64(p))}
	case float64:
		p, ok := prev.(float64)
		if !ok {
			return Change{}
		}
		return Change{Absolute: round(c-p, 4), Percent: pct(c, p)}
	case Revenue:
		p := prev.(Revenue)
		out := map[string]RevenueChange{}
		diff := func(code string, cur, prev layout.Amount) {
			sc := max(cur.Scale, prev.Scale)
			c, pv := cur.Rescale(sc), prev.Rescale(sc)
			out[code] = RevenueChange{Absolute: money(c.Plus(pv.Neg())), Percent: pct(float64(c.Minor), float64(pv.Minor))}
		}
		for code, cm := range c {
			diff(code, cm.amount(), p[code].amount())
		}
		for code, pm := range p {
			if _, ok := c[code]; !ok {
				diff(code, layout.Amount{Scale: pm.Scale}, pm.amount())
			}
		}
		return out
	}
	return Change{} // cur is null (no sessions): no change can be stated
}
