// Package soak runs the whole local stack (testing/localstack) under a
// steady load for minutes: it sends real-time events at a fixed rate with
// loadgen.Sender (retrying with the same ids), measures the end-to-end
// delay with marker events that it polls for in the query API, samples
// every process's RSS and CPU, and ends with the loss and duplicate check:
// the query API must count every acknowledged event once, and the raw
// archive must hold every acknowledged event. It writes the samples as CSV
// and a plot (SVG). testing/cmd/soak is its command; `make soak` runs it.
package soak

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	json "github.com/goccy/go-json"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/keys"
	"github.com/footfall/footfall/pipelines/io/archive"
	"github.com/footfall/footfall/testing/loadgen"
	"github.com/footfall/footfall/testing/localstack"
	"github.com/footfall/footfall/testing/truth"
)

// Config describes a run.
type Config struct {
	BinDir  string // the stack's binaries (localstack.Build)
	DataDir string // logs and archive (a fresh directory)
	// Rate is the events per second offered; Duration how long.
	Rate     float64
	Duration time.Duration
	// BatchSize events per request; Concurrency requests in flight.
	BatchSize, Concurrency int
	// Visitors is the number of distinct visitors events come from.
	Visitors int
	// MarkerEvery is how often a marker event is sent to measure the
	// end-to-end delay; SampleEvery how often processes are sampled.
	MarkerEvery, SampleEvery time.Duration
	// DrainLimit bounds the wait, after the load, for the query API to
	// count everything.
	DrainLimit time.Duration
	Log        *slog.Logger
}

// Processes sampled, in plot order ("soak" is this process: load
// generator and ground truth).
var Processes = []string{localstack.PubSub, localstack.Bigtable, localstack.Pipeline, localstack.Sealer,
	localstack.Ingest, localstack.QueryAPI, "soak"}

// Sample is one sampling interval.
type Sample struct {
	At time.Duration // since the load started
	// AckedRate is events acknowledged by ingest per second over the
	// interval; DecodedRate events the streaming job decoded per second.
	AckedRate, DecodedRate float64
	// Delay is the end-to-end delay of the latest marker seen (0: none yet).
	Delay time.Duration
	// CPU (cores over the interval) and RSS (bytes) per process.
	CPU map[string]float64
	RSS map[string]int64
}

// Result is what a run measured.
type Result struct {
	Config  Config
	Elapsed time.Duration
	Samples []Sample
	// Delays of every marker seen counted, in send order; Markers is the
	// number of markers acknowledged.
	Delays  []time.Duration
	Markers int
	Stats   loadgen.SendStats
	// Acked is the distinct events acknowledged (markers included);
	// Expected the non-crawler ones; Counted, Lost, Duplicated what the
	// query API serves against that (docs/reliability.md).
	Acked, Expected, Counted, Lost, Duplicated int64
	// Drain is how long after the load the query API counted everything
	// (or DrainLimit, with Diff set).
	Drain time.Duration
	Diff  string
	// ArchiveMissing counts acknowledged events absent from the raw
	// archive; ArchiveCopies the extra copies it holds (redeliveries,
	// which sealing deduplicates).
	ArchiveMissing, ArchiveCopies int64
}

