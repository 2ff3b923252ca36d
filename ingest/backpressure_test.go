package ingest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"
)

// fakeBacklog is a BacklogSource a test sets.
type fakeBacklog struct {
	mu  sync.Mutex
	b   Backlog
	err error
}

func (f *fakeBacklog) Backlog(context.Context) (Backlog, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.b, f.err
}

func (f *fakeBacklog) set(b Backlog, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.b, f.err = b, err
}

// withBackpressure gives s back-pressure on src (bounds: 3 minutes, 1,000
// messages), logging into the returned buffer.
func withBackpressure(t *testing.T, s *Server, src BacklogSource) *syncBuf {
	t.Helper()
	logs := &syncBuf{}
	cfg := BackpressureConfig{URL: "http://backlog.test/", MaxAge: 3 * time.Minute, MaxMessages: 1000, Poll: time.Second}
	s.bp = newBackpressure(cfg, src, s.stats.reg, slog.New(slog.NewJSONHandler(logs, nil)))
	return logs
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuf) Write(p []byte) (int, error) { w.mu.Lock(); defer w.mu.Unlock(); return w.b.Write(p) }
func (w *syncBuf) String() string              { w.mu.Lock(); defer w.mu.Unlock(); return w.b.String() }

func get(t *testing.T, s *Server, path string) (int, string) {
	t.Helper()
	resp, err := s.App().Test(httptest.NewRequest(http.MethodGet, path, nil), 20_000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Ingest refuses events with 503 and Retry-After while the backlog is
// beyond a bound, until it is back under half of every bound; /readyz
// says so; each switch is logged once and counted; a failed read of the
// backlog lets events through.
func TestBackpressure(t *testing.T) {
	s, ps := newTestServer(t, nil)
	src := &fakeBacklog{}
	logs := withBackpressure(t, s, src)
	batch := request{path: "/v1/batch", auth: "demo-write-key", body: `{"batch":[{"type":"track","event":"x","anonymousId":"a"}]}`}
	mp := request{path: "/mp/collect?measurement_id=demo-write-key&api_secret=demo-api-secret", body: `{"client_id":"c","events":[{"name":"page_view"}]}`}

	steps := []struct {
		name   string
		b      Backlog
		err    error
		status int // of a Segment batch and a GA4 request
		ready  int
	}{
		{"small backlog", Backlog{Messages: 10, OldestAgeSeconds: 5}, nil, 200, 200},
		{"too old", Backlog{Messages: 10, OldestAgeSeconds: 181}, nil, 503, 503},
		{"under the bound, over half of it", Backlog{Messages: 10, OldestAgeSeconds: 100}, nil, 503, 503},
		{"under half of the age bound", Backlog{Messages: 10, OldestAgeSeconds: 80}, nil, 200, 200},
		{"too many", Backlog{Messages: 1001, OldestAgeSeconds: 1}, nil, 503, 503},
		{"count under the bound, over half", Backlog{Messages: 600, OldestAgeSeconds: 1}, nil, 503, 503},
		{"count under half", Backlog{Messages: 400, OldestAgeSeconds: 1}, nil, 200, 200},
		{"too old again", Backlog{Messages: 10, OldestAgeSeconds: 1000}, nil, 503, 503},
		{"backlog unreadable: fail open", Backlog{}, errors.New("connection refused"), 200, 200},
		{"still unreadable", Backlog{}, errors.New("connection refused"), 200, 200},
	}
	for _, st := range steps {
		src.set(st.b, st.err)
		s.bp.poll(context.Background())
		for _, r := range []request{batch, mp} {
			got := do(t, s, r)
			want := st.status
			if want == 200 && strings.HasPrefix(r.path, "/mp/") {
				want = 204
			}
			if got.status != want {
				t.Errorf("%s: %s answered %d, want %d (%s)", st.name, r.path, got.status, want, got.raw)
			}
			if got.status == 503 && got.header.Get("Retry-After") != "2" {
				t.Errorf("%s: 503 with Retry-After %q, want 2", st.name, got.header.Get("Retry-After"))
			}
		}
		if code, body := get(t, s, "/readyz"); code != st.ready || (code == 503) != strings.Contains(body, `"backpressure":true`) {
			t.Errorf("%s: /readyz %d %s, want %d", st.name, code, body, st.ready)
		}
	}

	if got, want := strings.Count(logs.String(), "back-pressure on:"), 3; got != want {
		t.Errorf("logged back-pressure on %d times, want %d (once per switch):\n%s", got, want, logs)
	}
	if got, want := strings.Count(logs.String(), "back-pressure off:"), 3; got != want {
		t.Errorf("logged back-pressure off %d times, want %d:\n%s", got, want, logs)
	}
	if got, want := strings.Count(logs.String(), "cannot read the pipeline's backlog"), 1; got != want {
		t.Errorf("logged the unreadable backlog %d times, want %d", got, want)
	}
	metrics := getFrom(t, s.OpsApp(), "/metrics") // metrics are on the operators' listener
	for _, line := range []string{
		"footfall_ingest_backpressure 0",
		"footfall_ingest_backpressure_rejected_requests_total 10",
		`footfall_ingest_backpressure_changes_total{to="on"} 3`,
		`footfall_ingest_backpressure_changes_total{to="off"} 3`,
		"footfall_ingest_backlog_read_errors_total 2",
		`footfall_ingest_events_rejected_total{protocol="segment",reason="backpressure"} 5`,
		`footfall_ingest_events_rejected_total{protocol="ga4",reason="backpressure"} 5`,
	} {
		if !strings.Contains(metrics, line+"\n") {
			t.Errorf("/metrics lacks %q", line)
		}
	}
	// Only the accepted requests were published: 5 steps × 2 requests.
	if got := len(published(t, ps)); got != 10 {
		t.Errorf("%d events published, want 10", got)
	}
}

// HTTPBacklog reads what the local Pub/Sub emulator serves at /v1/backlog.
func TestHTTPBacklog(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("subscription") != "projects/p/subscriptions/s" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, `{"subscription":"projects/p/subscriptions/s","topic":"projects/p/topics/t","messages":1234,"outstanding":10,"oldest_unacked_age_seconds":42.5,"published":5000}`)
	}))
	defer srv.Close()
	tests := []struct {
		name    string
		url     string
		want    Backlog
		wantErr bool
	}{
		{"backlog", srv.URL + "/v1/backlog?subscription=projects/p/subscriptions/s", Backlog{Messages: 1234, OldestAgeSeconds: 42.5}, false},
		{"unknown subscription", srv.URL + "/v1/backlog?subscription=projects/p/subscriptions/x", Backlog{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := HTTPBacklog{URL: tc.url, Client: srv.Client()}.Backlog(context.Background())
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("got %+v, %v; want %+v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestBackpressureConfig(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    BackpressureConfig
		wantErr bool
	}{
		{"off by default", nil, BackpressureConfig{MaxAge: 3 * time.Minute, MaxMessages: 1000000, Poll: time.Second}, false},
		{"on", map[string]string{"BACKPRESSURE_BACKLOG_URL": "http://127.0.0.1:8087/v1/backlog", "BACKPRESSURE_MAX_AGE": "2m", "BACKPRESSURE_MAX_MESSAGES": "500000"},
			BackpressureConfig{URL: "http://127.0.0.1:8087/v1/backlog", MaxAge: 2 * time.Minute, MaxMessages: 500000, Poll: time.Second}, false},
		{"zero bound", map[string]string{"BACKPRESSURE_BACKLOG_URL": "http://x/", "BACKPRESSURE_MAX_MESSAGES": "0"}, BackpressureConfig{}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := LoadConfig(context.Background(), envconfig.MapLookuper(tc.env))
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if err == nil && c.Backpressure != tc.want {
				t.Errorf("got %+v, want %+v", c.Backpressure, tc.want)
			}
		})
	}
}
