// Package truth is the end-to-end tests' ground truth: docs/metrics.md
// implemented again, from that page alone, independently of the pipeline.
//
// Visitor and Mix generate Segment and GA4 traffic, Sender sends it and
// keeps what ingest acknowledged (Hits), Compute turns hits into counted
// events and sessions (a Model) whose Totals and Breakdown give every
// metric of any bucket of any time zone, and API.Compare checks what the
// query API serves against it, naming metric, bucket, dimension value, got
// and want (docs/groundtruth.md).
//
// The older, simpler API of this file (Gen, Batch, Post, Truth, Served,
// Diff, Tally: events, revenue and visitors per hour, each id once,
// crawlers excluded) serves the fault, soak and load tools.
package truth

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"testing"
	"time"

	json "github.com/goccy/go-json"
)

// Currency of the purchases generated.
const Currency = "EUR"

// CrawlerUA is the user agent of generated crawler events.
const CrawlerUA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

// Event is one generated event, with what the ground truth needs.
type Event struct {
	ID      string
	At      time.Time
	Visitor string
	Name    string
	Cents   int64 // purchases, in Currency
	Bot     bool
}

// Gen makes n events spread over [from, to), ids prefixed by prefix: about
// one in ten from a crawler, a quarter of them purchases, 80 visitors.
func Gen(prefix string, seed uint64, n int, from, to time.Time) []Event {
	rng := rand.New(rand.NewPCG(seed, 5))
	out := make([]Event, n)
	for i := range out {
		e := Event{ID: fmt.Sprintf("%s-%d-%d", prefix, seed, i), At: from.Add(time.Duration(rng.Int64N(int64(to.Sub(from))))).Truncate(time.Millisecond),
			Visitor: fmt.Sprintf("visitor-%d", rng.IntN(80)), Name: "signup", Bot: rng.IntN(10) == 0}
		if rng.IntN(4) == 0 {
			e.Name, e.Cents = "purchase", int64(100+rng.IntN(9000))
		}
		out[i] = e
	}
	return out
}

// Batch renders events as a Segment /v1/batch body.
func Batch(evs []Event) []byte {
	var batch []map[string]any
	for _, e := range evs {
		m := map[string]any{"type": "track", "event": e.Name, "anonymousId": e.Visitor, "messageId": e.ID,
			"timestamp": e.At.Format(time.RFC3339Nano)}
		if e.Cents > 0 {
			m["properties"] = map[string]any{"revenue": fmt.Sprintf("%d.%02d", e.Cents/100, e.Cents%100), "currency": Currency}
		}
		if e.Bot {
			m["context"] = map[string]any{"userAgent": CrawlerUA}
		}
		batch = append(batch, m)
	}
	b, _ := json.Marshal(map[string]any{"batch": batch})
	return b
}

// Post sends one batch with the write key and returns the status code and
// body (err only for transport errors).
func Post(ctx context.Context, ingestURL, writeKey string, evs []Event) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ingestURL+"/v1/batch", bytes.NewReader(Batch(evs)))
	if err != nil {
		return 0, nil, err
	}
	req.SetBasicAuth(writeKey, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body, nil
}

// Hour is the ground truth of one hour.
type Hour struct {
	Events, Revenue int64
	Visitors        map[string]bool
}

// Truth computes each hour's expected metrics (keyed by the hour's start
// in RFC 3339, UTC) from the events sent: each id once, crawlers excluded.
// With countBots, crawlers count as normal events (what the test-only
// count-bots bug does).
func Truth(evs []Event, countBots bool) map[string]*Hour {
	t := NewTally(countBots)
	t.Add(evs...)
	return t.Hours()
}

// Served compares the query API's hourly series of [from, to) with want:
// events and revenue exactly, visitors within 2 % (HyperLogLog++ at
// precision 14 is exact in its sparse range, which these counts are in).
// With sealed, every hour must also be served sealed. It returns "" on a
// match, else the first difference.
func Served(ctx context.Context, queryURL, readKey string, from, to time.Time, want map[string]*Hour, sealed bool) string {
	points, err := Fetch(ctx, queryURL, readKey, from, to)
	if err != nil {
		return err.Error()
	}
	for _, p := range points {
		w := want[p.Start]
		if w == nil {
			w = &Hour{}
		}
		switch {
		case sealed && !p.Sealed:
			return fmt.Sprintf("hour %s not sealed yet", p.Start)
		case p.Events != w.Events:
			return fmt.Sprintf("hour %s: %d events, want %d", p.Start, p.Events, w.Events)
		case p.Revenue != w.Revenue:
			return fmt.Sprintf("hour %s: revenue %d, want %d", p.Start, p.Revenue, w.Revenue)
		case math.Abs(p.Visitors-float64(len(w.Visitors))) > 0.02*float64(len(w.Visitors)):
			return fmt.Sprintf("hour %s: %v visitors, want %d", p.Start, p.Visitors, len(w.Visitors))
		}
	}
	return ""
}

