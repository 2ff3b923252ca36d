// Command localstack runs the whole footfall stack in the foreground (`make
// run`): emulators, streaming pipeline, ingest and query API. Ctrl-C stops
// everything. Addresses can be overridden with INGEST_ADDR, INGEST_OPS_ADDR, QUERYAPI_ADDR,
// QUERYAPI_METRICS_ADDR, PUBSUB_EMULATOR_HOST, PUBSUB_EMULATOR_STATS_ADDR and BIGTABLE_EMULATOR_HOST. Once the stack is up it
// sends the demo merchant a shop's traffic of the last two days
// (testing/demodata; -demo-events, FOOTFALL_DEMO_EVENTS, 0 for none), so
// that the dashboard it prints the address of has something to show.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/footfall/footfall/internal/keys"
	"github.com/footfall/footfall/testing/demodata"
	"github.com/footfall/footfall/testing/localstack"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := realMain(ctx, log); err != nil {
		log.Error("local stack failed", "err", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context, log *slog.Logger) error {
	self, _ := os.Executable()
	bin := flag.String("bin", filepath.Dir(self), "directory holding the built binaries")
	data := flag.String("data", envOr("FOOTFALL_DATA_DIR", "data"), "directory for logs and the raw archive")
	demoEvents := flag.Int("demo-events", envInt("FOOTFALL_DEMO_EVENTS", 3000), "demo events to send over the last 48 hours once the stack is up (0: none)")
	flag.Parse()

	st, err := localstack.Start(ctx, localstack.Options{
		BinDir:        *bin,
		DataDir:       *data,
		IngestAddr:    os.Getenv("INGEST_ADDR"),
		IngestOpsAddr: os.Getenv("INGEST_OPS_ADDR"),
		QueryAddr:     os.Getenv("QUERYAPI_ADDR"),
		PubSubAddr:    os.Getenv("PUBSUB_EMULATOR_HOST"),
		BigtableAddr:  os.Getenv("BIGTABLE_EMULATOR_HOST"),
		// The Pub/Sub emulator's backlog, which ingest's back-pressure reads.
		PubSubStatsAddr:  os.Getenv("PUBSUB_EMULATOR_STATS_ADDR"),
		QueryMetricsAddr: os.Getenv("QUERYAPI_METRICS_ADDR"),
		Log:              log,
	})
	if err != nil {
		return err
	}
	defer st.Stop()
	demo := "no demo events sent (-demo-events=0)"
	if *demoEvents > 0 {
		now := time.Now().UTC()
		evs := demodata.Generate(uint64(now.Unix()), *demoEvents, now.Add(-48*time.Hour), now, fmt.Sprintf("demo-%d-", now.Unix()))
		sctx, cancel := context.WithTimeout(ctx, time.Minute)
		err := demodata.Send(sctx, http.DefaultClient, st.IngestURL(), keys.DemoWriteKey, evs)
		cancel()
		if err != nil {
			log.Warn("could not send the demo events; the stack runs without them", "err", err)
			demo = "sending the demo events failed (see above)"
		} else {
			demo = fmt.Sprintf("sent %d demo events of the last 48 hours (-demo-events=0 for none)", len(evs))
		}
	}
	fmt.Printf(`
footfall is running.

  ingest     %[1]s   (Segment HTTP API; write key %[3]q; metrics on %[8]s/metrics)
  query API  %[2]s   (read key %[4]q; metrics on %[9]s)
  merchant   %[5]q
  logs       %[6]s
  demo data  %[7]s

Dashboard (the link carries the demo read key; the page keeps it in the tab only):
  %[2]s/dashboard/#key=%[4]s

Send an event:
  curl -u %[3]s: -H 'Content-Type: application/json' %[1]s/v1/batch \
    -d '{"batch":[{"type":"track","event":"signup","anonymousId":"visitor-1"}]}'

Read it back (within about a minute):
  curl -H 'Authorization: Bearer %[4]s' "%[2]s/v1/timeseries?metrics=events&event=signup&interval=hour&from=$(date -u -d '-1 hour' +%%Y-%%m-%%dT%%H:00:00Z)&to=$(date -u -d '+1 hour' +%%Y-%%m-%%dT%%H:00:00Z)"

Press Ctrl-C to stop.
`, st.IngestURL(), st.QueryURL(), keys.DemoWriteKey, keys.DemoReadKey, keys.DemoMerchant, filepath.Join(*data, "logs"), demo, st.IngestOpsURL(), st.QueryMetricsURL())
	<-ctx.Done()
	log.Info("stopping the local stack")
	return nil
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return v
	}
	return def
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
