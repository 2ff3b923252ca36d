package truth

import (
	"math/big"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

const shop = "https://shop.example.com"

// pv is a page view of anon at t0+d.
func pv(id, anon string, d time.Duration, path string) Hit {
	return Hit{Merchant: "m", ID: id, Type: "page", Name: "page_view", Anon: anon, At: at(d), Received: at(d), URL: shop + path, UA: UAChromeWindows}
}

// tr is a track event of anon at t0+d.
func tr(id, anon, name string, d time.Duration) Hit {
	return Hit{Merchant: "m", ID: id, Type: "track", Name: name, Anon: anon, At: at(d), Received: at(d), UA: UAChromeWindows}
}

func with(h Hit, f func(*Hit)) Hit { f(&h); return h }

func compute(t *testing.T, hits []Hit, cfg Config) *Model {
	t.Helper()
	m, err := Compute(hits, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// day is a range that holds every hit of these tests.
func total(m *Model) *Metrics { return m.Totals("m", t0.Add(-24*time.Hour), t0.Add(24*time.Hour)) }

func TestDedup(t *testing.T) {
	tests := []struct {
		name   string
		hits   []Hit
		events int64
	}{
		{"a retry", []Hit{tr("a", "v", "x", 0), tr("a", "v", "x", 0)}, 1},
		{"a copy in the next hour, 10 s later", []Hit{tr("a", "v", "x", 59*time.Minute+55*time.Second), tr("a", "v", "x", 60*time.Minute+5*time.Second)}, 1},
		{"exactly 1 h apart", []Hit{tr("a", "v", "x", 0), tr("a", "v", "x", time.Hour)}, 1},
		{"more than 1 h apart", []Hit{tr("a", "v", "x", 0), tr("a", "v", "x", time.Hour+time.Millisecond)}, 2},
		{"the earlier copy wins whatever the order", []Hit{tr("a", "v", "x", 30*time.Minute), tr("a", "v", "x", 0)}, 1},
		{"a chain within the window of the previous copy", []Hit{tr("a", "v", "x", 0), tr("a", "v", "x", 50*time.Minute), tr("a", "v", "x", 100*time.Minute)}, 1},
		{"other merchants' ids are other events", []Hit{tr("a", "v", "x", 0), with(tr("a", "v", "x", 0), func(h *Hit) { h.Merchant = "n" })}, 1},
		{"bots never count", []Hit{tr("a", "v", "x", 0), with(tr("b", "bot", "x", 0), func(h *Hit) { h.UA = UAGooglebot })}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := compute(t, tc.hits, Config{})
			if got := total(m).Events; got != tc.events {
				t.Errorf("events = %d, want %d", got, tc.events)
			}
		})
	}
	bots := compute(t, []Hit{tr("a", "v", "x", 0), with(tr("b", "bot", "x", 0), func(h *Hit) { h.UA = UAGooglebot })}, Config{CountBots: true})
	if got := total(bots); got.Events != 2 || len(got.Visitors) != 2 {
		t.Errorf("with CountBots: %d events, %d visitors; want 2, 2", got.Events, len(got.Visitors))
	}
	// The kept copy is the earliest: its hour counts it.
	m := compute(t, []Hit{tr("a", "v", "x", 60*time.Minute+5*time.Second), tr("a", "v", "x", 59*time.Minute+55*time.Second)}, Config{})
	if got := m.Totals("m", t0, t0.Add(time.Hour)).Events; got != 1 {
		t.Errorf("the first hour has %d events, want 1 (the earlier copy)", got)
	}
}

func TestAttachment(t *testing.T) {
	server := func(id string, d time.Duration) Hit {
		return Hit{Merchant: "m", ID: id, Type: "track", Name: "Order Completed", User: "u1", At: at(d), Received: at(d),
			UA: UAServerSDK, Country: "US", Amount: "10.00", Currency: "EUR"}
	}
	identify := Hit{Merchant: "m", ID: "i", Type: "identify", Name: "identify", Anon: "a1", User: "u1", At: at(0), Received: at(0), UA: UASafariIPhone, Country: "GB"}
	tests := []struct {
		name               string
		hits               []Hit
		key                string
		sessions, visitors int
	}{
		{"within 30 min: the visitor's session", []Hit{pv("p", "a1", 0, "/"), identify, server("s", 20*time.Minute)}, "a1", 1, 1},
		{"exactly 30 min: attached", []Hit{identify, server("s", 30*time.Minute)}, "a1", 1, 1},
		{"31 min later: unattached", []Hit{identify, server("s", 31*time.Minute)}, "", 0, 1},
		{"never seen: unattached", []Hit{server("s", 0)}, "", 0, 0},
		{"seen only after the event: unattached", []Hit{server("s", 0), with(identify, func(h *Hit) { h.At = at(time.Minute) })}, "", 0, 1},
		{"the visitor last seen wins", []Hit{identify, with(identify, func(h *Hit) { h.ID, h.Anon, h.At = "i2", "a2", at(5*time.Minute) }), server("s", 10*time.Minute)}, "a2", 1, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := compute(t, tc.hits, Config{})
			var c *Counted
			for _, x := range m.Counted {
				if x.Hit.ID == "s" {
					c = x
				}
			}
			if c.Key != tc.key {
				t.Errorf("key = %q, want %q", c.Key, tc.key)
			}
			tot := total(m)
			if int(tot.Sessions) != tc.sessions || len(tot.Visitors) != tc.visitors {
				t.Errorf("sessions = %d, visitors = %v; want %d sessions, %d visitors", tot.Sessions, tot.Visitors, tc.sessions, tc.visitors)
			}
			if got := tot.Revenue["EUR"]; got == nil || got.Saturated() != 1000 {
				t.Errorf("revenue = %v, want 10.00 EUR whether attached or not", got)
			}
			switch {
			case tc.key == "":
				for _, d := range Dimensions[1:] {
					if c.Dims[d] != None {
						t.Errorf("unattached event has %s %q, want (none)", d, c.Dims[d])
					}
				}
			case c.Dims["country"] == "US" || c.Dims["device"] == "other":
				t.Errorf("attached server event has the server's country or device: %v", c.Dims)
			}
		})
	}
}

func TestSessions(t *testing.T) {
	m := time.Minute
	tests := []struct {
		name                                  string
		hits                                  []Hit
		sessions, bounces, engaged, durMillis int64
	}{
		{"one page view: a bounce", []Hit{pv("1", "v", 0, "/")}, 1, 1, 0, 0},
		{"one track event: neither bounce nor engaged", []Hit{tr("1", "v", "signup", 0)}, 1, 0, 0, 0},
		{"view and interaction 5 s apart", []Hit{pv("1", "v", 0, "/"), tr("2", "v", "add_to_cart", 5*time.Second)}, 1, 0, 0, 5000},
		{"10 s: engaged", []Hit{tr("1", "v", "a", 0), tr("2", "v", "b", 10*time.Second)}, 1, 0, 1, 10000},
		{"2 views: engaged", []Hit{pv("1", "v", 0, "/"), pv("2", "v", time.Second, "/b")}, 1, 0, 1, 1000},
		{"a purchase: engaged", []Hit{tr("1", "v", "purchase", 0)}, 1, 0, 1, 0},
		{"a screen view is a view", []Hit{with(pv("1", "v", 0, ""), func(h *Hit) { h.Type, h.Name, h.URL = "screen", "screen_view", "" })}, 1, 1, 0, 0},
		{"identify is no interaction", []Hit{pv("1", "v", 0, "/"), with(tr("2", "v", "identify", time.Second), func(h *Hit) { h.Type, h.User = "identify", "u" })}, 1, 1, 0, 0},
		{"group and alias neither", []Hit{pv("1", "v", 0, "/"), with(tr("2", "v", "group", time.Second), func(h *Hit) { h.Type = "group" }), with(tr("3", "v", "alias", time.Second), func(h *Hit) { h.Type, h.User = "alias", "u" })}, 1, 1, 0, 0},
		{"a gap just under 30 min", []Hit{pv("1", "v", 0, "/"), pv("2", "v", 30*m-time.Millisecond, "/")}, 1, 0, 1, 30*60000 - 1},
		{"a gap of 30 min", []Hit{pv("1", "v", 0, "/"), pv("2", "v", 30*m, "/")}, 2, 2, 0, 0},
		{"a run of an hour is cut at the full hour", []Hit{pv("1", "v", 0, "/"), pv("2", "v", 25*m, "/"), pv("3", "v", 50*m, "/"), pv("4", "v", 60*m, "/")}, 2, 1, 1, 50 * 60000},
		// From 10:20: not cut at 11:00 (the run lasted 40 min), cut at 12:00.
		{"a run shorter than an hour at the full hour goes on", []Hit{pv("1", "v", 20*m, "/"), pv("2", "v", 40*m, "/"), pv("3", "v", 60*m, "/"), pv("4", "v", 80*m, "/"), pv("5", "v", 100*m, "/"), pv("6", "v", 120*m, "/"), pv("7", "v", 140*m, "/")}, 2, 0, 2, 100 * 60000},
		// The run goes on through a cut: cut again at the next full hour.
		{"the run goes on after a cut", []Hit{pv("1", "v", 0, "/"), pv("2", "v", 20*m, "/"), pv("3", "v", 40*m, "/"), pv("4", "v", 60*m, "/"), pv("5", "v", 80*m, "/"), pv("6", "v", 100*m, "/"), pv("7", "v", 120*m, "/")}, 3, 1, 2, 80 * 60000},
		// A pause of 30 minutes starts a new run.
		{"a pause starts a new run", []Hit{pv("1", "v", 0, "/"), pv("2", "v", 20*m, "/"), pv("3", "v", 50*m, "/"), pv("4", "v", 70*m, "/")}, 2, 0, 2, 40 * 60000},
		{"client session ids split", []Hit{with(pv("1", "v", 0, "/"), func(h *Hit) { h.Session = "s1" }), with(pv("2", "v", m, "/"), func(h *Hit) { h.Session = "s2" }), pv("3", "v", 2*m, "/")}, 3, 3, 0, 0},
		{"visitors are separate", []Hit{pv("1", "v", 0, "/"), pv("2", "w", time.Second, "/")}, 2, 2, 0, 0},
		{"bots start no session", []Hit{with(pv("1", "b", 0, "/"), func(h *Hit) { h.UA = UAGooglebot })}, 0, 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := total(compute(t, tc.hits, Config{}))
			if got.Sessions != tc.sessions || got.Bounces != tc.bounces || got.Engaged != tc.engaged || got.DurationMillis != tc.durMillis {
				t.Errorf("sessions %d, bounces %d, engaged %d, duration %d ms; want %d, %d, %d, %d",
					got.Sessions, got.Bounces, got.Engaged, got.DurationMillis, tc.sessions, tc.bounces, tc.engaged, tc.durMillis)
			}
		})
	}
	// A session counts in the hour of its first event.
	mod := compute(t, []Hit{pv("1", "v", 59*m, "/"), pv("2", "v", 61*m, "/")}, Config{})
	if a, b := mod.Totals("m", t0, t0.Add(time.Hour)).Sessions, mod.Totals("m", t0.Add(time.Hour), t0.Add(2*time.Hour)).Sessions; a != 1 || b != 0 {
		t.Errorf("sessions per hour = %d, %d; want 1, 0", a, b)
	}
}

