package ingest

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	json "github.com/goccy/go-json"
	"github.com/oklog/ulid/v2"

	"github.com/footfall/footfall/internal/currency"
	"github.com/footfall/footfall/internal/event"
)

// segmentMessage is one message of the Segment HTTP Tracking API.
type segmentMessage struct {
	Type              string          `json:"type"`
	Event             string          `json:"event"`
	Name              string          `json:"name"`
	UserID            flexString      `json:"userId"`
	AnonymousID       flexString      `json:"anonymousId"`
	MessageID         string          `json:"messageId"`
	Timestamp         string          `json:"timestamp"`
	OriginalTimestamp string          `json:"originalTimestamp"`
	SentAt            string          `json:"sentAt"`
	Properties        json.RawMessage `json:"properties"`
	Traits            json.RawMessage `json:"traits"`
	Context           segmentContext  `json:"context"`
	GroupID           flexString      `json:"groupId"`
	PreviousID        flexString      `json:"previousId"`
	WriteKey          string          `json:"writeKey"`
}

// messagePool recycles the decoding target of a message (about 500 bytes
// that would otherwise be allocated for every message).
var messagePool = sync.Pool{New: func() any { return new(segmentMessage) }}

type segmentContext struct {
	IP        string     `json:"ip"`
	UserAgent string     `json:"userAgent"`
	SessionID flexString `json:"sessionId"`
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

// segmentProps are the properties footfall reads (the rest is kept
// verbatim). Revenue, currency and the order id are decoded by hand, so a
// value of the wrong type costs the field, not the message.
type segmentProps struct {
	Revenue       json.RawMessage `json:"revenue"`
	Total         json.RawMessage `json:"total"`
	Currency      json.RawMessage `json:"currency"`
	OrderID       json.RawMessage `json:"order_id"`
	TransactionID json.RawMessage `json:"transaction_id"`
	URL           string          `json:"url"`
	Path          string          `json:"path"`
	Referrer      string          `json:"referrer"`
	Title         string          `json:"title"`
}

var errNotFlexString = errors.New("must be a string or a number")

// noProps stands for absent properties; it is never written.
var noProps segmentProps

// flexString accepts a JSON string or number (Segment SDKs send numeric user ids).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*f = ""
	case b[0] == '"' && len(b) >= 2 && b[len(b)-1] == '"' && bytes.IndexByte(b, '\\') < 0:
		*f = flexString(b[1 : len(b)-1]) // no escapes: the common case, no decoder call
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		*f = flexString(b)
	default:
		return errNotFlexString
	}
	return nil
}

// flexFieldError names the id field that is neither a string nor a number
// (goccy/go-json does not say which field a custom decoder refused).
func flexFieldError(raw []byte) string {
	var probe struct {
		UserID      json.RawMessage `json:"userId"`
		AnonymousID json.RawMessage `json:"anonymousId"`
		GroupID     json.RawMessage `json:"groupId"`
		PreviousID  json.RawMessage `json:"previousId"`
		Context     struct {
			SessionID json.RawMessage `json:"sessionId"`
		} `json:"context"`
	}
	if json.Unmarshal(raw, &probe) != nil {
		return ""
	}
	for _, f := range []struct {
		name string
		v    json.RawMessage
	}{{"userId", probe.UserID}, {"anonymousId", probe.AnonymousID}, {"groupId", probe.GroupID}, {"previousId", probe.PreviousID}, {"context.sessionId", probe.Context.SessionID}} {
		var fs flexString
		if len(f.v) > 0 && fs.UnmarshalJSON(f.v) != nil {
			return f.name
		}
	}
	return ""
}

// MessageError says which message of a request is wrong (or, as a warning,
// which field of an accepted message was dropped) and why.
type MessageError struct {
	Index     int    `json:"index"`
	MessageID string `json:"messageId,omitempty"`
	Field     string `json:"field"`
	Message   string `json:"message"`
}

func (e *MessageError) Error() string {
	return fmt.Sprintf("message %d: %s: %s", e.Index, e.Field, e.Message)
}

var segmentTypes = map[string]bool{
	event.TypeTrack: true, event.TypePage: true, event.TypeScreen: true,
	event.TypeIdentify: true, event.TypeGroup: true, event.TypeAlias: true,
}

// problem is a field and what is wrong with it; the zero value is none.
type problem struct{ field, msg string }

func (p problem) ok() bool { return p.field == "" && p.msg == "" }

