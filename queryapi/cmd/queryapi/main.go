// Command queryapi runs the query API (configuration: environment
// variables, see queryapi.Config).
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

	"github.com/footfall/footfall/internal/keys"
	"github.com/footfall/footfall/queryapi"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := realMain(ctx, log); err != nil {
		log.Error("queryapi stopped", "err", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context, log *slog.Logger) error {
	cfg, err := queryapi.LoadConfig(ctx, envconfig.OsLookuper())
	if err != nil {
		return err
	}
	// The same key store as ingest (keys.Open): the Bigtable store, or a
	// key file reloaded on change and SIGHUP, so a new or revoked read key
	// takes effect without a restart (docs/keys.md).
	ks, closeKeys, err := keys.Open(ctx, cfg.Keys, log)
	if err != nil {
		return err
	}
	defer closeKeys()
	store, err := queryapi.NewBigtable(ctx, cfg.BigtableProject, cfg.BigtableInstance, cfg.BigtableAppProfile)
	if err != nil {
		return err
	}
	defer store.Close()
	srv, err := queryapi.NewServer(cfg, ks, store, log)
	if err != nil {
		return err
	}
	app := srv.App()
	errc := make(chan error, 1)
	go func() { errc <- app.Listen(cfg.Addr) }()
	log.Info("queryapi listening", "addr", cfg.Addr)
	select {
	case err := <-errc:
		return fmt.Errorf("listen %s: %w", cfg.Addr, err)
	case <-ctx.Done():
	}
	if err := app.ShutdownWithTimeout(10 * time.Second); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("queryapi stopped cleanly")
	return nil
}
