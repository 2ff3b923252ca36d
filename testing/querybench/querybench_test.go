package querybench

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/internal/testenv"
	"github.com/footfall/footfall/queryapi"
)

func TestKeys(t *testing.T) {
	k := Keys(10)
	for _, tc := range []struct {
		key  string
		want string
		ok   bool
	}{{ReadKey(0), Merchant(0), true}, {ReadKey(9), Merchant(9), true}, {ReadKey(10), "", false}, {"rk-1", "", false}, {"x", "", false}} {
		if got, ok := k.ByReadKey(tc.key); got != tc.want || ok != tc.ok {
			t.Errorf("ByReadKey(%q) = %q, %v; want %q, %v", tc.key, got, ok, tc.want, tc.ok)
		}
	}
}

// The tool end to end on a tiny layout: every scenario answers without
// error against the real server.
func TestScenariosRunAgainstTheServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an emulator and a server")
	}
	ctx := context.Background()
	c := testenv.Bigtable(t)
	l := Layout{Merchants: 3, Days: 32, End: time.Now().UTC().Truncate(time.Hour), Provisional: 3, Dims: []layout.Dimension{layout.DimPage}, TopK: 10}
	st, err := Preload(ctx, c.Open(layout.TableMetrics), c.Open(layout.TableMeta), l, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(l.Merchants * l.Days * 24 * 2); st.Rows != want {
		t.Errorf("preloaded %d rows, want %d", st.Rows, want)
	}
	store, err := queryapi.NewBigtable(ctx, testenv.Project, testenv.Instance, "")
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	cfg := queryapi.DefaultConfig()
	cfg.RateLimit, cfg.RateBurst = 1e6, 1e6
	srv, err := queryapi.NewServer(cfg, Keys(l.Merchants), store, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	app := srv.App()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go app.Listener(ln)
	defer app.Shutdown()
	base := "http://" + ln.Addr().String()
	for _, sc := range Scenarios(l) {
		t.Run(sc.Name, func(t *testing.T) {
			if err := Warm(ctx, base, sc, l.Merchants, 2); err != nil {
				t.Fatal(err)
			}
			r := Run(ctx, base, sc, l.Merchants, 2, 300*time.Millisecond)
			if r.Errors > 0 || r.Requests == 0 {
				t.Errorf("%d requests, %d errors (first: %s)", r.Requests, r.Errors, r.FirstError)
			}
			if r.P50 <= 0 || r.P99 < r.P50 || r.Max < r.P99 {
				t.Errorf("percentiles out of order: %+v", r)
			}
		})
	}
}
