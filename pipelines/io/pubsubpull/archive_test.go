package pubsubpull

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/testenv"
	"github.com/footfall/footfall/pipelines/io/archive"
	"github.com/footfall/footfall/testing/truth"
)

func init() {
	register.DoFn2x0[context.Context, []byte](&checkArchivedFn{})
}

// emitted records, for the archive tests, what reached the pipeline and
// whether each event was already in the archive when it did.
var emitted = struct {
	sync.Mutex
	n          map[string]int // message body → deliveries
	notYet     []string       // event ids emitted before they were archived
	readFiles  map[string]bool
	archivedID map[string]bool
}{}

func resetEmitted() {
	emitted.Lock()
	defer emitted.Unlock()
	emitted.n = map[string]int{}
	emitted.notYet = nil
	emitted.readFiles = map[string]bool{}
	emitted.archivedID = map[string]bool{}
}

// checkArchivedFn records each message and checks that its event is in the
// archive at the moment the pipeline sees it, reading archive files it has
// not read yet when an id is missing.
type checkArchivedFn struct {
	Dir string
}

func (fn *checkArchivedFn) ProcessElement(ctx context.Context, b []byte) {
	emitted.Lock()
	defer emitted.Unlock()
	emitted.n[string(b)]++
	e, err := event.Decode(b)
	if err != nil {
		return // a dead letter: checked after the run
	}
	if !emitted.archivedID[e.ID] {
		files, err := archive.Files(fn.Dir, time.Unix(0, 0), time.Now().Add(24*365*time.Hour))
		if err != nil {
			emitted.notYet = append(emitted.notYet, e.ID+" ("+err.Error()+")")
			return
		}
		for _, f := range files {
			if emitted.readFiles[f] {
				continue
			}
			emitted.readFiles[f] = true
			if err := archive.ReadFile(ctx, f, archive.Query{From: time.Unix(0, 0), To: time.Now().Add(24 * 365 * time.Hour)}, func(a *event.Event) error {
				emitted.archivedID[a.ID] = true
				return nil
			}); err != nil {
				emitted.notYet = append(emitted.notYet, e.ID+" ("+err.Error()+")")
				return
			}
		}
	}
	if !emitted.archivedID[e.ID] {
		emitted.notYet = append(emitted.notYet, e.ID)
	}
}

// subscribe creates topic t and subscription s in project p of the
// emulator and returns a client.
func subscribe(tb testing.TB, ackDeadline int32) *pubsub.Client {
	tb.Helper()
	ctx := context.Background()
	c, err := pubsub.NewClient(ctx, "p")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	if _, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: "projects/p/topics/t"}); err != nil {
		tb.Fatal(err)
	}
	if _, err := c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name: "projects/p/subscriptions/s", Topic: "projects/p/topics/t", AckDeadlineSeconds: ackDeadline}); err != nil {
		tb.Fatal(err)
	}
	return c
}

// testEvents returns n valid events spread over two hours.
func testEvents(n int) []event.Event {
	base := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	out := make([]event.Event, n)
	for i := range out {
		t := base.Add(time.Duration(i) * 7200 * time.Second / time.Duration(n))
		out[i] = event.Event{
			ID: fmt.Sprintf("e%05d", i), MerchantID: fmt.Sprintf("m%d", i%3), Type: event.TypeTrack, Name: "signup",
			AnonymousID: fmt.Sprintf("v%d", i%50), EventTime: t.UnixMicro(), ReceiveTime: t.Add(time.Second).UnixMicro(),
			Properties: fmt.Sprintf(`{"i":%d}`, i), Source: event.SourceSegment,
		}
	}
	return out
}

// publish sends the events (as ingest does) and the raw bodies, and waits
// for every publish.
func publish(tb testing.TB, c *pubsub.Client, events []event.Event, raw [][]byte) {
	tb.Helper()
	ctx := context.Background()
	pub := c.Publisher("projects/p/topics/t")
	defer pub.Stop()
	var results []*pubsub.PublishResult
	for i := range events {
		b, err := event.Encode(&events[i])
		if err != nil {
			tb.Fatal(err)
		}
		results = append(results, pub.Publish(ctx, &pubsub.Message{Data: b, Attributes: event.Attributes(&events[i])}))
	}
	for _, b := range raw {
		results = append(results, pub.Publish(ctx, &pubsub.Message{Data: b, Attributes: map[string]string{"note": "garbage"}}))
	}
	for _, r := range results {
		if _, err := r.Get(ctx); err != nil {
			tb.Fatal(err)
		}
	}
}

// runReader starts the reader with a checkArchivedFn behind it and returns
// a function that stops the pipeline.
func runReader(tb testing.TB, dir string) (stop func()) {
	tb.Helper()
	p, s := beam.NewPipelineWithRoot()
	msgs := Read(s, Options{Project: "p", Subscription: "s", Shards: 2, MaxBatch: 400, TimeAttribute: event.AttrEventTime, ArchiveDir: dir})
	beam.ParDo0(s, &checkArchivedFn{Dir: dir}, msgs)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		prism.Execute(ctx, p) // ends with an error when cancelled: Prism has no drain
	}()
	return func() { cancel(); <-done }
}

