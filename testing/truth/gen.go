package truth

// The traffic generator: Visitor builds the messages of one visitor (web or
// app, Segment or GA4), Mix builds realistic mixed traffic from many
// visitors' stories.

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Shop is the generated merchant's site.
const Shop = "https://shop.example.com"

// Visitor builds one visitor's messages. Fields may change between
// messages (Session, User, UA, Country).
type Visitor struct {
	Merchant string
	Anon     string // "" for a server that knows only the user id
	User     string
	// GA4: the visitor's events are GA4 Measurement Protocol events, else
	// Segment messages.
	GA4     bool
	Session string // client session id, "" none
	UA      string
	Country string // a key of IPs, "" none (ingest sees the loopback address)
	seq     int
}

func (v *Visitor) msg(typ, name string, at time.Time) Msg {
	v.seq++
	at = at.UTC().Truncate(time.Millisecond)
	m := Msg{GA4: v.GA4, IP: IPs[v.Country], Hit: Hit{Merchant: v.Merchant, Type: typ, Name: name, Anon: v.Anon, User: v.User,
		Session: v.Session, At: at, UA: v.UA, Country: v.Country}}
	if !v.GA4 {
		who := "a:" + v.Anon
		if v.Anon == "" {
			who = "u:" + v.User // a server that knows only the user id
		}
		m.Hit.ID = fmt.Sprintf("%s-%s-%d", v.Merchant, who, v.seq)
	}
	return m
}

// seal sets a GA4 message's id from what it renders (the truth's
// request-derived key).
func seal(m Msg) Msg {
	if m.GA4 {
		m.Hit.ID = GA4ID(m.Hit.Anon, m.Hit.Name, m.ga4Params(), m.Hit.At.UnixMicro())
	}
	return m
}

// Page is a page view of url (Segment: path as given — it may be
// percent-encoded; GA4: page_location) from referrer.
func (v *Visitor) Page(at time.Time, url, referrer string) Msg {
	typ := "page"
	if v.GA4 {
		typ = "track"
	}
	m := v.msg(typ, "page_view", at)
	m.Hit.URL, m.Hit.Referrer = url, referrer
	if !v.GA4 {
		m.Hit.Path = urlPath(url)
		if i := strings.IndexAny(m.Hit.Path, "?#"); i >= 0 {
			m.Hit.Path = m.Hit.Path[:i]
		}
	}
	return seal(m)
}

// Screen is an app's screen view.
func (v *Visitor) Screen(at time.Time, name string) Msg {
	typ := "screen"
	if v.GA4 {
		typ = "track"
	}
	m := v.msg(typ, "screen_view", at)
	if v.GA4 {
		m.Props = map[string]any{"screen_name": name}
	} else {
		m.Props = map[string]any{"name": name}
	}
	return seal(m)
}

// Track is a custom or e-commerce event, on page url ("" none).
func (v *Visitor) Track(at time.Time, name, url string, props map[string]any) Msg {
	m := v.msg("track", name, at)
	m.Hit.URL, m.Props = url, props
	return seal(m)
}

// Valued is an event carrying an amount (a purchase, a refund, or an
// event whose value must not count, like add_to_cart).
func (v *Visitor) Valued(at time.Time, name, url, amount, currency, tx string) Msg {
	m := v.msg("track", name, at)
	m.Hit.URL, m.Hit.Amount, m.Hit.Currency, m.Hit.TxID = url, amount, currency, tx
	return seal(m)
}

// Purchase is GA4 purchase or Segment Order Completed.
func (v *Visitor) Purchase(at time.Time, url, amount, currency, tx string) Msg {
	return v.Valued(at, v.names("purchase", "Order Completed"), url, amount, currency, tx)
}

// Refund is GA4 refund or Segment Order Refunded.
func (v *Visitor) Refund(at time.Time, amount, currency, tx string) Msg {
	return v.Valued(at, v.names("refund", "Order Refunded"), "", amount, currency, tx)
}

func (v *Visitor) names(ga4, segment string) string {
	if v.GA4 {
		return ga4
	}
	return segment
}

// Identify (Segment only) links the anonymous id to user.
func (v *Visitor) Identify(at time.Time, user string) Msg {
	v.User = user
	m := v.msg("identify", "identify", at)
	m.Props = map[string]any{"email": user + "@example.com"}
	return m
}

