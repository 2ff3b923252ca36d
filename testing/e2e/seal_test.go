package e2e

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/footfall/footfall/internal/keys"
	"github.com/footfall/footfall/testing/localstack"
	"github.com/footfall/footfall/testing/truth"
)

// send posts events in batches of 50 and fails on anything but a 200.
func send(t *testing.T, base string, evs []truth.Event) {
	t.Helper()
	for off := 0; off < len(evs); off += 50 {
		code, body, err := truth.Post(context.Background(), base, keys.DemoWriteKey, evs[off:min(off+50, len(evs))])
		if err != nil || code != 200 {
			t.Fatalf("POST /v1/batch: %d %s %v", code, body, err)
		}
	}
}

// served compares the query API with want ("" on a match).
func served(t *testing.T, base string, from, to time.Time, want map[string]*truth.Hour, sealed bool) string {
	t.Helper()
	return truth.Served(context.Background(), base, keys.DemoReadKey, from, to, want, sealed)
}

// Closed hours seal by themselves, exactly, even when the streaming job is
// killed (SIGKILL) in the middle of the hour's events and restarted: its
// provisional counts may then count redelivered events twice, the sealed
// ones may not.
func TestSealAfterCrashIsExact(t *testing.T) {
	st := startStackWith(t, func(o *localstack.Options) {
		o.PipelineArgs = []string{"--early-firing=2s"}
		o.SealEvery, o.SealGrace = 2*time.Second, time.Second
	})
	// Two closed hours, so that the sealer seals them while they receive
	// events and again once they stop.
	h := time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour)
	evs := truth.Gen("crash", 11, 1200, h, h.Add(2*time.Hour))
	// kill waits until the job has counted some of what was sent, then
	// kills it mid-stream and waits for the stack to restart it.
	kill := func() {
		t.Helper()
		restarts := st.Restarts(localstack.Pipeline)
		truth.Eventually(t, time.Minute, "the streaming job counting events", func() string {
			if served(t, st.QueryURL(), h, h.Add(2*time.Hour), nil, false) == "" {
				return "nothing counted yet"
			}
			return ""
		})
		if err := st.Kill(localstack.Pipeline); err != nil {
			t.Fatal(err)
		}
		truth.Eventually(t, time.Minute, "the streaming job restarted", func() string {
			if st.Restarts(localstack.Pipeline) == restarts {
				return "not restarted"
			}
			return ""
		})
	}
	send(t, st.IngestURL(), evs[:600])
	kill()
	send(t, st.IngestURL(), evs[600:900])
	// A client retries a batch it already sent: the same ids again.
	send(t, st.IngestURL(), evs[550:650])
	kill()
	send(t, st.IngestURL(), evs[900:])
	want := truth.Truth(evs, false)
	truth.Eventually(t, 4*time.Minute, "sealed hours equal to the ground truth", func() string {
		return served(t, st.QueryURL(), h, h.Add(2*time.Hour), want, true)
	})
	if n := st.Restarts(localstack.Pipeline); n < 2 {
		t.Errorf("the streaming job restarted %d times, want 2", n)
	}
}

// The bug-fix scenario: the streaming job runs with a deliberate bug
// (crawlers counted as visitors), the numbers are wrong; a backfill of the
// range with the correct logic makes them exact. A dry run first shows the
// change and writes nothing.
func TestBackfillFixesABug(t *testing.T) {
	st := startStackWith(t, func(o *localstack.Options) {
		o.PipelineArgs = []string{"--early-firing=2s", "--inject-bug=count-bots"}
		o.SealGrace = 12 * time.Hour // the sealer leaves these hours to the backfill
	})
	h := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
	evs := truth.Gen("bug", 12, 600, h, h.Add(2*time.Hour))
	send(t, st.IngestURL(), evs)
	want := truth.Truth(evs, false)
	wrong := truth.Truth(evs, true) // what the bug counts: crawlers too
	truth.Eventually(t, 2*time.Minute, "the buggy streaming counts", func() string {
		return served(t, st.QueryURL(), h, h.Add(2*time.Hour), wrong, false)
	})

	backfill := func(args ...string) string {
		t.Helper()
		r := st.Resources()
		cmd := exec.Command(filepath.Join(binDir, localstack.Sealer), append([]string{
			"--source=" + st.ArchiveDir(), "--bigtable-project=" + r.BigtableProject, "--bigtable-instance=" + r.BigtableInstance,
			"--from=" + h.Format(time.RFC3339), "--to=" + h.Add(2*time.Hour).Format(time.RFC3339), "--progress=log"}, args...)...)
		cmd.Env = append(cmd.Environ(), "BIGTABLE_EMULATOR_HOST="+st.Options().BigtableAddr)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		go func() { <-ctx.Done(); cmd.Process.Kill() }()
		if err := cmd.Run(); err != nil {
			t.Fatalf("backfill %v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	out := backfill("--dry-run")
	t.Logf("backfill --dry-run:\n%s", out)
	if !strings.Contains(out, "would change") || !strings.Contains(out, "→") {
		t.Errorf("dry run output does not show old → new values:\n%s", out)
	}
	if diff := served(t, st.QueryURL(), h, h.Add(2*time.Hour), wrong, false); diff != "" {
		t.Errorf("after the dry run the served numbers changed: %s", diff)
	}
	out = backfill()
	t.Logf("backfill:\n%s", out)
	if !strings.Contains(out, "2 of 2 hours sealed") {
		t.Errorf("backfill summary:\n%s", out)
	}
	truth.Eventually(t, 30*time.Second, "exact numbers after the backfill", func() string {
		return served(t, st.QueryURL(), h, h.Add(2*time.Hour), want, false)
	})
	// A rerun changes nothing.
	if out = backfill(); !strings.Contains(out, " 0 rows changed") {
		t.Errorf("rerun summary should report no changed row:\n%s", out)
	}
}
