package fault

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/bigtable"
	"golang.org/x/time/rate"

	"github.com/footfall/footfall/internal/keys"
	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/pipelines/transforms"
	"github.com/footfall/footfall/testing/loadgen"
	"github.com/footfall/footfall/testing/localstack"
	"github.com/footfall/footfall/testing/truth"
)

var (
	binDir  string
	full    bool // FOOTFALL_FAULT_FULL: the long versions
	records Records
)

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(0)
	}
	full = os.Getenv("FOOTFALL_FAULT_FULL") != ""
	dir, err := os.MkdirTemp("", "footfall-fault-bin")
	if err != nil {
		panic(err)
	}
	binDir = dir
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	err = localstack.Build(ctx, "../..", dir)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if testing.Verbose() {
		fmt.Printf("\nfault scenarios (full=%v):\n\n", full)
		records.Markdown(os.Stdout)
	}
	os.Exit(code)
}

// size is one scenario's load and fault, short or full.
type size struct {
	events int
	rate   float64       // events per second
	outage time.Duration // how long an emulator is stopped
	at     []float64     // fractions of the load at which the fault strikes
}

func pick(short, long size) size {
	if full {
		return long
	}
	return short
}

const batchSize = 50

// Seal settings of every stack: closed hours seal within seconds.
const (
	sealEvery = 2 * time.Second
	sealGrace = time.Second
)

// startStack runs a stack on free loopback ports: provisional panes every
// 2 s, the sealer every 2 s, ingest answering 503 after 2 s without a
// Pub/Sub acknowledgement (env overrides by mod).
func startStack(t *testing.T, env ...string) *localstack.Stack {
	t.Helper()
	return localstack.StartForTest(t, localstack.Options{
		BinDir: binDir,
		// The hours under test end up to 3 hours ago (closedHours): the
		// streaming job keeps them, so that provisional values are exact.
		PipelineArgs: []string{"--early-firing=2s", "--horizon=4h"},
		SealEvery:    sealEvery, SealGrace: sealGrace,
		Env: append([]string{"PUBLISH_TIMEOUT=2s", "RATE_LIMIT_EVENTS_PER_SECOND=1000000", "RATE_LIMIT_BURST=1000000"}, env...),
	})
}

// closedHours returns two settled UTC hours [from, to) (SettledAfter and
// the seal grace have passed since they ended): their events seal within
// seconds of arriving.
func closedHours() (from, to time.Time) {
	to = time.Now().UTC().Add(-transforms.SettledAfter - sealGrace).Truncate(time.Hour)
	return to.Add(-2 * time.Hour), to
}

// load is a Sender running in the background over a fixed set of events.
type load struct {
	total    int
	acked    atomic.Int64
	mu       sync.Mutex
	ackedEvs []truth.Event
	attempts []loadgen.Attempt
	inFlight map[[2]int]time.Time // requests started, not answered: start by batch and try
	done     chan struct{}
	stats    loadgen.SendStats
	err      error
}

