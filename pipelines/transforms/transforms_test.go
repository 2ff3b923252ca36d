package transforms

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/typex"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/pipelines/enrich"
)

func TestMain(m *testing.M) {
	ptest.MainWithDefault(m, "prism")
}

func init() {
	register.Function2x1(formatRow)
	register.Function2x0(onlyTotals)
}

var base = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// User agents of the generated events; the last two are bots.
var (
	humanUAs = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/118.0",
	}
	botUAs = []string{
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		"Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
	}
	referrers = []string{"", "", "https://www.google.com/", "https://t.co/x", "https://mail.google.com/", "https://shop.example.com/cart"}
	pages     = []string{"/", "/products/1", "/products/2", "/cart/", "/checkout", "/caf%C3%A9", "/café", "/help"}
	countries = []string{"US", "DE", "FR", "", "JP"}
	names     = []string{"page_view", "page_view", "page_view", "screen_view", "add_to_cart", "signup", "purchase", "Order Completed", "refund", "identify"}
)

// genEvents makes events of two merchants over hours [base, base+hours):
// visitors that come back after gaps under and over 30 minutes, bots
// (some with a user id only), user-id-only server events, purchases with repeated transaction ids,
// refunds, identify calls, and copies of events (some with a different
// event time). It returns the messages, shuffled, with undecodable ones
// mixed in, and the events as sent (copies included).
func genEvents(t testing.TB, seed uint64, n, hours int) ([][]byte, []event.Event) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 99))
	var events []event.Event
	var msgs [][]byte
	clock := map[string]time.Time{}
	for i := 0; i < n; i++ {
		m := fmt.Sprintf("shop-%d", rng.IntN(2))
		v := rng.IntN(40)
		key := fmt.Sprint(m, v)
		ts, ok := clock[key]
		if !ok || rng.IntN(6) == 0 {
			ts = base.Add(time.Duration(rng.Int64N(int64(hours) * int64(time.Hour))))
		} else {
			ts = ts.Add([]time.Duration{time.Second, 8 * time.Second, 2 * time.Minute, 29 * time.Minute, 31 * time.Minute}[rng.IntN(5)])
		}
		clock[key] = ts
		ts = ts.Truncate(time.Millisecond)
		ua := humanUAs[v%len(humanUAs)]
		if v >= 36 {
			ua = botUAs[v%2]
		}
		name := names[rng.IntN(len(names))]
		typ := event.TypeTrack
		switch name {
		case event.NamePageView:
			typ = event.TypePage
		case event.NameScreenView:
			typ = event.TypeScreen
		case "identify":
			typ = event.TypeIdentify
		}
		e := event.Event{ID: fmt.Sprintf("e%d", i), MerchantID: m, Type: typ, Name: name,
			AnonymousID: fmt.Sprintf("v%d", v), EventTime: ts.UnixMicro(), ReceiveTime: ts.UnixMicro() + int64(rng.IntN(1000)), Source: event.SourceSegment,
			PageURL:  "https://shop.example.com" + pages[rng.IntN(len(pages))] + "?q=1",
			Referrer: referrers[rng.IntN(len(referrers))], Country: countries[rng.IntN(len(countries))], UserAgent: ua}
		if v%7 == 0 {
			e.UserID = fmt.Sprintf("u%d", v%3)
		}
		if v%11 == 0 && rng.IntN(2) == 0 { // a server-side event: user id only
			e.AnonymousID, e.UserID, e.UserAgent, e.PageURL, e.Referrer = "", fmt.Sprintf("u%d", v%3), "analytics-node/1.0", "", ""
		}
		if v == 37 && rng.IntN(3) == 0 { // a bot's event with a user id only: the visitor key of u1's unattached events
			e.AnonymousID, e.UserID = "", fmt.Sprintf("u%d", v%3)
		}
		if v%5 == 0 {
			e.SessionID = fmt.Sprintf("s%d", rng.IntN(2)) // some clients send session ids
		}
		if rng.IntN(10) == 0 {
			e.UTMSource, e.UTMMedium, e.UTMCampaign = "news", "email", fmt.Sprintf("c%d", rng.IntN(3))
		}
		switch name {
		case "purchase", "Order Completed", "refund", "add_to_cart":
			e.RevenueMinor, e.Currency, e.RevenueScale = int64(100+rng.IntN(5000)), []string{"USD", "EUR", "JPY"}[rng.IntN(3)], 2
			if e.Currency == "JPY" {
				e.RevenueScale = 0
			}
			e.TransactionID = fmt.Sprintf("o%d", rng.IntN(30))
		}
		b, err := event.Encode(&e)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
		msgs = append(msgs, b)
		switch rng.IntN(10) {
		case 0: // a redelivery
			msgs = append(msgs, b)
			events = append(events, e)
		case 1: // a retry stamped with another time (receive-time stamping)
			c := e
			c.EventTime += (time.Duration(rng.IntN(90)) * time.Minute).Microseconds()
			c.ReceiveTime = c.EventTime
			b, _ := event.Encode(&c)
			msgs = append(msgs, b)
			events = append(events, c)
		}
	}
	msgs = append(msgs, []byte("not json"), []byte(`{"event_id":"x"}`))
	rng.Shuffle(len(msgs), func(i, j int) { msgs[i], msgs[j] = msgs[j], msgs[i] })
	return msgs, events
}

