package loadgen

import (
	"context"
	"github.com/sethvargo/go-envconfig"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"github.com/footfall/footfall/ingest"
	"github.com/footfall/footfall/internal/keys"
)

func TestCheckLoopback(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://127.9.9.9:1", true},
		{"http://localhost:8080", true},
		{"http://[::1]:8080", true},
		{"http://10.0.0.1:8080", false},
		{"http://192.168.1.1", false},
		{"http://8.8.8.8", false},
		{"http://example.com", false},
		{"https://127.0.0.1", false},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			if got := CheckLoopback(tc.url) == nil; got != tc.want {
				t.Errorf("CheckLoopback(%q) ok = %v, want %v", tc.url, got, tc.want)
			}
		})
	}
}

func TestBodiesAreRealisticSegmentBatches(t *testing.T) {
	bodies, per, err := Bodies(4, 100, time.Now(), false)
	if err != nil {
		t.Fatal(err)
	}
	if per < 450 || per > 750 {
		t.Errorf("mean event is %d bytes, want about 590", per)
	}
	var b struct {
		Batch []map[string]any `json:"batch"`
	}
	if err := json.Unmarshal(bodies[0], &b); err != nil || len(b.Batch) != 100 {
		t.Fatalf("body does not decode as a batch of 100: %v", err)
	}
}

// TestRunAgainstIngest drives a real ingest (no-op publisher) with a small,
// bounded run and checks the counts add up.
func TestRunAgainstIngest(t *testing.T) {
	cfg, err := ingest.LoadConfig(context.Background(), envconfig.MapLookuper(map[string]string{
		"PUBSUB_PROJECT": "p", "PUBSUB_TOPIC": "t", "PUBLISHER": "noop", "MAX_EVENT_AGE": "1h", "PUBLISH_TIMEOUT": "1s", "RETRY_AFTER_SECONDS": "1",
		"RATE_LIMIT_EVENTS_PER_SECOND": "1000000000", "RATE_LIMIT_BURST": "1000000000", "MAX_FUTURE_SKEW": "1m"}))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ingest.NewServer(cfg, keys.Demo(), ingest.Noop{}, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done })

	var progress strings.Builder
	for _, gz := range []bool{false, true} {
		r, err := Run(context.Background(), Config{URL: "http://" + ln.Addr().String(), WriteKey: keys.DemoWriteKey,
			Concurrency: 4, BatchSize: 50, Duration: time.Minute, Events: 5000, Gzip: gz, Progress: &progress})
		if err != nil {
			t.Fatal(err)
		}
		if r.Events != 5000 || r.Requests != 100 || r.Failed != 0 {
			t.Errorf("gzip %v: %d events in %d requests, %d failed (%s); want 5000 in 100, none failed", gz, r.Events, r.Requests, r.Failed, r.FirstError)
		}
		if r.P50 <= 0 || r.P50 > r.P99 || r.P99 > r.Max {
			t.Errorf("percentiles out of order: p50 %s p99 %s max %s", r.P50, r.P99, r.Max)
		}
	}
	// Wrong key: every request fails and is counted as such.
	r, err := Run(context.Background(), Config{URL: "http://" + ln.Addr().String(), WriteKey: "nope",
		Concurrency: 2, BatchSize: 10, Duration: time.Minute, Events: 100})
	if err != nil {
		t.Fatal(err)
	}
	if r.Events != 0 || r.Failed != 10 || r.ByStatus[401] != 10 {
		t.Errorf("wrong key: %d events, %d failed, statuses %v; want 0, 10, 401×10", r.Events, r.Failed, r.ByStatus)
	}
}

func TestReadProcOfThisProcess(t *testing.T) {
	ps, err := ReadProc(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if ps.RSS <= 0 || ps.PeakRSS < ps.RSS {
		t.Errorf("RSS %d, peak %d: want 0 < RSS <= peak", ps.RSS, ps.PeakRSS)
	}
}
