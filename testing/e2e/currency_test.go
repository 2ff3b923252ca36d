package e2e

import (
	"testing"
	"time"

	"github.com/footfall/footfall/testing/truth"
)

// Issue 16, point 7: amounts are kept in ISO 4217 minor units with their
// scale — IDR, COP and PKR have 2 decimals (CLDR says 0), JPY 0, BHD 3 —
// and served at that scale. Exact after streaming and after sealing.
func TestCurrencyScalesAreISO4217(t *testing.T) {
	const m = "currency"
	s := newShop(t, m)
	a := hourA()
	at := func(min float64) time.Time { return a.Add(minutes(min)) }
	g := visitor(m, "ga4", true, truth.UAChromeWindows, "JP")
	v := visitor(m, "segment", false, truth.UASafariIPhone, "GB")
	done := truth.Shop + "/checkout/done"
	s.send(t, requests(m,
		g.Purchase(at(1), done, "150000.50", "IDR", "idr-1"),
		v.Purchase(at(2), done, "99000.25", "IDR", "idr-2"),
		g.Purchase(at(3), done, "1500", "JPY", "jpy-1"),
		v.Purchase(at(4), done, "2300", "JPY", "jpy-2"),
		g.Purchase(at(5), done, "1.234", "BHD", "bhd-1"),
		v.Purchase(at(6), done, "10.5", "BHD", "bhd-2"),
		v.Refund(at(7), "0.234", "BHD", "bhd-2"),
		g.Purchase(at(8), done, "12500.75", "COP", "cop-1"),
		v.Purchase(at(9), done, "350.25", "PKR", "pkr-1"),
		g.Purchase(at(10), done, "12.34", "EUR", "eur-1"),
	)...)
	rev := s.model(t).Totals(m, a, a.Add(time.Hour)).Revenue
	for cur, want := range map[string]string{"IDR": "249000.75", "JPY": "3800", "BHD": "11.500", "COP": "12500.75", "PKR": "350.25", "EUR": "12.34"} {
		if rev[cur] == nil || rev[cur].Decimal() != want {
			t.Fatalf("the truth itself is wrong: %s %v, want %s", cur, rev[cur], want)
		}
	}
	check := func(c truth.Check) truth.Check {
		c.Intervals, c.Dimensions = []string{"hour", "day"}, []string{"event", "country"}
		return c
	}
	s.eventually(t, 2*time.Minute, "after streaming", check(streamed(a, nextHour())))
	sc := sealed(a, a.Add(time.Hour))
	sc.Intervals = []string{"hour"}
	s.eventually(t, 4*time.Minute, "after sealing", sc)
}
