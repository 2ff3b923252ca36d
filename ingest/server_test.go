package ingest

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2/pstest"
	json "github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"
	"google.golang.org/grpc/codes"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/keys"
)

func TestBatchPublishesEvents(t *testing.T) {
	s, ps := newTestServer(t, nil)
	body := `{"sentAt":"2026-11-01T11:59:58Z","batch":[
	 {"type":"track","event":"Order Completed","userId":42,"messageId":"m1","timestamp":"2026-11-01T11:30:00Z",
	  "properties":{"revenue":19.99,"currency":"usd"},"context":{"ip":"8.8.8.8","userAgent":"UA/1","sessionId":1730000000}},
	 {"type":"page","anonymousId":"a1","messageId":"m2","properties":{"url":"https://shop.example/pricing?utm_source=news&utm_campaign=nov"},
	  "context":{"page":{"referrer":"https://www.google.com/"}}}]}`
	r := do(t, s, request{path: "/v1/batch", auth: keys.DemoWriteKey, body: body})
	if r.status != 200 || r.json["success"] != true || r.json["accepted"] != 2.0 {
		t.Fatalf("status %d body %s, want 200 success accepted 2", r.status, r.raw)
	}
	got := byID(published(t, ps))
	if len(got) != 2 {
		t.Fatalf("published %d messages, want 2", len(got))
	}
	track := got["m1"]
	// Clock skew: received 12:00:00, sent 11:59:58 → +2 s.
	if want := time.Date(2026, 11, 1, 11, 30, 2, 0, time.UTC); !track.Time().Equal(want) {
		t.Errorf("event time %v, want %v (skew-corrected)", track.Time(), want)
	}
	if track.MerchantID != "demo" || track.Name != "Order Completed" || track.UserID != "42" || track.RevenueMinor != 1999 || track.Currency != "USD" || track.SessionID != "1730000000" {
		t.Errorf("track event = %+v", track)
	}
	if track.Country != "US" || track.UserAgent != "UA/1" {
		t.Errorf("enrichment: country %q user agent %q; want US, UA/1", track.Country, track.UserAgent)
	}
	if track.ReceiveTime != now.UnixMicro() || track.Source != event.SourceSegment {
		t.Errorf("receive time %d source %q; want %d segment", track.ReceiveTime, track.Source, now.UnixMicro())
	}
	page := got["m2"]
	if page.Type != event.TypePage || page.Name != event.NamePageView || page.PagePath != "/pricing" || page.UTMSource != "news" || page.UTMCampaign != "nov" || page.Referrer != "https://www.google.com/" {
		t.Errorf("page event = %+v", page)
	}
	if !page.Time().Equal(now) {
		t.Errorf("page without timestamp has event time %v, want the receive time %v", page.Time(), now)
	}
}

func TestSegmentEndpoints(t *testing.T) {
	tests := []struct {
		path, body       string
		wantType, wantNm string
	}{
		{"/v1/track", `{"event":"Signed Up","userId":"u1","messageId":"t1"}`, event.TypeTrack, "Signed Up"},
		{"/v1/page", `{"name":"Pricing","anonymousId":"a1","messageId":"p1","properties":{"url":"https://x.example/p"}}`, event.TypePage, event.NamePageView},
		{"/v1/screen", `{"name":"Home","anonymousId":"a1","messageId":"s1"}`, event.TypeScreen, event.NameScreenView},
		{"/v1/identify", `{"userId":"u1","traits":{"plan":"pro"},"messageId":"i1"}`, event.TypeIdentify, event.TypeIdentify},
		{"/v1/group", `{"userId":"u1","groupId":"g1","traits":{"name":"Acme"},"messageId":"g1"}`, event.TypeGroup, event.TypeGroup},
		{"/v1/alias", `{"userId":"u1","previousId":"a1","messageId":"al1"}`, event.TypeAlias, event.TypeAlias},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			s, ps := newTestServer(t, nil)
			r := do(t, s, request{path: tc.path, auth: keys.DemoWriteKey, body: tc.body})
			if r.status != 200 || r.json["success"] != true {
				t.Fatalf("status %d body %s", r.status, r.raw)
			}
			evs := published(t, ps)
			if len(evs) != 1 {
				t.Fatalf("published %d events, want 1", len(evs))
			}
			if e := evs[0]; e.Type != tc.wantType || e.Name != tc.wantNm || e.MerchantID != keys.DemoMerchant {
				t.Errorf("event type %q name %q merchant %q; want %q %q demo", e.Type, e.Name, e.MerchantID, tc.wantType, tc.wantNm)
			}
		})
	}
}

