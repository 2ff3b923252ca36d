// Command archivebench measures the local archive on this machine: durable
// batch writes, compaction and reads of one hour, each phase in its own
// process so that its peak RSS is its own. It is bounded by its flags and
// touches only the directory it is given.
//
//	archivebench -dir /tmp/ab -phase write -events 1000000 -batch 5000
//	archivebench -dir /tmp/ab -phase compact
//	archivebench -dir /tmp/ab -phase read [-merchant m7]
//	archivebench -dir /tmp/ab -phase beam
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/transforms/stats"
	"github.com/oklog/ulid/v2"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/pipelines/io/archive"
)

var (
	dir       = flag.String("dir", "", "archive directory (created; use a scratch directory)")
	phase     = flag.String("phase", "", "write, compact, read or beam")
	events    = flag.Int("events", 1_000_000, "events to write (phase write), all in one hour")
	batch     = flag.Int("batch", 5000, "events per WriteBatch (phase write)")
	merchants = flag.Int("merchants", 50, "distinct merchants (phase write)")
	merchant  = flag.String("merchant", "", "read only this merchant (phase read)")
)

// hour is the event hour every generated event falls in.
var hour = time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)

func init() {
	register.Function1x1(eventTimeOf)
}

func eventTimeOf(e event.Event) int64 { return e.EventTime }

func main() {
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := realMain(ctx); err != nil {
		slog.Error("archivebench failed", "err", err)
		os.Exit(1)
	}
}

func realMain(ctx context.Context) error {
	if *dir == "" {
		return fmt.Errorf("-dir is required")
	}
	switch *phase {
	case "write":
		return write(ctx)
	case "compact":
		return compact(ctx)
	case "read":
		return read(ctx)
	case "beam":
		return beamRead(ctx)
	}
	return fmt.Errorf("-phase must be write, compact, read or beam, not %q", *phase)
}

var (
	paths   = []string{"/", "/products", "/products/shoes", "/cart", "/checkout", "/blog/how-to-choose", "/account"}
	agents  = []string{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15", "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"}
	country = []string{"US", "DE", "FR", "GB", "IN", "BR", "JP"}
)

// genEvent returns a plausible event: ULID ids, random visitors, page
// context on page views, properties and revenue on purchases.
func genEvent(r *rand.Rand, i int) event.Event {
	t := hour.Add(time.Duration(r.Int64N(int64(time.Hour))))
	path := paths[r.IntN(len(paths))]
	e := event.Event{
		ID:          ulid.Make().String(),
		MerchantID:  fmt.Sprintf("m%d", r.IntN(*merchants)),
		Type:        event.TypePage,
		Name:        event.NamePageView,
		AnonymousID: fmt.Sprintf("%016x%016x", r.Uint64(), r.Uint64()),
		SessionID:   fmt.Sprintf("%d", r.Int64N(1e10)),
		EventTime:   t.UnixMicro(),
		ReceiveTime: t.Add(time.Duration(r.IntN(3000)) * time.Millisecond).UnixMicro(),
		PageURL:     "https://shop.example.com" + path + fmt.Sprintf("?ref=%d", r.IntN(100)),
		PagePath:    path,
		PageTitle:   "Shop — " + path,
		Referrer:    []string{"", "https://www.google.com/", "https://news.example.org/a"}[r.IntN(3)],
		UserAgent:   agents[r.IntN(len(agents))],
		Country:     country[r.IntN(len(country))],
		Source:      event.SourceSegment,
	}
	if i%10 == 0 {
		e.Type, e.Name = event.TypeTrack, "purchase"
		e.UserID = fmt.Sprintf("user-%d", r.IntN(100000))
		e.RevenueMinor = r.Int64N(50000)
		e.Currency = "USD"
		e.Properties = fmt.Sprintf(`{"order_id":"o-%d","items":%d,"coupon":%q}`, r.Int64N(1e9), 1+r.IntN(5), []string{"", "BF24"}[r.IntN(2)])
	}
	if i%7 == 0 {
		e.UTMSource, e.UTMMedium, e.UTMCampaign = "newsletter", "email", "black-friday"
	}
	return e
}

func write(ctx context.Context) error {
	w, err := archive.NewWriter(*dir)
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]event.Event, 0, *batch)
	jsonBytes := 0
	var spent time.Duration
	var lat []time.Duration
	for i := range *events {
		e := genEvent(r, i)
		b, _ := event.Encode(&e)
		jsonBytes += len(b)
		buf = append(buf, e)
		if len(buf) == *batch || i == *events-1 {
			start := time.Now()
			if err := w.WriteBatch(ctx, buf); err != nil {
				return err
			}
			d := time.Since(start)
			spent += d
			lat = append(lat, d)
			buf = buf[:0]
		}
	}
	st := w.Stats()
	fmt.Printf("write: %d events in %d files, batch %d, %.2f s in WriteBatch\n", st.Events, st.Files, *batch, spent.Seconds())
	fmt.Printf("  %.0f events/s, %.2f MB/s of Parquet, %.1f B/event on disk (JSON body %.1f B/event)\n",
		float64(st.Events)/spent.Seconds(), float64(st.Bytes)/spent.Seconds()/1e6, float64(st.Bytes)/float64(st.Events), float64(jsonBytes)/float64(st.Events))
	fmt.Printf("  WriteBatch latency p50 %s p99 %s max %s\n", pct(lat, 50), pct(lat, 99), pct(lat, 100))
	return report()
}

