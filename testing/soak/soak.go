// Package soak runs the whole local stack (testing/localstack) under load
// for minutes or hours: it offers real-time events at the rates of a
// schedule of phases (a steady soak is one phase; an overload run is a
// phase at three times the rate, then one at the rate) with
// loadgen.Sender, which retries 429, 503 and cut-off requests with the same
// ids after Retry-After; it measures the end-to-end delay with marker
// events that it polls for in the query API; it samples every process's
// RSS and CPU, the Pub/Sub backlog and the requests ingest refused with 503
// (back-pressure); and it ends with the checks: the query API must count
// every acknowledged event exactly once — provisionally as soon as the
// pipeline has caught up, and, with Config.Sealed, once the stack's sealer
// has sealed every hour of the run — and the raw archive must hold every
// acknowledged event. It writes the samples as CSV and a plot.
// testing/cmd/soak and testing/cmd/overload are its commands (`make soak`,
// `make overload`; docs/reliability.md).
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
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	json "github.com/goccy/go-json"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/keys"
	"github.com/footfall/footfall/pipelines/io/archive"
	"github.com/footfall/footfall/pipelines/transforms"
	"github.com/footfall/footfall/testing/loadgen"
	"github.com/footfall/footfall/testing/localstack"
	"github.com/footfall/footfall/testing/truth"
)

// Phase is a stretch of the load at one rate.
type Phase struct {
	Rate     float64 // events per second offered
	Duration time.Duration
}

// Config describes a run.
type Config struct {
	BinDir  string // the stack's binaries (localstack.Build)
	DataDir string // logs and archive (a fresh directory)
	// Phases is the load, in order.
	Phases []Phase
	// BatchSize events per request; Concurrency requests in flight.
	BatchSize, Concurrency int
	// Visitors is the number of distinct visitors events come from.
	Visitors int
	// MarkerEvery is how often a marker event is sent to measure the
	// end-to-end delay; SampleEvery how often processes are sampled.
	MarkerEvery, SampleEvery time.Duration
	// GiveUp is how long the sender retries one batch before abandoning
	// it (default 10 minutes).
	GiveUp time.Duration
	// DrainLimit bounds the wait, after the load, for the provisional
	// values to count everything.
	DrainLimit time.Duration
	// Sealed makes the run wait, after the load, until the stack's sealer
	// has sealed every hour the load touched (the last one settles
	// transforms.SettledAfter after the end of its clock hour, and is
	// sealed SealGrace later) and compare the sealed values with the
	// ground truth; SealLimit bounds the wait after that.
	Sealed    bool
	SealLimit time.Duration
	// SealNow, with Sealed, seals the run's hours once the provisional
	// values are exact, with one sealer pass run then (the stack's sealer
	// paused until the check is done), instead of waiting an hour for the
	// last hour to settle: what it skips is the wait for late events, of
	// which a run whose load has ended has none.
	SealNow bool
	// SealGrace is the sealer's grace after an hour closes (default: the
	// stack's, 2 minutes); SealerArgs are extra flags for it.
	SealGrace  time.Duration
	SealerArgs []string
	// PipelineCPU, when positive, caps the streaming job at that many
	// cores (a cgroup; Linux, root): an overload run on a machine where
	// the load generator and ingest cannot outrun the uncapped job.
	PipelineCPU float64
	// Env is added to every process's environment, after the soak's own
	// (e.g. BACKPRESSURE_MAX_AGE to move ingest's back-pressure bounds).
	Env []string
	Log *slog.Logger
}

// Duration is the length of the load.
func (c Config) Duration() time.Duration {
	var d time.Duration
	for _, p := range c.Phases {
		d += p.Duration
	}
	return d
}

// rateAt is the rate offered at d after the start (0 after the load).
func (c Config) rateAt(d time.Duration) float64 {
	for _, p := range c.Phases {
		if d < p.Duration {
			return p.Rate
		}
		d -= p.Duration
	}
	return 0
}

// Processes sampled, in plot order ("soak" is this process: load
// generator and ground truth; the others are the stack).
var Processes = []string{localstack.PubSub, localstack.Bigtable, localstack.Pipeline, localstack.Sealer,
	localstack.Ingest, localstack.QueryAPI, "soak"}

// Sample is one sampling interval.
type Sample struct {
	At time.Duration // since the load started
	// Load is whether the load was running.
	Load bool
	// OfferedRate, AckedRate and RefusedRate are events per second over
	// the interval: offered by the schedule, acknowledged by ingest, and
	// answered 503 (back-pressure, or Pub/Sub unavailable; each attempt
	// counts). DecodedRate is what the streaming job decoded.
	OfferedRate, AckedRate, RefusedRate, DecodedRate float64
	// Backlog is the pipeline subscription's unacknowledged messages and
	// BacklogAge the age of the oldest (-1 and 0: not read).
	Backlog    int64
	BacklogAge time.Duration
	// Delay is the end-to-end delay of the latest marker seen (0: none yet).
	Delay time.Duration
	// CPU (cores over the interval) and RSS (bytes) per process.
	CPU map[string]float64
	RSS map[string]int64
}

