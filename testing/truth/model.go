package truth

// The ground truth of docs/metrics.md, implemented from that page alone:
// Compute turns the events ingest acknowledged (Hits) into counted events
// and sessions, and Totals/Breakdown aggregate them over any bucket. It
// shares no code with the pipeline (pipelines/transforms, pipelines/enrich).

import (
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"
)

// Hit is one event as ingest accepted it (one Segment message or one GA4
// Measurement Protocol event), with the fields docs/metrics.md reads.
type Hit struct {
	Merchant string
	// ID is the dedup key: the Segment messageId, or for GA4 the request
	// derived key GA4ID (docs/metrics.md: a retried GA4 request is a copy).
	ID string
	// Type is the Segment type: track, page, screen, identify, group or
	// alias; every GA4 event is a track event.
	Type string
	// Name is the event name: the track event's name, page_view for page
	// calls, screen_view for screen calls, the type for the other calls.
	Name string
	// Anon is the anonymous id (Segment anonymousId, GA4 client_id), User
	// the user id, Session the client's session id.
	Anon, User, Session string
	// At is the event time, Received the receive time (dedup ties).
	At, Received time.Time
	// URL, Path and Referrer are the page context.
	URL, Path, Referrer string
	// UTM fields as the client sent them in context.campaign; empty ones
	// are read from the page URL's query (docs/ingest.md).
	UTMSource, UTMMedium, UTMCampaign string
	// UA is the user agent (a key of Agents), Country the ISO code ingest
	// derived from the client IP ("" unknown).
	UA, Country string
	// Amount is the revenue as sent (decimal text, "" none), Currency its
	// ISO 4217 code, TxID the transaction id (GA4 transaction_id, Segment
	// order_id).
	Amount, Currency, TxID string
}

// Config is what merchants configured that changes the definitions.
type Config struct {
	// PurchaseEvents and RefundEvents are per merchant the extra event
	// names that count as purchases or refunds (purchase_events in the
	// merchant's keys, docs/keys.md).
	PurchaseEvents, RefundEvents map[string][]string
	// CountBots counts crawlers' events as everyone's: what the test-only
	// --inject-bug=count-bots of the pipeline does.
	CountBots bool
}

// The windows of docs/metrics.md.
const (
	DedupWindow       = time.Hour        // copies of one id at most this far apart are one event
	TxWindow          = time.Hour        // a transaction id counts once within this
	AttachWindow      = 30 * time.Minute // a user-id-only event attaches to a visitor seen this recently
	SessionGap        = 30 * time.Minute // a gap this long ends a session
	LongRun           = time.Hour        // a run of activity this long is cut at each full UTC hour
	EngagedDuration   = 10 * time.Second // sessions this long are engaged
	EngagedViews      = 2                // sessions with this many views are engaged
	MaxBreakdownItems = 100              // values kept per hour and dimension before (other)
	// MaxAmountMinor bounds one amount in minor units (docs/ingest.md,
	// "Limits": larger ones are dropped with a warning), so that 100
	// million of them sum without overflow.
	MaxAmountMinor = 92_233_720_368
)

// None is the value of a dimension an event has no value for.
const None = "(none)"

// Dimensions served by /v1/breakdown (docs/metrics.md, "Dimensions").
var Dimensions = []string{"event", "page", "entry_page", "exit_page", "source", "medium", "campaign", "country", "device", "browser", "os"}

// EventScoped reports whether dim takes its value from each event (event,
// page) rather than from the session's first event.
func EventScoped(dim string) bool { return dim == "event" || dim == "page" }