func TestRevenue(t *testing.T) {
	buy := func(id, name, amount, cur, tx string, d time.Duration) Hit {
		return with(tr(id, "v", name, d), func(h *Hit) { h.Amount, h.Currency, h.TxID = amount, cur, tx })
	}
	tests := []struct {
		name string
		hits []Hit
		cfg  Config
		want map[string]string // currency → decimal
	}{
		{"GA4 and Segment purchases", []Hit{buy("1", "purchase", "10.00", "EUR", "t1", 0), buy("2", "Order Completed", "5.50", "EUR", "t2", 0)}, Config{}, map[string]string{"EUR": "15.50"}},
		{"values of other events never count", []Hit{buy("1", "view_item", "10", "EUR", "", 0), buy("2", "add_to_cart", "10", "EUR", "", 0),
			buy("3", "begin_checkout", "10", "EUR", "", 0), buy("4", "Checkout Started", "10", "EUR", "", 0), buy("5", "Product Added", "10", "EUR", "", 0)}, Config{}, map[string]string{}},
		{"refunds subtract", []Hit{buy("1", "purchase", "10.00", "EUR", "t1", 0), buy("2", "refund", "3.00", "EUR", "t1", time.Minute), buy("3", "Order Refunded", "1.00", "EUR", "t1", time.Minute)}, Config{}, map[string]string{"EUR": "6.00"}},
		{"a transaction counts once within 1 h", []Hit{buy("1", "purchase", "10.00", "EUR", "t1", 0), buy("2", "purchase", "10.00", "EUR", "t1", 59*time.Minute)}, Config{}, map[string]string{"EUR": "10.00"}},
		{"a transaction 2 h later counts again", []Hit{buy("1", "purchase", "10.00", "EUR", "t1", 0), buy("2", "purchase", "10.00", "EUR", "t1", 2*time.Hour)}, Config{}, map[string]string{"EUR": "20.00"}},
		{"purchases without a transaction id all count", []Hit{buy("1", "purchase", "1.00", "EUR", "", 0), buy("2", "purchase", "1.00", "EUR", "", 0)}, Config{}, map[string]string{"EUR": "2.00"}},
		{"an unparseable amount is dropped", []Hit{buy("1", "purchase", "12,50", "EUR", "t1", 0)}, Config{}, map[string]string{}},
		{"a configured purchase event", []Hit{buy("1", "subscription_paid", "9.99", "EUR", "", 0)}, Config{PurchaseEvents: map[string][]string{"m": {"subscription_paid"}}}, map[string]string{"EUR": "9.99"}},
		{"another merchant's configuration does not apply", []Hit{buy("1", "subscription_paid", "9.99", "EUR", "", 0)}, Config{PurchaseEvents: map[string][]string{"n": {"subscription_paid"}}}, map[string]string{}},
		{"ISO scales", []Hit{buy("1", "purchase", "1500.50", "IDR", "", 0), buy("2", "purchase", "1500", "JPY", "", 0), buy("3", "purchase", "1.234", "BHD", "", 0)}, Config{},
			map[string]string{"IDR": "1500.50", "JPY": "1500", "BHD": "1.234"}},
		{"the largest amount counts", []Hit{buy("1", "purchase", "922337203.68", "USD", "", 0), buy("2", "purchase", "922337203.68", "USD", "", 0)}, Config{}, map[string]string{"USD": "1844674407.36"}},
		{"a larger one is dropped", []Hit{buy("1", "purchase", "922337203.69", "USD", "", 0)}, Config{}, map[string]string{}},
		{"Segment's default currency is USD", []Hit{buy("1", "purchase", "2.00", "", "", 0)}, Config{}, map[string]string{"USD": "2.00"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := compute(t, tc.hits, tc.cfg)
			got := total(m)
			if len(got.Revenue) != len(tc.want) {
				t.Errorf("revenue %v, want %v", got.Revenue, tc.want)
			}
			for cur, w := range tc.want {
				if a := got.Revenue[cur]; a == nil || a.Decimal() != w {
					t.Errorf("revenue %s = %v, want %s", cur, a, w)
				}
			}
			if got.Events != int64(len(tc.hits)) {
				t.Errorf("events = %d, want %d: every event counts, whatever its revenue", got.Events, len(tc.hits))
			}
		})
	}
}

