package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/keys"
	"github.com/footfall/footfall/pipelines/io/archive"
	"github.com/footfall/footfall/testing/localstack"
	"github.com/footfall/footfall/testing/truth"
)

// Issue 16, point 6: a merchant-scoped backfill and the sealer working on
// the same hour at once must leave it serving the truth — never nothing,
// and neither may fail for the other. The backfill covers a day of
// archived history, so its job runs for seconds; in the paused rounds it
// is stopped (SIGSTOP) as soon as its job reads the archive — after its
// generation was taken — while a sealer pass seals the hour, then resumed;
// in the other round both run freely at once. Plain traffic (page views
// and one custom event per visitor), so that any difference is the race's.
func TestBackfillBesideTheSealer(t *testing.T) {
	st := startStackWith(t, func(o *localstack.Options) {
		o.PipelineArgs = []string{"--early-firing=2s"}
		// The stack's own sealer looks only at the last hour, so it stays
		// away from hour A (this test runs the sealer itself, at chosen
		// moments) and keeps sealed_through moving.
		o.SealEvery, o.SealGrace, o.SealerArgs = 5*time.Second, time.Second, []string{"--lookback=1h"}
	})
	m := keys.DemoMerchant
	s := demoShop(st)
	a := hourA()
	dir := st.ArchiveDir()
	ctx := context.Background()

	// A day of history before the hour, straight into the archive, for the
	// backfill to read (60,000 events).
	w, err := archive.NewWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	for h := a.Add(-24 * time.Hour); h.Before(a.Add(-5 * time.Hour)); h = h.Add(time.Hour) {
		var evs []event.Event
		for i := range 3150 {
			v := &truth.Visitor{Merchant: m, Anon: fmt.Sprintf("history-%d", i%400), UA: truth.UAChromeWindows}
			msg := v.Page(h.Add(time.Duration(i)*time.Second), truth.Shop+"/", "")
			msg.Hit.ID = fmt.Sprintf("history-%d-%d", h.Unix(), i)
			evs = append(evs, truth.Archived(msg, msg.Hit.At.Add(time.Second)))
		}
		if err := w.WriteBatch(ctx, evs); err != nil {
			t.Fatal(err)
		}
	}
	plain := func(round, n int) []truth.Request {
		var msgs []truth.Msg
		for i := range n {
			v := visitor(m, fmt.Sprintf("r%d-v%d", round, i), false, truth.UAFirefoxMac, "DE")
			start := a.Add(time.Duration(i%50) * time.Minute)
			msgs = append(msgs, v.Page(start, truth.Shop+"/", "https://www.google.com/"), v.Page(start.Add(20*time.Second), truth.Shop+"/cart", truth.Shop+"/"),
				v.Track(start.Add(40*time.Second), "signup", truth.Shop+"/cart", nil))
		}
		return truth.Segment(m, msgs...)
	}

	r := st.Resources()
	run := func(args ...string) (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(filepath.Join(binDir, localstack.Sealer), append([]string{"--source=" + dir,
			"--bigtable-project=" + r.BigtableProject, "--bigtable-instance=" + r.BigtableInstance, "--progress=log"}, args...)...)
		cmd.Env = append(cmd.Environ(), "BIGTABLE_EMULATOR_HOST="+st.Options().BigtableAddr)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &out
	}
	check := truth.Check{From: a, To: a.Add(time.Hour), Intervals: []string{"hour"}, Metrics: []string{"events", "pageviews", "visitors"}, Summary: true, Sealed: true}
	for round, pause := range []bool{true, false, true} {
		s.send(t, plain(round, 40)...)
		waitArchived(t, dir, a, s.sent.Hits)
		// One file in the hour, so that the sealer's own compaction removes
		// no file under the backfill's reader.
		if _, err := archive.Compact(ctx, dir, a); err != nil {
			t.Fatal(err)
		}
		metricsAddr, err := localstack.FreeAddr()
		if err != nil {
			t.Fatal(err)
		}
		backfill, bout := run("--from="+a.Add(-24*time.Hour).Format(time.RFC3339), "--to="+a.Add(time.Hour).Format(time.RFC3339),
			"--chunk-hours=25", "--merchant="+m, "--metrics-addr="+metricsAddr)
		if pause {
			truth.Eventually(t, time.Minute, "the backfill's job reading the archive", func() string {
				if n := counter(metricsAddr, "footfall_archive_files_read_total"); n == 0 {
					return "no archive file read yet"
				}
				return ""
			})
			backfill.Process.Signal(syscall.SIGSTOP)
		}
		sealer, sout := run("--seal-closed-hours", "--grace=1s", "--lookback=4h")
		var wg sync.WaitGroup
		var serr error
		wg.Add(1)
		go func() { defer wg.Done(); serr = waitCmd(sealer, 3*time.Minute) }()
		if pause {
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
		what := fmt.Sprintf("round %d (%s)", round, map[bool]string{true: "backfill paused while the sealer ran", false: "both at once"}[pause])
		t.Logf("%s: backfill: %s; sealer: %s", what, lastLine(bout.String()), lastLine(sout.String()))
		if berr != nil || serr != nil {
			// Runs on one hour are serialised or ordered, not left to fail
			// (a sealer compacting the hour under a backfill's reader).
			t.Errorf("%s: backfill: %v\n%s\nsealer: %v\n%s", what, berr, bout, serr, sout)
		}
		s.eventually(t, 30*time.Second, what, check)
	}
}

// counter reads one counter from a Prometheus /metrics page (0 when it is
// not there yet).
func counter(addr, name string) float64 {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return 0
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