// segmentEvent validates one raw Segment message and maps it onto the
// canonical event, step by step. forcedType is set for the single-message
// endpoints (/v1/track etc.). A message either becomes an event that passes
// event.Validate — possibly with a warning naming a field that was dropped
// (an unusable revenue) — or yields a MessageError naming the field.
func (v *validator) segmentEvent(raw []byte, idx int, forcedType string, ri *requestInfo) (e *event.Event, warn, merr *MessageError) {
	m, merr := v.decodeSegmentMessage(raw, idx)
	if merr != nil {
		return nil, nil, merr
	}
	defer func() { *m = segmentMessage{}; messagePool.Put(m) }()
	at := func(p problem) *MessageError {
		return &MessageError{Index: idx, MessageID: m.MessageID, Field: p.field, Message: p.msg}
	}
	if p := m.checkTypeAndIDs(forcedType); !p.ok() {
		return nil, nil, at(p)
	}
	props, p := m.knownProps()
	if !p.ok() {
		return nil, nil, at(p)
	}
	e = m.newEvent(ri)
	if p := m.setName(e); !p.ok() {
		return nil, nil, at(p)
	}
	if p := v.setSegmentTime(e, m, ri); !p.ok() {
		return nil, nil, at(p)
	}
	setSegmentPage(e, m, props)
	if p := setSegmentTransaction(e, props); !p.ok() {
		return nil, nil, at(p)
	}
	if p := setSegmentRevenue(e, props); !p.ok() {
		warn = at(p)
	}
	setSegmentEnrichment(e, m, ri)
	if err := e.Validate(); err != nil {
		var fe *event.FieldError
		if errors.As(err, &fe) {
			return nil, nil, at(problem{segmentFieldName(fe.Field), fe.Reason})
		}
		return nil, nil, at(problem{"", err.Error()})
	}
	return e, warn, nil
}

// decodeSegmentMessage checks a message's size and JSON limits (depth,
// numbers: event.CheckJSON, before anything else reads it) and decodes it.
// The caller returns m to messagePool.
func (v *validator) decodeSegmentMessage(raw []byte, idx int) (*segmentMessage, *MessageError) {
	if len(raw) > v.maxMessageBytes {
		return nil, &MessageError{Index: idx, Message: fmt.Sprintf("message is %d bytes; the limit is %d bytes", len(raw), v.maxMessageBytes)}
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, &MessageError{Index: idx, Message: "must be a JSON object"}
	}
	// The message is level 1, so its properties may nest MaxJSONDepth levels.
	jerr := event.CheckJSON(raw, event.MaxJSONDepth+1)
	if jerr != nil && !jerr.Malformed { // the decoder describes malformed JSON better
		return nil, jsonLimitError(idx, raw, jerr)
	}
	m := messagePool.Get().(*segmentMessage)
	err := json.Unmarshal(raw, m)
	if err == nil && jerr == nil {
		return m, nil
	}
	*m = segmentMessage{}
	messagePool.Put(m)
	if err == nil { // malformed, though the decoder let it pass
		return nil, jsonLimitError(idx, raw, jerr)
	}
	field := jsonErrorField(err)
	if field == "" {
		field = flexFieldError(raw)
	}
	return nil, &MessageError{Index: idx, MessageID: probeMessageID(raw), Field: field, Message: jsonErrorMessage(err)}
}

func jsonLimitError(idx int, raw []byte, jerr *event.JSONError) *MessageError {
	msg := jerr.Reason
	if strings.HasPrefix(msg, "nests deeper") {
		msg = fmt.Sprintf("nests deeper than %d levels (properties, traits and context may nest at most %d)", event.MaxJSONDepth+1, event.MaxJSONDepth)
	}
	return &MessageError{Index: idx, MessageID: probeMessageID(raw), Field: strings.TrimPrefix(jerr.Path, "."), Message: msg}
}

// probeMessageID returns a refused message's messageId, when it has a
// usable one (only on the error path).
func probeMessageID(raw []byte) string {
	var probe struct {
		MessageID json.RawMessage `json:"messageId"`
	}
	if json.Unmarshal(raw, &probe) != nil {
		return ""
	}
	if s, ok := jsonString(probe.MessageID); ok && len(s) <= event.MaxIDLen {
		return s
	}
	return ""
}