func TestSegmentAuthAndEncoding(t *testing.T) {
	msg := `{"type":"track","event":"x","userId":"u","messageId":"m"}`
	tests := []struct {
		name string
		req  request
	}{
		{"basic auth", request{path: "/v1/batch", auth: "wk-b", body: `{"batch":[` + msg + `]}`}},
		{"writeKey in the batch body", request{path: "/v1/batch", body: `{"writeKey":"wk-b","batch":[` + msg + `]}`}},
		{"writeKey in a single message", request{path: "/v1/track", body: `{"writeKey":"wk-b","event":"x","userId":"u","messageId":"m"}`}},
		{"gzip batch", request{path: "/v1/batch", auth: "wk-b", gzip: true, body: `{"batch":[` + msg + `]}`}},
		{"gzip single", request{path: "/v1/track", auth: "wk-b", gzip: true, body: msg}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ps := newTestServer(t, nil)
			r := do(t, s, tc.req)
			if r.status != 200 {
				t.Fatalf("status %d body %s, want 200", r.status, r.raw)
			}
			evs := published(t, ps)
			if len(evs) != 1 || evs[0].MerchantID != "shop-b" || evs[0].ID != "m" {
				t.Fatalf("published %+v, want one event m of shop-b", evs)
			}
		})
	}
}

