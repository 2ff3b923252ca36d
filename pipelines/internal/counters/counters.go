// Package counters defines the pipelines' counters once for two audiences:
// each is a Beam counter (namespace "footfall", reported in the job's
// metrics, which Prism returns only when a job ends) and a process-level
// Prometheus counter footfall_<name>_total in the default registry, which
// a command serves on /metrics while the job runs. On Prism (loopback) the
// DoFns run in the command's own process, so the Prometheus view is the
// live view of the whole job; on Dataflow it is per worker.
package counters

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace of the Beam counters and prefix of the Prometheus names.
const Namespace = "footfall"

// Counter counts in Beam and in the process.
type Counter struct {
	name string
	beam beam.Counter
	n    atomic.Int64
}

var registry = struct {
	sync.Mutex
	all map[string]*Counter
}{all: map[string]*Counter{}}

// New defines a counter; call it once per name, from a package-level var.
func New(name, help string) *Counter {
	c := &Counter{name: name, beam: beam.NewCounter(Namespace, name)}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.all[name]; dup {
		panic("counters: " + name + " defined twice")
	}
	registry.all[name] = c
	prometheus.MustRegister(prometheus.NewCounterFunc(
		prometheus.CounterOpts{Namespace: Namespace, Name: name + "_total", Help: help},
		func() float64 { return float64(c.n.Load()) }))
	return c
}

// Inc adds n. ctx is the DoFn's context (it carries the Beam metrics
// store); outside a bundle only the process counter moves.
func (c *Counter) Inc(ctx context.Context, n int64) {
	c.n.Add(n)
	c.beam.Inc(ctx, n) // a no-op outside a bundle

}

// Value is the process-level count so far.
func (c *Counter) Value() int64 { return c.n.Load() }

// Name is the counter's name.
func (c *Counter) Name() string { return c.name }

// Snapshot returns every counter's process-level value by name.
func Snapshot() map[string]int64 {
	registry.Lock()
	defer registry.Unlock()
	out := make(map[string]int64, len(registry.all))
	for name, c := range registry.all {
		out[name] = c.n.Load()
	}
	return out
}

// Value is the process-level count of the counter called name, 0 when no
// counter of that name is defined in this binary.
func Value(name string) int64 {
	registry.Lock()
	c := registry.all[name]
	registry.Unlock()
	if c == nil {
		return 0
	}
	return c.n.Load()
}

// Serve serves the default Prometheus registry (the counters, and the
// process's CPU and memory) on addr at /metrics, and Go profiles at
// /debug/pprof/, until the returned stop is called.
func Serve(addr string) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for /metrics on %s (set --metrics-addr to a free address, or \"\" to disable): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("metrics server stopped", "err", err)
		}
	}()
	slog.Info("serving metrics", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}

// Names lists the defined counters, sorted.
func Names() []string {
	registry.Lock()
	defer registry.Unlock()
	names := make([]string, 0, len(registry.all))
	for n := range registry.all {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
