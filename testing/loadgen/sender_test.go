package loadgen

import (
	"context"
	"github.com/sethvargo/go-envconfig"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/footfall/footfall/ingest"
	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/keys"
	"github.com/footfall/footfall/internal/testenv"
	"github.com/footfall/footfall/testing/truth"
)

// failFirst makes the emulator refuse the first n Publish calls, as a
// Pub/Sub outage would.
type failFirst struct {
	mu sync.Mutex
	n  int
}

func (f *failFirst) React(req any) (bool, any, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n > 0 {
		f.n--
		return true, nil, status.Error(codes.PermissionDenied, "injected outage")
	}
	return false, nil, nil
}

// The sender retries 503s with the same ids until they are acknowledged,
// honours Retry-After, takes the accepted part of a 400 partial batch and
// never retries it; what it reports as acknowledged reached Pub/Sub, and
// the events a 400 rejected never did.
func TestSenderRetriesUntilAcknowledged(t *testing.T) {
	outage := &failFirst{n: 3}
	url, srv := startIngest(t, outage)
	h := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	evs := truth.Gen("snd", 1, 400, h, h.Add(time.Hour))
	evs[17].Name = "" // a track message without its event name: rejected
	batches := make(chan []truth.Event, 100)
	for off := 0; off < len(evs); off += 40 {
		batches <- evs[off:min(off+40, len(evs))]
	}
	close(batches)

	var mu sync.Mutex
	acked := map[string]int{}
	var attempts []Attempt
	started := map[[2]int]time.Time{} // by batch and try: OnStart
	s := &Sender{URL: url, WriteKey: keys.DemoWriteKey, Concurrency: 2, MaxBackoff: 1500 * time.Millisecond,
		OnStart: func(a Attempt) { mu.Lock(); started[[2]int{a.Batch, a.Try}] = a.Start; mu.Unlock() },
		OnAcked: func(b []truth.Event) {
			mu.Lock()
			defer mu.Unlock()
			for _, e := range b {
				acked[e.ID]++
			}
		},
		OnAttempt: func(a Attempt) { mu.Lock(); attempts = append(attempts, a); mu.Unlock() }}
	st, err := s.Send(context.Background(), batches)
	if err != nil {
		t.Fatal(err)
	}
	if st.Batches != 10 || st.Acked != 399 || st.Rejected != 1 || st.Abandoned != 0 || st.Inconsistent != 0 {
		t.Errorf("stats %+v: want 10 batches, 399 acked, 1 rejected, none abandoned or inconsistent", st)
	}
	if st.ByStatus[503] != 3 || st.RetryAfterMissing != 0 || st.Requests != 13 {
		t.Errorf("stats %+v: want three 503s with Retry-After, 13 requests", st)
	}
	for _, a := range attempts {
		if a.Status == 503 && a.RetryAfter != "1" {
			t.Errorf("503 with Retry-After %q, want 1", a.RetryAfter)
		}
		if at, ok := started[[2]int{a.Batch, a.Try}]; !ok || !at.Equal(a.Start) {
			t.Errorf("attempt %d of batch %d: OnStart saw it start at %v (seen %v), OnAttempt at %v", a.Try, a.Batch, at, ok, a.Start)
		}
	}
	if int64(len(started)) != st.Requests {
		t.Errorf("OnStart saw %d requests, want %d", len(started), st.Requests)
	}
	published := map[string]bool{}
	for _, m := range srv.Messages() {
		e, err := event.Decode(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		published[e.ID] = true
	}
	for _, e := range evs {
		switch {
		case e.Name == "" && (published[e.ID] || acked[e.ID] > 0):
			t.Errorf("rejected event %s was published (%v) or acknowledged (%d)", e.ID, published[e.ID], acked[e.ID])
		case e.Name != "" && (!published[e.ID] || acked[e.ID] != 1):
			t.Errorf("event %s: published %v, acknowledged %d times; want published, acknowledged once", e.ID, published[e.ID], acked[e.ID])
		}
	}
}

func startIngest(t *testing.T, outage *failFirst) (url string, srv *pstest.Server) {
	t.Helper()
	srv = testenv.PubSub(t, pstest.ServerReactorOption{FuncName: "Publish", Reactor: outage})
	ctx := context.Background()
	c, err := pubsub.NewClient(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: "projects/p/topics/t"}); err != nil {
		t.Fatal(err)
	}
	pub, err := ingest.NewPubSub(ctx, "p", "t")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ingest.LoadConfig(context.Background(), envconfig.MapLookuper(map[string]string{
		"PUBSUB_PROJECT": "p", "PUBSUB_TOPIC": "t", "PUBLISH_TIMEOUT": "2s", "RETRY_AFTER_SECONDS": "1",
		"RATE_LIMIT_EVENTS_PER_SECOND": "1000000000", "RATE_LIMIT_BURST": "1000000000", "MAX_FUTURE_SKEW": "1m"}))
	if err != nil {
		t.Fatal(err)
	}
	is, err := ingest.NewServer(cfg, keys.Demo(), pub, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- is.Serve(sctx, ln) }()
	t.Cleanup(func() { cancel(); <-done; pub.Close() })
	return "http://" + ln.Addr().String(), srv
}
