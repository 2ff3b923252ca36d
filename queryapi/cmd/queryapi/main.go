// Command queryapi runs the query API (configuration: environment
// variables, see queryapi.Config).
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

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
	errc := make(chan error, 2)
	go func() {
		if err := app.Listen(cfg.Addr); err != nil {
			errc <- fmt.Errorf("listen %s: %w", cfg.Addr, err)
		}
	}()
	var ms *http.Server
	if cfg.MetricsAddr != queryapi.MetricsOff {
		ms = srv.MetricsServer(cfg.MetricsAddr)
		go func() {
			if err := ms.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("metrics listener %s (QUERYAPI_METRICS_ADDR): %w", cfg.MetricsAddr, err)
			}
		}()
	}
	log.Info("queryapi listening", "addr", cfg.Addr, "metrics_addr", cfg.MetricsAddr)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// In-flight requests get SHUTDOWN_TIMEOUT to finish.
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = app.ShutdownWithContext(sctx)
	if ms != nil {
		err = errors.Join(err, ms.Shutdown(sctx))
	}
	if err != nil {
		return fmt.Errorf("shutdown within %s (SHUTDOWN_TIMEOUT): %w", cfg.ShutdownTimeout, err)
	}
	log.Info("queryapi stopped cleanly")
	return nil
}