// startLoad sends evs in batches of batchSize at r events/s, 4 batches in
// flight. resend(i), when set, says whether batch i is sent a second time
// right after the first (a client retrying a batch it thinks failed).
func startLoad(t *testing.T, st *localstack.Stack, evs []truth.Event, r float64, resend func(i int) bool) *load {
	t.Helper()
	l := &load{total: len(evs), done: make(chan struct{}), inFlight: map[[2]int]time.Time{}}
	s := &loadgen.Sender{URL: st.IngestURL(), WriteKey: keys.DemoWriteKey, Concurrency: 4, MaxBackoff: 2 * time.Second,
		GiveUp: 4 * time.Minute,
		OnAcked: func(b []truth.Event) {
			l.mu.Lock()
			l.ackedEvs = append(l.ackedEvs, b...)
			l.mu.Unlock()
			l.acked.Add(int64(len(b)))
		},
		OnStart: func(a loadgen.Attempt) {
			l.mu.Lock()
			l.inFlight[[2]int{a.Batch, a.Try}] = a.Start
			l.mu.Unlock()
		},
		OnAttempt: func(a loadgen.Attempt) {
			l.mu.Lock()
			l.attempts = append(l.attempts, a)
			delete(l.inFlight, [2]int{a.Batch, a.Try})
			l.mu.Unlock()
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	ch := make(chan []truth.Event)
	go func() {
		defer close(ch)
		lim := rate.NewLimiter(rate.Limit(r), batchSize)
		for i, off := 0, 0; off < len(evs); i, off = i+1, off+batchSize {
			b := evs[off:min(off+batchSize, len(evs))]
			if lim.WaitN(ctx, len(b)) != nil {
				return
			}
			for n := range 2 {
				if n == 1 && (resend == nil || !resend(i)) {
					break
				}
				select {
				case ch <- b:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	go func() {
		l.stats, l.err = s.Send(ctx, ch)
		close(l.done)
	}()
	t.Cleanup(func() { cancel(); <-l.done })
	return l
}

// waitAcked waits until a fraction of the events is acknowledged.
func (l *load) waitAcked(t *testing.T, frac float64) {
	t.Helper()
	want := int64(frac * float64(l.total))
	truth.Eventually(t, 3*time.Minute, fmt.Sprintf("%.0f%% of the load acknowledged", 100*frac), func() string {
		if n := l.acked.Load(); n < want {
			return fmt.Sprintf("%d of %d acknowledged", n, want)
		}
		return ""
	})
}

// waitInFlight waits until a request that started after since is still
// unanswered, started at least age ago (so that it reached ingest).
func (l *load) waitInFlight(t *testing.T, since time.Time, age time.Duration) {
	t.Helper()
	truth.Eventually(t, time.Minute, "a request in flight", func() string {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, start := range l.inFlight {
			if start.After(since) && time.Since(start) >= age {
				return ""
			}
		}
		return fmt.Sprintf("%d requests in flight, none started after %s and at least %s ago", len(l.inFlight), since.Format(time.StampMilli), age)
	})
}

// finish waits for the load to end; every batch must have been settled.
func (l *load) finish(t *testing.T) {
	t.Helper()
	select {
	case <-l.done:
	case <-time.After(8 * time.Minute):
		t.Fatal("the load did not finish within 8 minutes")
	}
	if l.err != nil {
		t.Fatalf("load: %v", l.err)
	}
	if l.stats.Abandoned > 0 || l.stats.Inconsistent > 0 {
		t.Errorf("load: %d events abandoned, %d inconsistent 400 answers; want none", l.stats.Abandoned, l.stats.Inconsistent)
	}
	if l.stats.RetryAfterMissing > 0 {
		t.Errorf("%d answers 429/503 without Retry-After", l.stats.RetryAfterMissing)
	}
}

func (l *load) snapshot() ([]truth.Event, []loadgen.Attempt) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]truth.Event(nil), l.ackedEvs...), append([]loadgen.Attempt(nil), l.attempts...)
}

// checkSealed waits until the query API serves [from, to) sealed and equal
// to the ground truth of the acknowledged events, checks it stays so after
// two more sealer passes (a late redelivery would be re-sealed by them),
// and records the figures.
func checkSealed(t *testing.T, st *localstack.Stack, l *load, name string, from, to time.Time, note string) {
	t.Helper()
	acked, _ := l.snapshot()
	want := truth.Truth(acked, false)
	expected, _ := truth.Totals(want)
	served := func() string {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		return truth.Served(ctx, st.QueryURL(), keys.DemoReadKey, from, to, want, true)
	}
	limit := 3 * time.Minute
	if full {
		limit = 8 * time.Minute
	}
	diff := truth.Within(t.Context(), limit, served)
	if diff == "" {
		waitSealerPasses(t, st, 2)
		diff = served()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	points, err := truth.Fetch(ctx, st.QueryURL(), keys.DemoReadKey, from, to)
	if err != nil {
		t.Fatal(err)
	}
	counted, lost, dups := truth.Diff(points, want)
	distinct := map[string]bool{}
	for _, e := range acked {
		distinct[e.ID] = true
	}
	rec := Record{Scenario: name, Sent: int64(l.total), Requests: l.stats.Requests, Acked: int64(len(distinct)),
		Rejected: l.stats.Rejected, Expected: expected, Counted: counted, Lost: lost, Duplicated: dups,
		Provisional: provisional(t, st, from, to), Note: note}
	records.Add(rec)
	t.Logf("%s: sent %d in %d requests, acknowledged %d, rejected %d; expected %d, counted %d (sealed), lost %d, duplicated %d; provisional %d; %s",
		name, rec.Sent, rec.Requests, rec.Acked, rec.Rejected, rec.Expected, rec.Counted, rec.Lost, rec.Duplicated, rec.Provisional, note)
	if diff != "" || lost != 0 || dups != 0 {
		t.Errorf("sealed values differ from the ground truth of the acknowledged events: %s (lost %d, duplicated %d)", diff, lost, dups)
	}
	if int64(len(distinct))+l.stats.Rejected != int64(l.total) {
		t.Errorf("%d events acknowledged and %d rejected of %d sent; every event must be settled", len(distinct), l.stats.Rejected, l.total)
	}
}

// bigtableClient returns a client of the stack's Bigtable emulator, a
// context for one read (15 s) and a function that releases both.
func bigtableClient(t *testing.T, st *localstack.Stack) (context.Context, *bigtable.Client, func()) {
	t.Helper()
	r := st.Resources()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	c, err := bigtable.NewClient(ctx, r.BigtableProject, r.BigtableInstance)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	return ctx, c, func() { c.Close(); cancel() }
}

// sealerPass returns the write time of sealed_through (the meta table's
// watermarks row), which the sealer writes at the end of every pass.
func sealerPass(t *testing.T, st *localstack.Stack) time.Time {
	t.Helper()
	ctx, c, done := bigtableClient(t, st)
	defer done()
	row, err := c.Open(layout.TableMeta).ReadRow(ctx, layout.MetaWatermarks, bigtable.RowFilter(bigtable.ColumnFilter(layout.ColSealedThrough)))
	if err != nil {
		t.Fatal(err)
	}
	var newest bigtable.Timestamp
	for _, it := range row[layout.FamilyMeta] {
		newest = max(newest, it.Timestamp)
	}
	return newest.Time()
}

// waitSealerPasses waits until the sealer has finished n more passes (n
// new writes of sealed_through), i.e. at least n-1 passes that started
// after the call.
func waitSealerPasses(t *testing.T, st *localstack.Stack, n int) {
	t.Helper()
	last, seen := sealerPass(t, st), 0
	truth.Eventually(t, 2*time.Minute, fmt.Sprintf("%d more sealer passes", n), func() string {
		if p := sealerPass(t, st); p.After(last) {
			last, seen = p, seen+1
		}
		if seen < n {
			return fmt.Sprintf("%d of %d passes seen (the last wrote sealed_through at %s)", seen, n, last.Format(time.StampMilli))
		}
		return ""
	})
}

// provisional sums the streaming job's provisional events of [from, to),
// read from Bigtable (the query API serves the sealed values instead).
func provisional(t *testing.T, st *localstack.Stack, from, to time.Time) int64 {
	t.Helper()
	ctx, c, done := bigtableClient(t, st)
	defer done()
	tbl := c.Open(layout.TableMetrics)
	var n int64
	for h := from; h.Before(to); h = h.Add(time.Hour) {
		row, err := tbl.ReadRow(ctx, layout.TotalsKey(keys.DemoMerchant, h))
		if err != nil {
			t.Fatal(err)
		}
		tot, err := layout.DecodeTotals(row, layout.FamilyProvisional)
		if err != nil {
			t.Fatal(err)
		}
		if tot != nil {
			n += tot.Events
		}
	}
	return n
}

// waitProvisional waits until the streaming job's provisional values of
// [from, to) count want events: with no crash of the job they are exact,
// so this says it caught up after the fault.
func waitProvisional(t *testing.T, st *localstack.Stack, from, to time.Time, want int64) {
	t.Helper()
	// make test runs this package after the others, but the machine may
	// still be busy: the streaming job may need minutes to catch up.
	limit := 4 * time.Minute
	if full {
		limit = 5 * time.Minute
	}
	truth.Eventually(t, limit, "the streaming job's provisional values catching up", func() string {
		if got := provisional(t, st, from, to); got != want {
			return fmt.Sprintf("%d provisional events, want %d", got, want)
		}
		return ""
	})
}

// pipelineDecoded reads the streaming job's decoded-events counter (0 when
// it does not answer: it is restarting).
func pipelineDecoded(st *localstack.Stack) int64 {
	resp, err := http.Get("http://" + st.Options().PipelineMetricsAddr + "/metrics")
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

// The streaming job is killed (SIGKILL) in the middle of the hours' events
// while ingest is under load, and restarted by the stack: once the hours
// are sealed nothing acknowledged is lost and nothing is counted twice.
func TestPipelineKilledUnderLoad(t *testing.T) {
	sz := pick(size{events: 3000, rate: 300, at: []float64{0.3, 0.65}},
		size{events: 30000, rate: 500, at: []float64{0.2, 0.4, 0.6, 0.8}})
	st := startStack(t)
	from, to := closedHours()
	evs := truth.Gen("kill", 21, sz.events, from, to)
	l := startLoad(t, st, evs, sz.rate, nil)
	for _, at := range sz.at {
		l.waitAcked(t, at)
		restarts := st.Restarts(localstack.Pipeline)
		// Kill it while it is working: it has decoded events since it started.
		truth.Eventually(t, 2*time.Minute, "the streaming job decoding events", func() string {
			if pipelineDecoded(st) == 0 {
				return "nothing decoded yet"
			}
			return ""
		})
		if err := st.Kill(localstack.Pipeline); err != nil {
			t.Fatal(err)
		}
		truth.Eventually(t, 2*time.Minute, "the streaming job restarted", func() string {
			if st.Restarts(localstack.Pipeline) == restarts {
				return "not restarted"
			}
			return ""
		})
	}
	l.finish(t)
	checkSealed(t, st, l, "pipeline killed (-9) under load", from, to, fmt.Sprintf("%d kills of the streaming job", len(sz.at)))
}

// The Pub/Sub emulator stops (SIGSTOP) while ingest is under load: ingest
// answers 503 with Retry-After and never 2xx for a request it could not
// publish; the load generator retries with the same ids; after the emulator
// returns every event is counted once.
func TestPubSubOutage(t *testing.T) {
	sz := pick(size{events: 3000, rate: 300, outage: 8 * time.Second, at: []float64{0.25}},
		size{events: 20000, rate: 500, outage: 60 * time.Second, at: []float64{0.2}})
	st := startStack(t)
	from, to := closedHours()
	evs := truth.Gen("pubsub", 22, sz.events, from, to)
	l := startLoad(t, st, evs, sz.rate, nil)
	l.waitAcked(t, sz.at[0])
	paused := time.Now()
	if err := st.Pause(localstack.PubSub); err != nil {
		t.Fatal(err)
	}
	time.Sleep(sz.outage)
	resumed := time.Now()
	if err := st.Resume(localstack.PubSub); err != nil {
		t.Fatal(err)
	}
	l.finish(t)

	_, attempts := l.snapshot()
	var during, unavailable, okDuring int
	for _, a := range attempts {
		// Requests that started and ended while the emulator was stopped
		// cannot have been published: none may be acknowledged.
		if a.Start.After(paused.Add(100*time.Millisecond)) && a.End.Before(resumed) {
			during++
			if a.Status/100 == 2 {
				okDuring++
			}
		}
		if a.Status == http.StatusServiceUnavailable {
			unavailable++
		}
	}
	if okDuring > 0 {
		t.Errorf("%d of %d requests made while Pub/Sub was stopped were answered 2xx", okDuring, during)
	}
	if unavailable == 0 || during == 0 {
		t.Errorf("%d requests during the outage, %d answered 503: the outage was not seen", during, unavailable)
	}
	checkSealed(t, st, l, "Pub/Sub emulator stopped", from, to,
		fmt.Sprintf("stopped %s; %d requests during it, %d answered 503 (Retry-After on all), none 2xx", sz.outage, during, unavailable))
	waitProvisional(t, st, from, to, records.last().Expected)
}

// The Bigtable emulator stops (SIGSTOP) for a while under load: the
// streaming job and the sealer stall and retry, Pub/Sub keeps the backlog,
// ingest keeps acknowledging; once Bigtable returns they catch up and
// nothing is lost.
func TestBigtableOutage(t *testing.T) {
	sz := pick(size{events: 3000, rate: 300, outage: 10 * time.Second, at: []float64{0.25}},
		size{events: 20000, rate: 500, outage: 90 * time.Second, at: []float64{0.2}})
	st := startStack(t)
	from, to := closedHours()
	evs := truth.Gen("bigtable", 23, sz.events, from, to)
	l := startLoad(t, st, evs, sz.rate, nil)
	l.waitAcked(t, sz.at[0])
	if err := st.Pause(localstack.Bigtable); err != nil {
		t.Fatal(err)
	}
	decoded := pipelineDecoded(st)
	time.Sleep(sz.outage)
	stalled := pipelineDecoded(st) - decoded
	if err := st.Resume(localstack.Bigtable); err != nil {
		t.Fatal(err)
	}
	l.finish(t)
	var failed int64
	for code, n := range l.stats.ByStatus {
		if code/100 != 2 {
			failed += n
		}
	}
	if failed > 0 {
		t.Errorf("ingest answered %d requests with errors while only Bigtable was down: %v", failed, l.stats.ByStatus)
	}
	checkSealed(t, st, l, "Bigtable emulator stopped", from, to,
		fmt.Sprintf("stopped %s; the job decoded %d events meanwhile; ingest answered 2xx throughout", sz.outage, stalled))
	waitProvisional(t, st, from, to, records.last().Expected)
}

// A client retries batches with the same message ids (some while the first
// copy is still in flight), a few messages are invalid (400, never
// retried), and ingest is killed (SIGKILL) with requests in flight, which
// the client retries: each acknowledged event is counted once and the
// rejected ones never.
func TestClientRetriesAndIngestKilled(t *testing.T) {
	sz := pick(size{events: 3000, rate: 300, at: []float64{0.5}},
		size{events: 20000, rate: 500, at: []float64{0.3, 0.6}})
	st := startStack(t)
	from, to := closedHours()
	evs := truth.Gen("retry", 24, sz.events, from, to)
	const invalid = 3
	for i := range invalid {
		evs[(i+1)*len(evs)/(invalid+2)].Name = "" // a track message without its event: 400
	}
	l := startLoad(t, st, evs, sz.rate, func(i int) bool { return i%4 == 1 })
	for _, at := range sz.at {
		l.waitAcked(t, at)
		restarts := st.Restarts(localstack.Ingest)
		// Hold publishes so that requests are in flight, kill ingest under
		// them, and let the emulator go on: some of the cut-off requests'
		// events may be stored without an answer.
		paused := time.Now()
		if err := st.Pause(localstack.PubSub); err != nil {
			t.Fatal(err)
		}
		l.waitInFlight(t, paused, 0)
		exited := st.Exited(localstack.Ingest)
		if err := st.Kill(localstack.Ingest); err != nil {
			t.Fatal(err)
		}
		select {
		case <-exited:
		case <-time.After(time.Minute):
			t.Fatal("ingest did not exit within a minute of SIGKILL")
		}
		if err := st.Resume(localstack.PubSub); err != nil {
			t.Fatal(err)
		}
		truth.Eventually(t, time.Minute, "ingest restarted", func() string {
			if st.Restarts(localstack.Ingest) == restarts {
				return "not restarted"
			}
			return ""
		})
	}
	l.finish(t)
	if l.stats.ByStatus[0] == 0 {
		t.Errorf("no request was cut off by the kill (statuses %v)", l.stats.ByStatus)
	}
	if l.stats.Rejected != invalid {
		t.Errorf("%d events rejected, want the %d invalid ones", l.stats.Rejected, invalid)
	}
	checkSealed(t, st, l, "client retries; ingest killed (-9) mid-request", from, to,
		fmt.Sprintf("every 4th batch sent twice; %d invalid events; %d kills of ingest cut off %d requests", invalid, len(sz.at), l.stats.ByStatus[0]))
}

// Ingest gets SIGTERM with requests in flight (their publishes held back
// by a short Pub/Sub stop): it drains, every request in flight gets its
// 2xx, it exits cleanly and the stack restarts it; nothing acknowledged is
// lost.
func TestIngestGracefulRestart(t *testing.T) {
	sz := pick(size{events: 3000, rate: 300, at: []float64{0.4}},
		size{events: 20000, rate: 500, at: []float64{0.25, 0.5, 0.75}})
	// Publishes may wait longer than the Pub/Sub stop below.
	st := startStack(t, "PUBLISH_TIMEOUT=10s")
	from, to := closedHours()
	evs := truth.Gen("drain", 25, sz.events, from, to)
	l := startLoad(t, st, evs, sz.rate, nil)
	var signals []time.Time
	for _, at := range sz.at {
		l.waitAcked(t, at)
		restarts := st.Restarts(localstack.Ingest)
		paused := time.Now()
		if err := st.Pause(localstack.PubSub); err != nil {
			t.Fatal(err)
		}
		// A request held by the stopped emulator, long enough to be
		// inside ingest (the check below counts those).
		l.waitInFlight(t, paused, inFlightAge)
		draining := ingestLogCount(st, "ingest draining")
		signals = append(signals, time.Now())
		if err := st.Terminate(localstack.Ingest); err != nil {
			t.Fatal(err)
		}
		truth.Eventually(t, time.Minute, "ingest draining after SIGTERM", func() string {
			if ingestLogCount(st, "ingest draining") == draining {
				return "not draining yet"
			}
			return ""
		})
		if err := st.Resume(localstack.PubSub); err != nil {
			t.Fatal(err)
		}
		truth.Eventually(t, time.Minute, "ingest restarted", func() string {
			if st.Restarts(localstack.Ingest) == restarts {
				return "not restarted"
			}
			return ""
		})
	}
	l.finish(t)

	_, attempts := l.snapshot()
	var inFlight, drained int
	for _, a := range attempts {
		for _, sig := range signals {
			if a.Start.Before(sig.Add(-inFlightAge)) && a.End.After(sig) {
				inFlight++
				if a.Status/100 == 2 {
					drained++
				} else {
					t.Errorf("request in flight at SIGTERM (%s) ended with status %d %q", sig.Format(time.StampMilli), a.Status, a.Err)
				}
			}
		}
	}
	if inFlight == 0 {
		t.Error("no request was in flight at SIGTERM: the test did not test the drain")
	}
	if n := ingestLogCount(st, "ingest stopped cleanly"); n != len(signals) {
		t.Errorf("ingest logged a clean stop %d times, want %d", n, len(signals))
	}
	checkSealed(t, st, l, "ingest restarted (SIGTERM) with requests in flight", from, to,
		fmt.Sprintf("%d SIGTERMs; %d requests in flight at the signal, %d of them answered 2xx", len(signals), inFlight, drained))
}

// inFlightAge is how long before SIGTERM a request must have started to
// count as in flight at it: long enough to have reached ingest.
const inFlightAge = 200 * time.Millisecond

// ingestLogCount counts the lines of ingest's log (all incarnations) that
// contain msg.
func ingestLogCount(st *localstack.Stack, msg string) int {
	logs, _ := os.ReadFile(filepath.Join(st.Options().DataDir, "logs", "ingest.log"))
	return strings.Count(string(logs), msg)
}
