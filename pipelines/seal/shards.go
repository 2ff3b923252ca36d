package seal

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/pipelines/enrich"
	"github.com/footfall/footfall/pipelines/io/archive"
	"github.com/footfall/footfall/pipelines/io/btsink"
	"github.com/footfall/footfall/pipelines/transforms"
)

// Visitor shards bound the sealer's memory on Prism, which holds a batch
// job's whole input in memory, independently of the events in an hour:
// one merchant's busy hour cannot be split by merchant, but everything the
// transforms compute per event — deduplication, attachment, sessions — is
// per visitor, so an hour's events split by visitor give partial
// aggregates that merge exactly (transforms.Aggregate.Merge: counts add,
// sketches of disjoint visitors merge, breakdowns merge and are truncated
// once, at the end).
//
// A chunk whose input holds more than MaxEventsPerJob events is split:
//
//  1. one pass over the archive notes the visitors with events in the
//     chunk's hours, and the user ids of user-id-only events;
//  2. a second pass reads the sightings (user id + anonymous id) of those
//     user ids, so that each user-id-only event is routed with the visitor
//     the transforms will attach it to (the same rule, AttachWindow);
//  3. a third pass writes every event the chunk's hours depend on — those
//     in the hours, and the context events of their visitors — to one of N
//     spill archives by a hash of its visitor (events of visitors with no
//     event in the hours cannot change them and are left out);
//  4. N batch jobs, one after the other, run the streaming job's
//     transforms over one spill archive each; their aggregates are merged
//     in this process and written as the seal, under one generation.
//
// Memory: one job's share of the events, plus the aggregates of the
// chunk's merchant-hours (bounded per breakdown, not by events).

// DefaultMaxEventsPerJob is how many archived events one batch job on
// Prism reads at most before the sealer splits a chunk by visitor
// (docs/benchmarks.md: Prism holds about 2.5 GiB per million events of a
// job).
const DefaultMaxEventsPerJob = 1_000_000

func init() {
	register.DoFn3x1[context.Context, string, transforms.Aggregate, error](&collectAggFn{})
}

// routeKey is the visitor an event belongs to for the transforms: its
// anonymous id, or for a user-id-only event the anonymous id it will be
// attached to, else its user id (marked).
func routeKey(e *event.Event, attached string) string {
	switch {
	case e.AnonymousID != "":
		return e.MerchantID + "\x00" + e.AnonymousID
	case attached != "":
		return e.MerchantID + "\x00" + attached
	}
	return e.MerchantID + "\x00\x01" + e.UserID
}

// sighting is a time an anonymous id was seen with a user id.
type sighting struct {
	at   int64
	anon string
}

// spillPlan is what the first two passes learn.
type spillPlan struct {
	active    map[string]bool       // route keys with events in the hours
	sightings map[string][]sighting // merchant + user id → sightings, sorted
	bots      *enrich.Enricher
}

// attached is the anonymous id a user-id-only event is attached to
// (transforms: the latest sighting at most AttachWindow before it), or "".
func (p *spillPlan) attached(e *event.Event) string {
	ss := p.sightings[e.MerchantID+"\x00"+e.UserID]
	i := sort.Search(len(ss), func(i int) bool { return ss[i].at > e.EventTime })
	if i == 0 {
		return ""
	}
	s := ss[i-1]
	if e.EventTime-s.at > transforms.AttachWindow.Microseconds() {
		return ""
	}
	return s.anon
}

// orphan reports whether e is a user-id-only event of a human (the events
// the transforms attach).
func (p *spillPlan) orphan(e *event.Event) bool {
	return e.AnonymousID == "" && e.UserID != "" && !p.bots.Agent(e.UserAgent).Bot
}

