package transforms

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/pipelines/enrich"
)

// at parses a time of day on base ("00:30:05").
func at(t testing.TB, hms string) int64 {
	t.Helper()
	d, err := time.Parse("15:04:05", hms)
	if err != nil {
		t.Fatal(err)
	}
	return base.Add(time.Duration(d.Hour())*time.Hour + time.Duration(d.Minute())*time.Minute + time.Duration(d.Second())*time.Second).UnixMicro()
}

// ev is a compact test event of visitor "v".
type ev struct {
	at    string
	name  string // page_view, screen_view, identify, purchase, refund, … ("" page_view)
	page  string // "" no page context
	sid   string
	id    string // "" a fresh id
	src   string // referrer host ("" none)
	tx    string
	cents int64
}

func hitsOf(t testing.TB, evs []ev) []Hit {
	t.Helper()
	en := enrich.New(0)
	var out []Hit
	for i, e := range evs {
		id := e.id
		if id == "" {
			id = fmt.Sprintf("e%d", i)
		}
		name, typ := e.name, event.TypeTrack
		switch name {
		case "":
			name, typ = event.NamePageView, event.TypePage
		case event.NamePageView:
			typ = event.TypePage
		case event.NameScreenView:
			typ = event.TypeScreen
		case "identify":
			typ = event.TypeIdentify
		}
		ev := event.Event{ID: id, MerchantID: "m", Type: typ, Name: name, AnonymousID: "v", SessionID: e.sid,
			EventTime: at(t, e.at), ReceiveTime: at(t, e.at) + int64(i), TransactionID: e.tx, RevenueMinor: e.cents, Currency: "EUR", RevenueScale: 2,
			UserAgent: humanUAs[0]}
		if e.cents == 0 {
			ev.Currency, ev.RevenueScale = "", 0
		}
		if e.page != "" {
			ev.PageURL = "https://shop.example.com" + e.page
		}
		if e.src != "" {
			ev.Referrer = "https://" + e.src + "/"
		}
		h, _ := hitOf(en, &ev)
		out = append(out, h)
	}
	return out
}

func fmtSession(se Session) string {
	return fmt.Sprintf("%s-%s n=%d v=%d i=%d buy=%v bounce=%v engaged=%v src=%s entry=%s exit=%s",
		time.UnixMicro(se.Start).UTC().Format("15:04:05"), time.UnixMicro(se.End).UTC().Format("15:04:05"),
		se.Events, se.Views, se.Interactions, se.Purchase, se.Bounce(), se.Engaged(), se.Source, se.Entry, se.Exit)
}

func fmtHit(h Hit) string {
	return fmt.Sprintf("%s %s src=%s entry=%s page=%s rev=%d", time.UnixMicro(h.Time).UTC().Format("15:04:05"), h.Name, h.Source, h.Entry, h.Page, h.Revenue)
}

// runVisitor runs the batch per-visitor rules on evs (in any order).
func runVisitor(t testing.TB, evs []ev) (hits, sessions []string, st visitStats) {
	t.Helper()
	hs := hitsOf(t, evs)
	sortHits(hs)
	var v visitor
	st = v.run(hs, func(h Hit) { hits = append(hits, fmtHit(h)) }, func(se Session) { sessions = append(sessions, fmtSession(se)) })
	sort.Strings(hits)
	sort.Strings(sessions)
	return hits, sessions, st
}

