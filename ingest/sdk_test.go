package ingest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/footfall/footfall/internal/event"
)

// sdkDir holds the npm project with the real SDKs (pinned in package.json
// and package-lock.json).
const sdkDir = "testdata/sdk"

var npmOnce sync.Once
var npmErr error

// inCI reports whether missing tools must fail the test rather than skip
// it: FOOTFALL_CI=1 (what .ci/run sets), or CI set by a CI runner.
func inCI() bool { return os.Getenv("FOOTFALL_CI") == "1" || os.Getenv("CI") != "" }

// needSDKs makes sure node and the SDKs are there: node_modules is
// installed with `npm ci` (the committed lock file) when absent. Without
// node or npm the test is skipped, except in CI (FOOTFALL_CI=1), where it
// fails — and so does an `npm ci` that cannot install the packages.
func needSDKs(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("SDK compatibility test runs node; skipped with -short")
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if inCI() {
				t.Fatalf("%s is required in CI (FOOTFALL_CI=1) for the SDK compatibility test: %v", tool, err)
			}
			t.Skipf("%s not installed: %v", tool, err)
		}
	}
	npmOnce.Do(func() {
		if _, err := os.Stat(filepath.Join(sdkDir, "node_modules", "@segment", "analytics-node")); err == nil {
			if _, err := os.Stat(filepath.Join(sdkDir, "node_modules", "@rudderstack", "rudder-sdk-node")); err == nil {
				return
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = sdkDir
		out, err := cmd.CombinedOutput()
		if err != nil {
			npmErr = err
			t.Logf("npm ci:\n%s", out)
		}
	})
	if npmErr != nil {
		t.Fatalf("npm ci in %s: %v", sdkDir, npmErr)
	}
}

func TestRealSDKs(t *testing.T) {
	needSDKs(t)
	for _, script := range []string{"segment.cjs", "rudder.cjs"} {
		t.Run(script, func(t *testing.T) {
			s, ps := newTestServer(t, nil)
			s.now = time.Now // the SDKs stamp real times
			base, _ := serve(t, s)
			run := "run-" + strings.TrimSuffix(script, ".cjs")

			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "node", script)
			cmd.Dir = sdkDir
			cmd.Env = append(os.Environ(), "INGEST_URL="+base, "WRITE_KEY=wk-b", "RUN_ID="+run)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("node %s: %v\n%s", script, err, out)
			}
			t.Logf("node %s: %s", script, strings.TrimSpace(string(out)))

			got := map[string]event.Event{} // by name
			for _, e := range published(t, ps) {
				if _, dup := got[e.Name]; dup {
					t.Errorf("two events named %s", e.Name)
				}
				got[e.Name] = e
				if e.MerchantID != "shop-b" || e.Source != event.SourceSegment || e.ID == "" || e.UserAgent == "" {
					t.Errorf("%s: merchant %q source %q id %q user agent %q", e.Name, e.MerchantID, e.Source, e.ID, e.UserAgent)
				}
				if e.Type != event.TypeAlias && !strings.Contains(e.Properties, run) {
					t.Errorf("%s: properties %s lack the run id %s", e.Name, e.Properties, run)
				}
			}
			wantNames := map[string]string{
				"identify": event.TypeIdentify, "Order Completed": event.TypeTrack, event.NamePageView: event.TypePage,
				event.NameScreenView: event.TypeScreen, "group": event.TypeGroup, "alias": event.TypeAlias,
			}
			if len(got) != len(wantNames) {
				t.Errorf("got %d events, want %d: %v", len(got), len(wantNames), keysOf(got))
			}
			for name, typ := range wantNames {
				e, ok := got[name]
				if !ok {
					t.Errorf("no %s event arrived", name)
					continue
				}
				if e.Type != typ {
					t.Errorf("%s: type %q, want %q", name, e.Type, typ)
				}
			}
			track := got["Order Completed"]
			if track.UserID != "sdk-user" || track.RevenueMinor != 1999 || track.Currency != "EUR" || track.Country != "US" {
				t.Errorf("track = %+v; want user sdk-user, 1999 EUR, country US", track)
			}
			// The SDK stamped the track an hour back; after skew correction
			// it must still be an hour before its receive time.
			lag := time.UnixMicro(track.ReceiveTime).Sub(track.Time())
			if lag < 59*time.Minute || lag > 61*time.Minute {
				t.Errorf("track event time is %s before its receive time, want about 1h", lag)
			}
			page := got[event.NamePageView]
			if page.AnonymousID != "sdk-visitor" || page.PagePath != "/pricing" || page.UTMSource != "sdk" || page.PageTitle != "Pricing" {
				t.Errorf("page = %+v", page)
			}
		})
	}
}

func keysOf(m map[string]event.Event) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
