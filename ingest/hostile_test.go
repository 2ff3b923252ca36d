package ingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/keys"
)

// Tests for the holes of issue 19 (hostile input and abuse) and the ingest
// parts of issue 16 (revenue, event contract, GA4 retries). Each fails on
// the code before the fix.

// allocBytes is how many bytes f allocates (a measure of work that a busy
// machine cannot distort, unlike wall-clock time).
func allocBytes(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestHugeExponentCostsNothing (19.1): an amount such as 1e999999 used to
// be expanded by big.Rat (a million-digit number, tens of milliseconds)
// before it was refused. Now its exponent is bounded first.
func TestHugeExponentCostsNothing(t *testing.T) {
	if n := allocBytes(func() { _, _, _ = toMinorUnits("1e999999", "USD") }); n > 16<<10 {
		t.Errorf("toMinorUnits(1e999999) allocated %d bytes; it must be refused before any arithmetic", n)
	}
	// Through the whole handler: 25 such amounts in one GA4 request to the
	// debug endpoint, which needs no valid credentials.
	pub := &countingPublisher{Publisher: Noop{}}
	s, err := NewServer(testConfig(), testKeys(t), pub, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return now }
	ev := `{"name":"purchase","params":{"value":"1e999999","currency":"USD"}}`
	body := `{"client_id":"c","events":[` + strings.TrimSuffix(strings.Repeat(ev+",", 25), ",") + `]}`
	var r response
	if n := allocBytes(func() { r = do(t, s, request{path: "/debug" + mpPath("nope", "nope"), body: body}) }); n > 4<<20 {
		t.Errorf("a request with 25 huge exponents allocated %d bytes", n)
	}
	if r.status != 200 || !strings.Contains(string(r.raw), "exponent") {
		t.Errorf("status %d body %.300s; want 200 with messages about the exponent", r.status, r.raw)
	}
}

func nestedProps(depth int) string {
	return strings.Repeat(`{"a":`, depth-1) + `{"x":1}` + strings.Repeat(`}`, depth-1)
}

// TestDepthNumbersAndIDLimits (19.2, 19.3): nesting, numbers and id lengths
// are capped per message, each with an error naming the field; a message
// at each limit is accepted.
func TestDepthNumbersAndIDLimits(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name      string
		msg       string
		wantField string // "" = accepted
		wantIn    string
	}{
		{"properties at the depth limit", `{"type":"track","event":"x","userId":"u","properties":` + nestedProps(event.MaxJSONDepth) + `}`, "", ""},
		{"properties one level too deep", `{"type":"track","event":"x","userId":"u","properties":` + nestedProps(event.MaxJSONDepth+1) + `}`,
			"batch[0].properties" + strings.Repeat(".a", event.MaxJSONDepth-1) + ".a", "nest"},
		{"9,000 levels of traits", `{"type":"identify","userId":"u","traits":{"t":` + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + `}}`,
			"batch[0].traits.t" + strings.Repeat("[0]", event.MaxJSONDepth-1), "nest"},
		{"number out of range", `{"type":"track","event":"x","userId":"u","properties":{"items":[{"price":1e400}]}}`, "batch[0].properties.items[0].price", "out of range"},
		{"revenue number out of range", `{"type":"track","event":"x","userId":"u","properties":{"revenue":1e999999}}`, "batch[0].properties.revenue", "out of range"},
		{"number too long", `{"type":"track","event":"x","userId":"u","properties":{"n":0.` + strings.Repeat("1", 70) + `}}`, "batch[0].properties.n", "characters long"},
		{"longest ids", fmt.Sprintf(`{"type":"track","event":"x","messageId":%q,"anonymousId":%q,"userId":%q,"context":{"sessionId":%q},"properties":{"order_id":%q}}`,
			long(event.MaxIDLen), long(event.MaxVisitorIDLen), long(event.MaxVisitorIDLen), long(event.MaxSessionIDLen), long(event.MaxTransactionIDLen)), "", ""},
		{"anonymousId too long", `{"type":"track","event":"x","anonymousId":"` + long(event.MaxVisitorIDLen+1) + `"}`, "batch[0].anonymousId", "limit is 256"},
		{"userId too long", `{"type":"track","event":"x","userId":"` + long(event.MaxVisitorIDLen+1) + `"}`, "batch[0].userId", "limit"},
		{"numeric userId too long", `{"type":"track","event":"x","userId":` + strings.Repeat("9", 60) + `}`, "", ""},
		{"sessionId too long", `{"type":"track","event":"x","userId":"u","context":{"sessionId":"` + long(event.MaxSessionIDLen+1) + `"}}`, "batch[0].context.sessionId", "limit is 128"},
		{"messageId too long", `{"type":"track","event":"x","userId":"u","messageId":"` + long(event.MaxIDLen+1) + `"}`, "batch[0].messageId", "limit is 128"},
		{"order_id too long", `{"type":"track","event":"x","userId":"u","properties":{"order_id":"` + long(event.MaxTransactionIDLen+1) + `"}}`, "batch[0].properties.order_id", "limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ps := newTestServer(t, nil)
			r := do(t, s, request{path: "/v1/batch", auth: keys.DemoWriteKey, body: `{"batch":[` + tc.msg + `]}`})
			if tc.wantField == "" {
				if r.status != 200 || len(published(t, ps)) != 1 {
					t.Fatalf("status %d (%.300s), want 200 and one event", r.status, r.raw)
				}
				return
			}
			if r.status != 400 {
				t.Fatalf("status %d (%.300s), want 400", r.status, r.raw)
			}
			e := firstError(t, r)
			if e["field"] != tc.wantField || !strings.Contains(e["message"].(string), tc.wantIn) {
				t.Errorf("error %v; want field %q and a message containing %q", e, tc.wantField, tc.wantIn)
			}
			if n := len(ps.Messages()); n != 0 {
				t.Errorf("%d events published", n)
			}
		})
	}
}