func TestBatchErrors(t *testing.T) {
	s, ps := newTestServer(t, nil)
	ok := `{"type":"track","event":"x","userId":"u"}`
	bigProps := `{"p":"` + strings.Repeat("a", 33<<10) + `"}`
	bomb := `{"batch":[{"type":"track","event":"x","userId":"u","properties":{"p":"` + strings.Repeat("z", 5<<20) + `"}}]}`

	tests := []struct {
		name       string
		req        request
		wantStatus int
		wantField  string // errors[0].field, when the answer lists messages
		wantIn     string // substring of the answer
	}{
		{"unknown key", request{auth: "nope", body: `{"batch":[` + ok + `]}`}, 401, "", "write key"},
		{"no auth", request{body: `{"batch":[` + ok + `]}`}, 401, "", "write key"},
		{"unknown writeKey in body", request{body: `{"writeKey":"nope","batch":[` + ok + `]}`}, 401, "", "write key"},
		{"bearer instead of basic", request{body: `{"batch":[` + ok + `]}`, headers: map[string]string{"Authorization": "Bearer " + keys.DemoWriteKey}}, 401, "", "Basic"},
		{"malformed json", request{auth: keys.DemoWriteKey, body: `{"batch":[`}, 400, "", "Segment batch"},
		{"batch not an array", request{auth: keys.DemoWriteKey, body: `{"batch":{"type":"track"}}`}, 400, "", "Segment batch"},
		{"empty batch", request{auth: keys.DemoWriteKey, body: `{"batch":[]}`}, 400, "", "empty"},
		{"message not an object", request{auth: keys.DemoWriteKey, body: `{"batch":[42]}`}, 400, "batch[0]", "object"},
		{"missing event name", request{auth: keys.DemoWriteKey, body: `{"batch":[{"type":"track","userId":"u"}]}`}, 400, "batch[0].event", "required"},
		{"wrong type of field", request{auth: keys.DemoWriteKey, body: `{"batch":[{"type":"track","event":5,"userId":"u"}]}`}, 400, "batch[0].event", "string"},
		{"wrong type of userId", request{auth: keys.DemoWriteKey, body: `{"batch":[{"type":"track","event":"x","userId":{"a":1}}]}`}, 400, "batch[0].userId", ""},
		{"properties not an object", request{auth: keys.DemoWriteKey, body: `{"batch":[{"type":"track","event":"x","userId":"u","properties":[1]}]}`}, 400, "batch[0].properties", "object"},
		{"unknown message type", request{auth: keys.DemoWriteKey, body: `{"batch":[{"type":"click","userId":"u"}]}`}, 400, "batch[0].type", "not a Segment message type"},
		{"no user", request{auth: keys.DemoWriteKey, body: `{"batch":[{"type":"track","event":"x"}]}`}, 400, "batch[0].userId", ""},
		{"alias without previousId", request{auth: keys.DemoWriteKey, body: `{"batch":[{"type":"alias","userId":"u"}]}`}, 400, "batch[0].previousId", ""},
		{"group without groupId", request{auth: keys.DemoWriteKey, body: `{"batch":[{"type":"group","userId":"u"}]}`}, 400, "batch[0].groupId", ""},
		{"messageId too long", request{auth: keys.DemoWriteKey, body: `{"batch":[{"type":"track","event":"x","userId":"u","messageId":"` + strings.Repeat("m", 129) + `"}]}`}, 400, "batch[0].messageId", ""},
		{"too old", request{auth: keys.DemoWriteKey, body: `{"batch":[{"type":"track","event":"x","userId":"u","timestamp":"2026-10-29T11:00:00Z"}]}`}, 400, "batch[0].timestamp", "past"},
		{"future", request{auth: keys.DemoWriteKey, body: `{"batch":[{"type":"track","event":"x","userId":"u","timestamp":"2026-11-01T12:11:00Z"}]}`}, 400, "batch[0].timestamp", "future"},
		{"bad timestamp", request{auth: keys.DemoWriteKey, body: `{"batch":[{"type":"track","event":"x","userId":"u","timestamp":"yesterday"}]}`}, 400, "batch[0].timestamp", "ISO 8601"},
		{"bad sentAt", request{auth: keys.DemoWriteKey, body: `{"batch":[{"type":"track","event":"x","userId":"u","timestamp":"2026-11-01T11:00:00Z","sentAt":"soon"}]}`}, 400, "batch[0].sentAt", ""},
		{"oversized message", request{auth: keys.DemoWriteKey, body: `{"batch":[{"type":"track","event":"x","userId":"u","properties":` + bigProps + `}]}`}, 400, "batch[0]", "limit"},
		{"oversized single message", request{path: "/v1/track", auth: keys.DemoWriteKey, body: `{"event":"x","userId":"u","properties":` + bigProps + `}`}, 413, "", "32768"},
		{"gzip bomb", request{auth: keys.DemoWriteKey, body: bomb, gzip: true}, 413, "", "after decompression"},
		{"not gzip", request{auth: keys.DemoWriteKey, body: `{"batch":[]}`, headers: map[string]string{"Content-Encoding": "gzip"}}, 400, "", "gzip"},
		{"unsupported encoding", request{auth: keys.DemoWriteKey, body: `{"batch":[]}`, headers: map[string]string{"Content-Encoding": "br"}}, 415, "", "not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.req.path == "" {
				tc.req.path = "/v1/batch"
			}
			r := do(t, s, tc.req)
			if r.status != tc.wantStatus {
				t.Fatalf("status %d, want %d (body %s)", r.status, tc.wantStatus, r.raw)
			}
			if r.json["success"] != false {
				t.Errorf("success = %v, want false", r.json["success"])
			}
			if !strings.Contains(string(r.raw), tc.wantIn) {
				t.Errorf("answer %s does not mention %q", r.raw, tc.wantIn)
			}
			if tc.wantField != "" {
				if f := firstError(t, r)["field"]; f != tc.wantField {
					t.Errorf("errors[0].field = %v, want %q (%s)", f, tc.wantField, r.raw)
				}
			}
		})
	}
	if n := len(ps.Messages()); n != 0 {
		t.Errorf("rejected requests published %d messages", n)
	}
	if len(bomb) < 5<<20 || len(gzipped(t, bomb)) > 100<<10 {
		t.Fatalf("the bomb is not a bomb: %d bytes, %d compressed", len(bomb), len(gzipped(t, bomb)))
	}
}

