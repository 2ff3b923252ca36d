// Command soak runs the whole local stack under a steady load for minutes
// (default: 10 minutes at 4,000 events/s, about 80 % of what the local
// stack sustains end to end, docs/benchmarks.md), samples every process's
// RSS and CPU and the end-to-end delay, checks that every acknowledged event
// is counted once, and writes soak.csv, soak.svg and soak.png into -out. Loopback
// only; bounded by -duration (at most 30 minutes) and the drain limit.
// See docs/reliability.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
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
	out := fs.String("out", "docs", "directory soak.csv, soak.svg and soak.png are written to")
	c := soak.Config{}
	fs.Float64Var(&c.Rate, "rate", 4000, "events per second offered")
	fs.DurationVar(&c.Duration, "duration", 10*time.Minute, "how long the load runs (at most 30m)")
	fs.IntVar(&c.BatchSize, "batch", 100, "events per request")
	fs.IntVar(&c.Concurrency, "concurrency", 8, "requests in flight")
	fs.IntVar(&c.Visitors, "visitors", 20000, "distinct visitors")
	fs.DurationVar(&c.MarkerEvery, "marker-every", 5*time.Second, "how often a marker event measures the end-to-end delay")
	fs.DurationVar(&c.SampleEvery, "sample-every", 5*time.Second, "how often processes are sampled")
	fs.DurationVar(&c.DrainLimit, "drain-limit", 5*time.Minute, "longest wait after the load for everything to be counted")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case c.Duration <= 0 || c.Duration > 30*time.Minute:
		return errors.New("-duration must be positive and at most 30m")
	case c.Rate <= 0 || c.Rate > 200000:
		return errors.New("-rate must be in (0, 200000]")
	case c.BatchSize < 1 || c.BatchSize > 500 || c.Concurrency < 1 || c.Concurrency > 256 || c.Visitors < 1:
		return errors.New("-batch must be 1-500, -concurrency 1-256, -visitors positive")
	}
	data, err := os.MkdirTemp("", "footfall-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(data)
	c.BinDir, c.DataDir = *bin, data
	c.Log = slog.New(slog.NewJSONHandler(os.Stderr, nil))

	r, err := soak.Run(ctx, c)
	if r == nil {
		return err
	}
	if werr := write(*out, r); werr != nil {
		return werr
	}
	fmt.Print(r.Summary())
	if err != nil {
		return err
	}
	if r.Diff != "" || r.Lost != 0 || r.Duplicated != 0 || r.ArchiveMissing != 0 || r.Stats.Abandoned != 0 {
		return fmt.Errorf("loss/duplicate check failed: lost %d, duplicated %d, missing from the archive %d, abandoned %d (%s)",
			r.Lost, r.Duplicated, r.ArchiveMissing, r.Stats.Abandoned, r.Diff)
	}
	return nil
}

func write(dir string, r *soak.Result) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "soak.csv"))
	if err != nil {
		return err
	}
	if err := soak.WriteCSV(f, r.Samples); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	title := fmt.Sprintf("soak: %.0f events/s offered for %s", r.Config.Rate, r.Config.Duration)
	for name, plot := range map[string]func(io.Writer, string, []soak.Sample) error{"soak.svg": soak.WriteSVG, "soak.png": soak.WritePNG} {
		g, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if err := plot(g, title, r.Samples); err != nil {
			g.Close()
			return err
		}
		if err := g.Close(); err != nil {
			return err
		}
	}
	return nil
}