// The rules of docs/metrics.md, one visitor at a time, hand-computed.
func TestVisitorRules(t *testing.T) {
	tests := []struct {
		name     string
		evs      []ev
		sessions []string
		hits     []string // only checked when set
	}{
		{"one view is a bounce, not engaged", []ev{{at: "00:00:00", page: "/a"}},
			[]string{"00:00:00-00:00:00 n=1 v=1 i=0 buy=false bounce=true engaged=false src=(direct) entry=/a exit=/a"}, nil},
		{"gap of exactly 30 minutes splits", []ev{{at: "00:00:00", page: "/a"}, {at: "00:30:00", page: "/b"}},
			[]string{"00:00:00-00:00:00 n=1 v=1 i=0 buy=false bounce=true engaged=false src=(direct) entry=/a exit=/a",
				"00:30:00-00:30:00 n=1 v=1 i=0 buy=false bounce=true engaged=false src=(direct) entry=/b exit=/b"}, nil},
		{"two views are engaged, not a bounce", []ev{{at: "00:00:00", page: "/a"}, {at: "00:00:05", page: "/b"}},
			[]string{"00:00:00-00:00:05 n=2 v=2 i=0 buy=false bounce=false engaged=true src=(direct) entry=/a exit=/b"}, nil},
		{"ten seconds are engaged", []ev{{at: "00:00:00", page: "/a"}, {at: "00:00:10", name: "scroll", page: "/a"}},
			[]string{"00:00:00-00:00:10 n=2 v=1 i=1 buy=false bounce=false engaged=true src=(direct) entry=/a exit=/a"}, nil},
		{"nine seconds with an interaction: not a bounce, not engaged", []ev{{at: "00:00:00", page: "/a"}, {at: "00:00:09", name: "click", page: "/a"}},
			[]string{"00:00:00-00:00:09 n=2 v=1 i=1 buy=false bounce=false engaged=false src=(direct) entry=/a exit=/a"}, nil},
		{"a purchase is engaged", []ev{{at: "00:00:00", name: "purchase", tx: "o1", cents: 990}},
			[]string{"00:00:00-00:00:00 n=1 v=0 i=1 buy=true bounce=false engaged=true src=(direct) entry=(none) exit=(none)"}, nil},
		{"identify is no interaction and no part of a session", []ev{{at: "00:00:00", page: "/a"}, {at: "00:00:20", name: "identify", page: "/a"}},
			[]string{"00:00:00-00:00:00 n=1 v=1 i=0 buy=false bounce=true engaged=false src=(direct) entry=/a exit=/a"}, nil},
		{"screen_view is a view", []ev{{at: "00:00:00", name: event.NameScreenView}, {at: "00:00:01", name: event.NameScreenView}},
			[]string{"00:00:00-00:00:01 n=2 v=2 i=0 buy=false bounce=false engaged=true src=(direct) entry=(none) exit=(none)"}, nil},
		{"a session ends after an hour", []ev{{at: "00:00:00", page: "/a"}, {at: "00:25:00", page: "/b"}, {at: "00:50:00", page: "/c"}, {at: "01:00:00", page: "/d"}},
			[]string{"00:00:00-00:50:00 n=3 v=3 i=0 buy=false bounce=false engaged=true src=(direct) entry=/a exit=/c",
				"01:00:00-01:00:00 n=1 v=1 i=0 buy=false bounce=true engaged=false src=(direct) entry=/d exit=/d"}, nil},
		{"a session started at :10 runs past the next full hour", []ev{{at: "00:10:00", page: "/a"}, {at: "00:35:00", page: "/b"}, {at: "01:00:00", page: "/c"}, {at: "01:20:00", page: "/d"}},
			[]string{"00:10:00-01:20:00 n=4 v=4 i=0 buy=false bounce=false engaged=true src=(direct) entry=/a exit=/d"}, nil},
		{"a run of an hour or more is cut at each full hour", []ev{{at: "00:10:00", page: "/a"}, {at: "00:30:00"}, {at: "00:50:00"}, {at: "01:10:00"},
			{at: "01:30:00"}, {at: "01:50:00"}, {at: "02:10:00", page: "/b"}, {at: "02:30:00"}, {at: "02:50:00"}, {at: "03:10:00", page: "/c"}, {at: "03:30:00"}},
			[]string{"00:10:00-01:50:00 n=6 v=6 i=0 buy=false bounce=false engaged=true src=(direct) entry=/a exit=/a",
				"02:10:00-02:50:00 n=3 v=3 i=0 buy=false bounce=false engaged=true src=(direct) entry=/b exit=/b",
				"03:10:00-03:30:00 n=2 v=2 i=0 buy=false bounce=false engaged=true src=(direct) entry=/c exit=/c"}, nil},
		{"client session ids never share a session", []ev{{at: "00:00:00", page: "/a", sid: "x"}, {at: "00:01:00", page: "/b", sid: "y"}, {at: "00:02:00", page: "/c", sid: "x"}},
			[]string{"00:00:00-00:02:00 n=2 v=2 i=0 buy=false bounce=false engaged=true src=(direct) entry=/a exit=/c",
				"00:01:00-00:01:00 n=1 v=1 i=0 buy=false bounce=true engaged=false src=(direct) entry=/b exit=/b"}, nil},
		{"the first event's source applies to the whole session", []ev{
			{at: "00:00:00", page: "/", src: "www.google.com"}, {at: "00:02:00", page: "/p", src: "shop.example.com"},
			{at: "00:05:00", name: "purchase", page: "/thanks", tx: "o1", cents: 1990}},
			[]string{"00:00:00-00:05:00 n=3 v=2 i=1 buy=true bounce=false engaged=true src=google entry=/ exit=/thanks"},
			[]string{"00:00:00 page_view src=google entry=/ page=/ rev=0", "00:02:00 page_view src=google entry=/ page=/p rev=0",
				"00:05:00 purchase src=google entry=/ page=/thanks rev=1990"}},
		{"entry is the first page, even when the first event has none", []ev{{at: "00:00:00", name: "app_open"}, {at: "00:00:03", page: "/home"}},
			[]string{"00:00:00-00:00:03 n=2 v=1 i=1 buy=false bounce=false engaged=false src=(direct) entry=/home exit=/home"},
			[]string{"00:00:00 app_open src=(direct) entry=/home page=(none) rev=0", "00:00:03 page_view src=(direct) entry=/home page=/home rev=0"}},
		{"a copy within an hour is dropped, even in another hour", []ev{{at: "00:59:00", page: "/a", id: "x"}, {at: "01:10:00", page: "/a", id: "x"}},
			[]string{"00:59:00-00:59:00 n=1 v=1 i=0 buy=false bounce=true engaged=false src=(direct) entry=/a exit=/a"}, nil},
		{"a copy more than an hour later counts again", []ev{{at: "00:00:00", page: "/a", id: "x"}, {at: "01:00:01", page: "/a", id: "x"}},
			[]string{"00:00:00-00:00:00 n=1 v=1 i=0 buy=false bounce=true engaged=false src=(direct) entry=/a exit=/a",
				"01:00:01-01:00:01 n=1 v=1 i=0 buy=false bounce=true engaged=false src=(direct) entry=/a exit=/a"}, nil},
		{"a repeated transaction keeps its event, not its revenue", []ev{{at: "00:00:00", name: "purchase", tx: "o1", cents: 500}, {at: "00:01:00", name: "purchase", tx: "o1", cents: 500}},
			[]string{"00:00:00-00:01:00 n=2 v=0 i=2 buy=true bounce=false engaged=true src=(direct) entry=(none) exit=(none)"},
			[]string{"00:00:00 purchase src=(direct) entry=(none) page=(none) rev=500", "00:01:00 purchase src=(direct) entry=(none) page=(none) rev=0"}},
		{"a refund subtracts", []ev{{at: "00:00:00", name: "refund", cents: 300}},
			[]string{"00:00:00-00:00:00 n=1 v=0 i=1 buy=false bounce=false engaged=false src=(direct) entry=(none) exit=(none)"},
			[]string{"00:00:00 refund src=(direct) entry=(none) page=(none) rev=-300"}},
		{"a value on a non-purchase is no revenue", []ev{{at: "00:00:00", name: "add_to_cart", cents: 300}},
			nil, []string{"00:00:00 add_to_cart src=(direct) entry=(none) page=(none) rev=0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hits, sessions, _ := runVisitor(t, tc.evs)
			if tc.sessions != nil && !slices.Equal(sessions, tc.sessions) {
				t.Errorf("sessions:\n got %s\nwant %s", strings.Join(sessions, "\n     "), strings.Join(tc.sessions, "\n     "))
			}
			if tc.hits != nil && !slices.Equal(hits, tc.hits) {
				t.Errorf("hits:\n got %s\nwant %s", strings.Join(hits, "\n     "), strings.Join(tc.hits, "\n     "))
			}
			// The order the events come in does not matter.
			rev := slices.Clone(tc.evs)
			slices.Reverse(rev)
			h2, s2, _ := runVisitor(t, rev)
			if !slices.Equal(h2, hits) || !slices.Equal(s2, sessions) {
				t.Errorf("reversed input changed the result")
			}
		})
	}
}