// formatRow renders a row as readers see it (visitors by estimate).
func formatRow(key string, rc layout.RowContent) string {
	k, err := layout.ParseKey(key)
	if err != nil {
		return key + " " + err.Error()
	}
	item := func(it *layout.Item) string {
		return fmt.Sprintf("%d/%d/%d/%d/%d/%d/%d/%s", it.Events, it.PageViews, it.VisitorCount(), it.Sessions, it.Bounces, it.EngagedSessions, it.SessionMillis, money(it.Revenue))
	}
	breakdown := func(b *layout.Breakdown) string {
		vals := make([]string, 0, len(b.Values))
		for v, it := range b.Values {
			vals = append(vals, v+"="+item(it))
		}
		sort.Strings(vals)
		return fmt.Sprintf("%v other=%s", vals, item(&b.Other))
	}
	totals := func(t *layout.Totals) string {
		return fmt.Sprintf("events=%d pv=%d bots=%d sessions=%d bounces=%d engaged=%d ms=%d visitors=%d names=%s revenue=%s",
			t.Events, t.PageViews, t.BotEvents, t.Sessions, t.Bounces, t.EngagedSessions, t.SessionMillis, t.VisitorCount(), sortedMap(t.ByName), money(t.Revenue))
	}
	var body string
	switch k.Kind {
	case layout.KindTotals:
		t, err := layout.TotalsFromCells(rc.Cells)
		if err != nil {
			return key + " " + err.Error()
		}
		body = totals(t)
	case layout.KindBreakdown:
		b, err := layout.BreakdownFromCells(rc.Cells)
		if err != nil {
			return key + " " + err.Error()
		}
		body = breakdown(b)
	case layout.KindQuarterTotals:
		q, err := layout.QuarterTotalsFromCells(rc.Cells)
		if err != nil {
			return key + " " + err.Error()
		}
		for i, t := range q.Q {
			if t != nil {
				body += fmt.Sprintf("q%d{%s}", i, totals(t))
			}
		}
	case layout.KindQuarterBreakdown:
		q, err := layout.QuarterBreakdownsFromCells(rc.Cells)
		if err != nil {
			return key + " " + err.Error()
		}
		for i, b := range q.Q {
			if b != nil {
				body += fmt.Sprintf("q%d{%s}", i, breakdown(b))
			}
		}
	}
	return key + " " + body
}

func money(m layout.Money) string {
	var parts []string
	for _, c := range m.Codes() {
		parts = append(parts, c+":"+m[c].Decimal())
	}
	return strings.Join(parts, ",")
}

func sortedMap(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s:%d,", k, m[k])
	}
	return b.String()
}

