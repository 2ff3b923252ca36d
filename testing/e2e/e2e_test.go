// Package e2e runs the whole local stack (emulators, Prism pipeline, ingest,
// query API, each its own process) and checks that events sent over HTTP
// come back from the query API exactly as a ground truth computed from the
// sent events says.
package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"cloud.google.com/go/bigtable"
	json "github.com/goccy/go-json"

	"github.com/footfall/footfall/internal/keys"
	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/testing/localstack"
	"github.com/footfall/footfall/testing/truth"
)

var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "footfall-e2e-bin")
	if err != nil {
		panic(err)
	}
	binDir = dir
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	err = localstack.Build(ctx, "../..", dir)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startStack runs a stack on free loopback ports.
func startStack(t *testing.T, pipelineArgs ...string) *localstack.Stack {
	t.Helper()
	return startStackWith(t, func(o *localstack.Options) { o.PipelineArgs = pipelineArgs })
}

// startStackWith runs a stack on free loopback ports with options changed
// by mod.
func startStackWith(t *testing.T, mod func(*localstack.Options)) *localstack.Stack {
	t.Helper()
	opts := localstack.Options{BinDir: binDir}
	mod(&opts)
	return localstack.StartForTest(t, opts)
}

type sent struct {
	name    string
	at      time.Time
	visitor string
	page    string // page views
	cents   int64  // purchases, in Currency
}

// Currency of the purchases sent.
const Currency = "EUR"

func TestEventsReachTheQueryAPI(t *testing.T) {
	st := startStack(t, "--early-firing=2s")
	now := time.Now().UTC()
	first := now.Truncate(time.Hour).Add(-4 * time.Hour)
	rng := rand.New(rand.NewPCG(7, 11))
	names := []string{"page_view", "signup", "add_to_cart", "purchase"}

	// A few hundred events, spread over the last five hours, in batches.
	var events []sent
	pages := []string{"/", "/products/1", "/products/2", "/cart", "/about"}
	for i := 0; i < 400; i++ {
		at := first.Add(time.Duration(rng.Int64N(int64(now.Sub(first)))))
		e := sent{name: names[rng.IntN(len(names))], at: at.Truncate(time.Millisecond), visitor: fmt.Sprintf("visitor-%d", rng.IntN(40))}
		switch e.name {
		case "page_view":
			e.page = pages[rng.IntN(len(pages))]
		case "purchase":
			e.cents = int64(100 + rng.IntN(10000))
		}
		events = append(events, e)
	}
	for off := 0; off < len(events); off += 50 {
		var batch []map[string]any
		for i, e := range events[off:min(off+50, len(events))] {
			m := map[string]any{"anonymousId": e.visitor,
				"messageId": fmt.Sprintf("e2e-%d", off+i), "timestamp": e.at.Format(time.RFC3339Nano)}
			switch {
			case e.name == "page_view":
				m["type"], m["properties"] = "page", map[string]any{"path": e.page, "url": "https://shop.example.com" + e.page}
			case e.cents > 0:
				m["type"], m["event"] = "track", e.name
				m["properties"] = map[string]any{"revenue": fmt.Sprintf("%d.%02d", e.cents/100, e.cents%100), "currency": Currency}
			default:
				m["type"], m["event"] = "track", e.name
			}
			batch = append(batch, m)
		}
		postBatch(t, st.IngestURL(), map[string]any{"batch": batch})
	}
	lastSent := time.Now()

	// Ground truth from what was sent: events per hour, and per name.
	want := map[string]map[string]float64{} // hour → name ("" = all) → count
	for _, e := range events {
		h := e.at.Truncate(time.Hour).Format(time.RFC3339)
		if want[h] == nil {
			want[h] = map[string]float64{}
		}
		want[h][""]++
		want[h][e.name]++
	}

	from, to := first, now.Truncate(time.Hour).Add(time.Hour)
	truth.Eventually(t, 3*time.Minute, "the query API matching the ground truth", func() string {
		return compare(t, st.QueryURL(), from, to, want, names)
	})
	t.Logf("all %d events visible in the query API %.1f s after the last was sent", len(events), time.Since(lastSent).Seconds())

	// The metrics the query API does not serve yet, read from Bigtable
	// with the layout package: visitors, revenue and the page breakdown of
	// every hour.
	hours := hourTruth(events)
	bt := bigtableClient(t, st)
	truth.Eventually(t, time.Minute, "Bigtable matching the ground truth", func() string {
		return compareBigtable(t, bt, hours)
	})
}