// One visitor with more client session ids open than MaxOpenSessions: the
// one idle the longest closes early; every event still counts once.
func TestVisitorBoundsOpenSessions(t *testing.T) {
	var evs []ev
	for i := 0; i < MaxOpenSessions+5; i++ {
		evs = append(evs, ev{at: fmt.Sprintf("00:%02d:00", i), page: "/", sid: fmt.Sprint(i)})
	}
	hits, sessions, _ := runVisitor(t, evs)
	if len(hits) != len(evs) || len(sessions) != len(evs) {
		t.Errorf("%d hits and %d sessions, want %d each", len(hits), len(sessions), len(evs))
	}
}

// The streaming step (visitState.add, then fire) gives what the batch rules
// give when a visitor's events arrive in event-time order.
func TestVisitStateMatchesBatchInOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := 0; trial < 200; trial++ {
		var evs []ev
		tm := 0
		for i := 0; i < 2+rng.IntN(30); i++ {
			tm += []int{1, 5, 40, 600, 1200, 1700, 1799, 1800, 2400}[rng.IntN(9)]
			e := ev{at: fmt.Sprintf("%02d:%02d:%02d", tm/3600, tm/60%60, tm%60), page: []string{"", "/a", "/b"}[rng.IntN(3)],
				name: []string{"", "", "click", "identify", "purchase"}[rng.IntN(5)], sid: []string{"", "", "s"}[rng.IntN(3)]}
			if e.name == "purchase" {
				e.tx, e.cents = []string{"o1", "o2"}[rng.IntN(2)], 100
			}
			if rng.IntN(6) == 0 && i > 0 {
				e.id = "e0" // a copy of the first event
			}
			evs = append(evs, e)
		}
		wantHits, wantSessions, _ := runVisitor(t, evs)

		hs := hitsOf(t, evs)
		sortHits(hs)
		var vs visitState
		var gotHits, gotSessions []string
		for _, h := range hs {
			res := vs.add(&h, h.Time)
			for _, o := range res.closed {
				gotSessions = append(gotSessions, fmtSession(o.session("m", "v")))
			}
			if !res.dup {
				gotHits = append(gotHits, h.ID)
			}
		}
		closed, _ := vs.fire(1 << 62)
		for _, o := range closed {
			gotSessions = append(gotSessions, fmtSession(o.session("m", "v")))
		}
		sort.Strings(gotSessions)
		if !slices.Equal(gotSessions, wantSessions) || len(gotHits) != len(wantHits) {
			t.Fatalf("trial %d %+v:\nstreaming sessions %v\n    batch sessions %v\nhits %d vs %d", trial, evs, gotSessions, wantSessions, len(gotHits), len(wantHits))
		}
	}
}

