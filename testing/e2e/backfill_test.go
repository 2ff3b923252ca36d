package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/footfall/footfall/internal/keys"
	"github.com/footfall/footfall/pipelines/io/archive"
	"github.com/footfall/footfall/testing/localstack"
	"github.com/footfall/footfall/testing/truth"
)

// Issue 16, point 6: a merchant-scoped backfill and the sealer working on
// the same hour at once must leave it serving the truth, never nothing. In
// each round the backfill starts first (its generation is older) and the
// sealer runs while it is paused (SIGSTOP) for longer and longer, so that
// the sealer's seal record lands before the backfill's rows; one round runs
// both freely.
func TestBackfillBesideTheSealer(t *testing.T) {
	st := startStackWith(t, func(o *localstack.Options) {
		o.PipelineArgs = []string{"--early-firing=2s"}
		// The stack's own sealer looks only at the last hour, so it stays
		// away from hour A (this test runs the sealer itself, at chosen
		// moments) and keeps sealed_through moving.
		o.SealEvery, o.SealGrace, o.SealerArgs = 5*time.Second, time.Second, []string{"--lookback=1h"}
	})
	m := keys.DemoMerchant
	s := shopOn(st, m, keys.DemoReadKey, truth.Keys{WriteKey: keys.DemoWriteKey, APISecret: keys.DemoAPISecret})
	a := hourA()
	s.sendLenient(t, truth.Mix(truth.MixOptions{Merchant: m, Seed: 60, Visitors: 80, From: a, To: a.Add(minutes(50))})...)
	s.eventually(t, 2*time.Minute, "after streaming", streamed(a, nextHour()))

	r := st.Resources()
	run := func(args ...string) (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(filepath.Join(binDir, localstack.Sealer), append([]string{"--source=" + st.ArchiveDir(),
			"--bigtable-project=" + r.BigtableProject, "--bigtable-instance=" + r.BigtableInstance, "--progress=log"}, args...)...)
		cmd.Env = append(cmd.Environ(), "BIGTABLE_EMULATOR_HOST="+st.Options().BigtableAddr)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &out
	}
	check := truth.Check{From: a, To: a.Add(time.Hour), Intervals: []string{"hour"}, Metrics: append(truth.EventMetrics, "sessions"), Summary: true, Sealed: true}
	for round, pause := range []time.Duration{0, 700 * time.Millisecond, 2 * time.Second, 4 * time.Second} {
		// Late events for hour A make a sealer pass due again.
		s.sendLenient(t, truth.Mix(truth.MixOptions{Merchant: m, Seed: uint64(61 + round), Visitors: 5, From: a.Add(minutes(50)), To: a.Add(minutes(55))})...)
		waitArchived(t, st.ArchiveDir(), a, s.sent.Hits)

		backfill, bout := run("--from="+a.Format(time.RFC3339), "--to="+a.Add(time.Hour).Format(time.RFC3339), "--merchant="+m)
		if pause > 0 {
			time.Sleep(pause)
			backfill.Process.Signal(syscall.SIGSTOP)
		}
		sealer, sout := run("--seal-closed-hours", "--grace=1s", "--lookback=6h")
		var wg sync.WaitGroup
		var serr error
		wg.Add(1)
		go func() { defer wg.Done(); serr = waitCmd(sealer, 3*time.Minute) }()
		if pause > 0 {
			// Resume the backfill once the sealer is done, or after a while
			// if the sealer waits for it (runs serialised).
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
			}
			backfill.Process.Signal(syscall.SIGCONT)
		}
		berr := waitCmd(backfill, 3*time.Minute)
		wg.Wait()
		t.Logf("round %d: backfill: %s; sealer: %s", round, lastLine(bout.String()), lastLine(sout.String()))
		if berr != nil || serr != nil {
			t.Fatalf("round %d: backfill: %v\n%s\nsealer: %v\n%s", round, berr, bout, serr, sout)
		}
		s.eventually(t, 30*time.Second, fmt.Sprintf("round %d (backfill paused %s after its start while the sealer ran)", round, pause), check)
	}
}

// waitCmd waits for cmd, killing it after limit.
func waitCmd(cmd *exec.Cmd, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	go func() { <-ctx.Done(); cmd.Process.Kill() }()
	return cmd.Wait()
}

// waitArchived waits until the archive holds every acknowledged hit of the
// hour at h (the streaming job archives what it reads).
func waitArchived(t *testing.T, dir string, h time.Time, hits []truth.Hit) {
	t.Helper()
	var want int64
	for _, x := range hits {
		if !x.At.Before(h) && x.At.Before(h.Add(time.Hour)) {
			want++
		}
	}
	truth.Eventually(t, time.Minute, "events archived", func() string {
		st, err := archive.Stat(dir, h)
		if err != nil {
			return err.Error()
		}
		if st.Rows < want {
			return fmt.Sprintf("%d of %d archived", st.Rows, want)
		}
		return ""
	})
}
