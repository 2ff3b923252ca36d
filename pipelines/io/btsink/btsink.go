// Package btsink writes aggregated metrics to Bigtable in the layout of
// internal/layout.
//
//   - Provisional (streaming): each pane of totals or breakdowns is merged
//     into the row's provisional family `p` (counts add, sketches merge, the
//     row's bounds re-applied) with a compare-and-set on the row's
//     generation; realtime minute panes are merged the same way into family
//     `r`. The streaming job never touches the sealed family.
//   - Sealed (batch): each totals or breakdown row's family `s` is replaced
//     whole by one row mutation (layout.ReplaceFamily); `p` is left alone.
//
// Prism fails the whole job on any bundle error and does not retry, so the
// sink retries transient Bigtable errors itself, with capped backoff, for as
// long as the job runs: an unavailable Bigtable stalls the pipeline (and
// Pub/Sub keeps the backlog) instead of losing panes. CAS conflicts retry at
// once.
package btsink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"cloud.google.com/go/bigtable"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/pipelines/internal/beamcoder"
	"github.com/footfall/footfall/pipelines/internal/counters"
	"github.com/footfall/footfall/pipelines/internal/limits"
)

func init() {
	register.DoFn3x1[context.Context, string, layout.Totals, error](&totalsFn{})
	register.DoFn3x1[context.Context, string, layout.Breakdown, error](&breakdownFn{})
	register.DoFn3x1[string, layout.Totals, func(string, []byte), error](&totalsCellsFn{})
	register.DoFn3x1[string, layout.Breakdown, func(string, []byte), error](&breakdownCellsFn{})
	register.DoFn3x1[context.Context, string, []byte, error](&sealedFn{})
}

// Options name the Bigtable instance (the client honours
// BIGTABLE_EMULATOR_HOST, so locally Project and Instance may be anything)
// and the row bounds a provisional merge re-applies: the merged row of two
// panes can exceed what one pane had.
type Options struct {
	Project  string
	Instance string
	// AppProfile is the Bigtable app profile to use ("" : the instance's
	// default profile); production routes through a multi-cluster one.
	AppProfile string
	// MaxNames bounds event names per totals row (default limits.DefaultMaxNames).
	MaxNames int
	// TopK bounds values per breakdown row (default limits.DefaultTopK).
	TopK int
	// SealedAt is the generation (Unix µs) WriteSealed stamps on every row
	// it writes; 0 stamps the time of writing.
	SealedAt int64
}

func (o Options) withDefaults() Options {
	if o.MaxNames <= 0 {
		o.MaxNames = limits.DefaultMaxNames
	}
	if o.TopK <= 0 {
		o.TopK = limits.DefaultTopK
	}
	return o
}

var (
	rowsWritten      = counters.New("bigtable_rows_written", "Bigtable rows written (provisional merges, realtime merges and sealed replacements).")
	casRetries       = counters.New("bigtable_cas_conflicts", "Provisional merges that lost a compare-and-set race and were retried.")
	writeErrors      = counters.New("bigtable_write_errors", "Bigtable reads or writes that failed and were retried.")
	ambiguousApplied = counters.New("bigtable_ambiguous_writes_applied", "Provisional merges reported as failed that had been applied (found at the retry, not merged again).")
)

var _ = beamcoder.EncodeTotals // the coders of layout.Totals and layout.Breakdown

// WriteProvisional merges each pane of totals (PCollection<KV<string,
// layout.Totals>> keyed by layout.TotalsKey) and breakdowns
// (PCollection<KV<string, layout.Breakdown>> keyed by layout.BreakdownKey)
// into the provisional family of its row.
func WriteProvisional(s beam.Scope, opts Options, totals, breakdowns beam.PCollection) {
	s = s.Scope("btsink.WriteProvisional")
	opts = opts.withDefaults()
	beam.ParDo0(s, &totalsFn{Project: opts.Project, Instance: opts.Instance, AppProfile: opts.AppProfile, Family: layout.FamilyProvisional, MaxNames: opts.MaxNames}, totals)
	beam.ParDo0(s, &breakdownFn{Project: opts.Project, Instance: opts.Instance, AppProfile: opts.AppProfile, TopK: opts.TopK}, breakdowns)
}

// WriteRealtime merges each pane of per-minute totals
// (PCollection<KV<string, layout.Totals>> keyed by layout.RealtimeKey) into
// the realtime family of its row.
func WriteRealtime(s beam.Scope, opts Options, realtime beam.PCollection) {
	s = s.Scope("btsink.WriteRealtime")
	opts = opts.withDefaults()
	beam.ParDo0(s, &totalsFn{Project: opts.Project, Instance: opts.Instance, AppProfile: opts.AppProfile, Family: layout.FamilyRealtime, MaxNames: opts.MaxNames}, realtime)
}

// conn is a DoFn's Bigtable connection.
type conn struct {
	client   *bigtable.Client
	metrics  *bigtable.Table
	meta     *bigtable.Table
	lastBeat time.Time
}