func TestRevenueSaturates(t *testing.T) {
	r := Revenue{}
	for range 3 {
		r.add("EUR", big.NewInt(1<<62), 2) // 3 × 2⁶² > 2⁶³ − 1
	}
	r.add("EUR", big.NewInt(5), 3) // another scale: brought to 3 decimals
	a := r["EUR"]
	if a.Saturated() != 1<<63-1 || a.Scale != 3 || a.String() != "138350580552821637.125" || a.Decimal() != "9223372036854775.807" {
		t.Errorf("revenue = %d at scale %d (exact %s), want 2⁶³−1 at scale 3 (exact 138350580552821637.125)", a.Saturated(), a.Scale, a)
	}
}

func TestDimensions(t *testing.T) {
	land := with(pv("1", "v", 0, "/landing?utm_campaign=spring"), func(h *Hit) {
		h.Referrer, h.Country, h.UA = "https://www.google.com/", "DE", UASafariIPhone
	})
	hits := []Hit{
		land,
		with(pv("2", "v", time.Minute, "/products/1"), func(h *Hit) { h.Referrer, h.UA = shop+"/landing", UAChromeWindows }),
		with(pv("3", "v", 2*time.Minute, "/cart"), func(h *Hit) { h.Referrer = shop + "/products/1" }),
		with(tr("4", "v", "purchase", 3*time.Minute), func(h *Hit) { h.Amount, h.Currency, h.TxID = "20.00", "EUR", "o1" }),
		with(tr("5", "v", "identify", 4*time.Minute), func(h *Hit) { h.Type, h.User, h.URL = "identify", "u", shop+"/account" }),
		with(pv("6", "w", 0, "/caf%C3%A9"), func(h *Hit) { h.Path = "/caf%C3%A9" }),
		with(pv("7", "x", 0, "/café"), func(h *Hit) { h.Referrer = "https://mail.google.com/" }),
	}
	m := compute(t, hits, Config{})
	byID := map[string]*Counted{}
	for _, c := range m.Counted {
		byID[c.Hit.ID] = c
	}
	want := map[string]map[string]string{
		"4": {"event": "purchase", "page": None, "entry_page": "/landing", "exit_page": "/cart", "source": "google", "medium": "organic",
			"campaign": "spring", "country": "DE", "device": "mobile", "browser": "Safari", "os": "iOS"},
		"2": {"page": "/products/1", "source": "google", "device": "mobile"},
		"5": {"page": "/account", "entry_page": "/account", "source": "(direct)", "country": None, "device": "desktop"}, // sessionless: its own values
		"6": {"page": "/café"},
		"7": {"page": "/café", "source": "mail.google.com", "medium": "email"},
	}
	for id, dims := range want {
		for d, v := range dims {
			if got := byID[id].Dims[d]; got != v {
				t.Errorf("event %s: %s = %q, want %q", id, d, got, v)
			}
		}
	}
	from, to := t0, t0.Add(time.Hour)
	src := m.Breakdown("m", "source", from, to)
	if g := src["google"]; g == nil || g.Events != 4 || g.Sessions != 1 || g.Revenue["EUR"].Decimal() != "20.00" || len(g.Visitors) != 1 {
		t.Errorf("source google = %+v, want 4 events, 1 session, 20.00 EUR, 1 visitor", g)
	}
	if pages := m.Breakdown("m", "page", from, to); pages["/café"] == nil || pages["/café"].PageViews != 2 {
		t.Errorf("page /café = %+v, want 2 page views (encoded and decoded are one page)", pages["/café"])
	}
	exit := m.Breakdown("m", "exit_page", from, to)
	if e := exit["/cart"]; e == nil || e.Events != 0 || e.Sessions != 1 || len(e.Visitors) != 1 || e.Engaged != 1 {
		t.Errorf("exit_page /cart = %+v, want sessions and visitors only: 1 session, 1 visitor, engaged", e)
	}
	if bd := m.Breakdown("m", "event", from, to); bd["page_view"].Sessions != 0 {
		t.Errorf("event breakdown carries sessions: %+v", bd["page_view"])
	}
}

