package event

import (
	"errors"
	"math"
	"math/bits"
	"strings"
	"testing"
	"time"
)

func valid() Event {
	return Event{
		ID: "m-1", MerchantID: "shop-1", Type: TypeTrack, Name: "signup",
		AnonymousID: "a-1", EventTime: time.Date(2026, 11, 1, 10, 30, 0, 0, time.UTC).UnixMicro(),
		ReceiveTime: time.Date(2026, 11, 1, 10, 30, 1, 0, time.UTC).UnixMicro(), Source: SourceSegment,
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name      string
		mutate    func(e *Event)
		wantField string // "" = valid
	}{
		{"valid", func(*Event) {}, ""},
		{"user id only", func(e *Event) { e.AnonymousID, e.UserID = "", "u-1" }, ""},
		{"missing id", func(e *Event) { e.ID = "" }, "event_id"},
		{"id too long", func(e *Event) { e.ID = string(make([]byte, MaxIDLen+1)) }, "event_id"},
		{"bad merchant", func(e *Event) { e.MerchantID = "Shop" }, "merchant_id"},
		{"merchant with separator", func(e *Event) { e.MerchantID = "a#b" }, "merchant_id"},
		{"missing name", func(e *Event) { e.Name = "" }, "name"},
		{"missing time", func(e *Event) { e.EventTime = 0 }, "event_time"},
		{"no visitor", func(e *Event) { e.AnonymousID = "" }, "anonymous_id"},
		{"revenue without currency", func(e *Event) { e.RevenueMinor = 100 }, "currency"},
		{"longest ids", func(e *Event) {
			e.ID, e.AnonymousID, e.UserID = strings.Repeat("i", MaxIDLen), strings.Repeat("a", MaxVisitorIDLen), strings.Repeat("u", MaxVisitorIDLen)
			e.SessionID, e.TransactionID = strings.Repeat("s", MaxSessionIDLen), strings.Repeat("t", MaxTransactionIDLen)
		}, ""},
		{"anonymous id too long", func(e *Event) { e.AnonymousID = strings.Repeat("a", MaxVisitorIDLen+1) }, "anonymous_id"},
		{"user id too long", func(e *Event) { e.UserID = strings.Repeat("u", MaxVisitorIDLen+1) }, "user_id"},
		{"session id too long", func(e *Event) { e.SessionID = strings.Repeat("s", MaxSessionIDLen+1) }, "session_id"},
		{"transaction id too long", func(e *Event) { e.TransactionID = strings.Repeat("t", MaxTransactionIDLen+1) }, "transaction_id"},
		{"largest revenue", func(e *Event) { e.RevenueMinor, e.Currency, e.RevenueScale = -MaxRevenueMinor, "USD", 2 }, ""},
		{"revenue too large", func(e *Event) { e.RevenueMinor, e.Currency = MaxRevenueMinor+1, "USD" }, "revenue_minor"},
		{"scale too large", func(e *Event) { e.RevenueMinor, e.Currency, e.RevenueScale = 1, "USD", 5 }, "revenue_scale"},
		{"negative scale", func(e *Event) { e.RevenueScale = -1 }, "revenue_scale"},
		{"commerce purchase", func(e *Event) { e.Commerce = CommercePurchase }, ""},
		{"unknown commerce", func(e *Event) { e.Commerce = "sale" }, "commerce"},
		{"properties too deep", func(e *Event) { e.Properties = nested(MaxJSONDepth + 1) }, "properties" + strings.Repeat(".a", MaxJSONDepth)},
		{"properties with a huge number", func(e *Event) { e.Properties = `{"x":[1e400]}` }, "properties.x[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := valid()
			tc.mutate(&e)
			err := e.Validate()
			if tc.wantField == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.wantField {
				t.Fatalf("Validate() = %v, want a FieldError on %q", err, tc.wantField)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
		})
	}
}

// TestRevenueBoundSums: MaxSummedAmounts amounts of MaxRevenueMinor add up
// without overflowing int64.
func TestRevenueBoundSums(t *testing.T) {
	hi, lo := bits.Mul64(uint64(MaxRevenueMinor), MaxSummedAmounts)
	if hi != 0 || lo > math.MaxInt64 {
		t.Errorf("%d amounts of %d overflow int64", MaxSummedAmounts, int64(MaxRevenueMinor))
	}
	// docs/event.md states the bound.
	if MaxRevenueMinor != 92_233_720_368 {
		t.Errorf("MaxRevenueMinor = %d; update docs/event.md and docs/ingest.md", int64(MaxRevenueMinor))
	}
}

func TestEncodeDecodeRoundTrip(t *testing.T) {
	e := valid()
	e.Properties = `{"plan":"pro","seats":3}`
	e.RevenueMinor, e.Currency, e.RevenueScale = 1999, "USD", 2
	e.TransactionID, e.Commerce = "T-1", CommercePurchase
	e.PagePath, e.Country, e.UserAgent = "/pricing", "JP", "Mozilla/5.0"
	b, err := Encode(&e)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got != e {
		t.Errorf("round trip changed the event:\n got %+v\nwant %+v", got, e)
	}
	// revenue_scale is written even when 0 (JPY's scale).
	e.RevenueMinor, e.Currency, e.RevenueScale = 500, "JPY", 0
	if b, _ := Encode(&e); !strings.Contains(string(b), `"revenue_scale":0`) {
		t.Errorf("encoded %s lacks revenue_scale 0", b)
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, body := range []string{`not json`, `{"event_id":"x"}`, `[]`} {
		if _, err := Decode([]byte(body)); !errors.Is(err, ErrInvalid) {
			t.Errorf("Decode(%q) = %v, want ErrInvalid", body, err)
		}
	}
}

func TestAttributes(t *testing.T) {
	e := valid()
	a := Attributes(&e)
	if a[AttrEventID] != "m-1" || a[AttrMerchantID] != "shop-1" || a[AttrSchema] != SchemaVersion {
		t.Errorf("Attributes() = %v", a)
	}
	ts, err := time.Parse(time.RFC3339Nano, a[AttrEventTime])
	if err != nil || !ts.Equal(e.Time()) {
		t.Errorf("event_time attribute %q does not parse back to %v (%v)", a[AttrEventTime], e.Time(), err)
	}
}

func TestVisitorID(t *testing.T) {
	e := Event{AnonymousID: "a", UserID: "u"}
	if got := e.VisitorID(); got != "a" {
		t.Errorf("VisitorID() = %q, want the anonymous id", got)
	}
	e.AnonymousID = ""
	if got := e.VisitorID(); got != "u" {
		t.Errorf("VisitorID() = %q, want the user id", got)
	}
}
