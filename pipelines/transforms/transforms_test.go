package transforms

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
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
	register.Function2x1(formatTotals)
	register.Function2x1(formatBreakdown)
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
	referrers = []string{"", "https://www.google.com/", "https://t.co/x", "https://blog.other.org/p", "https://shop.example.com/cart"}
	pages     = []string{"/", "/products/1", "/products/2", "/cart/", "/checkout", "/about", "/blog//post-1", "/help"}
	countries = []string{"US", "DE", "FR", "", "JP"}
	names     = []string{"page_view", "page_view", "page_view", "add_to_cart", "signup", "purchase"}
)

// genEvents makes events of a few merchants over hours [base, base+hours)
// (plus some bots and duplicates), their messages in random order, with a
// few undecodable ones mixed in. It returns the messages and the distinct
// events (ground truth is computed from those).
func genEvents(t testing.TB, seed uint64, n, hours int) ([][]byte, []event.Event) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 99))
	var events []event.Event
	var msgs [][]byte
	for i := 0; i < n; i++ {
		m := fmt.Sprintf("shop-%d", rng.IntN(2))
		v := rng.IntN(40)
		ua := humanUAs[v%len(humanUAs)]
		if v >= 36 {
			ua = botUAs[v%2]
		}
		ts := base.Add(time.Duration(rng.Int64N(int64(hours) * int64(time.Hour)))).Truncate(time.Millisecond)
		e := event.Event{ID: fmt.Sprintf("e%d", i), MerchantID: m, Type: event.TypeTrack, Name: names[rng.IntN(len(names))],
			AnonymousID: fmt.Sprintf("v%d", v), EventTime: ts.UnixMicro(), ReceiveTime: ts.UnixMicro(), Source: event.SourceSegment,
			PageURL:  "https://shop.example.com" + pages[rng.IntN(len(pages))] + "?q=1",
			Referrer: referrers[rng.IntN(len(referrers))], Country: countries[rng.IntN(len(countries))], UserAgent: ua}
		if v%5 == 0 {
			e.SessionID = fmt.Sprintf("s%d", rng.IntN(2)) // some clients send session ids
		}
		if rng.IntN(10) == 0 {
			e.UTMSource, e.UTMMedium, e.UTMCampaign = "news", "email", fmt.Sprintf("c%d", rng.IntN(3))
		}
		if e.Name == "purchase" {
			e.RevenueMinor, e.Currency = int64(100+rng.IntN(5000)), []string{"USD", "EUR"}[rng.IntN(2)]
		}
		b, err := event.Encode(&e)
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, e)
		msgs = append(msgs, b)
		if rng.IntN(8) == 0 { // a redelivery or a client retry
			msgs = append(msgs, b)
		}
	}
	msgs = append(msgs, []byte("not json"), []byte(`{"event_id":"x"}`))
	rng.Shuffle(len(msgs), func(i, j int) { msgs[i], msgs[j] = msgs[j], msgs[i] })
	return msgs, events
}

// truthRow is the expected metrics of one merchant-hour.
type truthRow struct {
	events, pv, bots, sessions, bounces, sessionMs int64
	visitors                                       map[string]bool
	byName, revenue                                map[string]int64
}