func compact(ctx context.Context) error {
	start := time.Now()
	st, err := archive.Compact(ctx, *dir, hour)
	if err != nil {
		return err
	}
	d := time.Since(start)
	fmt.Printf("compact: %d files (%.1f MB) → %d file (%.1f MB), %d rows in %.2f s: %.0f rows/s\n",
		st.InputFiles, float64(st.InputBytes)/1e6, st.OutputFiles, float64(st.OutputBytes)/1e6, st.Rows, d.Seconds(), float64(st.Rows)/d.Seconds())
	return report()
}

func read(ctx context.Context) error {
	q := archive.Query{From: hour, To: hour.Add(time.Hour)}
	if *merchant != "" {
		q.Merchants = []string{*merchant}
	}
	files, err := archive.Files(*dir, q.From, q.To)
	if err != nil {
		return err
	}
	var size int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			size += fi.Size()
		}
	}
	start := time.Now()
	n, rev := 0, int64(0)
	err = archive.Scan(ctx, *dir, q, func(e *event.Event) error {
		n++
		rev += e.RevenueMinor
		return nil
	})
	if err != nil {
		return err
	}
	d := time.Since(start)
	fmt.Printf("read: %d events (merchant %q) from %d files (%.1f MB) in %.2f s: %.0f events/s, %.1f MB/s of Parquet (revenue sum %d)\n",
		n, *merchant, len(files), float64(size)/1e6, d.Seconds(), float64(n)/d.Seconds(), float64(size)/d.Seconds()/1e6, rev)
	return report()
}

// beamRead runs archive.Read on Prism in this process and counts events.
func beamRead(ctx context.Context) error {
	beam.Init()
	p, s := beam.NewPipelineWithRoot()
	evs := archive.Read(s, *dir, hour, hour.Add(time.Hour), nil)
	stats.CountElms(s, beam.ParDo(s, eventTimeOf, evs))
	start := time.Now()
	res, err := prism.Execute(ctx, p)
	if err != nil {
		return err
	}
	d := time.Since(start)
	n := int64(0)
	for _, c := range res.Metrics().AllMetrics().Counters() {
		if c.Key.Name == "archive_events_read" {
			n += c.Committed
		}
	}
	fmt.Printf("beam (Prism): archive.Read of %d events in %.2f s: %.0f events/s\n", n, d.Seconds(), float64(n)/d.Seconds())
	return report()
}

// report prints the process's CPU time, peak RSS (VmHWM) and the load
// average (other work on the machine slows wall-clock numbers).
func report() error {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		fmt.Printf("  process CPU %.2f s (user %.2f, sys %.2f)\n", float64(ru.Utime.Nano()+ru.Stime.Nano())/1e9, float64(ru.Utime.Nano())/1e9, float64(ru.Stime.Nano())/1e9)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("  Go heap: %.0f MB in use now, %.0f MB obtained from the OS, %d GCs\n", float64(ms.HeapInuse)/1e6, float64(ms.HeapSys)/1e6, ms.NumGC)
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		fmt.Printf("  load average %s", b)
	}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "VmHWM:") {
			fmt.Printf("  peak RSS %s\n", strings.TrimSpace(strings.TrimPrefix(sc.Text(), "VmHWM:")))
		}
	}
	return sc.Err()
}

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	i := (len(s) - 1) * p / 100
	return s[i].Round(100 * time.Microsecond)
}