// checkTypeAndIDs checks the message type and the ids every message needs,
// with their length limits (event.Max*Len).
func (m *segmentMessage) checkTypeAndIDs(forcedType string) problem {
	if forcedType != "" {
		if m.Type != "" && m.Type != forcedType {
			return problem{"type", fmt.Sprintf("is %q but this endpoint takes %q messages", m.Type, forcedType)}
		}
		m.Type = forcedType
	}
	if !segmentTypes[m.Type] {
		if m.Type == "" {
			return problem{"type", "is required (track, page, screen, identify, group or alias)"}
		}
		return problem{"type", fmt.Sprintf("%s is not a Segment message type (track, page, screen, identify, group or alias)", quote(m.Type))}
	}
	if m.UserID == "" && m.AnonymousID == "" {
		return problem{"userId", "userId or anonymousId is required"}
	}
	for _, id := range []struct {
		field string
		v     string
		max   int
	}{
		{"messageId", m.MessageID, event.MaxIDLen},
		{"anonymousId", string(m.AnonymousID), event.MaxVisitorIDLen},
		{"userId", string(m.UserID), event.MaxVisitorIDLen},
		{"context.sessionId", string(m.Context.SessionID), event.MaxSessionIDLen},
	} {
		if len(id.v) > id.max {
			return problem{id.field, fmt.Sprintf("is %d bytes long; the limit is %d", len(id.v), id.max)}
		}
	}
	if hasJSON(m.Properties) && m.Properties[0] != '{' {
		return problem{"properties", "must be an object"}
	}
	if hasJSON(m.Traits) && m.Traits[0] != '{' {
		return problem{"traits", "must be an object"}
	}
	return problem{}
}

// knownProps decodes the properties footfall reads (a shared, read-only
// empty value when there are none).
func (m *segmentMessage) knownProps() (*segmentProps, problem) {
	if !hasJSON(m.Properties) || !mayHaveKnownProps(m.Properties) {
		return &noProps, problem{}
	}
	props := new(segmentProps)
	if err := json.Unmarshal(m.Properties, props); err != nil {
		return nil, problem{"properties." + jsonErrorField(err), jsonErrorMessage(err)}
	}
	return props, problem{}
}

// newEvent fills what the message says directly.
func (m *segmentMessage) newEvent(ri *requestInfo) *event.Event {
	e := &event.Event{
		ID:          m.MessageID,
		MerchantID:  ri.merchant,
		Type:        m.Type,
		AnonymousID: string(m.AnonymousID),
		UserID:      string(m.UserID),
		SessionID:   string(m.Context.SessionID),
		ReceiveTime: ri.received.UnixMicro(),
		Source:      event.SourceSegment,
		UserAgent:   m.Context.UserAgent,
	}
	if e.ID == "" {
		e.ID = ulid.Make().String() // time-ordered; documented as not idempotent
	}
	return e
}

// setName derives the event name from the message type.
func (m *segmentMessage) setName(e *event.Event) problem {
	switch m.Type {
	case event.TypeTrack:
		if m.Event == "" {
			return problem{"event", "is required for track messages"}
		}
		e.Name = m.Event
	case event.TypePage:
		e.Name = event.NamePageView
	case event.TypeScreen:
		e.Name = event.NameScreenView
	case event.TypeGroup:
		if m.GroupID == "" {
			return problem{"groupId", "is required for group messages"}
		}
		e.Name = m.Type
	case event.TypeAlias:
		if m.PreviousID == "" || m.UserID == "" {
			return problem{"previousId", "previousId and userId are required for alias messages"}
		}
		e.Name = m.Type
	default:
		e.Name = m.Type
	}
	if len(e.Name) > event.MaxNameLen {
		return problem{"event", fmt.Sprintf("is longer than %d characters", event.MaxNameLen)}
	}
	return problem{}
}

// setSegmentTime sets the event time: the client's timestamp corrected for
// its clock skew (receivedAt - sentAt), as Segment does; else the receive
// time. It must fall inside the accepted window.
func (v *validator) setSegmentTime(e *event.Event, m *segmentMessage, ri *requestInfo) problem {
	ts, tsField := m.Timestamp, "timestamp"
	if ts == "" && m.OriginalTimestamp != "" {
		ts, tsField = m.OriginalTimestamp, "originalTimestamp"
	}
	sentAt := m.SentAt
	if sentAt == "" {
		sentAt = ri.sentAt
	}
	t, msg, isSent := eventTime(ts, sentAt, ri.received)
	if msg != "" {
		if isSent {
			tsField = "sentAt"
		}
		return problem{tsField, msg}
	}
	if msg := v.checkTime(t, ri.received); msg != "" {
		return problem{tsField, msg}
	}
	e.EventTime = t.UnixMicro()
	return problem{}
}

