// Command streaming runs the streaming job: Pub/Sub → hourly metrics in
// Bigtable. Locally it runs on Prism in this process (--runner=prism, the
// default); --runner=dataflow (or DataflowRunner, in any case, or a
// flex-template launch without --runner: pipeflags.ResolveRunner) submits it
// to Dataflow with Dataflow's native Pub/Sub source.
//
// While the job runs, the pipeline's counters are served as Prometheus
// metrics on --metrics-addr (/metrics) and logged as one JSON line every
// 30 s: Prism reports Beam counters only when a job ends, but on Prism the
// DoFns run in this process, so the process counters are the live view.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/dataflow"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx" // the filesystems and the optimized runtime

	"github.com/footfall/footfall/pipelines/internal/counters"
	"github.com/footfall/footfall/pipelines/internal/pipeflags"
	"github.com/footfall/footfall/pipelines/streaming"
	"github.com/footfall/footfall/pipelines/transforms"
)

var (
	project      = flag.String("pubsub-project", pipeflags.DefaultProject, "Pub/Sub project")
	subscription = flag.String("subscription", pipeflags.DefaultSubscription, "Pub/Sub subscription to read")
	earlyFiring  = flag.Duration("early-firing", 10*time.Second, "how often an open hour's provisional values are updated")
	horizon      = flag.Duration("horizon", transforms.DefaultHorizon, "how long after an hour ends the streaming job still updates it; older events reach the metrics through the sealer (docs/pipeline.md)")
	archiveDir   = flag.String("archive-dir", "", "Prism: local Parquet archive directory every pulled batch is written to before it is processed (\"\" disables)")
	archiveTable = flag.String("archive-table", "", "Dataflow: BigQuery archive table PROJECT.DATASET.TABLE every event is appended to (\"\" disables)")
	readerShards = flag.Int("reader-shards", 2, "parallel Pub/Sub readers (Prism)")
	maxLag       = flag.Duration("max-lag", time.Minute, "Prism: pause the Pub/Sub reader while the provisional values trail, in event time, what it handed on by more than this, so that an overload waits in Pub/Sub rather than in memory (0 disables)")
	maxInFlight  = flag.Int64("max-in-flight", 100_000, "Prism: pause the Pub/Sub reader while more elements than this wait inside the runner in front of the stateful steps (Attach, Visit), which bounds the job's queue, and its memory, whatever the offered rate (0 disables)")
	metricsAddr  = flag.String("metrics-addr", "127.0.0.1:8082", "address to serve Prometheus /metrics on (\"\" disables)")
	summaryEvery = flag.Duration("summary-interval", 30*time.Second, "how often to log the counters as one JSON line (0 disables)")
	// TEST ONLY (transforms.Options.InjectBug): deliberately wrong logic for
	// bug-fix-and-backfill tests. Hidden from -help.
	injectBug = flag.String("inject-bug", "", "TEST ONLY")
)

func init() {
	// Template parameters are passed as --name=value with underscore names
	// (pipelines/templates/streaming-metadata.json).
	pipeflags.AliasUnderscores(flag.CommandLine)
}

// usage prints the flags except the hidden test-only one and the aliases.
func usage() {
	out := flag.CommandLine.Output()
	fmt.Fprintf(out, "Usage of %s:\n", os.Args[0])
	visible := flag.NewFlagSet(os.Args[0], flag.ContinueOnError)
	visible.SetOutput(out)
	flag.VisitAll(func(f *flag.Flag) {
		if f.Name != "inject-bug" && !pipeflags.IsAlias(f) {
			visible.Var(f.Value, f.Name, f.Usage)
		}
	})
	visible.PrintDefaults()
}

func main() {
	beamlog.LogKind = "json" // beam.Init installs the default slog handler
	flag.Usage = usage
	flag.Parse()
	beam.Init()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := realMain(ctx); err != nil {
		slog.Error("streaming job stopped", "err", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context) error {
	runner, dataflow := pipeflags.Runner()
	if dataflow {
		submitOnly()
	}
	p, err := streaming.Build(config(dataflow))
	if err != nil {
		return err
	}
	if *injectBug != "" {
		slog.Warn("TEST ONLY: running with a deliberately injected bug", "inject_bug", *injectBug)
	}
	if *metricsAddr != "" {
		stopMetrics, err := counters.Serve(*metricsAddr)
		if err != nil {
			return err
		}
		defer stopMetrics()
	}
	if *summaryEvery > 0 {
		go logSummaries(ctx, *summaryEvery)
	}
	slog.Info("streaming job starting", "runner", runner, "subscription", *subscription,
		"early_firing", earlyFiring.String(), "horizon", horizon.String(),
		"archive_dir", *archiveDir, "archive_table", *archiveTable)
	_, err = beam.Run(ctx, runner, p)
	if ctx.Err() != nil {
		slog.Info("streaming job stopped by signal")
		return nil
	}
	return err
}

// submitOnly makes the Dataflow runner return once the job is submitted.
// A flex-template launch must exit after submitting (Google: do not wait
// for the pipeline to finish), and Beam's Go Dataflow runner otherwise
// waits for the job's end, which a streaming job never reaches: the
// launcher would time out.
func submitOnly() {
	if err := flag.Set("execute_async", "true"); err != nil {
		panic(err) // the Dataflow runner defines it
	}
}

// config is the streaming job's configuration from the flags.
func config(dataflow bool) streaming.Config {
	bt := pipeflags.Bigtable()
	maxNames, topK := pipeflags.Bounds()
	return streaming.Config{
		Dataflow:           dataflow,
		Project:            *project,
		Subscription:       *subscription,
		BigtableProject:    bt.Project,
		BigtableInstance:   bt.Instance,
		BigtableAppProfile: bt.AppProfile,
		EarlyFiring:        *earlyFiring,
		Horizon:            *horizon,
		MaxNames:           maxNames,
		TopK:               topK,
		ReaderShards:       *readerShards,
		MaxLag:             *maxLag,
		MaxInFlight:        *maxInFlight,
		ArchiveDir:         *archiveDir,
		ArchiveTable:       *archiveTable,
		InjectBug:          *injectBug,
	}
}

// logSummaries logs every counter as one JSON line each interval.
func logSummaries(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			snap := counters.Snapshot()
			attrs := make([]any, 0, 2*len(snap))
			for _, name := range counters.Names() {
				attrs = append(attrs, name, snap[name])
			}
			slog.Info("pipeline counters", attrs...)
		}
	}
}
