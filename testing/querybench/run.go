package querybench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sort"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

// Scenario is one kind of request; Path returns the request path (with
// query) for merchant i, sent with ReadKey(i).
type Scenario struct {
	Name string
	Path func(i int) string
}

// Scenarios are the measured requests over layout l, each for a merchant
// drawn uniformly at random:
//   - daily30-live: 30 local days by day in America/New_York ending at the
//     end of today (the last hours are provisional and read every time);
//   - daily30-sealed: 30 UTC days ending at sealed_through (all cached);
//   - hourly7: 7 days by hour ending now;
//   - breakdown30: the top 10 pages over 30 days ending now.
func Scenarios(l Layout) []Scenario {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(err)
	}
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		panic(err)
	}
	// dayEndIn is the end of the local day holding the data's last hour.
	dayEndIn := func(loc *time.Location) time.Time {
		last := l.End.Add(-time.Minute).In(loc)
		return time.Date(last.Year(), last.Month(), last.Day()+1, 0, 0, 0, 0, loc)
	}
	dayEnd := dayEndIn(ny)
	sealedDay := l.SealedThrough().Truncate(24 * time.Hour)
	f := func(t time.Time) string { return t.Format(time.RFC3339) }
	q := func(path string, v url.Values) string { return path + "?" + v.Encode() }
	return []Scenario{
		{"daily30-live", func(int) string {
			return q("/v1/timeseries", url.Values{"metrics": {"events,pageviews,visitors"}, "interval": {"day"}, "tz": {"America/New_York"},
				"from": {dayEnd.AddDate(0, 0, -30).Format(time.DateOnly)}, "to": {dayEnd.Format(time.DateOnly)}})
		}},
		// The same series ending today in UTC and in Asia/Kolkata (+05:30:
		// its midnights cut UTC hours, read from quarter rows).
		{"daily30-live-utc", func(int) string {
			return q("/v1/timeseries", url.Values{"metrics": {"events,pageviews,visitors"}, "interval": {"day"}, "tz": {"UTC"},
				"from": {dayEndIn(time.UTC).AddDate(0, 0, -30).Format(time.DateOnly)}, "to": {dayEndIn(time.UTC).Format(time.DateOnly)}})
		}},
		{"daily30-live-kolkata", func(int) string {
			return q("/v1/timeseries", url.Values{"metrics": {"events,pageviews,visitors"}, "interval": {"day"}, "tz": {"Asia/Kolkata"},
				"from": {dayEndIn(kolkata).AddDate(0, 0, -30).Format(time.DateOnly)}, "to": {dayEndIn(kolkata).Format(time.DateOnly)}})
		}},
		{"daily30-sealed", func(int) string {
			return q("/v1/timeseries", url.Values{"metrics": {"events,pageviews,visitors"}, "interval": {"day"},
				"from": {f(sealedDay.AddDate(0, 0, -30))}, "to": {f(sealedDay)}})
		}},
		{"hourly7", func(int) string {
			return q("/v1/timeseries", url.Values{"metrics": {"events,pageviews,visitors"}, "interval": {"hour"},
				"from": {f(l.End.AddDate(0, 0, -7))}, "to": {f(l.End)}})
		}},
		{"breakdown30", func(int) string {
			return q("/v1/breakdown", url.Values{"dimension": {"page"}, "metrics": {"events,visitors"}, "limit": {"10"},
				"from": {f(l.End.AddDate(0, 0, -30))}, "to": {f(l.End)}})
		}},
	}
}

// Result is one measured run.
type Result struct {
	Scenario      string
	Concurrency   int
	Requests      int
	Errors        int
	FirstError    string
	Elapsed       time.Duration
	P50, P90, P99 time.Duration
	Max           time.Duration
	RPS           float64
	// CPU per successful request, of each process Run was given a CPU
	// clock for (server with load generator, emulator): a figure the
	// machine's other load does not distort the way it does latency.
	CPUPerRequest []time.Duration
}

func (r Result) String() string {
	cpu := ""
	for i, c := range r.CPUPerRequest {
		if i > 0 {
			cpu += " + "
		}
		cpu += fmt.Sprintf("%.0f", float64(c)/float64(time.Microsecond))
	}
	return fmt.Sprintf("%-15s c=%d  %7.0f req/s  p50 %6.2f ms  p90 %6.2f ms  p99 %6.2f ms  max %7.2f ms  CPU/req %s µs  (%d requests, %d errors)",
		r.Scenario, r.Concurrency, r.RPS, ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max), cpu, r.Requests, r.Errors)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Warm sends sc's request once for every merchant, so that a measurement
