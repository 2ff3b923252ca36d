package pubsubpull

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/footfall/footfall/internal/testenv"
	"github.com/footfall/footfall/pipelines/internal/lag"
)

var seen = struct {
	sync.Mutex
	n     map[string]int
	times map[string]time.Time
}{n: map[string]int{}, times: map[string]time.Time{}}

func init() {
	register.Function2x0(recordFn)
}

func TestMain(m *testing.M) { ptest.MainWithDefault(m, "prism") }

func recordFn(t beam.EventTime, b []byte) {
	seen.Lock()
	defer seen.Unlock()
	seen.n[string(b)]++
	seen.times[string(b)] = t.ToTime()
}

// publishSeconds creates topic and subscription sub in project p of the emulator
// and publishes n messages "<prefix><i>", message i with event time base
// + i seconds.
func publishSeconds(t *testing.T, sub, prefix string, n int, base time.Time) {
	t.Helper()
	ctx := context.Background()
	c, err := pubsub.NewClient(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	topic := "projects/p/topics/" + sub
	if _, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name: "projects/p/subscriptions/" + sub, Topic: topic, AckDeadlineSeconds: 60}); err != nil {
		t.Fatal(err)
	}
	pub := c.Publisher(topic)
	var results []*pubsub.PublishResult
	for i := 0; i < n; i++ {
		results = append(results, pub.Publish(ctx, &pubsub.Message{
			Data:       []byte(fmt.Sprintf("%s%d", prefix, i)),
			Attributes: map[string]string{"event_time": base.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano)},
		}))
	}
	for _, r := range results {
		if _, err := r.Get(ctx); err != nil {
			t.Fatal(err)
		}
	}
	pub.Stop()
}

// run runs p on Prism until the returned stop is called.
func run(p *beam.Pipeline) (stop func()) {
	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		prism.Execute(runCtx, p) // ends with an error when cancelled: Prism has no drain
	}()
	return func() { cancel(); <-done }
}

// Every published message reaches the pipeline exactly once, with its event
// time taken from the attribute, and is acknowledged afterwards.
func TestReadDeliversAndAcks(t *testing.T) {
	srv := testenv.PubSub(t)
	const n = 3000
	base := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	publishSeconds(t, "s", "m", n, base)

	p, s := beam.NewPipelineWithRoot()
	msgs := Read(s, Options{Project: "p", Subscription: "s", Shards: 2, MaxBatch: 500, TimeAttribute: "event_time"})
	beam.ParDo0(s, recordFn, msgs)
	stop := run(p)
	defer stop() // also when the wait below fails
	waitFor(t, 90*time.Second, "every message delivered and acknowledged", func() (bool, string) {
		got, acked := counts(srv, "m")
		return got == n && acked == n, fmt.Sprintf("%d of %d messages delivered, %d acknowledged", got, n, acked)
	})
	stop()

	seen.Lock()
	defer seen.Unlock()
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("m%d", i)
		if seen.n[k] != 1 {
			t.Errorf("message %s delivered %d times, want once", k, seen.n[k])
		}
		if want := base.Add(time.Duration(i) * time.Second); !seen.times[k].Equal(want) {
			t.Errorf("message %s has event time %v, want %v", k, seen.times[k], want)
		}
	}
}

// counts returns how many distinct messages with prefix the pipeline has
// seen, and how many of them the emulator holds as acknowledged.
func counts(srv *pstest.Server, prefix string) (got, acked int) {
	seen.Lock()
	for k := range seen.n {
		if strings.HasPrefix(k, prefix) {
			got++
		}
	}
	seen.Unlock()
	for _, m := range srv.Messages() {
		if m.Acks > 0 && strings.HasPrefix(string(m.Data), prefix) {
			acked++
		}
	}
	return got, acked
}

// While the job's fold trails its reader by more than MaxLag the reader
// pulls nothing, so the backlog stays in Pub/Sub (unacknowledged, where
// ingest's back-pressure sees it); once the fold catches up every message
// is delivered once.
func TestReadPausesWhileBehind(t *testing.T) {
	// A fold that is busy but 10 minutes behind.
	now := time.Now()
	lag.Process.Pulled(now.UnixMicro())
	lag.Process.Folded(now.Add(-10 * time.Minute).UnixMicro())
	if by := lag.Process.Behind(); by < 9*time.Minute {
		t.Fatalf("setup: Behind = %s, want 10m", by)
	}
	pauseThenRelease(t, "behind", "b", Options{MaxLag: time.Minute},
		func() { lag.Process.Folded(now.Add(-10 * time.Minute).UnixMicro()) },
		func() { lag.Process.Folded(now.UnixMicro()) })
}

// While more than MaxInFlight elements wait in front of the job's
// stateful steps the reader pulls nothing, whatever the lag; once they
// are taken every message is delivered once.
func TestReadPausesWhileCrowded(t *testing.T) {
	lag.Process.Keyed(1_000_000)
	pauseThenRelease(t, "crowded", "c", Options{MaxInFlight: 100_000},
		func() { lag.Process.Taken(1) },
		func() {
			keyed, taken := lag.Process.Counts()
			lag.Process.Taken(keyed - taken)
		})
	if n := lag.Process.InFlight(); n != 0 {
		t.Fatalf("InFlight = %d after the test, want 0", n)
	}
}

