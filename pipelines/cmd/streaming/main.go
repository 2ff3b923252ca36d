// Command streaming runs the streaming job: Pub/Sub → hourly metrics in
// Bigtable. Locally it runs on Prism in this process (--runner=prism).
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/x/beamx"

	"github.com/footfall/footfall/pipelines/streaming"
)

var (
	project          = flag.String("pubsub-project", "footfall-local", "Pub/Sub project")
	subscription     = flag.String("subscription", "events-pipeline", "Pub/Sub subscription to read")
	bigtableProject  = flag.String("bigtable-project", "footfall-local", "Bigtable project")
	bigtableInstance = flag.String("bigtable-instance", "footfall", "Bigtable instance")
	earlyFiring      = flag.Duration("early-firing", 10*time.Second, "how often an open hour's provisional values are updated")
	allowedLateness  = flag.Duration("allowed-lateness", 72*time.Hour, "how long after an hour ends its events still update it")
	readerShards     = flag.Int("reader-shards", 2, "parallel Pub/Sub readers (Prism)")
)

func main() {
	beamlog.LogKind = "json" // beam.Init installs the default slog handler
	flag.Set("runner", "prism")
	beam.Init()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := realMain(ctx); err != nil {
		slog.Error("streaming job stopped", "err", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context) error {
	p, err := streaming.Build(streaming.Config{
		Project:          *project,
		Subscription:     *subscription,
		BigtableProject:  *bigtableProject,
		BigtableInstance: *bigtableInstance,
		EarlyFiring:      *earlyFiring,
		AllowedLateness:  *allowedLateness,
		ReaderShards:     *readerShards,
	})
	if err != nil {
		return err
	}
	slog.Info("streaming job starting", "subscription", *subscription, "early_firing", earlyFiring.String(), "allowed_lateness", allowedLateness.String())
	_, err = beamx.RunWithMetrics(ctx, p)
	if ctx.Err() != nil {
		slog.Info("streaming job stopped by signal")
		return nil
	}
	return err
}