// TestOversizedBatch runs over a real socket: the wire limit is enforced by
// the HTTP server before any handler runs.
func TestOversizedBatch(t *testing.T) {
	s, ps := newTestServer(t, nil)
	base, _ := serve(t, s)
	// The server answers 413 from Content-Length alone and closes the
	// connection without reading the body (a client still writing it may
	// see a reset instead of the answer), so send the headers only.
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	auth := base64.StdEncoding.EncodeToString([]byte(keys.DemoWriteKey + ":"))
	fmt.Fprintf(conn, "POST /v1/batch HTTP/1.1\r\nHost: ingest\r\nAuthorization: Basic %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", auth, 600<<10)
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 413 || !strings.Contains(string(b), "512000-byte limit") {
		t.Errorf("status %d body %s; want 413 naming the limit", resp.StatusCode, b)
	}
	if n := len(ps.Messages()); n != 0 {
		t.Errorf("%d messages published", n)
	}
}

func TestPartialBatchAcceptsValidMessages(t *testing.T) {
	s, ps := newTestServer(t, nil)
	body := `{"batch":[
		{"type":"track","event":"a","userId":"u","messageId":"ok-0"},
		{"type":"track","userId":"u","messageId":"bad-1"},
		{"type":"page","anonymousId":"v","messageId":"ok-2"},
		{"type":"track","event":"x","userId":"u","messageId":"bad-3","timestamp":"2020-01-01T00:00:00Z"}]}`
	r := do(t, s, request{path: "/v1/batch", auth: keys.DemoWriteKey, body: body})
	if r.status != 400 || r.json["accepted"] != 2.0 {
		t.Fatalf("status %d body %s; want 400 with accepted 2", r.status, r.raw)
	}
	var out struct {
		Errors []MessageError `json:"errors"`
	}
	if err := json.Unmarshal(r.raw, &out); err != nil {
		t.Fatal(err)
	}
	want := []MessageError{
		{Index: 1, MessageID: "bad-1", Field: "batch[1].event"},
		{Index: 3, MessageID: "bad-3", Field: "batch[3].timestamp"},
	}
	if len(out.Errors) != len(want) {
		t.Fatalf("errors %+v, want %d", out.Errors, len(want))
	}
	for i, w := range want {
		g := out.Errors[i]
		if g.Index != w.Index || g.MessageID != w.MessageID || g.Field != w.Field || g.Message == "" {
			t.Errorf("errors[%d] = %+v, want %+v with a message", i, g, w)
		}
	}
	var ids []string
	for _, e := range published(t, ps) {
		ids = append(ids, e.ID)
	}
	if got := strings.Join(ids, ","); got != "ok-0,ok-2" {
		t.Errorf("published %s, want ok-0,ok-2", got)
	}
}

func TestMissingMessageIDGetsTimeOrderedID(t *testing.T) {
	s, ps := newTestServer(t, nil)
	r := do(t, s, request{path: "/v1/batch", auth: keys.DemoWriteKey, body: `{"batch":[{"type":"track","event":"a","userId":"u"},{"type":"track","event":"b","userId":"u"}]}`})
	if r.status != 200 {
		t.Fatalf("status %d body %s", r.status, r.raw)
	}
	evs := published(t, ps)
	if len(evs) != 2 || len(evs[0].ID) != 26 || evs[0].ID == evs[1].ID {
		t.Fatalf("events %+v; want two distinct 26-character ULIDs", evs)
	}
	// ULIDs sort by creation: the first message's id sorts first.
	if evs[0].Name != "a" {
		t.Errorf("ids not time-ordered: %s (%s) sorts before %s (%s)", evs[0].ID, evs[0].Name, evs[1].ID, evs[1].Name)
	}
}

