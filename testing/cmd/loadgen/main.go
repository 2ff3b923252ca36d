// Command loadgen sends realistic Segment batches to ingest on this machine
// and reports events/s and latency percentiles. Either it targets a running
// ingest (-url), or with -spawn it starts its own ingest (and, for
// -publisher=pubsub, a Pub/Sub emulator process) on free loopback ports,
// measures their CPU and peak RSS, and stops them. Runs are bounded by
// -duration and -events. See docs/benchmarks.md (## Ingest).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/footfall/footfall/internal/keys"
	"github.com/footfall/footfall/testing/loadgen"
	"github.com/footfall/footfall/testing/localstack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := realMain(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	url := fs.String("url", "", "ingest base URL, loopback only (e.g. http://127.0.0.1:8080); empty with -spawn")
	writeKey := fs.String("write-key", keys.DemoWriteKey, "Segment write key")
	conc := fs.Int("concurrency", 32, "requests in flight")
	batch := fs.Int("batch", 100, "events per request")
	rate := fs.Float64("rate", 0, "events per second to send (0: as fast as possible)")
	duration := fs.Duration("duration", 20*time.Second, "stop after this long (max 10m)")
	events := fs.Int64("events", 10_000_000, "stop after this many events")
	gz := fs.Bool("gzip", false, "gzip the request bodies")
	warmup := fs.Duration("warmup", 2*time.Second, "load sent before measuring (not counted)")
	spawn := fs.String("spawn", "", "directory with the ingest and pubsub-emulator binaries: start them on free ports")
	publisher := fs.String("publisher", "pubsub", "with -spawn: pubsub (an emulator process) or noop (benchmark only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var pids map[string]int
	if *spawn != "" {
		st, err := startStack(ctx, *spawn, *publisher)
		if err != nil {
			return err
		}
		defer st.stop()
		*url, pids = st.url, st.pids
	}
	cfg := loadgen.Config{URL: *url, WriteKey: *writeKey, Concurrency: *conc, BatchSize: *batch, Rate: *rate,
		Duration: *duration, Events: *events, Gzip: *gz, Progress: os.Stderr}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if *warmup > 0 {
		w := cfg
		w.Duration, w.Progress = *warmup, nil
		if _, err := loadgen.Run(ctx, w); err != nil {
			return err
		}
	}
	if pids == nil {
		pids = map[string]int{}
	}
	pids["loadgen"] = os.Getpid()
	before := map[string]loadgen.ProcStat{}
	for name, pid := range pids {
		before[name], _ = loadgen.ReadProc(pid)
	}
	r, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return err
	}
	fmt.Printf("target      %s (batch %d, concurrency %d, gzip %v, rate limit %v)\n", *url, *batch, *conc, *gz, *rate)
	fmt.Printf("events      %d in %d requests, %.1f s; %d requests failed %v\n", r.Events, r.Requests, r.Elapsed.Seconds(), r.Failed, failures(r))
	if r.FirstError != "" {
		fmt.Printf("first error %s\n", strings.TrimSpace(r.FirstError))
	}
	fmt.Printf("throughput  %.0f events/s\n", r.EventsPerS)
	fmt.Printf("latency     p50 %s  p90 %s  p99 %s  max %s (per request)\n", ms(r.P50), ms(r.P90), ms(r.P99), ms(r.Max))
	fmt.Printf("payload     %d B/event, %d B/request body\n", r.EventBytes, r.BodyBytes)
	var total time.Duration
	names := make([]string, 0, len(pids))
	for n := range pids {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		after, err := loadgen.ReadProc(pids[name])
		if err != nil {
			return err
		}
		cpu := after.CPU - before[name].CPU
		perEvent := time.Duration(0)
		if r.Events > 0 {
			perEvent = cpu / time.Duration(r.Events)
		}
		total += perEvent
		fmt.Printf("%-11s CPU %.1f s (%.2f cores), %s CPU/event, peak RSS %d MiB\n", name, cpu.Seconds(), cpu.Seconds()/r.Elapsed.Seconds(), perEvent, after.PeakRSS>>20)
	}
	if total > 0 {
		// What the measured CPU costs would allow if these processes had the
		// machine's cores to themselves: a model, not a measurement.
		fmt.Printf("cpu-bound   %.0f events/s if all %d cores served these processes alone (%s CPU/event in total)\n",
			float64(runtime.NumCPU())/total.Seconds(), runtime.NumCPU(), total)
	}
	return nil
}

