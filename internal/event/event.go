// Package event is the contract between ingest and the pipelines: the
// canonical event record, its validation rules and how it travels on Pub/Sub.
//
// Ingest builds an Event from whatever protocol the merchant spoke (Segment,
// GA4 Measurement Protocol), Encodes it and publishes it with Attributes. The
// pipelines Decode the message body. The archive (Parquet locally, BigQuery in
// production) stores the same fields under the same names. docs/event.md
// describes every field.
package event

import (
	"errors"
	"fmt"
	"math"
	"time"

	json "github.com/goccy/go-json"
)

// SchemaVersion names this encoding; it travels as the "schema" attribute.
const SchemaVersion = "footfall.event.v1"

// Pub/Sub message attribute names. Dataflow's native Pub/Sub reader uses
// AttrEventTime as its timestamp attribute and AttrEventID as its id
// attribute (for deduplication).
const (
	AttrEventID    = "event_id"
	AttrEventTime  = "event_time"
	AttrMerchantID = "merchant_id"
	AttrSchema     = "schema"
)

// Event types: the Segment message types, which GA4 events map onto.
const (
	TypeTrack    = "track"
	TypePage     = "page"
	TypeScreen   = "screen"
	TypeIdentify = "identify"
	TypeGroup    = "group"
	TypeAlias    = "alias"
)

// Well-known event names. A Segment page call and a GA4 page_view become
// NamePageView, so "page views" means one thing whatever the protocol.
const (
	NamePageView   = "page_view"
	NameScreenView = "screen_view"
)

// Commerce marks (Event.Commerce).
const (
	CommercePurchase = "purchase"
	CommerceRefund   = "refund"
)

// IsPurchase reports whether e is a purchase: GA4 `purchase`, Segment
// `Order Completed`, or a name the merchant configured (Commerce).
func (e *Event) IsPurchase() bool {
	return e.Commerce == CommercePurchase || e.Name == "purchase" || e.Name == "Order Completed"
}

// IsRefund reports whether e is a refund: GA4 `refund`, Segment `Order
// Refunded`, or a name the merchant configured (Commerce).
func (e *Event) IsRefund() bool {
	return e.Commerce == CommerceRefund || e.Name == "refund" || e.Name == "Order Refunded"
}

// Protocols an event can arrive by.
const (
	SourceSegment = "segment"
	SourceGA4     = "ga4"
)

