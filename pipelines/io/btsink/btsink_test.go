package btsink

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/bigtable"

	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/internal/testenv"
)

// Concurrent merges into one row never lose an update: the compare-and-set
// on the generation makes the loser retry.
func TestMergeTotalsConcurrent(t *testing.T) {
	c := testenv.Bigtable(t)
	tbl := c.Open(layout.TableMetrics)
	ctx := context.Background()
	key := layout.TotalsKey("shop", time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC))

	const writers, panes = 8, 25
	var wg sync.WaitGroup
	var conflicts sync.Map
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < panes; i++ {
				pane := &layout.Totals{Events: 3, PageViews: 1, ByName: map[string]int64{"x": 3},
					Revenue: map[string]int64{"USD": 250}, Visitors: layout.NewVisitorSketch()}
				pane.Visitors.Insert([]byte(fmt.Sprintf("v%d-%d", w, i%5)))
				for {
					err := MergeTotals(ctx, tbl, key, layout.FamilyProvisional, pane, 0, time.Now())
					if err == nil {
						break
					}
					if !errors.Is(err, errConflict) {
						t.Errorf("MergeTotals: %v", err)
						return
					}
					conflicts.Store(w, true)
				}
			}
		}(w)
	}
	wg.Wait()
	row, err := tbl.ReadRow(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := layout.DecodeTotals(row, layout.FamilyProvisional)
	if err != nil {
		t.Fatal(err)
	}
	const n = writers * panes
	if got.Events != 3*n || got.PageViews != n || got.ByName["x"] != 3*n || got.Revenue["USD"] != 250*n {
		t.Errorf("after %d merges: events=%d pageviews=%d x=%d revenue=%d; want %d, %d, %d, %d",
			n, got.Events, got.PageViews, got.ByName["x"], got.Revenue["USD"], 3*n, n, 3*n, 250*n)
	}
	if got.Generation != n {
		t.Errorf("generation = %d, want %d (one per successful write)", got.Generation, n)
	}
	if v := got.VisitorCount(); v != writers*5 {
		t.Errorf("visitors = %d, want %d", v, writers*5)
	}
	if sealed, _ := layout.DecodeTotals(row, layout.FamilySealed); sealed != nil {
		t.Errorf("provisional writes touched the sealed family: %+v", sealed)
	}
}

// A provisional write leaves an existing sealed family alone.
func TestMergeTotalsKeepsSealed(t *testing.T) {
	c := testenv.Bigtable(t)
	tbl := c.Open(layout.TableMetrics)
	ctx := context.Background()
	key := layout.TotalsKey("shop", time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC))
	sealed := &layout.Totals{Events: 42}
	cells, _ := sealed.Cells()
	if err := tbl.Apply(ctx, key, layout.ReplaceFamily(layout.FamilySealed, cells, bigtable.Now())); err != nil {
		t.Fatal(err)
	}
	if err := MergeTotals(ctx, tbl, key, layout.FamilyProvisional, &layout.Totals{Events: 5}, 0, time.Now()); err != nil {
		t.Fatal(err)
	}
	row, _ := tbl.ReadRow(ctx, key)
	s, _ := layout.DecodeTotals(row, layout.FamilySealed)
	p, _ := layout.DecodeTotals(row, layout.FamilyProvisional)
	if s == nil || s.Events != 42 || p == nil || p.Events != 5 {
		t.Errorf("sealed=%+v provisional=%+v; want 42 and 5", s, p)
	}
}