// StackRSS is the summed RSS of the stack's processes (this one excluded).
func (s Sample) StackRSS() int64 {
	var n int64
	for p, v := range s.RSS {
		if p != "soak" {
			n += v
		}
	}
	return n
}

// Result is what a run measured.
type Result struct {
	Config  Config
	Elapsed time.Duration // of the load
	Samples []Sample
	// Delays of every marker seen counted, in send order; Markers is the
	// number of markers acknowledged.
	Delays  []time.Duration
	Markers int
	Stats   loadgen.SendStats
	// Hours the acknowledged events fall in (RFC 3339, UTC).
	Hours []string
	// Acked is the distinct events acknowledged (markers included);
	// Expected the non-crawler ones, which the query API counts.
	Acked, Expected int64
	// Provisional check: what the query API served once the pipeline had
	// caught up (Drain after the load; ProvisionalDiff when it never
	// matched within DrainLimit).
	ProvisionalCounted, ProvisionalLost, ProvisionalDuplicated int64
	Drain                                                      time.Duration
	ProvisionalDiff                                            string
	// Sealed check (Config.Sealed): what the query API served sealed,
	// SealWait after the load; SealedDiff when it never matched.
	SealedCounted, SealedLost, SealedDuplicated int64
	SealWait                                    time.Duration
	SealedNow                                   bool // by a pass run after the load (Config.SealNow)
	SealedDiff                                  string
	// ArchiveMissing counts acknowledged events absent from the raw
	// archive; ArchiveCopies the extra copies it holds (redeliveries,
	// which sealing deduplicates).
	ArchiveMissing, ArchiveCopies int64
	// BackpressureOn counts the times ingest logged that it switched
	// back-pressure on.
	BackpressureOn int
}

// Run starts a stack, runs the load and the checks, and stops the stack.
func Run(ctx context.Context, c Config) (*Result, error) {
	if c.Log == nil {
		c.Log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if c.GiveUp <= 0 {
		c.GiveUp = 10 * time.Minute
	}
	st, err := localstack.StartOnFreePorts(ctx, localstack.Options{
		BinDir: c.BinDir, DataDir: c.DataDir,
		// The streaming job as make run starts it: its state is bounded by
		// the horizon (docs/pipeline.md), nothing to tune.
		SealGrace:  c.SealGrace,
		SealerArgs: c.SealerArgs,
		Env:        append([]string{"RATE_LIMIT_EVENTS_PER_SECOND=1000000", "RATE_LIMIT_BURST=1000000"}, c.Env...),
		Echo:       io.Discard,
		Log:        c.Log,
	})
	if err != nil {
		return nil, err
	}
	defer st.Stop()
	if c.PipelineCPU > 0 {
		cc, err := newCPUCap(c.PipelineCPU)
		if err != nil {
			return nil, err
		}
		cctx, stopCap := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); cc.keep(cctx, st, localstack.Pipeline, c.Log) }()
		defer func() { stopCap(); <-done }()
		c.Log.Info("streaming job capped", "cores", c.PipelineCPU)
	}
	return run(ctx, st, c)
}

type runState struct {
	c      Config
	st     *localstack.Stack
	prefix string

	mu      sync.Mutex
	tally   *tally
	markers []time.Duration
	nMarker int // markers acknowledged

	offered atomic.Int64
	acked   atomic.Int64
	refused atomic.Int64
	last    atomic.Int64 // latest marker delay, ns
	loading atomic.Bool
}

