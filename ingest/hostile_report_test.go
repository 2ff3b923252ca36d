package ingest

import (
	"bytes"
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/keys"
)

var hostileReport = flag.Bool("hostile-report", false, "run TestHostileReport: hostile input against ingest on loopback, printing docs/reliability.md's table")

// TestHostileReport sends each kind of hostile input to a real ingest (a
// loopback socket, an in-process Pub/Sub emulator, the production rate
// limits) for a few seconds while a well-behaved client sends 10-event
// batches every 20 ms, and prints one table row per attack: the answer the
// attacker got, the latency of the normal requests meanwhile, and whether
// every acknowledged normal event reached Pub/Sub. It measures; it asserts
// only that nothing acknowledged was lost and that the attack got the
// expected answer. Run it with
//
//	go test -count=1 -run TestHostileReport -hostile-report -v ./ingest/
func TestHostileReport(t *testing.T) {
	if !*hostileReport {
		t.Skip("measurement run; enable with -hostile-report")
	}
	const attackFor = 3 * time.Second
	s, ps := newTestServer(t, nil, func(c *Config) {
		c.RateLimit, c.RateBurst = 5000, 10000 // the production defaults
		c.ReadTimeout = 2 * time.Second
	})
	s.now = time.Now
	base, _ := serve(t, s)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 30 * time.Second}

	post := func(path, auth string, body []byte, gz bool, hdr map[string]string) (int, string) {
		if gz {
			body = gzipped(t, string(body))
		}
		req, _ := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if gz {
			req.Header.Set("Content-Encoding", "gzip")
		}
		if auth != "" {
			req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(auth+":")))
		}
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	batchOf := func(n int, msg func(i int) string) []byte {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = msg(i)
		}
		return []byte(`{"batch":[` + strings.Join(parts, ",") + `]}`)
	}
	mp := func(mid, secret string) string {
		return "/mp/collect?" + url.Values{"measurement_id": {mid}, "api_secret": {secret}}.Encode()
	}

	type attack struct {
		name   string
		answer string // expected status of the attack requests, for the table
		run    func(i int) (status int, body string)
		setup  func() func() // optional: start something, return its stop
	}
	var guess atomic.Int64
	exponentBatch := batchOf(6000, func(i int) string {
		return `{"type":"track","event":"o","userId":"x","properties":{"revenue":"1e999999"}}`
	})
	mpExponent := []byte(`{"client_id":"c","events":[` + strings.TrimSuffix(strings.Repeat(`{"name":"purchase","params":{"value":"1e999999","currency":"USD"}},`, 25), ",") + `]}`)
	deep := batchOf(1, func(int) string {
		return `{"type":"identify","userId":"x","traits":{"t":` + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + `}}`
	})
	mpDeep := []byte(`{"client_id":"c","events":[{"name":"e","params":{"items":` + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + `}}]}`)
	longIDs := batchOf(16, func(i int) string {
		return fmt.Sprintf(`{"type":"track","event":"x","anonymousId":"%s","messageId":"l%d"}`, strings.Repeat("a", 30000), i)
	})
	huge := batchOf(14000, func(int) string { return `{"type":"page","userId":"u"}` })
	attacks := []attack{
		{name: "none (baseline)"},
		{name: "6,000 amounts `\"1e999999\"` in one gzipped Segment batch", answer: "200, 6,000 warnings, revenue dropped; then 429 (rate limit)",
			run: func(int) (int, string) { return post("/v1/batch", "wk-b", exponentBatch, true, nil) }},
		{name: "25 amounts `1e999999` to `/debug/mp/collect`, no credentials", answer: "200, validation messages (exponent); after 20 tries 429",
			run: func(int) (int, string) { return post("/debug"+mp("x", "y"), "", mpExponent, false, nil) }},
		{name: "traits nested 9,000 levels (Segment)", answer: "400 `batch[0].traits.t[0]…`: nests deeper than 33 levels",
			run: func(int) (int, string) { return post("/v1/batch", "wk-b", deep, false, nil) }},
		{name: "GA4 items nested 9,000 levels", answer: "400 VALUE_OUT_OF_BOUNDS on `events[0].params.items[0]…`",
			run: func(int) (int, string) { return post(mp("wk-b", "sec-b"), "", mpDeep, false, nil) }},
		{name: "16 anonymousIds of 30,000 bytes in a batch", answer: "400 per message: `anonymousId` limit 256",
			run: func(int) (int, string) { return post("/v1/batch", "wk-b", longIDs, false, nil) }},
		{name: "14,000-message batches (500 KB) against 5,000 events/s, burst 10,000", answer: "200 for the first, then 429 with Retry-After",
			run: func(int) (int, string) { return post("/v1/batch", "wk-b", huge, false, nil) }},
		{name: "guessing GA4 api_secrets from one address", answer: "401 (one answer) × 20, then 429 unchecked",
			run: func(int) (int, string) {
				return post(mp("wk-b", fmt.Sprintf("guess-%d", guess.Add(1))), "", []byte(`{"client_id":"c","events":[{"name":"e"}]}`), false, nil)
			}},
		{name: "200 slowloris connections (headers never finished)", answer: "closed after READ_TIMEOUT (2 s in this run)",
			setup: func() func() {
				var conns []net.Conn
				for range 200 {
					c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
					if err != nil {
						break
					}
					fmt.Fprintf(c, "POST /v1/batch HTTP/1.1\r\nHost: x\r\n")
					conns = append(conns, c)
				}
				return func() {
					closed := 0
					for _, c := range conns {
						_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
						if _, err := io.ReadAll(c); err == nil {
							closed++ // EOF: the server closed it
						}
						c.Close()
					}
					t.Logf("slowloris: %d of %d connections closed by the server after %s", closed, len(conns), attackFor)
				}
			}},
		{name: "`GET /metrics` on the public port", answer: "404 (served on INGEST_OPS_ADDR only)",
			run: func(int) (int, string) {
				resp, err := client.Get(base + "/metrics")
				if err != nil {
					return 0, err.Error()
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}},
	}

	var rows []string
	normalSeq := 0
	baselineCPU := time.Duration(-1)
	for _, a := range attacks {
		ps.ClearMessages()
		// A fresh budget for each attack: the buckets of the previous one are forgotten.
		s.limits = newLimiters(s.keys, s.limits.def)
		s.authFails = newAuthFailures(s.cfg.AuthFailuresPerMinute, s.cfg.AuthFailureBurst)
		ctx, cancel := context.WithTimeout(context.Background(), attackFor)
		var stop func()
		if a.setup != nil {
			stop = a.setup()
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		statuses := map[int]int{}
		attackN := 0
		if a.run != nil {
			for w := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; ctx.Err() == nil; i += 2 {
						st, _ := a.run(i)
						mu.Lock()
						statuses[st]++
						attackN++
						mu.Unlock()
					}
				}()
			}
		}
		cpu0 := cpuTime()
		var lat []time.Duration
		var acked []string
		tick := time.NewTicker(20 * time.Millisecond)
		for ctx.Err() == nil {
			<-tick.C
			ids := make([]string, 10)
			for i := range ids {
				normalSeq++
				ids[i] = fmt.Sprintf("n%d", normalSeq)
			}
			body := batchOf(10, func(i int) string {
				return fmt.Sprintf(`{"type":"track","event":"Order Completed","anonymousId":"v%d","messageId":%q,"properties":{"revenue":"19.99","currency":"EUR"}}`, i, ids[i])
			})
			start := time.Now()
			st, _ := post("/v1/batch", keys.DemoWriteKey, body, false, nil)
			lat = append(lat, time.Since(start))
			if st == 200 {
				acked = append(acked, ids...)
			}
		}
		tick.Stop()
		wg.Wait()
		cpu := cpuTime() - cpu0
		cancel()
		if stop != nil {
			stop()
		}
		stored := map[string]bool{}
		attackerStored := 0
		for _, m := range ps.Messages() {
			e, err := event.Decode(m.Data)
			switch {
			case err != nil:
			case e.MerchantID == keys.DemoMerchant:
				stored[e.ID] = true
			default:
				attackerStored++
			}
		}
		lost := 0
		for _, id := range acked {
			if !stored[id] {
				lost++
			}
		}
		if lost > 0 {
			t.Errorf("%s: %d acknowledged normal events missing from Pub/Sub", a.name, lost)
		}
		slices.Sort(lat)
		pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
		var sts []string
		for st, n := range statuses {
			sts = append(sts, fmt.Sprintf("%d×%d", n, st))
		}
		slices.Sort(sts)
		if baselineCPU < 0 {
			baselineCPU = cpu
		}
		perAttack := "—"
		if attackN > 0 {
			perAttack = fmt.Sprintf("%.0f µs", float64((cpu-baselineCPU).Microseconds())/float64(attackN))
		}
		rows = append(rows, fmt.Sprintf("| %s | %s. Attack requests: %s; CPU per attack request %s; attacker events stored %d | p50 %s, p99 %s, max %s (%d requests) | %d acknowledged, %d lost |",
			a.name, orDash(a.answer), orDash(strings.Join(sts, ", ")), perAttack, attackerStored,
			pct(0.5).Round(100*time.Microsecond), pct(0.99).Round(100*time.Microsecond), lat[len(lat)-1].Round(100*time.Microsecond), len(lat),
			len(acked), lost))
	}
	t.Logf("\n| hostile input (2 attackers in a loop, %s) | answer | latency of a normal 10-event batch meanwhile | normal events |\n| --- | --- | --- | --- |\n%s",
		attackFor, strings.Join(rows, "\n"))
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
