package ingest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/pstest"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/keys"
)

// countingPublisher wraps a Publisher and counts readiness checks.
type countingPublisher struct {
	Publisher
	readyCalls atomic.Int64
	readyErr   error
}

func (c *countingPublisher) Ready(ctx context.Context) error {
	c.readyCalls.Add(1)
	return c.readyErr
}

func TestHealthAndReadiness(t *testing.T) {
	pub := &countingPublisher{Publisher: Noop{}}
	s, err := NewServer(testConfig(), keys.Demo(), pub, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if got := getBody(t, s, "/healthz"); got != "ok" {
		t.Errorf("/healthz = %q, want ok", got)
	}
	for i := 0; i < 5; i++ {
		if got := getBody(t, s, "/readyz"); !strings.Contains(got, `"ready":true`) {
			t.Fatalf("/readyz = %s, want ready", got)
		}
	}
	if n := pub.readyCalls.Load(); n != 1 {
		t.Errorf("5 probes within the cache period made %d Pub/Sub checks, want 1", n)
	}
	// Once the cached answer is older than its TTL, the next probe checks again.
	s.ready.mu.Lock()
	s.ready.at = s.ready.at.Add(-2 * time.Second)
	s.ready.mu.Unlock()
	pub.readyErr = errors.New("topic gone")
	resp, err := s.App().Test(mustGet("/readyz"), 5000)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || pub.readyCalls.Load() != 2 {
		t.Errorf("status %d after %d checks; want 503 after 2", resp.StatusCode, pub.readyCalls.Load())
	}
}

func TestReadinessAgainstEmulator(t *testing.T) {
	s, _ := newTestServer(t, nil)
	if got := getBody(t, s, "/readyz"); !strings.Contains(got, `"ready":true`) {
		t.Errorf("/readyz = %s, want ready (the topic exists)", got)
	}
}

func mustGet(path string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "http://ingest"+path, nil)
	return r
}

// serve runs s on a free loopback port until the test ends.
func serve(t testing.TB, s *Server) (base string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, ln) }()
	var once atomic.Bool
	stop = func() error {
		if !once.CompareAndSwap(false, true) {
			return nil
		}
		cancel()
		return <-errc
	}
	t.Cleanup(func() { _ = stop() })
	return "http://" + ln.Addr().String(), stop
}

func postHTTP(t testing.TB, url, auth, body string, headers map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.SetBasicAuth(auth, "")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestCountryFromClientIP(t *testing.T) {
	tests := []struct {
		name    string
		trusted []string
		xff     string
		ctxIP   string
		want    string
	}{
		{"peer is loopback: no country", nil, "", "", ""},
		{"untrusted peer: header ignored", nil, "8.8.8.8", "", ""},
		{"trusted proxy: client from header", []string{"127.0.0.1"}, "8.8.8.8", "", "US"},
		{"spoofed left-most entry is skipped", []string{"127.0.0.0/8"}, "81.2.69.142, 133.242.0.1", "", "JP"},
		{"trusted hops are skipped", []string{"127.0.0.1", "10.0.0.0/8"}, "1.1.1.1, 10.1.2.3", "", "AU"},
		{"documentation range maps to no country", []string{"127.0.0.1"}, "203.0.113.7", "", ""},
		{"server-side SDK's context.ip wins", []string{"127.0.0.1"}, "8.8.8.8", "81.2.69.142", "GB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ps := newTestServer(t, nil, func(c *Config) { c.TrustedProxies = tc.trusted })
			base, _ := serve(t, s)
			msg := `{"type":"track","event":"x","userId":"u","messageId":"m"`
			if tc.ctxIP != "" {
				msg += `,"context":{"ip":"` + tc.ctxIP + `"}`
			}
			h := map[string]string{"User-Agent": "Mozilla/5.0 test"}
			if tc.xff != "" {
				h["X-Forwarded-For"] = tc.xff
			}
			resp, body := postHTTP(t, base+"/v1/batch", keys.DemoWriteKey, `{"batch":[`+msg+`}]}`, h)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			evs := published(t, ps)
			if len(evs) != 1 {
				t.Fatalf("%d events published", len(evs))
			}
			if evs[0].Country != tc.want || evs[0].UserAgent != "Mozilla/5.0 test" {
				t.Errorf("country %q user agent %q; want %q and the request's user agent", evs[0].Country, evs[0].UserAgent, tc.want)
			}
			if strings.Contains(string(mustEncode(t, evs[0])), tc.xff) && tc.xff != "" {
				t.Errorf("the client IP leaked into the published event")
			}
		})
	}
}

func mustEncode(t testing.TB, e event.Event) []byte {
	t.Helper()
	b, err := event.Encode(&e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// slowPublish delays every Publish call in the emulator and says when the
// first one started.
type slowPublish struct {
	delay   time.Duration
	started chan struct{}
	once    atomic.Bool
}

func (r *slowPublish) React(any) (bool, any, error) {
	if r.once.CompareAndSwap(false, true) {
		close(r.started)
	}
	time.Sleep(r.delay)
	return false, nil, nil
}

func TestGracefulShutdownDrainsInFlightPublishes(t *testing.T) {
	slow := &slowPublish{delay: 1500 * time.Millisecond, started: make(chan struct{})}
	s, ps := newTestServer(t, []pstest.ServerReactorOption{{FuncName: "Publish", Reactor: slow}})
	base, stop := serve(t, s)

	type result struct {
		status int
		body   string
	}
	done := make(chan result, 1)
	go func() {
		resp, body := postHTTP(t, base+"/v1/batch", keys.DemoWriteKey, `{"batch":[{"type":"track","event":"x","userId":"u","messageId":"drained"}]}`, nil)
		done <- result{resp.StatusCode, body}
	}()
	select {
	case <-slow.started:
	case <-time.After(20 * time.Second):
		t.Fatal("the publish never reached the emulator")
	}
	// Shut down while the publish is in flight.
	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	r := <-done
	if r.status != 200 {
		t.Fatalf("in-flight request answered %d %s, want 200", r.status, r.body)
	}
	evs := published(t, ps)
	if len(evs) != 1 || evs[0].ID != "drained" {
		t.Fatalf("emulator holds %+v, want the drained event", evs)
	}
	// And the server no longer accepts connections.
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("server still answers after shutdown")
	}
}

// TestSlowPubSubAnswers503: a publish not acknowledged within
// PUBLISH_TIMEOUT is a 503 with Retry-After, for both publishing paths.
func TestSlowPubSubAnswers503(t *testing.T) {
	slow := &slowPublish{delay: 3 * time.Second, started: make(chan struct{})}
	s, _ := newTestServer(t, []pstest.ServerReactorOption{{FuncName: "Publish", Reactor: slow}},
		func(c *Config) { c.PublishTimeout = 300 * time.Millisecond })
	for _, n := range []int{1, 50} {
		msgs := strings.TrimSuffix(strings.Repeat(`{"type":"track","event":"x","userId":"u"},`, n), ",")
		r := do(t, s, request{path: "/v1/batch", auth: keys.DemoWriteKey, body: `{"batch":[` + msgs + `]}`})
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "2" {
			t.Errorf("%d events: status %d Retry-After %q (%s); want 503 with Retry-After 2", n, r.status, r.header.Get("Retry-After"), r.raw)
		}
	}
}
