package loadgen

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"math/rand/v2"
	"time"

	json "github.com/goccy/go-json"
)

var (
	products  = []string{"Blue Running Shoes", "Wool Socks", "Rain Jacket", "Leather Belt", "Canvas Backpack", "Sun Hat"}
	refs      = []string{"https://www.google.com/", "https://news.example.org/article/123", "", "https://t.co/abc"}
	campaigns = []string{"", "?utm_source=newsletter&utm_medium=email&utm_campaign=black_friday", "?utm_source=google&utm_medium=cpc"}
	agents    = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15",
	}
)

// message builds one event shaped like what analytics.js sends: 60 % page
// views, 30 % product events, 10 % purchases with revenue.
func message(rng *rand.Rand, n int, ts time.Time) map[string]any {
	sku := rng.IntN(5000)
	prod := products[rng.IntN(len(products))]
	path := fmt.Sprintf("/products/sku-%d", sku)
	m := map[string]any{
		"anonymousId": fmt.Sprintf("anon-%08x-%04x-%04x", rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<16)),
		"messageId":   fmt.Sprintf("lg-%d-%x", n, rng.Uint64()),
		"timestamp":   ts.Format(time.RFC3339Nano),
		"context": map[string]any{
			"userAgent": agents[rng.IntN(len(agents))],
			"library":   map[string]any{"name": "analytics.js", "version": "next-1.70.0"},
			"page": map[string]any{
				"url": "https://shop.example.com" + path + campaigns[rng.IntN(len(campaigns))], "path": path,
				"referrer": refs[rng.IntN(len(refs))], "title": prod,
			},
		},
	}
	if rng.IntN(3) == 0 {
		m["userId"] = fmt.Sprintf("user-%d", rng.IntN(100000))
	}
	switch r := rng.IntN(10); {
	case r < 6:
		m["type"], m["name"] = "page", prod
		m["properties"] = map[string]any{"category": "products"}
	case r < 9:
		m["type"], m["event"] = "track", "Product Viewed"
		m["properties"] = map[string]any{"product_id": fmt.Sprintf("sku-%d", sku), "name": prod, "price": 49.99, "currency": "USD"}
	default:
		m["type"], m["event"] = "track", "Order Completed"
		m["properties"] = map[string]any{"order_id": fmt.Sprintf("o-%d", rng.Uint32()), "revenue": "99.98", "currency": "USD",
			"products": []any{map[string]any{"product_id": fmt.Sprintf("sku-%d", sku), "price": 49.99, "quantity": 2}}}
	}
	return m
}

// Bodies returns count Segment batch bodies of batch events each (gzipped
// if asked) and the mean uncompressed size of one event in bytes.
func Bodies(count, batch int, ts time.Time, gz bool) ([][]byte, int, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([][]byte, count)
	var eventBytes, events int
	for i := range out {
		msgs := make([]json.RawMessage, batch)
		for j := range msgs {
			b, err := json.Marshal(message(rng, i*batch+j, ts))
			if err != nil {
				return nil, 0, err
			}
			msgs[j] = b
			eventBytes += len(b)
			events++
		}
		b, err := json.Marshal(map[string]any{"batch": msgs, "sentAt": ts.Format(time.RFC3339Nano)})
		if err != nil {
			return nil, 0, err
		}
		if gz {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(b)
			zw.Close()
			b = buf.Bytes()
		}
		out[i] = b
	}
	return out, eventBytes / events, nil
}
