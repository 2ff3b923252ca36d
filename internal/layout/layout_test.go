package layout

import (
	"context"
	"fmt"
	"math"
	"sort"
	"testing"
	"time"

	"cloud.google.com/go/bigtable"
	"cloud.google.com/go/bigtable/bttest"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

var h10 = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

func TestKeysRoundTrip(t *testing.T) {
	tests := []struct {
		key  string
		want Key
	}{
		{TotalsKey("shop-1", h10), Key{Merchant: "shop-1", Kind: KindTotals, Time: h10}},
		{BreakdownKey("shop-1", DimPage, h10), Key{Merchant: "shop-1", Kind: KindBreakdown, Dim: DimPage, Time: h10}},
		{RealtimeKey("shop-1", h10.Add(7*time.Minute)), Key{Merchant: "shop-1", Kind: KindRealtime, Time: h10.Add(7 * time.Minute)}},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			got, err := ParseKey(tc.key)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("ParseKey(%q) = %+v, want %+v", tc.key, got, tc.want)
			}
		})
	}
	if got := TotalsKey("m", h10); got != "m#t#2026110110" {
		t.Errorf("TotalsKey = %q, want merchant first then hour", got)
	}
	for _, bad := range []string{"", "m", "m#t", "m#t#20261301", "m#x#2026110110", "m#b#page"} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) succeeded, want an error", bad)
		}
	}
}

// A merchant's range never contains another merchant's rows, even when one
// merchant id is a prefix of another.
func TestRangesIsolateMerchants(t *testing.T) {
	merchants := []string{"a", "a-b", "a_b", "ab", "a0"}
	var keys []string
	for _, m := range merchants {
		for h := 0; h < 3; h++ {
			keys = append(keys, TotalsKey(m, h10.Add(time.Duration(h)*time.Hour)))
			keys = append(keys, BreakdownKey(m, DimPage, h10.Add(time.Duration(h)*time.Hour)))
		}
	}
	sort.Strings(keys)
	for _, m := range merchants {
		r := TotalsRange(m, h10, h10.Add(3*time.Hour))
		var got []string
		for _, k := range keys {
			if r.Contains(k) {
				got = append(got, k)
			}
		}
		if len(got) != 3 {
			t.Fatalf("TotalsRange(%q) covers %v, want its 3 totals rows", m, got)
		}
		for _, k := range got {
			pk, _ := ParseKey(k)
			if pk.Merchant != m || pk.Kind != KindTotals {
				t.Errorf("TotalsRange(%q) covers %q", m, k)
			}
		}
	}
}

func TestTotalsRangeRoundsOutwards(t *testing.T) {
	r := TotalsRange("m", h10.Add(30*time.Minute), h10.Add(90*time.Minute))
	for _, tc := range []struct {
		hour time.Time
		want bool
	}{{h10.Add(-time.Hour), false}, {h10, true}, {h10.Add(time.Hour), true}, {h10.Add(2 * time.Hour), false}} {
		if got := r.Contains(TotalsKey("m", tc.hour)); got != tc.want {
			t.Errorf("range [10:30, 11:30) contains hour %s = %v, want %v", tc.hour.Format("15:04"), got, tc.want)
		}
	}
}

func sketchOf(ids ...string) *Totals {
	t := &Totals{Visitors: NewVisitorSketch()}
	for _, id := range ids {
		t.Visitors.Insert([]byte(id))
	}
	return t
}

