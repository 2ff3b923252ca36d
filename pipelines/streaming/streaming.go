// Package streaming builds the streaming job: Pub/Sub → transforms.Metrics
// (decode, enrich, dedup, hourly windows with early firings, totals,
// breakdowns, sessions, realtime minutes) → provisional and realtime
// Bigtable rows. The transforms in the middle are shared with the batch
// job; only the source and the sinks here are streaming-specific, and the
// source depends on the runner: Dataflow's native Pub/Sub read on Dataflow,
// the pubsubpull splittable DoFn everywhere else (Prism).
package streaming

import (
	"errors"
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/typex"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/util/protox"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/util/reflectx"
	pipepb "github.com/apache/beam/sdks/v2/go/pkg/beam/model/pipeline_v1"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/pipelines/io/bqarchive"
	"github.com/footfall/footfall/pipelines/io/btsink"
	"github.com/footfall/footfall/pipelines/io/pubsubpull"
	"github.com/footfall/footfall/pipelines/transforms"
)

// Config is the streaming job's configuration (from flags).
type Config struct {
	// Dataflow selects the Dataflow source (pubsubio, which only Dataflow
	// runs); otherwise the job reads with pubsubpull (Prism).
	Dataflow bool
	// Project and Subscription name the Pub/Sub subscription to read.
	Project      string
	Subscription string
	// BigtableProject and BigtableInstance name the metrics instance.
	BigtableProject  string
	BigtableInstance string
	// BigtableAppProfile is the app profile ("": the default one).
	BigtableAppProfile string
	// EarlyFiring is how often an open hour's provisional values are
	// updated; Horizon how long after an hour ends its events still
	// update them (older ones reach the metrics through the sealer).
	EarlyFiring time.Duration
	Horizon     time.Duration
	// MaxNames and TopK bound totals and breakdown rows (0: defaults).
	MaxNames int
	TopK     int
	// ReaderShards is the number of parallel Pub/Sub readers on Prism.
	ReaderShards int
	// MaxLag pauses the reader on Prism while the job trails it by more
	// than this (pubsubpull.Options.MaxLag; 0: never).
	MaxLag time.Duration
	// MaxInFlight pauses the reader on Prism while more elements than
	// this wait in front of the stateful steps
	// (pubsubpull.Options.MaxInFlight; 0: never).
	MaxInFlight int64
	// ArchiveDir (Prism) is the local Parquet archive every pulled batch
	// is written to before it is processed (pubsubpull.Options.ArchiveDir).
	ArchiveDir string
	// ArchiveTable (Dataflow) is the BigQuery archive table every decoded
	// event is appended to, as PROJECT.DATASET.TABLE.
	ArchiveTable string
	// InjectBug is TEST ONLY (transforms.Options.InjectBug).
	InjectBug string
}

func (c Config) options() transforms.Options {
	return transforms.Options{
		EarlyFiring: c.EarlyFiring,
		Horizon:     c.Horizon,
		Realtime:    true,
		MaxNames:    c.MaxNames,
		TopK:        c.TopK,
		InjectBug:   c.InjectBug,
	}
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
	case c.ArchiveDir != "" && c.Dataflow:
		return errors.New("streaming: a local archive directory cannot be used on Dataflow; archive to BigQuery with the archive table")
	case c.ArchiveTable == "" && c.Dataflow:
		return errors.New("streaming: on Dataflow the archive table (--archive-table PROJECT.DATASET.TABLE) is required: sealing and backfills read every event from it")
	case c.ArchiveTable != "" && !c.Dataflow:
		return errors.New("streaming: the BigQuery archive table is written on Dataflow only; on Prism archive to a local directory")
	}
	if c.ArchiveTable != "" {
		if _, err := bqarchive.ParseTable(c.ArchiveTable); err != nil {
			return fmt.Errorf("streaming: %w", err)
		}
	}
	if err := c.options().Validate(); err != nil {
		return fmt.Errorf("streaming: %w", err)
	}
	return nil
}

// Build constructs the streaming pipeline.
func Build(c Config) (*beam.Pipeline, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	p, s := beam.NewPipelineWithRoot()
	var events beam.PCollection
	if c.Dataflow {
		// Decode, archive every event to BigQuery and dead-letter what
		// cannot be archived (bqarchive.Archive); on Prism pubsubpull has
		// archived each batch before emitting it.
		bq, _ := bqarchive.ParseTable(c.ArchiveTable) // checked by Validate
		events = bqarchive.Archive(s, bq, read(s, c))
	} else {
		events = transforms.Decode(s, read(s, c))
	}
	out := transforms.MetricsFromEvents(s, events, c.options())
	bt := btsink.Options{Project: c.BigtableProject, Instance: c.BigtableInstance, AppProfile: c.BigtableAppProfile}
	btsink.WriteProvisional(s, bt, out.Rows)
	btsink.WriteRealtime(s, bt, out.Realtime)
	return p, nil
}

// read is the source: PCollection<[]byte> of message bodies, timestamped
// with their event time.
func read(s beam.Scope, c Config) beam.PCollection {
	if c.Dataflow {
		return dataflowRead(s, c.Project, c.Subscription)
	}
	return pubsubpull.Read(s, pubsubpull.Options{
		Project:       c.Project,
		Subscription:  c.Subscription,
		Shards:        c.ReaderShards,
		MaxLag:        c.MaxLag,
		MaxInFlight:   c.MaxInFlight,
		TimeAttribute: event.AttrEventTime,
		ArchiveDir:    c.ArchiveDir,
	})
}

// pubsubReadURN is the transform Dataflow implements natively.
const pubsubReadURN = "beam:transform:pubsub_read:v1"

// dataflowRead is Dataflow's native Pub/Sub source, emitted exactly as the
// SDK's io/pubsubio.Read emits it without attributes (the same URN and
// payload, with idAttribute dedup_id — merchant and event id, unique across
// merchants — for Dataflow's deduplication and timestampAttribute
// event_time). pubsubio itself cannot be imported in
// this module: it imports google.golang.org/genproto/googleapis/pubsub/v1,
// which the genproto version our Bigtable and Pub/Sub clients require no
// longer contains.
func dataflowRead(s beam.Scope, project, subscription string) beam.PCollection {
	s = s.Scope("pubsubio.Read")
	payload := &pipepb.PubSubReadPayload{
		Subscription:       fmt.Sprintf("projects/%s/subscriptions/%s", project, subscription),
		IdAttribute:        event.AttrDedupID,
		TimestampAttribute: event.AttrEventTime,
	}
	out := beam.External(s, pubsubReadURN, protox.MustEncode(payload), nil,
		[]beam.FullType{typex.New(reflectx.ByteSlice)}, false)
	return out[0]
}
