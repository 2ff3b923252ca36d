package btemu

import (
	"context"
	"fmt"
	"testing"
	"time"

	"cloud.google.com/go/bigtable"
	"cloud.google.com/go/bigtable/bttest"

	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/testing/truth"
)

// With EnableGC the emulator applies the layout's GC policies: realtime
// minute cells older than layout.RealtimeRetention go, and their rows with
// them; a meta cell written again and again keeps one version. Fresh
// realtime cells stay.
func TestEnableGCAppliesTheLayoutsPolicies(t *testing.T) {
	srv, err := bttest.NewServer("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	t.Setenv("BIGTABLE_EMULATOR_HOST", srv.Addr)
	ac, err := bigtable.NewAdminClient(ctx, "p", "i")
	if err != nil {
		t.Fatal(err)
	}
	defer ac.Close()
	for table, fams := range layout.Families() { // as the local stack creates them
		conf := &bigtable.TableConf{TableID: table, ColumnFamilies: map[string]bigtable.Family{}}
		for f, gc := range fams {
			conf.ColumnFamilies[f] = bigtable.Family{GCPolicy: gc}
		}
		if err := ac.CreateTableFromConf(ctx, conf); err != nil {
			t.Fatal(err)
		}
	}
	if err := EnableGC(ctx, srv.Addr); err != nil {
		t.Fatal(err)
	}
	c, err := bigtable.NewClient(ctx, "p", "i")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	metrics, meta := c.Open(layout.TableMetrics), c.Open(layout.TableMeta)

	now := time.Now().UTC().Truncate(time.Minute)
	old, fresh := now.Add(-layout.RealtimeRetention-time.Hour), now.Add(-time.Minute)
	for _, minute := range []time.Time{old, fresh} {
		m := bigtable.NewMutation()
		m.Set(layout.FamilyRealtime, "events", bigtable.Time(minute), []byte("1"))
		if err := metrics.Apply(ctx, layout.RealtimeKey("m", minute), m); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		m := bigtable.NewMutation()
		m.Set(layout.FamilyMeta, layout.ColSealedThrough, bigtable.Time(now.Add(time.Duration(i)*time.Second)), layout.EncodeInt(int64(i)))
		if err := meta.Apply(ctx, layout.MetaWatermarks, m); err != nil {
			t.Fatal(err)
		}
	}

	state := func() string {
		var rows []string
		err := metrics.ReadRows(ctx, bigtable.PrefixRange(layout.RealtimeKey("m", old)[:len("m#r#")]), func(r bigtable.Row) bool {
			rows = append(rows, r.Key())
			return true
		})
		if err != nil {
			return err.Error()
		}
		row, err := meta.ReadRow(ctx, layout.MetaWatermarks)
		if err != nil {
			return err.Error()
		}
		return fmt.Sprintf("realtime rows %v, sealed_through versions %d", rows, len(row[layout.FamilyMeta]))
	}
	want := fmt.Sprintf("realtime rows [%s], sealed_through versions 1", layout.RealtimeKey("m", fresh))
	truth.Eventually(t, 30*time.Second, "the GC policies applied", func() string {
		if got := state(); got != want {
			return got + "; want " + want
		}
		return ""
	})
}
