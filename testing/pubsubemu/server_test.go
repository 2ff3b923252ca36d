package pubsubemu

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"weak"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/footfall/footfall/testing/truth"
)

const (
	testTopic = "projects/p/topics/t"
	testSub   = "projects/p/subscriptions/s"
)

// clock is a test clock: leases expire only when a test moves it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// start serves a Server on a free port, points the official client at it
// (PUBSUB_EMULATOR_HOST) and creates testTopic and testSub (ack deadline
// 60 s, 7 days' retention, as the local stack does).
func start(t testing.TB, o Options) (*Server, *pubsub.Client) {
	t.Helper()
	s := New(o)
	addr, stop, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	t.Setenv("PUBSUB_EMULATOR_HOST", addr)
	ctx := context.Background()
	c, err := pubsub.NewClient(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: testTopic}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{Name: testSub, Topic: testTopic,
		AckDeadlineSeconds: 60, MessageRetentionDuration: durationpb.New(7 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return s, c
}

// publish sends n messages in Publish calls of up to 1,000 and returns their ids.
func publish(t testing.TB, c *pubsub.Client, n int) []string {
	t.Helper()
	var ids []string
	for off := 0; off < n; off += 1000 {
		var msgs []*pubsubpb.PubsubMessage
		for i := off; i < min(n, off+1000); i++ {
			msgs = append(msgs, &pubsubpb.PubsubMessage{Data: fmt.Appendf(nil, "message %d", i)})
		}
		resp, err := c.TopicAdminClient.Publish(context.Background(), &pubsubpb.PublishRequest{Topic: testTopic, Messages: msgs})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, resp.MessageIds...)
	}
	return ids
}

func pull(t testing.TB, c *pubsub.Client, n int) []*pubsubpb.ReceivedMessage {
	t.Helper()
	resp, err := c.SubscriptionAdminClient.Pull(context.Background(), &pubsubpb.PullRequest{Subscription: testSub, MaxMessages: int32(n),
		//lint:ignore SA1019 what the pipeline's reader sends
		ReturnImmediately: true})
	if err != nil {
		t.Fatal(err)
	}
	return resp.ReceivedMessages
}

func ack(t testing.TB, c *pubsub.Client, ids []string) {
	t.Helper()
	if len(ids) == 0 {
		return
	}
	if err := c.SubscriptionAdminClient.Acknowledge(context.Background(), &pubsubpb.AcknowledgeRequest{Subscription: testSub, AckIds: ids}); err != nil {
		t.Fatal(err)
	}
}

func modify(t testing.TB, c *pubsub.Client, ids []string, secs int32) {
	t.Helper()
	if len(ids) == 0 {
		return
	}
	if err := c.SubscriptionAdminClient.ModifyAckDeadline(context.Background(), &pubsubpb.ModifyAckDeadlineRequest{Subscription: testSub,
		AckIds: ids, AckDeadlineSeconds: secs}); err != nil {
		t.Fatal(err)
	}
}

// A subscriber that acknowledges only some of what it pulls, lets other
// leases run out, hands some back and comes back after long pauses still
// gets every message, and every message ends acknowledged: nothing
// unacknowledged is ever dropped, whatever its age.
func TestNothingLostUnderAckDeadlineExpiry(t *testing.T) {
	tests := []struct {
		name string
		// fate says what the subscriber does with the i-th delivery:
		// "ack", "expire" (nothing: the lease runs out) or "nack".
		fate func(i int) string
		// pause is how long the clock moves between rounds.
		pause time.Duration
	}{
		{"ack everything", func(int) string { return "ack" }, time.Second},
		{"every other lease runs out", func(i int) string { return map[bool]string{true: "ack", false: "expire"}[i%2 == 0] }, 61 * time.Second},
		{"a third handed back, a third run out", func(i int) string { return []string{"ack", "nack", "expire"}[i%3] }, 61 * time.Second},
		// pstest deletes a message left unleased 10 minutes after publish.
		{"backlog older than 10 minutes", func(i int) string { return map[bool]string{true: "ack", false: "expire"}[i%4 == 0] }, 11 * time.Minute},
		{"backlog older than the 7-day retention", func(i int) string { return map[bool]string{true: "ack", false: "expire"}[i%4 == 0] }, 8 * 24 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clk := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
			s, c := start(t, Options{Now: clk.Now})
			const n = 3000
			published := publish(t, c, n)
			clk.Advance(tc.pause) // the backlog ages before anyone pulls
			acked := map[string]int{}
			deliveries := 0
			for round := 0; len(acked) < n && round < 100; round++ {
				var acks, nacks []string
				for _, m := range pull(t, c, 500) {
					switch tc.fate(deliveries) {
					case "ack":
						acks = append(acks, m.AckId)
						acked[m.Message.MessageId]++
					case "nack":
						nacks = append(nacks, m.AckId)
					}
					deliveries++
				}
				ack(t, c, acks)
				modify(t, c, nacks, 0)
				clk.Advance(tc.pause)
			}
			var lost int
			for _, id := range published {
				if acked[id] == 0 {
					lost++
				}
			}
			if lost > 0 {
				t.Errorf("%d of %d published messages were never delivered and acknowledged (%d deliveries)", lost, n, deliveries)
			}
			if got := s.Retained(); got != 0 {
				t.Errorf("Retained() = %d after every message was acknowledged, want 0", got)
			}
			if got := pull(t, c, 10); len(got) != 0 {
				t.Errorf("pulled %d messages after every message was acknowledged, want none", len(got))
			}
		})
	}
}

