// Package localstack runs the whole footfall stack on one machine, each part
// as its own process: the Pub/Sub and Bigtable emulators, the streaming
// pipeline on Prism (archiving every event to DataDir/archive), the sealer
// (the backfill command sealing closed hours from that archive), ingest and
// the query API. `make run`, the end-to-end and fault tests and the soak
// and overload tools use it. It restarts a crashed pipeline or service
// (never an emulator, whose state would be gone) and stops everything on
// Stop. Ingest runs with back-pressure on the pipeline's backlog
// (BackpressureEnv), which the Pub/Sub emulator serves.
package localstack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	json "github.com/goccy/go-json"

	"github.com/footfall/footfall/testing/pubsubemu"
)

// Process names.
const (
	PubSub   = "pubsub-emulator"
	Bigtable = "bigtable-emulator"
	Pipeline = "streaming"
	Sealer   = "backfill" // the backfill command in its --seal-closed-hours loop
	Ingest   = "ingest"
	QueryAPI = "queryapi"
)

// Options configure a Stack. Empty addresses take the defaults of `make run`.
type Options struct {
	// BinDir holds the built binaries (see Build).
	BinDir string
	// DataDir holds logs (DataDir/logs) and the raw archive
	// (DataDir/archive, the streaming job's --archive-dir).
	DataDir string

	PubSubAddr   string // default 127.0.0.1:8085
	BigtableAddr string // default 127.0.0.1:8086
	// PubSubStatsAddr is where the Pub/Sub emulator serves its backlog
	// (/v1/backlog, /metrics; default 127.0.0.1:8087). Ingest's
	// back-pressure reads it (BackpressureEnv).
	PubSubStatsAddr string
	IngestAddr      string // default 127.0.0.1:8080
	// IngestOpsAddr is where ingest serves /metrics and readiness detail
	// (INGEST_OPS_ADDR; default 127.0.0.1:8083).
	IngestOpsAddr string
	QueryAddr     string // default 127.0.0.1:8081
	// QueryMetricsAddr is where the query API serves /metrics, apart from
	// its public port (default 127.0.0.1:8091).
	QueryMetricsAddr string
	// PipelineMetricsAddr is where the streaming job serves /metrics
	// (default 127.0.0.1:8082).
	PipelineMetricsAddr string

	// PipelineArgs are extra flags for the streaming job.
	PipelineArgs []string
	// SealEvery is how often the sealer looks for hours to seal (default
	// 30s); SealGrace how long after an hour closes it is sealed (default
	// 2m). SealerArgs are extra flags for it.
	SealEvery  time.Duration
	SealGrace  time.Duration
	SealerArgs []string
	// Env is added to every process's environment ("K=V").
	Env []string
	// Echo receives warnings and errors from the processes' logs (all
	// output goes to DataDir/logs/<name>.log). Nil means os.Stderr.
	Echo io.Writer
	// Log receives the stack's own progress. Nil means a JSON logger on stderr.
	Log *slog.Logger
}

// Stack is a running local stack.
type Stack struct {
	opts      Options
	sealerEnv []string // the sealer's environment, for RunSealerPass
	log       *slog.Logger
	mu        sync.Mutex
	procs     map[string]*proc
	order     []string
	res       Resources
}

