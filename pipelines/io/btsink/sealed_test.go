package btsink

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"cloud.google.com/go/bigtable"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/internal/testenv"
	"github.com/footfall/footfall/pipelines/internal/beamcoder"
	"github.com/footfall/footfall/pipelines/internal/counters"
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
	prov := &layout.Totals{Events: 7, UpdatedAt: 5000}
	provCells, _ := prov.Cells()
	if err := tbl.Apply(ctx, tKey, layout.OverwriteFamily(layout.FamilyProvisional, provCells, nil, 5000)); err != nil {
		t.Fatal(err)
	}

	sealed := &layout.Totals{Events: 3, ByName: map[string]int64{"signup": 3}}
	de := &layout.Breakdown{Values: map[string]*layout.Item{"DE": {Events: 3}}}
	rows := map[string][]byte{tKey: packed(t, sealed), emptyT: packed(t, &layout.Totals{}), bKey: packed(t, de), emptyB: packed(t, &layout.Breakdown{})}
	const gen = 1_700_000_000_000_000
	seal := func(gen int64) {
		p, s := beam.NewPipelineWithRoot()
		WriteSealed(s, Options{Project: testenv.Project, Instance: testenv.Instance, SealedAt: gen},
			beam.ParDo(s, &rowsFn{Rows: rows}, beam.Create(s, tKey, emptyT, bKey, emptyB)))
		ptest.RunAndValidate(t, p)
	}
	value := counters.Value
	changed0, unchanged0 := value("sealed_rows_changed"), value("sealed_rows_unchanged")
	seal(gen)
	if c, u := value("sealed_rows_changed")-changed0, value("sealed_rows_unchanged")-unchanged0; c != 4 || u != 0 {
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
	changed0, unchanged0 = value("sealed_rows_changed"), value("sealed_rows_unchanged")
	seal(gen + 1)
	if c, u := value("sealed_rows_changed")-changed0, value("sealed_rows_unchanged")-unchanged0; c != 0 || u != 4 {
		t.Errorf("rerun: %d rows changed, %d unchanged; want 0 and 4", c, u)
	}
	for _, k := range []string{tKey, emptyT} {
		row, _ := tbl.ReadRow(ctx, k)
		if got, _ := layout.DecodeTotals(row, layout.FamilySealed); got == nil || got.UpdatedAt != gen+1 {
			t.Errorf("%s after the rerun = %+v, want stamped %d", k, got, gen+1)
		}
	}
}

// packed encodes a row's cells as a RowContent (beamcoder).
func packed(t testing.TB, c interface{ Cells() ([]layout.Cell, error) }) []byte {
	t.Helper()
	cells, err := c.Cells()
	if err != nil {
		t.Fatal(err)
	}
	return beamcoder.EncodeRowContent(layout.RowContent{Cells: cells})
}

// rowsFn emits the packed content of each key.
type rowsFn struct{ Rows map[string][]byte }

func (fn *rowsFn) ProcessElement(key string, emit func(string, layout.RowContent)) error {
	rc, err := beamcoder.DecodeRowContent(fn.Rows[key])
	emit(key, rc)
	return err
}

func init() {
	register.DoFn2x1[string, func(string, layout.RowContent), error](&rowsFn{})
}

// Provisional writes are plain: the fold's rows overwrite the family with
// their own timestamp. The same row written again, or an older version
// written late (a re-run bundle, a zombie worker), leaves what readers see
// unchanged; dropped columns go.
func TestWriteProvisionalIsIdempotent(t *testing.T) {
	c := testenv.Bigtable(t)
	tbl := c.Open(layout.TableMetrics)
	ctx := context.Background()
	key := layout.TotalsKey("shop", time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC))
	version := func(events int64, names map[string]int64, at int64, drop ...string) []byte {
		tt := &layout.Totals{Events: events, ByName: names, UpdatedAt: at, Generation: at / 1000}
		cells, err := tt.Cells()
		if err != nil {
			t.Fatal(err)
		}
		return beamcoder.EncodeRowContent(layout.RowContent{Cells: cells, Drop: drop})
	}
	v1 := version(2, map[string]int64{"a": 2}, 1_000_000)
	v2 := version(5, map[string]int64{"b": 5}, 2_000_000, layout.ColNamePrefix+"a")
	write := func(versions ...[]byte) {
		t.Helper()
		rows := map[string][]byte{}
		var keys []string
		for i, v := range versions {
			k := fmt.Sprint(i)
			rows[k] = v
			keys = append(keys, k)
		}
		p, s := beam.NewPipelineWithRoot()
		WriteProvisional(s, Options{Project: testenv.Project, Instance: testenv.Instance},
			beam.ParDo(s, &keyedRowsFn{Key: key, Rows: rows}, beam.CreateList(s, keys)))
		ptest.RunAndValidate(t, p)
	}
	read := func() *layout.Totals {
		t.Helper()
		row, err := tbl.ReadRow(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		got, err := layout.DecodeTotals(row, layout.FamilyProvisional)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	write(v1)
	write(v2)
	write(v1)     // the older version again, late
	write(v2, v2) // the newer one twice
	if got := read(); got.Events != 5 || len(got.ByName) != 1 || got.ByName["b"] != 5 {
		t.Errorf("read %+v; want the newest version only (5 events, name b)", got)
	}
}

// keyedRowsFn emits Rows[k] under Key for each k.
type keyedRowsFn struct {
	Key  string
	Rows map[string][]byte
}

func (fn *keyedRowsFn) ProcessElement(k string, emit func(string, layout.RowContent)) error {
	rc, err := beamcoder.DecodeRowContent(fn.Rows[k])
	emit(fn.Key, rc)
	return err
}

func init() {
	register.DoFn2x1[string, func(string, layout.RowContent), error](&keyedRowsFn{})
}

// Errors no retry can fix end the retry loop at once; transient ones are
// retried until they pass.
func TestRetryStopsOnPermanentErrors(t *testing.T) {
	for _, tc := range []struct {
		code codes.Code
		perm bool
	}{
		{codes.PermissionDenied, true}, {codes.InvalidArgument, true}, {codes.FailedPrecondition, true},
		{codes.NotFound, true}, {codes.Unauthenticated, true}, {codes.Unimplemented, true},
		{codes.Unavailable, false}, {codes.DeadlineExceeded, false}, {codes.ResourceExhausted, false}, {codes.Aborted, false}, {codes.Internal, false},
	} {
		err := fmt.Errorf("write x: %w", status.Error(tc.code, "refused"))
		if got := Permanent(err); got != tc.perm {
			t.Errorf("Permanent(%s) = %v, want %v", tc.code, got, tc.perm)
		}
		calls := 0
		rerr := retry(context.Background(), "test", func() error {
			calls++
			if calls < 3 {
				return err
			}
			return nil
		})
		if tc.perm && (rerr == nil || calls != 1) {
			t.Errorf("%s: retry made %d calls and returned %v; want one call and the error", tc.code, calls, rerr)
		}
		if !tc.perm && (rerr != nil || calls != 3) {
			t.Errorf("%s: retry made %d calls and returned %v; want three calls and success", tc.code, calls, rerr)
		}
	}
	// A bulk write's joined per-row errors: permanent if any row's is.
	joined := errors.Join(fmt.Errorf("row a: %w", status.Error(codes.Unavailable, "x")), fmt.Errorf("row b: %w", status.Error(codes.PermissionDenied, "no")))
	if !Permanent(joined) {
		t.Error("a joined error with a permanent row error is not permanent")
	}
}