// A message whose lease runs out is delivered again with a new ack id; an
// extended lease holds it back; the old ack id can no longer hand it back
// but still acknowledges it.
func TestRedelivery(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	_, c := start(t, Options{Now: clk.Now})
	id := publish(t, c, 1)[0]
	first := pull(t, c, 10)
	if len(first) != 1 || first[0].Message.MessageId != id {
		t.Fatalf("first pull: %v, want message %s", first, id)
	}
	clk.Advance(59 * time.Second)
	if got := pull(t, c, 10); len(got) != 0 {
		t.Fatalf("delivered again %d messages before the 60 s deadline", len(got))
	}
	clk.Advance(2 * time.Second)
	second := pull(t, c, 10)
	if len(second) != 1 || second[0].Message.MessageId != id || second[0].AckId == first[0].AckId {
		t.Fatalf("after the deadline: %v, want message %s again with a new ack id", second, id)
	}
	modify(t, c, []string{second[0].AckId}, 120)
	clk.Advance(90 * time.Second)
	if got := pull(t, c, 10); len(got) != 0 {
		t.Fatalf("delivered again within an extended lease: %v", got)
	}
	modify(t, c, []string{first[0].AckId}, 0) // stale: ignored
	if got := pull(t, c, 10); len(got) != 0 {
		t.Fatalf("a stale ack id handed the message back: %v", got)
	}
	ack(t, c, []string{first[0].AckId})
	clk.Advance(time.Hour)
	if got := pull(t, c, 10); len(got) != 0 {
		t.Fatalf("an acknowledged message was delivered again: %v", got)
	}
}

// Acknowledged messages are dropped: the count of retained messages falls
// to zero and the message objects become garbage.
func TestMemoryReturnsAfterAcks(t *testing.T) {
	s, c := start(t, Options{})
	const n = 5000
	publish(t, c, n)
	if got := s.Retained(); got != n {
		t.Fatalf("Retained() = %d after publishing %d, want %d", got, n, n)
	}
	// Weak pointers to what the server holds, to see it collected.
	var held []weak.Pointer[pubsubpb.PubsubMessage]
	sub, err := s.sub(testSub)
	if err != nil {
		t.Fatal(err)
	}
	sub.mu.Lock()
	for c := sub.fresh.head; c != nil; c = c.next {
		for _, e := range c.items {
			if e != nil && len(held) < 100 {
				held = append(held, weak.Make(e.msg))
			}
		}
	}
	sub.mu.Unlock()
	for done := 0; done < n; {
		got := pull(t, c, 1000)
		if len(got) == 0 {
			t.Fatalf("nothing to pull after %d of %d", done, n)
		}
		ids := make([]string, len(got))
		for i, m := range got {
			ids[i] = m.AckId
		}
		ack(t, c, ids)
		done += len(got)
	}
	if got := s.Retained(); got != 0 {
		t.Errorf("Retained() = %d after acknowledging everything, want 0", got)
	}
	runtime.GC()
	alive := 0
	for _, w := range held {
		if w.Value() != nil {
			alive++
		}
	}
	if alive > 0 {
		t.Errorf("%d of %d acknowledged messages still in memory after a GC", alive, len(held))
	}
}