// TestGA4DepthNumbersAndIDLimits (19.2, 19.3) for the Measurement Protocol.
func TestGA4DepthNumbersAndIDLimits(t *testing.T) {
	deepItem := `{"item_id":"1","x":` + strings.Repeat("[", event.MaxJSONDepth) + strings.Repeat("]", event.MaxJSONDepth) + `}`
	tests := []struct {
		name     string
		body     string
		wantPath string // "" = accepted
		wantCode string
	}{
		{"items deeper than the limit", `{"client_id":"c","events":[{"name":"purchase","params":{"items":[` + deepItem + `]}}]}`,
			"events[0].params.items[0].x" + strings.Repeat("[0]", event.MaxJSONDepth-3), codeValueOutOfBounds},
		{"10,000 levels", `{"client_id":"c","events":[{"name":"e","params":{"items":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}}]}`,
			"events[0].params.items" + strings.Repeat("[0]", event.MaxJSONDepth-1), codeValueOutOfBounds},
		{"param number out of range", `{"client_id":"c","events":[{"name":"e","params":{"value":1e999999,"currency":"USD"}}]}`, "events[0].params.value", codeValueOutOfBounds},
		{"client_id at the limit", `{"client_id":"` + strings.Repeat("c", event.MaxVisitorIDLen) + `","events":[{"name":"e"}]}`, "", ""},
		{"client_id too long", `{"client_id":"` + strings.Repeat("c", event.MaxVisitorIDLen+1) + `","events":[{"name":"e"}]}`, "client_id", codeValueOutOfBounds},
		{"user_id too long", `{"client_id":"c","user_id":"` + strings.Repeat("u", event.MaxVisitorIDLen+1) + `","events":[{"name":"e"}]}`, "user_id", codeValueOutOfBounds},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ps := newTestServer(t, nil)
			r := do(t, s, request{path: mpPath(keys.DemoWriteKey, keys.DemoAPISecret), body: tc.body})
			if tc.wantPath == "" {
				if r.status != 204 || len(published(t, ps)) != 1 {
					t.Fatalf("status %d (%.300s), want 204 and one event", r.status, r.raw)
				}
				return
			}
			msgs := validationMessages(t, r)
			if r.status != 400 || len(msgs) == 0 || msgs[0].FieldPath != tc.wantPath || msgs[0].ValidationCode != tc.wantCode {
				t.Errorf("status %d messages %+v; want 400 with %s on %q", r.status, msgs, tc.wantCode, tc.wantPath)
			}
		})
	}
}

