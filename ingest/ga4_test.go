package ingest

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/keys"
)

func mpPath(mid, secret string) string {
	return "/mp/collect?" + url.Values{"measurement_id": {mid}, "api_secret": {secret}}.Encode()
}

func TestMPCollectPublishesEvents(t *testing.T) {
	s, ps := newTestServer(t, nil)
	ts := now.Add(-71 * time.Hour) // inside GA's 72 h window
	body := fmt.Sprintf(`{"client_id":"123.456","user_id":"u-9","timestamp_micros":%d,
	  "user_properties":{"plan":{"value":"pro"}},
	  "events":[
	    {"name":"page_view","params":{"page_location":"https://shop.example/sale?utm_source=mail&utm_medium=email","page_referrer":"https://news.example/","page_title":"Sale","session_id":"1730000","engagement_time_msec":100}},
	    {"name":"purchase","params":{"value":19.99,"currency":"eur","transaction_id":"T1","items":[{"item_id":"sku1","price":19.99}]}}]}`, ts.UnixMicro())
	r := do(t, s, request{path: mpPath(keys.DemoWriteKey, keys.DemoAPISecret), body: body, headers: map[string]string{"User-Agent": "server/1"}})
	if r.status != 204 || len(r.raw) != 0 {
		t.Fatalf("status %d body %s, want 204 with no body", r.status, r.raw)
	}
	evs := published(t, ps)
	if len(evs) != 2 {
		t.Fatalf("published %d events, want 2", len(evs))
	}
	byName := map[string]event.Event{}
	for _, e := range evs {
		byName[e.Name] = e
		if e.MerchantID != keys.DemoMerchant || e.Type != event.TypeTrack || e.Source != event.SourceGA4 ||
			e.AnonymousID != "123.456" || e.UserID != "u-9" || !e.Time().Equal(time.UnixMicro(ts.UnixMicro()).UTC()) ||
			e.ReceiveTime != now.UnixMicro() || e.UserAgent != "server/1" || len(e.ID) != 26 {
			t.Errorf("common fields of %s: %+v", e.Name, e)
		}
	}
	pv := byName["page_view"]
	if pv.PageURL != "https://shop.example/sale?utm_source=mail&utm_medium=email" || pv.PagePath != "/sale" || pv.Referrer != "https://news.example/" ||
		pv.PageTitle != "Sale" || pv.SessionID != "1730000" || pv.UTMSource != "mail" || pv.UTMMedium != "email" {
		t.Errorf("page_view = %+v", pv)
	}
	var props map[string]any
	if err := json.Unmarshal([]byte(pv.Properties), &props); err != nil {
		t.Fatal(err)
	}
	if props["engagement_time_msec"] != 100.0 || props["_user_properties"].(map[string]any)["plan"] == nil {
		t.Errorf("page_view properties = %s; want params and _user_properties", pv.Properties)
	}
	buy := byName["purchase"]
	if buy.RevenueMinor != 1999 || buy.Currency != "EUR" {
		t.Errorf("purchase revenue %d %s, want 1999 EUR", buy.RevenueMinor, buy.Currency)
	}
}

