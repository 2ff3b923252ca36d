package queryapi

import (
	"math"

	"github.com/footfall/footfall/internal/layout"
)

// Money is an amount of one currency: minor units at scale (as stored:
// sums of one currency are kept at the larger scale of their parts), and
// the same amount as a decimal string.
type Money struct {
	Minor  int64  `json:"minor"`
	Scale  int8   `json:"scale"`
	Amount string `json:"amount"`
}

// Revenue maps ISO 4217 codes to amounts.
type Revenue map[string]Money

func money(a layout.Amount) Money {
	return Money{Minor: a.Minor, Scale: a.Scale, Amount: a.Decimal()}
}

func (m Money) amount() layout.Amount { return layout.Amount{Minor: m.Minor, Scale: m.Scale} }

func revenueOf(m layout.Money) Revenue {
	out := make(Revenue, len(m))
	for code, a := range m {
		out[code] = money(a)
	}
	return out
}

// value computes one metric of a bucket. event restricts events to one
// event name (totals only). Ratios are null when there were no sessions.
func value(metric string, a *agg, event string) any {
	t := a.t
	switch metric {
	case MetricEvents:
		if event != "" {
			return t.ByName[event]
		}
		return t.Events
	case MetricPageViews:
		return t.PageViews
	case MetricVisitors:
		return a.visitors
	case MetricSessions:
		return t.Sessions
	case MetricEngaged:
		return t.EngagedSessions
	case MetricEngagementRate:
		if t.Sessions == 0 {
			return nil
		}
		return round(float64(t.EngagedSessions)/float64(t.Sessions), 4)
	case MetricBounceRate:
		if t.Sessions == 0 {
			return nil
		}
		return round(float64(t.Bounces)/float64(t.Sessions), 4)
	case MetricAvgDuration:
		if t.Sessions == 0 {
			return nil
		}
		return round(float64(t.SessionMillis)/float64(t.Sessions)/1000, 3)
	case MetricRevenue:
		return revenueOf(t.Revenue)
	}
	panic("queryapi: unknown metric " + metric)
}

func round(v float64, digits int) float64 {
	p := math.Pow10(digits)
	return math.Round(v*p) / p
}

// itemAgg turns a breakdown item into an agg (estimating its visitors).
func itemAgg(it *layout.Item) *agg { return newAgg(itemTotals(it), 0) }