func TestVisitStateCoderRoundTrip(t *testing.T) {
	vs := visitState{TimerAt: 99, IDs: []seenID{{fingerprint("a"), 1, 7001}, {1 << 63, -2, -2}}, Txs: []seenID{{fingerprint("o"), 5, 1_000_005}}, Tails: []sidTail{{"s", tail{Run: 1, Last: 9}}},
		Open: []openSession{{SID: "s", Start: 1, Last: 2, Run: -5, First: enrich.Dims{Source: "google", Country: "DE"}, Entry: "/a", Exit: "/b", Events: 3, Views: 2, Purchase: true}}}
	got, err := decodeVisitState(encodeVisitState(vs))
	if err != nil || !reflect.DeepEqual(got, vs) {
		t.Errorf("round trip = %+v, %v; want %+v", got, err, vs)
	}
	if _, err := decodeVisitState(encodeVisitState(vs)[:7]); err == nil {
		t.Error("a truncated state decoded")
	}
}

func TestHitAndSessionCodersRoundTrip(t *testing.T) {
	h := Hit{ID: "e1", Merchant: "m", Anon: "a", UserID: "u", Visitor: "a", SessionID: "s", Type: "track", Name: "purchase", TxID: "o1",
		Currency: "EUR", Time: 1234567, Receive: 1234999, Revenue: -250, Scale: 2, Flags: flagBot | flagPurchase,
		Dims: enrich.Dims{Page: "/p", Source: "google", Medium: "organic", Campaign: "(none)", Country: "DE", Device: "mobile", Browser: "Safari", OS: "iOS"}, Entry: "/"}
	got, err := decodeHit(encodeHit(h))
	if err != nil || !reflect.DeepEqual(got, h) {
		t.Errorf("decodeHit(encodeHit(%+v)) = %+v, %v", h, got, err)
	}
	if _, err := decodeHit(encodeHit(h)[:10]); err == nil {
		t.Error("a truncated hit decoded")
	}
	batch := hitBatch{[]Hit{h, {ID: "e2", Merchant: "m"}, h}}
	gb, err := decodeHitBatch(encodeHitBatch(batch))
	if err != nil || !reflect.DeepEqual(gb, batch) {
		t.Errorf("hit batch round trip = %+v, %v", gb, err)
	}
	if _, err := decodeHitBatch(encodeHitBatch(batch)[:30]); err == nil {
		t.Error("a truncated hit batch decoded")
	}
	se := Session{Merchant: "m", Visitor: "v", Start: 1, End: 2, Events: 3, Views: 1, Interactions: 2, Purchase: true,
		Dims: enrich.Dims{Source: "x", Country: "FR"}, Entry: "/a", Exit: "/b"}
	gs, err := decodeSession(encodeSession(se))
	if err != nil || !reflect.DeepEqual(gs, se) {
		t.Errorf("session round trip = %+v, %v", gs, err)
	}
}

