// Package demodata makes a small shop's traffic for the demo merchant and
// sends it to ingest as Segment batches: returning visitors from several
// countries on phones, tablets and desktops, arriving from search, social
// media, a newsletter, another site or directly, browsing a few pages per
// visit and sometimes buying, more by day than by night. It is
// deterministic for a seed. `make run` loads it so that the dashboard has
// something to show; the dashboard's browser test uses it together with
// the ground truth each Event carries.
package demodata

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"sort"
	"time"

	json "github.com/goccy/go-json"

	"github.com/footfall/footfall/testing/loadgen"
)

// Event is one generated event and what it must count as.
type Event struct {
	ID      string    `json:"id"`
	At      time.Time `json:"at"`
	Name    string    `json:"name"` // page_view for page views
	Visitor string    `json:"visitor"`
	Page    string    `json:"page"`
	// Country is what ingest derives from the visitor's IP address
	// (context.ip; the addresses are chosen so that the country is certain).
	Country string `json:"country"`
	// Currency and Minor are the revenue of a purchase, in minor units.
	Currency string `json:"currency,omitempty"`
	Minor    int64  `json:"minor,omitempty"`

	ip, userAgent, url, referrer, title string
}

// PageView reports whether e counts as a page view.
func (e Event) PageView() bool { return e.Name == "page_view" }

// Purchase is the event name of a purchase.
const Purchase = "Order Completed"

// Addresses whose country is fixed (IP-to-country data as ingest uses it).
var places = []struct{ ip, country string }{
	{"8.8.8.8", "US"}, {"24.48.0.1", "CA"}, {"81.2.69.160", "GB"}, {"217.160.0.1", "DE"},
	{"62.210.0.1", "FR"}, {"91.198.174.192", "NL"}, {"133.11.0.1", "JP"}, {"1.128.0.1", "AU"}, {"200.160.2.3", "BR"},
}

// placeWeights: more visitors from the first places.
var placeWeights = []int{30, 6, 14, 16, 8, 5, 8, 6, 7}

var agents = []struct {
	ua     string
	weight int
}{
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 30},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15", 15},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", 30},
	{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", 17},
	{"Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1", 8},
}

// Where a visit comes from: a referrer, or campaign parameters on the
// landing page's URL.
var arrivals = []struct {
	referrer, query string
	weight          int
}{
	{"", "", 30},
	{"https://www.google.com/", "", 30},
	{"https://www.bing.com/", "", 5},
	{"https://t.co/x7Gq2", "", 8},
	{"https://www.facebook.com/", "", 7},
	{"https://news.example.org/best-rain-gear", "", 6},
	{"", "?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale", 10},
	{"https://www.google.com/", "?utm_source=google&utm_medium=cpc&utm_campaign=brand", 4},
}

type product struct {
	path, title string
	cents       int64
}

var products = []product{
	{"/products/rain-jacket", "Rain Jacket", 12900},
	{"/products/wool-socks", "Wool Socks", 1990},
	{"/products/running-shoes", "Running Shoes", 8990},
	{"/products/canvas-backpack", "Canvas Backpack", 5990},
	{"/products/sun-hat", "Sun Hat", 2490},
}

const site = "https://shop.example.com"

type visitor struct {
	id, ip, country, ua string
}

