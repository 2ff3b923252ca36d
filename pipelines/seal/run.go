package seal

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sort"
	"time"

	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/pipelines/internal/counters"
	"github.com/footfall/footfall/pipelines/io/archive"
	"github.com/footfall/footfall/pipelines/io/btsink"
	"github.com/footfall/footfall/pipelines/transforms"
)

// Runner runs jobs chunk by chunk and keeps the seal records.
type Runner struct {
	// Runner is the Beam runner ("prism" locally, "dataflow").
	Runner   string
	Source   Source
	Bigtable btsink.Options
	// MaxNames and TopK bound rows like the streaming job's.
	MaxNames, TopK int
	Records        *Records
	// ChunkHours is how many hours one batch job recomputes (its memory
	// on Prism grows with the events of ChunkHours + 2 hours).
	ChunkHours int
	// MerchantShards (> 1) splits each chunk into that many jobs by
	// merchant (Job.Shards): memory / MerchantShards, archive reads ×
	// MerchantShards.
	MerchantShards int
	// MaxEventsPerJob bounds the archived events one batch job reads on
	// Prism (0: DefaultMaxEventsPerJob; negative: no bound): a chunk with
	// more is split by visitor (shards.go), which bounds the sealer's
	// memory whatever the events of one merchant's hour.
	MaxEventsPerJob int64
	// InjectBug is TEST ONLY (transforms.Options.InjectBug).
	InjectBug string
	Log       *slog.Logger
	// OnChunk, when set, is called after each chunk (progress).
	OnChunk func(Chunk)
	// Clock gives a run's generation (default time.Now); tests that
	// simulate time set it.
	Clock   func() time.Time
	lastGen int64
}

// visitorShardsFor says into how many jobs by visitor the chunk must be
// split on Prism (1: none): its input range's archived events /
// MaxEventsPerJob, when the source can count them.
func (r *Runner) visitorShardsFor(ctx context.Context, job Job, dryRun bool) (int, error) {
	limit := r.MaxEventsPerJob
	if limit == 0 {
		limit = DefaultMaxEventsPerJob
	}
	if _, local := r.Source.(Dir); dryRun || limit < 0 || !local || isDataflow(r.Runner) || r.MerchantShards > 1 {
		return 1, nil
	}
	inFrom, inTo := transforms.InputRange(job.From, job.To)
	var total int64
	for h := layout.Hour(inFrom); h.Before(inTo); h = h.Add(time.Hour) {
		st, ok, err := r.Source.Stat(ctx, h)
		if err != nil {
			return 0, err
		}
		if !ok {
			return 1, nil
		}
		total += st.Rows
	}
	return int(max(1, (total+limit-1)/limit)), nil
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "?"
	}
	return h
}

// Chunk is what one batch job did.
type Chunk struct {
	From, To      time.Time
	Hours         int
	EventsRead    int64 // archived events read (the range plus the session margins)
	RowsChanged   int64
	RowsSame      int64
	Duration      time.Duration
	Generation    int64
	DryRunDiffs   []Diff
	Reason        string // why the sealer sealed it
	MerchantRuns  bool
	VisitorShards int // jobs the chunk was split into by visitor (0: one job)
	// With visitor shards: the events written to the spill archives and
	// the time that took (the rest of Duration is the jobs and the write).
	SpilledEvents int64
	SpillDuration time.Duration
}

// Summary adds up chunks.
type Summary struct {
	Chunks, Hours         int
	EventsRead            int64
	RowsChanged, RowsSame int64
	Duration              time.Duration
}

func (s *Summary) add(c Chunk) {
	s.Chunks++
	s.Hours += c.Hours
	s.EventsRead += c.EventsRead
	s.RowsChanged += c.RowsChanged
	s.RowsSame += c.RowsSame
}

// Diff is one merchant-hour's main metrics before and after (dry run).
type Diff struct {
	Merchant string
	Hour     time.Time
	Old, New Metrics
}

// Metrics are the headline numbers a dry run compares.
type Metrics struct {
	Present                      bool
	Events, PageViews, Visitors  int64
	Sessions, Bounces, BotEvents int64
	Revenue                      layout.Money
}