// Attach: a user-id-only event takes the anonymous id last seen with its
// user id within AttachWindow before it; otherwise it is unattached.
func TestAttach(t *testing.T) {
	sight := func(anon, hms string) Hit {
		return sightingOf(Hit{Merchant: "m", UserID: "u", Anon: anon, Time: at(t, hms),
			Dims: enrich.Dims{Page: "/seen", Country: "DE-" + anon, Device: "mobile", Browser: "Safari", OS: "iOS"}})
	}
	orphan := func(id, hms string) Hit {
		return Hit{ID: id, Merchant: "m", UserID: "u", Time: at(t, hms),
			Dims: enrich.Dims{Page: "/srv", Country: "US", Device: "other", Browser: "(none)", OS: "(none)"}}
	}
	hits := []Hit{orphan("before", "00:00:00"), sight("a1", "00:10:00"), orphan("same-time", "00:10:00"),
		orphan("within", "00:40:00"), orphan("beyond", "00:40:01"), sight("a2", "01:00:00"), orphan("newer", "01:05:00")}
	rand.Shuffle(len(hits), func(i, j int) { hits[i], hits[j] = hits[j], hits[i] })
	got := map[string]string{}
	attachSorted(hits, func(h Hit) {
		v := h.Visitor
		if h.Flags&flagUnattached != 0 {
			v = "unattached"
		}
		got[h.ID] = v
		// An attached event is the visitor's: country and user agent come
		// from the event it was attached through, not from the server.
		if v != "unattached" && (h.Country != "DE-"+v || h.Device != "mobile" || h.Browser != "Safari" || h.OS != "iOS" || h.Page != "/srv") {
			t.Errorf("%s attached to %s has dims %+v", h.ID, v, h.Dims)
		}
	})
	want := map[string]string{"before": "unattached", "same-time": "a1", "within": "a1", "beyond": "unattached", "newer": "a2"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("attached %v, want %v", got, want)
	}
}

// An unattached event keeps nothing of the server that sent it: no visitor,
// no session, no dimension but its name.
func TestUnattachedHasNoVisitorOrDims(t *testing.T) {
	h := Hit{ID: "x", Merchant: "m", UserID: "u", Name: "purchase", Time: 1, Revenue: 500, Scale: 2, Currency: "EUR",
		Flags: flagPurchase | flagUnattached, Dims: enrich.Dims{Page: "/srv", Country: "US", Device: "other"}}
	var got []Hit
	var sessions int
	var v visitor
	v.run([]Hit{h}, func(h Hit) { got = append(got, h) }, func(Session) { sessions++ })
	if len(got) != 1 || sessions != 0 {
		t.Fatalf("%d hits, %d sessions; want 1, 0", len(got), sessions)
	}
	if g := got[0]; g.Visitor != "" || g.Country != layout.NoneValue || g.Page != layout.NoneValue || g.Revenue != 500 {
		t.Errorf("unattached hit = %+v", g)
	}
}