func (r *truthRow) String() string {
	return fmt.Sprintf("events=%d pv=%d bots=%d sessions=%d bounces=%d session_ms=%d visitors=%d names=%v revenue=%v",
		r.events, r.pv, r.bots, r.sessions, r.bounces, r.sessionMs, len(r.visitors), sortedMap(r.byName), sortedMap(r.revenue))
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

func formatTotals(key string, t layout.Totals) string {
	var vis map[string]bool
	if n := t.VisitorCount(); n > 0 {
		vis = map[string]bool{}
		for i := int64(0); i < n; i++ {
			vis[fmt.Sprint(i)] = true
		}
	}
	r := truthRow{events: t.Events, pv: t.PageViews, bots: t.BotEvents, sessions: t.Sessions, bounces: t.Bounces,
		sessionMs: t.SessionMillis, visitors: vis, byName: t.ByName, revenue: t.Revenue}
	return key + " " + r.String()
}

// truthTotals computes the expected totals rows directly from the events:
// bots by user agent, sessions by sorting each visitor's events.
func truthTotals(events []event.Event, from, to time.Time) map[string]*truthRow {
	en := enrich.New(0)
	rows := map[string]*truthRow{}
	row := func(m string, at time.Time) *truthRow {
		k := layout.TotalsKey(m, at.Truncate(time.Hour))
		if rows[k] == nil {
			rows[k] = &truthRow{visitors: map[string]bool{}, byName: map[string]int64{}}
		}
		return rows[k]
	}
	in := func(at time.Time) bool { return from.IsZero() || (!at.Before(from) && at.Before(to)) }
	type vkey struct{ m, v, sid string }
	times := map[vkey][]int64{}
	for _, e := range events {
		if !in(e.Time()) {
			continue
		}
		r := row(e.MerchantID, e.Time())
		if en.Agent(e.UserAgent).Bot {
			r.bots++
			continue
		}
		r.events++
		if e.Name == event.NamePageView {
			r.pv++
		}
		r.byName[e.Name]++
		r.visitors[e.VisitorID()] = true
		if e.RevenueMinor != 0 {
			if r.revenue == nil {
				r.revenue = map[string]int64{}
			}
			r.revenue[e.Currency] += e.RevenueMinor
		}
	}
	for _, e := range events {
		if !en.Agent(e.UserAgent).Bot {
			k := vkey{e.MerchantID, e.VisitorID(), e.SessionID}
			times[k] = append(times[k], e.EventTime)
		}
	}
	for k, ts := range times {
		sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
		start, n := ts[0], 1
		flush := func(end int64) {
			at := time.UnixMicro(start).UTC()
			if in(at) {
				r := row(k.m, at)
				r.sessions++
				if n == 1 {
					r.bounces++
				}
				r.sessionMs += min(end-start, time.Hour.Microseconds()) / 1000
			}
		}
		for i := 1; i < len(ts); i++ {
			if ts[i]-ts[i-1] >= (30 * time.Minute).Microseconds() {
				flush(ts[i-1])
				start, n = ts[i], 0
			}
			n++
		}
		flush(ts[len(ts)-1])
	}
	return rows
}

func lines(rows map[string]*truthRow) []string {
	var out []string
	for k, r := range rows {
		out = append(out, k+" "+r.String())
	}
	return out
}

func TestMetricsBatchTotals(t *testing.T) {
	msgs, events := genEvents(t, 1, 3000, 4)
	p, s := beam.NewPipelineWithRoot()
	out := Metrics(s, beam.CreateList(s, msgs), Options{})
	got := beam.WindowInto(s, window.NewGlobalWindows(), beam.ParDo(s, formatTotals, out.Totals))
	passert.Equals(s, got, beam.CreateList(s, lines(truthTotals(events, time.Time{}, time.Time{}))))
	ptest.RunAndValidate(t, p)
}

// A batch job over [from, to) reads SessionInputRange(from, to) and keeps
// only what starts in [from, to): the result equals the full computation
// restricted to those hours, sessions included.
func TestMetricsBatchOutputRange(t *testing.T) {
	msgs, events := genEvents(t, 2, 3000, 5)
	from, to := base.Add(time.Hour), base.Add(3*time.Hour)
	readFrom, readTo := SessionInputRange(from, to)
	var read [][]byte
	for _, m := range msgs {
		e, err := event.Decode(m)
		if err != nil || (!e.Time().Before(readFrom) && e.Time().Before(readTo)) {
			read = append(read, m)
		}
	}
	p, s := beam.NewPipelineWithRoot()
	out := Metrics(s, beam.CreateList(s, read), Options{From: from, To: to})
	got := beam.WindowInto(s, window.NewGlobalWindows(), beam.ParDo(s, formatTotals, out.Totals))
	passert.Equals(s, got, beam.CreateList(s, lines(truthTotals(events, from, to))))
	ptest.RunAndValidate(t, p)
}

func formatBreakdown(key string, b layout.Breakdown) string {
	vals := make([]string, 0, len(b.Values))
	var sum int64
	for v, it := range b.Values {
		vals = append(vals, fmt.Sprintf("%s:%d/%d/%d/%s", v, it.Events, it.PageViews, it.VisitorCount(), sortedMap(it.Revenue)))
		sum += it.Events
	}
	sort.Strings(vals)
	return fmt.Sprintf("%s sum=%d top=%v other=%d/%d/%s", key, sum+b.Other.Events, vals, b.Other.Events, b.Other.PageViews, sortedMap(b.Other.Revenue))
}

type truthItem struct {
	events, pv int64
	visitors   map[string]bool
	revenue    map[string]int64
}

// truthBreakdowns computes every breakdown row with the top k rule
// (events descending, then value ascending) directly from the events.
func truthBreakdowns(events []event.Event, k int) []string {
	en := enrich.New(0)
	rows := map[string]map[string]*truthItem{}
	for _, e := range events {
		d, bot := en.Event(&e)
		if bot {
			continue
		}
		vals := map[layout.Dimension]string{layout.DimEvent: e.Name, layout.DimPage: d.Page, layout.DimSource: d.Source,
			layout.DimMedium: d.Medium, layout.DimCampaign: d.Campaign, layout.DimCountry: d.Country,
			layout.DimDevice: d.Device, layout.DimBrowser: d.Browser, layout.DimOS: d.OS}
		for dim, v := range vals {
			key := layout.BreakdownKey(e.MerchantID, dim, e.Time().Truncate(time.Hour))
			if rows[key] == nil {
				rows[key] = map[string]*truthItem{}
			}
			it := rows[key][v]
			if it == nil {
				it = &truthItem{visitors: map[string]bool{}, revenue: map[string]int64{}}
				rows[key][v] = it
			}
			it.events++
			if e.Name == event.NamePageView {
				it.pv++
			}
			it.visitors[e.VisitorID()] = true
			if e.RevenueMinor != 0 {
				it.revenue[e.Currency] += e.RevenueMinor
			}
		}
	}
	var out []string
	for key, items := range rows {
		vals := make([]string, 0, len(items))
		for v := range items {
			vals = append(vals, v)
		}
		sort.Slice(vals, func(i, j int) bool {
			a, b := items[vals[i]], items[vals[j]]
			if a.events != b.events {
				return a.events > b.events
			}
			return vals[i] < vals[j]
		})
		var top []string
		var sum, oe, opv int64
		orev := map[string]int64{}
		for i, v := range vals {
			it := items[v]
			sum += it.events
			if i < k {
				top = append(top, fmt.Sprintf("%s:%d/%d/%d/%s", v, it.events, it.pv, len(it.visitors), sortedMap(it.revenue)))
				continue
			}
			oe, opv = oe+it.events, opv+it.pv
			for c, r := range it.revenue {
				orev[c] += r
			}
		}
		sort.Strings(top)
		out = append(out, fmt.Sprintf("%s sum=%d top=%v other=%d/%d/%s", key, sum, top, oe, opv, sortedMap(orev)))
	}
	return out
}

func TestMetricsBatchBreakdowns(t *testing.T) {
	msgs, events := genEvents(t, 3, 2000, 2)
	p, s := beam.NewPipelineWithRoot()
	out := Metrics(s, beam.CreateList(s, msgs), Options{TopK: 3})
	got := beam.WindowInto(s, window.NewGlobalWindows(), beam.ParDo(s, formatBreakdown, out.Breakdowns))
	passert.Equals(s, got, beam.CreateList(s, truthBreakdowns(events, 3)))
	ptest.RunAndValidate(t, p)
}

// The test-only injected bug counts bots as humans: totals then include
// them and BotEvents is zero.
func TestMetricsInjectBugCountsBots(t *testing.T) {
	msgs, events := genEvents(t, 4, 500, 1)
	for i := range events {
		events[i].UserAgent = humanUAs[0] // what the buggy pipeline believes
	}
	p, s := beam.NewPipelineWithRoot()
	out := Metrics(s, beam.CreateList(s, msgs), Options{InjectBug: BugCountBots})
	got := beam.WindowInto(s, window.NewGlobalWindows(), beam.ParDo(s, formatTotals, out.Totals))
	passert.Equals(s, got, beam.CreateList(s, lines(truthTotals(events, time.Time{}, time.Time{}))))
	ptest.RunAndValidate(t, p)
}

// A batch source need not timestamp events (an archive reader gives them
// none): Enrich stamps each with its event time, so the hours are right.
func TestMetricsFromUntimestampedEvents(t *testing.T) {
	_, events := genEvents(t, 5, 1000, 3)
	p, s := beam.NewPipelineWithRoot()
	out := MetricsFromEvents(s, beam.CreateList(s, events), Options{})
	got := beam.WindowInto(s, window.NewGlobalWindows(), beam.ParDo(s, formatTotals, out.Totals))
	passert.Equals(s, got, beam.CreateList(s, lines(truthTotals(events, time.Time{}, time.Time{}))))
	ptest.RunAndValidate(t, p)
}
