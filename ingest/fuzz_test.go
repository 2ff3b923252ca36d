package ingest

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/footfall/footfall/internal/currency"
	"github.com/footfall/footfall/internal/event"
)

func fuzzValidator() (*validator, *requestInfo) {
	v := &validator{maxMessageBytes: MaxMessageBytes, maxAge: 72 * time.Hour, maxFuture: 10 * time.Minute}
	ri := &requestInfo{merchant: "demo", received: now, country: "US", userAgent: "fuzz/1"}
	return v, ri
}

// checkAccepted holds for every event a decoder accepts: it passes
// event.Validate, belongs to the request's merchant and survives the trip
// through the Pub/Sub encoding.
func checkAccepted(t *testing.T, e *event.Event, source string) {
	t.Helper()
	if err := e.Validate(); err != nil {
		t.Fatalf("accepted event fails Validate: %v (%+v)", err, e)
	}
	if e.MerchantID != "demo" || e.Source != source || e.ReceiveTime != now.UnixMicro() {
		t.Fatalf("accepted event has merchant %q source %q receive time %d", e.MerchantID, e.Source, e.ReceiveTime)
	}
	if e.Currency != "" {
		if d, ok := currency.Digits(e.Currency); !ok || d != e.RevenueScale {
			t.Fatalf("revenue %d %s has scale %d; the currency's ISO 4217 digits are %d (known %v)", e.RevenueMinor, e.Currency, e.RevenueScale, d, ok)
		}
	}
	b, err := event.Encode(e)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	if _, err := event.Decode(b); err != nil {
		t.Fatalf("the published form does not decode: %v", err)
	}
}

func FuzzSegmentMessage(f *testing.F) {
	for _, s := range []string{
		`{"type":"track","event":"Order Completed","userId":42,"messageId":"m1","timestamp":"2026-11-01T11:30:00Z","sentAt":"2026-11-01T11:59:58Z","properties":{"revenue":19.99,"currency":"usd"},"context":{"ip":"8.8.8.8","userAgent":"UA/1","sessionId":17}}`,
		`{"type":"page","anonymousId":"a1","name":"Home","properties":{"url":"https://shop.example/p?utm_source=n&utm_campaign=c","referrer":"https://g.example/"}}`,
		`{"type":"identify","userId":"u","traits":{"plan":"pro"}}`,
		`{"type":"alias","userId":"u","previousId":"a"}`,
		`{"type":"group","userId":"u","groupId":"g"}`,
		`{"type":"screen","anonymousId":"a","originalTimestamp":"2026-11-01T11:00:00.123+02:00"}`,
		`{"type":"track","event":"x","userId":"u","properties":{"total":"1e3","currency":"JPY"}}`,
		`{"type":"track","event":"x","userId":{"a":1}}`,
		`{"type":"track"}`,
		`[]`,
		`{"type":"track","event":"x","anonymousId":"\u0000","messageId":"\ud800"}`,
		// Hostile input (issue 19): depth, numbers, amounts, long ids.
		`{"type":"track","event":"x","userId":"u","properties":` + strings.Repeat(`{"a":`, 40) + `1` + strings.Repeat(`}`, 40) + `}`,
		`{"type":"identify","userId":"u","traits":{"t":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}}`,
		`{"type":"track","event":"x","userId":"u","properties":{"revenue":1e999999}}`,
		`{"type":"track","event":"x","userId":"u","properties":{"revenue":"1e999999","currency":"USD"}}`,
		`{"type":"track","event":"x","userId":"u","properties":{"revenue":"1e30","currency":"CLF","order_id":12}}`,
		`{"type":"track","event":"x","userId":"u","properties":{"total":"922337203.69","transaction_id":"t"}}`,
		`{"type":"track","event":"x","userId":"u","properties":{"n":-0.00000000000000000000000000000000000000000000000000000000000000001}}`,
		`{"type":"track","event":"x","anonymousId":"` + strings.Repeat("a", 257) + `"}`,
		`{"type":"track","event":"x","userId":"u","context":{"sessionId":"` + strings.Repeat("s", 129) + `"}}`,
	} {
		f.Add([]byte(s))
	}
	v, ri := fuzzValidator()
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, forced := range []string{"", event.TypeTrack} {
			e, warn, merr := v.segmentEvent(data, 3, forced, ri)
			if (e == nil) == (merr == nil) {
				t.Fatalf("segmentEvent returned event %v and error %v; want exactly one", e, merr)
			}
			if merr != nil {
				if merr.Index != 3 || merr.Message == "" {
					t.Fatalf("error %+v lacks its index or message", merr)
				}
				if warn != nil {
					t.Fatalf("a rejected message has a warning %+v", warn)
				}
				continue
			}
			if warn != nil && (warn.Index != 3 || warn.Message == "" || e.RevenueMinor != 0) {
				t.Fatalf("warning %+v lacks its index or message, or the revenue %d was kept", warn, e.RevenueMinor)
			}
			checkAccepted(t, e, event.SourceSegment)
		}
	})
}