// Start launches every process and returns once the emulators are set up
// and both services answer their health checks.
func Start(ctx context.Context, o Options) (*Stack, error) {
	if o.BinDir == "" {
		return nil, errors.New("localstack.Start: BinDir is required")
	}
	if o.DataDir == "" {
		o.DataDir = "data"
	}
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&o.PubSubAddr, "127.0.0.1:8085")
	def(&o.BigtableAddr, "127.0.0.1:8086")
	def(&o.PubSubStatsAddr, "127.0.0.1:8087")
	def(&o.IngestAddr, "127.0.0.1:8080")
	def(&o.IngestOpsAddr, "127.0.0.1:8083")
	def(&o.QueryAddr, "127.0.0.1:8081")
	def(&o.QueryMetricsAddr, "127.0.0.1:8091")
	def(&o.PipelineMetricsAddr, "127.0.0.1:8082")
	if o.SealEvery <= 0 {
		o.SealEvery = 30 * time.Second
	}
	if o.SealGrace <= 0 {
		o.SealGrace = 2 * time.Minute
	}
	if o.Echo == nil {
		o.Echo = os.Stderr
	}
	if o.Log == nil {
		o.Log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if err := os.MkdirAll(filepath.Join(o.DataDir, "logs"), 0o755); err != nil {
		return nil, fmt.Errorf("localstack.Start: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(o.DataDir, "archive"), 0o755); err != nil {
		return nil, fmt.Errorf("localstack.Start: %w", err)
	}
	s := &Stack{opts: o, log: o.Log, procs: map[string]*proc{}, res: DefaultResources}

	env := append([]string{
		"PUBSUB_EMULATOR_HOST=" + o.PubSubAddr,
		"BIGTABLE_EMULATOR_HOST=" + o.BigtableAddr,
	}, o.Env...)
	// The setup below talks to the emulators from this process.
	os.Setenv("PUBSUB_EMULATOR_HOST", o.PubSubAddr)
	os.Setenv("BIGTABLE_EMULATOR_HOST", o.BigtableAddr)

	fail := func(err error) (*Stack, error) {
		s.Stop()
		return nil, err
	}
	for _, p := range []struct {
		name, addr string
		args       []string
	}{{PubSub, o.PubSubAddr, []string{"-stats-addr", o.PubSubStatsAddr}}, {Bigtable, o.BigtableAddr, nil}} {
		if err := s.startProc(p.name, append([]string{"-addr", p.addr}, p.args...), env, false); err != nil {
			return fail(err)
		}
		if err := waitTCP(ctx, p.addr, 20*time.Second); err != nil {
			return fail(fmt.Errorf("%s did not start listening on %s (see %s): %w", p.name, p.addr, s.logPath(p.name), err))
		}
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := SetupPubSub(sctx, s.res); err != nil {
		return fail(err)
	}
	if err := SetupBigtable(sctx, s.res); err != nil {
		return fail(err)
	}
	s.log.Info("emulators ready", "pubsub", o.PubSubAddr, "bigtable", o.BigtableAddr)

	pipeArgs := append([]string{
		"--pubsub-project=" + s.res.PubSubProject,
		"--subscription=" + s.res.Subscription,
		"--bigtable-project=" + s.res.BigtableProject,
		"--bigtable-instance=" + s.res.BigtableInstance,
		"--archive-dir=" + s.ArchiveDir(),
		"--metrics-addr=" + o.PipelineMetricsAddr,
	}, o.PipelineArgs...)
	if err := s.startProc(Pipeline, pipeArgs, env, true); err != nil {
		return fail(err)
	}
	sealArgs := s.sealerArgs("--every="+o.SealEvery.String(), "--grace="+o.SealGrace.String())
	if err := s.startProc(Sealer, sealArgs, env, true); err != nil {
		return fail(err)
	}
	s.sealerEnv = env
	// Back-pressure first, so that o.Env (in env) can override it.
	ingestEnv := append(append(s.BackpressureEnv(), env...), "INGEST_ADDR="+o.IngestAddr, "INGEST_OPS_ADDR="+o.IngestOpsAddr)
	if err := s.startProc(Ingest, nil, ingestEnv, true); err != nil {
		return fail(err)
	}
	if err := s.startProc(QueryAPI, nil, append(env, "QUERYAPI_ADDR="+o.QueryAddr, "QUERYAPI_METRICS_ADDR="+o.QueryMetricsAddr), true); err != nil {
		return fail(err)
	}
	for _, p := range []struct{ name, url string }{{Ingest, s.IngestURL()}, {QueryAPI, s.QueryURL()}} {
		if err := waitHTTP(ctx, p.url+"/healthz", 30*time.Second); err != nil {
			return fail(fmt.Errorf("%s did not become healthy (see %s): %w", p.name, s.logPath(p.name), err))
		}
	}
	// The streaming job has no health endpoint; its /metrics listener is
	// the first thing it opens, and a job that could not open it (its port
	// taken) has exited by now. Either is a failed start, which
	// StartOnFreePorts retries on new ports, rather than a stack whose
	// supervisor restarts the job on a port it can never bind.
	if err := waitHTTP(ctx, "http://"+o.PipelineMetricsAddr+"/metrics", 30*time.Second); err != nil {
		return fail(fmt.Errorf("%s did not serve /metrics on %s (see %s): %w", Pipeline, o.PipelineMetricsAddr, s.logPath(Pipeline), err))
	}
	select {
	case <-s.Exited(Pipeline):
		return fail(fmt.Errorf("%s exited at start (see %s)", Pipeline, s.logPath(Pipeline)))
	default:
	}
	s.log.Info("stack ready", "ingest", s.IngestURL(), "queryapi", s.QueryURL(), "logs", filepath.Join(o.DataDir, "logs"))
	return s, nil
}

// Backpressure bounds of the local stack's ingest (docs/ingest.md,
// "Back-pressure"): it answers 503 while the pipeline's subscription holds
// more than BackpressureMaxMessages unacknowledged messages or one older
// than BackpressureMaxAge, until both are under half. About 1.1 GiB of
// emulator memory at most, and room for a 90-second Bigtable outage (the
// full fault scenario) without a 503.
const (
	BackpressureMaxAge      = 3 * time.Minute
	BackpressureMaxMessages = 1_000_000
)

// BackpressureEnv is the environment that turns on ingest's back-pressure
// on the pipeline's subscription. Options.Env can override it
// ("BACKPRESSURE_BACKLOG_URL=" turns it off).
func (s *Stack) BackpressureEnv() []string {
	return []string{
		"BACKPRESSURE_BACKLOG_URL=" + s.BacklogURL(),
		"BACKPRESSURE_MAX_AGE=" + BackpressureMaxAge.String(),
		fmt.Sprintf("BACKPRESSURE_MAX_MESSAGES=%d", BackpressureMaxMessages),
	}
}

// BacklogURL is where the Pub/Sub emulator serves the pipeline
// subscription's backlog (JSON, pubsubemu.Backlog).
func (s *Stack) BacklogURL() string {
	return "http://" + s.opts.PubSubStatsAddr + "/v1/backlog?subscription=" +
		url.QueryEscape(fmt.Sprintf("projects/%s/subscriptions/%s", s.res.PubSubProject, s.res.Subscription))
}

// Backlog reads the pipeline subscription's backlog from the emulator.
func (s *Stack) Backlog(ctx context.Context) (pubsubemu.Backlog, error) {
	var b pubsubemu.Backlog
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.BacklogURL(), nil)
	if err != nil {
		return b, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return b, fmt.Errorf("localstack: read the backlog: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return b, fmt.Errorf("localstack: read the backlog: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		return b, fmt.Errorf("localstack: read the backlog: %w", err)
	}
	return b, nil
}

// IngestURL is the base URL of ingest.
func (s *Stack) IngestURL() string { return "http://" + s.opts.IngestAddr }

// IngestOpsURL is the base URL of ingest's operators' listener (/metrics).
func (s *Stack) IngestOpsURL() string { return "http://" + s.opts.IngestOpsAddr }

// QueryURL is the base URL of the query API.
func (s *Stack) QueryURL() string { return "http://" + s.opts.QueryAddr }

// QueryMetricsURL is the query API's /metrics.
func (s *Stack) QueryMetricsURL() string { return "http://" + s.opts.QueryMetricsAddr + "/metrics" }

// ArchiveDir is the raw archive the streaming job writes.
func (s *Stack) ArchiveDir() string { return filepath.Join(s.opts.DataDir, "archive") }

// Resources are the emulator resource names.
func (s *Stack) Resources() Resources { return s.res }

// Options returns the options the stack runs with (defaults filled in).
func (s *Stack) Options() Options { return s.opts }

func (s *Stack) logPath(name string) string {
	return filepath.Join(s.opts.DataDir, "logs", name+".log")
}

// Stop stops the processes in reverse start order: services and pipeline
// first (SIGTERM, then SIGKILL after a grace period), emulators last.
func (s *Stack) Stop() {
	s.mu.Lock()
	order := append([]string(nil), s.order...)
	s.mu.Unlock()
	for i := len(order) - 1; i >= 0; i-- {
		s.procs[order[i]].stop(15 * time.Second)
	}
}

// Kill sends SIGKILL to a process (fault injection); a supervised process
// is restarted by the stack.
func (s *Stack) Kill(name string) error { return s.signal(name, syscall.SIGKILL) }

// Pause stops a process with SIGSTOP (it keeps its state); Resume continues it.
func (s *Stack) Pause(name string) error { return s.signal(name, syscall.SIGSTOP) }

// Resume continues a paused process.
func (s *Stack) Resume(name string) error { return s.signal(name, syscall.SIGCONT) }

// Terminate sends SIGTERM to a process (a graceful stop, as Cloud Run or
// Kubernetes would); a supervised process is restarted once it exits.
func (s *Stack) Terminate(name string) error { return s.signal(name, syscall.SIGTERM) }

// sealerArgs are the flags of a sealer pass on the stack: its archive and
// Bigtable instance, then own, then Options.SealerArgs (later flags win).
func (s *Stack) sealerArgs(own ...string) []string {
	args := append([]string{
		"--seal-closed-hours",
		"--source=" + s.ArchiveDir(),
		"--bigtable-project=" + s.res.BigtableProject,
		"--bigtable-instance=" + s.res.BigtableInstance,
	}, own...)
	return append(args, s.opts.SealerArgs...)
}

// RunSealerPass runs one pass of the sealer binary (--seal-closed-hours)
// over the stack's archive and emulator, with extra flags (e.g. a
// negative --grace, which makes unsettled hours due), its output appended
// to the stack's sealer log. Pause the stack's own sealer first: its next
// pass would move sealed_through back to what it considers settled.
func (s *Stack) RunSealerPass(ctx context.Context, extra ...string) error {
	args := s.sealerArgs("--progress=log")
	lf, err := os.OpenFile(s.logPath(Sealer), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("localstack: %w", err)
	}
	defer lf.Close()
	cmd := exec.CommandContext(ctx, filepath.Join(s.opts.BinDir, Sealer), append(args, extra...)...)
	cmd.Env = append(os.Environ(), s.sealerEnv...)
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("localstack: a sealer pass (%s) failed, see %s: %w", strings.Join(extra, " "), s.logPath(Sealer), err)
	}
	return nil
}

// PID returns the process id of a process's current incarnation (0 if it
// is not running).
func (s *Stack) PID(name string) int {
	s.mu.Lock()
	p := s.procs[name]
	s.mu.Unlock()
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

func (s *Stack) signal(name string, sig syscall.Signal) error {
	s.mu.Lock()
	p, ok := s.procs[name]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("localstack: no process %q", name)
	}
	return p.signal(sig)
}

// Exited returns a channel closed when the current incarnation of a
// process has exited (nil if it was never started).
func (s *Stack) Exited(name string) <-chan struct{} {
	s.mu.Lock()
	p := s.procs[name]
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exited
}

// Restarts returns how many times a process was restarted after it exited.
func (s *Stack) Restarts(name string) int {
	s.mu.Lock()
	p := s.procs[name]
	s.mu.Unlock()
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.restarts
}

func (s *Stack) startProc(name string, args, env []string, supervise bool) error {
	path := filepath.Join(s.opts.BinDir, name)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("localstack: binary %s missing; run `make build` first: %w", path, err)
	}
	lf, err := os.OpenFile(s.logPath(name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("localstack: %w", err)
	}
	p := &proc{name: name, path: path, args: args, env: append(os.Environ(), env...), logf: lf,
		echo: s.opts.Echo, log: s.log, supervise: supervise, done: make(chan struct{})}
	if err := p.start(); err != nil {
		return err
	}
	s.mu.Lock()
	s.procs[name] = p
	s.order = append(s.order, name)
	s.mu.Unlock()
	go p.watch()
	return nil
}

// proc is one child process, restarted on exit when supervised.
type proc struct {
	name, path string
	args, env  []string
	logf       *os.File
	echo       io.Writer
	log        *slog.Logger
	supervise  bool

	mu       sync.Mutex
	cmd      *exec.Cmd
	started  time.Time
	exited   chan struct{}
	stopping bool
	restarts int
	done     chan struct{}
}

func (p *proc) start() error {
	cmd := exec.Command(p.path, p.args...)
	cmd.Env = p.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("localstack: start %s: %w", p.name, err)
	}
	exited := make(chan struct{})
	started := time.Now()
	go func() {
		p.copyLog(out)
		cmd.Wait()
		close(exited)
	}()
	p.mu.Lock()
	p.cmd, p.exited, p.started = cmd, exited, started
	p.mu.Unlock()
	return nil
}

