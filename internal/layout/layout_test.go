package layout

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"cloud.google.com/go/bigtable"
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
	in.Sessions, in.Bounces, in.SessionMillis = 3, 1, 90_000
	in.ByName = map[string]int64{"page_view": 4, "signup": 6}
	in.Revenue = map[string]int64{"USD": 1999, "JPY": 500}
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
		got.SessionMillis != 90_000 || got.UpdatedAt != 12345 || got.Generation != 7 {
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
	b.Events, b.ByName, b.Revenue = 5, map[string]int64{"x": 1, "y": 4}, map[string]int64{"EUR": 100}
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	if a.Events != 7 || a.ByName["x"] != 3 || a.ByName["y"] != 4 || a.Revenue["EUR"] != 100 {
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
		it := &Item{Events: int64(i + 1), PageViews: int64(i), Revenue: map[string]int64{"USD": int64(10 * i)}, Visitors: NewItemSketch()}
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
		gotRev += it.Revenue["USD"]
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
	if len(back.Values) != 10 || back.Other.Events != b.Other.Events || back.Values["/p49"].Revenue["USD"] != 490 || back.Values["/p49"].VisitorCount() != 1 {
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
