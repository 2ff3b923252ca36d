// Command bigtable-emulator serves the Bigtable API from memory
// (cloud.google.com/go/bigtable/bttest) so that the official clients can
// reach it through BIGTABLE_EMULATOR_HOST, with the column families'
// garbage-collection policies applied about once a second (testing/btemu:
// bttest alone never applies them to tables created with their families).
// Data lives only as long as the process.
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"cloud.google.com/go/bigtable/bttest"

	"github.com/footfall/footfall/testing/btemu"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8086", "address to listen on")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	srv, err := bttest.NewServer(*addr)
	if err != nil {
		log.Error("bigtable emulator could not start (is the port in use?)", "addr", *addr, "err", err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	err = btemu.EnableGC(ctx, srv.Addr)
	cancel()
	if err != nil {
		log.Error("bigtable emulator could not enable garbage collection", "err", err)
		srv.Close()
		os.Exit(1)
	}
	log.Info("bigtable emulator listening", "addr", srv.Addr, "gc", "every ~1 s")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	srv.Close()
	log.Info("bigtable emulator stopped")
}