// setSegmentPage fills the page and campaign fields: context.page,
// overridden by page-call properties; the campaign from context.campaign,
// else from the page URL's query.
func setSegmentPage(e *event.Event, m *segmentMessage, props *segmentProps) {
	pg := &m.Context.Page
	e.PageURL = firstNonEmpty(props.URL, pg.URL)
	e.PagePath = firstNonEmpty(props.Path, pg.Path)
	e.Referrer = firstNonEmpty(props.Referrer, pg.Referrer)
	e.PageTitle = firstNonEmpty(props.Title, pg.Title)
	if e.PageTitle == "" && (m.Type == event.TypePage || m.Type == event.TypeScreen) {
		e.PageTitle = m.Name
	}
	c := &m.Context.Campaign
	e.UTMSource, e.UTMMedium, e.UTMCampaign, e.UTMTerm, e.UTMContent = c.Source, c.Medium, c.Name, c.Term, c.Content
	if e.PageURL != "" && (e.PagePath == "" || e.UTMSource == "" && strings.Contains(e.PageURL, "utm_")) {
		fromPageURL(e)
	}
}

// setSegmentTransaction sets the order id: properties.order_id (Segment's
// e-commerce spec), else properties.transaction_id.
func setSegmentTransaction(e *event.Event, props *segmentProps) problem {
	raw, field := props.OrderID, "properties.order_id"
	if !hasJSON(raw) {
		raw, field = props.TransactionID, "properties.transaction_id"
	}
	if !hasJSON(raw) {
		return problem{}
	}
	var id flexString
	if id.UnmarshalJSON(raw) != nil {
		return problem{field, errNotFlexString.Error()}
	}
	if len(id) > event.MaxTransactionIDLen {
		return problem{field, fmt.Sprintf("is %d bytes long; the limit is %d", len(id), event.MaxTransactionIDLen)}
	}
	e.TransactionID = string(id)
	return problem{}
}

// droppedRevenue ends every warning about an unusable amount.
const droppedRevenue = "; the event was accepted without revenue"

// setSegmentRevenue sets the revenue in minor units, never through a
// float: properties.revenue (else total) with properties.currency (default
// USD). An amount that cannot be used is dropped, and the returned problem
// becomes a warning: the event itself is accepted.
func setSegmentRevenue(e *event.Event, props *segmentProps) problem {
	raw, field := props.Revenue, "properties.revenue"
	if !hasJSON(raw) {
		raw, field = props.Total, "properties.total"
	}
	if !hasJSON(raw) {
		return problem{}
	}
	amount, ok := amountText(raw)
	if !ok {
		return problem{field, "must be a number or a decimal string" + droppedRevenue}
	}
	cur := "USD"
	if hasJSON(props.Currency) {
		c, ok := jsonString(props.Currency)
		if !ok {
			return problem{"properties.currency", "must be a string (an ISO 4217 code)" + droppedRevenue}
		}
		if c != "" {
			cur = currency.Normalize(c)
		}
	}
	minor, scale, err := toMinorUnits(amount, cur)
	if err != nil {
		return problem{field, err.Error() + droppedRevenue}
	}
	e.RevenueMinor, e.RevenueScale, e.Currency = minor, scale, cur
	return problem{}
}

// setSegmentEnrichment adds what only ingest knows: user agent, country
// (the IP itself goes no further), the merchant's commerce kind, and the
// properties verbatim.
func setSegmentEnrichment(e *event.Event, m *segmentMessage, ri *requestInfo) {
	if e.UserAgent == "" {
		e.UserAgent = ri.userAgent
	}
	e.Country = ri.country
	if m.Context.IP != "" {
		// A server-side SDK forwards the end user's IP: it wins over ours.
		e.Country = countryOfString(m.Context.IP)
	}
	e.Commerce = ri.commerceOf(e.Name)
	switch {
	case hasJSON(m.Properties):
		e.Properties = string(m.Properties)
	case hasJSON(m.Traits):
		e.Properties = string(m.Traits)
	}
}

// segmentFieldName maps an event.FieldError's field onto the name the
// Segment client sent.
func segmentFieldName(f string) string {
	switch f {
	case "event_id":
		return "messageId"
	case "anonymous_id":
		return "anonymousId"
	case "user_id":
		return "userId"
	case "session_id":
		return "context.sessionId"
	}
	return f
}

