package ingest

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"cloud.google.com/go/pubsub/v2/pstest"
	json "github.com/goccy/go-json"
	"google.golang.org/grpc/codes"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/keys"
	"github.com/footfall/footfall/internal/testenv"
)

var now = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// newTestServer runs ingest against an in-process Pub/Sub emulator.
func newTestServer(t *testing.T, opts ...pstest.ServerReactorOption) (*Server, *pstest.Server) {
	t.Helper()
	ps := testenv.PubSub(t, opts...)
	ctx := context.Background()
	pub, err := NewPubSub(ctx, "p", "events")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	if _, err := pub.client.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: "projects/p/topics/events"}); err != nil {
		t.Fatal(err)
	}
	cfg := Config{PubSubProject: "p", PubSubTopic: "events", MaxEventAge: 72 * time.Hour, MaxFutureSkew: 10 * time.Minute, PublishTimeout: time.Second, RetryAfter: 2}
	srv, err := NewServer(cfg, keys.Demo(), pub, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv.now = func() time.Time { return now }
	return srv, ps
}

func post(t *testing.T, s *Server, path, auth, body string) (*http.Response, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(auth+":")))
	}
	resp, err := s.App().Test(req, 10_000)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("response %q is not JSON: %v", b, err)
	}
	return resp, out
}

func TestBatchPublishesEvents(t *testing.T) {
	s, ps := newTestServer(t)
	body := `{"sentAt":"2026-11-01T11:59:58Z","batch":[
	 {"type":"track","event":"Order Completed","userId":42,"messageId":"m1","timestamp":"2026-11-01T11:30:00Z",
	  "properties":{"revenue":19.99,"currency":"usd"},"context":{"ip":"8.8.8.8","userAgent":"UA/1"}},
	 {"type":"page","anonymousId":"a1","messageId":"m2","properties":{"url":"https://shop.example/pricing?utm_source=news&utm_campaign=nov"},
	  "context":{"page":{"referrer":"https://www.google.com/"}}}]}`
	resp, out := post(t, s, "/v1/batch", keys.DemoWriteKey, body)
	if resp.StatusCode != 200 || out["success"] != true {
		t.Fatalf("status %d body %v, want 200 success", resp.StatusCode, out)
	}
	msgs := ps.Messages()
	if len(msgs) != 2 {
		t.Fatalf("published %d messages, want 2", len(msgs))
	}
	got := map[string]event.Event{}
	for _, m := range msgs {
		e, err := event.Decode(m.Data)
		if err != nil {
			t.Fatal(err)
		}
		if m.Attributes[event.AttrEventID] != e.ID || m.Attributes[event.AttrMerchantID] != "demo" {
			t.Errorf("attributes %v do not match event %s", m.Attributes, e.ID)
		}
		got[e.ID] = e
	}
	track := got["m1"]
	// Clock skew: received 12:00:00, sent 11:59:58 → +2 s.
	if want := time.Date(2026, 11, 1, 11, 30, 2, 0, time.UTC); !track.Time().Equal(want) {
		t.Errorf("event time %v, want %v (skew-corrected)", track.Time(), want)
	}
	if track.Name != "Order Completed" || track.UserID != "42" || track.RevenueMinor != 1999 || track.Currency != "USD" {
		t.Errorf("track event = %+v", track)
	}
	if track.Country != "US" || track.UserAgent != "UA/1" {
		t.Errorf("enrichment: country %q user agent %q; want US, UA/1", track.Country, track.UserAgent)
	}
	page := got["m2"]
	if page.Name != event.NamePageView || page.PagePath != "/pricing" || page.UTMSource != "news" || page.UTMCampaign != "nov" || page.Referrer != "https://www.google.com/" {
		t.Errorf("page event = %+v", page)
	}
	if !page.Time().Equal(now) {
		t.Errorf("page without timestamp has event time %v, want the receive time %v", page.Time(), now)
	}
}

