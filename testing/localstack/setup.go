package localstack

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/bigtable"
	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/footfall/footfall/internal/layout"
)

// Resources names what the stack creates in the emulators (in production,
// Terraform creates them).
type Resources struct {
	PubSubProject    string
	Topic            string
	Subscription     string
	BigtableProject  string
	BigtableInstance string
}

// DefaultResources are the names the services and the pipeline default to.
var DefaultResources = Resources{
	PubSubProject:    "footfall-local",
	Topic:            "events",
	Subscription:     "events-pipeline",
	BigtableProject:  "footfall-local",
	BigtableInstance: "footfall",
}

// SetupPubSub creates the topic and the pipeline's subscription, if missing.
// The emulator is found through PUBSUB_EMULATOR_HOST.
func SetupPubSub(ctx context.Context, r Resources) error {
	c, err := pubsub.NewClient(ctx, r.PubSubProject)
	if err != nil {
		return fmt.Errorf("localstack.SetupPubSub: %w", err)
	}
	defer c.Close()
	topic := fmt.Sprintf("projects/%s/topics/%s", r.PubSubProject, r.Topic)
	if _, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: topic}); err != nil && status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("localstack.SetupPubSub: create topic %s: %w", topic, err)
	}
	sub := fmt.Sprintf("projects/%s/subscriptions/%s", r.PubSubProject, r.Subscription)
	_, err = c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
		Name:                     sub,
		Topic:                    topic,
		AckDeadlineSeconds:       60,
		MessageRetentionDuration: durationpb.New(7 * 24 * time.Hour),
	})
	if err != nil && status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("localstack.SetupPubSub: create subscription %s: %w", sub, err)
	}
	return nil
}

// SetupBigtable creates the tables and column families of internal/layout,
// if missing. The emulator is found through BIGTABLE_EMULATOR_HOST.
func SetupBigtable(ctx context.Context, r Resources) error {
	ac, err := bigtable.NewAdminClient(ctx, r.BigtableProject, r.BigtableInstance)
	if err != nil {
		return fmt.Errorf("localstack.SetupBigtable: %w", err)
	}
	defer ac.Close()
	for table, fams := range layout.Families() {
		conf := &bigtable.TableConf{TableID: table, ColumnFamilies: map[string]bigtable.Family{}}
		for f, gc := range fams {
			conf.ColumnFamilies[f] = bigtable.Family{GCPolicy: gc}
		}
		if err := ac.CreateTableFromConf(ctx, conf); err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("localstack.SetupBigtable: create table %s: %w", table, err)
		}
	}
	return nil
}