// Event is one merchant event as ingest accepted it. Times are Unix
// microseconds in UTC. Revenue is in minor units of Currency (cents for USD,
// yen for JPY), never a float.
type Event struct {
	ID          string `json:"event_id" parquet:"event_id"`
	MerchantID  string `json:"merchant_id" parquet:"merchant_id"`
	Type        string `json:"type" parquet:"type"`
	Name        string `json:"name" parquet:"name"`
	AnonymousID string `json:"anonymous_id,omitempty" parquet:"anonymous_id,optional"`
	UserID      string `json:"user_id,omitempty" parquet:"user_id,optional"`
	SessionID   string `json:"session_id,omitempty" parquet:"session_id,optional"`
	EventTime   int64  `json:"event_time" parquet:"event_time,timestamp(microsecond)"`
	ReceiveTime int64  `json:"receive_time" parquet:"receive_time,timestamp(microsecond)"`

	PageURL   string `json:"page_url,omitempty" parquet:"page_url,optional"`
	PagePath  string `json:"page_path,omitempty" parquet:"page_path,optional"`
	PageTitle string `json:"page_title,omitempty" parquet:"page_title,optional"`
	Referrer  string `json:"referrer,omitempty" parquet:"referrer,optional"`

	UTMSource   string `json:"utm_source,omitempty" parquet:"utm_source,optional"`
	UTMMedium   string `json:"utm_medium,omitempty" parquet:"utm_medium,optional"`
	UTMCampaign string `json:"utm_campaign,omitempty" parquet:"utm_campaign,optional"`
	UTMTerm     string `json:"utm_term,omitempty" parquet:"utm_term,optional"`
	UTMContent  string `json:"utm_content,omitempty" parquet:"utm_content,optional"`

	UserAgent string `json:"user_agent,omitempty" parquet:"user_agent,optional"`
	Country   string `json:"country,omitempty" parquet:"country,optional"`

	// Properties is the event's properties (Segment) or params (GA4) as a
	// JSON object, kept verbatim for reprocessing.
	Properties string `json:"properties,omitempty" parquet:"properties,optional,json"`

	RevenueMinor int64  `json:"revenue_minor,omitempty" parquet:"revenue_minor,optional"`
	Currency     string `json:"currency,omitempty" parquet:"currency,optional"`
	// RevenueScale is the number of decimal digits of RevenueMinor (the
	// currency's ISO 4217 minor unit when ingest converted it: 2 for USD,
	// 0 for JPY), so 1999 at scale 2 is 19.99. It is written with every
	// revenue and stored with it, so a change of the currency table never
	// rescales history. Not omitted when 0: 0 is a real scale (JPY).
	RevenueScale int32 `json:"revenue_scale" parquet:"revenue_scale,optional"`
	// TransactionID is the order's id (Segment properties.order_id or
	// transaction_id, GA4 params.transaction_id), for the pipeline to
	// count an order once.
	TransactionID string `json:"transaction_id,omitempty" parquet:"transaction_id,optional"`
	// Commerce is CommercePurchase or CommerceRefund when the event's name
	// is one the merchant configured as a purchase or refund event
	// (keys.Merchant PurchaseEvents, RefundEvents), else empty.
	Commerce string `json:"commerce,omitempty" parquet:"commerce,optional"`

	// Source is the protocol the event arrived by (SourceSegment, SourceGA4).
	Source string `json:"source" parquet:"source"`
}

// Time returns the event time.
func (e *Event) Time() time.Time { return time.UnixMicro(e.EventTime).UTC() }

// VisitorID is who the event counts for in unique visitors: the anonymous
// id when there is one (it is stable before and after login), else the user id.
func (e *Event) VisitorID() string {
	if e.AnonymousID != "" {
		return e.AnonymousID
	}
	return e.UserID
}

// Limits on field sizes; ingest rejects events that exceed them, naming
// the field as the client sent it, and Validate holds every event to them.
// Lengths are in bytes.
const (
	// MaxIDLen bounds event_id (Segment messageId).
	MaxIDLen = 128
	// MaxVisitorIDLen bounds anonymous_id and user_id (Segment anonymousId
	// and userId, GA4 client_id and user_id): 256 holds any e-mail address
	// used as a user id.
	MaxVisitorIDLen = 256
	// MaxSessionIDLen bounds session_id.
	MaxSessionIDLen = 128
	// MaxTransactionIDLen bounds transaction_id.
	MaxTransactionIDLen = 128
	MaxNameLen          = 128
	MaxMerchantLen      = 64
)

// Limits on amounts and on the JSON of properties.
const (
	// MaxRevenueMinor bounds |revenue_minor| so that a sum of 100 million
	// amounts (MaxSummedAmounts) cannot overflow int64:
	// 100,000,000 × 92,233,720,368 < 2^63. That is 922 million USD (at
	// scale 2) or 92 billion JPY in one event.
	MaxRevenueMinor = math.MaxInt64 / MaxSummedAmounts
	// MaxSummedAmounts is how many amounts of at most MaxRevenueMinor may
	// be added without overflow.
	MaxSummedAmounts = 100_000_000
	// MaxRevenueScale is the largest revenue_scale (ISO 4217's largest
	// minor unit, CLF's 4).
	MaxRevenueScale = 4
	// MaxJSONDepth is how deeply properties may nest: the properties
	// object itself is level 1, {"a":{"b":1}} has 2 levels. BigQuery's
	// JSON columns take 500; real properties use a handful.
	MaxJSONDepth = 32
	// MaxNumberLen bounds the length of a number literal in properties
	// (a longer one carries more digits than any column keeps).
	MaxNumberLen = 64
)

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid event")