// Group (Segment only).
func (v *Visitor) Group(at time.Time) Msg { return v.msg("group", "group", at) }

// Alias (Segment only) names the user of the anonymous id.
func (v *Visitor) Alias(at time.Time, user string) Msg {
	v.User = user
	return v.msg("alias", "alias", at)
}

// Segment packs messages into Segment batches of at most 50.
func Segment(merchant string, msgs ...Msg) []Request {
	var out []Request
	for off := 0; off < len(msgs); off += 50 {
		out = append(out, Request{Merchant: merchant, Msgs: slices.Clone(msgs[off:min(off+50, len(msgs))])})
	}
	return out
}

// GA4 makes one GA4 request of one visitor's events.
func GA4(merchant string, msgs ...Msg) Request {
	return Request{Merchant: merchant, GA4: true, Msgs: msgs}
}

// HitsOf are the hits of requests as the client meant them (repeats
// included), for unit tests that skip ingest.
func HitsOf(reqs []Request) []Hit {
	var out []Hit
	for _, r := range reqs {
		for range r.Repeat + 1 {
			for _, m := range r.Msgs {
				out = append(out, m.Hit)
			}
		}
	}
	return out
}

// MixOptions shape Mix's traffic.
type MixOptions struct {
	Merchant string
	Seed     uint64
	// Visitors is how many visitors; each starts in [From, To).
	Visitors int
	From, To time.Time
	// Currencies the purchases use (default EUR, with some JPY, IDR, BHD).
	Currencies []string
	// Spill is how long after To the stories may run (default 80 min):
	// later messages are left out, so that a range ending 80 minutes ago
	// sends nothing from the future.
	Spill time.Duration
	// NoCopies leaves out the messages whose copies arrive with another
	// event time (sentAt correction), for callers that write the events
	// straight into the archive.
	NoCopies bool
}

// acquisitions are the landing page URLs' queries and referrers visitors
// arrive with.
var acquisitions = []struct{ query, referrer string }{
	{"", ""},
	{"", "https://www.google.com/"},
	{"", "https://www.google.co.uk/"},
	{"", "https://www.bing.com/"},
	{"", "https://duckduckgo.com/"},
	{"", "https://l.facebook.com/l.php"},
	{"", "https://t.co/x1"},
	{"", "https://mail.google.com/mail/u/0/"},
	{"", "https://outlook.live.com/mail/0/"},
	{"", "https://webmail.example.net/?_task=mail"},
	{"", "https://mail.yahoo.com/d/folders/1"},
	{"?gclid=Cj0KCQ", "https://www.google.com/"},
	{"?fbclid=IwAR0", "https://l.facebook.com/"},
	{"?msclkid=9f2c", "https://www.bing.com/"},
	{"?utm_source=newsletter&utm_medium=email&utm_campaign=winter", ""},
	{"?utm_source=partner", "https://www.example-blog.com/"},
	{"", "https://www.example-blog.com/post/1"},
}

// pages are the shop's pages, as Segment sends them (percent-encoded) and
// as GA4 does (decoded).
var pages = []struct{ segment, ga4 string }{
	{"/", "/"}, {"/products/1", "/products/1"}, {"/products/2", "/products/2"}, {"/cart", "/cart"},
	{"/checkout", "/checkout"}, {"/caf%C3%A9", "/café"}, {"/gr%C3%BC%C3%9Fe/", "/grüße"}, {"/products/a%20b", "/products/a b"},
}

var browserUAs = []string{UAChromeWindows, UASafariIPhone, UAFirefoxMac, UAChromeAndroid, UASafariIPad}
var countries = []string{"GB", "US", "JP", "DE", "NL", ""}