// Counted is one event that counts: deduplicated, not a bot's.
type Counted struct {
	Hit *Hit
	// Key is the visitor key: the anonymous id, or the one a user-id-only
	// event attached to; "" for an unattached event.
	Key string
	// Via is, for an attached event, the event it attached through (the
	// visitor's last event with the user id); it lends the attached event
	// its country and user agent, so that a server never gives a session
	// its own country and device.
	Via *Hit
	// Session is the event's session; nil for sessionless events.
	Session *Session
	// View: the event is a page_view or screen_view.
	View bool
	// Purchase, Refund: the event's commerce role.
	Purchase, Refund bool
	// Revenue is the signed amount in minor units of Currency at Scale
	// (nil: none — no amount, an unparseable one, not a purchase or refund,
	// or a repeated transaction id).
	Revenue  *big.Int
	Currency string
	Scale    int
	// Dims are the event's value of every dimension.
	Dims map[string]string
}

// Session is one session of a visitor key (docs/metrics.md, "Sessions").
type Session struct {
	Merchant, Key string
	Start, End    time.Time
	Events, Views int
	Purchase      bool
	// Dims are the session-scoped dimensions, entry_page and exit_page
	// included.
	Dims map[string]string
}

// Duration is last event time minus first.
func (s *Session) Duration() time.Duration { return s.End.Sub(s.Start) }

// Bounce: one event, and that event a view.
func (s *Session) Bounce() bool { return s.Events == 1 && s.Views == 1 }

// Engaged: at least 10 s, or 2 views, or a purchase.
func (s *Session) Engaged() bool {
	return s.Duration() >= EngagedDuration || s.Views >= EngagedViews || s.Purchase
}

// Model is the ground truth of a set of hits.
type Model struct {
	Counted  []*Counted
	Sessions []*Session
	// Bots are the deduplicated bot events (bot_events).
	Bots []*Hit
	// Dropped are the copies deduplication dropped.
	Dropped []*Hit
}