// The breakdown values add up to the totals for every additive metric.
func TestBreakdownsAddUp(t *testing.T) {
	m := compute(t, HitsOf(Mix(MixOptions{Merchant: "m", Seed: 4, Visitors: 60, From: t0, To: t0.Add(2 * time.Hour)})), Config{})
	from, to := t0, t0.Add(3*time.Hour)
	tot := m.Totals("m", from, to)
	for _, d := range Dimensions {
		var ev, pvs, sess, eng int64
		for _, x := range m.Breakdown("m", d, from, to) {
			ev, pvs, sess, eng = ev+x.Events, pvs+x.PageViews, sess+x.Sessions, eng+x.Engaged
		}
		if d != "exit_page" && (ev != tot.Events || pvs != tot.PageViews) {
			t.Errorf("%s: events %d, page views %d; totals %d, %d", d, ev, pvs, tot.Events, tot.PageViews)
		}
		if !EventScoped(d) && (sess != tot.Sessions || eng != tot.Engaged) {
			t.Errorf("%s: sessions %d, engaged %d; totals %d, %d", d, sess, eng, tot.Sessions, tot.Engaged)
		}
	}
	if tot.Events < 200 || tot.Sessions < 60 {
		t.Errorf("the mix is too small to mean anything: %d events, %d sessions", tot.Events, tot.Sessions)
	}
}
