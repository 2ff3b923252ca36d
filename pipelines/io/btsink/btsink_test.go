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
					err := MergeTotals(ctx, tbl, key, pane, time.Now())
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
	if err := MergeTotals(ctx, tbl, key, &layout.Totals{Events: 5}, time.Now()); err != nil {
		t.Fatal(err)
	}
	row, _ := tbl.ReadRow(ctx, key)
	s, _ := layout.DecodeTotals(row, layout.FamilySealed)
	p, _ := layout.DecodeTotals(row, layout.FamilyProvisional)
	if s == nil || s.Events != 42 || p == nil || p.Events != 5 {
		t.Errorf("sealed=%+v provisional=%+v; want 42 and 5", s, p)
	}
}
