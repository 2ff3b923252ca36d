package btsink

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/bigtable"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/pipelines/internal/counters"
)

// sealedBatch is how many rows one ApplyBulk call replaces (each row is
// still its own atomic mutation).
const sealedBatch = 100

// WriteSealed replaces the sealed family of each totals row
// (PCollection<KV<string, layout.Totals>> keyed by layout.TotalsKey) and
// each breakdown row (PCollection<KV<string, layout.Breakdown>> keyed by
// layout.BreakdownKey) with the given values: one row mutation per row
// that deletes family `s` and sets every column (layout.ReplaceFamily), so
// a reader sees the old sealed values or the new ones. The provisional
// family is never touched. Each row key must appear once (the batch
// transforms guarantee it); a zero Totals or an empty Breakdown writes an
// explicit empty sealed row, which is how a re-seal clears an hour that no
// longer has events (transforms.WithEmptyHours produces them).
//
// Every row's _at column is opts.SealedAt, the seal's generation (the
// current time when zero): the generation the caller then records as the
// hour's sealed_at (layout.Current). Rows whose sealed values (apart from
// _at) were already what is written are still written, so that they carry
// the new generation, and are counted as sealed_rows_unchanged;
// the others as sealed_rows_changed.
func WriteSealed(s beam.Scope, opts Options, totals, breakdowns beam.PCollection) {
	s = s.Scope("btsink.WriteSealed")
	rows := beam.Flatten(s,
		beam.ParDo(s, &totalsCellsFn{SealedAt: opts.SealedAt}, totals),
		beam.ParDo(s, &breakdownCellsFn{SealedAt: opts.SealedAt}, breakdowns))
	beam.ParDo0(s, &sealedFn{Project: opts.Project, Instance: opts.Instance, AppProfile: opts.AppProfile}, rows)
}

var (
	sealedChanged   = counters.New("sealed_rows_changed", "Sealed rows whose values a seal or backfill changed.")
	sealedUnchanged = counters.New("sealed_rows_unchanged", "Sealed rows a seal or backfill rewrote with the values they had.")
)

// stamp is the _at of a sealed row.
func stamp(sealedAt int64) int64 {
	if sealedAt != 0 {
		return sealedAt
	}
	return time.Now().UnixMicro()
}

// totalsCellsFn and breakdownCellsFn encode a row's family, stamped with
// the seal's generation, as packed cells (layout.MarshalCells).
type totalsCellsFn struct{ SealedAt int64 }

func (fn *totalsCellsFn) ProcessElement(key string, t layout.Totals, emit func(string, []byte)) error {
	t.UpdatedAt, t.Generation = stamp(fn.SealedAt), 0
	cells, err := t.Cells()
	if err != nil {
		return fmt.Errorf("btsink: encode %s: %w", key, err)
	}
	emit(key, layout.MarshalCells(cells))
	return nil
}

type breakdownCellsFn struct{ SealedAt int64 }

func (fn *breakdownCellsFn) ProcessElement(key string, b layout.Breakdown, emit func(string, []byte)) error {
	b.UpdatedAt, b.Generation = stamp(fn.SealedAt), 0
	cells, err := b.Cells()
	if err != nil {
		return fmt.Errorf("btsink: encode %s: %w", key, err)
	}
	emit(key, layout.MarshalCells(cells))
	return nil
}

type sealedFn struct {
	Project    string
	Instance   string
	AppProfile string

	c     conn
	keys  []string
	muts  []*bigtable.Mutation
	shown []string // what readers will see of each row, for counting changes
}

func (fn *sealedFn) Setup(ctx context.Context) error {
	return fn.c.open(ctx, fn.Project, fn.Instance, fn.AppProfile)
}

func (fn *sealedFn) Teardown() error { return fn.c.close() }