func TestTotalsCellsRoundTrip(t *testing.T) {
	in := sketchOf("v1", "v2", "v3")
	in.Events, in.PageViews, in.BotEvents = 10, 4, 2
	in.Sessions, in.Bounces, in.EngagedSessions, in.SessionMillis = 3, 1, 2, 90_000
	in.ByName = map[string]int64{"page_view": 4, "signup": 6}
	in.Revenue = Money{"USD": {1999, 2}, "JPY": {500, 0}, "BHD": {-1500, 3}}
	in.UpdatedAt, in.Generation = 12345, 7
	cells, err := in.Cells()
	if err != nil {
		t.Fatal(err)
	}
	got, err := TotalsFromCells(cells)
	if err != nil {
		t.Fatal(err)
	}
	if got.Events != 10 || got.PageViews != 4 || got.BotEvents != 2 || got.Sessions != 3 || got.Bounces != 1 ||
		got.EngagedSessions != 2 || got.SessionMillis != 90_000 || got.UpdatedAt != 12345 || got.Generation != 7 {
		t.Errorf("counters changed: %+v", got)
	}
	if fmt.Sprint(got.ByName) != fmt.Sprint(in.ByName) || fmt.Sprint(got.Revenue) != fmt.Sprint(in.Revenue) {
		t.Errorf("maps changed: %v %v", got.ByName, got.Revenue)
	}
	if got.VisitorCount() != 3 {
		t.Errorf("visitors = %d, want 3", got.VisitorCount())
	}
	// Through a Bigtable row as well.
	row := bigtable.Row{FamilySealed: nil}
	for _, c := range cells {
		row[FamilySealed] = append(row[FamilySealed], bigtable.ReadItem{Row: "k", Column: FamilySealed + ":" + c.Qualifier, Value: c.Value})
	}
	fromRow, err := DecodeTotals(row, FamilySealed)
	if err != nil || fromRow.Events != 10 || fromRow.ByName["signup"] != 6 {
		t.Errorf("DecodeTotals = %+v, %v", fromRow, err)
	}
	if none, err := DecodeTotals(row, FamilyProvisional); none != nil || err != nil {
		t.Errorf("DecodeTotals of an empty family = %v, %v; want nil, nil", none, err)
	}
}

func TestTotalsMergeUnionsVisitors(t *testing.T) {
	a := sketchOf("v1", "v2")
	a.Events, a.ByName = 2, map[string]int64{"x": 2}
	b := sketchOf("v2", "v3")
	b.Events, b.ByName, b.Revenue = 5, map[string]int64{"x": 1, "y": 4}, Money{"EUR": {100, 2}}
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	if a.Events != 7 || a.ByName["x"] != 3 || a.ByName["y"] != 4 || a.Revenue["EUR"] != (Amount{100, 2}) {
		t.Errorf("Merge = %+v", a)
	}
	if got := a.VisitorCount(); got != 3 {
		t.Errorf("merged visitors = %d, want 3 (a union, not a sum of 4)", got)
	}
	// Merging into an empty Totals copies, and does not alias, the sketch.
	var c Totals
	if err := c.Merge(b); err != nil {
		t.Fatal(err)
	}
	c.Visitors.Insert([]byte("v9"))
	if b.VisitorCount() != 2 {
		t.Errorf("merge aliased the source sketch")
	}
}

func TestBreakdownTruncateKeepsTotals(t *testing.T) {
	b := &Breakdown{Values: map[string]*Item{}}
	var wantEvents, wantPV, wantRev int64
	for i := 0; i < 50; i++ {
		it := &Item{Events: int64(i + 1), PageViews: int64(i), Revenue: Money{"USD": {int64(10 * i), 2}}, Sessions: int64(i % 3), Visitors: NewItemSketch()}
		it.Visitors.Insert([]byte(fmt.Sprintf("v%d", i)))
		b.Values[fmt.Sprintf("/p%02d", i)] = it
		wantEvents += int64(i + 1)
		wantPV += int64(i)
		wantRev += int64(10 * i)
	}
	if err := b.Truncate(10); err != nil {
		t.Fatal(err)
	}
	if len(b.Values) != 10 {
		t.Fatalf("kept %d values, want 10", len(b.Values))
	}
	for i := 40; i < 50; i++ {
		if _, ok := b.Values[fmt.Sprintf("/p%02d", i)]; !ok {
			t.Errorf("top value /p%02d was folded into other", i)
		}
	}
	var gotEvents, gotPV, gotRev int64
	for _, it := range append(values(b), &b.Other) {
		gotEvents += it.Events
		gotPV += it.PageViews
		gotRev += it.Revenue["USD"].Minor
	}
	if gotEvents != wantEvents || gotPV != wantPV || gotRev != wantRev {
		t.Errorf("after truncation values+other = %d events, %d pageviews, %d revenue; want %d, %d, %d", gotEvents, gotPV, gotRev, wantEvents, wantPV, wantRev)
	}
	if got := b.Other.VisitorCount(); got != 40 {
		t.Errorf("other visitors = %d, want 40", got)
	}

	cells, err := b.Cells()
	if err != nil {
		t.Fatal(err)
	}
	back, err := BreakdownFromCells(cells)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Values) != 10 || back.Other.Events != b.Other.Events || back.Values["/p49"].Revenue["USD"] != (Amount{490, 2}) || back.Values["/p49"].VisitorCount() != 1 {
		t.Errorf("breakdown round trip lost data: %+v", back)
	}
}

