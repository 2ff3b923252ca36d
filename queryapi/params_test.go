package queryapi

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/footfall/footfall/internal/layout"
)

// Requests parse into typed structs without Fiber.
func TestParseRequests(t *testing.T) {
	cfg := DefaultConfig()
	ny, _ := time.LoadLocation("America/New_York")
	t.Run("timeseries", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			q       url.Values
			wantErr string
			check   func(t *testing.T, r timeseriesRequest)
		}{
			{"days in New York", url.Values{"metrics": {"visitors, events"}, "interval": {"day"}, "tz": {"America/New_York"}, "from": {"2026-03-07"}, "to": {"2026-03-09"}}, "",
				func(t *testing.T, r timeseriesRequest) {
					if len(r.Buckets) != 2 || !r.Buckets[1].End.Equal(time.Date(2026, 3, 9, 0, 0, 0, 0, ny)) || r.Interval != IntervalDay || strings.Join(r.Metrics, ",") != "visitors,events" {
						t.Errorf("got %+v", r)
					}
				}},
			{"filter", url.Values{"filters": {"country==JP"}, "metrics": {"events"}, "from": {"2026-03-07"}, "to": {"2026-03-08"}}, "",
				func(t *testing.T, r timeseriesRequest) {
					if r.Filter == nil || r.Filter.Dim != layout.DimCountry || r.Filter.Value != "JP" || r.Interval != IntervalHour || len(r.Buckets) != 24 {
						t.Errorf("got %+v", r)
					}
				}},
			{"sessions with an event-scoped filter", url.Values{"filters": {"page==/home"}, "metrics": {"sessions"}, "from": {"2026-03-07"}, "to": {"2026-03-08"}}, "not available here", nil},
			{"sessions with a session-scoped filter", url.Values{"filters": {"entry_page==/home"}, "metrics": {"sessions,engagement_rate"}, "from": {"2026-03-07"}, "to": {"2026-03-08"}}, "",
				func(t *testing.T, r timeseriesRequest) {
					if r.Filter.Dim != layout.DimEntry || strings.Join(r.Metrics, ",") != "sessions,engagement_rate" {
						t.Errorf("got %+v", r)
					}
				}},
			{"event and filter", url.Values{"filters": {"country==JP"}, "event": {"signup"}, "from": {"2026-03-07"}, "to": {"2026-03-08"}}, "cannot be combined", nil},
			{"too many points", url.Values{"from": {"2026-01-01"}, "to": {"2026-12-01"}}, "more than 2000 points", nil},
			{"unknown parameter", url.Values{"merchant": {"other"}, "from": {"2026-01-01"}, "to": {"2026-01-02"}}, "read key belongs to", nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				q, err := queryOf("/v1/timeseries", tc.q)
				var r timeseriesRequest
				if err == nil {
					r, err = parseTimeseriesRequest(q, cfg)
				}
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Errorf("error %v, want one containing %q", err, tc.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				tc.check(t, r)
			})
		}
	})
	t.Run("breakdown", func(t *testing.T) {
		q, _ := queryOf("/v1/breakdown", url.Values{"dimension": {"page"}, "limit": {"3"}, "from": {"2026-11-01T10:30:00Z"}, "to": {"2026-11-01T12:10:00Z"}})
		r, err := parseBreakdownRequest(q, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if r.Dim != layout.DimPage || r.Limit != 3 || r.From.Minute() != 30 || r.To.Hour() != 12 || r.To.Minute() != 15 || r.Metrics[0] != "events" {
			t.Errorf("got %+v", r)
		}
		q, _ = queryOf("/v1/breakdown", url.Values{"dimension": {"page"}, "limit": {"1001"}, "from": {"2026-11-01"}, "to": {"2026-11-02"}})
		if _, err := parseBreakdownRequest(q, cfg); err == nil {
			t.Error("limit 1001 accepted")
		}
	})
	t.Run("summary", func(t *testing.T) {
		q, _ := queryOf("/v1/summary", url.Values{"tz": {"Europe/London"}, "from": {"2026-11-01"}, "to": {"2026-11-08"}})
		r, err := parseSummaryRequest(q, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.PrevFrom.Format(time.RFC3339); got != "2026-10-24T23:00:00Z" || !r.PrevTo.Equal(r.From) {
			t.Errorf("previous period %s–%s", got, r.PrevTo)
		}
	})
}
