package btsink

import (
	"context"
	"errors"
	"fmt"
	"time"

	"cloud.google.com/go/bigtable"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/footfall/footfall/internal/layout"
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
func WriteSealed(s beam.Scope, opts Options, totals, breakdowns beam.PCollection) {
	s = s.Scope("btsink.WriteSealed")
	rows := beam.Flatten(s,
		beam.ParDo(s, totalsCells, totals),
		beam.ParDo(s, breakdownCells, breakdowns))
	beam.ParDo0(s, &sealedFn{Project: opts.Project, Instance: opts.Instance}, rows)
}

// totalsCells and breakdownCells encode a row's family, stamped with when
// it is being sealed, as packed cells (layout.MarshalCells).
func totalsCells(key string, t layout.Totals, emit func(string, []byte)) error {
	t.UpdatedAt, t.Generation = time.Now().UnixMicro(), 0
	cells, err := t.Cells()
	if err != nil {
		return fmt.Errorf("btsink: encode %s: %w", key, err)
	}
	emit(key, layout.MarshalCells(cells))
	return nil
}

func breakdownCells(key string, b layout.Breakdown, emit func(string, []byte)) error {
	b.UpdatedAt, b.Generation = time.Now().UnixMicro(), 0
	cells, err := b.Cells()
	if err != nil {
		return fmt.Errorf("btsink: encode %s: %w", key, err)
	}
	emit(key, layout.MarshalCells(cells))
	return nil
}

type sealedFn struct {
	Project  string
	Instance string

	c    conn
	keys []string
	muts []*bigtable.Mutation
}

func (fn *sealedFn) Setup(ctx context.Context) error {
	return fn.c.open(ctx, fn.Project, fn.Instance)
}

func (fn *sealedFn) Teardown() error { return fn.c.close() }

func (fn *sealedFn) ProcessElement(ctx context.Context, key string, packed []byte) error {
	cells, err := layout.UnmarshalCells(packed)
	if err != nil {
		return fmt.Errorf("btsink: sealed row %s: %w", key, err)
	}
	fn.keys = append(fn.keys, key)
	fn.muts = append(fn.muts, layout.ReplaceFamily(layout.FamilySealed, cells, bigtable.Now()))
	if len(fn.keys) >= sealedBatch {
		return fn.flush(ctx)
	}
	return nil
}

func (fn *sealedFn) FinishBundle(ctx context.Context) error { return fn.flush(ctx) }

// flush applies the buffered row mutations, retrying the rows that failed.
func (fn *sealedFn) flush(ctx context.Context) error {
	keys, muts := fn.keys, fn.muts
	fn.keys, fn.muts = nil, nil
	if len(keys) == 0 {
		return nil
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
