// Package browser runs footfall's browser tests in a real headless
// Chromium. TestWebCollectionInChromium (web_test.go) is the acceptance test
// of collecting from websites. TestDashboardInChromium tests the merchant
// dashboard (queryapi/dashboard): it starts the whole local stack on free loopback
// ports, sends the demo merchant a few hundred generated events through
// ingest, waits until the query API shows them, and runs dashboard.mjs
// (Playwright driving Debian's /usr/bin/chromium), which checks that the
// page shows the API's numbers and the ground truth's, follows range and
// time-zone changes, shows the API's errors in its words, and works with
// the keyboard and on a narrow screen. It saves a screenshot.
//
// Chromium, node and npm are needed (found on PATH or /usr/bin/chromium, or
// named by FOOTFALL_CHROMIUM, FOOTFALL_NODE, FOOTFALL_NPM); without them the
// tests are skipped, or fail when FOOTFALL_CI=1 (set by .ci/run). The
// first run installs playwright-core and @segment/analytics-next with npm
// ci (package-lock.json). FOOTFALL_DASHBOARD_SCREENSHOT
// names where the screenshot goes (`make dashboard-screenshot` points it at
// docs/dashboard.png); otherwise it goes to a temporary directory.
package browser

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"github.com/footfall/footfall/internal/keys"
	"github.com/footfall/footfall/testing/demodata"
	"github.com/footfall/footfall/testing/localstack"
	"github.com/footfall/footfall/testing/truth"
)

// Events is how many events the test sends over the last Span, and
// LiveEvents how many more in the last 25 minutes.
const (
	Events     = 800
	Span       = 30 * time.Hour
	LiveEvents = 40
)

// need skips the test with why, or fails it in CI (FOOTFALL_CI=1).
func need(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("FOOTFALL_CI") == "1" {
		t.Fatalf("%s (FOOTFALL_CI=1, so this is a failure)", why)
	}
	t.Skipf("%s; set FOOTFALL_CI=1 to make this a failure", why)
}