// that follows sees the steady state (sealed aggregates cached).
func Warm(ctx context.Context, base string, sc Scenario, merchants, concurrency int) error {
	client := &fasthttp.Client{MaxConnsPerHost: concurrency}
	jobs := make(chan int)
	errc := make(chan error, concurrency)
	var wg sync.WaitGroup
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
				req.SetRequestURI(base + sc.Path(i))
				req.Header.Set("Authorization", "Bearer "+ReadKey(i))
				err := client.DoTimeout(req, resp, time.Minute)
				if err == nil && resp.StatusCode() != 200 {
					err = fmt.Errorf("status %d: %.200s", resp.StatusCode(), resp.Body())
				}
				fasthttp.ReleaseRequest(req)
				fasthttp.ReleaseResponse(resp)
				if err != nil {
					select {
					case errc <- fmt.Errorf("warm %s for merchant %d: %w", sc.Name, i, err):
					default:
					}
				}
			}
		}()
	}
	for i := 0; i < merchants && ctx.Err() == nil; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	select {
	case err := <-errc:
		return err
	default:
		return ctx.Err()
	}
}

// Run sends sc's requests, each for a merchant drawn uniformly from
// [0, merchants), to base (http://host:port) from concurrency workers for
// d (or until ctx ends) and measures each. Every request must answer 200
// or 304; anything else counts as an error.
func Run(ctx context.Context, base string, sc Scenario, merchants, concurrency int, d time.Duration, cpuClocks ...func() time.Duration) Result {
	u, err := url.Parse(base)
	if err != nil {
		panic(err)
	}
	client := &fasthttp.HostClient{Addr: u.Host, MaxConns: concurrency, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	lats := make([][]time.Duration, concurrency)
	errs := make([]int, concurrency)
	firstErr := make([]string, concurrency)
	cpu0 := make([]time.Duration, len(cpuClocks))
	for i, c := range cpuClocks {
		cpu0[i] = c()
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for ctx.Err() == nil {
				i := rng.IntN(merchants)
				req.Reset()
				req.SetRequestURI(base + sc.Path(i))
				req.Header.Set("Authorization", "Bearer "+ReadKey(i))
				t0 := time.Now()
				err := client.Do(req, resp)
				lat := time.Since(t0)
				if err == nil && resp.StatusCode() != 200 && resp.StatusCode() != 304 {
					err = fmt.Errorf("status %d: %.200s", resp.StatusCode(), resp.Body())
				}
				if err != nil {
					if errs[w] == 0 {
						firstErr[w] = err.Error()
					}
					errs[w]++
					continue
				}
				lats[w] = append(lats[w], lat)
			}
		}(w)
	}
	wg.Wait()
	r := Result{Scenario: sc.Name, Concurrency: concurrency, Elapsed: time.Since(start)}
	cpu := make([]time.Duration, len(cpuClocks))
	for i, c := range cpuClocks {
		cpu[i] = c() - cpu0[i]
	}
	var all []time.Duration
	for w := range lats {
		all = append(all, lats[w]...)
		r.Errors += errs[w]
		if r.FirstError == "" {
			r.FirstError = firstErr[w]
		}
	}
	r.Requests = len(all) + r.Errors
	if len(all) == 0 {
		return r
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	pct := func(p float64) time.Duration { return all[min(len(all)-1, int(p*float64(len(all))))] }
	r.P50, r.P90, r.P99, r.Max = pct(0.50), pct(0.90), pct(0.99), all[len(all)-1]
	r.RPS = float64(len(all)) / r.Elapsed.Seconds()
	for _, c := range cpu {
		r.CPUPerRequest = append(r.CPUPerRequest, c/time.Duration(len(all)))
	}
	return r
}

// Keys resolves the read keys of n merchants (ReadKey(i) → Merchant(i));
// it satisfies queryapi.KeyLookup.
type Keys int

// ByReadKey returns the merchant of a read key.
func (n Keys) ByReadKey(k string) (string, bool) {
	var i int
	if _, err := fmt.Sscanf(k, "rk-%04d", &i); err != nil || i < 0 || i >= int(n) || ReadKey(i) != k {
		return "", false
	}
	return Merchant(i), true
}
