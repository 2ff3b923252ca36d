// Command ingest runs the ingest HTTP service (configuration: environment
// variables, see ingest.Config and docs/ingest.md).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/sethvargo/go-envconfig"

	"github.com/footfall/footfall/ingest"
	"github.com/footfall/footfall/internal/keys"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := realMain(ctx, log); err != nil {
		log.Error("ingest stopped", "err", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context, log *slog.Logger) error {
	if os.Getenv("GOGC") == "" {
		// Ingest's live heap is small (tens of MiB) and churns fast: a
		// higher GC target costs some memory and saves ~15% CPU per event
		// (docs/benchmarks.md). GOGC and GOMEMLIMIT override it.
		debug.SetGCPercent(400)
	}
	cfg, err := ingest.LoadConfig(ctx, envconfig.OsLookuper())
	if err != nil {
		return err
	}
	var ks ingest.Keys = keys.Demo()
	if cfg.KeysFile != "" {
		fs, err := keys.OpenFile(cfg.KeysFile, log)
		if err != nil {
			return err
		}
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		go fs.Watch(ctx, cfg.KeysPollInterval, hup)
		ks = fs
	} else {
		log.Info("KEYS_FILE not set: only the demo merchant's keys are accepted", "write_key", keys.DemoWriteKey)
	}

	var pub ingest.Publisher
	switch cfg.Publisher {
	case ingest.PublisherNoop:
		log.Warn("PUBLISHER=noop: events are acknowledged and DISCARDED; benchmarks only, never for real traffic")
		pub = ingest.Noop{}
	default:
		if pub, err = ingest.NewPubSub(ctx, cfg.PubSubProject, cfg.PubSubTopic); err != nil {
			return err
		}
	}
	// Closed after Serve returns, i.e. after in-flight requests drained.
	defer pub.Close()

	srv, err := ingest.NewServer(cfg, ks, pub, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", cfg.Addr, err)
	}
	opsErr := make(chan error, 1)
	if cfg.OpsAddr == "" {
		log.Warn("INGEST_OPS_ADDR not set: /metrics is not served")
		opsErr <- nil
	} else {
		opsLn, err := net.Listen("tcp", cfg.OpsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listen %s (INGEST_OPS_ADDR): %w", cfg.OpsAddr, err)
		}
		log.Info("ingest operators' listener (metrics)", "addr", opsLn.Addr().String())
		go func() { opsErr <- srv.ServeOps(ctx, opsLn) }()
	}
	log.Info("ingest listening", "addr", ln.Addr().String(), "topic", cfg.PubSubTopic, "publisher", cfg.Publisher)
	if err := srv.Serve(ctx, ln); err != nil {
		return err
	}
	if err := <-opsErr; err != nil {
		return err
	}
	log.Info("ingest stopped cleanly")
	return nil
}