// FieldError says which field of an event is wrong and why.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Validate checks the invariants every published event holds. Ingest checks
// protocol-specific rules before building the Event; this is the floor both
// sides rely on.
func (e *Event) Validate() error {
	switch {
	case e.ID == "":
		return &FieldError{"event_id", "is required"}
	case len(e.ID) > MaxIDLen:
		return &FieldError{"event_id", fmt.Sprintf("is longer than %d bytes", MaxIDLen)}
	case len(e.AnonymousID) > MaxVisitorIDLen:
		return &FieldError{"anonymous_id", fmt.Sprintf("is longer than %d bytes", MaxVisitorIDLen)}
	case len(e.UserID) > MaxVisitorIDLen:
		return &FieldError{"user_id", fmt.Sprintf("is longer than %d bytes", MaxVisitorIDLen)}
	case len(e.SessionID) > MaxSessionIDLen:
		return &FieldError{"session_id", fmt.Sprintf("is longer than %d bytes", MaxSessionIDLen)}
	case len(e.TransactionID) > MaxTransactionIDLen:
		return &FieldError{"transaction_id", fmt.Sprintf("is longer than %d bytes", MaxTransactionIDLen)}
	case !ValidMerchantID(e.MerchantID):
		return &FieldError{"merchant_id", "must be 1-64 characters of a-z, 0-9, '_' or '-', starting with a letter or digit"}
	case e.Type == "":
		return &FieldError{"type", "is required"}
	case e.Name == "":
		return &FieldError{"name", "is required"}
	case len(e.Name) > MaxNameLen:
		return &FieldError{"name", fmt.Sprintf("is longer than %d bytes", MaxNameLen)}
	case e.EventTime <= 0:
		return &FieldError{"event_time", "is required"}
	case e.ReceiveTime <= 0:
		return &FieldError{"receive_time", "is required"}
	case e.AnonymousID == "" && e.UserID == "":
		return &FieldError{"anonymous_id", "anonymous_id or user_id is required"}
	case e.RevenueMinor != 0 && len(e.Currency) != 3:
		return &FieldError{"currency", "a 3-letter ISO 4217 code is required with revenue"}
	case e.RevenueMinor > MaxRevenueMinor || e.RevenueMinor < -MaxRevenueMinor:
		return &FieldError{"revenue_minor", fmt.Sprintf("must be within ±%d", int64(MaxRevenueMinor))}
	case e.RevenueScale < 0 || e.RevenueScale > MaxRevenueScale:
		return &FieldError{"revenue_scale", fmt.Sprintf("must be 0 to %d", MaxRevenueScale)}
	case e.Commerce != "" && e.Commerce != CommercePurchase && e.Commerce != CommerceRefund:
		return &FieldError{"commerce", fmt.Sprintf("must be empty, %q or %q", CommercePurchase, CommerceRefund)}
	}
	if e.Properties != "" {
		if err := CheckJSON([]byte(e.Properties), MaxJSONDepth); err != nil {
			return &FieldError{"properties" + err.PathSuffix(), err.Reason}
		}
	}
	return nil
}

// ValidMerchantID reports whether id can be a merchant id. Merchant ids lead
// Bigtable row keys, so they are restricted to characters that sort simply
// and never contain the key separator.
func ValidMerchantID(id string) bool {
	if id == "" || len(id) > MaxMerchantLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// Encode returns the Pub/Sub message body for e (JSON).
func Encode(e *Event) ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("event.Encode: %w", err)
	}
	return b, nil
}

// Decode parses a Pub/Sub message body and validates it.
func Decode(b []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		return Event{}, fmt.Errorf("event.Decode: %w: %w", ErrInvalid, err)
	}
	if err := e.Validate(); err != nil {
		return Event{}, fmt.Errorf("event.Decode: %w", err)
	}
	return e, nil
}

// Attributes returns the Pub/Sub message attributes for e.
func Attributes(e *Event) map[string]string {
	return map[string]string{
		AttrEventID:    e.ID,
		AttrEventTime:  e.Time().Format(time.RFC3339Nano),
		AttrMerchantID: e.MerchantID,
		AttrSchema:     SchemaVersion,
	}
}