// TestRateLimitChargesWholeBatch (19.5): a batch larger than the burst
// passes only with a full bucket and is charged every event it carries; the
// bucket must earn the excess back before anything else passes.
func TestRateLimitChargesWholeBatch(t *testing.T) {
	s, ps := newTestServer(t, nil)
	clock := now
	s.now = func() time.Time { return clock }
	batch := func(n int) string {
		return `{"batch":[` + strings.TrimSuffix(strings.Repeat(`{"type":"track","event":"x","userId":"u"},`, n), ",") + `]}`
	}
	// shop-a: 1 event/s, burst 10.
	if r := do(t, s, request{path: "/v1/batch", auth: "wk-a", body: batch(25)}); r.status != 200 {
		t.Fatalf("25 events with a full bucket: status %d (%s), want 200", r.status, r.raw)
	}
	r := do(t, s, request{path: "/v1/batch", auth: "wk-a", body: batch(1)})
	// Charged 25: the balance is -15, one more event needs 16 s of refill.
	if r.status != 429 || r.header.Get("Retry-After") != "16" {
		t.Errorf("next event: status %d Retry-After %q; want 429 with Retry-After 16 (the batch charged in full)", r.status, r.header.Get("Retry-After"))
	}
	// In debt, a request is refused before its messages are even validated.
	if r := do(t, s, request{path: "/v1/batch", auth: "wk-a", body: `{"batch":[{"type":"track","userId":"u"}]}`}); r.status != 429 {
		t.Errorf("an invalid message while in debt: status %d (%s), want 429 without validation", r.status, r.raw)
	}
	if r := do(t, s, request{path: mpPath("wk-a", "sec-a"), body: `{"events":[]}`}); r.status != 429 {
		t.Errorf("a GA4 request while in debt: status %d (%s), want 429 without validation", r.status, r.raw)
	}
	clock = now.Add(15 * time.Second)
	if r := do(t, s, request{path: "/v1/batch", auth: "wk-a", body: batch(1)}); r.status != 429 {
		t.Errorf("after 15 s: status %d, want 429", r.status)
	}
	clock = now.Add(16 * time.Second)
	if r := do(t, s, request{path: "/v1/batch", auth: "wk-a", body: batch(1)}); r.status != 200 {
		t.Errorf("after 16 s: status %d (%s), want 200", r.status, r.raw)
	}
	// A batch larger than the burst waits for a full bucket.
	clock = now.Add(20 * time.Second) // 4 tokens
	r = do(t, s, request{path: "/v1/batch", auth: "wk-a", body: batch(11)})
	if r.status != 429 || r.header.Get("Retry-After") != "6" {
		t.Errorf("11 events with 4 tokens: status %d Retry-After %q; want 429 with Retry-After 6 (until the bucket is full)", r.status, r.header.Get("Retry-After"))
	}
	if got, want := len(ps.Messages()), 26; got != want {
		t.Errorf("published %d events, want %d", got, want)
	}
}

