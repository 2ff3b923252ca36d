// Command sealbench measures reprocessing on this machine.
//
//	sealbench -mode backfill -bin bin -events 1000000 -hours 12 -chunk-hours 1,3,12
//
// writes an archive of -events events spread over -hours past hours (and
// compacts it, as the sealer would), starts the Bigtable emulator, then runs
// the backfill command over the whole range once per -chunk-hours value,
// each as its own process, and reports its wall time, events/s, CPU time
// and peak RSS (getrusage of the child).
//
//	sealbench -mode delay -bin bin
//
// starts the local stack with its default sealing schedule, sends events
// for the most recent hour that has settled (transforms.SettledAfter and
// the grace have passed since it ended), and reports how long after they
// were accepted the hour is served sealed: the sealer's detection and seal
// time, so an hour that ends now is sealed SettledAfter + grace + that.
//
// Both modes are bounded by their flags, use loopback only and scratch
// directories, and stop by themselves.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/keys"
	"github.com/footfall/footfall/pipelines/io/archive"
	"github.com/footfall/footfall/pipelines/transforms"
	"github.com/footfall/footfall/testing/localstack"
)

var (
	mode       = flag.String("mode", "backfill", "backfill or delay")
	bin        = flag.String("bin", "bin", "directory of the built binaries (make build)")
	events     = flag.Int("events", 1_000_000, "events in the archive (backfill)")
	hours      = flag.Int("hours", 12, "hours the events spread over (backfill)")
	merchants  = flag.Int("merchants", 100, "merchants (backfill)")
	visitors   = flag.Int("visitors", 200_000, "distinct visitors (backfill)")
	identified = flag.Float64("identified", 0, "fraction of visitors who are logged in: all their events carry a user id (backfill)")
	serverEvts = flag.Float64("server-events", 0, "fraction of events sent by a server with a logged-in visitor's user id only (no anonymous id), attached to the visitor by the pipeline (backfill; needs -identified > 0)")
	chunkHours = flag.String("chunk-hours", "1,3,12", "comma-separated --chunk-hours values to run (backfill)")
	shards     = flag.Int("merchant-shards", 1, "--merchant-shards of every run (backfill)")
	perJob     = flag.Int64("max-events-per-job", 0, "--max-events-per-job of every run (backfill; 0: the command's default)")
	cpuProf    = flag.String("cpuprofile", "", "write a CPU profile of the backfill process to this file: -profile-seconds of it, from -profile-after after it starts (first -chunk-hours value only); the heap profile (allocations since the start) goes beside it as FILE.allocs")
	profAfter  = flag.Duration("profile-after", 30*time.Second, "when -cpuprofile starts, after the backfill process starts")
	profSecs   = flag.Int("profile-seconds", 60, "how long -cpuprofile samples")
	keep       = flag.String("dir", "", "scratch directory, kept (default: a new temporary one, removed at the end); an archive written there before with the same -events, -hours, -merchants and -visitors is used again (backfill)")
)

func main() {
	flag.Parse()
	var err error
	switch *mode {
	case "backfill":
		err = backfillBench()
	case "delay":
		err = delayBench()
	default:
		err = fmt.Errorf("unknown -mode %q", *mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sealbench:", err)
		os.Exit(1)
	}
}

func scratch() (string, func(), error) {
	if *keep != "" {
		return *keep, func() {}, os.MkdirAll(*keep, 0o755)
	}
	d, err := os.MkdirTemp("", "sealbench-")
	return d, func() { os.RemoveAll(d) }, err
}

var agents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/118.0",
	"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
}