func TestMPCollectErrors(t *testing.T) {
	s, ps := newTestServer(t, nil)
	ev := func(n int) string {
		var es []string
		for i := 0; i < n; i++ {
			es = append(es, `{"name":"e"}`)
		}
		return strings.Join(es, ",")
	}
	params := func(n int) string {
		var ps []string
		for i := 0; i < n; i++ {
			ps = append(ps, fmt.Sprintf(`"p%d":1`, i))
		}
		return "{" + strings.Join(ps, ",") + "}"
	}
	old := now.Add(-73 * time.Hour).UnixMicro()
	future := now.Add(time.Hour).UnixMicro()
	tests := []struct {
		name      string
		body      string
		wantPath  string
		wantCode  string
		wantInDsc string
	}{
		{"malformed json", `{"client_id":"c","events":[`, "", codeValueInvalid, "malformed JSON"},
		{"not an object", `[1,2]`, "", codeValueInvalid, "object"},
		{"missing client_id", `{"events":[{"name":"e"}]}`, "client_id", codeValueRequired, ""},
		{"client_id not a string", `{"client_id":12,"events":[{"name":"e"}]}`, "client_id", codeValueInvalid, "string"},
		{"no events", `{"client_id":"c","events":[]}`, "events", codeValueRequired, ""},
		{"too many events", `{"client_id":"c","events":[` + ev(26) + `]}`, "events", codeExceededMaxEntity, "25"},
		{"name missing", `{"client_id":"c","events":[{"params":{}}]}`, "events[0].name", codeValueRequired, ""},
		{"name wrong type", `{"client_id":"c","events":[{"name":5}]}`, "events[0].name", codeValueInvalid, ""},
		{"name too long", `{"client_id":"c","events":[{"name":"` + strings.Repeat("a", 41) + `"}]}`, "events[0].name", codeValueOutOfBounds, "40"},
		{"name starts with a digit", `{"client_id":"c","events":[{"name":"1abc"}]}`, "events[0].name", codeNameInvalid, "letter"},
		{"name has a dash", `{"client_id":"c","events":[{"name":"add-to-cart"}]}`, "events[0].name", codeNameInvalid, ""},
		{"reserved name", `{"client_id":"c","events":[{"name":"session_start"}]}`, "events[0].name", codeNameReserved, ""},
		{"reserved prefix firebase_", `{"client_id":"c","events":[{"name":"firebase_x"}]}`, "events[0].name", codeNameReserved, "firebase_"},
		{"reserved prefix google_", `{"client_id":"c","events":[{"name":"ok"},{"name":"google_x"}]}`, "events[1].name", codeNameReserved, ""},
		{"reserved prefix ga_", `{"client_id":"c","events":[{"name":"GA_x"}]}`, "events[0].name", codeNameReserved, ""},
		{"too many params", `{"client_id":"c","events":[{"name":"e","params":` + params(26) + `}]}`, "events[0].params", codeExceededMaxEntity, "25"},
		{"param name too long", `{"client_id":"c","events":[{"name":"e","params":{"` + strings.Repeat("p", 41) + `":1}}]}`, "events[0].params." + strings.Repeat("p", 41), codeValueOutOfBounds, ""},
		{"param reserved", `{"client_id":"c","events":[{"name":"e","params":{"firebase_conversion":1}}]}`, "events[0].params.firebase_conversion", codeNameReserved, ""},
		{"param value too long", `{"client_id":"c","events":[{"name":"e","params":{"p":"` + strings.Repeat("v", 101) + `"}}]}`, "events[0].params.p", codeValueOutOfBounds, "100"},
		{"param value an object", `{"client_id":"c","events":[{"name":"e","params":{"p":{"a":1}}}]}`, "events[0].params.p", codeValueInvalid, ""},
		{"params not an object", `{"client_id":"c","events":[{"name":"e","params":[1]}]}`, "events[0].params", codeValueInvalid, ""},
		{"items not an array", `{"client_id":"c","events":[{"name":"e","params":{"items":"x"}}]}`, "events[0].params.items", codeValueInvalid, ""},
		{"timestamp older than 72 h", fmt.Sprintf(`{"client_id":"c","timestamp_micros":%d,"events":[{"name":"e"}]}`, old), "timestamp_micros", codeValueOutOfBounds, "past"},
		{"event timestamp in the future", fmt.Sprintf(`{"client_id":"c","events":[{"name":"e","timestamp_micros":%d}]}`, future), "events[0].timestamp_micros", codeValueOutOfBounds, "future"},
		{"timestamp not a number", `{"client_id":"c","timestamp_micros":"soon","events":[{"name":"e"}]}`, "timestamp_micros", codeValueInvalid, ""},
		{"user property reserved", `{"client_id":"c","user_properties":{"first_open_time":{"value":1}},"events":[{"name":"e"}]}`, "user_properties.first_open_time", codeNameReserved, ""},
		{"user property value too long", `{"client_id":"c","user_properties":{"plan":{"value":"` + strings.Repeat("x", 37) + `"}},"events":[{"name":"e"}]}`, "user_properties.plan.value", codeValueOutOfBounds, "36"},
		{"user property not wrapped", `{"client_id":"c","user_properties":{"plan":"pro"},"events":[{"name":"e"}]}`, "user_properties.plan", codeValueInvalid, "value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, debug := range []bool{false, true} {
				path := mpPath(keys.DemoWriteKey, keys.DemoAPISecret)
				wantStatus := 400
				if debug {
					path, wantStatus = "/debug"+path, 200
				}
				r := do(t, s, request{path: path, body: tc.body})
				if r.status != wantStatus {
					t.Fatalf("%s: status %d, want %d (%s)", path, r.status, wantStatus, r.raw)
				}
				msgs := validationMessages(t, r)
				if len(msgs) == 0 {
					t.Fatalf("%s: no validationMessages in %s", path, r.raw)
				}
				found := false
				for _, m := range msgs {
					if m.FieldPath == tc.wantPath && m.ValidationCode == tc.wantCode && strings.Contains(m.Description, tc.wantInDsc) {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: validationMessages %+v lack {fieldPath %q, code %s, description containing %q}", path, msgs, tc.wantPath, tc.wantCode, tc.wantInDsc)
				}
			}
		})
	}
	if n := len(ps.Messages()); n != 0 {
		t.Errorf("invalid GA4 requests published %d events; a request is all or nothing", n)
	}
}

func validationMessages(t testing.TB, r response) []ValidationMessage {
	t.Helper()
	var out struct {
		ValidationMessages []ValidationMessage `json:"validationMessages"`
	}
	if err := json.Unmarshal(r.raw, &out); err != nil {
		t.Fatalf("answer %s: %v", r.raw, err)
	}
	return out.ValidationMessages
}

