// Command pubsub-emulator serves the Pub/Sub API from memory
// (testing/pubsubemu) so that the official clients can reach it through
// PUBSUB_EMULATOR_HOST. A subscription keeps each message until it is
// acknowledged and then drops it: memory follows the backlog, not the
// uptime. With -stats-addr it also serves each subscription's backlog over
// HTTP (/v1/backlog, /metrics), which ingest's back-pressure reads in the
// local stack. It is for local runs and tests, not for production.
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/footfall/footfall/testing/pubsubemu"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := realMain(ctx, log, os.Args[1:]); err != nil {
		log.Error("pubsub emulator failed", "err", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("pubsub-emulator", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:8085", "gRPC address to listen on")
	statsAddr := fs.String("stats-addr", "", "HTTP address for /v1/backlog and /metrics (empty: none)")
	logEvery := fs.Duration("log-every", time.Minute, "how often to log every subscription's backlog (0: never)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	emu := pubsubemu.New(pubsubemu.Options{})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return errors.New("cannot listen on " + *addr + " (is the port in use?): " + err.Error())
	}
	g := emu.NewGRPCServer()
	go g.Serve(ln)
	defer g.Stop()
	if *statsAddr != "" {
		sln, err := net.Listen("tcp", *statsAddr)
		if err != nil {
			return errors.New("cannot listen on -stats-addr " + *statsAddr + " (is the port in use?): " + err.Error())
		}
		hs := &http.Server{Handler: emu.Handler(), ReadHeaderTimeout: 5 * time.Second}
		go hs.Serve(sln)
		defer hs.Close()
	}
	log.Info("pubsub emulator listening", "addr", ln.Addr().String(), "stats_addr", *statsAddr)
	var tick <-chan time.Time
	if *logEvery > 0 {
		t := time.NewTicker(*logEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			log.Info("pubsub emulator stopped")
			return nil
		case <-tick:
			now := time.Now()
			for _, st := range emu.Stats() {
				log.Info("backlog", "subscription", st.Subscription, "messages", st.Backlog, "outstanding", st.Outstanding,
					"oldest_unacked_age_s", st.OldestUnackedAge(now).Seconds(), "published", st.Published, "acked", st.Acked,
					"expired", st.Expired, "nacked", st.Nacked)
			}
		}
	}
}
