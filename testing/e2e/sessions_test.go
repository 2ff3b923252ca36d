package e2e

import (
	"testing"
	"time"

	"github.com/footfall/footfall/testing/truth"
)

// Issue 16, point 3: a bounce is one view and no interaction (identify,
// group and alias are no interaction); engaged sessions and engagement
// rate as GA4 defines them (≥ 10 s, ≥ 2 views, or a purchase); server
// events with only a user id attach to the visitor last seen with it, or
// count in events and revenue only; screen_view is a view. Session values
// are exact once sealed; after streaming, events, views, visitors and
// revenue.
func TestSessionsBouncesAndEngagement(t *testing.T) {
	const m = "sessions"
	s := newShop(t, m)
	a := hourA()
	at := func(min float64) time.Time { return a.Add(minutes(min)) }
	sec := func(min, s float64) time.Time { return at(min).Add(time.Duration(s * float64(time.Second))) }
	page := func(v *truth.Visitor, t time.Time, p string) truth.Msg { return v.Page(t, truth.Shop+p, "") }

	bounce := visitor(m, "bounce", true, truth.UAChromeWindows, "DE")
	identified := visitor(m, "identified", false, truth.UASafariIPhone, "GB")
	grouped := visitor(m, "grouped", false, truth.UAFirefoxMac, "NL")
	tenSeconds := visitor(m, "ten-seconds", true, truth.UAChromeAndroid, "JP")
	twoViews := visitor(m, "two-views", false, truth.UAChromeWindows, "US")
	buyer := visitor(m, "buyer", false, truth.UASafariIPad, "DE")
	oneEvent := visitor(m, "one-event", true, truth.UAFirefoxMac, "GB")
	app := visitor(m, "app", false, truth.UASafariIPhone, "JP")
	appGA4 := visitor(m, "app-ga4", true, truth.UAChromeAndroid, "US")
	gaps := visitor(m, "gaps", false, truth.UAChromeWindows, "NL")
	long := visitor(m, "long", true, truth.UAFirefoxMac, "DE")
	ids := visitor(m, "session-ids", true, truth.UASafariIPhone, "GB")
	customer := visitor(m, "customer", false, truth.UAChromeAndroid, "GB")
	server := &truth.Visitor{Merchant: m, User: m + "-customer", UA: truth.UAServerSDK, Country: "US"}
	stranger := &truth.Visitor{Merchant: m, User: m + "-stranger", UA: truth.UAServerSDK, Country: "US"}

	msgs := []truth.Msg{
		page(bounce, at(1), "/"),
		page(identified, at(2), "/"), identified.Identify(sec(2, 5), m+"-identified"),
		page(grouped, at(3), "/"), grouped.Group(sec(3, 2)), grouped.Alias(sec(3, 4), m+"-grouped"),
		page(tenSeconds, at(4), "/products/1"), tenSeconds.Track(sec(4, 12), "add_to_wishlist", truth.Shop+"/products/1", nil),
		page(twoViews, at(5), "/"), page(twoViews, sec(5, 2), "/products/2"),
		buyer.Purchase(at(6), truth.Shop+"/checkout/done", "20.00", "EUR", "b-1"),
		oneEvent.Track(at(7), "newsletter_signup", "", nil),
		app.Screen(at(8), "Home"), app.Screen(sec(8, 3), "Product"),
		appGA4.Screen(at(9), "Home"),
		page(gaps, at(10), "/"), page(gaps, at(39.9), "/a"), page(gaps, at(70), "/b"), // 29.9 min: one session; 30.1: another
		// customer identifies, and the shop's server reports the order
		// with the user id only: it is the customer's, in their session.
		page(customer, at(12), "/checkout"), customer.Identify(at(13), m+"-customer"),
		server.Purchase(at(17), "", "30.00", "EUR", "srv-1"),
		// a user nobody saw: counted in events and revenue only.
		stranger.Purchase(at(18), "", "40.00", "EUR", "srv-2"),
	}
	for i := range 8 { // every 10 min for 70 min: two sessions (1 h cap)
		msgs = append(msgs, page(long, at(20+10*float64(i)), "/long"))
	}
	ids.Session = "1"
	msgs = append(msgs, page(ids, at(25), "/"))
	ids.Session = "2"
	msgs = append(msgs, page(ids, at(26), "/"))

	s.send(t, requests(m, msgs...)...)
	tot := s.model(t).Totals(m, a, a.Add(time.Hour))
	// Sessions starting in the hour: one per visitor but the stranger's
	// (none) and the session ids' (two); the gaps' second and the long
	// one's second start in the next hour. Bounces: bounce, identified,
	// grouped, app-ga4, session-ids ×2. Engaged: ten-seconds, two-views,
	// buyer, app, gaps, customer, long.
	if tot.Sessions != 14 || tot.Bounces != 6 || tot.Engaged != 7 {
		t.Fatalf("the truth itself is wrong: %d sessions, %d bounces, %d engaged", tot.Sessions, tot.Bounces, tot.Engaged)
	}
	s.eventually(t, 2*time.Minute, "after streaming", streamed(a, nextHour()))
	s.eventually(t, 4*time.Minute, "after sealing", sealed(a, a.Add(time.Hour)))
}