func TestRateLimitIsPerMerchant(t *testing.T) {
	s, ps := newTestServer(t, nil, func(c *Config) { c.RateLimit, c.RateBurst = 1, 5 })
	batch := func(n int) string {
		var msgs []string
		for i := 0; i < n; i++ {
			msgs = append(msgs, `{"type":"track","event":"x","userId":"u"}`)
		}
		return `{"batch":[` + strings.Join(msgs, ",") + `]}`
	}
	// shop-a: its own limit from the key file, 1/s burst 10. The clock is
	// frozen, so the bucket never refills during the test.
	steps := []struct {
		name       string
		auth       string
		events     int
		wantStatus int
	}{
		{"shop-a uses its burst", "wk-a", 10, 200},
		{"shop-a is over its limit", "wk-a", 1, 429},
		{"shop-b is unaffected (default limit, burst 5)", "wk-b", 5, 200},
		{"shop-b is over the default", "wk-b", 1, 429},
		{"demo is unaffected", keys.DemoWriteKey, 3, 200},
	}
	for _, st := range steps {
		r := do(t, s, request{path: "/v1/batch", auth: st.auth, body: batch(st.events)})
		if r.status != st.wantStatus {
			t.Fatalf("%s: status %d, want %d (%s)", st.name, r.status, st.wantStatus, r.raw)
		}
		if st.wantStatus == 429 {
			if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
				t.Errorf("%s: Retry-After %q, want a positive number of seconds", st.name, ra)
			}
		}
	}
	if got, want := len(ps.Messages()), 10+5+3; got != want {
		t.Errorf("published %d events, want %d (nothing from the 429s)", got, want)
	}
	// After a second, shop-a may send one more event.
	s.now = func() time.Time { return now.Add(1100 * time.Millisecond) }
	if r := do(t, s, request{path: "/v1/batch", auth: "wk-a", body: batch(1)}); r.status != 200 {
		t.Errorf("after the bucket refilled: status %d (%s)", r.status, r.raw)
	}
}

func TestBatchAnswers503WhenPubSubFails(t *testing.T) {
	s, ps := newTestServer(t, []pstest.ServerReactorOption{pstest.WithErrorInjection("Publish", codes.Unavailable, "injected outage")},
		func(c *Config) { c.PublishTimeout = 2 * time.Second })
	many := strings.TrimSuffix(strings.Repeat(`{"type":"track","event":"x","userId":"u"},`, 50), ",")
	for _, path := range []string{"/v1/batch", "/v1/batch (50 events: one Publish RPC)", "/mp/collect"} {
		t.Run(path, func(t *testing.T) {
			req := request{path: "/v1/batch", auth: keys.DemoWriteKey, body: `{"batch":[{"type":"track","event":"x","userId":"u"}]}`}
			if strings.Contains(path, "50 events") {
				req.body = `{"batch":[` + many + `]}`
			}
			if path == "/mp/collect" {
				req = request{path: mpPath(keys.DemoWriteKey, keys.DemoAPISecret), body: `{"client_id":"c","events":[{"name":"x"}]}`}
			}
			r := do(t, s, req)
			if r.status != http.StatusServiceUnavailable {
				t.Fatalf("status %d, want 503 (%s)", r.status, r.raw)
			}
			if r.header.Get("Retry-After") != "2" {
				t.Errorf("Retry-After %q, want 2", r.header.Get("Retry-After"))
			}
		})
	}
	if n := len(ps.Messages()); n != 0 {
		t.Errorf("%d messages stored despite the failure", n)
	}
}

func TestRequestID(t *testing.T) {
	s, _ := newTestServer(t, nil)
	tests := []struct {
		name, sent string
		echoed     bool
	}{
		{"honoured", "req-123.abc", true},
		{"generated when absent", "", false},
		{"replaced when unsafe", "bad id\n", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{}
			if tc.sent != "" {
				h["X-Request-Id"] = tc.sent
			}
			r := do(t, s, request{path: "/v1/batch", auth: "nope", body: `{"batch":[]}`, headers: h})
			got := r.header.Get("X-Request-Id")
			if tc.echoed && got != tc.sent {
				t.Errorf("X-Request-Id %q, want %q echoed", got, tc.sent)
			}
			if !tc.echoed && (got == "" || got == tc.sent) {
				t.Errorf("X-Request-Id %q, want a generated id", got)
			}
		})
	}
}

