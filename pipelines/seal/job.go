// Package seal recomputes closed hours from the raw archive and replaces
// their sealed values in Bigtable: the backfill command's library, used by
// hand for any merchant × range and by the sealer for every hour that
// closes. A job runs the streaming job's own transforms
// (transforms.MetricsFromEvents) in batch over the archive, in chunks of
// hours so that a runner holding a whole batch in memory (Prism) stays
// bounded, and writes each row with one mutation (btsink.WriteSealed)
// stamped with the run's generation. A full run then records the
// generation as each hour's sealed_at, which retires every row the run did
// not write (layout.Current); a merchant-scoped run writes explicit rows
// for each of its merchant-hours instead and touches nothing else.
package seal

import (
	"errors"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/pipelines/io/btsink"
	"github.com/footfall/footfall/pipelines/transforms"
)

func init() {
	register.DoFn2x1[string, layout.RowContent, error](&collectFn{})
	register.DoFn3x0[beam.EventTime, event.Event, func(beam.EventTime, event.Event)](&shardFn{})
	register.Emitter2[beam.EventTime, event.Event]()
}

// Job is one batch run over a chunk of hours.
type Job struct {
	// From and To bound the hours recomputed, [From, To), hour-aligned.
	From, To time.Time
	// Merchants scopes the run; empty means every merchant.
	Merchants []string
	Source    Source
	// Bigtable names the metrics instance; SealedAt is set by Run.
	Bigtable btsink.Options
	// MaxNames and TopK bound rows like the streaming job's.
	MaxNames, TopK int
	// DryRun computes without writing; the totals go to a Collector.
	DryRun bool
	// Shard and Shards, when Shards > 1, keep only the merchants whose id
	// hashes to Shard (MerchantShard): a chunk is then recomputed by
	// Shards jobs, each holding a part of its merchants in memory.
	Shard, Shards int
	// InjectBug is TEST ONLY (transforms.Options.InjectBug).
	InjectBug string
}

// MerchantShard is the shard of n a merchant belongs to (FNV-1a of its id).
func MerchantShard(merchant string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(merchant))
	return int(h.Sum32() % uint32(n))
}

// shardFn keeps the events of one merchant shard.
type shardFn struct{ Shard, Shards int }

func (fn *shardFn) ProcessElement(t beam.EventTime, e event.Event, emit func(beam.EventTime, event.Event)) {
	if MerchantShard(e.MerchantID, fn.Shards) == fn.Shard {
		emit(t, e)
	}
}

// Validate reports the first problem with j.
func (j Job) Validate() error {
	switch {
	case j.From.IsZero() || j.To.IsZero():
		return errors.New("seal: the range needs both --from and --to")
	case !j.From.Equal(layout.Hour(j.From)) || !j.To.Equal(layout.Hour(j.To)):
		return fmt.Errorf("seal: the range [%s, %s) must start and end on whole UTC hours (e.g. 2026-11-26T14:00:00Z)", j.From.Format(time.RFC3339), j.To.Format(time.RFC3339))
	case !j.From.Before(j.To):
		return fmt.Errorf("seal: the range [%s, %s) is empty; --from must be before --to", j.From.Format(time.RFC3339), j.To.Format(time.RFC3339))
	case j.Source == nil:
		return errors.New("seal: no source")
	case j.Bigtable.Project == "" || j.Bigtable.Instance == "":
		return errors.New("seal: the Bigtable project and instance are required")
	case j.Shards > 1 && (j.Shard < 0 || j.Shard >= j.Shards):
		return fmt.Errorf("seal: shard %d of %d does not exist", j.Shard, j.Shards)
	}
	for _, m := range j.Merchants {
		if !event.ValidMerchantID(m) {
			return fmt.Errorf("seal: %q is not a merchant id (lower-case letters, digits, _ and -)", m)
		}
	}
	return nil
}

// Hours lists the hours of the job's range.
func (j Job) Hours() []time.Time {
	var hs []time.Time
	for h := j.From; h.Before(j.To); h = h.Add(time.Hour) {
		hs = append(hs, h)
	}
	return hs
}

// Pipeline builds the batch pipeline of the job: read the archive over
// transforms.InputRange (sessions, deduplication and attachment need the
// events around the range), compute every metric for the hours of the
// range, and write them sealed (or hand the totals to collector on a dry
// run).
func (j Job) Pipeline(collector *Collector) (*beam.Pipeline, error) {
	if err := j.Validate(); err != nil {
		return nil, err
	}
	p, s := beam.NewPipelineWithRoot()
	inFrom, inTo := transforms.InputRange(j.From, j.To)
	events := j.Source.Read(s, inFrom, inTo, j.Merchants)
	if j.Shards > 1 {
		events = beam.ParDo(s.Scope("MerchantShard"), &shardFn{Shard: j.Shard, Shards: j.Shards}, events)
	}
	opts := transforms.Options{MaxNames: j.MaxNames, TopK: j.TopK, From: j.From, To: j.To, InjectBug: j.InjectBug}
	// A scoped run cannot retire rows through the hour's seal record
	// (other merchants share it): it writes every merchant-hour of its
	// scope, zero where the archive has nothing.
	for _, m := range j.Merchants {
		if j.Shards > 1 && MerchantShard(m, j.Shards) != j.Shard {
			continue // another shard's job writes this merchant
		}
		for _, h := range j.Hours() {
			opts.Cover = append(opts.Cover, layout.TotalsKey(m, h))
		}
	}
	out := transforms.MetricsFromEvents(s, events, opts)
	if j.DryRun {
		if collector == nil {
			return nil, errors.New("seal: a dry run needs a collector")
		}
		beam.ParDo0(s, &collectFn{ID: collector.id}, out.Rows)
		return p, nil
	}
	btsink.WriteSealed(s, j.Bigtable, out.Rows)
	return p, nil
}

// Collector receives a dry run's totals. The DoFn that fills it runs in
// this process: dry runs are for Prism (loopback), not Dataflow.
type Collector struct {
	id string
	mu sync.Mutex
	m  map[string]layout.Totals
}

var collectors = struct {
	sync.Mutex
	n  int
	by map[string]*Collector
}{by: map[string]*Collector{}}

// NewCollector returns an empty collector; Close releases it.
func NewCollector() *Collector {
	collectors.Lock()
	defer collectors.Unlock()
	collectors.n++
	c := &Collector{id: fmt.Sprint(collectors.n), m: map[string]layout.Totals{}}
	collectors.by[c.id] = c
	return c
}

// Close forgets the collector.
func (c *Collector) Close() {
	collectors.Lock()
	delete(collectors.by, c.id)
	collectors.Unlock()
}

// Totals returns the collected totals by row key.
func (c *Collector) Totals() map[string]layout.Totals {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]layout.Totals, len(c.m))
	for k, v := range c.m {
		out[k] = v
	}
	return out
}

type collectFn struct{ ID string }

func (fn *collectFn) ProcessElement(key string, rc layout.RowContent) error {
	k, err := layout.ParseKey(key)
	if err != nil || k.Kind != layout.KindTotals {
		return nil // the dry run compares totals rows
	}
	t, err := layout.TotalsFromCells(rc.Cells)
	if err != nil {
		return fmt.Errorf("seal: dry run: decode %s: %w", key, err)
	}
	collectors.Lock()
	c := collectors.by[fn.ID]
	collectors.Unlock()
	if c == nil {
		panic("seal: dry-run totals produced outside the process that runs the job; dry runs need --runner=prism")
	}
	c.mu.Lock()
	c.m[key] = *t
	c.mu.Unlock()
	return nil
}