func TestMPCollectAuthAndLimits(t *testing.T) {
	s, ps := newTestServer(t, nil)
	ok := `{"client_id":"c","events":[{"name":"e"}]}`
	big := `{"client_id":"c","events":[{"name":"e","params":{"p":"` + strings.Repeat("x", 130_000) + `"}}]}`
	// Every credential failure gets the same answer (401, one message on
	// api_secret): an unknown measurement_id, a wrong secret and another
	// merchant's secret are indistinguishable (issue 19.7; this was 401 on
	// measurement_id, 401 on api_secret and 403 before).
	tests := []struct {
		name       string
		req        request
		wantStatus int
		wantPath   string
	}{
		{"unknown measurement_id", request{path: mpPath("nope", keys.DemoAPISecret), body: ok}, 401, "api_secret"},
		{"unknown api_secret", request{path: mpPath(keys.DemoWriteKey, "nope"), body: ok}, 401, "api_secret"},
		{"missing api_secret", request{path: "/mp/collect?measurement_id=" + keys.DemoWriteKey, body: ok}, 401, "api_secret"},
		{"secret of another merchant", request{path: mpPath("wk-a", "sec-b"), body: ok}, 401, "api_secret"},
		{"read key as api_secret", request{path: mpPath(keys.DemoWriteKey, keys.DemoReadKey), body: ok}, 401, "api_secret"},
		{"body over 130,000 bytes", request{path: mpPath(keys.DemoWriteKey, keys.DemoAPISecret), body: big}, 413, ""},
		{"gzip body over 130,000 bytes once inflated", request{path: mpPath(keys.DemoWriteKey, keys.DemoAPISecret), body: big, gzip: true}, 413, ""},
	}
	var authAnswer string
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, s, tc.req)
			if r.status != tc.wantStatus {
				t.Fatalf("status %d, want %d (%s)", r.status, tc.wantStatus, r.raw)
			}
			if msgs := validationMessages(t, r); len(msgs) != 1 || msgs[0].FieldPath != tc.wantPath || msgs[0].Description == "" {
				t.Errorf("validationMessages %+v, want one about %q", msgs, tc.wantPath)
			}
			if tc.wantStatus == 401 {
				if authAnswer == "" {
					authAnswer = string(r.raw)
				}
				if string(r.raw) != authAnswer {
					t.Errorf("credential failure answered %s; another answered %s: they must be identical", r.raw, authAnswer)
				}
			}
		})
	}
	if n := len(ps.Messages()); n != 0 {
		t.Errorf("%d events published", n)
	}
	// The right pair, gzip-compressed, is accepted.
	r := do(t, s, request{path: mpPath("wk-b", "sec-b"), body: ok, gzip: true})
	if r.status != 204 {
		t.Fatalf("status %d (%s), want 204", r.status, r.raw)
	}
	if evs := published(t, ps); len(evs) != 1 || evs[0].MerchantID != "shop-b" {
		t.Errorf("published %+v, want one event of shop-b", evs)
	}
}

func TestMPDebugPublishesNothing(t *testing.T) {
	s, ps := newTestServer(t, nil)
	r := do(t, s, request{path: "/debug" + mpPath(keys.DemoWriteKey, keys.DemoAPISecret), body: `{"client_id":"c","events":[{"name":"e","params":{"a":"b"}}]}`})
	if r.status != 200 || string(r.raw) != `{"validationMessages":[]}` {
		t.Fatalf("status %d body %s; want 200 {\"validationMessages\":[]}", r.status, r.raw)
	}
	// A bad key is one more validation message, not an HTTP error: the
	// same one for every credential failure.
	r = do(t, s, request{path: "/debug" + mpPath("nope", "nope"), body: `{"client_id":"c","events":[{"name":"e"}]}`})
	if msgs := validationMessages(t, r); r.status != 200 || len(msgs) != 1 || msgs[0].FieldPath != "api_secret" || msgs[0].Description != errMPCredentials.msg {
		t.Errorf("status %d messages %+v; want 200 with the one credential message", r.status, msgs)
	}
	if n := len(ps.Messages()); n != 0 {
		t.Errorf("debug endpoint published %d events", n)
	}
}

func TestMPRateLimit(t *testing.T) {
	s, _ := newTestServer(t, nil)
	// shop-a: burst 10 and a frozen clock.
	body := `{"client_id":"c","events":[` + strings.Repeat(`{"name":"e"},`, 9) + `{"name":"e"}]}`
	if r := do(t, s, request{path: mpPath("wk-a", "sec-a"), body: body}); r.status != 204 {
		t.Fatalf("first 10 events: status %d (%s)", r.status, r.raw)
	}
	r := do(t, s, request{path: mpPath("wk-a", "sec-a"), body: `{"client_id":"c","events":[{"name":"e"}]}`})
	if r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Errorf("11th event: status %d Retry-After %q; want 429 with Retry-After", r.status, r.header.Get("Retry-After"))
	}
	if r := do(t, s, request{path: mpPath("wk-b", "sec-b"), body: body}); r.status != 204 {
		t.Errorf("shop-b: status %d, want 204 (another merchant's limit)", r.status)
	}
}