// Compute applies docs/metrics.md to hits: deduplication, bots, attachment
// of user-id-only events, sessions, revenue and dimensions. It fails on a
// user agent or currency the truth has no label for (add it to Agents or
// Currencies).
func Compute(hits []Hit, cfg Config) (*Model, error) {
	m := &Model{}
	idx := make([]int, len(hits))
	for i := range idx {
		idx[i] = i
	}
	order := func(a, b int) int { // event time, receive time, position
		if c := hits[a].At.Compare(hits[b].At); c != 0 {
			return c
		}
		if c := hits[a].Received.Compare(hits[b].Received); c != 0 {
			return c
		}
		return a - b
	}
	slices.SortStableFunc(idx, order)

	// Deduplication: a copy is dropped when another copy of its (merchant,
	// id) is earlier by at most DedupWindow.
	last := map[[2]string]time.Time{}
	var kept []int
	for _, i := range idx {
		h := &hits[i]
		if _, ok := Agents[h.UA]; !ok && !isBotUA(h.UA) {
			return nil, fmt.Errorf("truth.Compute: hit %s: user agent %q has no label in truth.Agents", h.ID, h.UA)
		}
		k := [2]string{h.Merchant, h.ID}
		prev, seen := last[k]
		last[k] = h.At
		if seen && h.At.Sub(prev) <= DedupWindow {
			m.Dropped = append(m.Dropped, h)
			continue
		}
		if isBotUA(h.UA) && !cfg.CountBots {
			m.Bots = append(m.Bots, h)
			continue
		}
		kept = append(kept, i)
	}

	// Attachment: the anonymous id last seen with the user id, at most
	// AttachWindow before.
	type sighting struct {
		at   time.Time
		anon string
		hit  *Hit
	}
	seen := map[[2]string][]sighting{} // (merchant, user) → in event-time order
	for _, i := range kept {
		if h := &hits[i]; h.Anon != "" && h.User != "" {
			k := [2]string{h.Merchant, h.User}
			seen[k] = append(seen[k], sighting{h.At, h.Anon, h})
		}
	}
	cs := make([]*Counted, 0, len(kept))
	for _, i := range kept {
		h := &hits[i]
		c := &Counted{Hit: h, Key: h.Anon, View: h.Name == "page_view" || h.Name == "screen_view"}
		if c.Key == "" {
			ss := seen[[2]string{h.Merchant, h.User}]
			j, _ := slices.BinarySearchFunc(ss, h.At, func(s sighting, t time.Time) int {
				if s.at.After(t) {
					return 1
				}
				return -1
			})
			if j > 0 && h.At.Sub(ss[j-1].at) <= AttachWindow {
				c.Key, c.Via = ss[j-1].anon, ss[j-1].hit
			}
		}
		c.Purchase = isName(h, cfg.PurchaseEvents, "purchase", "Order Completed")
		c.Refund = !c.Purchase && isName(h, cfg.RefundEvents, "refund", "Order Refunded")
		cs = append(cs, c)
	}

	// Sessions: per (merchant, key, client session id), in event-time order.
	groups := map[[3]string][]*Counted{}
	var groupOrder [][3]string
	for _, c := range cs {
		if c.Key == "" || !sessionType(c.Hit.Type) {
			continue
		}
		k := [3]string{c.Hit.Merchant, c.Key, c.Hit.Session}
		if groups[k] == nil {
			groupOrder = append(groupOrder, k)
		}
		groups[k] = append(groups[k], c)
	}
	for _, k := range groupOrder {
		var s *Session
		var members []*Counted
		var run time.Time // when the run of activity without a SessionGap pause began
		flush := func() {
			if s != nil {
				m.Sessions = append(m.Sessions, finishSession(s, members))
			}
		}
		for _, c := range groups[k] {
			newRun := s == nil || c.Hit.At.Sub(s.End) >= SessionGap
			if newRun {
				run = c.Hit.At
			}
			// The first full UTC hour after the previous event, if this
			// event is at or past it and the run had lasted LongRun there.
			cut := false
			if !newRun {
				h := s.End.Truncate(time.Hour).Add(time.Hour)
				cut = !c.Hit.At.Before(h) && h.Sub(run) >= LongRun
			}
			if newRun || cut {
				flush()
				s, members = &Session{Merchant: k[0], Key: k[1], Start: c.Hit.At}, nil
			}
			s.End = c.Hit.At
			s.Events++
			if c.View {
				s.Views++
			}
			s.Purchase = s.Purchase || c.Purchase
			c.Session = s
			members = append(members, c)
		}
		flush()
	}

	// Revenue: purchases minus refunds; a purchase once per (merchant,
	// visitor key, transaction id) within TxWindow.
	lastTx := map[[3]string]time.Time{}
	for _, c := range cs {
		h := c.Hit
		if !c.Purchase && !c.Refund || h.Amount == "" {
			continue
		}
		cur := h.Currency
		if cur == "" {
			cur = "USD" // Segment's default (docs/ingest.md)
		}
		scale, ok := Currencies[cur]
		if !ok {
			return nil, fmt.Errorf("truth.Compute: hit %s: currency %q has no ISO 4217 scale in truth.Currencies", h.ID, cur)
		}
		minor, ok := MinorUnits(h.Amount, scale)
		if !ok || minor.CmpAbs(big.NewInt(MaxAmountMinor)) > 0 {
			continue // unparseable or too large: the field is dropped, the event counts
		}
		if c.Purchase && h.TxID != "" {
			k := [3]string{h.Merchant, c.Key, h.TxID}
			prev, seen := lastTx[k]
			lastTx[k] = h.At
			if seen && h.At.Sub(prev) <= TxWindow {
				continue
			}
		}
		if c.Refund {
			minor.Neg(minor)
		}
		c.Revenue, c.Currency, c.Scale = minor, cur, scale
	}

	// Dimensions.
	for _, c := range cs {
		c.Dims = map[string]string{"event": c.Hit.Name}
		switch {
		case c.Key == "":
			for _, d := range Dimensions[1:] {
				c.Dims[d] = None
			}
		case c.Session != nil:
			c.Dims["page"] = PageOf(c.Hit)
			for d, v := range c.Session.Dims {
				c.Dims[d] = v
			}
		default: // sessionless: its own event's values
			c.Dims["page"] = PageOf(c.Hit)
			for d, v := range sessionDims(c) {
				c.Dims[d] = v
			}
			c.Dims["entry_page"], c.Dims["exit_page"] = c.Dims["page"], c.Dims["page"]
		}
	}
	m.Counted = cs
	return m, nil
}