// amountText is the text of an amount sent as a JSON number or as a
// string; ok is false for anything else.
func amountText(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0:
		return "", false
	case raw[0] == '"':
		return jsonString(raw)
	case raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9':
		return string(raw), true
	}
	return "", false
}

// jsonString decodes a JSON string; ok is false when raw is not one.
func jsonString(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(raw, '\\') < 0 && raw[len(raw)-1] == '"' {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// knownProps are the property names segmentProps reads.
var knownProps = [][]byte{[]byte(`"revenue"`), []byte(`"total"`), []byte(`"currency"`), []byte(`"url"`), []byte(`"path"`),
	[]byte(`"referrer"`), []byte(`"title"`), []byte(`"order_id"`), []byte(`"transaction_id"`)}

// mayHaveKnownProps is a cheap pre-check that spares decoding properties
// twice when none of the names footfall reads occurs in them. (A name
// written with escapes, e.g. "\u0075rl", is missed: no SDK does that.)
func mayHaveKnownProps(p []byte) bool {
	for _, k := range knownProps {
		if bytes.Contains(p, k) {
			return true
		}
	}
	return false
}

func hasJSON(r json.RawMessage) bool { return len(r) > 0 && string(r) != "null" }

// checkTime says what is wrong with an event time, or "".
func (v *validator) checkTime(t, received time.Time) string {
	if d := received.Sub(t); d > v.maxAge {
		return fmt.Sprintf("%s is %s in the past; events older than %s are not accepted", t.Format(time.RFC3339), d.Round(time.Second), v.maxAge)
	}
	if d := t.Sub(received); d > v.maxFuture {
		return fmt.Sprintf("%s is %s in the future (more than %s); check the client's clock", t.Format(time.RFC3339), d.Round(time.Second), v.maxFuture)
	}
	return ""
}

// eventTime returns the event time; on error, a message and whether it is
// about sentAt rather than the timestamp.
func eventTime(ts, sentAt string, received time.Time) (time.Time, string, bool) {
	if ts == "" {
		return received, "", false
	}
	t, err := parseTime(ts)
	if err != nil {
		return time.Time{}, "must be an ISO 8601 date-time, got " + quote(ts), false
	}
	if sentAt != "" {
		s, err := parseTime(sentAt)
		if err != nil {
			return time.Time{}, "must be an ISO 8601 date-time, got " + quote(sentAt), true
		}
		t = t.Add(received.Sub(s))
	}
	return t.UTC(), "", false
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			if y := t.Year(); y < 1971 || y > 9999 {
				return time.Time{}, fmt.Errorf("year %d out of range", y)
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not a date-time")
}

// fromPageURL fills the path and the campaign fields the client did not
// send from the page URL. It scans the URL by hand: url.Parse and
// url.Values cost more than the rest of a message's validation.
func fromPageURL(e *event.Event) {
	rest := e.PageURL
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i]
	}
	query := ""
	if i := strings.IndexByte(rest, '?'); i >= 0 {
		rest, query = rest[:i], rest[i+1:]
	}
	if e.PagePath == "" {
		path := rest
		if i := strings.Index(path, "://"); i >= 0 {
			path = path[i+3:]
			if j := strings.IndexByte(path, '/'); j >= 0 {
				path = path[j:]
			} else {
				path = "/"
			}
		}
		// Kept as sent: the pipeline decodes it (docs/metrics.md, "Page
		// paths"), so that a page is one page whichever way it came.
		e.PagePath = path
	}
	if e.UTMSource != "" || !strings.Contains(query, "utm_") {
		return
	}
	var src, med, camp, term, content string
	for query != "" {
		var kv string
		kv, query, _ = strings.Cut(query, "&")
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(k, "utm_") {
			continue
		}
		if u, err := url.QueryUnescape(v); err == nil {
			v = u
		}
		switch k {
		case "utm_source":
			src = firstNonEmpty(src, v)
		case "utm_medium":
			med = firstNonEmpty(med, v)
		case "utm_campaign":
			camp = firstNonEmpty(camp, v)
		case "utm_term":
			term = firstNonEmpty(term, v)
		case "utm_content":
			content = firstNonEmpty(content, v)
		}
	}
	e.UTMSource = src
	e.UTMMedium = firstNonEmpty(e.UTMMedium, med)
	e.UTMCampaign = firstNonEmpty(e.UTMCampaign, camp)
	e.UTMTerm = firstNonEmpty(e.UTMTerm, term)
	e.UTMContent = firstNonEmpty(e.UTMContent, content)
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return strconv.Quote(s)
}