// pauseThenRelease publishes 2,000 messages to sub, reads them with opts
// while busy runs every second (a job that keeps working but stays
// behind), checks that the reader skips pulls and that nothing is
// delivered or acknowledged, then calls release and checks that every
// message arrives once.
func pauseThenRelease(t *testing.T, sub, prefix string, opts Options, busy, release func()) {
	t.Helper()
	srv := testenv.PubSub(t)
	const n = 2000
	publishSeconds(t, sub, prefix, n, time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC))

	busy()
	tick, done := time.NewTicker(time.Second), make(chan struct{})
	defer tick.Stop()
	go func() {
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				busy()
			}
		}
	}()

	opts.Project, opts.Subscription, opts.Shards, opts.MaxBatch, opts.TimeAttribute = "p", sub, 2, 500, "event_time"
	p, s := beam.NewPipelineWithRoot()
	beam.ParDo0(s, recordFn, Read(s, opts))
	pausedBefore := pausedPulls.Value()
	stop := run(p)
	defer stop()
	waitFor(t, 60*time.Second, "the reader pausing", func() (bool, string) {
		n := pausedPulls.Value() - pausedBefore
		return n >= 10, fmt.Sprintf("%d pulls skipped", n)
	})
	if got, acked := counts(srv, prefix); got != 0 || acked != 0 {
		t.Fatalf("while paused (%+v): %d messages delivered and %d acknowledged, want none", opts, got, acked)
	}

	close(done)
	release()
	waitFor(t, 90*time.Second, "every message delivered and acknowledged after the job caught up", func() (bool, string) {
		got, acked := counts(srv, prefix)
		return got == n && acked == n, fmt.Sprintf("%d of %d messages delivered, %d acknowledged", got, n, acked)
	})
	stop()
	seen.Lock()
	defer seen.Unlock()
	for i := 0; i < n; i++ {
		if k := fmt.Sprintf("%s%d", prefix, i); seen.n[k] != 1 {
			t.Errorf("message %s delivered %d times, want once", k, seen.n[k])
		}
	}
}

// The tracker refuses dynamic splits but honours checkpoints.
func TestEndlessTrackerRefusesSplits(t *testing.T) {
	fn := &readFn{}
	rt := fn.CreateTracker(fn.CreateInitialRestriction(nil))
	primary, residual, err := rt.TrySplit(0.5)
	if err != nil || residual != nil || primary == nil {
		t.Errorf("TrySplit(0.5) = %v, %v, %v; want the whole restriction kept", primary, residual, err)
	}
	if rt.IsBounded() {
		t.Error("tracker says bounded")
	}
	if !rt.TryClaim(int64(0)) {
		t.Fatal("TryClaim(0) failed")
	}
	_, residual, err = rt.TrySplit(0)
	if err != nil || residual == nil {
		t.Errorf("checkpoint TrySplit(0) = %v, %v; want a residual", residual, err)
	}
}

// Under a sustained overload the reader pauses and resumes every few
// seconds; the log gets at most one pause a minute, a resume only after a
// logged pause, and a pause that outlasts the minute is logged late, so
// the last line always tells the state.
func TestPauseLogIsThrottled(t *testing.T) {
	var buf bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, nil)))
	defer slog.SetDefault(old)
	pauseLog.Lock()
	pauseLog.last, pauseLog.logged, pauseLog.pauses = time.Time{}, false, 0
	pauseLog.Unlock()
	fn := &readFn{MaxInFlight: 100}
	ctx := context.Background()
	lines := func() []string {
		var msgs []string
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			if l != "" {
				msgs = append(msgs, l)
			}
		}
		buf.Reset()
		return msgs
	}

	fn.report(ctx, true, true, 0)  // pause: logged
	fn.report(ctx, true, false, 0) // still paused: nothing
	fn.report(ctx, false, true, 0) // resume: logged
	if got := lines(); len(got) != 2 || !strings.Contains(got[0], "pulling paused") || !strings.Contains(got[1], "pulling again") {
		t.Fatalf("first pause and resume: got %q", got)
	}
	for range 5 { // five more within the minute: nothing
		fn.report(ctx, true, true, 0)
		fn.report(ctx, false, true, 0)
	}
	fn.report(ctx, true, true, 0) // a sixth pause that lasts
	if got := lines(); len(got) != 0 {
		t.Fatalf("pauses within a minute of the last logged one: got %q, want nothing", got)
	}
	pauseLog.Lock()
	pauseLog.last = pauseLog.last.Add(-time.Minute)
	pauseLog.Unlock()
	fn.report(ctx, true, false, 0) // the lasting pause, a minute on: logged with the count
	fn.report(ctx, false, true, 0)
	got := lines()
	if len(got) != 2 || !strings.Contains(got[0], `"pauses":6`) || !strings.Contains(got[1], "pulling again") {
		t.Fatalf("a pause lasting into the next minute: got %q, want it logged with 6 pauses, then the resume", got)
	}
}