// BenchmarkVisitStateStep is the streaming visitor step's per-event state
// work (read, add, write) for a visitor who already has n events in the
// last hour: the soak's traffic has ~650 per visitor-hour at 3,600/s.
func BenchmarkVisitStateStep(b *testing.B) {
	for _, n := range []int{20, 650, MaxRecentIDs} {
		b.Run(fmt.Sprintf("ids=%d", n), func(b *testing.B) {
			base := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC).UnixMicro()
			var vs visitState
			for i := range n {
				h := Hit{ID: fmt.Sprintf("%08x-4b1e-4c2a-9d3f-%012x", i, i), Merchant: "m", Visitor: "v", SessionID: "s",
					Type: "page", Time: base + int64(i)*1000, Dims: enrich.Dims{Page: "/p"}}
				vs.add(&h, h.Time)
			}
			state := encodeVisitState(vs)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				vs, err := decodeVisitState(state)
				if err != nil {
					b.Fatal(err)
				}
				h := Hit{ID: fmt.Sprintf("%08x-4b1e-4c2a-9d3f-%012x", n+i, i), Merchant: "m", Visitor: "v", SessionID: "s",
					Type: "page", Time: base + int64(n)*1000, Dims: enrich.Dims{Page: "/p"}}
				vs.add(&h, h.Time)
				_ = encodeVisitState(vs)
			}
			b.ReportMetric(float64(len(state))/float64(max(n, 1)), "state-B/id")
		})
	}
}

// A visitor active for hours without a pause keeps one session open, so
// its timer does not fire; its ids must still be forgotten DedupWindow
// after they arrived, or the streaming job's state grows with uptime
// (issue 22's soak: 20,000 visitors, an event each every 10 s).
func TestVisitStateOfAnActiveVisitorHoldsAnHourOfIDs(t *testing.T) {
	base := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC).UnixMicro()
	every := (10 * time.Second).Microseconds()
	perWindow := int(DedupWindow.Microseconds() / every)
	var vs visitState
	most := 0
	for i := range 3 * perWindow {
		at := base + int64(i)*every
		h := Hit{ID: fmt.Sprintf("e%d", i), Merchant: "m", Visitor: "v", SessionID: "s", Type: "track", Name: "signup", Time: at,
			Flags: flagPurchase, TxID: fmt.Sprintf("o%d", i)}
		res := vs.add(&h, at+2_000_000) // it arrives 2 s after it happened
		if res.dup {
			t.Fatalf("event %d counted as a copy", i)
		}
		most = max(most, len(vs.IDs), len(vs.Txs))
	}
	if most > perWindow+1 {
		t.Errorf("the state held up to %d ids after 3 hours; want at most an hour's, %d", most, perWindow+1)
	}
	// What it still holds dedups: a copy of the event 50 minutes ago.
	last := base + int64(3*perWindow-1)*every
	old := 3*perWindow - 1 - int((50*time.Minute).Microseconds()/every)
	h := Hit{ID: fmt.Sprintf("e%d", old), Merchant: "m", Visitor: "v", SessionID: "s", Type: "track", Name: "signup",
		Time: base + int64(old)*every}
	if res := vs.add(&h, last+3_000_000); !res.dup {
		t.Error("a copy of an event 50 minutes old was not dropped")
	}
}

// A late event (its event time hours ago) is remembered DedupWindow after
// it arrived, not after its event time: a retry of it is a copy until then.
func TestVisitStateRemembersALateEventAfterItArrives(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC).UnixMicro()
	late := func() Hit {
		return Hit{ID: "late", Merchant: "m", Visitor: "v", SessionID: "s", Type: "track", Name: "signup", Time: now - 2*time.Hour.Microseconds()}
	}
	var vs visitState
	h := late()
	if vs.add(&h, now).dup {
		t.Fatal("the first copy was dropped")
	}
	h = late()
	if !vs.add(&h, now+DedupWindow.Microseconds()-time.Minute.Microseconds()).dup {
		t.Error("a retry 59 minutes after the late event arrived was counted again")
	}
	// The retry arrived later, and is remembered from then on; a third
	// copy after both have expired counts (the sealer dedups it).
	h = late()
	if vs.add(&h, now+3*DedupWindow.Microseconds()).dup {
		t.Error("a copy arriving after every remembered copy expired was dropped")
	}
	// The timer forgets by the same rule: an id that arrived at now is
	// kept by a timer firing before now+DedupWindow.
	vs = visitState{}
	h = late()
	vs.add(&h, now)
	vs.fire(now + DedupWindow.Microseconds() - 1)
	if len(vs.IDs) != 1 {
		t.Errorf("the timer forgot an id that arrived less than DedupWindow before it")
	}
	vs.fire(now + DedupWindow.Microseconds() + 1)
	if len(vs.IDs) != 0 {
		t.Errorf("the timer kept an id after it expired")
	}
}