func TestBatchErrors(t *testing.T) {
	s, ps := newTestServer(t)
	tests := []struct {
		name, auth, body string
		wantStatus       int
		wantField        string // of errors[0]
		wantIn           string // substring of error
	}{
		{"unknown key", "nope", `{"batch":[{"type":"track","event":"x","userId":"u"}]}`, 401, "", "write key"},
		{"no auth", "", `{"batch":[{"type":"track","event":"x","userId":"u"}]}`, 401, "", "write key"},
		{"malformed json", keys.DemoWriteKey, `{"batch":[`, 400, "", "Segment batch"},
		{"empty batch", keys.DemoWriteKey, `{"batch":[]}`, 400, "", "empty"},
		{"missing event name", keys.DemoWriteKey, `{"batch":[{"type":"track","userId":"u"}]}`, 400, "batch[0].event", "invalid"},
		{"wrong type", keys.DemoWriteKey, `{"batch":[{"type":"track","event":"x","userId":"u"},{"type":"track","event":5,"userId":"u"}]}`, 400, "batch[1].event", "1 of 2"},
		{"unknown message type", keys.DemoWriteKey, `{"batch":[{"type":"click","userId":"u"}]}`, 400, "batch[0].type", ""},
		{"no user", keys.DemoWriteKey, `{"batch":[{"type":"track","event":"x"}]}`, 400, "batch[0].userId", ""},
		{"too old", keys.DemoWriteKey, `{"batch":[{"type":"track","event":"x","userId":"u","timestamp":"2026-10-01T00:00:00Z"}]}`, 400, "batch[0].timestamp", ""},
		{"future", keys.DemoWriteKey, `{"batch":[{"type":"track","event":"x","userId":"u","timestamp":"2026-11-02T00:00:00Z"}]}`, 400, "batch[0].timestamp", ""},
		{"bad timestamp", keys.DemoWriteKey, `{"batch":[{"type":"track","event":"x","userId":"u","timestamp":"yesterday"}]}`, 400, "batch[0].timestamp", ""},
		{"bad currency", keys.DemoWriteKey, `{"batch":[{"type":"track","event":"x","userId":"u","properties":{"revenue":"1.5","currency":"XXZ"}}]}`, 400, "batch[0].properties.revenue", ""},
		{"oversized message", keys.DemoWriteKey, `{"batch":[{"type":"track","event":"x","userId":"u","properties":{"p":"` + strings.Repeat("a", 33<<10) + `"}}]}`, 400, "batch[0]", "limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, out := post(t, s, "/v1/batch", tc.auth, tc.body)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d (body %v)", resp.StatusCode, tc.wantStatus, out)
			}
			whole, _ := json.Marshal(out)
			if !strings.Contains(string(whole), tc.wantIn) {
				t.Errorf("answer %s does not mention %q", whole, tc.wantIn)
			}
			if tc.wantField != "" {
				errs, _ := out["errors"].([]any)
				if len(errs) == 0 {
					t.Fatalf("no per-message errors in %v", out)
				}
				if f := errs[0].(map[string]any)["field"]; f != tc.wantField {
					t.Errorf("errors[0].field = %v, want %q (%v)", f, tc.wantField, errs[0])
				}
			}
		})
	}
	if n := len(ps.Messages()); n != 0 {
		t.Errorf("rejected requests published %d messages", n)
	}
}

func TestBatchAnswers503WhenPubSubFails(t *testing.T) {
	s, ps := newTestServer(t, pstest.WithErrorInjection("Publish", codes.Unavailable, "injected outage"))
	resp, out := post(t, s, "/v1/batch", keys.DemoWriteKey, `{"batch":[{"type":"track","event":"x","userId":"u"}]}`)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503 (%v)", resp.StatusCode, out)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if n := len(ps.Messages()); n != 0 {
		t.Errorf("%d messages stored despite the failure", n)
	}
}

func TestToMinorUnits(t *testing.T) {
	tests := []struct {
		amount, cur string
		want        int64
		wantErr     bool
	}{
		{"19.99", "USD", 1999, false},
		{"0.1", "USD", 10, false},
		{"1234", "JPY", 1234, false},
		{"19.5", "JPY", 20, false},
		{"1.2345", "BHD", 1235, false},
		{"-5.25", "EUR", -525, false},
		{"0.005", "USD", 1, false},
		{"abc", "USD", 0, true},
		{"1", "ZZZ", 0, true},
		{"1e30", "USD", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.amount+tc.cur, func(t *testing.T) {
			got, err := toMinorUnits(tc.amount, tc.cur)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("toMinorUnits(%q, %q) = %d, %v; want %d, error %v", tc.amount, tc.cur, got, err, tc.want, tc.wantErr)
			}
		})
	}
}