// Breakdown panes merged concurrently and truncated to K after each merge
// still add up: values + other = every event of every pane, and the kept
// values are the ones with the most events overall.
func TestMergeBreakdownTruncates(t *testing.T) {
	c := testenv.Bigtable(t)
	tbl := c.Open(layout.TableMetrics)
	ctx := context.Background()
	key := layout.BreakdownKey("shop", layout.DimPage, time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC))
	const topK, writers, panes = 5, 4, 10
	var wg sync.WaitGroup
	var wantEvents, wantRevenue int64
	var mu sync.Mutex
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < panes; i++ {
				// Page /pN gets N events per pane: /p19../p15 are the top 5.
				pane := &layout.Breakdown{Values: map[string]*layout.Item{}}
				var ev, rev int64
				for n := 1; n <= 20; n++ {
					it := &layout.Item{Events: int64(n), PageViews: 1, Revenue: map[string]int64{"USD": 10}, Visitors: layout.NewItemSketch()}
					it.Visitors.Insert([]byte(fmt.Sprintf("v%d-%d", n, w)))
					pane.Values[fmt.Sprintf("/p%02d", n)] = it
					ev, rev = ev+int64(n), rev+10
				}
				if err := pane.Truncate(topK); err != nil { // as the transforms send it
					t.Error(err)
					return
				}
				for {
					err := MergeBreakdown(ctx, tbl, key, pane, topK, time.Now())
					if err == nil {
						break
					}
					if !errors.Is(err, errConflict) {
						t.Errorf("MergeBreakdown: %v", err)
						return
					}
				}
				mu.Lock()
				wantEvents, wantRevenue = wantEvents+ev, wantRevenue+rev
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	row, err := tbl.ReadRow(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	got, err := layout.DecodeBreakdown(row, layout.FamilyProvisional)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Values) != topK {
		t.Errorf("kept %d values, want %d", len(got.Values), topK)
	}
	for n := 16; n <= 20; n++ {
		v := fmt.Sprintf("/p%02d", n)
		if it := got.Values[v]; it == nil || it.Events != int64(n*writers*panes) || it.VisitorCount() != writers {
			t.Errorf("value %s = %+v, want %d events from %d visitors", v, it, n*writers*panes, writers)
		}
	}
	var sumEvents, sumRevenue, sumPV int64
	for _, it := range got.Values {
		sumEvents, sumRevenue, sumPV = sumEvents+it.Events, sumRevenue+it.Revenue["USD"], sumPV+it.PageViews
	}
	sumEvents, sumRevenue, sumPV = sumEvents+got.Other.Events, sumRevenue+got.Other.Revenue["USD"], sumPV+got.Other.PageViews
	if sumEvents != wantEvents || sumRevenue != wantRevenue || sumPV != 20*writers*panes {
		t.Errorf("values + other = %d events, %d revenue, %d page views; want %d, %d, %d",
			sumEvents, sumRevenue, sumPV, wantEvents, wantRevenue, 20*writers*panes)
	}
	if got.Other.VisitorCount() != 15*writers {
		t.Errorf("other has %d visitors, want %d", got.Other.VisitorCount(), 15*writers)
	}
	if got.Generation != writers*panes {
		t.Errorf("generation = %d, want %d", got.Generation, writers*panes)
	}
}

// Merging names past the cap folds the excess into (other) without losing
// a count.
func TestMergeTotalsCapsNames(t *testing.T) {
	c := testenv.Bigtable(t)
	tbl := c.Open(layout.TableMetrics)
	ctx := context.Background()
	key := layout.RealtimeKey("shop", time.Date(2026, 11, 1, 10, 7, 0, 0, time.UTC))
	for i := 0; i < 6; i++ {
		pane := &layout.Totals{Events: int64(i + 1), ByName: map[string]int64{fmt.Sprintf("n%d", i): int64(i + 1)}}
		if err := MergeTotals(ctx, tbl, key, layout.FamilyRealtime, pane, 3, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	row, _ := tbl.ReadRow(ctx, key)
	got, err := layout.DecodeTotals(row, layout.FamilyRealtime)
	if err != nil || got == nil {
		t.Fatalf("DecodeTotals = %v, %v", got, err)
	}
	want := map[string]int64{"n5": 6, "n4": 5, "n3": 4, "(other)": 6}
	if fmt.Sprint(got.ByName) != fmt.Sprint(want) || got.Events != 21 {
		t.Errorf("names = %v, events = %d; want %v, 21", got.ByName, got.Events, want)
	}
	if p, _ := layout.DecodeTotals(row, layout.FamilyProvisional); p != nil {
		t.Errorf("a realtime merge wrote the provisional family: %+v", p)
	}
}