// Generate returns n events in [from, to), ordered by time, the same for
// the same seed and arguments. IDs start with idPrefix.
func Generate(seed uint64, n int, from, to time.Time, idPrefix string) []Event {
	if n <= 0 || !from.Before(to) {
		return nil
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	visitors := make([]visitor, max(12, n/9))
	for i := range visitors {
		p := places[pick(rng, placeWeights)]
		a := agents[pickBy(rng, len(agents), func(i int) int { return agents[i].weight })]
		visitors[i] = visitor{id: fmt.Sprintf("visitor-%04d", i), ip: p.ip, country: p.country, ua: a.ua}
	}
	var out []Event
	for len(out) < n {
		v := visitors[rng.IntN(len(visitors))]
		at := visitStart(rng, from, to)
		out = append(out, visit(rng, v, at, to)...)
	}
	out = out[:n]
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	for i := range out {
		out[i].ID = fmt.Sprintf("%s%d", idPrefix, i)
	}
	return out
}

// visitStart draws a time in [from, to), busier in the (UTC) afternoon
// than at night.
func visitStart(rng *rand.Rand, from, to time.Time) time.Time {
	span := to.Sub(from)
	for {
		t := from.Add(time.Duration(rng.Int64N(int64(span))))
		h := float64(t.Hour()) + float64(t.Minute())/60
		w := 0.25 + 0.75*(1-math.Cos(2*math.Pi*(h-3)/24))/2 // lowest at 03:00, highest at 15:00
		if rng.Float64() < w {
			return t.Truncate(time.Millisecond)
		}
	}
}

// visit is one visit: a landing page, some browsing, maybe a purchase.
// Events after to are left out.
func visit(rng *rand.Rand, v visitor, at, to time.Time) []Event {
	a := arrivals[pickBy(rng, len(arrivals), func(i int) int { return arrivals[i].weight })]
	var out []Event
	referrer := a.referrer
	add := func(name, path, title, query string) {
		if !at.Before(to) {
			return
		}
		out = append(out, Event{At: at, Name: name, Visitor: v.id, Page: path, Country: v.country,
			ip: v.ip, userAgent: v.ua, url: site + path + query, referrer: referrer, title: title})
		referrer = site + path
		at = at.Add(time.Duration(5+rng.IntN(120)) * time.Second)
	}
	landing := []struct{ path, title string }{{"/", "Home"}, {"/blog/packing-list", "What to pack for a rainy hike"}, {"/about", "About us"}}
	var cart []product
	switch r := rng.IntN(10); {
	case r < 4:
		add("page_view", landing[0].path, landing[0].title, a.query)
	case r < 6:
		add("page_view", landing[1].path, landing[1].title, a.query)
	case r < 7:
		add("page_view", landing[2].path, landing[2].title, a.query)
	default:
		p := products[rng.IntN(len(products))]
		add("page_view", p.path, p.title, a.query)
		add("Product Viewed", p.path, p.title, "")
		cart = append(cart, p)
	}
	if rng.IntN(10) < 4 { // a bounce
		return out
	}
	for range rng.IntN(4) {
		p := products[rng.IntN(len(products))]
		add("page_view", p.path, p.title, "")
		add("Product Viewed", p.path, p.title, "")
		if rng.IntN(3) == 0 {
			add("Product Added", p.path, p.title, "")
			cart = append(cart, p)
		}
	}
	if len(cart) == 0 || rng.IntN(3) != 0 {
		return out
	}
	add("page_view", "/cart", "Cart", "")
	add("page_view", "/checkout", "Checkout", "")
	var cents int64
	for _, p := range cart {
		cents += p.cents
	}
	currency := "EUR"
	if v.country == "US" || v.country == "CA" {
		currency = "USD"
	}
	n := len(out)
	add(Purchase, "/checkout", "Checkout", "")
	if len(out) > n {
		out[n].Currency, out[n].Minor = currency, cents
	}
	return out
}

func pick(rng *rand.Rand, weights []int) int {
	return pickBy(rng, len(weights), func(i int) int { return weights[i] })
}

func pickBy(rng *rand.Rand, n int, weight func(int) int) int {
	total := 0
	for i := range n {
		total += weight(i)
	}
	r := rng.IntN(total)
	for i := range n {
		if r -= weight(i); r < 0 {
			return i
		}
	}
	return n - 1
}

// Message is e as analytics.js would send it in a batch.
func (e Event) Message() map[string]any {
	m := map[string]any{
		"messageId":   e.ID,
		"anonymousId": e.Visitor,
		"timestamp":   e.At.Format(time.RFC3339Nano),
		"context": map[string]any{
			"ip":        e.ip,
			"userAgent": e.userAgent,
			"library":   map[string]any{"name": "analytics.js", "version": "next-1.70.0"},
			"page":      map[string]any{"url": e.url, "path": e.Page, "referrer": e.referrer, "title": e.title},
		},
	}
	switch {
	case e.PageView():
		m["type"], m["name"] = "page", e.title
		m["properties"] = map[string]any{"url": e.url, "path": e.Page, "referrer": e.referrer, "title": e.title}
	case e.Minor > 0:
		m["type"], m["event"] = "track", e.Name
		m["properties"] = map[string]any{"order_id": "order-" + e.ID, "currency": e.Currency,
			"revenue": json.Number(formatMinor(e.Minor))}
	default:
		m["type"], m["event"] = "track", e.Name
	}
	return m
}

// formatMinor writes cents as a decimal (both currencies used have two digits).
func formatMinor(cents int64) string { return fmt.Sprintf("%d.%02d", cents/100, cents%100) }

// BatchSize is how many events Send posts per request.
const BatchSize = 100

// Send posts events to the ingest at ingestURL (loopback only) with
// writeKey, BatchSize per request, and fails on the first answer that is
// not 200.
func Send(ctx context.Context, client *http.Client, ingestURL, writeKey string, events []Event) error {
	if err := loadgen.CheckLoopback(ingestURL); err != nil {
		return fmt.Errorf("demodata.Send: %w", err)
	}
	for off := 0; off < len(events); off += BatchSize {
		var batch []map[string]any
		for _, e := range events[off:min(off+BatchSize, len(events))] {
			batch = append(batch, e.Message())
		}
		body, err := json.Marshal(map[string]any{"batch": batch})
		if err != nil {
			return fmt.Errorf("demodata.Send: %w", err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, ingestURL+"/v1/batch", bytes.NewReader(body))
		if err != nil {
			return fmt.Errorf("demodata.Send: %w", err)
		}
		req.SetBasicAuth(writeKey, "")
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("demodata.Send: POST /v1/batch: %w", err)
		}
		out, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("demodata.Send: POST /v1/batch (events %d to %d): %s: %s", off, off+len(batch)-1, resp.Status, out)
		}
	}
	return nil
}