// TestAuthFailuresLimitedPerClient (19.7): once an address has used up its
// failed authentications, its GA4 requests are refused unchecked — even
// with the right credentials, so a correct guess is not revealed — until
// the budget refills; other addresses are unaffected.
func TestAuthFailuresLimitedPerClient(t *testing.T) {
	s, _ := newTestServer(t, nil, func(c *Config) {
		c.AuthFailuresPerMinute, c.AuthFailureBurst = 6, 3 // one every 10 s
		c.TrustedProxies = []string{"0.0.0.0/0", "::/0"}   // the test chooses client addresses by header
	})
	clock := now
	s.now = func() time.Time { return clock }
	ok := `{"client_id":"c","events":[{"name":"e"}]}`
	from := func(ip, mid, secret string) response {
		return do(t, s, request{path: mpPath(mid, secret), body: ok, headers: map[string]string{"X-Forwarded-For": ip}})
	}
	for i := 0; i < 3; i++ {
		if r := from("81.2.69.142", keys.DemoWriteKey, fmt.Sprintf("guess-%d", i)); r.status != 401 {
			t.Fatalf("guess %d: status %d, want 401", i, r.status)
		}
	}
	for _, tc := range []struct {
		name, ip, secret string
		want             int
	}{
		{"a fourth guess", "81.2.69.142", "guess-3", 429},
		{"the right secret from the same address", "81.2.69.142", keys.DemoAPISecret, 429},
		{"the debug endpoint from the same address", "81.2.69.142", keys.DemoAPISecret, 429},
		{"another address", "8.8.8.8", keys.DemoAPISecret, 204},
		{"same IPv6 /64", "2001:db8::1", "guess", 401},
	} {
		var r response
		if strings.Contains(tc.name, "debug") {
			r = do(t, s, request{path: "/debug" + mpPath(keys.DemoWriteKey, tc.secret), body: ok, headers: map[string]string{"X-Forwarded-For": tc.ip}})
		} else {
			r = from(tc.ip, keys.DemoWriteKey, tc.secret)
		}
		if r.status != tc.want {
			t.Errorf("%s: status %d (%s), want %d", tc.name, r.status, r.raw, tc.want)
		}
		if tc.want == 429 && r.header.Get("Retry-After") != "10" {
			t.Errorf("%s: Retry-After %q, want 10", tc.name, r.header.Get("Retry-After"))
		}
	}
	// An IPv6 client's /64 is one client.
	from("2001:db8::2", keys.DemoWriteKey, "guess")
	from("2001:db8::3", keys.DemoWriteKey, "guess")
	if r := from("2001:db8::ffff", keys.DemoWriteKey, keys.DemoAPISecret); r.status != 429 {
		t.Errorf("fourth failure from one /64: status %d, want 429", r.status)
	}
	clock = now.Add(10 * time.Second)
	if r := from("81.2.69.142", keys.DemoWriteKey, keys.DemoAPISecret); r.status != 204 {
		t.Errorf("after the budget refilled: status %d (%s), want 204", r.status, r.raw)
	}
	body := getFrom(t, s.OpsApp(), "/metrics")
	for _, want := range []string{`footfall_ingest_auth_failures_total{protocol="ga4"} 6`, `footfall_ingest_auth_limited_requests_total{protocol="ga4"} 4`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(body, "footfall_ingest_auth"))
		}
	}
}

func TestClientKey(t *testing.T) {
	tests := []struct{ ip, want string }{
		{"81.2.69.142", "81.2.69.142/32"},
		{"::ffff:81.2.69.142", "81.2.69.142/32"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
	}
	for _, tc := range tests {
		if got := clientKey(netip.MustParseAddr(tc.ip)).String(); got != tc.want {
			t.Errorf("clientKey(%s) = %s, want %s", tc.ip, got, tc.want)
		}
	}
}

// TestMetricsAndReadinessDetailAreNotPublic (19.8): /metrics and the
// reason for not being ready (Pub/Sub's error text, with the topic path)
// are served on the operators' listener only.
func TestMetricsAndReadinessDetailAreNotPublic(t *testing.T) {
	pub := &countingPublisher{Publisher: Noop{}, readyErr: fmt.Errorf("rpc error: topic projects/secret-project/topics/events not found")}
	s, err := NewServer(testConfig(), keys.Demo(), pub, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.App().Test(httptest.NewRequest(http.MethodGet, "/metrics", nil), 5000)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("public /metrics: status %d, want 404", resp.StatusCode)
	}
	if got := getBody(t, s, "/readyz"); got != `{"ready":false}` {
		t.Errorf("public /readyz = %s, want {\"ready\":false} without detail", got)
	}
	if got := getFrom(t, s.OpsApp(), "/readyz"); !strings.Contains(got, "secret-project") {
		t.Errorf("ops /readyz = %s, want the reason", got)
	}
	if got := getFrom(t, s.OpsApp(), "/metrics"); !strings.Contains(got, "footfall_ingest_requests_total") {
		t.Errorf("ops /metrics lacks the ingest counters: %.200s", got)
	}
	if got := getBody(t, s, "/healthz"); got != "ok" {
		t.Errorf("public /healthz = %q, want ok (Cloud Run probes it)", got)
	}
}

// TestSlowClientIsCutOff (19.8): a client that sends its request slowly
// (slowloris) is disconnected after READ_TIMEOUT instead of holding the
// connection.
func TestSlowClientIsCutOff(t *testing.T) {
	s, _ := newTestServer(t, nil, func(c *Config) { c.ReadTimeout = 300 * time.Millisecond })
	base, _ := serve(t, s)
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/batch HTTP/1.1\r\nHost: ingest\r\nContent-Length: 100\r\n\r\n{\"batch\":") // and then nothing
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	// The server may answer (408) before it closes; either way ReadAll
	// returns once the connection is closed, and times out if it is not.
	_, err = io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server kept a trickling connection open for 20 s (ReadTimeout 300 ms)")
	}
}

