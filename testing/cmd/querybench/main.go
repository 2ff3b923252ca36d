// Command querybench measures the query API: it starts a Bigtable
// emulator in process (or uses BIGTABLE_EMULATOR_HOST), preloads it with
// many merchants' hourly rows, starts the real query API on a free
// loopback port and drives it over HTTP at a fixed concurrency, printing
// p50/p90/p99 latency and requests per second per scenario.
//
//	go run ./testing/cmd/querybench -merchants 1000 -days 90 -duration 10s
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	_ "net/http/pprof"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"cloud.google.com/go/bigtable"
	"cloud.google.com/go/bigtable/bttest"

	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/queryapi"
	"github.com/footfall/footfall/testing/localstack"
	"github.com/footfall/footfall/testing/querybench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := realMain(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "querybench:", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context) error {
	child := flag.String("emulator-child", "", "internal: serve a Bigtable emulator on this address until stdin closes")
	merchants := flag.Int("merchants", 1000, "merchants to preload")
	days := flag.Int("days", 90, "days of hourly rows per merchant")
	topK := flag.Int("topk", 10, "breakdown values kept per hour")
	dims := flag.String("dims", "page", "comma-separated dimensions with breakdown rows")
	provisional := flag.Int("provisional", 3, "hours before the end that are provisional (not sealed)")
	concurrency := flag.Int("concurrency", 16, "requests in flight")
	duration := flag.Duration("duration", 10*time.Second, "measuring time per scenario")
	warmup := flag.Bool("warmup", true, "before measuring a scenario, send its request once for every merchant (steady state: sealed aggregates cached)")
	scenarios := flag.String("scenarios", "daily30-live,daily30-live-utc,daily30-live-kolkata,daily30-sealed,hourly7,breakdown30", "scenarios to run")
	cache := flag.Int64("cache-mib", 1024, "CACHE_BYTES of the server in MiB (0: no cache)")
	quarters := flag.Bool("quarters", true, "also write quarter-hour rows (layout v2)")
	rounds := flag.Int("rounds", 1, "measure the scenarios this many times, alternating (warm-up once)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the measured runs to this file")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this loopback address (e.g. 127.0.0.1:6060)")
	flag.Parse()
	if *child != "" {
		return serveEmulator(*child)
	}

	if *pprofAddr != "" {
		runtime.SetBlockProfileRate(10_000)
		runtime.SetMutexProfileFraction(10)
		go func() { _ = http.ListenAndServe(*pprofAddr, nil) }()
	}
	var dimList []layout.Dimension
	for _, d := range strings.Split(*dims, ",") {
		dim, ok := layout.ParseDimension(strings.TrimSpace(d))
		if !ok {
			return fmt.Errorf("unknown dimension %q", d)
		}
		dimList = append(dimList, dim)
	}
	l := querybench.Layout{Merchants: *merchants, Days: *days, End: time.Now().UTC().Truncate(time.Hour),
		Provisional: *provisional, Dims: dimList, TopK: *topK, Quarters: *quarters}

	clocks := []func() time.Duration{selfCPU}
	if os.Getenv("BIGTABLE_EMULATOR_HOST") == "" {
		stopEmu, addr, pid, err := startEmulator(ctx)
		if err != nil {
			return err
		}
		defer stopEmu()
		os.Setenv("BIGTABLE_EMULATOR_HOST", addr)
		clocks = append(clocks, func() time.Duration { return procCPU(pid) })
	}
	res := localstack.DefaultResources
	if err := localstack.SetupBigtable(ctx, res); err != nil {
		return err
	}
	client, err := bigtable.NewClient(ctx, res.BigtableProject, res.BigtableInstance)
	if err != nil {
		return fmt.Errorf("bigtable client: %w", err)
	}
	defer client.Close()

	t0 := time.Now()
	st, err := querybench.Preload(ctx, client.Open(layout.TableMetrics), client.Open(layout.TableMeta), l, runtime.NumCPU(), func(n int) {
		if n%100 == 0 || n == l.Merchants {
			fmt.Fprintf(os.Stderr, "preloaded %d/%d merchants (%s)\n", n, l.Merchants, time.Since(t0).Round(time.Second))
		}
	})
	if err != nil {
		return err
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	fmt.Printf("preload: %d merchants × %d days, dims %s top %d: %d rows, %.0f MiB of cells, in %s; heap after GC %.0f MiB\n",
		l.Merchants, l.Days, *dims, l.TopK, st.Rows, float64(st.Bytes)/(1<<20), time.Since(t0).Round(time.Second), float64(ms.HeapAlloc)/(1<<20))
	md := float64(l.Merchants * l.Days)
	fmt.Printf("storage per merchant-day: %.1f KiB of cells (hourly rows %.1f KiB, quarter rows %.1f KiB in %d rows)\n",
		float64(st.Bytes)/md/1024, float64(st.Bytes-st.QuarterBytes)/md/1024, float64(st.QuarterBytes)/md/1024, st.QuarterRows)

	cfg := queryapi.DefaultConfig()
	cfg.BigtableProject, cfg.BigtableInstance = res.BigtableProject, res.BigtableInstance
	cfg.CacheBytes = *cache << 20
	cfg.RateLimit, cfg.RateBurst = 1000, 1000 // measure the server, not the limiter
	store, err := queryapi.NewBigtable(ctx, cfg.BigtableProject, cfg.BigtableInstance, cfg.BigtableAppProfile)
	if err != nil {
		return err
	}
	defer store.Close()
	srv, err := queryapi.NewServer(cfg, querybench.Keys(l.Merchants), store, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		return err
	}
	app := srv.App()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go app.Listener(ln)
	defer app.ShutdownWithTimeout(5 * time.Second)
	base := "http://" + ln.Addr().String()

	var prof *os.File
	var run []querybench.Scenario
	for range *rounds {
		for _, sc := range querybench.Scenarios(l) {
			if strings.Contains(","+*scenarios+",", ","+sc.Name+",") {
				run = append(run, sc)
			}
		}
	}
	warmed := map[string]bool{}
	for _, sc := range run {
		if *warmup && !warmed[sc.Name] {
			warmed[sc.Name] = true
			t0 := time.Now()
			if err := querybench.Warm(ctx, base, sc, l.Merchants, *concurrency); err != nil {
				return err
			}
			fmt.Printf("warm-up  %-15s one request per merchant in %s\n", sc.Name, time.Since(t0).Round(time.Millisecond))
		}
		if *cpuprofile != "" && prof == nil {
			if prof, err = os.Create(*cpuprofile); err != nil {
				return err
			}
			if err := pprof.StartCPUProfile(prof); err != nil {
				return err
			}
		}
		r := querybench.Run(ctx, base, sc, l.Merchants, *concurrency, *duration, clocks...)
		fmt.Printf("measured %s\n", r)
		if r.Errors > 0 {
			fmt.Printf("         first error: %s\n", r.FirstError)
		}
		if ctx.Err() != nil {
			break
		}
	}
	if prof != nil {
		pprof.StopCPUProfile()
		prof.Close()
	}
	runtime.ReadMemStats(&ms)
	fmt.Printf("process: heap %.0f MiB, sys %.0f MiB, GC cycles %d\n", float64(ms.HeapAlloc)/(1<<20), float64(ms.Sys)/(1<<20), ms.NumGC)
	rec := httptest.NewRecorder()
	srv.MetricsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, line := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(line, "footfall_queryapi_cache_") {
			fmt.Println("server:", line)
		}
	}
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.Canceled) {
		return ctx.Err()
	}
	return nil
}

