package queryapi

import (
	"context"
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
	return handleRanged(s, "/v1/timeseries", parseTimeseriesRequest,
		func(r timeseriesRequest) (time.Time, time.Time) {
			return r.Buckets[0].Start, r.Buckets[len(r.Buckets)-1].End
		},
		func(ctx context.Context, merchant string, r timeseriesRequest, st *state) (any, error) {
			return s.timeseries(ctx, merchant, r, st)
		})
}

// timeseries answers one time-series request.
func (s *Server) timeseries(ctx context.Context, merchant string, req timeseriesRequest, st *state) (*TimeseriesResponse, error) {
	bs := req.Buckets
	var aggs []*agg
	var err error
	if req.Filter != nil {
		aggs, err = s.filtered(ctx, merchant, req.Filter, bs, st)
	} else {
		aggs, err = s.totals(ctx, merchant, bs, st)
	}
	if err != nil {
		return nil, err
	}
	loc := req.Range.Loc
	resp := &TimeseriesResponse{
		Merchant: merchant, Metrics: req.Metrics, Interval: string(req.Interval), TimeZone: loc.String(),
		From: formatTime(bs[0].Start, loc), To: formatTime(bs[len(bs)-1].End, loc), Event: req.Event,
		Points: make([]Point, len(bs)), Freshness: freshnessOf(st, loc),
	}
	if req.Filter != nil {
		resp.Filter = &FilterInfo{Dimension: string(req.Filter.Dim), Value: req.Filter.Value, Note: filterNote}
	}
	for i, b := range bs {
		p := make(Point, len(req.Metrics)+4)
		p["start"] = formatTime(b.Start, loc)
		p["end"] = formatTime(b.End, loc)
		p["sealed"] = st.sealed(b.End)
		for _, m := range req.Metrics {
			p[m] = value(m, aggs[i], req.Event)
		}
		if req.Filter != nil {
			p["in_other_hours"] = aggs[i].inOther
		}
		resp.Points[i] = p
	}
	return resp, nil
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