// hourGroundTruth is what one hour of the sent events must produce.
type hourGroundTruth struct {
	visitors map[string]bool
	revenue  int64
	pages    map[string]int64 // page views by path
}

func hourTruth(events []sent) map[time.Time]*hourGroundTruth {
	out := map[time.Time]*hourGroundTruth{}
	for _, e := range events {
		h := e.at.Truncate(time.Hour)
		if out[h] == nil {
			out[h] = &hourGroundTruth{visitors: map[string]bool{}, pages: map[string]int64{}}
		}
		g := out[h]
		g.visitors[e.visitor] = true
		g.revenue += e.cents
		if e.page != "" {
			g.pages[e.page]++
		}
	}
	return out
}

func bigtableClient(t *testing.T, st *localstack.Stack) *bigtable.Client {
	t.Helper()
	// localstack.Start pointed BIGTABLE_EMULATOR_HOST at the stack's emulator.
	r := st.Resources()
	c, err := bigtable.NewClient(context.Background(), r.BigtableProject, r.BigtableInstance)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// compareBigtable returns "" when every hour's provisional totals and page
// breakdown match the ground truth: revenue and page views exactly,
// visitors within the sketch's error (exact at these counts, where the
// sketch is sparse; 2% allowed).
func compareBigtable(t *testing.T, c *bigtable.Client, truth map[time.Time]*hourGroundTruth) string {
	t.Helper()
	tbl := c.Open(layout.TableMetrics)
	ctx := context.Background()
	for h, g := range truth {
		row, err := tbl.ReadRow(ctx, layout.TotalsKey(keys.DemoMerchant, h))
		if err != nil {
			return err.Error()
		}
		tot, err := layout.DecodeTotals(row, servedFamily(row))
		if err != nil || tot == nil {
			return fmt.Sprintf("hour %s: totals %v, %v", h.Format(time.RFC3339), tot, err)
		}
		want := int64(len(g.visitors))
		if got := tot.VisitorCount(); math.Abs(float64(got-want)) > 0.02*float64(want) {
			return fmt.Sprintf("hour %s: %d visitors, want %d", h.Format(time.RFC3339), got, want)
		}
		if got := tot.Revenue[Currency].Minor; got != g.revenue {
			return fmt.Sprintf("hour %s: revenue %d %s, want %d", h.Format(time.RFC3339), got, Currency, g.revenue)
		}
		row, err = tbl.ReadRow(ctx, layout.BreakdownKey(keys.DemoMerchant, layout.DimPage, h))
		if err != nil {
			return err.Error()
		}
		b, err := layout.DecodeBreakdown(row, servedFamily(row))
		if err != nil || b == nil {
			return fmt.Sprintf("hour %s: page breakdown %v, %v", h.Format(time.RFC3339), b, err)
		}
		for page, n := range g.pages {
			if it := b.Values[page]; it == nil || it.PageViews != n {
				return fmt.Sprintf("hour %s: page %s has %+v, want %d page views", h.Format(time.RFC3339), page, it, n)
			}
		}
	}
	return ""
}

func postBatch(t *testing.T, base string, body any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/batch", bytes.NewReader(b))
	req.SetBasicAuth(keys.DemoWriteKey, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		out, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST /v1/batch: %s: %s", resp.Status, out)
	}
}

// compare returns "" when every hour's counts match want, else a description.
func compare(t *testing.T, base string, from, to time.Time, want map[string]map[string]float64, names []string) string {
	t.Helper()
	for _, name := range append([]string{""}, names...) {
		q := url.Values{"metrics": {"events"}, "interval": {"hour"}, "from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
		if name != "" {
			q.Set("event", name)
		}
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/timeseries?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+keys.DemoReadKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err.Error()
		}
		var out struct {
			Points []map[string]any `json:"points"`
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			return fmt.Sprintf("status %d, %v", resp.StatusCode, err)
		}
		for _, p := range out.Points {
			start := p["start"].(string)
			if got, w := p["events"].(float64), want[start][name]; got != w {
				return fmt.Sprintf("hour %s event %q: got %v, want %v", start, name, got, w)
			}
		}
	}
	return ""
}

// servedFamily is the family a reader serves of a row: sealed where the
// sealer has written it (hours older than the streaming horizon are only
// ever sealed), else provisional.
func servedFamily(row bigtable.Row) string {
	if len(row[layout.FamilySealed]) > 0 {
		return layout.FamilySealed
	}
	return layout.FamilyProvisional
}
