package ingest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	json "github.com/goccy/go-json"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/keys"
	"github.com/footfall/footfall/internal/testenv"
)

var now = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// testConfig is a valid configuration for tests.
func testConfig() Config {
	return Config{PubSubProject: "p", PubSubTopic: "events", Publisher: PublisherPubSub,
		MaxEventAge: 72 * time.Hour, MaxFutureSkew: 10 * time.Minute, PublishTimeout: 5 * time.Second, RetryAfter: 2,
		RateLimit: 1e6, RateBurst: 1e6, ProxyHeader: "X-Forwarded-For", ShutdownTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
		AuthFailuresPerMinute: 10, AuthFailureBurst: 20}
}

// testKeys has the demo merchant and two more, "shop-a" (a tight rate
// limit of its own) and "shop-b" (purchase and refund events configured).
func testKeys(t testing.TB) *keys.Set {
	t.Helper()
	f := keys.DemoFile()
	f.Merchants = append(f.Merchants,
		keys.Merchant{ID: "shop-a", WriteKeys: []string{"wk-a"}, APISecrets: []string{"sec-a"}, RateLimit: &keys.Limit{EventsPerSecond: 1, Burst: 10}},
		keys.Merchant{ID: "shop-b", WriteKeys: []string{"wk-b"}, APISecrets: []string{"sec-b"},
			PurchaseEvents: []string{"Order Completed", "purchase"}, RefundEvents: []string{"Order Refunded", "refund"}},
	)
	ks, err := keys.NewSet(f)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

type serverOpt func(*Config)

// newTestServer runs ingest against an in-process Pub/Sub emulator with a
// fixed clock (now).
func newTestServer(t testing.TB, psOpts []pstest.ServerReactorOption, opts ...serverOpt) (*Server, *pstest.Server) {
	t.Helper()
	ps := testenv.PubSub(t, psOpts...)
	ctx := context.Background()
	pub, err := NewPubSub(ctx, "p", "events")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	if _, err := pub.client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: "projects/p/topics/events"}); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := NewServer(cfg, testKeys(t), pub, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv.now = func() time.Time { return now }
	return srv, ps
}

type request struct {
	path    string
	auth    string // Basic user name; "" for none
	body    string
	gzip    bool
	headers map[string]string
}

type response struct {
	status int
	header http.Header
	raw    []byte
	json   map[string]any
}

func do(t testing.TB, s *Server, r request) response {
	t.Helper()
	var body io.Reader = strings.NewReader(r.body)
	if r.gzip {
		body = bytes.NewReader(gzipped(t, r.body))
	}
	req := httptest.NewRequest(http.MethodPost, r.path, body)
	req.Header.Set("Content-Type", "application/json")
	if r.gzip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if r.auth != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(r.auth+":")))
	}
	for k, v := range r.headers {
		req.Header.Set(k, v)
	}
	resp, err := s.App().Test(req, 20_000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := response{status: resp.StatusCode, header: resp.Header}
	out.raw, _ = io.ReadAll(resp.Body)
	if len(out.raw) > 0 {
		if err := json.Unmarshal(out.raw, &out.json); err != nil {
			t.Fatalf("response %q is not JSON: %v", out.raw, err)
		}
	}
	return out
}

func gzipped(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// published decodes every message in the emulator, checking its attributes.
func published(t testing.TB, ps *pstest.Server) []event.Event {
	t.Helper()
	var out []event.Event
	for _, m := range ps.Messages() {
		e, err := event.Decode(m.Data)
		if err != nil {
			t.Fatalf("published message does not decode: %v", err)
		}
		if m.Attributes[event.AttrEventID] != e.ID || m.Attributes[event.AttrMerchantID] != e.MerchantID || m.Attributes[event.AttrSchema] != event.SchemaVersion {
			t.Errorf("attributes %v do not match event %s", m.Attributes, e.ID)
		}
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func byID(evs []event.Event) map[string]event.Event {
	m := map[string]event.Event{}
	for _, e := range evs {
		m[e.ID] = e
	}
	return m
}

// firstError returns the errors[0] object of a Segment error answer.
func firstError(t testing.TB, r response) map[string]any {
	t.Helper()
	errs, _ := r.json["errors"].([]any)
	if len(errs) == 0 {
		t.Fatalf("no per-message errors in %s", r.raw)
	}
	return errs[0].(map[string]any)
}