// A state written before arrivals were kept (no trailing section) decodes,
// its ids expiring when its timer fires, as they did then.
func TestVisitStateDecodesAStateWithoutArrivals(t *testing.T) {
	vs := visitState{TimerAt: 10_000_000_000, IDs: []seenID{{1, 5_000_000_000, 5_000_000_000}, {2, 9_000_000_000, 9_000_000_000}},
		Txs: []seenID{{3, 5_000_000_000, 5_000_000_000}}}
	b := encodeVisitState(vs)
	old := b[:len(b)-3] // each arrival is 0 ms after its event time: one byte
	got, err := decodeVisitState(old)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range append(got.IDs, got.Txs...) {
		if want := max(s.Time+DedupWindow.Microseconds(), vs.TimerAt); s.expires() != want {
			t.Errorf("id %d expires at %d; want %d (its time + DedupWindow, not before the timer)", s.H, s.expires(), want)
		}
	}
}

// BenchmarkHitCoder encodes and decodes a typical hit: what crossing the
// batch job's per-visitor shuffle costs footfall's coder (the harness's
// own framing comes on top).
func BenchmarkHitCoder(b *testing.B) {
	h := Hit{ID: "01JDXW3Q8R5T7V9X1Z3B5D7F9H", Merchant: "shop-0042", Anon: "a3f1c2d4-5e6f-4711-8899-aabbccddeeff", Visitor: "a3f1c2d4-5e6f-4711-8899-aabbccddeeff",
		SessionID: "1733500000", Type: "page", Name: "page_view", Time: 1733500000123456, Receive: 1733500000223456,
		Dims:  enrich.Dims{Page: "/products/blue-shoes", Source: "google", Medium: "organic", Campaign: "(none)", Country: "DE", Device: "mobile", Browser: "Safari", OS: "iOS"},
		Entry: "/products/blue-shoes"}
	b.ReportAllocs()
	var n int
	for b.Loop() {
		enc := encodeHit(h)
		n = len(enc)
		if _, err := decodeHit(enc); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n), "bytes/hit")
}

// routeAllFn sends each key's hits of a bundle as one element, in the
// order they came: a visitor's hits by visitor, a logged-in visitor's
// sightings and a user-id-only hit by user. When it holds routeAllMaxHits
// it sends them before the bundle ends, so what it holds is bounded.
func TestRouteAllFnBatchesByKey(t *testing.T) {
	var fn routeAllFn
	got := map[string][][]int64{} // key → batches → hit times
	elements := 0
	emit := func(k string, b hitBatch) {
		elements++
		var ts []int64
		for _, h := range b.Hits {
			ts = append(ts, h.Time)
		}
		got[k] = append(got[k], ts)
	}
	hit := func(anon, user string, at int64) Hit {
		return Hit{Merchant: "m", Anon: anon, Visitor: anon, UserID: user, Time: at}
	}
	for _, h := range []Hit{hit("a", "", 1), hit("b", "u", 2), hit("a", "", 3), hit("", "u", 4), hit("b", "u", 5)} {
		fn.ProcessElement(h, emit)
	}
	if elements != 0 {
		t.Fatalf("%d elements sent before the bundle ended", elements)
	}
	fn.FinishBundle(emit)
	want := map[string][][]int64{
		"m\x00a":             {{1, 3}},
		"m\x00b":             {{2, 5}},
		userGroup + "m\x00u": {{2, 4, 5}}, // two sightings and the user-id-only hit
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("batches = %v, want %v", got, want)
	}

	// The bound: a bundle of routeAllMaxHits+1 hits of 1,000 visitors.
	clear(got)
	elements = 0
	for i := range routeAllMaxHits + 1 {
		fn.ProcessElement(hit(fmt.Sprint(i%1000), "", int64(i)), emit)
		if i == routeAllMaxHits-2 && elements != 0 {
			t.Fatalf("sent before the bound: %d elements", elements)
		}
	}
	if elements != 1000 {
		t.Fatalf("%d elements sent on reaching the bound, want one for each of the 1,000 visitors", elements)
	}
	fn.FinishBundle(emit)
	n := 0
	for k, bs := range got {
		for _, b := range bs {
			n += len(b)
			if !slices.IsSorted(b) {
				t.Fatalf("%q: hits out of order: %v", k, b)
			}
		}
	}
	if n != routeAllMaxHits+1 || elements != 1001 {
		t.Errorf("sent %d hits in %d elements, want %d in 1,001", n, elements, routeAllMaxHits+1)
	}
}
