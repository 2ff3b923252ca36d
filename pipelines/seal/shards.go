package seal

import (
	"context"
	"fmt"
	"hash/maphash"
	"os"
	"path/filepath"
	"runtime"
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
// A chunk whose input holds more than MaxEventsPerJob events is split.
// Every event in the chunk's hours is kept; an event in the rest of the
// input (the margins InputRange adds before and after them) is kept only
// when its visitor has an event in the hours (the others cannot change
// the hours' values). So:
//
//  1. one pass over the hours writes each event to one of N spill
//     archives by a hash of its visitor, noting the visitors; a
//     user-id-only event is held until its visitor is known;
//  2. when there are such events, a pass over the input reads the
//     sightings (user id + anonymous id) of their user ids, so that each is
//     routed with the visitor the transforms will attach it to (the same
//     rule, AttachWindow);
//  3. one pass over the margins writes the events of the visitors noted
//     (a margin's user-id-only events, whose users are then not known yet,
//     add one pass over the margins for their users before step 2);
//  4. N batch jobs, one after the other, run the streaming job's
//     transforms over one spill archive each; their aggregates are merged
//     in this process and written as the seal, under one generation.
//
// The hours are read once and the margins once (twice with user-id-only
// events in them), and the spill files are encoded on every core while
// the archive is read.
//
// Memory: one job's share of the events, plus the aggregates of the
// chunk's merchant-hours (bounded per breakdown, not by events).

// DefaultMaxEventsPerJob is how many archived events one batch job on
// Prism reads at most before the sealer splits a chunk by visitor
// (docs/benchmarks.md: Prism holds about 2.5 GiB per million events of a
// job). At 500,000 the sealer peaked at 1.7–2.0 GiB sealing a 16 M-event
// hour; at 1,000,000 it reached 3.8–4.1 GiB on the soak's hours, at the
// edge of the 4 GiB it is meant to stay under.
const DefaultMaxEventsPerJob = 500_000

func init() {
	register.DoFn3x1[context.Context, string, transforms.Aggregate, error](&collectAggFn{})
}

// visitor is the visitor an event belongs to for the transforms: its
// anonymous id, or for a user-id-only event the anonymous id it will be
// attached to, else its user id (user set).
type visitor struct {
	merchant, id string
	user         bool
}

func visitorOf(e *event.Event, attached string) visitor {
	switch {
	case e.AnonymousID != "":
		return visitor{e.MerchantID, e.AnonymousID, false}
	case attached != "":
		return visitor{e.MerchantID, attached, false}
	}
	return visitor{e.MerchantID, e.UserID, true}
}

// visitorSeed seeds the hashes of one process's splits (a split's
// passes all run in the process that runs its jobs).
var visitorSeed = maphash.MakeSeed()

// hash is the visitor's 64-bit hash: its spill shard, and its key in the
// set of visitors with events in the hours. Two visitors with one hash
// (about one chance in 10^7 among a million visitors) share a shard, which
// is harmless, and one's margin events may be kept for the other's sake,
// which is too: the hours' values cannot depend on a visitor with no event
// in them, and the unsplit job reads those events as well.
func (v visitor) hash() uint64 { return maphash.Comparable(visitorSeed, v) }

// userKey is the merchant and user id of e, the key of users and
// sightings.
func userKey(e *event.Event) string { return e.MerchantID + "\x00" + e.UserID }

// sighting is a time an anonymous id was seen with a user id.
type sighting struct {
	at   int64
	anon string
}

// spillPlan is what the first two passes learn.
type spillPlan struct {
	active    map[uint64]struct{}   // hashes of the visitors with events in the hours
	sightings map[string][]sighting // merchant + user id → sightings, sorted
	bots      *enrich.Enricher
}

// attached is the anonymous id a user-id-only event is attached to
// (transforms: the latest sighting at most AttachWindow before it), or "".
func (p *spillPlan) attached(e *event.Event) string {
	ss := p.sightings[userKey(e)]
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

func (p *spillPlan) isActive(h uint64) bool {
	_, ok := p.active[h]
	return ok
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
	hours := archive.Query{From: job.From, To: job.To, Merchants: job.Merchants}
	margins := []archive.Query{
		{From: inFrom, To: job.From, Merchants: job.Merchants},
		{From: job.To, To: inTo, Merchants: job.Merchants},
	}
	scanMargins := func(fn func(*event.Event) error) error {
		for _, q := range margins {
			if err := archive.Scan(ctx, src, q, fn); err != nil {
				return err
			}
		}
		return nil
	}
	p := &spillPlan{active: map[uint64]struct{}{}, sightings: map[string][]sighting{}, bots: enrich.New(enrich.DefaultCacheSize)}
	sp, err := newSpiller(ctx, tmp, n)
	if err != nil {
		return nil, 0, err
	}
	defer sp.abort()
	users := map[string]bool{}
	var held []event.Event // the hours' user-id-only events
	// Pass 1: the hours.
	err = archive.Scan(ctx, src, hours, func(e *event.Event) error {
		if p.orphan(e) {
			users[userKey(e)] = true
			held = append(held, *e)
			return nil
		}
		h := visitorOf(e, "").hash()
		p.active[h] = struct{}{}
		return sp.add(h, e)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("seal: split by visitor, pass over the hours: %w", err)
	}
	input := archive.Query{From: inFrom, To: inTo, Merchants: job.Merchants}
	// Pass 2, with user-id-only events in the hours: the users of those in
	// the margins too, and the sightings of all of them.
	sightingsRead := len(held) > 0
	if sightingsRead {
		err = scanMargins(func(e *event.Event) error {
			if p.orphan(e) {
				users[userKey(e)] = true
			}
			return nil
		})
		if err == nil {
			err = p.readSightings(ctx, src, input, users)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("seal: split by visitor, pass for the sightings: %w", err)
		}
		for i := range held {
			e := &held[i]
			h := visitorOf(e, p.attached(e)).hash()
			p.active[h] = struct{}{}
			if err := sp.add(h, e); err != nil {
				return nil, 0, err
			}
		}
		held = nil
	}
	// Pass 3: the margins' events of the visitors noted. Without
	// sightings read, a margin's user-id-only events wait for a pass of
	// their own.
	marginOrphans := false
	err = scanMargins(func(e *event.Event) error {
		var attached string
		if p.orphan(e) {
			if !sightingsRead {
				users[userKey(e)] = true
				marginOrphans = true
				return nil
			}
			attached = p.attached(e)
		}
		if h := visitorOf(e, attached).hash(); p.isActive(h) {
			return sp.add(h, e)
		}
		return nil
	})
	if err == nil && marginOrphans {
		err = p.readSightings(ctx, src, input, users)
		if err == nil {
			err = scanMargins(func(e *event.Event) error {
				if !p.orphan(e) {
					return nil
				}
				if h := visitorOf(e, p.attached(e)).hash(); p.isActive(h) {
					return sp.add(h, e)
				}
				return nil
			})
		}
	}
	if err != nil {
		return nil, 0, fmt.Errorf("seal: split by visitor, pass over the margins: %w", err)
	}
	written, err := sp.close()
	if err != nil {
		return nil, 0, fmt.Errorf("seal: split by visitor: %w", err)
	}
	return sp.dirs, written, nil
}

// readSightings reads the sightings of users in q: the anonymous ids a
// human's events carried with each user id, sorted by time.
func (p *spillPlan) readSightings(ctx context.Context, src string, q archive.Query, users map[string]bool) error {
	p.sightings = map[string][]sighting{}
	err := archive.Scan(ctx, src, q, func(e *event.Event) error {
		k := userKey(e)
		if e.AnonymousID != "" && e.UserID != "" && users[k] && !p.bots.Agent(e.UserAgent).Bot {
			p.sightings[k] = append(p.sightings[k], sighting{e.EventTime, e.AnonymousID})
		}
		return nil
	})
	for _, ss := range p.sightings {
		sort.SliceStable(ss, func(i, j int) bool { return ss[i].at < ss[j].at })
	}
	return err
}

// spillBatch is how many events a spill file holds at most.
const spillBatch = 20_000

// spiller writes events to n spill archives by visitor. Full batches are
// encoded (Parquet, zstd) by one goroutine per core while the caller goes
// on reading the archive.
type spiller struct {
	ctx     context.Context
	cancel  context.CancelFunc
	dirs    []string
	writers []*archive.Writer
	bufs    [][]event.Event
	work    chan spillWork
	free    chan []event.Event // written batches, for reuse
	wg      sync.WaitGroup
	written int64

	mu  sync.Mutex
	err error
}

type spillWork struct {
	shard  int
	events []event.Event
}

func newSpiller(ctx context.Context, tmp string, n int) (*spiller, error) {
	workers := runtime.GOMAXPROCS(0)
	s := &spiller{dirs: make([]string, n), writers: make([]*archive.Writer, n), bufs: make([][]event.Event, n),
		work: make(chan spillWork, workers), free: make(chan []event.Event, 2*workers)}
	s.ctx, s.cancel = context.WithCancel(ctx)
	for i := range s.dirs {
		s.dirs[i] = filepath.Join(tmp, fmt.Sprint(i))
		w, err := archive.NewScratchWriter(s.dirs[i])
		if err != nil {
			s.cancel()
			return nil, err
		}
		s.writers[i] = w
	}
	for range workers {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for w := range s.work {
				if err := s.writers[w.shard].WriteBatch(s.ctx, w.events); err != nil {
					s.fail(err)
				}
				select {
				case s.free <- w.events[:0]:
				default:
				}
			}
		}()
	}
	return s, nil
}

func (s *spiller) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
		s.cancel()
	}
}

