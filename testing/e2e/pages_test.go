package e2e

import (
	"testing"
	"time"

	"github.com/footfall/footfall/testing/truth"
)

// Issue 16, point 9: Segment's percent-encoded paths and GA4's decoded
// paths of the same page are one page (and one entry and exit page);
// duplicate and trailing slashes and query strings do not make others; an
// encoded slash stays encoded. The page breakdown is exact after
// streaming, entry and exit pages once sealed.
func TestPagesHaveOneForm(t *testing.T) {
	const m = "pages"
	s := newShop(t, m)
	a := hourA()
	at := func(min float64) time.Time { return a.Add(minutes(min)) }
	seg := visitor(m, "segment", false, truth.UAChromeWindows, "DE")
	g := visitor(m, "ga4", true, truth.UASafariIPhone, "GB")
	seg2 := visitor(m, "segment-2", false, truth.UAFirefoxMac, "NL")
	g2 := visitor(m, "ga4-2", true, truth.UAChromeAndroid, "US")
	s.send(t, requests(m,
		seg.Page(at(1), truth.Shop+"/caf%C3%A9", "https://www.google.com/"),
		seg.Page(at(2), truth.Shop+"/gr%C3%BC%C3%9Fe/", truth.Shop+"/caf%C3%A9"),
		seg.Page(at(3), truth.Shop+"/products/a%20b?ref=x", truth.Shop+"/gr%C3%BC%C3%9Fe/"),
		seg.Page(at(4), truth.Shop+"/docs/a%2Fb", ""),
		g.Page(at(5), truth.Shop+"/café", "https://www.google.com/"),
		g.Page(at(6), truth.Shop+"/grüße", truth.Shop+"/café"),
		g.Page(at(7), truth.Shop+"/products/a b#reviews", truth.Shop+"/grüße"),
		g.Page(at(8), truth.Shop+"//docs/a%2Fb/", ""),
		seg2.Page(at(9), truth.Shop+"/products/a%20b", ""),
		seg2.Page(at(10), truth.Shop+"/caf%C3%A9", ""),
		g2.Page(at(11), truth.Shop+"/products/a b", ""),
		g2.Page(at(12), truth.Shop+"/café", ""),
	)...)
	pages := s.model(t).Breakdown(m, "page", a, a.Add(time.Hour))
	if len(pages) != 4 || pages["/café"].PageViews != 4 || pages["/docs/a%2Fb"].PageViews != 2 {
		t.Fatalf("the truth itself is wrong: %d pages, /café %+v", len(pages), pages["/café"])
	}
	s.eventually(t, 2*time.Minute, "after streaming", streamed(a, nextHour()))
	s.eventually(t, 4*time.Minute, "after sealing", truth.Check{From: a, To: a.Add(time.Hour), Intervals: []string{"hour"},
		Metrics: truth.AllMetrics, Dimensions: []string{"page", "entry_page", "exit_page"}, Sealed: true})
}