// spillByVisitor splits the job's input into n spill archives under tmp
// (tmp/0, tmp/1, …) by visitor, keeping what the job's hours depend on.
// It returns the spill directories and the events written.
func spillByVisitor(ctx context.Context, src string, job Job, n int, tmp string) ([]string, int64, error) {
	inFrom, inTo := transforms.InputRange(job.From, job.To)
	q := archive.Query{From: inFrom, To: inTo, Merchants: job.Merchants}
	from, to := job.From.UnixMicro(), job.To.UnixMicro()
	p := &spillPlan{active: map[string]bool{}, sightings: map[string][]sighting{}, bots: enrich.New(enrich.DefaultCacheSize)}
	users := map[string]bool{}
	var inRangeOrphans []event.Event
	// Pass 1: visitors of the hours; user ids of user-id-only events.
	err := archive.Scan(ctx, src, q, func(e *event.Event) error {
		if p.orphan(e) {
			users[e.MerchantID+"\x00"+e.UserID] = true
			if e.EventTime >= from && e.EventTime < to {
				inRangeOrphans = append(inRangeOrphans, *e)
			}
			return nil
		}
		if e.EventTime >= from && e.EventTime < to {
			p.active[routeKey(e, "")] = true
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("seal: split by visitor, pass 1: %w", err)
	}
	// Pass 2: the sightings of those user ids.
	if len(users) > 0 {
		err = archive.Scan(ctx, src, q, func(e *event.Event) error {
			k := e.MerchantID + "\x00" + e.UserID
			if e.AnonymousID != "" && e.UserID != "" && users[k] && !p.bots.Agent(e.UserAgent).Bot {
				p.sightings[k] = append(p.sightings[k], sighting{e.EventTime, e.AnonymousID})
			}
			return nil
		})
		if err != nil {
			return nil, 0, fmt.Errorf("seal: split by visitor, pass 2: %w", err)
		}
		for _, ss := range p.sightings {
			sort.SliceStable(ss, func(i, j int) bool { return ss[i].at < ss[j].at })
		}
	}
	for i := range inRangeOrphans {
		e := &inRangeOrphans[i]
		p.active[routeKey(e, p.attached(e))] = true
	}
	// Pass 3: write what the hours depend on, by visitor.
	dirs := make([]string, n)
	writers := make([]*archive.Writer, n)
	bufs := make([][]event.Event, n)
	for i := range dirs {
		dirs[i] = filepath.Join(tmp, fmt.Sprint(i))
		w, err := archive.NewWriter(dirs[i])
		if err != nil {
			return nil, 0, err
		}
		writers[i] = w
	}
	flush := func(i int) error {
		if len(bufs[i]) == 0 {
			return nil
		}
		err := writers[i].WriteBatch(ctx, bufs[i])
		bufs[i] = bufs[i][:0]
		return err
	}
	var written int64
	err = archive.Scan(ctx, src, q, func(e *event.Event) error {
		var attached string
		if p.orphan(e) {
			attached = p.attached(e)
		}
		k := routeKey(e, attached)
		if !(e.EventTime >= from && e.EventTime < to) && !p.active[k] {
			return nil
		}
		i := shardOf(k, n)
		bufs[i] = append(bufs[i], *e)
		written++
		if len(bufs[i]) >= 20_000 {
			return flush(i)
		}
		return nil
	})
	for i := range bufs {
		if err == nil {
			err = flush(i)
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("seal: split by visitor, pass 3: %w", err)
	}
	return dirs, written, nil
}

func shardOf(key string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}

// aggCollectors are the in-process destinations of shard jobs' aggregates
// (the DoFn runs in this process: visitor shards are for Prism).
var aggCollectors = struct {
	sync.Mutex
	n  int
	by map[string]*aggCollector
}{by: map[string]*aggCollector{}}

// aggCollector merges the aggregates of a chunk's shard jobs by key.
type aggCollector struct {
	id   string
	mu   sync.Mutex
	aggs map[string]*transforms.Aggregate
}

func newAggCollector() *aggCollector {
	aggCollectors.Lock()
	defer aggCollectors.Unlock()
	aggCollectors.n++
	c := &aggCollector{id: fmt.Sprint(aggCollectors.n), aggs: map[string]*transforms.Aggregate{}}
	aggCollectors.by[c.id] = c
	return c
}

func (c *aggCollector) close() {
	aggCollectors.Lock()
	delete(aggCollectors.by, c.id)
	aggCollectors.Unlock()
}

func (c *aggCollector) add(key string, a transforms.Aggregate) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur, ok := c.aggs[key]; ok {
		cur.Merge(&a)
		return
	}
	c.aggs[key] = &a
}

type collectAggFn struct{ ID string }

func (fn *collectAggFn) ProcessElement(_ context.Context, key string, a transforms.Aggregate) error {
	aggCollectors.Lock()
	c := aggCollectors.by[fn.ID]
	aggCollectors.Unlock()
	if c == nil {
		return fmt.Errorf("seal: visitor-shard aggregates produced outside the process that runs the job; visitor shards need --runner=prism")
	}
	c.add(key, a)
	return nil
}

// runVisitorShards recomputes job's chunk as n jobs split by visitor and
// writes the merged rows sealed with job.Bigtable.SealedAt.
func (r *Runner) runVisitorShards(ctx context.Context, job Job, n int, gen int64) (int64, error) {
	dir, ok := r.Source.(Dir)
	if !ok {
		return 0, fmt.Errorf("seal: visitor shards read a local archive, not %s", r.Source)
	}
	tmp, err := os.MkdirTemp("", "footfall-seal-shards-")
	if err != nil {
		return 0, fmt.Errorf("seal: visitor shards need a temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	start := time.Now()
	dirs, spilled, err := spillByVisitor(ctx, string(dir), job, n, tmp)
	if err != nil {
		return 0, err
	}
	if r.Log != nil {
		r.Log.InfoContext(ctx, "chunk split by visitor", "from", job.From, "to", job.To, "shards", n,
			"events_kept", spilled, "seconds", time.Since(start).Seconds())
	}
	col := newAggCollector()
	defer col.close()
	for i, d := range dirs {
		sj := job
		sj.Source = Dir(d)
		p, err := sj.aggregatePipeline(col.id)
		if err != nil {
			return spilled, err
		}
		lo := LaunchOptions{JobName: ChunkJobName("seal", job.From, len(job.Hours()), i, n, gen), Log: r.Log}
		if err := Launch(ctx, r.Runner, p, lo); err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return spilled, fmt.Errorf("seal: the batch job for [%s, %s) (visitor shard %d of %d) failed; nothing is lost, run the same command again: %w",
				job.From.Format(time.RFC3339), job.To.Format(time.RFC3339), i+1, n, err)
		}
	}
	// Merchant-scoped runs write every merchant-hour of their scope.
	for _, m := range job.Merchants {
		for _, h := range job.Hours() {
			if k := layout.TotalsKey(m, h); col.aggs[k] == nil {
				col.aggs[k] = &transforms.Aggregate{}
			}
		}
	}
	keys := make([]string, 0, len(col.aggs))
	for k := range col.aggs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var rowKeys []string
	var contents []layout.RowContent
	for _, k := range keys {
		rows, err := transforms.RowsOf(k, col.aggs[k], job.MaxNames, job.TopK)
		if err != nil {
			return spilled, err
		}
		for _, row := range rows {
			rowKeys, contents = append(rowKeys, row.Key), append(contents, row.Content)
		}
		delete(col.aggs, k) // its rows are made: let it go
	}
	return spilled, btsink.WriteSealedRows(ctx, job.Bigtable, rowKeys, contents)
}

// aggregatePipeline is the job's pipeline with the merchant-hour
// aggregates sent to an in-process collector instead of rows to Bigtable.
func (j Job) aggregatePipeline(collector string) (*beam.Pipeline, error) {
	if err := j.Validate(); err != nil {
		return nil, err
	}
	p, s := beam.NewPipelineWithRoot()
	inFrom, inTo := transforms.InputRange(j.From, j.To)
	events := j.Source.Read(s, inFrom, inTo, j.Merchants)
	out := transforms.MetricsFromEvents(s, events, transforms.Options{MaxNames: j.MaxNames, TopK: j.TopK, From: j.From, To: j.To, InjectBug: j.InjectBug})
	beam.ParDo0(s, &collectAggFn{ID: collector}, out.Aggregates)
	return p, nil
}