func run(ctx context.Context, st *localstack.Stack, c Config) (*Result, error) {
	prefix := fmt.Sprintf("soak%d", time.Now().Unix())
	s := &runState{c: c, st: st, prefix: prefix, tally: newTally(prefix)}
	start := time.Now()
	firstHour := start.UTC().Truncate(time.Hour)
	lctx, stopLoad := context.WithTimeout(ctx, c.Duration())
	defer stopLoad()
	sctx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	s.loading.Store(true)

	sender := &loadgen.Sender{URL: st.IngestURL(), WriteKey: keys.DemoWriteKey, Concurrency: c.Concurrency,
		MaxBackoff: 2 * time.Second, GiveUp: c.GiveUp, OnAcked: s.onAcked, OnAttempt: s.onAttempt}
	batches := make(chan []truth.Event, 64)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.produce(lctx, start, batches) }()
	go func() { defer wg.Done(); s.mark(lctx, firstHour) }()
	samplesc := make(chan []Sample, 1)
	go func() { samplesc <- s.sample(sctx, start) }()
	// The sender finishes what was produced even after the load's time.
	stats, err := sender.Send(ctx, batches)
	wg.Wait()
	elapsed := time.Since(start)
	s.loading.Store(false)
	r := &Result{Config: c, Elapsed: elapsed, Stats: stats}
	finish := func() {
		stopSampling()
		r.Samples = <-samplesc
	}
	if err != nil {
		finish()
		return r, err
	}
	c.Log.Info("load finished", "acked", s.acked.Load(), "elapsed", elapsed.String())

	s.mu.Lock()
	r.Delays = append(r.Delays, s.markers...)
	r.Markers = s.nMarker
	want := s.tally.hours
	r.Acked = s.tally.acked + int64(r.Markers)
	s.mu.Unlock()
	r.Expected, _ = truth.Totals(want)
	last := firstHour
	for h := range want {
		r.Hours = append(r.Hours, h)
		if t, err := time.Parse(time.RFC3339, h); err == nil && t.After(last) {
			last = t
		}
	}
	to := last.Add(time.Hour)

	// Provisional values are exact while nothing crashes: once the
	// pipeline caught up they must count every acknowledged event once.
	drainStart := time.Now()
	r.ProvisionalDiff = truth.Within(ctx, c.DrainLimit, func() string { return s.served(ctx, firstHour, to, want, false) })
	r.Drain = time.Since(drainStart)
	// An interrupted wait still records what the query API serves, so
	// the files say where the run stood.
	if r.ProvisionalCounted, r.ProvisionalLost, r.ProvisionalDuplicated, err = s.diff(context.WithoutCancel(ctx), firstHour, to, want); err != nil {
		finish()
		return r, err
	}
	c.Log.Info("provisional check", "counted", r.ProvisionalCounted, "lost", r.ProvisionalLost, "duplicated", r.ProvisionalDuplicated,
		"drain", r.Drain.Round(time.Second).String(), "diff", r.ProvisionalDiff)

	// Sealed values: wait for the sealer to seal every hour of the run.
	if c.Sealed {
		grace := c.SealGrace
		if grace <= 0 {
			grace = 2 * time.Minute
		}
		limit := time.Until(to.Add(transforms.SettledAfter + grace + c.SealLimit))
		// A negative grace makes the sealer's pass take the run's hours
		// as settled.
		if early := time.Until(to.Add(transforms.SettledAfter)) + time.Minute; c.SealNow && early > time.Minute {
			// Paused until the check is done: its next pass would move
			// sealed_through back to the hours it takes as settled.
			if err := st.Pause(localstack.Sealer); err != nil {
				finish()
				return r, err
			}
			defer st.Resume(localstack.Sealer)
			c.Log.Info("sealing the run's hours now (-seal-now), the stack's sealer paused", "through", to.Format(time.RFC3339))
			passStart := time.Now()
			if err := st.RunSealerPass(ctx, "--grace=-"+early.Round(time.Minute).String()); err != nil {
				finish()
				return r, err
			}
			r.SealedNow = true
			c.Log.Info("sealer pass done", "seconds", time.Since(passStart).Seconds())
			limit = c.SealLimit
		}
		c.Log.Info("waiting for the sealer to seal every hour of the run", "last_hour_closes", to.Format(time.RFC3339),
			"settled_after", transforms.SettledAfter.String(),
			"grace", grace.String(), "limit", limit.Round(time.Second).String())
		sealStart := time.Now()
		r.SealedDiff = truth.Within(ctx, limit, func() string { return s.served(ctx, firstHour, to, want, true) })
		r.SealWait = time.Since(sealStart)
		if r.SealedCounted, r.SealedLost, r.SealedDuplicated, err = s.diff(context.WithoutCancel(ctx), firstHour, to, want); err != nil {
			finish()
			return r, err
		}
		c.Log.Info("sealed check", "counted", r.SealedCounted, "lost", r.SealedLost, "duplicated", r.SealedDuplicated,
			"wait", r.SealWait.Round(time.Second).String(), "diff", r.SealedDiff)
	}
	finish()
	if ctx.Err() != nil {
		return r, fmt.Errorf("soak: interrupted after the load; the files record the values served then: %w", ctx.Err())
	}
	logs, _ := os.ReadFile(filepath.Join(st.Options().DataDir, "logs", localstack.Ingest+".log"))
	r.BackpressureOn = strings.Count(string(logs), "back-pressure on:")
	if err := s.checkArchive(ctx, r, firstHour, to); err != nil {
		return r, err
	}
	return r, nil
}

