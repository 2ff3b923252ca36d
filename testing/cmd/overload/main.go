// Command overload offers the whole local stack more than its pipeline
// can take, then a normal load: -factor (3) times -rate events/s for
// -overload (15m), then -rate for -after (15m). Ingest's back-pressure
// (docs/ingest.md) must show the overload as 503s with Retry-After — which
// the load generator honours, retrying with the same ids — and nothing
// acknowledged may be lost: once the stack's sealer has sealed every hour
// of the run, the sealed values must count every acknowledged event
// exactly once. It samples what the soak samples (testing/soak) and writes
// overload.csv, .svg, .png and .md into -out. Loopback only. See
// docs/reliability.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/footfall/footfall/testing/soak"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := realMain(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "overload:", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("overload", flag.ContinueOnError)
	bin := fs.String("bin", "bin", "directory with the stack's binaries (make build)")
	out := fs.String("out", "data/overload", "directory overload.csv, .svg, .png and .md are written to")
	data := fs.String("data", "", "directory for the stack's logs and archive (default: a temporary one, removed at the end)")
	rate := fs.Float64("rate", 3000, "the normal rate, events/s (below what the pipeline sustains, so that the backlog drains)")
	factor := fs.Float64("factor", 3, "the overload is factor × rate")
	overload := fs.Duration("overload", 15*time.Minute, "how long the overload lasts")
	after := fs.Duration("after", 15*time.Minute, "how long the normal rate follows")
	c := soak.Config{Sealed: true}
	soak.Flags(fs, &c)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *factor <= 1 {
		return errors.New("-factor must be more than 1")
	}
	c.Phases = []soak.Phase{{Rate: *factor * *rate, Duration: *overload}, {Rate: *rate, Duration: *after}}
	if err := soak.Check(c); err != nil {
		return err
	}
	title := fmt.Sprintf("overload: %.0f events/s for %s, then %.0f events/s for %s", *factor**rate, *overload, *rate, *after)
	return soak.RunAndReport(ctx, c, *bin, *data, *out, "overload", title, false, func(r *soak.Result) []string {
		var out []string
		if r.Stats.ByStatus[503] == 0 {
			out = append(out, "no request was answered 503: the overload was not visible (is back-pressure on? see docs/ingest.md)")
		}
		if r.BackpressureOn == 0 {
			out = append(out, "ingest never logged that it switched back-pressure on")
		}
		return out
	})
}