func values(b *Breakdown) []*Item {
	var out []*Item
	for _, it := range b.Values {
		out = append(out, it)
	}
	return out
}

func TestMarshalCellsRoundTrip(t *testing.T) {
	in := []Cell{{"a", []byte{0, 1, 2}}, {"n:page view", nil}, {"", []byte("x")}}
	got, err := UnmarshalCells(MarshalCells(in))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint([]Cell{{"a", []byte{0, 1, 2}}, {"n:page view", []byte{}}, {"", []byte("x")}}) {
		t.Errorf("got %v", got)
	}
	if _, err := UnmarshalCells([]byte{5, 'a'}); err == nil {
		t.Error("truncated input decoded without error")
	}
}

func TestIntEncoding(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 1 << 40} {
		got, err := DecodeInt(EncodeInt(v))
		if err != nil || got != v {
			t.Errorf("DecodeInt(EncodeInt(%d)) = %d, %v", v, got, err)
		}
	}
	if _, err := DecodeInt([]byte{1, 2}); err == nil {
		t.Error("a 2-byte integer decoded")
	}
}

func TestQuarterKeysRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		key  string
		want Key
	}{
		{QuarterTotalsKey("shop-1", h10), Key{Merchant: "shop-1", Kind: KindQuarterTotals, Time: h10}},
		{QuarterBreakdownKey("shop-1", DimExit, h10), Key{Merchant: "shop-1", Kind: KindQuarterBreakdown, Dim: DimExit, Time: h10}},
	} {
		got, err := ParseKey(tc.key)
		if err != nil || got != tc.want {
			t.Errorf("ParseKey(%q) = %+v, %v; want %+v", tc.key, got, err, tc.want)
		}
	}
	// Hourly and quarter rows of one merchant never fall into each other's ranges.
	keys := []string{TotalsKey("m", h10), QuarterTotalsKey("m", h10), BreakdownKey("m", DimPage, h10), QuarterBreakdownKey("m", DimPage, h10)}
	ranges := []bigtable.RowRange{TotalsRange("m", h10, h10.Add(time.Hour)), QuarterTotalsRange("m", h10, h10.Add(time.Hour)),
		BreakdownRange("m", DimPage, h10, h10.Add(time.Hour)), QuarterBreakdownRange("m", DimPage, h10, h10.Add(time.Hour))}
	for i, r := range ranges {
		for j, k := range keys {
			if got := r.Contains(k); got != (i == j) {
				t.Errorf("range %v contains %q = %v", r, k, got)
			}
		}
	}
	if q := QuarterOf(h10.Add(44*time.Minute + 59*time.Second)); q != 2 {
		t.Errorf("QuarterOf(10:44:59) = %d, want 2", q)
	}
}

func TestQuarterRowsRoundTrip(t *testing.T) {
	qt := &QuarterTotals{UpdatedAt: 5, Generation: 2}
	qt.Q[1] = sketchOf("a", "b")
	qt.Q[1].Events, qt.Q[1].Revenue = 2, Money{"EUR": {990, 2}}
	qt.Q[3] = &Totals{Events: 1, Sessions: 1, Bounces: 1}
	cells, err := qt.Cells()
	if err != nil {
		t.Fatal(err)
	}
	back, err := QuarterTotalsFromCells(cells)
	if err != nil {
		t.Fatal(err)
	}
	if back.UpdatedAt != 5 || back.Generation != 2 || back.Q[0] != nil || back.Q[2] != nil ||
		back.Q[1].Events != 2 || back.Q[1].VisitorCount() != 2 || back.Q[1].Revenue["EUR"] != (Amount{990, 2}) ||
		back.Q[3].Sessions != 1 || back.Q[3].Bounces != 1 {
		t.Errorf("quarter totals round trip = %+v", back)
	}

	qb := &QuarterBreakdowns{UpdatedAt: 7}
	qb.Q[0] = &Breakdown{Values: map[string]*Item{"/a": {Events: 3, Sessions: 1}}, Other: Item{Events: 1}}
	cells, err = qb.Cells()
	if err != nil {
		t.Fatal(err)
	}
	bb, err := QuarterBreakdownsFromCells(cells)
	if err != nil {
		t.Fatal(err)
	}
	if bb.UpdatedAt != 7 || bb.Q[1] != nil || bb.Q[0].Values["/a"].Sessions != 1 || bb.Q[0].Other.Events != 1 {
		t.Errorf("quarter breakdown round trip = %+v", bb)
	}
}