func (c *conn) open(ctx context.Context, project, instance, appProfile string) error {
	cl, err := bigtable.NewClientWithConfig(ctx, project, instance, bigtable.ClientConfig{AppProfile: appProfile})
	if err != nil {
		return fmt.Errorf("btsink: bigtable.NewClient: %w", err)
	}
	c.client, c.metrics, c.meta = cl, cl.Open(layout.TableMetrics), cl.Open(layout.TableMeta)
	return nil
}

func (c *conn) close() error {
	if c.client != nil {
		return c.client.Close()
	}
	return nil
}

// heartbeat records, at most once a second, that provisional values were
// just written: readers report it as how fresh provisional data is.
func (c *conn) heartbeat(ctx context.Context) {
	if time.Since(c.lastBeat) < time.Second {
		return
	}
	c.lastBeat = time.Now()
	m := bigtable.NewMutation()
	m.Set(layout.FamilyMeta, layout.ColProvisionalAt, bigtable.Now(), layout.EncodeInt(time.Now().UnixMicro()))
	if err := c.meta.Apply(ctx, layout.MetaWatermarks, m); err != nil {
		slog.WarnContext(ctx, "btsink: heartbeat failed", "err", err)
	}
}

type totalsFn struct {
	Project    string
	Instance   string
	AppProfile string
	Family     string
	MaxNames   int

	c conn
}

func (fn *totalsFn) Setup(ctx context.Context) error {
	return fn.c.open(ctx, fn.Project, fn.Instance, fn.AppProfile)
}

func (fn *totalsFn) Teardown() error { return fn.c.close() }

func (fn *totalsFn) ProcessElement(ctx context.Context, key string, pane layout.Totals) error {
	var w Write // carries an ambiguous attempt over to the next one
	err := retry(ctx, "merge "+key, func() error {
		return w.MergeTotals(ctx, fn.c.metrics, key, fn.Family, &pane, fn.MaxNames, time.Now())
	})
	if err != nil {
		return err
	}
	rowsWritten.Inc(ctx, 1)
	if fn.Family == layout.FamilyProvisional {
		fn.c.heartbeat(ctx)
	}
	return nil
}

type breakdownFn struct {
	Project    string
	Instance   string
	AppProfile string
	TopK       int

	c conn
}

func (fn *breakdownFn) Setup(ctx context.Context) error {
	return fn.c.open(ctx, fn.Project, fn.Instance, fn.AppProfile)
}

func (fn *breakdownFn) Teardown() error { return fn.c.close() }

func (fn *breakdownFn) ProcessElement(ctx context.Context, key string, pane layout.Breakdown) error {
	var w Write
	err := retry(ctx, "merge "+key, func() error {
		return w.MergeBreakdown(ctx, fn.c.metrics, key, &pane, fn.TopK, time.Now())
	})
	if err != nil {
		return err
	}
	rowsWritten.Inc(ctx, 1)
	return nil
}

// MergeTotals adds pane into a family (layout.FamilyProvisional or
// layout.FamilyRealtime) of the totals row key, capping event names at
// maxNames (limits.CapNames; 0: no cap). It returns errConflict when it
// lost a race with another writer (see casMerge).
func MergeTotals(ctx context.Context, tbl *bigtable.Table, key, family string, pane *layout.Totals, maxNames int, now time.Time) error {
	return new(Write).MergeTotals(ctx, tbl, key, family, pane, maxNames, now)
}

// Write is one pane's merge into one row, across the attempts of a retry
// loop. A write whose answer was lost (a timeout, a dropped connection)
// may still have been applied; retrying it blindly would merge the pane
// twice. Each attempt stamps the row with the generation and the time it
// writes; the next attempt first checks whether the row already holds
// exactly that stamp, and if so the pane is in and it stops.
type Write struct {
	gen, at int64 // the stamp of the last attempt whose outcome is unknown
}

// MergeTotals is the package-level MergeTotals for one attempt of w.
func (w *Write) MergeTotals(ctx context.Context, tbl *bigtable.Table, key, family string, pane *layout.Totals, maxNames int, now time.Time) error {
	return w.casMerge(ctx, tbl, key, family, func(stored []layout.Cell) ([]layout.Cell, int64, error) {
		cur := &layout.Totals{}
		if len(stored) > 0 {
			var err error
			if cur, err = layout.TotalsFromCells(stored); err != nil {
				return nil, 0, fmt.Errorf("decode %s: %w", key, err)
			}
		}
		gen := cur.Generation
		if err := cur.Merge(pane); err != nil {
			return nil, 0, err
		}
		cur.ByName = limits.CapNames(cur.ByName, maxNames)
		cur.Generation, cur.UpdatedAt = gen+1, now.UnixMicro()
		cells, err := cur.Cells()
		return cells, gen, err
	})
}

// MergeBreakdown adds pane into the provisional family of the breakdown row
// key and truncates the result to its topK values (the rest folded into
// Other, so values + Other still add up to the totals). It returns
// errConflict when it lost a race with another writer.
func MergeBreakdown(ctx context.Context, tbl *bigtable.Table, key string, pane *layout.Breakdown, topK int, now time.Time) error {
	return new(Write).MergeBreakdown(ctx, tbl, key, pane, topK, now)
}

