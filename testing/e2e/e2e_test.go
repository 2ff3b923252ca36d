// Package e2e runs the whole local stack (emulators, Prism pipeline, ingest,
// query API, each its own process) and checks that events sent over HTTP
// come back from the query API exactly as the ground truth of
// docs/metrics.md (testing/truth, computed from what ingest acknowledged,
// independently of the pipeline) says.
package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/footfall/footfall/internal/keys"
	"github.com/footfall/footfall/testing/localstack"
	"github.com/footfall/footfall/testing/truth"
)

var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "footfall-e2e-bin")
	if err != nil {
		panic(err)
	}
	binDir = dir
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	err = localstack.Build(ctx, "../..", dir)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	stopShared()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startStack runs a stack on free loopback ports.
func startStack(t *testing.T, pipelineArgs ...string) *localstack.Stack {
	t.Helper()
	return startStackWith(t, func(o *localstack.Options) { o.PipelineArgs = pipelineArgs })
}

// startStackWith runs a stack on free loopback ports with options changed
// by mod.
func startStackWith(t *testing.T, mod func(*localstack.Options)) *localstack.Stack {
	t.Helper()
	opts := localstack.Options{BinDir: binDir}
	mod(&opts)
	return localstack.StartForTest(t, opts)
}

// Mixed traffic over the last hours — Segment and GA4 — reaches the query
// API exactly as the ground truth of what ingest acknowledged says: every
// hour's event metrics, each event name's series and the event-scoped
// breakdowns, from provisional values (docs/metrics.md).
func TestEventsReachTheQueryAPI(t *testing.T) {
	st := startStack(t, "--early-firing=2s")
	s := shopOn(st, keys.DemoMerchant, keys.DemoReadKey, truth.Keys{WriteKey: keys.DemoWriteKey, APISecret: keys.DemoAPISecret})
	now := time.Now().UTC()
	first := now.Truncate(time.Hour).Add(-3 * time.Hour)
	s.sendLenient(t, truth.Mix(truth.MixOptions{Merchant: keys.DemoMerchant, Seed: 7, Visitors: 120, From: first, To: first.Add(time.Hour)})...)
	lastSent := time.Now()
	c := streamed(first, now.Truncate(time.Hour).Add(time.Hour))
	c.EventNames = true
	s.eventually(t, 3*time.Minute, "the sent traffic", c)
	t.Logf("all %d acknowledged events visible in the query API %.1f s after the last was sent", len(s.sent.Hits), time.Since(lastSent).Seconds())
}