func TestMoneyNeverWraps(t *testing.T) {
	big := Amount{math.MaxInt64 - 1, 2}
	if got := big.Plus(Amount{5, 2}); got.Minor != math.MaxInt64 {
		t.Errorf("MaxInt64-1 + 5 = %d, want saturation at MaxInt64", got.Minor)
	}
	if got := (Amount{math.MinInt64 + 1, 0}).Plus(Amount{-5, 0}); got.Minor != math.MinInt64 {
		t.Errorf("MinInt64+1 - 5 = %d, want saturation at MinInt64", got.Minor)
	}
	// Different scales meet at the larger one.
	if got := (Amount{1990, 2}).Plus(Amount{5, 3}); got != (Amount{19905, 3}) {
		t.Errorf("19.90 + 0.005 = %+v, want {19905 3}", got)
	}
	if got := (Amount{1, 0}).Rescale(20); got.Minor != math.MaxInt64 {
		t.Errorf("rescale beyond int64 = %+v, want saturation", got)
	}
	for _, tc := range []struct {
		a    Amount
		want string
	}{{Amount{1990, 2}, "19.90"}, {Amount{-5, 2}, "-0.05"}, {Amount{500, 0}, "500"}, {Amount{1, 3}, "0.001"}} {
		if got := tc.a.Decimal(); got != tc.want {
			t.Errorf("%+v.Decimal() = %q, want %q", tc.a, got, tc.want)
		}
	}
	a, err := DecodeAmount(EncodeAmount(Amount{-1234, 3}))
	if err != nil || a != (Amount{-1234, 3}) {
		t.Errorf("amount round trip = %+v, %v", a, err)
	}
	var m Money
	m = m.Add("EUR", Amount{100, 2}).Add("EUR", Amount{math.MaxInt64, 2})
	if m["EUR"].Minor != math.MaxInt64 {
		t.Errorf("money sum wrapped: %+v", m)
	}
}

// A late write with an older timestamp (a retried or zombie worker) cannot
// shadow a newer one, nor bring back a column the newer one dropped.
func TestOverwriteFamilyIsSafeToRepeatLate(t *testing.T) {
	ctx := context.Background()
	srv, err := bttest.NewServer("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	conn, err := grpc.NewClient(srv.Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	ac, err := bigtable.NewAdminClient(ctx, "p", "i", option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	if err := ac.CreateTable(ctx, TableMetrics); err != nil {
		t.Fatal(err)
	}
	if err := ac.CreateColumnFamily(ctx, TableMetrics, FamilyProvisional); err != nil {
		t.Fatal(err)
	}
	c, err := bigtable.NewClient(ctx, "p", "i", option.WithGRPCConn(conn))
	if err != nil {
		t.Fatal(err)
	}
	tbl := c.Open(TableMetrics)
	write := func(ts int64, t1 *Totals, drop []string) {
		t.Helper()
		cells, err := t1.Cells()
		if err != nil {
			t.Fatal(err)
		}
		if err := tbl.Apply(ctx, "k", OverwriteFamily(FamilyProvisional, cells, drop, bigtable.Timestamp(ts))); err != nil {
			t.Fatal(err)
		}
	}
	read := func() *Totals {
		t.Helper()
		row, err := tbl.ReadRow(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeTotals(row, FamilyProvisional)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	first := &Totals{Events: 1, ByName: map[string]int64{"a": 1}, UpdatedAt: 1000, Generation: 1}
	second := &Totals{Events: 5, ByName: map[string]int64{"b": 5}, UpdatedAt: 2000, Generation: 2}
	write(1000, first, nil)
	write(2000, second, []string{ColNamePrefix + "a"})
	write(1000, first, nil) // the first write again, late
	got := read()
	if got.Events != 5 || got.Generation != 2 || len(got.ByName) != 1 || got.ByName["b"] != 5 {
		t.Errorf("after a late repeat of an older write, read %+v; want the newer write only", got)
	}
	write(2000, second, []string{ColNamePrefix + "a"}) // the newer write again: the same result
	if got := read(); got.Events != 5 || len(got.ByName) != 1 {
		t.Errorf("after repeating the newer write, read %+v", got)
	}
}