func isName(h *Hit, configured map[string][]string, names ...string) bool {
	return slices.Contains(names, h.Name) || slices.Contains(configured[h.Merchant], h.Name)
}

// sessionType: track, page and screen events belong to sessions; identify,
// group and alias never do.
func sessionType(t string) bool { return t == "track" || t == "page" || t == "screen" }

func finishSession(s *Session, members []*Counted) *Session {
	s.Dims = sessionDims(members[0])
	s.Dims["entry_page"], s.Dims["exit_page"] = None, None
	for _, c := range members {
		if HasPage(c.Hit) {
			if s.Dims["entry_page"] == None {
				s.Dims["entry_page"] = PageOf(c.Hit)
			}
			s.Dims["exit_page"] = PageOf(c.Hit)
		}
	}
	return s
}

// sessionDims are the session-scoped dimensions one event gives
// (entry_page and exit_page excepted). An attached event has the country
// and user agent of the event it attached through.
func sessionDims(c *Counted) map[string]string {
	h, ctx := c.Hit, c.Hit
	if c.Via != nil {
		ctx = c.Via
	}
	src, med := SourceMedium(h)
	a := Agents[ctx.UA]
	country := strings.ToUpper(ctx.Country)
	if country == "" {
		country = None
	}
	return map[string]string{"source": src, "medium": med, "campaign": Campaign(h), "country": country,
		"device": a.Device, "browser": orNone(a.Browser), "os": orNone(a.OS)}
}

func orNone(s string) string {
	if s == "" {
		return None
	}
	return s
}

// Metrics are the values of docs/metrics.md for one bucket (and one
// dimension value).
type Metrics struct {
	Events, PageViews int64
	// Visitors is the set of visitor keys.
	Visitors                   map[string]bool
	Sessions, Bounces, Engaged int64
	DurationMillis             int64
	Revenue                    Revenue
}

func newMetrics() *Metrics { return &Metrics{Visitors: map[string]bool{}, Revenue: Revenue{}} }

// Value is one metric as the query API serves it: a count, a rate (nil
// without sessions) or seconds; revenue is in Revenue.
func (x *Metrics) Value(metric string) (float64, bool) {
	ratio := func(n, d int64) (float64, bool) {
		if d == 0 {
			return 0, false
		}
		return float64(n) / float64(d), true
	}
	switch metric {
	case "events":
		return float64(x.Events), true
	case "pageviews":
		return float64(x.PageViews), true
	case "visitors":
		return float64(len(x.Visitors)), true
	case "sessions":
		return float64(x.Sessions), true
	case "engaged_sessions":
		return float64(x.Engaged), true
	case "bounce_rate":
		return ratio(x.Bounces, x.Sessions)
	case "engagement_rate":
		return ratio(x.Engaged, x.Sessions)
	case "avg_session_duration":
		v, ok := ratio(x.DurationMillis, x.Sessions)
		return v / 1000, ok
	}
	panic("truth: unknown metric " + metric)
}

func (x *Metrics) addEvent(c *Counted, visitors bool) {
	x.Events++
	if c.View {
		x.PageViews++
	}
	if visitors && c.Key != "" {
		x.Visitors[c.Key] = true
	}
	if c.Revenue != nil {
		x.Revenue.add(c.Currency, c.Revenue, c.Scale)
	}
}