// copyLog writes every line to the log file and echoes warnings and errors.
func (p *proc) copyLog(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(p.logf, line)
		if strings.Contains(line, `"level":"ERROR"`) || strings.Contains(line, `"level":"WARN"`) ||
			strings.HasPrefix(line, "panic:") || strings.Contains(line, "level=ERROR") {
			fmt.Fprintf(p.echo, "[%s] %s\n", p.name, line)
		}
	}
}

func (p *proc) watch() {
	defer close(p.done)
	backoff := time.Second
	for {
		p.mu.Lock()
		exited, cmd := p.exited, p.cmd
		p.mu.Unlock()
		<-exited
		p.mu.Lock()
		stopping := p.stopping
		p.mu.Unlock()
		if stopping {
			return
		}
		p.log.Warn("process exited", "process", p.name, "state", cmd.ProcessState.String())
		if !p.supervise {
			return
		}
		p.mu.Lock()
		if time.Since(p.started) > 5*time.Minute {
			backoff = time.Second // it ran healthily for a while: not a crash loop
		}
		p.mu.Unlock()
		time.Sleep(backoff)
		backoff = min(backoff*2, 30*time.Second)
		p.mu.Lock()
		if p.stopping {
			p.mu.Unlock()
			return
		}
		p.restarts++
		p.mu.Unlock()
		p.log.Info("restarting process", "process", p.name)
		if err := p.start(); err != nil {
			p.log.Error("restart failed", "process", p.name, "err", err)
			return
		}
	}
}

