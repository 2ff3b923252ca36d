package ingest

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"time"

	json "github.com/goccy/go-json"
	"github.com/oklog/ulid/v2"

	"github.com/footfall/footfall/internal/event"
)

// segmentBatch is the body of POST /v1/batch.
type segmentBatch struct {
	Batch    []json.RawMessage `json:"batch"`
	SentAt   string            `json:"sentAt"`
	WriteKey string            `json:"writeKey"`
	Context  json.RawMessage   `json:"context"`
}

// segmentMessage is one message of the Segment HTTP Tracking API.
type segmentMessage struct {
	Type        string          `json:"type"`
	Event       string          `json:"event"`
	Name        string          `json:"name"`
	UserID      flexString      `json:"userId"`
	AnonymousID flexString      `json:"anonymousId"`
	MessageID   string          `json:"messageId"`
	Timestamp   string          `json:"timestamp"`
	SentAt      string          `json:"sentAt"`
	Properties  json.RawMessage `json:"properties"`
	Traits      json.RawMessage `json:"traits"`
	Context     segmentContext  `json:"context"`
	GroupID     flexString      `json:"groupId"`
	PreviousID  flexString      `json:"previousId"`
	WriteKey    string          `json:"writeKey"`
}

type segmentContext struct {
	IP        string `json:"ip"`
	UserAgent string `json:"userAgent"`
	SessionID any    `json:"sessionId"`
	Page      struct {
		URL      string `json:"url"`
		Path     string `json:"path"`
		Referrer string `json:"referrer"`
		Title    string `json:"title"`
		Search   string `json:"search"`
	} `json:"page"`
	Campaign struct {
		Name    string `json:"name"`
		Source  string `json:"source"`
		Medium  string `json:"medium"`
		Term    string `json:"term"`
		Content string `json:"content"`
	} `json:"campaign"`
}

// segmentProps are the properties footfall reads (the rest is kept verbatim).
type segmentProps struct {
	Revenue  json.Number `json:"revenue"`
	Total    json.Number `json:"total"`
	Currency string      `json:"currency"`
	URL      string      `json:"url"`
	Path     string      `json:"path"`
	Referrer string      `json:"referrer"`
	Title    string      `json:"title"`
}

// flexString accepts a JSON string or number (Segment SDKs send numeric user ids).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*f = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		*f = flexString(b)
	default:
		return fmt.Errorf("must be a string or a number")
	}
	return nil
}

// MessageError says which message of a request is wrong and why.
type MessageError struct {
	Index     int    `json:"index"`
	MessageID string `json:"messageId,omitempty"`
	Field     string `json:"field"`
	Message   string `json:"message"`
}

func (e *MessageError) Error() string {
	return fmt.Sprintf("message %d: %s: %s", e.Index, e.Field, e.Message)
}

// requestInfo is what ingest knows about the HTTP request itself.
type requestInfo struct {
	merchant  string
	received  time.Time
	sentAt    string // the batch's sentAt, for clock-skew correction
	country   string // from the client IP, when the message has none
	userAgent string // the request's User-Agent, when the message has none
	countryOf func(ip string) string
}

var segmentTypes = map[string]bool{
	event.TypeTrack: true, event.TypePage: true, event.TypeScreen: true,
	event.TypeIdentify: true, event.TypeGroup: true, event.TypeAlias: true,
}