// MergeBreakdown is the package-level MergeBreakdown for one attempt of w.
func (w *Write) MergeBreakdown(ctx context.Context, tbl *bigtable.Table, key string, pane *layout.Breakdown, topK int, now time.Time) error {
	return w.casMerge(ctx, tbl, key, layout.FamilyProvisional, func(stored []layout.Cell) ([]layout.Cell, int64, error) {
		cur := &layout.Breakdown{}
		if len(stored) > 0 {
			var err error
			if cur, err = layout.BreakdownFromCells(stored); err != nil {
				return nil, 0, fmt.Errorf("decode %s: %w", key, err)
			}
		}
		gen := cur.Generation
		if err := cur.Merge(pane); err != nil {
			return nil, 0, err
		}
		if err := cur.Truncate(topK); err != nil {
			return nil, 0, err
		}
		cur.Generation, cur.UpdatedAt = gen+1, now.UnixMicro()
		cells, err := cur.Cells()
		return cells, gen, err
	})
}

// casMerge reads one family of a row, lets merge compute the family's new
// cells from the stored ones (nil when the family is empty) and the
// generation it read, and writes them back with CheckAndMutateRow only if
// the generation column still holds that generation, so concurrent writers
// never lose each other's updates. It returns errConflict when it lost.
func (w *Write) casMerge(ctx context.Context, tbl *bigtable.Table, key, family string, merge func(stored []layout.Cell) ([]layout.Cell, int64, error)) error {
	row, err := tbl.ReadRow(ctx, key, bigtable.RowFilter(bigtable.FamilyFilter("^"+family+"$")))
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	stored := layout.RowCells(row, family)
	if w.at != 0 {
		if g, at := writeStamp(stored); g == w.gen && at == w.at {
			ambiguousApplied.Inc(ctx, 1)
			w.gen, w.at = 0, 0
			return nil // the previous attempt was applied after all
		}
	}
	cells, gen, err := merge(stored)
	if err != nil {
		return &permanentError{err}
	}
	w.gen, w.at = 0, 0
	err = casReplace(ctx, tbl, key, family, gen, cells)
	if err != nil && !errors.Is(err, errConflict) {
		w.gen, w.at = writeStamp(cells) // unknown outcome: check at the next attempt
	}
	return err
}

// writeStamp returns the generation and write time held in a family's cells.
func writeStamp(cells []layout.Cell) (gen, at int64) {
	for _, c := range cells {
		switch c.Qualifier {
		case layout.ColGeneration:
			gen, _ = layout.DecodeInt(c.Value)
		case layout.ColUpdatedAt:
			at, _ = layout.DecodeInt(c.Value)
		}
	}
	return gen, at
}

// permanentError is a failure retrying cannot fix (a row that does not
// decode): the job fails instead of retrying forever.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// errConflict means another writer changed the row between read and write.
var errConflict = errors.New("btsink: concurrent update")

// casReplace replaces a family's cells if its generation column still holds
// gen (0: the column does not exist yet).
func casReplace(ctx context.Context, tbl *bigtable.Table, key, family string, gen int64, cells []layout.Cell) error {
	mut := layout.ReplaceFamily(family, cells, bigtable.Now())
	genCol := bigtable.ChainFilters(
		bigtable.FamilyFilter("^"+family+"$"),
		bigtable.ColumnFilter("^"+layout.ColGeneration+"$"),
		bigtable.LatestNFilter(1),
	)
	var cond *bigtable.Mutation
	var wantMatch bool
	if gen == 0 {
		cond = bigtable.NewCondMutation(genCol, nil, mut) // only if no generation yet
	} else {
		exact := bigtable.ChainFilters(genCol, bigtable.ValueRangeFilter(layout.EncodeInt(gen), layout.EncodeInt(gen+1)))
		cond = bigtable.NewCondMutation(exact, mut, nil)
		wantMatch = true
	}
	var matched bool
	if err := tbl.Apply(ctx, key, cond, bigtable.GetCondMutationResult(&matched)); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	if matched != wantMatch {
		return errConflict
	}
	return nil
}

// retry runs op until it succeeds or ctx ends. Conflicts retry at once;
// other errors back off from 100 ms to 10 s.
func retry(ctx context.Context, what string, op func() error) error {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil {
			return nil
		}
		if errors.Is(err, errConflict) {
			casRetries.Inc(ctx, 1)
			continue
		}
		var perm *permanentError
		if errors.As(err, &perm) {
			return fmt.Errorf("btsink: %s: %w", what, err)
		}
		writeErrors.Inc(ctx, 1)
		if attempt == 1 || attempt%10 == 0 {
			slog.WarnContext(ctx, "btsink: write failed; retrying", "what", what, "attempt", attempt, "err", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("btsink: %s: giving up: %w (last error: %w)", what, ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}