// TestRevenueWarnings (16.1): an amount that cannot be used drops the
// revenue with a warning naming the message and field; the event itself is
// accepted. (Before: the whole message, or the whole GA4 request, was
// rejected.)
func TestRevenueWarnings(t *testing.T) {
	s, ps := newTestServer(t, nil)
	body := `{"batch":[
		{"type":"track","event":"Order Completed","userId":"u","messageId":"ok","properties":{"revenue":"19.99","currency":"IDR"}},
		{"type":"track","event":"Order Completed","userId":"u","messageId":"bad-cur","properties":{"revenue":"1.5","currency":"XXZ"}},
		{"type":"track","event":"Order Completed","userId":"u","messageId":"huge","properties":{"revenue":"1e999999"}},
		{"type":"track","event":"Order Completed","userId":"u","messageId":"obj","properties":{"total":{"a":1}}},
		{"type":"track","event":"Order Completed","userId":"u","messageId":"too-big","properties":{"revenue":"1000000000","currency":"USD"}}]}`
	r := do(t, s, request{path: "/v1/batch", auth: keys.DemoWriteKey, body: body})
	if r.status != 200 || r.json["accepted"] != 5.0 {
		t.Fatalf("status %d body %s; want 200 with 5 accepted", r.status, r.raw)
	}
	ws, _ := r.json["warnings"].([]any)
	want := []struct{ id, field, in string }{
		{"bad-cur", "batch[1].properties.revenue", "ISO 4217"},
		{"huge", "batch[2].properties.revenue", "exponent"},
		{"obj", "batch[3].properties.total", "number"},
		{"too-big", "batch[4].properties.revenue", "out of range"},
	}
	if len(ws) != len(want) {
		t.Fatalf("warnings %v, want %d", ws, len(want))
	}
	for i, w := range want {
		g := ws[i].(map[string]any)
		if g["messageId"] != w.id || g["field"] != w.field || !strings.Contains(g["message"].(string), w.in) || !strings.Contains(g["message"].(string), "without revenue") {
			t.Errorf("warnings[%d] = %v, want message %s field %s mentioning %q", i, g, w.id, w.field, w.in)
		}
	}
	got := byID(published(t, ps))
	if e := got["ok"]; e.RevenueMinor != 1999 || e.RevenueScale != 2 || e.Currency != "IDR" {
		t.Errorf("ok: revenue %d scale %d %s; want 1999 at scale 2 IDR (ISO 4217)", e.RevenueMinor, e.RevenueScale, e.Currency)
	}
	for _, id := range []string{"bad-cur", "huge", "obj", "too-big"} {
		if e, ok := got[id]; !ok || e.RevenueMinor != 0 || e.Currency != "" {
			t.Errorf("%s: published %v with revenue %d %s; want it stored without revenue", id, ok, e.RevenueMinor, e.Currency)
		}
	}
	if m := getFrom(t, s.OpsApp(), "/metrics"); !strings.Contains(m, `footfall_ingest_fields_dropped_total{field="revenue",protocol="segment"} 4`) {
		t.Errorf("/metrics does not count the 4 dropped amounts")
	}
}

