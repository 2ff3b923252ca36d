package btsink

import (
	"context"
	"testing"
	"time"

	"cloud.google.com/go/bigtable"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/internal/testenv"
	"github.com/footfall/footfall/pipelines/internal/beamcoder"
)

func TestMain(m *testing.M) {
	ptest.MainWithDefault(m, "prism")
}

// WriteSealed replaces family s whole (a stale column disappears), writes
// explicit empty rows, and leaves family p alone; each row is one mutation.
func TestWriteSealed(t *testing.T) {
	c := testenv.Bigtable(t)
	tbl := c.Open(layout.TableMetrics)
	ctx := context.Background()
	h := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	tKey, bKey := layout.TotalsKey("shop", h), layout.BreakdownKey("shop", layout.DimCountry, h)
	emptyT, emptyB := layout.TotalsKey("gone", h), layout.BreakdownKey("gone", layout.DimCountry, h)

	// Stale sealed values (with a name that the re-seal no longer has) and
	// provisional values.
	stale := &layout.Totals{Events: 99, ByName: map[string]int64{"bot_hit": 99}}
	staleCells, _ := stale.Cells()
	staleB := &layout.Breakdown{Values: map[string]*layout.Item{"XX": {Events: 99}}}
	staleBCells, _ := staleB.Cells()
	for _, k := range []string{tKey, emptyT} {
		if err := tbl.Apply(ctx, k, layout.ReplaceFamily(layout.FamilySealed, staleCells, bigtable.Now())); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{bKey, emptyB} {
		if err := tbl.Apply(ctx, k, layout.ReplaceFamily(layout.FamilySealed, staleBCells, bigtable.Now())); err != nil {
			t.Fatal(err)
		}
	}
	if err := MergeTotals(ctx, tbl, tKey, layout.FamilyProvisional, &layout.Totals{Events: 7}, 0, time.Now()); err != nil {
		t.Fatal(err)
	}

	sealed := layout.Totals{Events: 3, ByName: map[string]int64{"signup": 3}}
	de := layout.Breakdown{Values: map[string]*layout.Item{"DE": {Events: 3}}}
	totals := map[string][]byte{tKey: must(beamcoder.EncodeTotals(sealed)), emptyT: must(beamcoder.EncodeTotals(layout.Totals{}))}
	breakdowns := map[string][]byte{bKey: must(beamcoder.EncodeBreakdown(de)), emptyB: must(beamcoder.EncodeBreakdown(layout.Breakdown{}))}
	const gen = 1_700_000_000_000_000
	seal := func(gen int64) {
		p, s := beam.NewPipelineWithRoot()
		WriteSealed(s, Options{Project: testenv.Project, Instance: testenv.Instance, SealedAt: gen},
			beam.ParDo(s, &totalsRowsFn{Rows: totals}, beam.Create(s, tKey, emptyT)),
			beam.ParDo(s, &breakdownRowsFn{Rows: breakdowns}, beam.Create(s, bKey, emptyB)))
		ptest.RunAndValidate(t, p)
	}
	changed0, unchanged0 := sealedChanged.Value(), sealedUnchanged.Value()
	seal(gen)
	if c, u := sealedChanged.Value()-changed0, sealedUnchanged.Value()-unchanged0; c != 4 || u != 0 {
		t.Errorf("first seal: %d rows changed, %d unchanged; want 4 and 0", c, u)
	}

	row, err := tbl.ReadRow(ctx, tKey)
	if err != nil {
		t.Fatal(err)
	}
	gotS, _ := layout.DecodeTotals(row, layout.FamilySealed)
	gotP, _ := layout.DecodeTotals(row, layout.FamilyProvisional)
	if gotS == nil || gotS.Events != 3 || len(gotS.ByName) != 1 || gotS.ByName["signup"] != 3 || gotS.UpdatedAt != gen {
		t.Errorf("sealed totals = %+v, want exactly 3 signups (stale columns gone) stamped %d", gotS, gen)
	}
	if gotP == nil || gotP.Events != 7 {
		t.Errorf("provisional totals = %+v, want 7 events untouched", gotP)
	}
	row, _ = tbl.ReadRow(ctx, bKey)
	if b, _ := layout.DecodeBreakdown(row, layout.FamilySealed); b == nil || len(b.Values) != 1 || b.Values["DE"].Events != 3 {
		t.Errorf("sealed breakdown = %+v, want only DE", b)
	}
	row, _ = tbl.ReadRow(ctx, emptyT)
	if z, _ := layout.DecodeTotals(row, layout.FamilySealed); z == nil || z.Events != 0 || len(z.ByName) != 0 {
		t.Errorf("re-sealed empty hour = %+v, want an explicit zero row", z)
	}
	row, _ = tbl.ReadRow(ctx, emptyB)
	if z, _ := layout.DecodeBreakdown(row, layout.FamilySealed); z == nil || len(z.Values) != 0 || z.Other.Events != 0 {
		t.Errorf("re-sealed empty breakdown = %+v, want an explicit empty row", z)
	}

	// A rerun with the same values changes no row but stamps the new
	// generation on every one.
	changed0, unchanged0 = sealedChanged.Value(), sealedUnchanged.Value()
	seal(gen + 1)
	if c, u := sealedChanged.Value()-changed0, sealedUnchanged.Value()-unchanged0; c != 0 || u != 4 {
		t.Errorf("rerun: %d rows changed, %d unchanged; want 0 and 4", c, u)
	}
	for _, k := range []string{tKey, emptyT} {
		row, _ := tbl.ReadRow(ctx, k)
		if got, _ := layout.DecodeTotals(row, layout.FamilySealed); got == nil || got.UpdatedAt != gen+1 {
			t.Errorf("%s after the rerun = %+v, want stamped %d", k, got, gen+1)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// totalsRowsFn and breakdownRowsFn emit the encoded row of each key.
type totalsRowsFn struct{ Rows map[string][]byte }

func (fn *totalsRowsFn) ProcessElement(key string, emit func(string, layout.Totals)) error {
	tt, err := beamcoder.DecodeTotals(fn.Rows[key])
	emit(key, tt)
	return err
}

type breakdownRowsFn struct{ Rows map[string][]byte }

func (fn *breakdownRowsFn) ProcessElement(key string, emit func(string, layout.Breakdown)) error {
	b, err := beamcoder.DecodeBreakdown(fn.Rows[key])
	emit(key, b)
	return err
}

func init() {
	register.DoFn2x1[string, func(string, layout.Totals), error](&totalsRowsFn{})
	register.DoFn2x1[string, func(string, layout.Breakdown), error](&breakdownRowsFn{})
}

// A merge whose answer was lost may have been applied; the retry finds the
// row stamped by that attempt and does not merge the pane again. A row
// stamped by anyone else is merged into as usual.
func TestRetryAfterAnAmbiguousWriteDoesNotMergeTwice(t *testing.T) {
	c := testenv.Bigtable(t)
	tbl := c.Open(layout.TableMetrics)
	ctx := context.Background()
	key := layout.TotalsKey("shop", time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC))
	t1 := time.Date(2026, 11, 1, 10, 5, 0, 0, time.UTC)
	events := func() int64 {
		t.Helper()
		row, err := tbl.ReadRow(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := layout.DecodeTotals(row, layout.FamilyProvisional)
		return got.Events
	}
	// The first attempt is applied (generation 1 at t1) but, say, its
	// answer is lost: the retry loop's Write remembers that stamp.
	if err := new(Write).MergeTotals(ctx, tbl, key, layout.FamilyProvisional, &layout.Totals{Events: 5}, 0, t1); err != nil {
		t.Fatal(err)
	}
	w := &Write{gen: 1, at: t1.UnixMicro()}
	if err := w.MergeTotals(ctx, tbl, key, layout.FamilyProvisional, &layout.Totals{Events: 5}, 0, t1.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := events(); got != 5 {
		t.Errorf("after the retry of an applied write: %d events, want 5", got)
	}
	// A retry whose earlier attempt did not land (another stamp in the row)
	// merges its pane.
	w = &Write{gen: 1, at: t1.Add(-time.Minute).UnixMicro()}
	if err := w.MergeTotals(ctx, tbl, key, layout.FamilyProvisional, &layout.Totals{Events: 3}, 0, t1.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := events(); got != 8 {
		t.Errorf("after a retry of a write that had not landed: %d events, want 8", got)
	}
}