// reference computes the batch rows of events with the package's pure
// steps run by hand, outside Beam: enrich, attach per user id, the
// per-visitor rules per visitor key, the hourly aggregates and the rows.
// It checks the Beam wiring (grouping, keys, windows, merging); the rules
// themselves are checked by TestVisitorRules and, end to end, against
// testing/truth.
func reference(t testing.TB, events []event.Event, opts Options) []string {
	t.Helper()
	en := enrich.New(0)
	var direct []Hit
	byUser := map[string][]Hit{}
	for _, e := range events {
		h, _ := hitOf(en, &e)
		switch {
		case h.Anon != "":
			direct = append(direct, h)
			if h.UserID != "" && !h.Bot() {
				byUser[h.Merchant+"\x00"+h.UserID] = append(byUser[h.Merchant+"\x00"+h.UserID], sightingOf(h))
			}
		case h.Bot():
			direct = append(direct, h)
		default:
			byUser[h.Merchant+"\x00"+h.UserID] = append(byUser[h.Merchant+"\x00"+h.UserID], h)
		}
	}
	for _, hs := range byUser {
		attachSorted(hs, func(h Hit) { direct = append(direct, h) })
	}
	byVisitor := map[string][]Hit{}
	for _, h := range direct {
		byVisitor[visitKey(&h)] = append(byVisitor[visitKey(&h)], h)
	}
	in := func(us int64) bool {
		return opts.From.IsZero() || (us >= opts.From.UnixMicro() && us < opts.To.UnixMicro())
	}
	aggs := map[string]*Aggregate{}
	agg := func(key string) *Aggregate {
		if aggs[key] == nil {
			aggs[key] = &Aggregate{}
		}
		return aggs[key]
	}
	hitFn, sessFn := &hitAggFn{}, &sessionAggFn{}
	for _, hs := range byVisitor {
		sortHits(hs)
		var v visitor
		v.run(hs, func(h Hit) {
			if in(h.Time) {
				k, _ := keyHitByHour(h)
				*agg(k) = hitFn.AddInput(*agg(k), h)
			}
		}, func(se Session) {
			if in(se.Start) {
				k, _ := keySessionByHour(se)
				*agg(k) = sessFn.AddInput(*agg(k), se)
			}
		})
	}
	for _, k := range opts.Cover {
		agg(k)
	}
	var out []string
	for k, a := range aggs {
		rows, err := rowsOf(k, a, RowOptions{MaxNames: opts.MaxNames, TopK: opts.TopK, AllDims: true}, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			out = append(out, formatRow(r.key, r.content))
		}
	}
	return out
}

func rowLines(s beam.Scope, out Outputs) beam.PCollection {
	return beam.WindowInto(s, window.NewGlobalWindows(), beam.ParDo(s, formatRow, out.Rows))
}

func TestMetricsBatchMatchesReference(t *testing.T) {
	msgs, events := genEvents(t, 1, 3000, 4)
	p, s := beam.NewPipelineWithRoot()
	out := Metrics(s, beam.CreateList(s, msgs), Options{TopK: 3, MaxNames: 4})
	passert.Equals(s, rowLines(s, out), beam.CreateList(s, reference(t, events, Options{TopK: 3, MaxNames: 4})))
	ptest.RunAndValidate(t, p)
}

// A batch job over [from, to) reads InputRange(from, to) and keeps only
// what falls in [from, to): the result equals the computation over all
// events restricted to those hours — sessions, deduplication across hours
// and attachment included. This is what lets the sealer seal an hour from
// a bounded read.
func TestMetricsBatchOutputRange(t *testing.T) {
	_, events := genEvents(t, 2, 4000, 8)
	from, to := base.Add(3*time.Hour), base.Add(5*time.Hour)
	events = append(events, edgeEvents(from)...)
	readFrom, readTo := InputRange(from, to)
	var read []event.Event
	for _, e := range events {
		if !e.Time().Before(readFrom) && e.Time().Before(readTo) {
			read = append(read, e)
		}
	}
	want := reference(t, events, Options{From: from, To: to})
	p, s := beam.NewPipelineWithRoot()
	out := MetricsFromEvents(s, beam.CreateList(s, read), Options{From: from, To: to})
	passert.Equals(s, rowLines(s, out), beam.CreateList(s, want))
	ptest.RunAndValidate(t, p)

	// Reading less would be wrong: 70 minutes less misses runner B's
	// original event, 100 minutes less runner A's first event.
	for _, short := range []time.Duration{70 * time.Minute, 100 * time.Minute} {
		var part []event.Event
		for _, e := range read {
			if !e.Time().Before(readFrom.Add(short)) {
				part = append(part, e)
			}
		}
		if got := reference(t, part, Options{From: from, To: to}); strings.Join(sorted(got), "\n") == strings.Join(sorted(want), "\n") {
			t.Errorf("reading from %s after InputRange's start gave the same rows: the edge events do not test the look-back", short)
		}
	}
}

func sorted(s []string) []string { s = append([]string(nil), s...); sort.Strings(s); return s }

// Every merchant-hour's breakdowns add up to its totals: events, views and
// revenue for every dimension with event metrics, sessions for every
// session-scoped one.
func TestBreakdownsAddUpToTotals(t *testing.T) {
	_, events := genEvents(t, 3, 2000, 3)
	checkSums(t, events)
}