func TestUnknownRoute(t *testing.T) {
	s, _ := newTestServer(t, nil)
	r := do(t, s, request{path: "/v2/batch", body: `{}`})
	if r.status != 404 || !strings.Contains(string(r.raw), "no such endpoint") {
		t.Errorf("status %d body %s; want 404 naming the endpoint", r.status, r.raw)
	}
}

func TestMetricsCountAcceptedAndRejected(t *testing.T) {
	s, _ := newTestServer(t, nil)
	do(t, s, request{path: "/v1/batch", auth: keys.DemoWriteKey, body: `{"batch":[{"type":"track","event":"x","userId":"u"},{"type":"track","userId":"u"},{"type":"page","userId":"u"}]}`})
	do(t, s, request{path: "/v1/batch", auth: "nope", body: `{"batch":[]}`})
	body := getFrom(t, s.OpsApp(), "/metrics")
	for _, want := range []string{
		`footfall_ingest_events_accepted_total{protocol="segment"} 2`,
		`footfall_ingest_events_rejected_total{protocol="segment",reason="invalid"} 1`,
		`footfall_ingest_requests_rejected_total{reason="unauthorized"} 1`,
		`footfall_ingest_requests_total{code="401",route="/v1/batch"} 1`,
		`footfall_ingest_batch_events_count 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if strings.Contains(body, "demo") {
		t.Error("/metrics mentions a merchant id; labels must stay bounded")
	}
}

func getBody(t testing.TB, s *Server, path string) string {
	t.Helper()
	return getFrom(t, s.App(), path)
}

// getFrom GETs path from app (the public App or the OpsApp).
func getFrom(t testing.TB, app *fiber.App, path string) string {
	t.Helper()
	resp, err := app.Test(httptest.NewRequest(http.MethodGet, path, nil), 5000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFromPageURL(t *testing.T) {
	tests := []struct {
		url, path, src, med, camp string
	}{
		{"https://shop.example/a/b?x=1", "/a/b", "", "", ""},
		{"https://shop.example", "/", "", "", ""},
		// The path as sent (the pipeline decodes it, keeping %2F: a%2Fb and
		// a/b are two pages); the campaign values decoded.
		{"https://shop.example/caf%C3%A9?utm_source=news%20letter&utm_medium=email#top", "/caf%C3%A9", "news letter", "email", ""},
		{"https://shop.example/a%2Fb", "/a%2Fb", "", "", ""},
		{"https://shop.example/p?utm_campaign=bf&utm_source=g&utm_source=ignored", "/p", "g", "", "bf"},
		{"/relative/path?utm_source=x", "/relative/path", "x", "", ""},
		{"https://shop.example/p#frag?utm_source=no", "/p", "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			e := &event.Event{PageURL: tc.url}
			fromPageURL(e)
			if e.PagePath != tc.path || e.UTMSource != tc.src || e.UTMMedium != tc.med || e.UTMCampaign != tc.camp {
				t.Errorf("path %q source %q medium %q campaign %q; want %q %q %q %q", e.PagePath, e.UTMSource, e.UTMMedium, e.UTMCampaign, tc.path, tc.src, tc.med, tc.camp)
			}
		})
	}
}

// TestLargeBatchIsPublishedInChunks: more events than one Publish RPC may
// carry (1,000) all arrive, each once.
func TestLargeBatchIsPublishedInChunks(t *testing.T) {
	s, ps := newTestServer(t, nil)
	const n = 2500
	msgs := make([]string, n)
	for i := range msgs {
		msgs[i] = fmt.Sprintf(`{"type":"track","event":"e","userId":"u","messageId":"m%d"}`, i)
	}
	r := do(t, s, request{path: "/v1/batch", auth: keys.DemoWriteKey, body: `{"batch":[` + strings.Join(msgs, ",") + `]}`})
	if r.status != 200 || r.json["accepted"] != float64(n) {
		t.Fatalf("status %d body %.300s", r.status, r.raw)
	}
	seen := map[string]int{}
	for _, e := range published(t, ps) {
		seen[e.ID]++
	}
	for i := 0; i < n; i++ {
		if id := fmt.Sprintf("m%d", i); seen[id] != 1 {
			t.Fatalf("event %s published %d times, want once", id, seen[id])
		}
	}
}
