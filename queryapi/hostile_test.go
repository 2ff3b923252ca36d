package queryapi

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/footfall/footfall/internal/layout"
)

// TestHostileInput measures what a normal request costs while one read
// key (or none) attacks the API, for the table in docs/reliability.md
// ("Hostile input: the query API"). It is a measurement, run on demand:
//
//	FOOTFALL_HOSTILE=1 go test -count=1 -run TestHostileInput -v ./queryapi/
//
// Every attack is bounded in count and time and aims only at a loopback
// listener of this process. It checks the answers the attack gets and
// that every normal request succeeds; the latencies are logged, not
// asserted.
func TestHostileInput(t *testing.T) {
	if os.Getenv("FOOTFALL_HOSTILE") != "1" {
		t.Skip("a measurement; set FOOTFALL_HOSTILE=1 to run it")
	}
	f := newFixture(t, func(c *Config) {
		c.RateLimit, c.RateBurst = 20, 40 // the production defaults
		c.ReadTimeout = 2 * time.Second   // short, so that the slow-client attack shows it within the run
	})
	// The normal client spreads its requests over many read keys of
	// shop-a, so that its own rate limit never answers it.
	f.srv.keys = manyKeys{f.srv.keys}
	// shop-a: a normal merchant; shop-b: the attacker, with many distinct
	// values per hour (unique paths) over 30 days, all sealed.
	for h := range 30 * 24 {
		at := h0.Add(time.Duration(h) * time.Hour)
		tot := &layout.Totals{Events: 50, Visitors: layout.NewVisitorSketch()}
		for i := range 50 {
			tot.Visitors.Insert(fmt.Appendf(nil, "a%d-%d", h%48, i))
		}
		f.put(t, "shop-a", at, layout.FamilySealed, tot)
		b := &layout.Breakdown{Values: map[string]*layout.Item{}}
		for i := range 100 {
			it := &layout.Item{Events: 1, Visitors: layout.NewItemSketch()}
			for j := range 40 {
				it.Visitors.Insert(fmt.Appendf(nil, "b%d-%d-%d", h, i, j))
			}
			b.Values[fmt.Sprintf("/unique/%d/%d", h, i)] = it
		}
		f.putBreakdown(t, "shop-b", layout.DimPage, at, layout.FamilySealed, b)
	}
	end := h0.Add(30 * 24 * time.Hour)
	f.watermarks(t, end.Add(-3*time.Hour), end)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := f.srv.App()
	go app.Listener(ln)
	t.Cleanup(func() { app.ShutdownWithTimeout(5 * time.Second) })
	base := "http://" + ln.Addr().String()
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	get := func(key, path string) (int, error) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	const normalPath = "/v1/timeseries?metrics=events,visitors&interval=day&from=2026-11-01&to=2026-12-01"
	normal := func(n int) (p50, p99 time.Duration) {
		var lat []time.Duration
		for i := range n {
			t0 := time.Now()
			code, err := get(fmt.Sprintf("normal-%d", i), normalPath)
			if err != nil || code != 200 {
				t.Errorf("normal request: %d, %v", code, err)
			}
			lat = append(lat, time.Since(t0))
		}
		slices.Sort(lat)
		return lat[len(lat)/2], lat[len(lat)*99/100]
	}
	heapPeak := func(stop <-chan struct{}) *uint64 {
		var peak uint64
		go func() {
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > atomic.LoadUint64(&peak) {
					atomic.StoreUint64(&peak, ms.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		return &peak
	}
	normal(50) // warm the cache
	p50, p99 := normal(300)
	t.Logf("| (none) | | normal request p50 %s, p99 %s |", p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond))

	// attack runs fn from workers goroutines until the normal requests
	// are measured, then reports the codes the attack got.
	attack := func(name string, workers int, fn func(i int) (int, error)) {
		t.Helper()
		stop := make(chan struct{})
		peak := heapPeak(stop)
		var mu sync.Mutex
		codes := map[string]int{}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 5000; i++ { // bounded
					select {
					case <-stop:
						return
					default:
					}
					code, err := fn(w*5000 + i)
					k := fmt.Sprint(code)
					if err != nil {
						k = "error"
					}
					mu.Lock()
					codes[k]++
					mu.Unlock()
				}
			}()
		}
		p50, p99 := normal(300)
		close(stop)
		wg.Wait()
		t.Logf("| %s | %v | normal request p50 %s, p99 %s; heap in use peak %d MiB |", name, codes,
			p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), atomic.LoadUint64(peak)>>20)
	}

	attack("one key: 30-day breakdowns of 72,000 distinct values, limit 1000, 8 at a time", 8, func(int) (int, error) {
		return get("rb", "/v1/breakdown?dimension=page&metrics=visitors,events&limit=1000&from=2026-11-01&to=2026-12-01")
	})
	attack("one merchant, a fresh read key per request (no rate limit holds), every request a different 29-day range (no cache helps): 72,000 distinct values each, limit 1000, 8 at a time", 8, func(i int) (int, error) {
		from := h0.Add(time.Duration(i%24) * time.Hour)
		to := from.Add(time.Duration(29*24-i/24%200) * time.Hour) // 4,800 different ranges
		return get(fmt.Sprintf("attack-%d", i), "/v1/breakdown?dimension=page&metrics=visitors,events&limit=1000&from="+
			from.Format(time.RFC3339)+"&to="+to.Format(time.RFC3339))
	})
	attack("unknown read keys, 8 at a time", 8, func(i int) (int, error) {
		return get(fmt.Sprintf("guess-%d", i), normalPath)
	})
	attack("bad parameters (merchant=, unknown zone, 10,000 points), 8 at a time", 8, func(i int) (int, error) {
		bad := []string{normalPath + "&merchant=shop-b", "/v1/timeseries?from=2026-01-01&to=2026-12-01&tz=Mars/Olympus", "/v1/timeseries?interval=hour&from=2025-01-01&to=2026-12-01"}
		return get("r", bad[i%len(bad)]) // a key of its own: the first 40 reach validation, then its limit answers
	})
	var held atomic.Int64
	attack("500 connections sending their headers slowly (slowloris)", 1, func(int) (int, error) {
		if held.Load() >= 500 {
			time.Sleep(10 * time.Millisecond)
			return 0, nil
		}
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return 0, err
		}
		held.Add(1)
		go func() {
			defer c.Close()
			defer held.Add(-1)
			io.WriteString(c, "GET /v1/realtime HTTP/1.1\r\nHost: x\r\n")
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			io.Copy(io.Discard, c) // returns when the server closes it
		}()
		return -1, nil // connection opened
	})
	t0 := time.Now()
	for held.Load() > 0 && time.Since(t0) < 30*time.Second {
		time.Sleep(50 * time.Millisecond)
	}
	if n := held.Load(); n > 0 {
		t.Errorf("%d slow connections still open 30 s after the attack stopped", n)
	}
	t.Logf("slow connections: all closed by the server %s after the attack stopped opening them (READ_TIMEOUT %s)",
		time.Since(t0).Round(100*time.Millisecond), f.srv.cfg.ReadTimeout)
}

// manyKeys adds the read keys normal-<n> of shop-a.
type manyKeys struct{ KeyLookup }

func (k manyKeys) ByReadKey(key string) (string, bool) {
	if strings.HasPrefix(key, "normal-") {
		return "shop-a", true
	}
	if strings.HasPrefix(key, "attack-") {
		return "shop-b", true
	}
	return k.KeyLookup.ByReadKey(key)
}