// checkSums recomputes the rows and compares, per merchant-hour, the sum
// of each breakdown's values and other with the totals.
func checkSums(t *testing.T, events []event.Event) {
	t.Helper()
	en := enrich.New(0)
	byVisitor := map[string][]Hit{}
	for _, e := range events {
		h, _ := hitOf(en, &e)
		if h.Anon == "" && !h.Bot() {
			h.Flags |= flagUnattached
			h.Visitor = ""
		}
		byVisitor[visitKey(&h)] = append(byVisitor[visitKey(&h)], h)
	}
	aggs := map[string]*Aggregate{}
	for _, hs := range byVisitor {
		sortHits(hs)
		var v visitor
		v.run(hs, func(h Hit) {
			k, _ := keyHitByHour(h)
			if aggs[k] == nil {
				aggs[k] = &Aggregate{}
			}
			*aggs[k] = (&hitAggFn{}).AddInput(*aggs[k], h)
		}, func(se Session) {
			k, _ := keySessionByHour(se)
			if aggs[k] == nil {
				aggs[k] = &Aggregate{}
			}
			*aggs[k] = (&sessionAggFn{}).AddInput(*aggs[k], se)
		})
	}
	for key, a := range aggs {
		rows, err := rowsOf(key, a, RowOptions{TopK: 2, AllDims: true}, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		tot, _ := layout.TotalsFromCells(rows[0].content.Cells)
		for _, r := range rows[2:] {
			k, _ := layout.ParseKey(r.key)
			if k.Kind != layout.KindBreakdown {
				continue
			}
			b, _ := layout.BreakdownFromCells(r.content.Cells)
			if len(b.Values) > 2 {
				t.Errorf("%s keeps %d values, want at most 2", r.key, len(b.Values))
			}
			sum := b.Other
			sum.Visitors = nil
			for _, it := range b.Values {
				c := *it
				c.Visitors = nil
				must(sum.Merge(&c))
			}
			if k.Dim.EventMetrics() && (sum.Events != tot.Events || sum.PageViews != tot.PageViews || money(sum.Revenue) != money(tot.Revenue)) {
				t.Errorf("%s adds up to %d events, %d views, %s; totals %d, %d, %s", r.key, sum.Events, sum.PageViews, money(sum.Revenue), tot.Events, tot.PageViews, money(tot.Revenue))
			}
			if k.Dim.SessionScoped() && (sum.Sessions != tot.Sessions || sum.Bounces != tot.Bounces || sum.EngagedSessions != tot.EngagedSessions || sum.SessionMillis != tot.SessionMillis) {
				t.Errorf("%s adds up to %d sessions, totals %d", r.key, sum.Sessions, tot.Sessions)
			}
		}
	}
}

// The test-only injected bug counts bots as humans: BotEvents is zero and
// every bot event counts. (Only the totals rows are compared: the buggy
// pipeline still gives bots their parsed device and browser.)
func TestMetricsInjectBugCountsBots(t *testing.T) {
	msgs, events := genEvents(t, 4, 500, 1)
	for i := range events {
		if enrich.IsCrawler(events[i].UserAgent) {
			events[i].UserAgent = humanUAs[0] // what the buggy pipeline believes
		}
	}
	var want []string
	for _, l := range reference(t, events, Options{}) {
		key, _, _ := strings.Cut(l, " ")
		if k, _ := layout.ParseKey(key); k.Kind == layout.KindTotals {
			want = append(want, l)
		}
	}
	p, s := beam.NewPipelineWithRoot()
	out := Metrics(s, beam.CreateList(s, msgs), Options{InjectBug: BugCountBots})
	passert.Equals(s, beam.ParDo(s, onlyTotals, rowLines(s, out)), beam.CreateList(s, want))
	ptest.RunAndValidate(t, p)
}

func onlyTotals(line string, emit func(string)) {
	key, _, _ := strings.Cut(line, " ")
	if k, _ := layout.ParseKey(key); k.Kind == layout.KindTotals {
		emit(line)
	}
}

// A batch source need not timestamp events (an archive reader gives them
// none): Enrich stamps each with its event time, so the hours are right.
// Cover adds rows for merchant-hours without events.
func TestMetricsFromUntimestampedEventsWithCover(t *testing.T) {
	_, events := genEvents(t, 5, 800, 2)
	cover := []string{layout.TotalsKey("shop-9", base), layout.TotalsKey("shop-0", base.Add(30*time.Hour))}
	p, s := beam.NewPipelineWithRoot()
	out := MetricsFromEvents(s, beam.CreateList(s, events), Options{Cover: cover})
	want := reference(t, events, Options{Cover: cover})
	n := 0
	for _, l := range want {
		if strings.HasPrefix(l, "shop-9#") {
			n++
		}
	}
	if n != 2+2*len(layout.Dimensions) {
		t.Fatalf("the reference has %d rows of the covered empty hour, want %d", n, 2+2*len(layout.Dimensions))
	}
	passert.Equals(s, rowLines(s, out), beam.CreateList(s, want))
	ptest.RunAndValidate(t, p)
}

// edgeEvents are events whose hours depend on events as far back as
// InputRange says: runner A is active every 20 minutes from `from`−1h30m,
// so its session is cut at `from` (its run has lasted an hour there);
// runner B's run begins at `from`−55m (no cut), but a copy of its event of
// `from`−2h sits at `from`−65m and would, if not recognised as a copy,
// make the run look an hour old at `from`; and a user-id-only purchase
// just after `from` is attached through a sighting 25 minutes before it.
func edgeEvents(from time.Time) []event.Event {
	ev := func(id, anon, user string, at time.Time) event.Event {
		return event.Event{ID: id, MerchantID: "edge", Type: event.TypePage, Name: event.NamePageView, AnonymousID: anon, UserID: user,
			EventTime: at.UnixMicro(), ReceiveTime: at.UnixMicro(), Source: event.SourceSegment,
			PageURL: "https://edge.example.com/" + id, UserAgent: humanUAs[0]}
	}
	var out []event.Event
	for i, at := 0, from.Add(-90*time.Minute); at.Before(from.Add(2 * time.Hour)); i, at = i+1, at.Add(20*time.Minute) {
		out = append(out, ev(fmt.Sprintf("a%d", i), "runner-a", "", at))
	}
	out = append(out, ev("b0", "runner-b", "", from.Add(-2*time.Hour)))
	c := ev("b0", "runner-b", "", from.Add(-65*time.Minute))
	c.ReceiveTime = from.Add(-2 * time.Hour).UnixMicro() // a retry stamped with another event time
	out = append(out, c)
	for i, at := 1, from.Add(-55*time.Minute); at.Before(from.Add(time.Hour)); i, at = i+1, at.Add(20*time.Minute) {
		out = append(out, ev(fmt.Sprintf("b%d", i), "runner-b", "", at))
	}
	out = append(out, ev("sight", "browser", "u-edge", from.Add(-20*time.Minute)))
	orphan := ev("orphan", "", "u-edge", from.Add(5*time.Minute))
	orphan.Type, orphan.Name, orphan.UserAgent, orphan.PageURL = event.TypeTrack, "purchase", "analytics-node/1.0", ""
	out = append(out, orphan)
	return out
}

// The batch graph sends no event through a Flatten, only per-bundle
// aggregates: Prism runs a Flatten as a stage of its own, through which
// every element passes twice more (22 % more CPU for a seal,
// docs/benchmarks.md). The streaming graph, which runs on Dataflow in
// production, does flatten hits; that it is caught shows the check works.
func TestBatchGraphFlattensNoEvents(t *testing.T) {
	hitType := reflect.TypeOf(Hit{})
	flattenedHits := func(opts Options) (flattens, ofHits int) {
		p, s := beam.NewPipelineWithRoot()
		Metrics(s, beam.Create(s, []byte("{}")), opts)
		edges, _, err := p.Build()
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range edges {
			if e.Op != graph.Flatten {
				continue
			}
			flattens++
			for _, in := range e.Input {
				if holdsType(in.From.Type(), hitType) {
					ofHits++
					break
				}
			}
		}
		return flattens, ofHits
	}
	if n, hits := flattenedHits(Options{From: base, To: base.Add(time.Hour), Cover: []string{"x"}}); n == 0 || hits != 0 {
		t.Errorf("batch graph: %d Flattens, %d of them of hits; want aggregates only", n, hits)
	}
	if _, hits := flattenedHits(Options{EarlyFiring: time.Second}); hits == 0 {
		t.Error("the streaming graph's Flatten of hits was not found: the check cannot see one")
	}
}

// holdsType reports whether ft or one of its components is t.
func holdsType(ft typex.FullType, t reflect.Type) bool {
	if ft.Type() == t {
		return true
	}
	for _, c := range ft.Components() {
		if holdsType(c, t) {
			return true
		}
	}
	return false
}
