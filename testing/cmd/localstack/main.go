// Command localstack runs the whole footfall stack in the foreground (`make
// run`): emulators, streaming pipeline, ingest and query API. Ctrl-C stops
// everything. Addresses can be overridden with INGEST_ADDR, QUERYAPI_ADDR,
// PUBSUB_EMULATOR_HOST and BIGTABLE_EMULATOR_HOST.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/footfall/footfall/internal/keys"
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
	flag.Parse()

	st, err := localstack.Start(ctx, localstack.Options{
		BinDir:       *bin,
		DataDir:      *data,
		IngestAddr:   os.Getenv("INGEST_ADDR"),
		QueryAddr:    os.Getenv("QUERYAPI_ADDR"),
		PubSubAddr:   os.Getenv("PUBSUB_EMULATOR_HOST"),
		BigtableAddr: os.Getenv("BIGTABLE_EMULATOR_HOST"),
		Log:          log,
	})
	if err != nil {
		return err
	}
	defer st.Stop()
	fmt.Printf(`
footfall is running.

  ingest     %[1]s   (Segment HTTP API; write key %[3]q)
  query API  %[2]s   (read key %[4]q)
  merchant   %[5]q
  logs       %[6]s

Send an event:
  curl -u %[3]s: -H 'Content-Type: application/json' %[1]s/v1/batch \
    -d '{"batch":[{"type":"track","event":"signup","anonymousId":"visitor-1"}]}'

Read it back (within about a minute):
  curl -H 'Authorization: Bearer %[4]s' "%[2]s/v1/timeseries?metrics=events&interval=hour&from=$(date -u -d '-1 hour' +%%Y-%%m-%%dT%%H:00:00Z)&to=$(date -u -d '+1 hour' +%%Y-%%m-%%dT%%H:00:00Z)"

Press Ctrl-C to stop.
`, st.IngestURL(), st.QueryURL(), keys.DemoWriteKey, keys.DemoReadKey, keys.DemoMerchant, filepath.Join(*data, "logs"))
	<-ctx.Done()
	log.Info("stopping the local stack")
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