func metricsOf(t *layout.Totals) Metrics {
	if t == nil {
		return Metrics{}
	}
	return Metrics{Present: true, Events: t.Events, PageViews: t.PageViews, Visitors: t.VisitorCount(),
		Sessions: t.Sessions, Bounces: t.Bounces, BotEvents: t.BotEvents, Revenue: t.Revenue}
}

// Backfill recomputes [from, to) for the merchants (every merchant when
// empty), chunk by chunk. With dryRun nothing is written and each chunk's
// Diffs say what would change.
func (r *Runner) Backfill(ctx context.Context, from, to time.Time, merchants []string, dryRun bool) (Summary, error) {
	start := time.Now()
	var sum Summary
	probe := Job{From: from, To: to, Merchants: merchants, Source: r.Source, Bigtable: r.Bigtable}
	if err := probe.Validate(); err != nil {
		return sum, err
	}
	if err := r.Source.Check(ctx); err != nil {
		return sum, err
	}
	for _, c := range chunks(probe.Hours(), r.chunkHours()) {
		ch, err := r.runChunk(ctx, c[0], c[len(c)-1].Add(time.Hour), merchants, dryRun, "backfill")
		sum.add(ch)
		if err != nil {
			sum.Duration = time.Since(start)
			return sum, err
		}
	}
	sum.Duration = time.Since(start)
	return sum, nil
}

func (r *Runner) chunkHours() int {
	if r.ChunkHours > 0 {
		return r.ChunkHours
	}
	return 3
}

// chunks splits hours (sorted) into runs of consecutive hours of at most n.
func chunks(hours []time.Time, n int) [][]time.Time {
	var out [][]time.Time
	for _, h := range hours {
		last := len(out) - 1
		if last >= 0 && len(out[last]) < n && out[last][len(out[last])-1].Add(time.Hour).Equal(h) {
			out[last] = append(out[last], h)
			continue
		}
		out = append(out, []time.Time{h})
	}
	return out
}

// LeaseTTL is how long a seal lease outlives its holder's last renewal.
const LeaseTTL = time.Minute