// Run starts a stack, runs the load and the checks, and stops the stack.
func Run(ctx context.Context, c Config) (*Result, error) {
	if c.Log == nil {
		c.Log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	st, err := localstack.StartOnFreePorts(ctx, localstack.Options{
		BinDir: c.BinDir, DataDir: c.DataDir,
		// Dedup ids live for their hour plus minutes, not 72 h
		// (docs/pipeline.md: ~0.5 GiB of Prism memory per million ids).
		PipelineArgs: []string{"--dedup-lateness=10m"},
		// The sealer runs but leaves the soak's hours alone: sealing an
		// hour of millions of events on Prism needs more memory than
		// this machine has (docs/reliability.md).
		SealGrace: 12 * time.Hour,
		Env:       []string{"RATE_LIMIT_EVENTS_PER_SECOND=1000000", "RATE_LIMIT_BURST=1000000"},
		Echo:      io.Discard,
		Log:       c.Log,
	})
	if err != nil {
		return nil, err
	}
	defer st.Stop()
	return run(ctx, st, c)
}

type runState struct {
	c      Config
	st     *localstack.Stack
	prefix string

	mu      sync.Mutex
	tally   *truth.Tally
	acked   []bool // by event number
	nAcked  atomic.Int64
	markers []time.Duration
	nMarker int          // markers acknowledged
	last    atomic.Int64 // latest marker delay, ns
}

func run(ctx context.Context, st *localstack.Stack, c Config) (*Result, error) {
	s := &runState{c: c, st: st, prefix: fmt.Sprintf("soak%d", time.Now().Unix()), tally: truth.NewTally(false)}
	start := time.Now()
	firstHour := start.UTC().Truncate(time.Hour)
	lctx, stopLoad := context.WithTimeout(ctx, c.Duration)
	defer stopLoad()

	sender := &loadgen.Sender{URL: st.IngestURL(), WriteKey: keys.DemoWriteKey, Concurrency: c.Concurrency,
		MaxBackoff: 2 * time.Second, GiveUp: 5 * time.Minute, OnAcked: s.onAcked}
	batches := make(chan []truth.Event, 64)
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); s.produce(lctx, batches) }()
	go func() { defer wg.Done(); s.mark(lctx, firstHour) }()
	var samples []Sample
	go func() { defer wg.Done(); samples = s.sample(lctx, start) }()
	// The sender finishes what was produced even after the load's time.
	stats, err := sender.Send(ctx, batches)
	if err != nil {
		return nil, err
	}
	wg.Wait()
	elapsed := time.Since(start)
	c.Log.Info("load finished", "acked", s.nAcked.Load(), "elapsed", elapsed.String())

	r := &Result{Config: c, Elapsed: elapsed, Samples: samples, Stats: stats}
	s.mu.Lock()
	r.Delays = append(r.Delays, s.markers...)
	r.Markers = s.nMarker
	want := s.tally.Hours()
	s.mu.Unlock()
	r.Expected, _ = truth.Totals(want)
	for _, a := range s.acked {
		if a {
			r.Acked++
		}
	}
	r.Acked += int64(r.Markers)

	// The loss and duplicate check: the query API must count every
	// acknowledged event once (provisional values are exact while nothing
	// crashes), and the archive must hold every one.
	to := time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
	drainStart := time.Now()
	for {
		qctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		r.Diff = truth.Served(qctx, st.QueryURL(), keys.DemoReadKey, firstHour, to, want, false)
		cancel()
		if r.Diff == "" || time.Since(drainStart) > c.DrainLimit || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Second)
	}
	r.Drain = time.Since(drainStart)
	qctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	points, err := truth.Fetch(qctx, st.QueryURL(), keys.DemoReadKey, firstHour, to)
	cancel()
	if err != nil {
		return r, fmt.Errorf("soak: read the query API: %w", err)
	}
	r.Counted, r.Lost, r.Duplicated = truth.Diff(points, want)
	if err := s.checkArchive(ctx, r, firstHour, to); err != nil {
		return r, err
	}
	return r, nil
}

func (s *runState) onAcked(b []truth.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tally.Add(b...)
	for _, e := range b {
		if i, ok := s.number(e.ID); ok {
			for len(s.acked) <= i {
				s.acked = append(s.acked, false)
			}
			s.acked[i] = true
		}
	}
	s.nAcked.Add(int64(len(b)))
}

// number returns the sequence number of a generated (non-marker) event id.
func (s *runState) number(id string) (int, bool) {
	rest, ok := strings.CutPrefix(id, s.prefix+"-")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	return i, err == nil
}

// produce offers Rate events per second in batches, in 10 steps a second,
// with real-time event times: a quarter purchases, one in ten crawlers.
func (s *runState) produce(ctx context.Context, out chan<- []truth.Event) {
	defer close(out)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	n, owed := 0, 0.0
	var batch []truth.Event
	for {
		select {
		case <-ctx.Done():
			if len(batch) > 0 {
				out <- batch
			}
			return
		case <-tick.C:
		}
		owed += s.c.Rate / 10
		now := time.Now().UTC().Truncate(time.Millisecond)
		for ; owed >= 1; owed-- {
			e := truth.Event{ID: fmt.Sprintf("%s-%d", s.prefix, n), At: now, Visitor: fmt.Sprintf("visitor-%d", rng.IntN(s.c.Visitors)),
				Name: "signup", Bot: rng.IntN(10) == 0}
			if rng.IntN(4) == 0 {
				e.Name, e.Cents = "purchase", int64(100+rng.IntN(9000))
			}
			n++
			batch = append(batch, e)
			if len(batch) == s.c.BatchSize {
				select {
				case out <- batch:
				case <-ctx.Done():
					return
				}
				batch = nil
			}
		}
	}
}

// markerName is the event name of markers; the delay is measured by
// polling the query API's series of that name alone.
const markerName = "soak_marker"