// served compares the query API's hourly series with want ("" on a match).
func (s *runState) served(ctx context.Context, from, to time.Time, want map[string]*truth.Hour, sealed bool) string {
	qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return truth.Served(qctx, s.st.QueryURL(), keys.DemoReadKey, from, to, want, sealed)
}

// diff counts what the query API serves against want.
func (s *runState) diff(ctx context.Context, from, to time.Time, want map[string]*truth.Hour) (counted, lost, dup int64, err error) {
	qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	points, err := truth.Fetch(qctx, s.st.QueryURL(), keys.DemoReadKey, from, to)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("soak: read the query API: %w", err)
	}
	counted, lost, dup = truth.Diff(points, want)
	return counted, lost, dup, nil
}

func (s *runState) onAcked(b []truth.Event) {
	s.mu.Lock()
	s.tally.add(b)
	s.mu.Unlock()
	s.acked.Add(int64(len(b)))
}

func (s *runState) onAttempt(a loadgen.Attempt) {
	if a.Status == http.StatusServiceUnavailable {
		s.refused.Add(int64(a.Events))
	}
}

// produce offers the schedule's rate in batches, in 10 steps a second,
// with real-time event times: a quarter purchases, one in ten crawlers.
func (s *runState) produce(ctx context.Context, start time.Time, out chan<- []truth.Event) {
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
		owed += s.c.rateAt(time.Since(start)) / 10
		now := time.Now().UTC().Truncate(time.Millisecond)
		for ; owed >= 1; owed-- {
			e := truth.Event{ID: fmt.Sprintf("%s-%d", s.prefix, n), At: now, Visitor: fmt.Sprintf("visitor-%d", rng.IntN(s.c.Visitors)),
				Name: "signup", Bot: rng.IntN(10) == 0}
			if rng.IntN(4) == 0 {
				e.Name, e.Cents = "purchase", int64(100+rng.IntN(9000))
			}
			n++
			s.offered.Add(1)
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
		s.tally.add([]truth.Event{e})
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

// sample reads every process's CPU and RSS, the offered, acknowledged,
// refused and decoded event counts, the backlog and the latest marker
// delay every SampleEvery, until ctx is done (after the checks).
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
	lastOffered, lastAcked, lastRefused, lastDecoded, lastAt := s.offered.Load(), s.acked.Load(), s.refused.Load(), s.decoded(), time.Now()
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
		offered, acked, refused, decoded := s.offered.Load(), s.acked.Load(), s.refused.Load(), s.decoded()
		smp := Sample{At: now.Sub(start), Load: s.loading.Load(), OfferedRate: float64(offered-lastOffered) / dt,
			AckedRate: float64(acked-lastAcked) / dt, RefusedRate: float64(refused-lastRefused) / dt,
			Delay: time.Duration(s.last.Load()), Backlog: -1, CPU: map[string]float64{}, RSS: map[string]int64{}}
		if decoded >= lastDecoded { // a restarted job starts its counter again
			smp.DecodedRate = float64(decoded-lastDecoded) / dt
		}
		bctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if b, err := s.st.Backlog(bctx); err == nil {
			smp.Backlog, smp.BacklogAge = int64(b.Messages), time.Duration(b.OldestUnackedAgeSeconds*float64(time.Second))
		}
		cancel()
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
		s.c.Log.Info("soak", "at", smp.At.Round(time.Second).String(), "load", smp.Load, "offered_per_s", int(smp.OfferedRate),
			"acked_per_s", int(smp.AckedRate), "refused_per_s", int(smp.RefusedRate), "decoded_per_s", int(smp.DecodedRate),
			"backlog", smp.Backlog, "backlog_age", smp.BacklogAge.Round(time.Second).String(),
			"delay", smp.Delay.Round(100*time.Millisecond).String(), "stack_rss_mib", smp.StackRSS()>>20,
			"pipeline_rss_mib", smp.RSS[localstack.Pipeline]>>20, "pubsub_rss_mib", smp.RSS[localstack.PubSub]>>20,
			"sealer_rss_mib", smp.RSS[localstack.Sealer]>>20)
		lastOffered, lastAcked, lastRefused, lastDecoded, lastAt = offered, acked, refused, decoded, now
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
	s.mu.Lock()
	n := s.tally.n()
	s.mu.Unlock()
	copies := make([]uint8, n)
	err := archive.Scan(ctx, s.st.ArchiveDir(), archive.Query{From: from, To: to}, func(e *event.Event) error {
		if i, ok := s.tally.number(e.ID); ok && i < len(copies) && copies[i] < 255 {
			copies[i]++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("soak: scan the archive: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range copies {
		switch a := s.tally.isAcked(i); {
		case a && copies[i] == 0:
			r.ArchiveMissing++
		case copies[i] > 1:
			r.ArchiveCopies += int64(copies[i] - 1)
		}
	}
	return nil
}
