package queryapi

import (
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/footfall/footfall/internal/layout"
)

// RealtimeMinutes is how many minutes GET /v1/realtime reports.
const RealtimeMinutes = 30

// RealtimeCounts are the realtime numbers of one span.
type RealtimeCounts struct {
	Start     string `json:"start"`
	Events    int64  `json:"events"`
	PageViews int64  `json:"pageviews"`
	Visitors  int64  `json:"visitors"`
}

// RealtimeResponse is the body of GET /v1/realtime.
type RealtimeResponse struct {
	Merchant string `json:"merchant"`
	// AsOf is when this answer was computed.
	AsOf string `json:"as_of"`
	// Hour is the current UTC hour so far, from its totals row.
	Hour RealtimeCounts `json:"hour"`
	// Minutes are the last RealtimeMinutes minutes, oldest first, the
	// last one being the current (incomplete) minute.
	Minutes []RealtimeCounts `json:"minutes"`
	// Last30Minutes sums the minutes (visitors: distinct over all of them).
	Last30Minutes RealtimeCounts `json:"last_30_minutes"`
	Note          string         `json:"note"`
	Freshness
}

const realtimeNote = "provisional: counts so far from the streaming job, which writes them about every 10 seconds " +
	"(provisional_as_of says when it last did); the current minute and hour are incomplete, and events that arrive late " +
	"are added to their own minute and hour when they arrive"

func (s *Server) handleRealtime() fiber.Handler {
	const route = "/v1/realtime"
	return func(c *fiber.Ctx) error {
		if _, err := newQuery(c, route); err != nil {
			return err
		}
		merchant := merchantOf(c)
		st, err := s.freshState(c.UserContext())
		if err != nil {
			return err
		}
		return s.respond(c, "", func() (any, error) {
			ctx := c.UserContext()
			now := s.now().UTC()
			hour := now.Truncate(time.Hour)
			cur := now.Truncate(time.Minute)
			first := cur.Add(-(RealtimeMinutes - 1) * time.Minute)
			var hourTotals *layout.Totals
			err := s.store.Hours(ctx, merchant, []Bucket{{hour, hour.Add(time.Hour)}}, func(h Hour) error {
				if st.current(h.Start, h.Sealed, h.Totals.UpdatedAt) {
					hourTotals = h.Totals
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
			mins, err := s.store.Minutes(ctx, merchant, first, cur.Add(time.Minute))
			if err != nil {
				return nil, err
			}
			resp := RealtimeResponse{
				Merchant: merchant, AsOf: now.Format(time.RFC3339),
				Hour:    RealtimeCounts{Start: hour.Format(time.RFC3339)},
				Minutes: make([]RealtimeCounts, RealtimeMinutes),
				Note:    realtimeNote, Freshness: freshnessOf(st, time.UTC),
			}
			if t := hourTotals; t != nil {
				resp.Hour.Events, resp.Hour.PageViews, resp.Hour.Visitors = t.Events, t.PageViews, estimateSketch(t.Visitors).count
			}
			byMin := map[int64]*layout.Totals{}
			for _, m := range mins {
				byMin[m.Start.Unix()] = m.Totals
			}
			all := &layout.Totals{}
			for i := range resp.Minutes {
				m := first.Add(time.Duration(i) * time.Minute)
				rc := RealtimeCounts{Start: m.Format(time.RFC3339)}
				if t := byMin[m.Unix()]; t != nil {
					rc.Events, rc.PageViews, rc.Visitors = t.Events, t.PageViews, estimateSketch(t.Visitors).count
					if err := all.Merge(t); err != nil {
						return nil, err
					}
				}
				resp.Minutes[i] = rc
			}
			resp.Last30Minutes = RealtimeCounts{Start: first.Format(time.RFC3339), Events: all.Events, PageViews: all.PageViews, Visitors: estimateSketch(all.Visitors).count}
			return resp, nil
		})
	}
}