func TestGA4RevenueWarnings(t *testing.T) {
	s, ps := newTestServer(t, nil)
	body := `{"client_id":"c","events":[{"name":"purchase","params":{"value":"abc","currency":"EUR"}},{"name":"purchase","params":{"value":5,"currency":"JPY"}}]}`
	r := do(t, s, request{path: mpPath(keys.DemoWriteKey, keys.DemoAPISecret), body: body})
	var out struct {
		Warnings []ValidationMessage `json:"warnings"`
	}
	if err := jsonUnmarshal(r.raw, &out); err != nil || r.status != 200 || len(out.Warnings) != 1 || out.Warnings[0].FieldPath != "events[0].params.value" {
		t.Fatalf("status %d body %s; want 200 with one warning on events[0].params.value", r.status, r.raw)
	}
	evs := published(t, ps)
	if len(evs) != 2 {
		t.Fatalf("published %d events, want both", len(evs))
	}
	var sum int64
	for _, e := range evs {
		sum += e.RevenueMinor
		if e.RevenueMinor == 5 && (e.Currency != "JPY" || e.RevenueScale != 0) {
			t.Errorf("JPY event: %s scale %d", e.Currency, e.RevenueScale)
		}
	}
	if sum != 5 {
		t.Errorf("revenue %d, want 5 (the bad amount dropped)", sum)
	}
	// The debug endpoint reports the warning as a validation message.
	r = do(t, s, request{path: "/debug" + mpPath(keys.DemoWriteKey, keys.DemoAPISecret), body: body})
	if msgs := validationMessages(t, r); len(msgs) != 1 || msgs[0].FieldPath != "events[0].params.value" || !strings.Contains(msgs[0].Description, "without revenue") {
		t.Errorf("debug: %+v, want the warning as a validation message", msgs)
	}
}

// TestCommerceAndTransaction (16.2): transaction id, revenue scale and the
// merchant's commerce kind on the published event.
func TestCommerceAndTransaction(t *testing.T) {
	s, ps := newTestServer(t, nil)
	body := `{"batch":[
		{"type":"track","event":"Order Completed","userId":"u","messageId":"buy","properties":{"order_id":"o-1","revenue":12.5,"currency":"BHD"}},
		{"type":"track","event":"Order Refunded","userId":"u","messageId":"ref","properties":{"transaction_id":42,"total":"-3"}},
		{"type":"track","event":"Signed Up","userId":"u","messageId":"other"}]}`
	if r := do(t, s, request{path: "/v1/batch", auth: "wk-b", body: body}); r.status != 200 {
		t.Fatalf("status %d (%s)", r.status, r.raw)
	}
	got := byID(published(t, ps))
	if e := got["buy"]; e.Commerce != event.CommercePurchase || e.TransactionID != "o-1" || e.RevenueMinor != 12500 || e.RevenueScale != 3 {
		t.Errorf("buy = commerce %q transaction %q revenue %d scale %d", e.Commerce, e.TransactionID, e.RevenueMinor, e.RevenueScale)
	}
	if e := got["ref"]; e.Commerce != event.CommerceRefund || e.TransactionID != "42" || e.RevenueMinor != -300 || e.Currency != "USD" {
		t.Errorf("ref = commerce %q transaction %q revenue %d %s", e.Commerce, e.TransactionID, e.RevenueMinor, e.Currency)
	}
	if e := got["other"]; e.Commerce != "" {
		t.Errorf("other: commerce %q, want none", e.Commerce)
	}
	// GA4: transaction_id param; demo configures no commerce events.
	r := do(t, s, request{path: mpPath("wk-b", "sec-b"), body: `{"client_id":"c","events":[{"name":"purchase","params":{"transaction_id":"T-9","value":1,"currency":"KWD"}}]}`})
	if r.status != 204 {
		t.Fatalf("GA4: status %d (%s)", r.status, r.raw)
	}
	for _, e := range published(t, ps) {
		if e.Source == event.SourceGA4 && (e.TransactionID != "T-9" || e.Commerce != event.CommercePurchase || e.RevenueMinor != 1000 || e.RevenueScale != 3) {
			t.Errorf("GA4 purchase = %+v", e)
		}
	}
}

