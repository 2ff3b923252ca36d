// Command pipebench measures the streaming pipeline (docs/benchmarks.md,
// "Streaming pipeline"). Every mode is bounded in time or size, uses
// loopback only, prints a progress line every few seconds and a JSON
// result at the end.
//
//	pipebench -mode=streaming -rate=4000 -duration=3m   # ingest → pstest → Prism → bttest
//	pipebench -mode=batch -events=1000000               # transforms.Metrics on Prism, batch
//	pipebench -mode=visit -events=1000000               # Prism memory and speed of the stateful per-visitor step
//
// Streaming mode starts the local stack (binaries from -bin, as built by
// `make build`), sends Segment batches to ingest at -rate events/s for
// -duration, and samples the pipeline's /metrics: events decoded, CPU
// seconds and resident memory of the pipeline process.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/keys"
	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/pipelines/transforms"
	"github.com/footfall/footfall/testing/localstack"
)

var (
	mode     = flag.String("mode", "batch", "streaming, batch or visit")
	events   = flag.Int("events", 1_000_000, "batch/visit: events to generate")
	rate     = flag.Int("rate", 4000, "streaming: events per second to send")
	duration = flag.Duration("duration", 3*time.Minute, "streaming: how long to send")
	binDir   = flag.String("bin", "bin", "streaming: directory of the built binaries (make build)")
	cpuProf  = flag.String("cpuprofile", "", "write a CPU profile to this file (batch/visit: the run; streaming: 30 s of the pipeline process)")
	baseline = flag.Bool("baseline", false, "visit: the same pipeline without the stateful steps, for comparison")
	memProf  = flag.String("memprofile", "", "batch/visit: write a heap profile to this file each time the process's RSS reaches a new peak (the last one is the peak's)")
)

func init() {
	register.Function2x0(countRow)
	register.Function1x0(countHit)
}

var outputs atomic.Int64

func countRow(string, layout.RowContent) { outputs.Add(1) }
func countHit(transforms.Hit)            { outputs.Add(1) }

func main() {
	flag.Set("runner", "prism")
	flag.Parse()
	beam.Init()
	var err error
	switch *mode {
	case "batch":
		err = runBatch(false)
	case "visit":
		err = runBatch(true)
	case "streaming":
		err = runStreaming()
	default:
		err = fmt.Errorf("unknown -mode %q", *mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pipebench:", err)
		os.Exit(1)
	}
}

// genMessages makes n encoded events: 20 merchants, 50k visitors, 8 hours,
// realistic user agents, referrers and pages, 2% bots, 1% purchases.
func genMessages(n int) [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	uas := []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15",
	}
	refs := []string{"", "", "https://www.google.com/", "https://t.co/x", "https://news.example.org/a"}
	base := time.Now().UTC().Truncate(time.Hour).Add(-8 * time.Hour)
	out := make([][]byte, n)
	for i := range out {
		ua := uas[rng.IntN(len(uas))]
		if rng.IntN(50) == 0 {
			ua = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
		}
		at := base.Add(time.Duration(rng.Int64N(int64(8 * time.Hour))))
		e := event.Event{ID: fmt.Sprintf("b%d", i), MerchantID: fmt.Sprintf("m%d", rng.IntN(20)), Type: event.TypePage, Name: event.NamePageView,
			AnonymousID: fmt.Sprintf("v%d", rng.IntN(50000)), EventTime: at.UnixMicro(), ReceiveTime: at.UnixMicro(), Source: event.SourceSegment,
			PageURL: fmt.Sprintf("https://shop.example.com/p/%d", rng.IntN(300)), Referrer: refs[rng.IntN(len(refs))], UserAgent: ua, Country: "DE"}
		if rng.IntN(100) == 0 {
			e.Type, e.Name, e.RevenueMinor, e.Currency = event.TypeTrack, "purchase", int64(100+rng.IntN(10000)), "EUR"
		}
		b, err := event.Encode(&e)
		if err != nil {
			panic(err)
		}
		out[i] = b
	}
	return out
}