func (x *Metrics) addSession(s *Session) {
	x.Sessions++
	if s.Bounce() {
		x.Bounces++
	}
	if s.Engaged() {
		x.Engaged++
	}
	x.DurationMillis += s.Duration().Milliseconds()
}

func in(t, from, to time.Time) bool { return !t.Before(from) && t.Before(to) }

// Totals are merchant's metrics over [from, to): events at their event
// time, sessions at their start.
func (m *Model) Totals(merchant string, from, to time.Time) *Metrics {
	x := newMetrics()
	for _, c := range m.Counted {
		if c.Hit.Merchant == merchant && in(c.Hit.At, from, to) {
			x.addEvent(c, true)
		}
	}
	for _, s := range m.Sessions {
		if s.Merchant == merchant && in(s.Start, from, to) {
			x.addSession(s)
		}
	}
	return x
}

// EventCount counts merchant's events named name over [from, to).
func (m *Model) EventCount(merchant, name string, from, to time.Time) int64 {
	var n int64
	for _, c := range m.Counted {
		if c.Hit.Merchant == merchant && c.Hit.Name == name && in(c.Hit.At, from, to) {
			n++
		}
	}
	return n
}

// BotEvents counts merchant's bot events over [from, to).
func (m *Model) BotEvents(merchant string, from, to time.Time) int64 {
	var n int64
	for _, h := range m.Bots {
		if h.Merchant == merchant && in(h.At, from, to) {
			n++
		}
	}
	return n
}

// Breakdown is merchant's metrics over [from, to) per value of dim, with
// the metrics docs/metrics.md serves for it: events, page views, revenue
// and visitors per event (exit_page: none — visitors of its sessions),
// session metrics for session-scoped dimensions.
func (m *Model) Breakdown(merchant, dim string, from, to time.Time) map[string]*Metrics {
	out := map[string]*Metrics{}
	get := func(v string) *Metrics {
		if out[v] == nil {
			out[v] = newMetrics()
		}
		return out[v]
	}
	if dim != "exit_page" {
		for _, c := range m.Counted {
			if c.Hit.Merchant == merchant && in(c.Hit.At, from, to) {
				get(c.Dims[dim]).addEvent(c, true)
			}
		}
	}
	if EventScoped(dim) {
		return out
	}
	for _, s := range m.Sessions {
		if s.Merchant == merchant && in(s.Start, from, to) {
			x := get(s.Dims[dim])
			x.addSession(s)
			if dim == "exit_page" {
				x.Visitors[s.Key] = true
			}
		}
	}
	return out
}

// Revenue is an amount per ISO 4217 currency.
type Revenue map[string]*Amount

// Amount is an exact sum in minor units at a scale (decimals).
type Amount struct {
	Minor *big.Int
	Scale int
}

// add adds v minor units at scale, bringing both to the larger scale.
func (r Revenue) add(cur string, v *big.Int, scale int) {
	a := r[cur]
	if a == nil {
		a = &Amount{Minor: new(big.Int), Scale: scale}
		r[cur] = a
	}
	v = new(big.Int).Set(v)
	for a.Scale < scale {
		a.Minor.Mul(a.Minor, big.NewInt(10))
		a.Scale++
	}
	for s := scale; s < a.Scale; s++ {
		v.Mul(v, big.NewInt(10))
	}
	a.Minor.Add(a.Minor, v)
}

// Saturated is the sum as stored: clamped to ±(2⁶³−1).
func (a *Amount) Saturated() int64 {
	switch {
	case a.Minor.IsInt64():
		return a.Minor.Int64()
	case a.Minor.Sign() > 0:
		return 1<<63 - 1
	}
	return -(1<<63 - 1)
}

// Decimal is the saturated sum as a decimal at the amount's scale.
func (a *Amount) Decimal() string { return FormatMinor(big.NewInt(a.Saturated()), a.Scale) }

// String shows the exact sum.
func (a *Amount) String() string { return FormatMinor(a.Minor, a.Scale) }
