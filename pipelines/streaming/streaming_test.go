package streaming

import (
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/graphx"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"
	"google.golang.org/protobuf/proto"

	"github.com/footfall/footfall/internal/event"
)

func config(dataflow bool) Config {
	c := Config{Dataflow: dataflow, Project: "proj", Subscription: "sub", BigtableProject: "proj", BigtableInstance: "inst",
		EarlyFiring: 10 * time.Second, Horizon: 3 * time.Hour}
	if dataflow {
		c.ArchiveTable = "proj-1.footfall.events"
	} else {
		c.ArchiveDir = "/tmp/archive"
	}
	return c
}

// The Dataflow graph builds and translates to the portable pipeline proto
// (what the Dataflow runner submits) with Dataflow's native Pub/Sub read;
// the Prism graph has no such transform.
func TestBuildTranslates(t *testing.T) {
	for _, tc := range []struct {
		name     string
		dataflow bool
	}{{"dataflow", true}, {"prism", false}} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Build(config(tc.dataflow))
			if err != nil {
				t.Fatal(err)
			}
			edges, _, err := p.Build()
			if err != nil {
				t.Fatalf("building the graph: %v", err)
			}
			model, err := graphx.Marshal(edges, &graphx.Options{Environment: &pipepb.Environment{Urn: "beam:env:docker:v1"}})
			if err != nil {
				t.Fatalf("translating to the pipeline proto: %v", err)
			}
			var reads []*pipepb.PubSubReadPayload
			bqWrites := 0
			for _, tr := range model.GetComponents().GetTransforms() {
				if strings.HasSuffix(tr.GetUniqueName(), "bqarchive.Write") {
					bqWrites++
				}
				if tr.GetSpec().GetUrn() != pubsubReadURN {
					continue
				}
				var pl pipepb.PubSubReadPayload
				if err := proto.Unmarshal(tr.GetSpec().GetPayload(), &pl); err != nil {
					t.Fatal(err)
				}
				reads = append(reads, &pl)
			}
			if !tc.dataflow {
				if len(reads) != 0 || bqWrites != 0 {
					t.Errorf("the Prism graph has %d Dataflow Pub/Sub reads and %d BigQuery archive writes", len(reads), bqWrites)
				}
				return
			}
			if bqWrites != 1 {
				t.Errorf("found %d BigQuery archive writes in the Dataflow graph, want 1", bqWrites)
			}
			if len(reads) != 1 {
				t.Fatalf("found %d Pub/Sub read transforms, want 1", len(reads))
			}
			r := reads[0]
			if r.GetSubscription() != "projects/proj/subscriptions/sub" || r.GetIdAttribute() != event.AttrEventID || r.GetTimestampAttribute() != event.AttrEventTime {
				t.Errorf("Pub/Sub read payload = %v", r)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	bad := map[string]func(*Config){
		"no subscription":           func(c *Config) { c.Subscription = "" },
		"no bigtable":               func(c *Config) { c.BigtableInstance = "" },
		"no early firing":           func(c *Config) { c.EarlyFiring = 0 },
		"horizon under an hour":     func(c *Config) { c.Horizon = 30 * time.Minute },
		"unknown injected bug":      func(c *Config) { c.InjectBug = "typo" },
		"negative horizon":          func(c *Config) { c.Horizon = -time.Hour },
		"bigquery archive on prism": func(c *Config) { c.ArchiveTable = "proj-1.footfall.events" },
	}
	for name, mutate := range bad {
		t.Run(name, func(t *testing.T) {
			c := config(false)
			mutate(&c)
			if err := c.Validate(); err == nil {
				t.Errorf("Validate accepted %+v", c)
			}
		})
	}
	for _, dataflow := range []bool{false, true} {
		if err := config(dataflow).Validate(); err != nil {
			t.Errorf("Validate rejected a good config: %v", err)
		}
	}
	c := config(true)
	c.ArchiveDir = "/tmp/archive"
	if err := c.Validate(); err == nil {
		t.Error("Validate accepted a local archive directory on Dataflow")
	}
	c = config(true)
	c.ArchiveTable = "footfall.events"
	if err := c.Validate(); err == nil {
		t.Error("Validate accepted an archive table without a project")
	}
}