// mark sends a marker event every MarkerEvery and polls the query API until
// it is counted; the delay is from sending it to seeing it counted.
func (s *runState) mark(ctx context.Context, firstHour time.Time) {
	for k := 1; ctx.Err() == nil; k++ {
		next := time.Now().Add(s.c.MarkerEvery)
		e := truth.Event{ID: fmt.Sprintf("%s-m%d", s.prefix, k), At: time.Now().UTC().Truncate(time.Millisecond), Visitor: "marker", Name: markerName}
		sent := time.Now()
		for {
			code, _, err := truth.Post(ctx, s.st.IngestURL(), keys.DemoWriteKey, []truth.Event{e})
			if err == nil && code/100 == 2 {
				break
			}
			if ctx.Err() != nil {
				return // not acknowledged: not in the ground truth
			}
			time.Sleep(200 * time.Millisecond)
		}
		s.mu.Lock()
		s.tally.Add(e)
		s.nMarker++
		s.mu.Unlock()
		// Poll until k markers are counted (the end of the load or a limit
		// stops a wait on a stalled stack; the final check reports it).
		deadline := sent.Add(5 * time.Minute)
		for time.Now().Before(deadline) && ctx.Err() == nil {
			n, err := s.markersCounted(firstHour)
			if err == nil && n >= int64(k) {
				d := time.Since(sent)
				s.mu.Lock()
				s.markers = append(s.markers, d)
				s.mu.Unlock()
				s.last.Store(int64(d))
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
	}
}

// markersCounted asks the query API how many markers it counts since
// firstHour.
func (s *runState) markersCounted(firstHour time.Time) (int64, error) {
	q := url.Values{"metrics": {"events"}, "event": {markerName}, "interval": {"hour"},
		"from": {firstHour.Format(time.RFC3339)}, "to": {time.Now().UTC().Truncate(time.Hour).Add(time.Hour).Format(time.RFC3339)}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.st.QueryURL()+"/v1/timeseries?"+q.Encode(), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+keys.DemoReadKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out struct {
		Points []struct {
			Events float64 `json:"events"`
		} `json:"points"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		return 0, fmt.Errorf("query API: status %d: %v", resp.StatusCode, err)
	}
	var n int64
	for _, p := range out.Points {
		n += int64(p.Events)
	}
	return n, nil
}

// sample reads every process's CPU and RSS, the acknowledged and decoded
// event counts and the latest marker delay every SampleEvery.
func (s *runState) sample(ctx context.Context, start time.Time) []Sample {
	type prev struct {
		pid int
		cpu time.Duration
	}
	prevs := map[string]prev{}
	read := func(name string) (loadgen.ProcStat, int, error) {
		pid := os.Getpid()
		if name != "soak" {
			pid = s.st.PID(name)
		}
		ps, err := loadgen.ReadProc(pid)
		return ps, pid, err
	}
	for _, name := range Processes {
		if ps, pid, err := read(name); err == nil {
			prevs[name] = prev{pid, ps.CPU}
		}
	}
	lastAcked, lastDecoded, lastAt := s.nAcked.Load(), s.decoded(), time.Now()
	var out []Sample
	tick := time.NewTicker(s.c.SampleEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return out
		case <-tick.C:
		}
		now := time.Now()
		dt := now.Sub(lastAt).Seconds()
		acked, decoded := s.nAcked.Load(), s.decoded()
		smp := Sample{At: now.Sub(start), AckedRate: float64(acked-lastAcked) / dt, Delay: time.Duration(s.last.Load()),
			CPU: map[string]float64{}, RSS: map[string]int64{}}
		if decoded >= lastDecoded { // a restarted job starts its counter again
			smp.DecodedRate = float64(decoded-lastDecoded) / dt
		}
		for _, name := range Processes {
			ps, pid, err := read(name)
			if err != nil {
				continue
			}
			if p, ok := prevs[name]; ok && p.pid == pid {
				smp.CPU[name] = (ps.CPU - p.cpu).Seconds() / dt
			}
			smp.RSS[name] = ps.RSS
			prevs[name] = prev{pid, ps.CPU}
		}
		out = append(out, smp)
		s.c.Log.Info("soak", "at", smp.At.Round(time.Second).String(), "acked_per_s", int(smp.AckedRate),
			"decoded_per_s", int(smp.DecodedRate), "delay", smp.Delay.Round(100*time.Millisecond).String(),
			"pipeline_rss_mib", smp.RSS[localstack.Pipeline]>>20, "pubsub_rss_mib", smp.RSS[localstack.PubSub]>>20)
		lastAcked, lastDecoded, lastAt = acked, decoded, now
	}
}

// decoded reads the streaming job's decoded-events counter (0 when it does
// not answer).
func (s *runState) decoded() int64 {
	resp, err := http.Get("http://" + s.st.Options().PipelineMetricsAddr + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "footfall_events_decoded_total "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return int64(f)
		}
	}
	return 0
}

// checkArchive counts, per generated event, its copies in the raw archive.
func (s *runState) checkArchive(ctx context.Context, r *Result, from, to time.Time) error {
	copies := make([]uint8, len(s.acked))
	err := archive.Scan(ctx, s.st.ArchiveDir(), archive.Query{From: from, To: to}, func(e *event.Event) error {
		if i, ok := s.number(e.ID); ok && i < len(copies) && copies[i] < 255 {
			copies[i]++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("soak: scan the archive: %w", err)
	}
	for i, a := range s.acked {
		switch {
		case a && copies[i] == 0:
			r.ArchiveMissing++
		case copies[i] > 1:
			r.ArchiveCopies += int64(copies[i] - 1)
		}
	}
	return nil
}
