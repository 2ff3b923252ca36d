package e2e

import (
	"testing"
	"time"

	"github.com/footfall/footfall/testing/truth"
)

// Issue 16, point 2: source, medium, campaign, referrer, landing (entry)
// page — and exit page — belong to the session and apply to every event,
// visitor and purchase of it; paid clicks (gclid, fbclid, msclkid) are cpc;
// webmail is email, never organic search. Session-scoped values are exact
// only once sealed; after streaming the event-scoped ones are checked.
func TestAttributionIsPerSession(t *testing.T) {
	const m = "attribution"
	s := newShop(t, m)
	a := hourA()
	at := func(min float64) time.Time { return a.Add(minutes(min)) }
	var msgs []truth.Msg
	// journey: a landing page with query q from referrer ref, two more
	// pages inside the shop, then a purchase on the third page.
	journey := func(v *truth.Visitor, start float64, q, ref, amount string) {
		land := truth.Shop + "/products/1" + q
		msgs = append(msgs,
			v.Page(at(start), land, ref),
			v.Page(at(start+1), truth.Shop+"/cart", land),
			v.Page(at(start+2), truth.Shop+"/checkout", truth.Shop+"/cart"),
			v.Purchase(at(start+3), truth.Shop+"/checkout/done", amount, "EUR", v.Anon+"-order"))
	}
	journey(visitor(m, "google", false, truth.UAChromeWindows, "DE"), 1, "", "https://www.google.com/", "10.00")
	journey(visitor(m, "google-uk", true, truth.UAFirefoxMac, "GB"), 2, "", "https://www.google.co.uk/", "11.00")
	journey(visitor(m, "gclid", true, truth.UASafariIPhone, "US"), 3, "?gclid=Cj0KCQ", "https://www.google.com/", "12.00")
	journey(visitor(m, "fbclid", false, truth.UAChromeAndroid, "NL"), 4, "?fbclid=IwAR0", "https://l.facebook.com/", "13.00")
	journey(visitor(m, "msclkid", true, truth.UAChromeWindows, "JP"), 5, "?msclkid=9f2c", "https://www.bing.com/", "14.00")
	journey(visitor(m, "gmail", false, truth.UASafariIPad, "GB"), 6, "", "https://mail.google.com/mail/u/0/", "15.00")
	journey(visitor(m, "outlook", true, truth.UAChromeWindows, "DE"), 7, "", "https://outlook.live.com/mail/0/", "16.00")
	journey(visitor(m, "webmail", false, truth.UAFirefoxMac, ""), 8, "", "https://webmail.example.net/?_task=mail", "17.00")
	journey(visitor(m, "yahoo-mail", true, truth.UASafariIPhone, "US"), 9, "", "https://mail.yahoo.com/d/folders/1", "18.00")
	journey(visitor(m, "newsletter", false, truth.UAChromeWindows, "NL"), 10, "?utm_source=newsletter&utm_medium=email&utm_campaign=winter-sale", "", "19.00")
	journey(visitor(m, "social", true, truth.UAChromeAndroid, "JP"), 11, "", "https://t.co/x1", "20.00")
	journey(visitor(m, "blog", false, truth.UAFirefoxMac, "DE"), 12, "", "https://www.example-blog.com/post/1", "21.00")
	// Direct first, back from Google 40 minutes later: two sessions.
	back := visitor(m, "returning", false, truth.UAChromeWindows, "GB")
	msgs = append(msgs, back.Page(at(13), truth.Shop+"/", ""))
	journey(back, 53, "", "https://www.google.com/", "22.00")

	s.send(t, requests(m, msgs...)...)
	med := s.model(t).Breakdown(m, "medium", a, a.Add(time.Hour))
	if med["organic"].Sessions != 3 || med["organic"].Events != 12 || med["cpc"].Sessions != 3 || med["email"].Sessions != 5 || med["(none)"].Sessions != 1 {
		t.Fatalf("the truth itself is wrong: organic %+v, cpc %+v, email %+v", med["organic"], med["cpc"], med["email"])
	}
	s.eventually(t, 2*time.Minute, "after streaming", streamed(a, nextHour()))
	s.eventually(t, 4*time.Minute, "after sealing", sealed(a, a.Add(time.Hour)))
}
