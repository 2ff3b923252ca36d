// Package btsink writes aggregated metrics to Bigtable in the layout of
// internal/layout: provisional panes are merged into the provisional family
// with a compare-and-set on the row's generation; the streaming job never
// touches the sealed family.
//
// Prism fails the whole job on any bundle error and does not retry, so the
// sink retries transient Bigtable errors itself, with capped backoff, for as
// long as the job runs: an unavailable Bigtable stalls the pipeline (and
// Pub/Sub keeps the backlog) instead of losing panes.
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
)

func init() {
	register.DoFn3x1[context.Context, string, layout.Totals, error](&provisionalFn{})
}

// Options name the Bigtable instance. The client honours
// BIGTABLE_EMULATOR_HOST, so locally Project and Instance may be anything.
type Options struct {
	Project  string
	Instance string
}

var (
	rowsWritten = beam.NewCounter("footfall", "bigtable_rows_written")
	casRetries  = beam.NewCounter("footfall", "bigtable_cas_conflicts")
	writeErrors = beam.NewCounter("footfall", "bigtable_write_errors")
)

// WriteProvisional merges each pane of PCollection<KV<string, layout.Totals>>
// (keyed by totals row key) into that row's provisional family.
func WriteProvisional(s beam.Scope, opts Options, totals beam.PCollection) {
	s = s.Scope("btsink.WriteProvisional")
	beam.ParDo0(s, &provisionalFn{Project: opts.Project, Instance: opts.Instance}, totals)
}

type provisionalFn struct {
	Project  string
	Instance string

	client   *bigtable.Client
	metrics  *bigtable.Table
	meta     *bigtable.Table
	lastBeat time.Time
}

func (fn *provisionalFn) Setup(ctx context.Context) error {
	c, err := bigtable.NewClient(ctx, fn.Project, fn.Instance)
	if err != nil {
		return fmt.Errorf("btsink: bigtable.NewClient: %w", err)
	}
	fn.client = c
	fn.metrics = c.Open(layout.TableMetrics)
	fn.meta = c.Open(layout.TableMeta)
	return nil
}

func (fn *provisionalFn) Teardown() error {
	if fn.client != nil {
		return fn.client.Close()
	}
	return nil
}

func (fn *provisionalFn) ProcessElement(ctx context.Context, key string, pane layout.Totals) error {
	err := retry(ctx, "merge "+key, func() error {
		return MergeTotals(ctx, fn.metrics, key, &pane, time.Now())
	})
	if err != nil {
		return err
	}
	rowsWritten.Inc(ctx, 1)
	if time.Since(fn.lastBeat) >= time.Second {
		fn.lastBeat = time.Now()
		m := bigtable.NewMutation()
		m.Set(layout.FamilyMeta, layout.ColProvisionalAt, bigtable.Now(), layout.EncodeInt(time.Now().UnixMicro()))
		if err := fn.meta.Apply(ctx, layout.MetaWatermarks, m); err != nil {
			slog.WarnContext(ctx, "btsink: heartbeat failed", "err", err)
		}
	}
	return nil
}

// errConflict means another writer changed the row between read and write.
var errConflict = errors.New("btsink: concurrent update")

// MergeTotals adds pane into the provisional family of row key: it reads the
// row, merges, and writes the result back only if the row's generation is
// still the one it read (Bigtable CheckAndMutateRow), so concurrent writers
// never lose each other's counts. It returns errConflict when it lost a race.
func MergeTotals(ctx context.Context, tbl *bigtable.Table, key string, pane *layout.Totals, now time.Time) error {
	row, err := tbl.ReadRow(ctx, key, bigtable.RowFilter(bigtable.FamilyFilter("^"+layout.FamilyProvisional+"$")))
	if err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	cur, err := layout.DecodeTotals(row, layout.FamilyProvisional)
	if err != nil {
		return err
	}
	next := &layout.Totals{}
	var gen int64
	if cur != nil {
		gen = cur.Generation
		next = cur
	}
	if err := next.Merge(pane); err != nil {
		return err
	}
	next.Generation = gen + 1
	next.UpdatedAt = now.UnixMicro()
	cells, err := next.Cells()
	if err != nil {
		return err
	}
	return casReplace(ctx, tbl, key, layout.FamilyProvisional, gen, cells)
}

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