// Stats and GET /v1/backlog report the backlog and the oldest
// unacknowledged message's age.
func TestBacklogStats(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	clk := &clock{t: t0}
	s, c := start(t, Options{Now: clk.Now})
	publish(t, c, 3)
	clk.Advance(30 * time.Second)
	publish(t, c, 2)
	clk.Advance(60 * time.Second)
	got := pull(t, c, 4) // the 3 old ones and one new one, leased
	ack(t, c, []string{got[1].AckId})

	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	read := func(q string) (int, Backlog) {
		resp, err := http.Get(srv.URL + "/v1/backlog?subscription=" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b Backlog
		json.NewDecoder(resp.Body).Decode(&b)
		return resp.StatusCode, b
	}
	code, b := read(testSub)
	want := Backlog{Subscription: testSub, Topic: testTopic, Messages: 4, Outstanding: 3, OldestUnackedAgeSeconds: 90,
		Published: 5, Deliveries: 4, Acked: 1}
	if code != 200 || b != want {
		t.Errorf("GET /v1/backlog: %d %+v, want 200 %+v", code, b, want)
	}
	ack(t, c, []string{got[0].AckId, got[2].AckId})
	if _, b = read(testSub); b.Messages != 2 || b.OldestUnackedAgeSeconds != 60 {
		t.Errorf("after acknowledging the old ones: %d messages, oldest %v s; want 2, 60 s", b.Messages, b.OldestUnackedAgeSeconds)
	}
	if code, _ := read("projects/p/subscriptions/nope"); code != http.StatusNotFound {
		t.Errorf("unknown subscription: %d, want 404", code)
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{`pubsub_emulator_backlog_messages{subscription="projects/p/subscriptions/s"} 2`,
		`pubsub_emulator_oldest_unacked_message_age_seconds{subscription="projects/p/subscriptions/s"} 60`} {
		if !slices.Contains(strings.Split(string(body), "\n"), line) {
			t.Errorf("/metrics lacks %q", line)
		}
	}
}

// The official client's Subscriber (StreamingPull) receives every message
// once and its acknowledgements drop them.
func TestStreamingPullWithTheOfficialSubscriber(t *testing.T) {
	s, c := start(t, Options{})
	const n = 2500
	published := publish(t, c, n)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	got := map[string]int{}
	sub := c.Subscriber(testSub)
	err := sub.Receive(ctx, func(_ context.Context, m *pubsub.Message) {
		m.Ack()
		mu.Lock()
		defer mu.Unlock()
		got[m.ID]++
		if len(got) == n {
			cancel()
		}
	})
	if err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
	for _, id := range published {
		if got[id] == 0 {
			t.Fatalf("message %s never received (%d of %d received)", id, len(got), n)
		}
	}
	// Acks travel asynchronously, and may still be on their way.
	truth.Eventually(t, 30*time.Second, "every acknowledged message dropped", func() string {
		if r := s.Retained(); r != 0 {
			return fmt.Sprintf("Retained() = %d", r)
		}
		return ""
	})
}

// The admin calls the stack makes answer as Pub/Sub does.
func TestAdminErrors(t *testing.T) {
	_, c := start(t, Options{})
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		want codes.Code
	}{
		{"topic exists", func() error {
			_, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: testTopic})
			return err
		}, codes.AlreadyExists},
		{"bad topic name", func() error {
			_, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: "topics/t"})
			return err
		}, codes.InvalidArgument},
		{"get missing topic", func() error {
			_, err := c.TopicAdminClient.GetTopic(ctx, &pubsubpb.GetTopicRequest{Topic: "projects/p/topics/nope"})
			return err
		}, codes.NotFound},
		{"get topic", func() error {
			_, err := c.TopicAdminClient.GetTopic(ctx, &pubsubpb.GetTopicRequest{Topic: testTopic})
			return err
		}, codes.OK},
		{"subscription exists", func() error {
			_, err := c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{Name: testSub, Topic: testTopic})
			return err
		}, codes.AlreadyExists},
		{"subscription of a missing topic", func() error {
			_, err := c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{Name: "projects/p/subscriptions/x", Topic: "projects/p/topics/nope"})
			return err
		}, codes.NotFound},
		{"ack deadline too long", func() error {
			_, err := c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{Name: "projects/p/subscriptions/x", Topic: testTopic, AckDeadlineSeconds: 601})
			return err
		}, codes.InvalidArgument},
		{"dead-letter policy", func() error {
			_, err := c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{Name: "projects/p/subscriptions/x", Topic: testTopic,
				DeadLetterPolicy: &pubsubpb.DeadLetterPolicy{DeadLetterTopic: testTopic}})
			return err
		}, codes.InvalidArgument},
		{"publish to a missing topic", func() error {
			_, err := c.TopicAdminClient.Publish(ctx, &pubsubpb.PublishRequest{Topic: "projects/p/topics/nope", Messages: []*pubsubpb.PubsubMessage{{Data: []byte("x")}}})
			return err
		}, codes.NotFound},
		{"empty message", func() error {
			_, err := c.TopicAdminClient.Publish(ctx, &pubsubpb.PublishRequest{Topic: testTopic, Messages: []*pubsubpb.PubsubMessage{{}}})
			return err
		}, codes.InvalidArgument},
		{"bad ack id", func() error {
			return c.SubscriptionAdminClient.Acknowledge(ctx, &pubsubpb.AcknowledgeRequest{Subscription: testSub, AckIds: []string{"nonsense"}})
		}, codes.InvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := status.Code(tc.call()); got != tc.want {
				t.Errorf("code %v, want %v", got, tc.want)
			}
		})
	}
}

// A message published before a subscription existed is not delivered to
// it; one published after is delivered to every subscription.
func TestFanOut(t *testing.T) {
	s, c := start(t, Options{})
	publish(t, c, 2)
	ctx := context.Background()
	if _, err := c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{Name: "projects/p/subscriptions/late", Topic: testTopic}); err != nil {
		t.Fatal(err)
	}
	publish(t, c, 3)
	got := map[string]int{}
	for _, st := range s.Stats() {
		got[st.Subscription] = st.Backlog
	}
	want := map[string]int{testSub: 5, "projects/p/subscriptions/late": 3}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("backlogs %v, want %v", got, want)
	}
}
