package soak

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
)

// Flags declares the options of testing/cmd/soak and testing/cmd/overload
// share (everything but the load's schedule and the paths).
func Flags(fs *flag.FlagSet, c *Config) {
	fs.IntVar(&c.BatchSize, "batch", 100, "events per request")
	fs.IntVar(&c.Concurrency, "concurrency", 8, "requests in flight")
	fs.IntVar(&c.Visitors, "visitors", 20000, "distinct visitors")
	fs.DurationVar(&c.MarkerEvery, "marker-every", 5*time.Second, "how often a marker event measures the end-to-end delay")
	fs.DurationVar(&c.SampleEvery, "sample-every", 5*time.Second, "how often processes are sampled")
	fs.DurationVar(&c.DrainLimit, "drain-limit", 10*time.Minute, "longest wait after the load for the provisional values to count everything")
	fs.BoolVar(&c.Sealed, "sealed", c.Sealed, "wait for the sealer to seal every hour of the run and check the sealed values")
	fs.BoolVar(&c.SealNow, "seal-now", false, "with -sealed: seal the run's hours with one sealer pass as soon as the provisional values are exact, instead of waiting an hour for the last hour to settle (skips only the wait for late events)")
	fs.DurationVar(&c.SealGrace, "seal-grace", 2*time.Minute, "the sealer's grace after an hour closes")
	fs.DurationVar(&c.SealLimit, "seal-limit", 30*time.Minute, "longest wait for the sealing, after the last hour settled (an hour after it closed) and its grace passed")
	fs.DurationVar(&c.GiveUp, "give-up", 10*time.Minute, "how long the sender retries a batch before abandoning it")
	fs.Func("backpressure-max-age", "ingest's back-pressure bound on the oldest unacknowledged message (default: the stack's, 3m)", func(v string) error {
		if _, err := time.ParseDuration(v); err != nil {
			return err
		}
		c.Env = append(c.Env, "BACKPRESSURE_MAX_AGE="+v)
		return nil
	})
	fs.Func("backpressure-max-messages", "ingest's back-pressure bound on unacknowledged messages (default: the stack's, 1000000)", func(v string) error {
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return err
		}
		c.Env = append(c.Env, "BACKPRESSURE_MAX_MESSAGES="+v)
		return nil
	})
	fs.Float64Var(&c.PipelineCPU, "pipeline-cpu", 0, "cap the streaming job at this many cores with a cgroup (Linux, root; 0: no cap)")
	fs.Func("sealer-arg", "an extra flag for the sealer (repeatable)", func(v string) error {
		c.SealerArgs = append(c.SealerArgs, v)
		return nil
	})
}

// Check validates the schedule and the request options.
func Check(c Config) error {
	for _, p := range c.Phases {
		if p.Duration <= 0 || p.Rate <= 0 || p.Rate > 200000 {
			return errors.New("every phase needs a positive duration and a rate in (0, 200000]")
		}
	}
	if c.BatchSize < 1 || c.BatchSize > 500 || c.Concurrency < 1 || c.Concurrency > 256 || c.Visitors < 1 {
		return errors.New("-batch must be 1-500, -concurrency 1-256, -visitors positive")
	}
	return nil
}

// RunAndReport runs c with the binaries in bin and the stack's files in
// data (a temporary directory when empty), writes the files name.* into
// out, prints the summary and returns an error listing every failed check
// (Failures, and those extra adds).
func RunAndReport(ctx context.Context, c Config, bin, data, out, name, title string, rssTarget bool, extra func(*Result) []string) error {
	if data == "" {
		dir, err := os.MkdirTemp("", "footfall-"+name+"-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		data = dir
	} else if err := os.MkdirAll(data, 0o755); err != nil {
		return err
	}
	c.BinDir, c.DataDir = bin, data
	c.Log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	r, err := Run(ctx, c)
	if r == nil {
		return err
	}
	if werr := WriteFiles(out, name, title, r); werr != nil {
		return errors.Join(err, werr)
	}
	fmt.Print(r.Summary())
	fmt.Printf("\n(%s.csv, .svg, .png, .md in %s)\n", name, out)
	if err != nil {
		return err
	}
	failures := r.Failures(rssTarget)
	if extra != nil {
		failures = append(failures, extra(r)...)
	}
	if len(failures) > 0 {
		return errors.New("checks failed:\n  " + strings.Join(failures, "\n  "))
	}
	return nil
}