func failures(r loadgen.Result) map[int]int64 {
	out := map[int]int64{}
	for k, v := range r.ByStatus {
		if k/100 != 2 && v > 0 {
			out[k] = v
		}
	}
	return out
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

type stack struct {
	url   string
	pids  map[string]int
	procs []*exec.Cmd
	dir   string
}

func (s *stack) stop() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		p := s.procs[i]
		_ = p.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = p.Process.Kill()
			<-done
		}
	}
	os.RemoveAll(s.dir)
}

// startStack runs an ingest (and an emulator for pubsub) on free loopback
// ports; their logs go to a temporary directory, printed on failure.
func startStack(ctx context.Context, bin, publisher string) (*stack, error) {
	dir, err := os.MkdirTemp("", "loadgen-")
	if err != nil {
		return nil, err
	}
	st := &stack{pids: map[string]int{}, dir: dir}
	start := func(name string, args, env []string) error {
		lf, err := os.Create(filepath.Join(dir, name+".log"))
		if err != nil {
			return err
		}
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.Env, cmd.Stdout, cmd.Stderr = append(os.Environ(), env...), lf, lf
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start %s (build it first: make build): %w", name, err)
		}
		st.procs = append(st.procs, cmd)
		st.pids[name] = cmd.Process.Pid
		return nil
	}
	fail := func(err error) (*stack, error) { st.stop(); return nil, err }
	free, err := localstack.FreeAddrs(2)
	if err != nil {
		return fail(err)
	}
	ingestAddr, psAddr := free[0], free[1]
	env := []string{"INGEST_ADDR=" + ingestAddr, "PUBLISHER=" + publisher,
		"RATE_LIMIT_EVENTS_PER_SECOND=1e9", "RATE_LIMIT_BURST=1000000000"}
	switch publisher {
	case "pubsub":
		if err := start("pubsub-emulator", []string{"-addr", psAddr}, nil); err != nil {
			return fail(err)
		}
		os.Setenv("PUBSUB_EMULATOR_HOST", psAddr)
		env = append(env, "PUBSUB_EMULATOR_HOST="+psAddr)
		if err := retry(ctx, 20*time.Second, func() error {
			sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			// Topic only: no subscription, so the emulator does not queue deliveries.
			return createTopic(sctx, localstack.DefaultResources)
		}); err != nil {
			return fail(err)
		}
	case "noop":
	default:
		return fail(fmt.Errorf("-publisher must be pubsub or noop, got %q", publisher))
	}
	if err := start("ingest", nil, env); err != nil {
		return fail(err)
	}
	st.url = "http://" + ingestAddr
	if err := retry(ctx, 20*time.Second, func() error {
		resp, err := http.Get(st.url + "/readyz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return errors.New(resp.Status)
		}
		return nil
	}); err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "ingest.log"))
		return fail(fmt.Errorf("ingest not ready: %w\n%s", err, b))
	}
	slog.Info("spawned", "ingest", st.url, "publisher", publisher, "logs", dir)
	return st, nil
}

func retry(ctx context.Context, total time.Duration, f func() error) error {
	deadline := time.Now().Add(total)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// createTopic creates the topic ingest publishes to (and no subscription,
// so the emulator does not queue deliveries for anyone).
func createTopic(ctx context.Context, r localstack.Resources) error {
	c, err := pubsub.NewClient(ctx, r.PubSubProject)
	if err != nil {
		return fmt.Errorf("create topic: %w", err)
	}
	defer c.Close()
	name := fmt.Sprintf("projects/%s/topics/%s", r.PubSubProject, r.Topic)
	if _, err := c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: name}); err != nil && status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("create topic %s: %w", name, err)
	}
	return nil
}