func (s *spiller) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// add queues e for the spill archive of the visitor hash h.
func (s *spiller) add(h uint64, e *event.Event) error {
	i := int(h % uint64(len(s.dirs)))
	if s.bufs[i] == nil {
		select {
		case s.bufs[i] = <-s.free:
		default:
			s.bufs[i] = make([]event.Event, 0, spillBatch)
		}
	}
	s.bufs[i] = append(s.bufs[i], *e)
	s.written++
	if len(s.bufs[i]) >= spillBatch {
		return s.send(i)
	}
	return nil
}

func (s *spiller) send(i int) error {
	if err := s.failed(); err != nil {
		return err
	}
	select {
	case s.work <- spillWork{i, s.bufs[i]}:
		s.bufs[i] = nil
		return nil
	case <-s.ctx.Done():
		if err := s.failed(); err != nil {
			return err
		}
		return s.ctx.Err()
	}
}

// close writes what is buffered, waits for every batch to be durable and
// returns the events written.
func (s *spiller) close() (int64, error) {
	var err error
	for i := range s.bufs {
		if err == nil && len(s.bufs[i]) > 0 {
			err = s.send(i)
		}
	}
	close(s.work)
	s.work = nil
	s.wg.Wait()
	s.cancel()
	if e := s.failed(); e != nil {
		return 0, e
	}
	return s.written, err
}