// runBatch runs transforms.Metrics (or, for visit, only Decode → Enrich →
// Attach → Visit, the streaming job's stateful steps) over generated
// events on Prism in this process, printing progress and the peak RSS.
func runBatch(visitOnly bool) error {
	msgs := genMessages(*events)
	runtime.GC()
	rssBefore := rss()
	p, s := beam.NewPipelineWithRoot()
	in := beam.CreateList(s, msgs)
	if visitOnly {
		hits := transforms.Enrich(s, transforms.Decode(s, in), "")
		if !*baseline {
			hits, _ = transforms.Visit(s, transforms.Attach(s, hits)) // the stateful (streaming) steps
		}
		beam.ParDo0(s, countHit, hits)
	} else {
		out := transforms.Metrics(s, in, transforms.Options{})
		beam.ParDo0(s, countRow, out.Rows)
	}
	msgs = nil
	stop := progress(func() string {
		return fmt.Sprintf("decoded=%d outputs=%d rss_mib=%d", counter("events_decoded"), outputs.Load(), rss()>>20)
	})
	if *memProf != "" {
		stopMem := watchPeakHeap(*memProf)
		defer stopMem()
	}
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	start := time.Now()
	_, err := beamx.RunWithMetrics(context.Background(), p)
	stop()
	if err != nil {
		return err
	}
	el := time.Since(start)
	return report(map[string]any{
		"mode": *mode, "baseline": *baseline, "events": *events, "seconds": el.Seconds(), "events_per_s": float64(*events) / el.Seconds(),
		"outputs": outputs.Load(), "rss_before_mib": rssBefore >> 20, "peak_rss_mib": peakRSS() >> 20,
		"duplicates": counter("events_duplicate"),
	})
}

// runStreaming drives the local stack at a fixed rate and samples the
// pipeline's metrics.
func runStreaming() error {
	bin, err := filepath.Abs(*binDir)
	if err != nil {
		return err
	}
	data, err := os.MkdirTemp("", "pipebench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(data)
	ctx := context.Background()
	st, err := localstack.StartOnFreePorts(ctx, localstack.Options{
		BinDir: bin, DataDir: data,
		PipelineArgs: []string{"--summary-interval=0"}, Echo: io.Discard,
	})
	if err != nil {
		return err
	}
	defer st.Stop()
	metricsAddr := st.Options().PipelineMetricsAddr
	scrape := func() (map[string]float64, error) { return scrapeMetrics("http://" + metricsAddr + "/metrics") }
	if err := waitFor(30*time.Second, func() error { _, err := scrape(); return err }); err != nil {
		return fmt.Errorf("pipeline metrics never answered: %w", err)
	}

	var sent atomic.Int64
	sendCtx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	var wg sync.WaitGroup
	const batch = 100
	workers := 4
	perWorker := float64(*rate) / float64(workers) / batch // batches per second per worker
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			tick := time.NewTicker(time.Duration(float64(time.Second) / perWorker))
			defer tick.Stop()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for seq := 0; ; seq++ {
				select {
				case <-sendCtx.Done():
					return
				case <-tick.C:
				}
				if err := postBatch(st.IngestURL(), w, seq, batch, rng); err != nil {
					fmt.Fprintln(os.Stderr, "send:", err)
					continue
				}
				sent.Add(batch)
			}
		}(w)
	}

	type sample struct {
		at                       time.Time
		decoded, cpu, rss, write float64
	}
	take := func() sample {
		m, err := scrape()
		if err != nil {
			return sample{at: time.Now()}
		}
		return sample{time.Now(), m["footfall_events_decoded_total"], m["process_cpu_seconds_total"], m["process_resident_memory_bytes"], m["footfall_bigtable_rows_written_total"]}
	}
	if *cpuProf != "" {
		go func() { // a 30 s CPU profile of the pipeline process, after warm-up
			time.Sleep(30 * time.Second)
			if err := fetch("http://"+metricsAddr+"/debug/pprof/profile?seconds=30", *cpuProf); err != nil {
				fmt.Fprintln(os.Stderr, "profile:", err)
			}
		}()
	}
	first := take()
	var samples []sample
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	done := sendCtx.Done()
	for done != nil {
		select {
		case <-done:
			done = nil
		case <-tick.C:
		}
		s := take()
		prev := first
		if len(samples) > 0 {
			prev = samples[len(samples)-1]
		}
		samples = append(samples, s)
		dt := s.at.Sub(prev.at).Seconds()
		fmt.Printf("progress t=%3.0fs sent=%d decoded=%.0f rate=%.0f/s cpu=%.2f cores rss=%.0f MiB rows=%.0f\n",
			s.at.Sub(first.at).Seconds(), sent.Load(), s.decoded, (s.decoded-prev.decoded)/dt, (s.cpu-prev.cpu)/dt, s.rss/(1<<20), s.write)
	}
	wg.Wait()
	// Let the pipeline drain what was sent (bounded).
	drainStart := time.Now()
	_ = waitFor(2*time.Minute, func() error {
		if take().decoded < float64(sent.Load()) {
			return errors.New("not yet")
		}
		return nil
	})
	last := take()
	// Steady state: skip the first 30 s of warm-up.
	var warm sample
	for _, s := range samples {
		if s.at.Sub(first.at) >= 30*time.Second {
			warm = s
			break
		}
	}
	end := samples[len(samples)-1]
	var maxRSS float64
	for _, s := range samples {
		maxRSS = max(maxRSS, s.rss)
	}
	span := end.at.Sub(warm.at).Seconds()
	return report(map[string]any{
		"mode": "streaming", "offered_per_s": *rate, "seconds": duration.Seconds(), "sent": sent.Load(),
		"decoded_per_s_steady": (end.decoded - warm.decoded) / span, "pipeline_cpu_cores": (end.cpu - warm.cpu) / span,
		"pipeline_rss_max_mib": maxRSS / (1 << 20), "decoded_total": last.decoded, "drain_seconds": time.Since(drainStart).Seconds(),
	})
}

