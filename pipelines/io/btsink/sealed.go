package btsink

import (
	"context"
	"fmt"
	"time"

	"cloud.google.com/go/bigtable"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/pipelines/internal/counters"
)

// WriteSealed replaces the sealed family of each row (PCollection<KV<string,
// layout.RowContent>>, the batch job's Outputs.Rows) with its content: one
// row mutation per row that deletes family `s` and sets every column
// (layout.ReplaceFamily), so a reader sees the old sealed values or the
// new ones. The provisional family is never touched. Each row key must
// appear once (the batch transforms guarantee it); an empty row writes an
// explicit empty sealed row, which is how a re-seal clears an hour that no
// longer has events (transforms.Options.Cover).
//
// Every row's _at column is opts.SealedAt, the seal's generation (the
// current time when zero): the generation the caller then records as the
// hour's sealed_at (layout.Current). Rows whose sealed values (apart from
// _at) were already what is written are still written, so that they carry
// the new generation, and are counted as sealed_rows_unchanged;
// the others as sealed_rows_changed.
func WriteSealed(s beam.Scope, opts Options, rows beam.PCollection) {
	s = s.Scope("btsink.WriteSealed")
	beam.ParDo0(s, &sealedFn{Project: opts.Project, Instance: opts.Instance, AppProfile: opts.AppProfile, SealedAt: opts.SealedAt}, rows)
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

// restamp returns cells with _at set to at and _gen to 0.
func restamp(cells []layout.Cell, at int64) []layout.Cell {
	out := make([]layout.Cell, 0, len(cells)+2)
	out = append(out, layout.Cell{Qualifier: layout.ColUpdatedAt, Value: layout.EncodeInt(at)},
		layout.Cell{Qualifier: layout.ColGeneration, Value: layout.EncodeInt(0)})
	for _, c := range cells {
		if c.Qualifier != layout.ColUpdatedAt && c.Qualifier != layout.ColGeneration {
			out = append(out, c)
		}
	}
	return out
}

type sealedFn struct {
	Project    string
	Instance   string
	AppProfile string
	SealedAt   int64

	c     conn
	keys  []string
	muts  []*bigtable.Mutation
	shown []string // what readers will see of each row, for counting changes
}

func (fn *sealedFn) Setup(ctx context.Context) error {
	return fn.c.open(ctx, fn.Project, fn.Instance, fn.AppProfile)
}

func (fn *sealedFn) Teardown() error { return fn.c.close() }

func (fn *sealedFn) ProcessElement(ctx context.Context, key string, rc layout.RowContent) error {
	at := stamp(fn.SealedAt)
	cells := restamp(rc.Cells, at)
	fn.keys = append(fn.keys, key)
	fn.muts = append(fn.muts, layout.ReplaceFamily(layout.FamilySealed, cells, bigtable.Timestamp(at).TruncateToMilliseconds()))
	fn.shown = append(fn.shown, visible(key, cells))
	if len(fn.keys) >= batchRows {
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
	return applyBulk(ctx, fn.c.metrics, "seal", keys, muts)
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
		return fmt.Sprint(it.Events, it.PageViews, it.Revenue, it.Sessions, it.Bounces, it.EngagedSessions, it.SessionMillis, it.VisitorCount())
	}
	breakdown := func(b *layout.Breakdown) string {
		vals := make(map[string]string, len(b.Values))
		for v, it := range b.Values {
			vals[v] = item(it)
		}
		return fmt.Sprint(vals, item(&b.Other))
	}
	totals := func(t *layout.Totals) string {
		return fmt.Sprint(t.Events, t.PageViews, t.BotEvents, t.Sessions, t.Bounces, t.EngagedSessions, t.SessionMillis, t.ByName, t.Revenue, t.VisitorCount())
	}
	switch k.Kind {
	case layout.KindBreakdown:
		b, err := layout.BreakdownFromCells(cells)
		if err != nil {
			return "?"
		}
		return breakdown(b)
	case layout.KindQuarterTotals:
		q, err := layout.QuarterTotalsFromCells(cells)
		if err != nil {
			return "?"
		}
		var out string
		for _, t := range q.Q {
			if t != nil {
				out += totals(t)
			}
			out += "|"
		}
		return out
	case layout.KindQuarterBreakdown:
		q, err := layout.QuarterBreakdownsFromCells(cells)
		if err != nil {
			return "?"
		}
		var out string
		for _, b := range q.Q {
			if b != nil {
				out += breakdown(b)
			}
			out += "|"
		}
		return out
	}
	t, err := layout.TotalsFromCells(cells)
	if err != nil {
		return "?"
	}
	return totals(t)
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

// WriteSealedRows writes rows sealed exactly as WriteSealed does, from the
// calling process instead of a pipeline (the sealer writes the merge of a
// chunk's visitor shards this way). keys and contents pair up.
func WriteSealedRows(ctx context.Context, opts Options, keys []string, contents []layout.RowContent) error {
	if len(keys) != len(contents) {
		return fmt.Errorf("btsink: %d keys for %d rows", len(keys), len(contents))
	}
	fn := &sealedFn{Project: opts.Project, Instance: opts.Instance, AppProfile: opts.AppProfile, SealedAt: opts.SealedAt}
	if err := fn.Setup(ctx); err != nil {
		return err
	}
	defer fn.Teardown()
	for i, k := range keys {
		if err := fn.ProcessElement(ctx, k, contents[i]); err != nil {
			return err
		}
	}
	return fn.FinishBundle(ctx)
}