// startEmulator runs the emulator in a child process (this program with
// -emulator-child), as the local stack does: its heap of millions of cells
// would otherwise make the query API's garbage collections scan it too.
func startEmulator(ctx context.Context) (stop func(), addr string, pid int, err error) {
	addr, err = localstack.FreeAddr()
	if err != nil {
		return nil, "", 0, err
	}
	self, err := os.Executable()
	if err != nil {
		return nil, "", 0, err
	}
	cmd := exec.Command(self, "-emulator-child", addr)
	cmd.Stderr = os.Stderr
	if os.Getenv("GOGC") == "" {
		// Millions of cells: collect more often to keep the emulator's
		// memory near its live data (the machine is shared).
		cmd.Env = append(os.Environ(), "GOGC=50")
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, "", 0, err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", 0, fmt.Errorf("start emulator process: %w", err)
	}
	stop = func() {
		stdin.Close() // the child exits when its stdin closes
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return stop, addr, cmd.Process.Pid, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			stop()
			return nil, "", 0, fmt.Errorf("emulator did not listen on %s: %w", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func serveEmulator(addr string) error {
	srv, err := bttest.NewServer(addr)
	if err != nil {
		return fmt.Errorf("start bttest: %w", err)
	}
	defer srv.Close()
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes it or exits
	return nil
}

// selfCPU is the CPU time (user + system) this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// procCPU is the CPU time of another process, from /proc/<pid>/stat
// (utime and stime, in clock ticks of 1/100 s).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}
