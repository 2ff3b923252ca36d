// Package streaming builds the streaming job: Pub/Sub → decode → hourly
// event-time windows with early firings → aggregate → provisional Bigtable
// rows. The transforms in the middle are pipelines/transforms, shared with
// the batch job; only the source and the sink here are streaming-specific.
package streaming

import (
	"errors"
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/pipelines/io/btsink"
	"github.com/footfall/footfall/pipelines/io/pubsubpull"
	"github.com/footfall/footfall/pipelines/transforms"
)

// Config is the streaming job's configuration (from flags).
type Config struct {
	// Project and Subscription name the Pub/Sub subscription to read.
	Project      string
	Subscription string
	// BigtableProject and BigtableInstance name the metrics instance.
	BigtableProject  string
	BigtableInstance string
	// EarlyFiring is how often an open hour's provisional values are
	// updated; AllowedLateness how long after an hour ends its events
	// still update them.
	EarlyFiring     time.Duration
	AllowedLateness time.Duration
	// ReaderShards is the number of parallel Pub/Sub readers on Prism.
	ReaderShards int
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	switch {
	case c.Project == "" || c.Subscription == "":
		return errors.New("streaming: the Pub/Sub project and subscription are required")
	case c.BigtableProject == "" || c.BigtableInstance == "":
		return errors.New("streaming: the Bigtable project and instance are required")
	case c.EarlyFiring <= 0:
		return fmt.Errorf("streaming: early firing interval must be positive, got %s", c.EarlyFiring)
	case c.AllowedLateness < 0:
		return fmt.Errorf("streaming: allowed lateness must not be negative, got %s", c.AllowedLateness)
	}
	return nil
}

// Build constructs the streaming pipeline.
func Build(c Config) (*beam.Pipeline, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	p, s := beam.NewPipelineWithRoot()
	msgs := pubsubpull.Read(s, pubsubpull.Options{
		Project:       c.Project,
		Subscription:  c.Subscription,
		Shards:        c.ReaderShards,
		TimeAttribute: event.AttrEventTime,
	})
	events := transforms.Decode(s, msgs)
	hourly := transforms.Hourly(s, events, transforms.WindowOptions{
		EarlyFiring:     c.EarlyFiring,
		AllowedLateness: c.AllowedLateness,
	})
	totals := transforms.HourlyTotals(s, hourly)
	btsink.WriteProvisional(s, btsink.Options{Project: c.BigtableProject, Instance: c.BigtableInstance}, totals)
	return p, nil
}
