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

// demoShop is the demo merchant of a stack of its own.
func demoShop(st *localstack.Stack) *shop {
	return shopOn(st, keys.DemoMerchant, keys.DemoReadKey, truth.Keys{WriteKey: keys.DemoWriteKey, APISecret: keys.DemoAPISecret})
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
	s := demoShop(st)
	// An hour the sealer seals while it receives events and again once
	// they stop.
	a := hourA()
	reqs := truth.Mix(truth.MixOptions{Merchant: keys.DemoMerchant, Seed: 11, Visitors: 300, From: a, To: a.Add(minutes(50))})
	// kill waits until the job has counted some of what was sent, then
	// kills it mid-stream and waits for the stack to restart it.
	kill := func() {
		t.Helper()
		restarts := st.Restarts(localstack.Pipeline)
		truth.Eventually(t, time.Minute, "the streaming job counting events", func() string {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if len(s.api.Compare(ctx, &truth.Model{}, truth.Check{Merchant: keys.DemoMerchant, From: a, To: a.Add(time.Hour), Intervals: []string{"hour"}, Metrics: []string{"events"}})) == 0 {
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
	n := len(reqs)
	s.sendLenient(t, reqs[:n/2]...)
	kill()
	s.sendLenient(t, reqs[n/2:3*n/4]...)
	// A client retries requests it already sent.
	s.sendLenient(t, reqs[n/2-5:n/2+5]...)
	kill()
	s.sendLenient(t, reqs[3*n/4:]...)
	c := sealed(a, a.Add(time.Hour))
	s.eventually(t, 4*time.Minute, "sealed hour equal to the ground truth", c)
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
	s := demoShop(st)
	// Two hours that streaming still holds; the sealer leaves them alone.
	h := hourA()
	end := h.Add(2 * time.Hour)
	s.sendLenient(t, truth.Mix(truth.MixOptions{Merchant: keys.DemoMerchant, Seed: 12, Visitors: 150, From: h, To: h.Add(time.Hour), Spill: 50 * time.Minute})...)
	// What the bug counts: crawlers' events and visitors too.
	wrong := truth.Check{From: h, To: end, Intervals: []string{"hour"}, Metrics: []string{"events", "visitors"}, Summary: true}
	s.cfg.CountBots = true
	s.eventually(t, 2*time.Minute, "the buggy streaming counts", wrong)
	s.cfg.CountBots = false

	backfill := func(args ...string) string {
		t.Helper()
		r := st.Resources()
		cmd := exec.Command(filepath.Join(binDir, localstack.Sealer), append([]string{
			"--source=" + st.ArchiveDir(), "--bigtable-project=" + r.BigtableProject, "--bigtable-instance=" + r.BigtableInstance,
			"--from=" + h.Format(time.RFC3339), "--to=" + end.Format(time.RFC3339), "--progress=log"}, args...)...)
		cmd.Env = append(cmd.Environ(), "BIGTABLE_EMULATOR_HOST="+st.Options().BigtableAddr)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := waitStart(cmd, 3*time.Minute); err != nil {
			t.Fatalf("backfill %v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	out := backfill("--dry-run")
	t.Logf("backfill --dry-run:\n%s", out)
	if !strings.Contains(out, "would change") || !strings.Contains(out, "→") {
		t.Errorf("dry run output does not show old → new values:\n%s", out)
	}
	s.cfg.CountBots = true
	s.eventually(t, 10*time.Second, "the served numbers unchanged after the dry run", wrong)
	s.cfg.CountBots = false
	out = backfill()
	t.Logf("backfill:\n%s", out)
	if !strings.Contains(out, "2 of 2 hours sealed") {
		t.Errorf("backfill summary:\n%s", out)
	}
	// Exact, from the rows the backfill sealed (not marked sealed: the
	// stack's sealer, kept away with its long grace, holds sealed_through).
	exact := sealed(h, end)
	exact.Sealed = false
	s.eventually(t, 30*time.Second, "exact numbers after the backfill", exact)
	// A rerun changes nothing.
	if out = backfill(); !strings.Contains(out, " 0 rows changed") {
		t.Errorf("rerun summary should report no changed row:\n%s", out)
	}
}