// waitFor waits up to limit for cond (truth.Eventually).
func waitFor(tb testing.TB, limit time.Duration, what string, cond func() (bool, string)) {
	tb.Helper()
	truth.Eventually(tb, limit, what, func() string {
		if ok, state := cond(); !ok {
			return state
		}
		return ""
	})
}

func deliveredAndAcked(srv *pstest.Server, total int) func() (bool, string) {
	return func() (bool, string) {
		emitted.Lock()
		got := len(emitted.n)
		emitted.Unlock()
		acked := 0
		for _, m := range srv.Messages() {
			if m.Acks > 0 {
				acked++
			}
		}
		return got == total && acked == total, fmt.Sprintf("%d of %d messages emitted, %d acknowledged", got, total, acked)
	}
}

// checkArchive compares the archive with what was published.
func checkArchive(tb testing.TB, dir string, events []event.Event, raw [][]byte) {
	tb.Helper()
	var got []event.Event
	if err := archive.Scan(context.Background(), dir, archive.Query{From: time.Unix(0, 0), To: time.Now()}, func(e *event.Event) error {
		got = append(got, *e)
		return nil
	}); err != nil {
		tb.Fatal(err)
	}
	byID := func(a, b event.Event) int {
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	}
	slices.SortFunc(got, byID)
	want := slices.SortedFunc(slices.Values(events), byID)
	if len(got) != len(want) {
		tb.Fatalf("archive holds %d events, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			tb.Fatalf("archived event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	dead, err := archive.ReadInvalid(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var gotRaw, wantRaw []string
	for _, d := range dead {
		gotRaw = append(gotRaw, string(d.Data))
		if d.Attributes["note"] != "garbage" || d.MessageID == "" || d.Reason == "" {
			tb.Errorf("dead letter %q lacks its attributes, message id or reason: %+v", d.Data, d)
		}
	}
	for _, b := range raw {
		wantRaw = append(wantRaw, string(b))
	}
	slices.Sort(gotRaw)
	slices.Sort(wantRaw)
	if !slices.Equal(gotRaw, wantRaw) {
		tb.Errorf("dead letters = %q, want %q", gotRaw, wantRaw)
	}
}

// Every message the reader emits is already durable in the archive (events
// as Parquet rows, undecodable bodies as dead letters), and every message
// is emitted and acknowledged once.
func TestReadArchivesBeforeEmitting(t *testing.T) {
	srv := testenv.PubSub(t)
	c := subscribe(t, 60)
	events := testEvents(3000)
	raw := [][]byte{[]byte("not json"), []byte(`{"event_id":"x"}`), {}}
	publish(t, c, events, raw)
	resetEmitted()
	dir := t.TempDir()

	stop := runReader(t, dir)
	waitFor(t, 90*time.Second, "every message emitted and acknowledged", deliveredAndAcked(srv, len(events)+len(raw)))
	stop()

	emitted.Lock()
	if len(emitted.notYet) > 0 {
		t.Errorf("%d events were emitted before they were in the archive, e.g. %v", len(emitted.notYet), emitted.notYet[:min(5, len(emitted.notYet))])
	}
	for b, n := range emitted.n {
		if n != 1 {
			t.Errorf("message %q emitted %d times, want once", b, n)
		}
	}
	emitted.Unlock()
	checkArchive(t, dir, events, raw)
}

// While the archive cannot be written nothing is emitted and the batches go
// back to Pub/Sub; once it can, every message is archived, emitted and
// acknowledged: redelivery, not loss. (The subscription's ack deadline is
// 10 minutes, so only the reader's nack can bring messages back in time.)
func TestReadRedeliversWhenArchiveFails(t *testing.T) {
	srv := testenv.PubSub(t)
	c := subscribe(t, 600)
	events := testEvents(800)
	publish(t, c, events, nil)
	resetEmitted()
	dir := t.TempDir()
	// A file where the first event hour's date directory belongs: every
	// batch fails. (Tests run as root, so permissions cannot block it.)
	blocker := filepath.Join(dir, "dt=2026-11-02")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}

	stop := runReader(t, dir)
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	waitFor(t, 60*time.Second, "a redelivery after an archive failure", func() (bool, string) {
		redelivered := 0
		for _, m := range srv.Messages() {
			if m.Deliveries >= 2 {
				redelivered++
			}
		}
		return redelivered > 0, "no message delivered twice yet"
	})
	emitted.Lock()
	n := len(emitted.n)
	emitted.Unlock()
	if n != 0 {
		t.Fatalf("%d messages emitted while the archive was failing, want none", n)
	}
	for _, m := range srv.Messages() {
		if m.Acks > 0 {
			t.Fatalf("message %s acknowledged while the archive was failing", m.ID)
		}
	}

	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 90*time.Second, "every message emitted and acknowledged after the archive recovered", deliveredAndAcked(srv, len(events)))
	stop()
	stop = nil

	emitted.Lock()
	if len(emitted.notYet) > 0 {
		t.Errorf("%d events were emitted before they were in the archive, e.g. %v", len(emitted.notYet), emitted.notYet[:min(5, len(emitted.notYet))])
	}
	for b, n := range emitted.n {
		if n != 1 {
			t.Errorf("message %q emitted %d times, want once", b, n)
		}
	}
	emitted.Unlock()
	checkArchive(t, dir, events, nil)
}
