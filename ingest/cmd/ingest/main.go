// Command ingest runs the ingest HTTP service (configuration: environment
// variables, see ingest.Config).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

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
	cfg, err := ingest.LoadConfig(ctx, envconfig.OsLookuper())
	if err != nil {
		return err
	}
	ks := keys.Demo()
	if cfg.KeysFile != "" {
		if ks, err = keys.Load(cfg.KeysFile); err != nil {
			return err
		}
	}
	pub, err := ingest.NewPubSub(ctx, cfg.PubSubProject, cfg.PubSubTopic)
	if err != nil {
		return err
	}
	defer pub.Close()
	srv, err := ingest.NewServer(cfg, ks, pub, log)
	if err != nil {
		return err
	}
	app := srv.App()
	errc := make(chan error, 1)
	go func() { errc <- app.Listen(cfg.Addr) }()
	log.Info("ingest listening", "addr", cfg.Addr, "topic", cfg.PubSubTopic)
	select {
	case err := <-errc:
		return fmt.Errorf("listen %s: %w", cfg.Addr, err)
	case <-ctx.Done():
	}
	// Drain: stop accepting, let in-flight requests finish their publishes.
	log.Info("ingest draining")
	if err := app.ShutdownWithTimeout(30 * time.Second); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("ingest stopped cleanly")
	return nil
}