func (fn *sealedFn) ProcessElement(ctx context.Context, key string, packed []byte) error {
	cells, err := layout.UnmarshalCells(packed)
	if err != nil {
		return fmt.Errorf("btsink: sealed row %s: %w", key, err)
	}
	fn.keys = append(fn.keys, key)
	fn.muts = append(fn.muts, layout.ReplaceFamily(layout.FamilySealed, cells, bigtable.Now()))
	fn.shown = append(fn.shown, visible(key, cells))
	if len(fn.keys) >= sealedBatch {
		return fn.flush(ctx)
	}
	return nil
}

func (fn *sealedFn) FinishBundle(ctx context.Context) error { return fn.flush(ctx) }

// flush applies the buffered row mutations, retrying the rows that failed.
func (fn *sealedFn) flush(ctx context.Context) error {
	keys, muts, shown := fn.keys, fn.muts, fn.shown
	fn.keys, fn.muts, fn.shown = nil, nil, nil
	if len(keys) == 0 {
		return nil
	}
	if err := fn.countChanges(ctx, keys, shown); err != nil {
		return err
	}
	return retry(ctx, fmt.Sprintf("seal %d rows from %s", len(keys), keys[0]), func() error {
		errs, err := fn.c.metrics.ApplyBulk(ctx, keys, muts)
		if err != nil {
			return err
		}
		var failedKeys []string
		var failedMuts []*bigtable.Mutation
		var failed error
		for i, e := range errs {
			if e != nil {
				failedKeys, failedMuts = append(failedKeys, keys[i]), append(failedMuts, muts[i])
				failed = errors.Join(failed, e)
			}
		}
		rowsWritten.Inc(ctx, int64(len(keys)-len(failedKeys)))
		keys, muts = failedKeys, failedMuts // the next attempt retries only those
		return failed
	})
}

// visible renders what a reader of a sealed row sees: every count, and
// each sketch's estimate rather than its bytes (the encoding of equal
// sketches depends on the order they were merged in). Two renderings are
// equal when the row's values did not change.
func visible(key string, cells []layout.Cell) string {
	k, err := layout.ParseKey(key)
	if err != nil {
		return "?"
	}
	item := func(it *layout.Item) string {
		return fmt.Sprint(it.Events, it.PageViews, it.Revenue, it.VisitorCount())
	}
	if k.Kind == layout.KindBreakdown {
		b, err := layout.BreakdownFromCells(cells)
		if err != nil {
			return "?"
		}
		vals := make(map[string]string, len(b.Values))
		for v, it := range b.Values {
			vals[v] = item(it)
		}
		return fmt.Sprint(vals, item(&b.Other))
	}
	t, err := layout.TotalsFromCells(cells)
	if err != nil {
		return "?"
	}
	return fmt.Sprint(t.Events, t.PageViews, t.BotEvents, t.Sessions, t.Bounces, t.SessionMillis, t.ByName, t.Revenue, t.VisitorCount())
}

// countChanges reads the sealed family of the rows about to be replaced and
// counts which of them change.
func (fn *sealedFn) countChanges(ctx context.Context, keys []string, cells []string) error {
	old := make(map[string]string, len(keys))
	err := retry(ctx, fmt.Sprintf("read %d sealed rows from %s", len(keys), keys[0]), func() error {
		return fn.c.metrics.ReadRows(ctx, bigtable.RowList(keys), func(r bigtable.Row) bool {
			if c := layout.RowCells(r, layout.FamilySealed); len(c) > 0 {
				old[r.Key()] = visible(r.Key(), c)
			}
			return true
		}, bigtable.RowFilter(bigtable.ChainFilters(bigtable.FamilyFilter(layout.FamilySealed), bigtable.LatestNFilter(1))))
	})
	if err != nil {
		return err
	}
	for i, k := range keys {
		if o, ok := old[k]; ok && o == cells[i] {
			sealedUnchanged.Inc(ctx, 1)
		} else {
			sealedChanged.Inc(ctx, 1)
		}
	}
	return nil
}