func (p *proc) signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return fmt.Errorf("localstack: %s is not running", p.name)
	}
	return p.cmd.Process.Signal(sig)
}

func (p *proc) stop(grace time.Duration) {
	p.mu.Lock()
	p.stopping = true
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGCONT) // a paused process cannot handle SIGTERM
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		p.log.Warn("process did not stop in time; killing it", "process", p.name)
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
	p.logf.Close()
}

func waitTCP(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func waitHTTP(ctx context.Context, url string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// FreeAddr returns a loopback address with a port free right now.
func FreeAddr() (string, error) {
	a, err := FreeAddrs(1)
	if err != nil {
		return "", err
	}
	return a[0], nil
}

// FreeAddrs returns n loopback addresses on distinct ports free right now.
// It holds every port until it has all n: ports taken one after another,
// each released before the next, can repeat, and two of a stack's
// processes would then try the same port.
func FreeAddrs(n int) ([]string, error) {
	addrs := make([]string, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		addrs = append(addrs, l.Addr().String())
	}
	return addrs, nil
}

// StartOnFreePorts starts a stack with every address that o leaves empty
// on a free loopback port. A port found free can be taken by another
// process before the stack binds it (tests start stacks in parallel), so a
// start that fails is retried on new ports, up to three times.
func StartOnFreePorts(ctx context.Context, o Options) (*Stack, error) {
	var err error
	for range 3 {
		try := o
		ports := []*string{&try.PubSubAddr, &try.PubSubStatsAddr, &try.BigtableAddr, &try.IngestAddr, &try.IngestOpsAddr, &try.QueryAddr, &try.QueryMetricsAddr, &try.PipelineMetricsAddr}
		var free []string
		if free, err = FreeAddrs(len(ports)); err != nil {
			return nil, err
		}
		for i, p := range ports {
			if *p == "" {
				*p = free[i]
			}
		}
		var st *Stack
		if st, err = Start(ctx, try); err == nil {
			return st, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, err
}

// Binaries lists the packages Build compiles, by binary name.
var Binaries = map[string]string{
	PubSub:   "./testing/cmd/pubsub-emulator",
	Bigtable: "./testing/cmd/bigtable-emulator",
	Pipeline: "./pipelines/cmd/streaming",
	Sealer:   "./pipelines/cmd/backfill",
	Ingest:   "./ingest/cmd/ingest",
	QueryAPI: "./queryapi/cmd/queryapi",
}

// Build compiles the stack's binaries into dir, running `go build` in the
// module root moduleDir.
func Build(ctx context.Context, moduleDir, dir string) error {
	args := []string{"build", "-o", dir + string(os.PathSeparator)}
	for _, pkg := range Binaries {
		args = append(args, pkg)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = moduleDir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("localstack.Build: %w\n%s", err, out)
	}
	return nil
}
