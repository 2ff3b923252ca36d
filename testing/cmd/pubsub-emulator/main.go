// Command pubsub-emulator serves the Pub/Sub API from memory
// (cloud.google.com/go/pubsub/v2/pstest) so that the official clients can
// reach it through PUBSUB_EMULATOR_HOST. It keeps every message it was ever
// given in memory and drops messages left undelivered for 10 minutes (pstest
// behaviour): it is for local runs and tests, not for production.
package main

import (
	"flag"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"cloud.google.com/go/pubsub/v2/pstest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8085", "address to listen on")
	flag.Parse()
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	host, port, err := net.SplitHostPort(*addr)
	if err != nil {
		log.Error("bad -addr", "addr", *addr, "err", err)
		os.Exit(2)
	}
	if _, err := strconv.Atoi(port); err != nil {
		log.Error("bad -addr port", "addr", *addr, "err", err)
		os.Exit(2)
	}
	// pstest panics when it cannot listen; turn that into a clear message.
	defer func() {
		if r := recover(); r != nil {
			log.Error("pubsub emulator could not start (is the port in use?)", "addr", *addr, "err", r)
			os.Exit(1)
		}
	}()
	srv := pstest.NewServerWithAddress(net.JoinHostPort(host, port))
	log.Info("pubsub emulator listening", "addr", srv.Addr)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	srv.Close()
	log.Info("pubsub emulator stopped")
}
