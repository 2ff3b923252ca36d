// Command streaming runs the streaming job: Pub/Sub → hourly metrics in
// Bigtable. Locally it runs on Prism in this process (--runner=prism, the
// default); --runner=dataflow submits it to Dataflow with Dataflow's native
// Pub/Sub source.
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
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/footfall/footfall/pipelines/internal/counters"
	"github.com/footfall/footfall/pipelines/streaming"
	"github.com/footfall/footfall/pipelines/transforms"
)

var (
	project          = flag.String("pubsub-project", "footfall-local", "Pub/Sub project")
	subscription     = flag.String("subscription", "events-pipeline", "Pub/Sub subscription to read")
	bigtableProject  = flag.String("bigtable-project", "footfall-local", "Bigtable project")
	bigtableInstance = flag.String("bigtable-instance", "footfall", "Bigtable instance")
	bigtableProfile  = flag.String("bigtable-app-profile", "", "Bigtable app profile (\"\": the instance's default)")
	earlyFiring      = flag.Duration("early-firing", 10*time.Second, "how often an open hour's provisional values are updated")
	horizon          = flag.Duration("horizon", transforms.DefaultHorizon, "how long after an hour ends the streaming job still updates it; older events reach the metrics through the sealer (docs/pipeline.md)")
	maxNames         = flag.Int("max-names", 0, "distinct event names kept per merchant-hour, the rest summed as (other) (0: 500)")
	topK             = flag.Int("top-k", 0, "values kept per breakdown row, the rest summed as other (0: 100)")
	archiveDir       = flag.String("archive-dir", "", "Prism: local Parquet archive directory every pulled batch is written to before it is processed (\"\" disables)")
	archiveTable     = flag.String("archive-table", "", "Dataflow: BigQuery archive table PROJECT.DATASET.TABLE every event is appended to (\"\" disables)")
	readerShards     = flag.Int("reader-shards", 2, "parallel Pub/Sub readers (Prism)")
	metricsAddr      = flag.String("metrics-addr", "127.0.0.1:8082", "address to serve Prometheus /metrics on (\"\" disables)")
	summaryEvery     = flag.Duration("summary-interval", 30*time.Second, "how often to log the counters as one JSON line (0 disables)")
	// TEST ONLY (transforms.Options.InjectBug): deliberately wrong logic for
	// bug-fix-and-backfill tests. Hidden from -help.
	injectBug = flag.String("inject-bug", "", "TEST ONLY")
)

// usage prints the flags except the hidden test-only one.
func usage() {
	out := flag.CommandLine.Output()
	fmt.Fprintf(out, "Usage of %s:\n", os.Args[0])
	visible := flag.NewFlagSet(os.Args[0], flag.ContinueOnError)
	visible.SetOutput(out)
	flag.VisitAll(func(f *flag.Flag) {
		if f.Name != "inject-bug" {
			visible.Var(f.Value, f.Name, f.Usage)
		}
	})
	visible.PrintDefaults()
}

func main() {
	beamlog.LogKind = "json"    // beam.Init installs the default slog handler
	flag.Set("runner", "prism") // the default; --runner overrides it
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
	runner := flag.Lookup("runner").Value.String()
	p, err := streaming.Build(streaming.Config{
		Dataflow:           runner == "dataflow",
		Project:            *project,
		Subscription:       *subscription,
		BigtableProject:    *bigtableProject,
		BigtableInstance:   *bigtableInstance,
		BigtableAppProfile: *bigtableProfile,
		EarlyFiring:        *earlyFiring,
		Horizon:            *horizon,
		MaxNames:           *maxNames,
		TopK:               *topK,
		ReaderShards:       *readerShards,
		ArchiveDir:         *archiveDir,
		ArchiveTable:       *archiveTable,
		InjectBug:          *injectBug,
	})
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
	_, err = beamx.RunWithMetrics(ctx, p)
	if ctx.Err() != nil {
		slog.Info("streaming job stopped by signal")
		return nil
	}
	return err
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
