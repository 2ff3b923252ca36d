package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"

	"github.com/footfall/footfall/internal/event"
)

// Publisher makes events durable. Publish returns nil only once every event
// is acknowledged by Pub/Sub; any error means the caller must not answer 2xx.
type Publisher interface {
	Publish(ctx context.Context, events []*event.Event) error
	// Ready reports whether the publisher can reach Pub/Sub.
	Ready(ctx context.Context) error
	Close() error
}

// ErrUnavailable wraps every publish failure: Pub/Sub is slow or down, and
// the client should retry.
var ErrUnavailable = errors.New("event queue unavailable")

// PubSub publishes to a Pub/Sub topic with the official client (which
// honours PUBSUB_EMULATOR_HOST).
type PubSub struct {
	client *pubsub.Client
	pub    *pubsub.Publisher
	topic  string
}

var _ Publisher = (*PubSub)(nil)

// NewPubSub opens a publisher on project/topic.
func NewPubSub(ctx context.Context, project, topic string) (*PubSub, error) {
	c, err := pubsub.NewClient(ctx, project)
	if err != nil {
		return nil, fmt.Errorf("ingest.NewPubSub: %w", err)
	}
	name := fmt.Sprintf("projects/%s/topics/%s", project, topic)
	pub := c.Publisher(name)
	pub.PublishSettings.DelayThreshold = 2 * time.Millisecond
	pub.PublishSettings.CountThreshold = 500
	pub.PublishSettings.Timeout = 10 * time.Second
	return &PubSub{client: c, pub: pub, topic: name}, nil
}

// Publish sends events and waits for every acknowledgement.
//
// A request with many events (a Segment batch) is already a batch: it goes
// to Pub/Sub as one Publish RPC per 1,000 events (the API's limit), which
// skips the client's per-message bundling, sizing and result channels
// (about a third of the publishing CPU in a profile). Small requests go
// through the bundling publisher, which merges them across requests.
// Either way, Publish returns nil only once Pub/Sub acknowledged every event.
func (p *PubSub) Publish(ctx context.Context, events []*event.Event) error {
	if len(events) >= directPublishMin {
		return p.publishDirect(ctx, events)
	}
	results := make([]*pubsub.PublishResult, len(events))
	for i, e := range events {
		data, err := event.Encode(e)
		if err != nil {
			return err
		}
		results[i] = p.pub.Publish(ctx, &pubsub.Message{Data: data, Attributes: event.Attributes(e)})
	}
	var first error
	for _, r := range results {
		if _, err := r.Get(ctx); err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return fmt.Errorf("%w: publish to %s: %w", ErrUnavailable, p.topic, first)
	}
	return nil
}

// Publish RPC limits: 1,000 messages and 10 MB per request.
const (
	directPublishMin      = 20
	maxMessagesPerPublish = 1000
	maxBytesPerPublish    = 9 << 20
)

// publishDirect sends events with TopicAdminClient.Publish, which retries
// transient errors (Unavailable, Internal, ...) until ctx ends.
func (p *PubSub) publishDirect(ctx context.Context, events []*event.Event) error {
	msgs := make([]pubsubpb.PubsubMessage, len(events))
	batch := make([]*pubsubpb.PubsubMessage, 0, min(len(events), maxMessagesPerPublish))
	size := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := p.client.TopicAdminClient.Publish(ctx, &pubsubpb.PublishRequest{Topic: p.topic, Messages: batch})
		batch, size = batch[:0], 0
		if err != nil {
			return fmt.Errorf("%w: publish to %s: %w", ErrUnavailable, p.topic, err)
		}
		return nil
	}
	for i, e := range events {
		data, err := event.Encode(e)
		if err != nil {
			return err
		}
		m := &msgs[i]
		m.Data, m.Attributes = data, event.Attributes(e)
		n := len(data) + 200 // attributes and framing
		if len(batch) == maxMessagesPerPublish || size+n > maxBytesPerPublish {
			if err := flush(); err != nil {
				return err
			}
		}
		batch = append(batch, m)
		size += n
	}
	return flush()
}

// Ready checks that the topic exists and Pub/Sub answers.
func (p *PubSub) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := p.client.TopicAdminClient.GetTopic(ctx, &pubsubpb.GetTopicRequest{Topic: p.topic}); err != nil {
		return fmt.Errorf("%w: topic %s: %w", ErrUnavailable, p.topic, err)
	}
	return nil
}

// Close flushes outstanding publishes and closes the client.
func (p *PubSub) Close() error {
	p.pub.Stop()
	return p.client.Close()
}

// Noop encodes every event as PubSub would and discards it. It exists only
// to measure ingest's own cost (PUBLISHER=noop in benchmarks): it
// acknowledges events it never stores, so it must never serve real traffic.
type Noop struct{}

var _ Publisher = Noop{}

// Publish encodes the events and forgets them.
func (Noop) Publish(_ context.Context, events []*event.Event) error {
	for _, e := range events {
		if _, err := event.Encode(e); err != nil {
			return err
		}
		_ = event.Attributes(e)
	}
	return nil
}

// Ready always succeeds.
func (Noop) Ready(context.Context) error { return nil }

// Close does nothing.
func (Noop) Close() error { return nil }
