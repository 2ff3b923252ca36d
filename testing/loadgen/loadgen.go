// Package loadgen sends realistic Segment batches to a footfall ingest on
// this machine and measures what came back: events per second and request
// latency percentiles. It refuses any target that is not a loopback
// address, and every run is bounded in time and in events.
package loadgen

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
	"golang.org/x/time/rate"
)

// Hard bounds on any run.
const (
	MaxDuration = 10 * time.Minute
	MaxEvents   = 100_000_000
)

// Config describes a run.
type Config struct {
	// URL is the ingest base URL, e.g. http://127.0.0.1:8080 (loopback only).
	URL      string
	WriteKey string
	// Concurrency is the number of requests in flight.
	Concurrency int
	// BatchSize is the number of events per POST /v1/batch.
	BatchSize int
	// Rate caps events per second (0: as fast as the server answers).
	Rate float64
	// Duration and Events bound the run; it stops at whichever comes first.
	Duration time.Duration
	Events   int64
	// Gzip compresses the bodies as the RudderStack SDK does.
	Gzip bool
	// Progress receives a line per second (nil: none).
	Progress io.Writer
}

// Result is what a run measured.
type Result struct {
	Requests   int64
	Events     int64 // events in requests answered 2xx
	Failed     int64 // requests answered non-2xx or failed
	ByStatus   map[int]int64
	Elapsed    time.Duration
	EventsPerS float64
	// Latency percentiles of all requests (sorted samples, exact).
	P50, P90, P99, Max time.Duration
	BodyBytes          int // mean request body size
	EventBytes         int // mean uncompressed bytes per event
	FirstError         string
}

// CheckLoopback refuses a URL whose host is not a loopback address.
func CheckLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("loadgen: bad URL %q: %w", raw, err)
	}
	if u.Scheme != "http" {
		return fmt.Errorf("loadgen: URL %q must be http://", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("loadgen: %q is not a loopback address; loadgen only targets this machine (127.0.0.0/8, ::1, localhost)", host)
	}
	return nil
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	if err := CheckLoopback(c.URL); err != nil {
		return err
	}
	switch {
	case c.Concurrency < 1 || c.Concurrency > 1024:
		return errors.New("loadgen: concurrency must be 1-1024")
	case c.BatchSize < 1 || c.BatchSize > 2000:
		return errors.New("loadgen: batch size must be 1-2000")
	case c.Duration <= 0 || c.Duration > MaxDuration:
		return fmt.Errorf("loadgen: duration must be positive and at most %s", MaxDuration)
	case c.Events <= 0 || c.Events > MaxEvents:
		return fmt.Errorf("loadgen: events must be 1-%d", MaxEvents)
	case c.Rate < 0:
		return errors.New("loadgen: rate must not be negative")
	}
	return nil
}

// Run sends batches until Duration or Events is reached or ctx is done.
func Run(ctx context.Context, c Config) (Result, error) {
	if err := c.Validate(); err != nil {
		return Result{}, err
	}
	u, _ := url.Parse(c.URL)
	bodies, eventBytes, err := Bodies(64, c.BatchSize, time.Now(), c.Gzip)
	if err != nil {
		return Result{}, err
	}
	client := &fasthttp.HostClient{
		Addr:                u.Host,
		MaxConns:            c.Concurrency,
		ReadTimeout:         60 * time.Second,
		WriteTimeout:        60 * time.Second,
		MaxIdleConnDuration: time.Minute,
	}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(c.WriteKey+":"))
	target := strings.TrimSuffix(c.URL, "/") + "/v1/batch"

	var lim *rate.Limiter
	if c.Rate > 0 {
		lim = rate.NewLimiter(rate.Limit(c.Rate), max(c.BatchSize, int(c.Rate/10)))
	}
	ctx, cancel := context.WithTimeout(ctx, c.Duration)
	defer cancel()

	var (
		budget             atomic.Int64 // events left to send
		events, reqs, fail atomic.Int64
		mu                 sync.Mutex
		byStatus           = map[int]int64{}
		firstErr           string
		samples            = make([][]time.Duration, c.Concurrency)
	)
	budget.Store(c.Events)
	start := time.Now()
	stopProgress := progress(c.Progress, start, &events, &fail)
	var wg sync.WaitGroup
	for w := 0; w < c.Concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			lat := make([]time.Duration, 0, 1<<14)
			for i := w; ctx.Err() == nil; i += c.Concurrency {
				if budget.Add(-int64(c.BatchSize)) < 0 {
					break
				}
				if lim != nil && lim.WaitN(ctx, c.BatchSize) != nil {
					break
				}
				req.Reset()
				req.SetRequestURI(target)
				req.Header.SetMethod(fasthttp.MethodPost)
				req.Header.SetContentType("application/json")
				req.Header.Set(fasthttp.HeaderAuthorization, auth)
				if c.Gzip {
					req.Header.Set(fasthttp.HeaderContentEncoding, "gzip")
				}
				req.SetBodyRaw(bodies[i%len(bodies)])
				t0 := time.Now()
				err := client.Do(req, resp)
				d := time.Since(t0)
				lat = append(lat, d)
				reqs.Add(1)
				code := resp.StatusCode()
				if err != nil {
					code = -1
				}
				if err == nil && code/100 == 2 {
					events.Add(int64(c.BatchSize))
					continue
				}
				fail.Add(1)
				mu.Lock()
				byStatus[code]++
				if firstErr == "" {
					if err != nil {
						firstErr = err.Error()
					} else {
						firstErr = fmt.Sprintf("%d %s", code, resp.Body())
					}
				}
				mu.Unlock()
			}
			samples[w] = lat
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopProgress()

	var all []time.Duration
	for _, s := range samples {
		all = append(all, s...)
	}
	slices.Sort(all)
	r := Result{
		Requests: reqs.Load(), Events: events.Load(), Failed: fail.Load(), ByStatus: byStatus,
		Elapsed: elapsed, EventsPerS: float64(events.Load()) / elapsed.Seconds(),
		EventBytes: eventBytes, FirstError: firstErr,
	}
	for _, b := range bodies {
		r.BodyBytes += len(b)
	}
	r.BodyBytes /= len(bodies)
	r.ByStatus[200] = r.Requests - r.Failed
	if n := len(all); n > 0 {
		pct := func(p float64) time.Duration { return all[min(n-1, int(float64(n)*p))] }
		r.P50, r.P90, r.P99, r.Max = pct(0.50), pct(0.90), pct(0.99), all[n-1]
	}
	return r, nil
}

// progress prints one line per second; the returned func stops it.
func progress(w io.Writer, start time.Time, events, fail *atomic.Int64) func() {
	if w == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var last int64
		for {
			select {
			case <-done:
				fmt.Fprintln(w)
				return
			case <-t.C:
				n := events.Load()
				fmt.Fprintf(w, "\r%6.0fs  %11d events  %9.0f events/s (last second)  %d failed requests ",
					time.Since(start).Seconds(), n, float64(n-last), fail.Load())
				last = n
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