// segmentEvent validates one raw Segment message and maps it onto the
// canonical event. forcedType is set for the single-message endpoints
// (/v1/track etc.).
func (v *validator) segmentEvent(raw json.RawMessage, idx int, forcedType string, ri *requestInfo) (*event.Event, *MessageError) {
	bad := func(field, msg string) *MessageError {
		return &MessageError{Index: idx, Field: field, Message: msg}
	}
	if len(raw) > v.maxMessageBytes {
		return nil, bad("", fmt.Sprintf("message is %d bytes; the limit is %d bytes", len(raw), v.maxMessageBytes))
	}
	var m segmentMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, bad(jsonErrorField(err), jsonErrorMessage(err))
	}
	merr := func(field, msg string) *MessageError {
		e := bad(field, msg)
		e.MessageID = m.MessageID
		return e
	}
	if forcedType != "" {
		if m.Type != "" && m.Type != forcedType {
			return nil, merr("type", fmt.Sprintf("is %q but this endpoint takes %q messages", m.Type, forcedType))
		}
		m.Type = forcedType
	}
	if !segmentTypes[m.Type] {
		if m.Type == "" {
			return nil, merr("type", "is required (track, page, screen, identify, group or alias)")
		}
		return nil, merr("type", fmt.Sprintf("%q is not a Segment message type (track, page, screen, identify, group or alias)", m.Type))
	}
	if m.UserID == "" && m.AnonymousID == "" {
		return nil, merr("userId", "userId or anonymousId is required")
	}
	if len(m.MessageID) > event.MaxIDLen {
		return nil, merr("messageId", fmt.Sprintf("is longer than %d characters", event.MaxIDLen))
	}
	var props segmentProps
	if len(m.Properties) > 0 && string(m.Properties) != "null" {
		if m.Properties[0] != '{' {
			return nil, merr("properties", "must be an object")
		}
		if err := json.Unmarshal(m.Properties, &props); err != nil {
			return nil, merr("properties."+jsonErrorField(err), jsonErrorMessage(err))
		}
	}

	e := &event.Event{
		ID:          m.MessageID,
		MerchantID:  ri.merchant,
		Type:        m.Type,
		AnonymousID: string(m.AnonymousID),
		UserID:      string(m.UserID),
		ReceiveTime: ri.received.UnixMicro(),
		Source:      event.SourceSegment,
		UserAgent:   m.Context.UserAgent,
	}
	if e.ID == "" {
		e.ID = ulid.Make().String()
	}
	switch m.Type {
	case event.TypeTrack:
		if m.Event == "" {
			return nil, merr("event", "is required for track messages")
		}
		e.Name = m.Event
	case event.TypePage:
		e.Name = event.NamePageView
	case event.TypeScreen:
		e.Name = event.NameScreenView
	default:
		e.Name = m.Type
	}
	if len(e.Name) > event.MaxNameLen {
		return nil, merr("event", fmt.Sprintf("is longer than %d characters", event.MaxNameLen))
	}

	// Event time: the client's timestamp corrected for its clock skew
	// (receivedAt - sentAt), as Segment does; else the receive time.
	t, ferr := eventTime(m.Timestamp, firstNonEmpty(m.SentAt, ri.sentAt), ri.received)
	if ferr != "" {
		return nil, merr(fieldOf(ferr), messageOf(ferr))
	}
	if d := ri.received.Sub(t); d > v.maxAge {
		return nil, merr("timestamp", fmt.Sprintf("%s is %s in the past; events older than %s are not accepted", t.Format(time.RFC3339), d.Round(time.Second), v.maxAge))
	}
	if d := t.Sub(ri.received); d > v.maxFuture {
		return nil, merr("timestamp", fmt.Sprintf("%s is %s in the future; check the client's clock", t.Format(time.RFC3339), d.Round(time.Second)))
	}
	e.EventTime = t.UnixMicro()

	// Page fields: context.page, overridden by page-call properties.
	pg := m.Context.Page
	e.PageURL = firstNonEmpty(props.URL, pg.URL)
	e.PagePath = firstNonEmpty(props.Path, pg.Path)
	e.Referrer = firstNonEmpty(props.Referrer, pg.Referrer)
	e.PageTitle = firstNonEmpty(props.Title, pg.Title, m.Name)
	if e.PagePath == "" && e.PageURL != "" {
		if u, err := url.Parse(e.PageURL); err == nil {
			e.PagePath = u.Path
		}
	}
	c := m.Context.Campaign
	e.UTMSource, e.UTMMedium, e.UTMCampaign, e.UTMTerm, e.UTMContent = c.Source, c.Medium, c.Name, c.Term, c.Content
	if e.UTMSource == "" && e.PageURL != "" {
		utmFromURL(e)
	}
	if m.Context.SessionID != nil {
		e.SessionID = fmt.Sprint(m.Context.SessionID)
	}

	// Revenue in minor units, never through a float.
	amount := props.Revenue
	if amount == "" {
		amount = props.Total
	}
	if amount != "" {
		cur := strings.ToUpper(firstNonEmpty(props.Currency, "USD"))
		minor, err := toMinorUnits(string(amount), cur)
		if err != nil {
			return nil, merr("properties.revenue", err.Error())
		}
		e.RevenueMinor, e.Currency = minor, cur
	}

	if e.UserAgent == "" {
		e.UserAgent = ri.userAgent
	}
	e.Country = ri.country
	if m.Context.IP != "" && ri.countryOf != nil {
		// A server-side SDK forwards the end user's IP: it wins over ours.
		e.Country = ri.countryOf(m.Context.IP)
	}
	switch {
	case len(m.Properties) > 0 && string(m.Properties) != "null":
		e.Properties = string(m.Properties)
	case len(m.Traits) > 0 && string(m.Traits) != "null":
		e.Properties = string(m.Traits)
	}
	if err := e.Validate(); err != nil {
		if fe, ok := err.(*event.FieldError); ok {
			return nil, merr(fe.Field, fe.Reason)
		}
		return nil, merr("", err.Error())
	}
	return e, nil
}

// eventTime returns the event time, or an error "field: message".
func eventTime(ts, sentAt string, received time.Time) (time.Time, string) {
	if ts == "" {
		return received, ""
	}
	t, err := parseTime(ts)
	if err != nil {
		return time.Time{}, "timestamp: must be an ISO 8601 date-time, got " + quote(ts)
	}
	if sentAt != "" {
		if s, err := parseTime(sentAt); err == nil {
			skew := received.Sub(s)
			t = t.Add(skew)
		}
	}
	return t.UTC(), ""
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a date-time")
}

func utmFromURL(e *event.Event) {
	u, err := url.Parse(e.PageURL)
	if err != nil {
		return
	}
	q := u.Query()
	e.UTMSource = q.Get("utm_source")
	e.UTMMedium = firstNonEmpty(e.UTMMedium, q.Get("utm_medium"))
	e.UTMCampaign = firstNonEmpty(e.UTMCampaign, q.Get("utm_campaign"))
	e.UTMTerm = firstNonEmpty(e.UTMTerm, q.Get("utm_term"))
	e.UTMContent = firstNonEmpty(e.UTMContent, q.Get("utm_content"))
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func fieldOf(fe string) string   { f, _, _ := strings.Cut(fe, ": "); return f }
func messageOf(fe string) string { _, m, _ := strings.Cut(fe, ": "); return m }
func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return fmt.Sprintf("%q", s)
}
