package queryapi

import (
	"fmt"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Point is one bucket of a time series: its start and end, whether all its
// hours are sealed, and one value per metric.
type Point map[string]any

// TimeseriesResponse is the body of GET /v1/timeseries.
type TimeseriesResponse struct {
	Merchant string      `json:"merchant"`
	Metrics  []string    `json:"metrics"`
	Interval string      `json:"interval"`
	TimeZone string      `json:"timezone"`
	From     string      `json:"from"`
	To       string      `json:"to"`
	Event    string      `json:"event,omitempty"`
	Filter   *FilterInfo `json:"filter,omitempty"`
	Points   []Point     `json:"points"`
	Freshness
}

// FilterInfo echoes a series' filter and what it can and cannot count.
type FilterInfo struct {
	Dimension string `json:"dimension"`
	Value     string `json:"value"`
	Note      string `json:"note"`
}

const filterNote = "served from hourly breakdown rows, which keep each hour's top values and fold the rest into (other): " +
	"in an hour where this value was not among the top values it is counted in (other), not here; " +
	"each point's in_other_hours says in how many of its hours that may have happened"

func (s *Server) handleTimeseries() fiber.Handler {
	const route = "/v1/timeseries"
	return func(c *fiber.Ctx) error {
		q, err := newQuery(c, route)
		if err != nil {
			return err
		}
		merchant := merchantOf(c)
		filter, err := parseFilter(q.get("filters"))
		if err != nil {
			return err
		}
		supported, why := allMetrics, ""
		if filter != nil {
			supported, why = itemMetrics, " with filters (breakdown rows hold events, pageviews, visitors and revenue per value)"
		}
		metrics, err := parseMetrics(q.get("metrics"), supported, why)
		if err != nil {
			return err
		}
		ev := q.get("event")
		if ev != "" && filter != nil {
			return badRequest("event and filters cannot be combined; to filter by event name use filters=event==%s", ev)
		}
		iv := q.get("interval")
		if iv == "" {
			iv = string(IntervalHour)
		}
		interval, err := parseInterval(iv)
		if err != nil {
			return err
		}
		rng, err := parseRange(q, s.cfg.MaxRangeDays)
		if err != nil {
			return err
		}
		bs, err := buckets(rng.From, rng.To, interval, rng.Loc, s.cfg.MaxPoints)
		if err != nil {
			return err
		}
		from, to := bs[0].Start, bs[len(bs)-1].End
		if err := checkWholeHours(rng.Loc, from, to); err != nil {
			return err
		}
		st, err := s.freshState(c.UserContext())
		if err != nil {
			return err
		}
		return s.respond(c, s.sealedSeed(st, from, to), func() (any, error) {
			var aggs []*agg
			if filter != nil {
				aggs, err = s.filtered(c.UserContext(), merchant, filter, bs, st)
			} else {
				aggs, err = s.totals(c.UserContext(), merchant, bs, st)
			}
			if err != nil {
				return nil, err
			}
			resp := TimeseriesResponse{
				Merchant: merchant, Metrics: metrics, Interval: string(interval), TimeZone: rng.Loc.String(),
				From: formatTime(from, rng.Loc), To: formatTime(to, rng.Loc), Event: ev,
				Points: make([]Point, len(bs)), Freshness: freshnessOf(st, rng.Loc),
			}
			if filter != nil {
				resp.Filter = &FilterInfo{Dimension: string(filter.Dim), Value: filter.Value, Note: filterNote}
			}
			for i, b := range bs {
				p := make(Point, len(metrics)+4)
				p["start"] = formatTime(b.Start, rng.Loc)
				p["end"] = formatTime(b.End, rng.Loc)
				p["sealed"] = st.sealed(b.End)
				for _, m := range metrics {
					p[m] = value(m, aggs[i], ev)
				}
				if filter != nil {
					p["in_other_hours"] = aggs[i].inOther
				}
				resp.Points[i] = p
			}
			return resp, nil
		})
	}
}

// sealedSeed is the ETag seed of an answer over [from, to), or "" when
// some of its hours are not sealed. It changes when one of the hours is
// re-sealed, and at the latest every SealedTTL (the cache's own bound).
func (s *Server) sealedSeed(st *state, from, to time.Time) string {
	if !st.sealed(to) {
		return ""
	}
	epoch := int64(0)
	if ttl := int64(s.cfg.SealedTTL / time.Second); ttl > 0 {
		epoch = s.now().Unix() / ttl
	}
	return fmt.Sprintf("%x/%d", st.fingerprint(from, to), epoch)
}