// TestGA4RetryDeduplicates (16.4): a retried GA4 request yields the same
// event ids (the pipeline keeps one copy); anything else gets new ones.
func TestGA4RetryDeduplicates(t *testing.T) {
	v, ri := fuzzValidator()
	body := `{"client_id":"c","events":[{"name":"e","params":{"a":1}},{"name":"e","params":{"a":1}}]}`
	ids := func(b string, ri *requestInfo) []string {
		t.Helper()
		p := v.ga4Events([]byte(b), ri)
		if len(p.msgs) > 0 {
			t.Fatalf("%s: %+v", b, p.msgs)
		}
		var out []string
		for _, e := range p.events {
			out = append(out, e.ID)
		}
		return out
	}
	first := ids(body, ri)
	if len(first) != 2 || first[0] == first[1] || len(first[0]) != 26 {
		t.Fatalf("ids %v; want two distinct 26-character ids (identical events at different positions)", first)
	}
	if again := ids(body, ri); again[0] != first[0] || again[1] != first[1] {
		t.Errorf("a retry got ids %v, want %v", again, first)
	}
	if spaced := ids(strings.ReplaceAll(body, ",", " , "), ri); spaced[0] != first[0] {
		t.Errorf("a retry re-serialised with spaces got %v, want %v", spaced, first)
	}
	for _, other := range []string{
		strings.Replace(body, `"c"`, `"d"`, 1),     // another client
		strings.Replace(body, `"a":1`, `"a":2`, 1), // other params
		strings.Replace(body, `"client_id":"c"`, `"client_id":"c","timestamp_micros":`+itoa(now.UnixMicro()), 1),
	} {
		if got := ids(other, ri); got[0] == first[0] {
			t.Errorf("%s got the same id %s as a different request", other, got[0])
		}
	}
	other := *ri
	other.merchant = "shop-b"
	if got := ids(body, &other); got[0] == first[0] {
		t.Errorf("another merchant's identical request got the same id")
	}
}

// TestPureParsers: the request parsers work without Fiber.
func TestPureParsers(t *testing.T) {
	b, rerr := parseSegmentBatch([]byte(`{"batch":[{"type":"track"}],"sentAt":"2026-11-01T11:59:58Z","writeKey":"wk"}`))
	if rerr != nil || len(b.Batch) != 1 || b.SentAt != "2026-11-01T11:59:58Z" || b.WriteKey != "wk" {
		t.Errorf("parseSegmentBatch = %+v, %v", b, rerr)
	}
	if _, rerr := parseSegmentBatch([]byte(`{"batch":`)); rerr == nil || rerr.status != 400 {
		t.Errorf("parseSegmentBatch(malformed) = %v, want a 400", rerr)
	}
	if k, rerr := parseSegmentSingle([]byte(`{"writeKey":"wk","event":"x"}`), "track"); k != "wk" || rerr != nil {
		t.Errorf("parseSegmentSingle = %q, %v", k, rerr)
	}
	for _, tc := range []struct{ header, want string }{
		{"Basic d2stYjo=", "wk-b"}, {"Basic d2stYg==", "wk-b"}, {"Bearer x", ""}, {"Basic !!!", ""},
	} {
		got, rerr := basicUser(tc.header)
		if got != tc.want || (tc.want == "") != (rerr != nil) {
			t.Errorf("basicUser(%q) = %q, %v; want %q", tc.header, got, rerr, tc.want)
		}
	}
	v, ri := fuzzValidator()
	out := v.segmentEvents([]jsonRaw{[]byte(`{"type":"track","event":"x","userId":"u"}`), []byte(`{"type":"track","userId":"u"}`)}, "", ri)
	if len(out.events) != 1 || len(out.bad) != 1 || out.bad[0].Field != "batch[1].event" || out.total != 2 {
		t.Errorf("segmentEvents = %d events, bad %+v", len(out.events), out.bad)
	}
}

type jsonRaw = json.RawMessage

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestServeOps: the operators' listener serves /metrics on its own socket
// and stops with the context.
func TestServeOps(t *testing.T) {
	s, err := NewServer(testConfig(), keys.Demo(), Noop{}, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.ServeOps(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "footfall_ingest_batch_events") {
		t.Errorf("ops /metrics: status %d, %.200s", resp.StatusCode, b)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("ServeOps: %v", err)
	}
}