// runChunk runs one batch job over [from, to) and records it. A run that
// writes takes the seal lease first (Records.AcquireLease) and its
// generation only then, so that runs on the same hours are serialised and
// a later one always writes a later generation.
func (r *Runner) runChunk(ctx context.Context, from, to time.Time, merchants []string, dryRun bool, reason string) (Chunk, error) {
	start := time.Now()
	if !dryRun {
		holder := fmt.Sprintf("%s pid %d %s [%s, %s) %d", hostname(), os.Getpid(), reason, from.Format(time.RFC3339), to.Format(time.RFC3339), start.UnixNano())
		lease, err := r.Records.AcquireLease(ctx, holder, LeaseTTL, func(msg string, args ...any) {
			if r.Log != nil {
				r.Log.InfoContext(ctx, msg, args...)
			}
		})
		if err != nil {
			return Chunk{From: from, To: to}, err
		}
		defer func() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := lease.Release(rctx); err != nil && r.Log != nil {
				r.Log.WarnContext(ctx, "releasing the seal lease failed; it expires by itself", "err", err, "ttl", LeaseTTL)
			}
		}()
	}
	gen := time.Now().UnixMicro()
	if r.Clock != nil {
		gen = max(r.Clock().UnixMicro(), r.lastGen+1)
	}
	r.lastGen = gen
	full := len(merchants) == 0
	job := Job{From: from, To: to, Merchants: merchants, Source: r.Source, Bigtable: r.Bigtable, MaxNames: r.MaxNames, TopK: r.TopK, DryRun: dryRun, InjectBug: r.InjectBug}
	job.Bigtable.SealedAt = gen
	ch := Chunk{From: from, To: to, Hours: len(job.Hours()), Generation: gen, Reason: reason, MerchantRuns: !full}

	// What the archive holds, read before the job reads it: an event
	// archived meanwhile makes the recorded count differ, so the sealer
	// seals the hour again.
	type stat struct {
		st archive.HourStat
		ok bool
	}
	stats := map[time.Time]stat{}
	if full && !dryRun {
		for _, h := range job.Hours() {
			st, ok, err := r.Source.Stat(ctx, h)
			if err != nil {
				return ch, err
			}
			stats[h] = stat{st, ok}
		}
	}
	var col *Collector
	if dryRun {
		col = NewCollector()
		defer col.Close()
	}
	read0, changed0, same0 := counters.Value(eventsRead), counters.Value(rowsChanged), counters.Value(rowsSame)
	vshards, err := r.visitorShardsFor(ctx, job, dryRun)
	if err != nil {
		return ch, err
	}
	// Every shard writes with the same generation; the seal records follow
	// only once all of them succeeded.
	shards := max(r.MerchantShards, 1)
	if vshards > 1 {
		shards = 0 // the visitor shards below do the work
		ch.VisitorShards = vshards
		if err := r.runVisitorShards(ctx, job, vshards, gen, &ch); err != nil {
			return ch, err
		}
	}
	for shard := range shards {
		job.Shard, job.Shards = shard, shards
		p, err := job.Pipeline(col)
		if err != nil {
			return ch, err
		}
		kind := "seal"
		if reason == "backfill" {
			kind = "backfill"
		}
		lo := LaunchOptions{JobName: ChunkJobName(kind, from, len(job.Hours()), shard, shards, gen), Log: r.Log}
		if err := Launch(ctx, r.Runner, p, lo); err != nil {
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return ch, fmt.Errorf("seal: the batch job for [%s, %s) (merchant shard %d of %d) failed; nothing is lost, run the same command again: %w",
				from.Format(time.RFC3339), to.Format(time.RFC3339), shard+1, shards, err)
		}
	}
	ch.EventsRead = counters.Value(eventsRead) - read0
	ch.RowsChanged, ch.RowsSame = counters.Value(rowsChanged)-changed0, counters.Value(rowsSame)-same0
	if dryRun {
		diffs, err := r.diffs(ctx, job, col.Totals())
		if err != nil {
			return ch, err
		}
		ch.DryRunDiffs = diffs
	} else {
		for _, h := range job.Hours() {
			if err := r.Records.Record(ctx, h, gen, full, stats[h].st, stats[h].ok); err != nil {
				return ch, err
			}
		}
	}
	ch.Duration = time.Since(start)
	if r.Log != nil {
		r.Log.InfoContext(ctx, "chunk sealed", "from", from, "to", to, "hours", ch.Hours, "merchants", len(merchants),
			"dry_run", dryRun, "reason", reason, "events_read", ch.EventsRead, "rows_changed", ch.RowsChanged,
			"rows_unchanged", ch.RowsSame, "generation", gen, "seconds", ch.Duration.Seconds())
	}
	if r.OnChunk != nil {
		r.OnChunk(ch)
	}
	return ch, nil
}

// The process counters this package reads (defined where they count).
const (
	eventsRead  = "archive_events_read"
	rowsChanged = "sealed_rows_changed"
	rowsSame    = "sealed_rows_unchanged"
)

// diffs pairs the dry run's new totals with what is served now.
func (r *Runner) diffs(ctx context.Context, job Job, totals map[string]layout.Totals) ([]Diff, error) {
	keys := make([]string, 0, len(totals))
	for k := range totals {
		keys = append(keys, k)
	}
	for _, m := range job.Merchants {
		for _, h := range job.Hours() {
			if k := layout.TotalsKey(m, h); !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	seals, err := r.Records.Seals(ctx, job.From, job.To)
	if err != nil {
		return nil, err
	}
	old, err := r.Records.ServedTotals(ctx, keys, seals)
	if err != nil {
		return nil, err
	}
	var out []Diff
	for _, k := range keys {
		pk, err := layout.ParseKey(k)
		if err != nil {
			return nil, err
		}
		d := Diff{Merchant: pk.Merchant, Hour: pk.Time, Old: metricsOf(old[k])}
		if t, ok := totals[k]; ok {
			d.New = metricsOf(&t)
		}
		out = append(out, d)
	}
	return out, nil
}
