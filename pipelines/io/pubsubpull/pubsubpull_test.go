package pubsubpull

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/footfall/footfall/internal/testenv"
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

// Every published message reaches the pipeline exactly once, with its event
// time taken from the attribute, and is acknowledged afterwards.
func TestReadDeliversAndAcks(t *testing.T) {
	srv := testenv.PubSub(t)
	ctx := context.Background()
	c, err := pubsub.NewClient(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: "projects/p/topics/t"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name: "projects/p/subscriptions/s", Topic: "projects/p/topics/t", AckDeadlineSeconds: 60}); err != nil {
		t.Fatal(err)
	}
	const n = 3000
	base := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	pub := c.Publisher("projects/p/topics/t")
	var results []*pubsub.PublishResult
	for i := 0; i < n; i++ {
		results = append(results, pub.Publish(ctx, &pubsub.Message{
			Data:       []byte(fmt.Sprintf("m%d", i)),
			Attributes: map[string]string{"event_time": base.Add(time.Duration(i) * time.Second).Format(time.RFC3339Nano)},
		}))
	}
	for _, r := range results {
		if _, err := r.Get(ctx); err != nil {
			t.Fatal(err)
		}
	}
	pub.Stop()

	p, s := beam.NewPipelineWithRoot()
	msgs := Read(s, Options{Project: "p", Subscription: "s", Shards: 2, MaxBatch: 500, TimeAttribute: "event_time"})
	beam.ParDo0(s, recordFn, msgs)

	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		prism.Execute(runCtx, p) // ends with an error when cancelled: Prism has no drain
	}()
	defer cancel() // also when the wait below fails
	waitFor(t, 90*time.Second, "every message delivered and acknowledged", func() (bool, string) {
		seen.Lock()
		got := len(seen.n)
		seen.Unlock()
		acked := 0
		for _, m := range srv.Messages() {
			if m.Acks > 0 {
				acked++
			}
		}
		return got == n && acked == n, fmt.Sprintf("%d of %d messages delivered, %d acknowledged", got, n, acked)
	})
	cancel()
	<-done

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