// Mix generates realistic mixed traffic (docs/metrics.md exercised end to
// end): web visitors over Segment and GA4 arriving from search, social,
// webmail, paid clicks, campaigns and referrals; sessions with gaps under
// and over 30 minutes and over an hour, client session ids; encoded and
// decoded paths of the same pages; app screen views; custom events,
// identify/group/alias; purchases and refunds under GA4 and Segment names,
// repeated transaction ids, values on events that are not purchases;
// user-id-only server purchases, attachable or not; bots; retried batches
// and GA4 requests; copies with another event time (sentAt correction);
// unparseable amounts; several currencies.
func Mix(o MixOptions) []Request {
	rng := rand.New(rand.NewPCG(o.Seed, 17))
	curs := o.Currencies
	if len(curs) == 0 {
		curs = []string{"EUR", "EUR", "EUR", "EUR", "JPY", "IDR", "BHD"}
	}
	pick := func(n int) int { return rng.IntN(n) }
	chance := func(p float64) bool { return rng.Float64() < p }
	span := o.To.Sub(o.From)
	spill := o.Spill
	if spill == 0 {
		spill = 80 * time.Minute
	}
	amount := func(cur string) string {
		switch Currencies[cur] {
		case 0:
			return fmt.Sprint(500 + pick(20000))
		case 3:
			return fmt.Sprintf("%d.%03d", pick(80), pick(1000))
		}
		return fmt.Sprintf("%d.%02d", 1+pick(300), pick(100))
	}
	var segment []Msg
	var reqs []Request
	for i := 0; i < o.Visitors; i++ {
		v := &Visitor{Merchant: o.Merchant, Anon: fmt.Sprintf("%s-v%d", o.Merchant, i), GA4: chance(0.4),
			UA: browserUAs[pick(len(browserUAs))], Country: countries[pick(len(countries))]}
		t := o.From.Add(time.Duration(rng.Int64N(int64(span))))
		var msgs []Msg
		step := func(lo, hi time.Duration) time.Time {
			t = t.Add(lo + time.Duration(rng.Int64N(int64(hi-lo))))
			return t
		}
		url := func() string {
			p := pages[pick(len(pages))]
			if v.GA4 {
				return Shop + p.ga4
			}
			return Shop + p.segment
		}
		switch r := rng.Float64(); {
		case r < 0.08: // a crawler
			v.UA = []string{UAGooglebot, UABingbot, UALinkPreview}[pick(3)]
			v.GA4 = false
			for range 1 + pick(4) {
				msgs = append(msgs, v.Page(step(time.Second, time.Minute), url(), ""))
			}
		case r < 0.18: // an app: screen views and events
			v.UA = []string{UASafariIPhone, UAChromeAndroid}[pick(2)]
			for range 1 + pick(5) {
				msgs = append(msgs, v.Screen(step(2*time.Second, 3*time.Minute), []string{"Home", "Product", "Cart"}[pick(3)]))
				if chance(0.3) {
					msgs = append(msgs, v.Track(step(time.Second, 30*time.Second), "add_to_wishlist", "", map[string]any{"item": "p1"}))
				}
			}
		default: // a web visitor
			if chance(0.3) {
				v.Session = fmt.Sprintf("s%d-1", i)
			}
			visits := 1
			if chance(0.35) {
				visits = 2
			}
			for visit := 0; visit < visits; visit++ {
				if visit > 0 {
					if chance(0.5) {
						step(31*time.Minute, 50*time.Minute) // a new session
					} else {
						step(5*time.Minute, 25*time.Minute) // the same one, if no session id changes
					}
					if v.Session != "" && chance(0.5) {
						v.Session = fmt.Sprintf("s%d-%d", i, visit+1)
					}
				}
				acq := acquisitions[pick(len(acquisitions))]
				landing := url() + acq.query
				msgs = append(msgs, v.Page(step(0, time.Second), landing, acq.referrer))
				prev := landing
				n := pick(6)
				long := chance(0.08)
				if long {
					n = 9
				}
				for range n {
					gap := [2]time.Duration{3 * time.Second, 4 * time.Minute}
					if long {
						gap = [2]time.Duration{8 * time.Minute, 9 * time.Minute} // over an hour in all
					}
					next := url()
					msgs = append(msgs, v.Page(step(gap[0], gap[1]), next, prev))
					prev = next
					switch x := rng.Float64(); {
					case x < 0.15:
						name := v.names("view_item", "Product Viewed")
						msgs = append(msgs, v.Valued(step(time.Second, 20*time.Second), name, next, amount("EUR"), "EUR", ""))
					case x < 0.3:
						name := v.names("add_to_cart", "Product Added")
						m := v.Valued(step(time.Second, 20*time.Second), name, next, amount("EUR"), "EUR", "")
						if !v.GA4 {
							m.AmountKey = "total" // ingest reads it; the truth never counts it
						}
						msgs = append(msgs, m)
					case x < 0.4:
						msgs = append(msgs, v.Track(step(time.Second, 20*time.Second), "newsletter_signup", next, map[string]any{"list": "weekly"}))
					}
				}
				if chance(0.3) { // checkout and purchase
					cur := curs[pick(len(curs))]
					amt := amount(cur)
					msgs = append(msgs, v.Valued(step(5*time.Second, time.Minute), v.names("begin_checkout", "Checkout Started"), Shop+"/checkout", amt, cur, ""))
					tx := fmt.Sprintf("%s-o%d-%d", o.Merchant, i, visit)
					buyAmt := amt
					if chance(0.05) {
						buyAmt = []string{"12,50", "abc", "1.2.3"}[pick(3)] // unparseable: the event counts, its amount not
					}
					buy := v.Purchase(step(5*time.Second, time.Minute), Shop+"/checkout/done", buyAmt, cur, tx)
					msgs = append(msgs, buy)
					if chance(0.2) { // the client fires the purchase again: another id, same transaction
						msgs = append(msgs, v.Purchase(step(2*time.Second, 30*time.Second), Shop+"/checkout/done", buyAmt, cur, tx))
					}
					if !v.GA4 && chance(0.5) {
						msgs = append(msgs, v.Identify(step(time.Second, 10*time.Second), fmt.Sprintf("%s-u%d", o.Merchant, i)))
						if chance(0.2) {
							msgs = append(msgs, v.Group(step(time.Second, 5*time.Second)))
						}
						if chance(0.1) {
							msgs = append(msgs, v.Alias(step(time.Second, 5*time.Second), fmt.Sprintf("%s-u%d", o.Merchant, i)))
						}
					}
					if chance(0.15) { // a refund, from the merchant's server or the client
						ref := *v
						msgs = append(msgs, ref.Refund(step(2*time.Minute, 10*time.Minute), amt, cur, tx))
						v.seq = ref.seq
					}
				}
			}
			if v.User != "" && chance(0.6) { // a server-side purchase that knows only the user id
				srv := &Visitor{Merchant: o.Merchant, User: v.User, UA: UAServerSDK, Country: "US"}
				late := 2*time.Minute + time.Duration(rng.Int64N(int64(20*time.Minute)))
				if chance(0.3) {
					late = 45 * time.Minute // too late to attach
				}
				cur := curs[pick(len(curs))]
				srv.seq = 1000 * (i + 1)
				if at := t.Add(late); !at.After(o.To.Add(spill)) {
					segment = append(segment, srv.Purchase(at, "", amount(cur), cur, fmt.Sprintf("%s-srv%d", o.Merchant, i)))
				}
			}
		}
		msgs = slices.DeleteFunc(msgs, func(m Msg) bool { return m.Hit.At.After(o.To.Add(spill)) })
		if !o.NoCopies && !v.GA4 && len(msgs) > 1 && chance(0.1) { // a copy whose event time moved (sentAt correction)
			c := msgs[pick(len(msgs))]
			c.Hit.At = c.Hit.At.Add(time.Duration(1+pick(50)) * time.Second)
			c.SentAtSkew = time.Duration(1+pick(30)) * time.Minute
			msgs = append(msgs, c)
		}
		if v.GA4 {
			for off := 0; off < len(msgs); {
				n := 1 + pick(4)
				r := GA4(o.Merchant, msgs[off:min(off+n, len(msgs))]...)
				if chance(0.1) {
					r.Repeat = 1 // a retried request
				}
				reqs = append(reqs, r)
				off += n
			}
		} else {
			segment = append(segment, msgs...)
		}
	}
	rng.Shuffle(len(segment), func(i, j int) { segment[i], segment[j] = segment[j], segment[i] })
	for _, r := range Segment(o.Merchant, segment...) {
		if chance(0.1) {
			r.Repeat = 1 // a retried batch
		}
		reqs = append(reqs, r)
	}
	return reqs
}
