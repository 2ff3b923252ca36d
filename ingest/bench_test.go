package ingest

import (
	"encoding/base64"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/footfall/footfall/internal/keys"
	"github.com/footfall/footfall/testing/loadgen"
)

// benchServer is ingest with the no-op publisher: what the benchmarks
// measure is ingest's own cost per event (decode, validate, enrich, encode).
func benchServer(b *testing.B) *Server {
	b.Helper()
	cfg := testConfig()
	cfg.Publisher = PublisherNoop
	s, err := NewServer(cfg, keys.Demo(), Noop{}, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// runHandler serves one request body through the whole Fiber handler
// chain (middleware included), without a socket, b.N times.
func runHandler(b *testing.B, s *Server, uri string, body []byte, headers map[string]string, events int, wantStatus int) {
	b.Helper()
	h := s.App().Handler()
	var ctx fasthttp.RequestCtx
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.Header.SetMethod(fasthttp.MethodPost)
		ctx.Request.SetRequestURI(uri)
		ctx.Request.Header.SetContentType("application/json")
		for k, v := range headers {
			ctx.Request.Header.Set(k, v)
		}
		ctx.Request.SetBodyRaw(body)
		h(&ctx)
		if code := ctx.Response.StatusCode(); code != wantStatus {
			b.Fatalf("status %d: %s", code, ctx.Response.Body())
		}
	}
	b.StopTimer()
	// CPU time of the whole process (GC included) is what a shared,
	// busy machine cannot distort the way it distorts wall-clock time.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*events), "cpu-ns/event")
	perEvent := float64(b.Elapsed().Nanoseconds()) / float64(b.N*events)
	b.ReportMetric(perEvent, "ns/event")
	b.ReportMetric(1e9/perEvent, "events/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkSegmentBatch: POST /v1/batch with 100 realistic events (~590 B
// each, the load generator's payload).
func BenchmarkSegmentBatch(b *testing.B) {
	for _, gz := range []bool{false, true} {
		name := "plain"
		if gz {
			name = "gzip"
		}
		b.Run(name, func(b *testing.B) {
			s := benchServer(b)
			s.now = time.Now
			bodies, _, err := loadgen.Bodies(1, 100, time.Now(), gz)
			if err != nil {
				b.Fatal(err)
			}
			h := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(keys.DemoWriteKey+":"))}
			if gz {
				h["Content-Encoding"] = "gzip"
			}
			runHandler(b, s, "/v1/batch", bodies[0], h, 100, 200)
		})
	}
}

// BenchmarkGA4Collect: POST /mp/collect with 10 events.
func BenchmarkGA4Collect(b *testing.B) {
	s := benchServer(b)
	s.now = time.Now
	ev := `{"name":"page_view","params":{"page_location":"https://shop.example.com/products/sku-1?utm_source=newsletter","page_referrer":"https://www.google.com/","page_title":"Blue Shoes","session_id":"1730000000","engagement_time_msec":1200}}`
	body := `{"client_id":"123456.7890","user_id":"user-1","events":[` + strings.TrimSuffix(strings.Repeat(ev+",", 10), ",") + `]}`
	runHandler(b, s, mpPath(keys.DemoWriteKey, keys.DemoAPISecret), []byte(body), nil, 10, 204)
}

// cpuTime is the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSegmentBatchPubSub: as BenchmarkSegmentBatch/plain but
// publishing into an in-process Pub/Sub emulator and waiting for every
// acknowledgement, with 32 requests in flight (as the load generator
// sends). The emulator's CPU is included in cpu-ns/event.
func BenchmarkSegmentBatchPubSub(b *testing.B) {
	s, ps := newTestServer(b, nil)
	s.now = time.Now
	bodies, _, err := loadgen.Bodies(1, 100, time.Now(), false)
	if err != nil {
		b.Fatal(err)
	}
	h := s.App().Handler()
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(keys.DemoWriteKey+":"))
	b.SetParallelism(16) // 32 goroutines on 2 cores
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	var n atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		for pb.Next() {
			ctx.Request.Reset()
			ctx.Response.Reset()
			ctx.Request.Header.SetMethod(fasthttp.MethodPost)
			ctx.Request.SetRequestURI("/v1/batch")
			ctx.Request.Header.Set("Authorization", auth)
			ctx.Request.SetBodyRaw(bodies[0])
			h(&ctx)
			if code := ctx.Response.StatusCode(); code != 200 {
				b.Errorf("status %d: %s", code, ctx.Response.Body())
				return
			}
			if n.Add(1)%500 == 0 {
				ps.ClearMessages() // bound the emulator's memory
			}
		}
	})
	b.StopTimer()
	events := float64(b.N * 100)
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/events, "cpu-ns/event")
	b.ReportMetric(events/b.Elapsed().Seconds(), "events/s")
}