// Point is one hour as the query API serves it.
type Point struct {
	Start    string // RFC 3339, UTC
	Sealed   bool
	Events   int64
	Visitors float64
	Revenue  int64 // minor units of Currency
}

// Fetch reads the query API's hourly series of [from, to): events,
// visitors and revenue in Currency.
func Fetch(ctx context.Context, queryURL, readKey string, from, to time.Time) ([]Point, error) {
	q := url.Values{"metrics": {"events,visitors,revenue"}, "interval": {"hour"}, "from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, queryURL+"/v1/timeseries?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+readKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Points []struct {
			Start    string  `json:"start"`
			Sealed   bool    `json:"sealed"`
			Events   float64 `json:"events"`
			Visitors float64 `json:"visitors"`
			Revenue  map[string]struct {
				Minor int64 `json:"minor"`
			} `json:"revenue"`
		} `json:"points"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		return nil, fmt.Errorf("query API: status %d, %v", resp.StatusCode, err)
	}
	points := make([]Point, len(out.Points))
	for i, p := range out.Points {
		points[i] = Point{Start: p.Start, Sealed: p.Sealed, Events: int64(p.Events), Visitors: p.Visitors, Revenue: p.Revenue[Currency].Minor}
	}
	return points, nil
}

// Diff sums what the served points count against want, hour by hour:
// counted is every served event, lost the events an hour lacks, duplicated
// the events an hour has too many. Counts are per hour, so a loss and a
// duplicate in the same hour would cancel out; the revenue, compared
// exactly by Served, makes that unlikely to go unnoticed.
func Diff(points []Point, want map[string]*Hour) (counted, lost, duplicated int64) {
	served := map[string]bool{}
	for _, p := range points {
		served[p.Start] = true
		var w int64
		if h := want[p.Start]; h != nil {
			w = h.Events
		}
		counted += p.Events
		if p.Events < w {
			lost += w - p.Events
		} else {
			duplicated += p.Events - w
		}
	}
	for start, h := range want {
		if !served[start] {
			lost += h.Events // an hour outside the points fetched
		}
	}
	return counted, lost, duplicated
}

// Tally accumulates a ground truth event by event (for runs too long to
// keep every event): the same rules as Truth. The zero value is not
// usable; use NewTally.
type Tally struct {
	countBots bool
	seen      map[string]bool
	hours     map[string]*Hour
}

// NewTally returns an empty Tally.
func NewTally(countBots bool) *Tally {
	return &Tally{countBots: countBots, seen: map[string]bool{}, hours: map[string]*Hour{}}
}

// Add counts events: each id once, crawlers only with countBots.
func (t *Tally) Add(evs ...Event) {
	for _, e := range evs {
		if t.seen[e.ID] || (e.Bot && !t.countBots) {
			continue
		}
		t.seen[e.ID] = true
		h := e.At.UTC().Truncate(time.Hour).Format(time.RFC3339)
		if t.hours[h] == nil {
			t.hours[h] = &Hour{Visitors: map[string]bool{}}
		}
		t.hours[h].Events++
		t.hours[h].Revenue += e.Cents
		t.hours[h].Visitors[e.Visitor] = true
	}
}

// Hours is the ground truth so far, keyed by the hour's start (RFC 3339,
// UTC). It is the Tally's own map: do not change it.
func (t *Tally) Hours() map[string]*Hour { return t.hours }

// Totals sums a ground truth's events.
func Totals(want map[string]*Hour) (events, revenue int64) {
	for _, h := range want {
		events += h.Events
		revenue += h.Revenue
	}
	return events, revenue
}

// Within retries check (which returns "" on a match, else a difference)
// every second until it matches, limit has passed or ctx is done, and
// returns its last difference.
func Within(ctx context.Context, limit time.Duration, check func() string) string {
	deadline := time.Now().Add(limit)
	for {
		diff := check()
		if diff == "" || time.Now().After(deadline) {
			return diff
		}
		select {
		case <-ctx.Done():
			return diff
		case <-time.After(time.Second):
		}
	}
}

// Eventually fails the test when check does not match within limit.
func Eventually(t testing.TB, limit time.Duration, what string, check func() string) {
	t.Helper()
	if diff := Within(t.Context(), limit, check); diff != "" {
		t.Fatalf("%s: never happened within %s; last difference: %s", what, limit, diff)
	}
}
