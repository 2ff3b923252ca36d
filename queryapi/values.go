package queryapi

import (
	"math"
	"strconv"

	"golang.org/x/text/currency"

	"github.com/footfall/footfall/internal/layout"
)

// Money is an amount of one currency: minor units (as stored) and the
// same amount as a decimal string in the currency's standard scale.
type Money struct {
	Minor  int64  `json:"minor"`
	Amount string `json:"amount"`
}

// Revenue maps ISO 4217 codes to amounts.
type Revenue map[string]Money

func currencyScale(code string) int {
	u, err := currency.ParseISO(code)
	if err != nil {
		return 2 // not an ISO 4217 code this library knows: assume cents
	}
	scale, _ := currency.Standard.Rounding(u)
	return scale
}

// formatMinor renders minor units as a decimal with the currency's scale:
// 12345 USD → "123.45", 500 JPY → "500", -5 USD → "-0.05".
func formatMinor(minor int64, code string) string {
	scale := currencyScale(code)
	neg := minor < 0
	u := uint64(minor)
	if neg {
		u = uint64(-minor)
	}
	s := strconv.FormatUint(u, 10)
	if scale > 0 {
		for len(s) <= scale {
			s = "0" + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

func money(minor int64, code string) Money {
	return Money{Minor: minor, Amount: formatMinor(minor, code)}
}

func revenueOf(m layout.Money) Revenue {
	out := make(Revenue, len(m))
	for code, a := range m {
		out[code] = Money{Minor: a.Minor, Amount: a.Decimal()}
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