func backfillBench() error {
	dir, cleanup, err := scratch()
	if err != nil {
		return err
	}
	defer cleanup()
	ctx := context.Background()
	from := time.Now().UTC().Truncate(time.Hour).Add(-time.Duration(*hours+24) * time.Hour)
	arch := filepath.Join(dir, "archive")
	// An archive this command wrote into -dir with the same flags is used
	// again (its manifest, written last, says so), so that runs compare
	// sealers on the same events without writing them again.
	want := manifest{Events: *events, Hours: *hours, Merchants: *merchants, Visitors: *visitors, Identified: *identified, ServerEvents: *serverEvts}
	manifestFile := filepath.Join(dir, "archive.json")
	if b, err := os.ReadFile(manifestFile); err == nil {
		var got manifest
		if json.Unmarshal(b, &got) == nil && got.Events == want.Events && got.Hours == want.Hours &&
			got.Merchants == want.Merchants && got.Visitors == want.Visitors && got.Identified == want.Identified && got.ServerEvents == want.ServerEvents {
			fmt.Fprintf(os.Stderr, "using the archive in %s (written %s)\n", arch, got.Written.Format(time.RFC3339))
			return runBackfills(ctx, arch, got.From, got.From.Add(time.Duration(*hours)*time.Hour))
		}
	}
	if err := os.RemoveAll(arch); err != nil {
		return err
	}
	os.Remove(manifestFile)
	to := from.Add(time.Duration(*hours) * time.Hour)

	start := time.Now()
	w, err := archive.NewWriter(arch)
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(1, 2))
	const batch = 5000
	buf := make([]event.Event, 0, batch)
	for i := range *events {
		t := from.Add(time.Duration(r.Int64N(int64(to.Sub(from))))).Truncate(time.Millisecond)
		path := []string{"/", "/products/1", "/products/2", "/cart", "/checkout"}[r.IntN(5)]
		e := event.Event{ID: fmt.Sprintf("b%d", i), MerchantID: fmt.Sprintf("m%d", r.IntN(*merchants)), Type: event.TypePage,
			Name: event.NamePageView, AnonymousID: fmt.Sprintf("v%d", r.IntN(*visitors)), EventTime: t.UnixMicro(),
			ReceiveTime: t.UnixMicro(), PageURL: "https://shop.example.com" + path, Source: event.SourceSegment,
			UserAgent: agents[r.IntN(len(agents))], Country: []string{"US", "DE", "JP", "BR"}[r.IntN(4)],
			Referrer: []string{"", "https://www.google.com/", "https://t.co/x"}[r.IntN(3)]}
		if i%10 == 0 {
			e.Type, e.Name, e.RevenueMinor, e.Currency = event.TypeTrack, "purchase", r.Int64N(50000), "USD"
		}
		// Visitors v0 … v(identified × visitors - 1) are logged in.
		loggedIn := int(*identified * float64(*visitors))
		if v, _ := strconv.Atoi(e.AnonymousID[1:]); v < loggedIn {
			e.UserID = "u" + e.AnonymousID[1:]
		}
		if loggedIn > 0 && r.Float64() < *serverEvts {
			e.AnonymousID, e.UserID, e.UserAgent = "", fmt.Sprintf("u%d", r.IntN(loggedIn)), "analytics-node/1.0"
			e.Type, e.Name, e.PageURL, e.Referrer = event.TypeTrack, "Order Completed", "", ""
		}
		buf = append(buf, e)
		if len(buf) == batch {
			if err := w.WriteBatch(ctx, buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if len(buf) > 0 {
		if err := w.WriteBatch(ctx, buf); err != nil {
			return err
		}
	}
	for h := from; h.Before(to); h = h.Add(time.Hour) {
		if _, err := archive.Compact(ctx, arch, h); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "archive of %d events over %d hours written and compacted in %s\n", *events, *hours, time.Since(start).Round(time.Millisecond))
	want.From, want.Written = from, time.Now().UTC()
	b, _ := json.Marshal(want)
	if err := os.WriteFile(manifestFile, b, 0o644); err != nil {
		return err
	}
	return runBackfills(ctx, arch, from, to)
}

// manifest describes an archive backfillBench wrote.
type manifest struct {
	Events, Hours, Merchants, Visitors int
	Identified, ServerEvents           float64 `json:",omitempty"`
	From, Written                      time.Time
}

// runBackfills starts the Bigtable emulator and runs the backfill command
// over [from, to) of arch once per -chunk-hours value.
func runBackfills(ctx context.Context, arch string, from, to time.Time) error {
	addr, err := localstack.FreeAddr()
	if err != nil {
		return err
	}
	emu := exec.Command(filepath.Join(*bin, localstack.Bigtable), "-addr", addr)
	emu.Stderr = os.Stderr
	if err := emu.Start(); err != nil {
		return fmt.Errorf("start the Bigtable emulator (run make build first): %w", err)
	}
	defer func() { emu.Process.Kill(); emu.Wait() }()
	os.Setenv("BIGTABLE_EMULATOR_HOST", addr)
	res := localstack.DefaultResources
	var setupErr error
	for range 50 {
		if setupErr = localstack.SetupBigtable(ctx, res); setupErr == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if setupErr != nil {
		return setupErr
	}

	for i, c := range strings.Split(*chunkHours, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil {
			return fmt.Errorf("-chunk-hours: %w", err)
		}
		cmd := exec.Command(filepath.Join(*bin, localstack.Sealer), "--source="+arch,
			"--bigtable-project="+res.BigtableProject, "--bigtable-instance="+res.BigtableInstance,
			"--from="+from.Format(time.RFC3339), "--to="+to.Format(time.RFC3339),
			fmt.Sprintf("--chunk-hours=%d", n), fmt.Sprintf("--merchant-shards=%d", *shards),
			fmt.Sprintf("--max-events-per-job=%d", *perJob), "--progress=log")
		profile := *cpuProf != "" && i == 0
		var metricsAddr string
		if profile {
			if metricsAddr, err = localstack.FreeAddr(); err != nil {
				return err
			}
			cmd.Args = append(cmd.Args, "--metrics-addr="+metricsAddr)
		}
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.MultiWriter(&out, os.Stderr), os.Stderr // its progress lines, as it runs
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("backfill: %w", err)
		}
		profiled := make(chan error, 1)
		if profile {
			go func() { profiled <- profileProcess(metricsAddr) }()
		}
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("backfill: %w\n%s", err, out.String())
		}
		if profile {
			if err := <-profiled; err != nil {
				return fmt.Errorf("profile the backfill: %w", err)
			}
		}
		el := time.Since(t0)
		ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		res := map[string]any{"events": *events, "hours": *hours, "chunk_hours": n, "merchant_shards": *shards, "identified": *identified, "server_events": *serverEvts, "seconds": round(el.Seconds()),
			"events_per_s": round(float64(*events) / el.Seconds()), "cpu_seconds": round(cpu.Seconds()),
			"peak_rss_mib": ru.Maxrss / 1024, "summary": strings.TrimSpace(out.String())}
		b, _ := json.Marshal(res)
		fmt.Println(string(b))
	}
	return nil
}

// profileProcess writes -cpuprofile from the backfill's pprof endpoints
// (its --metrics-addr), then FILE.allocs.
func profileProcess(addr string) error {
	time.Sleep(*profAfter)
	get := func(path, file string) error {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		f, err := os.Create(file)
		if err != nil {
			return err
		}
		if _, err := io.Copy(f, resp.Body); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	if err := get(fmt.Sprintf("/debug/pprof/profile?seconds=%d", *profSecs), *cpuProf); err != nil {
		return err
	}
	if err := get("/debug/pprof/allocs", *cpuProf+".allocs"); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "sealbench: wrote %s and %s.allocs\n", *cpuProf, *cpuProf)
	return nil
}

func round(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

func delayBench() error {
	dir, cleanup, err := scratch()
	if err != nil {
		return err
	}
	defer cleanup()
	ctx := context.Background()
	st, err := localstack.StartOnFreePorts(ctx, localstack.Options{BinDir: *bin, DataDir: dir, Echo: os.Stderr})
	if err != nil {
		return err
	}
	defer st.Stop()
	h := time.Now().UTC().Add(-transforms.SettledAfter - st.Options().SealGrace).Truncate(time.Hour).Add(-time.Hour)
	var batch []map[string]any
	for i := range 200 {
		batch = append(batch, map[string]any{"type": "track", "event": "signup", "anonymousId": fmt.Sprintf("v%d", i%50),
			"messageId": fmt.Sprintf("d%d", i), "timestamp": h.Add(time.Duration(i) * 17 * time.Second).Format(time.RFC3339)})
	}
	body, _ := json.Marshal(map[string]any{"batch": batch})
	req, _ := http.NewRequest(http.MethodPost, st.IngestURL()+"/v1/batch", bytes.NewReader(body))
	req.SetBasicAuth(keys.DemoWriteKey, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	accepted := time.Now()
	var provisional time.Duration
	deadline := accepted.Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		q := url.Values{"metrics": {"events"}, "interval": {"hour"}, "from": {h.Format(time.RFC3339)}, "to": {h.Add(time.Hour).Format(time.RFC3339)}}
		req, _ := http.NewRequest(http.MethodGet, st.QueryURL()+"/v1/timeseries?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+keys.DemoReadKey)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			var out struct {
				Points []struct {
					Sealed bool    `json:"sealed"`
					Events float64 `json:"events"`
				} `json:"points"`
			}
			json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if len(out.Points) == 1 && out.Points[0].Events == 200 {
				if provisional == 0 {
					provisional = time.Since(accepted)
				}
				if out.Points[0].Sealed {
					b, _ := json.Marshal(map[string]any{"provisional_s": round(provisional.Seconds()), "sealed_s": round(time.Since(accepted).Seconds()),
						"seal_every_s": st.Options().SealEvery.Seconds(), "grace_s": st.Options().SealGrace.Seconds()})
					fmt.Println(string(b))
					return nil
				}
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	return fmt.Errorf("the hour was not sealed within 5 minutes (see %s/logs)", dir)
}