// tool finds a program: the environment variable env if set, else name
// on PATH, else the fallback paths.
func tool(env, name string, fallback ...string) string {
	if p := os.Getenv(env); p != "" {
		if _, err := os.Stat(p); err != nil {
			return ""
		}
		return p
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range fallback {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// browserTools skips the test under -short, finds Chromium and node (or
// skips, or fails when the browser tests are required: need) and installs
// the npm packages.
func browserTools(t *testing.T) (chromium, node string) {
	t.Helper()
	if testing.Short() {
		t.Skip("starts the whole stack and a browser")
	}
	chromium = tool("FOOTFALL_CHROMIUM", "chromium", "/usr/bin/chromium")
	if chromium == "" {
		need(t, "no Chromium (Debian: apt-get install -y chromium; or set FOOTFALL_CHROMIUM)")
	}
	node, npm := tool("FOOTFALL_NODE", "node"), tool("FOOTFALL_NPM", "npm")
	if node == "" || npm == "" {
		need(t, "no node or npm (Debian: apt-get install -y nodejs npm)")
	}
	installPlaywright(t, npm)
	return chromium, node
}

func TestDashboardInChromium(t *testing.T) {
	chromium, node := browserTools(t)

	bin := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := localstack.Build(ctx, "../..", bin); err != nil {
		t.Fatal(err)
	}
	st := startStack(t, bin)

	now := time.Now().UTC()
	// Over the last Span, and some more in the last 25 minutes so that the
	// realtime panel has something to show.
	events := append(demodata.Generate(11, Events, now.Add(-Span), now, "browser-"),
		demodata.Generate(12, LiveEvents, now.Add(-25*time.Minute), now, "browser-live-")...)
	client := &http.Client{Timeout: 30 * time.Second}
	if err := demodata.Send(ctx, client, st.IngestURL(), keys.DemoWriteKey, events); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	waitVisible(t, client, st.QueryURL(), now.Add(-Span-time.Hour), events)
	t.Logf("%d events visible in the query API %.1f s after they were sent", len(events), time.Since(sent).Seconds())

	dir := t.TempDir()
	truth := filepath.Join(dir, "truth.json")
	writeTruth(t, truth, events)
	shot := os.Getenv("FOOTFALL_DASHBOARD_SCREENSHOT")
	if shot == "" {
		shot = filepath.Join(dir, "dashboard.png")
	}
	if abs, err := filepath.Abs(shot); err == nil {
		shot = abs
	}

	// Once with the browser in Berlin (whole-hour offsets; the screenshots
	// of the docs), once in India (+05:30: local midnights and hours cut
	// UTC hours, served from quarter-hour rows).
	for _, run := range []struct{ zone, shot string }{
		{"Europe/Berlin", shot},
		{"Asia/Kolkata", filepath.Join(dir, "dashboard-kolkata.png")},
	} {
		rctx, rcancel := context.WithTimeout(context.Background(), 3*time.Minute)
		cmd := exec.CommandContext(rctx, node, "dashboard.mjs")
		cmd.Env = append(os.Environ(),
			"DASHBOARD_URL="+st.QueryURL()+"/dashboard/",
			"READ_KEY="+keys.DemoReadKey,
			"TRUTH="+truth,
			"SCREENSHOT="+run.shot,
			"CHROMIUM="+chromium,
			"BROWSER_ZONE="+run.zone,
		)
		cmd.WaitDelay = 10 * time.Second
		start := time.Now()
		out, err := cmd.CombinedOutput()
		rcancel()
		t.Logf("dashboard.mjs, browser in %s (%.1f s):\n%s", run.zone, time.Since(start).Seconds(), out)
		if err != nil {
			t.Fatalf("the browser test failed with the browser in %s: %v", run.zone, err)
		}
		t.Logf("screenshots: %s and its -narrow twin", run.shot)
	}
}

// installPlaywright runs npm ci when playwright-core or
// @segment/analytics-next is not installed yet (it needs the npm registry
// once; node_modules is not committed).
func installPlaywright(t *testing.T, npm string) {
	t.Helper()
	_, err1 := os.Stat(filepath.Join("node_modules", "playwright-core", "package.json"))
	_, err2 := os.Stat(filepath.Join("node_modules", "@segment", "analytics-next", "package.json"))
	if err1 == nil && err2 == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in testing/browser (installs playwright-core and @segment/analytics-next from package-lock.json): %v\n%s", err, out)
	}
}

func startStack(t *testing.T, bin string) *localstack.Stack {
	t.Helper()
	return localstack.StartForTest(t, localstack.Options{
		BinDir:       bin,
		PipelineArgs: []string{"--early-firing=2s"},
		// The page makes 7 requests per load and the test repeats each to
		// compare: more than a read key's default allowance (burst 40,
		// 20/s) in a few seconds. Ingest reads RATE_LIMIT_BURST too, as
		// events: 100,000 is above its default.
		Env: []string{"RATE_LIMIT_PER_SECOND=1000", "RATE_LIMIT_BURST=100000"},
	})
}

// waitVisible waits until the query API counts every event, page view and
// cent sent, in its totals and in its country breakdown (bounded).
func waitVisible(t *testing.T, client *http.Client, base string, from time.Time, events []demodata.Event) {
	t.Helper()
	var pageviews int64
	revenue := map[string]int64{}
	for _, e := range events {
		if e.PageView() {
			pageviews++
		}
		revenue[e.Currency] += e.Minor
	}
	delete(revenue, "")
	q := url.Values{
		"from": {from.Truncate(time.Hour).Format(time.RFC3339)},
		"to":   {time.Now().UTC().Truncate(time.Hour).Add(time.Hour).Format(time.RFC3339)},
	}
	want := fmt.Sprintf("events %d, page views %d, revenue %v, country total %d", len(events), pageviews, revenue, len(events))
	truth.Eventually(t, 3*time.Minute, "the query API showing what was sent", func() string {
		var s struct {
			Current struct {
				Events    int64                            `json:"events"`
				PageViews int64                            `json:"pageviews"`
				Revenue   map[string]struct{ Minor int64 } `json:"revenue"`
			} `json:"current"`
		}
		var b struct {
			Total struct {
				Events int64 `json:"events"`
			} `json:"total"`
		}
		q.Set("metrics", "events,pageviews,revenue")
		err1 := getJSON(client, base+"/v1/summary?"+q.Encode(), &s)
		q.Set("metrics", "events")
		err2 := getJSON(client, base+"/v1/breakdown?dimension=country&"+q.Encode(), &b)
		q.Del("metrics")
		if err1 != nil || err2 != nil {
			return fmt.Sprint(err1, err2)
		}
		rev := map[string]int64{}
		for c, m := range s.Current.Revenue {
			rev[c] = m.Minor
		}
		if got := fmt.Sprintf("events %d, page views %d, revenue %v, country total %d", s.Current.Events, s.Current.PageViews, rev, b.Total.Events); got != want {
			return "got " + got + ", want " + want
		}
		return ""
	})
}

func getJSON(client *http.Client, u string, v any) error {
	return getJSONKey(client, u, keys.DemoReadKey, v)
}

// writeTruth writes what dashboard.mjs computes its expectations from.
func writeTruth(t *testing.T, path string, events []demodata.Event) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"events": events})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