// abort stops the writers of a spill that did not reach close.
func (s *spiller) abort() {
	if s.work != nil {
		s.cancel()
		close(s.work)
		s.wg.Wait()
	}
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
// writes the merged rows sealed with job.Bigtable.SealedAt. It notes the
// spill in ch.
func (r *Runner) runVisitorShards(ctx context.Context, job Job, n int, gen int64, ch *Chunk) error {
	dir, ok := r.Source.(Dir)
	if !ok {
		return fmt.Errorf("seal: visitor shards read a local archive, not %s", r.Source)
	}
	tmp, err := os.MkdirTemp("", "footfall-seal-shards-")
	if err != nil {
		return fmt.Errorf("seal: visitor shards need a temporary directory: %w", err)
	}
	defer os.RemoveAll(tmp)
	start := time.Now()
	dirs, spilled, err := spillByVisitor(ctx, string(dir), job, n, tmp)
	if err != nil {
		return err
	}
	ch.SpilledEvents, ch.SpillDuration = spilled, time.Since(start)
	if r.Log != nil {
		r.Log.InfoContext(ctx, "chunk split by visitor", "from", job.From, "to", job.To, "shards", n,
			"events_kept", spilled, "seconds", ch.SpillDuration.Seconds())
	}
	col := newAggCollector()
	defer col.close()
	for i, d := range dirs {
		sj := job
		sj.Source = Dir(d)
		p, err := sj.aggregatePipeline(col.id)
		if err != nil {
			return err
		}
		lo := LaunchOptions{JobName: ChunkJobName("seal", job.From, len(job.Hours()), i, n, gen), Log: r.Log}
		if err := Launch(ctx, r.Runner, p, lo); err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return fmt.Errorf("seal: the batch job for [%s, %s) (visitor shard %d of %d) failed; nothing is lost, run the same command again: %w",
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
			return err
		}
		for _, row := range rows {
			rowKeys, contents = append(rowKeys, row.Key), append(contents, row.Content)
		}
		delete(col.aggs, k) // its rows are made: let it go
	}
	return btsink.WriteSealedRows(ctx, job.Bigtable, rowKeys, contents)
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
