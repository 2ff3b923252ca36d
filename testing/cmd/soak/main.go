// Command soak runs the whole local stack under a steady load for any
// duration (default: 10 minutes at 4,000 events/s, about 80 % of what the
// local stack sustains end to end, docs/benchmarks.md), samples every
// process's RSS and CPU (emulators included), the Pub/Sub backlog and the
// end-to-end delay, then waits for the stack's sealer to seal every hour of
// the run and checks that the sealed values — and, before them, the
// provisional ones — count every acknowledged event exactly once. A run of
// an hour or more crosses an hour boundary, so the sealer seals a full hour
// while the load goes on; the last hour is sealed once it has settled (its
// clock hour's end, plus transforms.SettledAfter, an hour, plus the 2-minute
// grace), which the run waits for. It writes
// soak.csv, soak.svg, soak.png and soak.md into -out. Loopback only.
// See docs/reliability.md.
package main

import (
	"context"
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
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	bin := fs.String("bin", "bin", "directory with the stack's binaries (make build)")
	out := fs.String("out", "data/soak", "directory soak.csv, soak.svg, soak.png and soak.md are written to")
	data := fs.String("data", "", "directory for the stack's logs and archive (default: a temporary one, removed at the end)")
	rate := fs.Float64("rate", 4000, "events per second offered")
	duration := fs.Duration("duration", 10*time.Minute, "how long the load runs")
	rssTarget := fs.String("rss-target", "auto", "fail when the stack's RSS still grows at the end of the load (on, off, auto: on from 60m)")
	c := soak.Config{Sealed: true}
	soak.Flags(fs, &c)
	if err := fs.Parse(args); err != nil {
		return err
	}
	c.Phases = []soak.Phase{{Rate: *rate, Duration: *duration}}
	if err := soak.Check(c); err != nil {
		return err
	}
	target := *rssTarget == "on" || (*rssTarget == "auto" && *duration >= time.Hour)
	title := fmt.Sprintf("soak: %.0f events/s offered for %s", *rate, *duration)
	return soak.RunAndReport(ctx, c, *bin, *data, *out, "soak", title, target, nil)
}