func postBatch(base string, w, seq, n int, rng *rand.Rand) error {
	now := time.Now().UTC()
	msgs := make([]map[string]any, n)
	for i := range msgs {
		m := map[string]any{"type": "page", "anonymousId": fmt.Sprintf("v%d", rng.IntN(20000)),
			"messageId": fmt.Sprintf("w%d-%d-%d", w, seq, i), "timestamp": now.Add(-time.Duration(rng.IntN(60)) * time.Second).Format(time.RFC3339Nano),
			"properties": map[string]any{"url": fmt.Sprintf("https://shop.example.com/p/%d", rng.IntN(300)), "referrer": "https://www.google.com/"},
			"context":    map[string]any{"userAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36"}}
		msgs[i] = m
	}
	b, _ := json.Marshal(map[string]any{"batch": msgs})
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/batch", bytes.NewReader(b))
	req.SetBasicAuth(keys.DemoWriteKey, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST /v1/batch: %s", resp.Status)
	}
	return nil
}

func fetch(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

// scrapeMetrics reads a Prometheus text exposition into name → value
// (unlabelled series only).
func scrapeMetrics(url string) (map[string]float64, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		name, val, ok := strings.Cut(line, " ")
		if !ok || strings.Contains(name, "{") {
			continue
		}
		if v, err := strconv.ParseFloat(val, 64); err == nil {
			out[name] = v
		}
	}
	return out, sc.Err()
}

func waitFor(limit time.Duration, ok func() error) error {
	deadline := time.Now().Add(limit)
	for {
		err := ok()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// progress prints line() every 5 s until the returned stop is called.
func progress(line func() string) (stop func()) {
	done := make(chan struct{})
	start := time.Now()
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Printf("progress t=%3.0fs %s\n", time.Since(start).Seconds(), line())
			}
		}
	}()
	return func() { close(done) }
}

func report(m map[string]any) error {
	m["go"] = runtime.Version()
	m["cpus"] = runtime.NumCPU()
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}

// counter reads one of the pipeline's process-level counters (the
// transforms run in this process on Prism) from the Prometheus registry.
func counter(name string) int64 {
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		return -1
	}
	for _, mf := range mfs {
		if mf.GetName() == "footfall_"+name+"_total" && len(mf.GetMetric()) == 1 {
			return int64(mf.GetMetric()[0].GetCounter().GetValue())
		}
	}
	return -1
}

// watchPeakHeap writes a heap profile to path whenever the RSS has grown
// by a tenth since the last one, until stopped.
func watchPeakHeap(path string) (stop func()) {
	done := make(chan struct{})
	go func() {
		var last int64
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if r := rss(); r > last+last/10 {
					last = r
					if f, err := os.Create(path); err == nil {
						pprof.Lookup("heap").WriteTo(f, 0)
						f.Close()
					}
				}
			}
		}
	}()
	return func() { close(done) }
}

// rss and peakRSS read this process's current and peak resident set size
// (bytes) from /proc/self/status.
func rss() int64     { return procStatus("VmRSS:") }
func peakRSS() int64 { return procStatus("VmHWM:") }

func procStatus(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