func FuzzGA4Payload(f *testing.F) {
	ts := now.Add(-time.Hour).UnixMicro()
	for _, s := range []string{
		`{"client_id":"123.456","user_id":"u","timestamp_micros":` + itoa(ts) + `,"user_properties":{"plan":{"value":"pro"}},"events":[{"name":"page_view","params":{"page_location":"https://s.example/a?utm_source=x","session_id":"17","page_title":"A"}}]}`,
		`{"client_id":"c","events":[{"name":"purchase","params":{"value":"19.99","currency":"EUR","items":[{"item_id":"1"}]}}]}`,
		`{"client_id":"c","events":[{"name":"e","timestamp_micros":"` + itoa(ts) + `","params":{"n":1.5,"b":true}}]}`,
		`{"client_id":"c","ip_override":"81.2.69.142","events":[{"name":"e"}]}`,
		`{"client_id":"c","events":[{"name":"firebase_x"}]}`,
		`{"client_id":"","events":[]}`,
		`{"events":[{"name":5}]}`,
		`{"client_id":"c","user_properties":{"x":{"value":null}},"events":[{"name":"e","params":{"p":{}}}]}`,
		`nope`,
		// Hostile input (issue 19).
		`{"client_id":"c","events":[{"name":"purchase","params":{"items":[` + strings.Repeat("[", 50) + strings.Repeat("]", 50) + `]}}]}`,
		`{"client_id":"c","events":[{"name":"purchase","params":{"value":1e999999,"currency":"USD"}}]}`,
		`{"client_id":"c","events":[{"name":"purchase","params":{"value":"1e999999","currency":"USD","transaction_id":"T"}}]}`,
		`{"client_id":"c","events":[{"name":"refund","params":{"value":"-3","currency":"IDR"}}]}`,
		`{"client_id":"` + strings.Repeat("c", 257) + `","events":[{"name":"e"}]}`,
		`{"client_id":"c","user_id":"` + strings.Repeat("u", 257) + `","events":[{"name":"e","params":{"session_id":123}}]}`,
	} {
		f.Add([]byte(s))
	}
	v, ri := fuzzValidator()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := v.ga4Events(data, ri)
		if len(p.msgs) > 0 {
			if len(p.events) != 0 {
				t.Fatalf("%d events kept despite %d validation messages", len(p.events), len(p.msgs))
			}
			for _, m := range p.msgs {
				if m.ValidationCode == "" || m.Description == "" {
					t.Fatalf("validation message without code or description: %+v", m)
				}
			}
			return
		}
		if len(p.events) == 0 || len(p.events) > mpMaxEvents {
			t.Fatalf("no validation message but %d events", len(p.events))
		}
		again := v.ga4Events(data, ri)
		for i, e := range p.events {
			checkAccepted(t, e, event.SourceGA4)
			if again.events[i].ID != e.ID {
				t.Fatalf("the same request got event id %s, then %s", e.ID, again.events[i].ID)
			}
		}
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
