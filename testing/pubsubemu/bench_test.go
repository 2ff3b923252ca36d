package pubsubemu

import (
	"context"
	"strings"
	"testing"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	"google.golang.org/protobuf/types/known/durationpb"
)

// BenchmarkPublish publishes ~600-byte messages to a topic with one
// subscription, as ingest does: through the official client's batching
// Publisher (small requests) and as Publish calls of 1,000 messages
// (Segment batches), against this server and against pstest.
// go test -run '^$' -bench Publish -benchtime 200000x ./testing/pubsubemu/
func BenchmarkPublish(b *testing.B) {
	servers := []struct {
		name  string
		start func(b *testing.B) string
	}{
		{"pubsubemu", func(b *testing.B) string {
			addr, stop, err := New(Options{}).Start("127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(stop)
			return addr
		}},
		{"pstest", func(b *testing.B) string {
			s := pstest.NewServerWithAddress("127.0.0.1:0")
			b.Cleanup(func() { s.Close() })
			return s.Addr
		}},
	}
	data := []byte(strings.Repeat("x", 500))
	attrs := map[string]string{"merchant_id": "demo", "event_id": "0123456789abcdef0123456789", "event_time": "2026-11-27T10:00:00.000Z"}
	for _, srv := range servers {
		for _, mode := range []string{"batching-publisher", "publish-1000"} {
			b.Run(srv.name+"/"+mode, func(b *testing.B) {
				b.Setenv("PUBSUB_EMULATOR_HOST", srv.start(b))
				ctx := context.Background()
				c, err := pubsub.NewClient(ctx, "p")
				if err != nil {
					b.Fatal(err)
				}
				defer c.Close()
				if _, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: testTopic}); err != nil {
					b.Fatal(err)
				}
				if _, err := c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{Name: testSub, Topic: testTopic,
					AckDeadlineSeconds: 60, MessageRetentionDuration: durationpb.New(24 * 60 * 60 * 1e9)}); err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				switch mode {
				case "batching-publisher":
					p := c.Publisher(testTopic)
					p.PublishSettings.CountThreshold = 500
					defer p.Stop()
					results := make([]*pubsub.PublishResult, 0, b.N)
					for range b.N {
						results = append(results, p.Publish(ctx, &pubsub.Message{Data: data, Attributes: attrs}))
					}
					for _, r := range results {
						if _, err := r.Get(ctx); err != nil {
							b.Fatal(err)
						}
					}
				case "publish-1000":
					for off := 0; off < b.N; off += 1000 {
						msgs := make([]*pubsubpb.PubsubMessage, min(1000, b.N-off))
						for i := range msgs {
							msgs[i] = &pubsubpb.PubsubMessage{Data: data, Attributes: attrs}
						}
						if _, err := c.TopicAdminClient.Publish(ctx, &pubsubpb.PublishRequest{Topic: testTopic, Messages: msgs}); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			})
		}
	}
}
