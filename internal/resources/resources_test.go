package resources

import (
	"context"
	"testing"

	"github.com/sethvargo/go-envconfig"

	"github.com/footfall/footfall/ingest"
	"github.com/footfall/footfall/queryapi"
	"github.com/footfall/footfall/testing/localstack"
)

// Every component's defaults name the same resources.
func TestDefaultsAgree(t *testing.T) {
	in, err := ingest.LoadConfig(context.Background(), envconfig.MapLookuper(nil))
	if err != nil {
		t.Fatal(err)
	}
	q := queryapi.DefaultConfig()
	ls := localstack.DefaultResources
	tests := []struct {
		what, got, want string
	}{
		{"ingest PUBSUB_PROJECT", in.PubSubProject, Project},
		{"ingest PUBSUB_TOPIC", in.PubSubTopic, Topic},
		{"queryapi BIGTABLE_PROJECT", q.BigtableProject, Project},
		{"queryapi BIGTABLE_INSTANCE", q.BigtableInstance, BigtableInstance},
		{"localstack Pub/Sub project", ls.PubSubProject, Project},
		{"localstack topic", ls.Topic, Topic},
		{"localstack subscription", ls.Subscription, Subscription},
		{"localstack Bigtable project", ls.BigtableProject, Project},
		{"localstack Bigtable instance", ls.BigtableInstance, BigtableInstance},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s default = %q, want %q (internal/resources)", tc.what, tc.got, tc.want)
		}
	}
}
