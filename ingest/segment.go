package ingest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	json "github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"
	"github.com/oklog/ulid/v2"

	"github.com/footfall/footfall/internal/event"
)

// segmentBatch is the body of POST /v1/batch.
type segmentBatch struct {
	Batch    []json.RawMessage `json:"batch"`
	SentAt   string            `json:"sentAt"`
	WriteKey string            `json:"writeKey"`
}

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

// segmentResponse is the body of every Segment endpoint's answer.
type segmentResponse struct {
	Success bool `json:"success"`
	// Accepted counts the messages of the request that were published.
	Accepted int             `json:"accepted"`
	Error    string          `json:"error,omitempty"`
	Errors   []*MessageError `json:"errors,omitempty"`
}

// requestInfo is what ingest knows about the HTTP request itself.
type requestInfo struct {
	merchant  string
	received  time.Time
	sentAt    string // the batch's sentAt, for clock-skew correction
	country   string // from the client IP, when the message has none
	userAgent string // the request's User-Agent, when the message has none
}

func (s *Server) requestInfo(c *fiber.Ctx, merchant string, received time.Time) *requestInfo {
	return &requestInfo{
		merchant:  merchant,
		received:  received,
		country:   countryOf(s.clientIP(c)), // the IP itself goes no further
		userAgent: c.Get(fiber.HeaderUserAgent),
	}
}

var segmentTypes = map[string]bool{
	event.TypeTrack: true, event.TypePage: true, event.TypeScreen: true,
	event.TypeIdentify: true, event.TypeGroup: true, event.TypeAlias: true,
}

// segmentEvent validates one raw Segment message and maps it onto the
// canonical event. forcedType is set for the single-message endpoints
// (/v1/track etc.). A message either becomes an event that passes
// event.Validate or yields a MessageError naming the field.
func (v *validator) segmentEvent(raw []byte, idx int, forcedType string, ri *requestInfo) (*event.Event, *MessageError) {
	bad := func(field, msg string) *MessageError {
		return &MessageError{Index: idx, Field: field, Message: msg}
	}
	if len(raw) > v.maxMessageBytes {
		return nil, bad("", fmt.Sprintf("message is %d bytes; the limit is %d bytes", len(raw), v.maxMessageBytes))
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, bad("", "must be a JSON object")
	}
	m := messagePool.Get().(*segmentMessage)
	defer func() { *m = segmentMessage{}; messagePool.Put(m) }()
	if err := json.Unmarshal(raw, m); err != nil {
		field := jsonErrorField(err)
		if field == "" {
			field = flexFieldError(raw)
		}
		return nil, bad(field, jsonErrorMessage(err))
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
		return nil, merr("type", fmt.Sprintf("%s is not a Segment message type (track, page, screen, identify, group or alias)", quote(m.Type)))
	}
	if m.UserID == "" && m.AnonymousID == "" {
		return nil, merr("userId", "userId or anonymousId is required")
	}
	if len(m.MessageID) > event.MaxIDLen {
		return nil, merr("messageId", fmt.Sprintf("is longer than %d characters", event.MaxIDLen))
	}
	props := &noProps // read-only; allocated only when there is something to decode
	if hasJSON(m.Properties) {
		if m.Properties[0] != '{' {
			return nil, merr("properties", "must be an object")
		}
		if mayHaveKnownProps(m.Properties) {
			props = new(segmentProps)
			if err := json.Unmarshal(m.Properties, props); err != nil {
				return nil, merr("properties."+jsonErrorField(err), jsonErrorMessage(err))
			}
		}
	}
	if hasJSON(m.Traits) && m.Traits[0] != '{' {
		return nil, merr("traits", "must be an object")
	}

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
	case event.TypeGroup:
		if m.GroupID == "" {
			return nil, merr("groupId", "is required for group messages")
		}
		e.Name = m.Type
	case event.TypeAlias:
		if m.PreviousID == "" || m.UserID == "" {
			return nil, merr("previousId", "previousId and userId are required for alias messages")
		}
		e.Name = m.Type
	default:
		e.Name = m.Type
	}
	if len(e.Name) > event.MaxNameLen {
		return nil, merr("event", fmt.Sprintf("is longer than %d characters", event.MaxNameLen))
	}

	// Event time: the client's timestamp corrected for its clock skew
	// (receivedAt - sentAt), as Segment does; else the receive time.
	ts, tsField := m.Timestamp, "timestamp"
	if ts == "" && m.OriginalTimestamp != "" {
		ts, tsField = m.OriginalTimestamp, "originalTimestamp"
	}
	sentAt, sentField := m.SentAt, "sentAt"
	if sentAt == "" {
		sentAt = ri.sentAt
	}
	t, msg, isSent := eventTime(ts, sentAt, ri.received)
	if msg != "" {
		if isSent {
			tsField = sentField
		}
		return nil, merr(tsField, msg)
	}
	if msg := v.checkTime(t, ri.received); msg != "" {
		return nil, merr(tsField, msg)
	}
	e.EventTime = t.UnixMicro()

	// Page fields: context.page, overridden by page-call properties.
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

	// Revenue in minor units, never through a float.
	amount, amountField := props.Revenue, "properties.revenue"
	if amount == "" {
		amount, amountField = props.Total, "properties.total"
	}
	if amount != "" {
		cur := strings.ToUpper(firstNonEmpty(props.Currency, "USD"))
		minor, err := toMinorUnits(string(amount), cur)
		if err != nil {
			return nil, merr(amountField, err.Error())
		}
		e.RevenueMinor, e.Currency = minor, cur
	}

	if e.UserAgent == "" {
		e.UserAgent = ri.userAgent
	}
	e.Country = ri.country
	if m.Context.IP != "" {
		// A server-side SDK forwards the end user's IP: it wins over ours.
		e.Country = countryOfString(m.Context.IP)
	}
	switch {
	case hasJSON(m.Properties):
		e.Properties = string(m.Properties)
	case hasJSON(m.Traits):
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

// knownProps are the property names segmentProps reads.
var knownProps = [][]byte{[]byte(`"revenue"`), []byte(`"total"`), []byte(`"currency"`), []byte(`"url"`), []byte(`"path"`), []byte(`"referrer"`), []byte(`"title"`)}

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
		if p, err := url.PathUnescape(path); err == nil {
			e.PagePath = p
		}
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

// segmentFail answers a whole-request failure in the Segment format.
func (s *Server) segmentFail(c *fiber.Ctx, re *requestError) error {
	s.stats.requestsRejected.WithLabelValues(re.reason).Inc()
	if re.retry > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(re.retry))
	}
	if re.status == fiber.StatusUnauthorized {
		c.Set(fiber.HeaderWWWAuthenticate, `Basic realm="footfall"`)
	}
	if re.status < 500 && re.status != fiber.StatusTooManyRequests {
		s.logger(c).Info("request rejected", "status", re.status, "reason", re.reason, "error", re.msg, "path", c.Path())
	}
	return c.Status(re.status).JSON(segmentResponse{Error: re.msg})
}

var errUnknownWriteKey = &requestError{status: fiber.StatusUnauthorized, reason: "unauthorized",
	msg: "unknown write key: send it as the HTTP Basic user name (empty password) or as writeKey in the body"}

// segmentMerchant resolves the write key from HTTP Basic auth (user name,
// empty password) or, when there is no Authorization header, the body's
// writeKey, and checks a web page's origin against the merchant's
// allowed_origins.
func (s *Server) segmentMerchant(c *fiber.Ctx, bodyKey string) (string, *requestError) {
	if h := c.Get(fiber.HeaderAuthorization); h != "" {
		k, ok := strings.CutPrefix(h, "Basic ")
		if !ok {
			return "", &requestError{status: fiber.StatusUnauthorized, reason: "unauthorized",
				msg: "Authorization must be HTTP Basic with the write key as user name and an empty password"}
		}
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(k))
		if err != nil {
			return "", &requestError{status: fiber.StatusUnauthorized, reason: "unauthorized", msg: "Authorization: Basic credentials are not valid base64"}
		}
		user, _, _ := strings.Cut(string(raw), ":")
		if m, ok := s.keys.ByWriteKey(user); ok {
			return m, s.checkOrigin(c, m)
		}
		return "", errUnknownWriteKey
	}
	if bodyKey != "" {
		if m, ok := s.keys.ByWriteKey(bodyKey); ok {
			return m, s.checkOrigin(c, m)
		}
	}
	return "", errUnknownWriteKey
}

// handleSegmentBatch serves POST /v1/batch.
//
// Partial batches: every valid message is published; invalid ones are not.
// The answer is 200 when all were accepted and 400 when any was rejected,
// with "accepted" and one entry per rejected message in "errors" (index,
// messageId, field, message). Resending the whole batch is safe: accepted
// messages carry their messageId, the idempotency key.
func (s *Server) handleSegmentBatch() fiber.Handler {
	return func(c *fiber.Ctx) error {
		received := s.receiveTime()
		b, rerr := s.readBody(c, MaxBatchBytes)
		if rerr != nil {
			return s.segmentFail(c, rerr)
		}
		defer b.release()
		var batch segmentBatch
		if err := json.Unmarshal(b.b, &batch); err != nil {
			return s.segmentFail(c, &requestError{status: fiber.StatusBadRequest, reason: "malformed",
				msg: "body is not a Segment batch ({\"batch\": [messages]}): " + jsonErrorMessage(err)})
		}
		merchant, rerr := s.segmentMerchant(c, batch.WriteKey)
		if rerr != nil {
			return s.segmentFail(c, rerr)
		}
		if len(batch.Batch) == 0 {
			return s.segmentFail(c, &requestError{status: fiber.StatusBadRequest, reason: "empty",
				msg: "batch is empty or missing: send {\"batch\": [messages]}"})
		}
		ri := s.requestInfo(c, merchant, received)
		ri.sentAt = batch.SentAt
		events := make([]*event.Event, 0, len(batch.Batch))
		var bad []*MessageError
		for i, raw := range batch.Batch {
			e, merr := s.val.segmentEvent(raw, i, "", ri)
			if merr != nil {
				merr.Field = fieldPath(i, merr.Field)
				bad = append(bad, merr)
				continue
			}
			events = append(events, e)
		}
		return s.segmentFinish(c, merchant, events, bad, len(batch.Batch))
	}
}

// handleSegmentSingle serves POST /v1/track, /v1/page, ... : one message
// as the body, at most MaxMessageBytes.
func (s *Server) handleSegmentSingle(typ string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		received := s.receiveTime()
		b, rerr := s.readBody(c, MaxMessageBytes)
		if rerr != nil {
			rerr.msg = fmt.Sprintf("message is larger than the %d-byte limit (after decompression)", MaxMessageBytes)
			return s.segmentFail(c, rerr)
		}
		defer b.release()
		var head struct {
			WriteKey string `json:"writeKey"`
		}
		if err := json.Unmarshal(b.b, &head); err != nil {
			return s.segmentFail(c, &requestError{status: fiber.StatusBadRequest, reason: "malformed",
				msg: "body is not a Segment " + typ + " message (a JSON object): " + jsonErrorMessage(err)})
		}
		merchant, rerr := s.segmentMerchant(c, head.WriteKey)
		if rerr != nil {
			return s.segmentFail(c, rerr)
		}
		e, merr := s.val.segmentEvent(b.b, 0, typ, s.requestInfo(c, merchant, received))
		if merr != nil {
			return s.segmentFinish(c, merchant, nil, []*MessageError{merr}, 1)
		}
		return s.segmentFinish(c, merchant, []*event.Event{e}, nil, 1)
	}
}

// segmentFinish rate-limits and publishes the valid events and answers.
func (s *Server) segmentFinish(c *fiber.Ctx, merchant string, events []*event.Event, bad []*MessageError, total int) error {
	if len(bad) > 0 {
		s.stats.eventsRejected.WithLabelValues(event.SourceSegment, "invalid").Add(float64(len(bad)))
	}
	if len(events) > 0 {
		if rerr := s.admit(c, merchant, event.SourceSegment, len(events)); rerr != nil {
			return s.segmentFail(c, rerr)
		}
		if rerr := s.publish(c, events); rerr != nil {
			return s.segmentFail(c, rerr)
		}
	}
	if len(bad) == 0 {
		return c.JSON(segmentResponse{Success: true, Accepted: len(events)})
	}
	msg := fmt.Sprintf("%d of %d messages are invalid and were not accepted (see errors); ", len(bad), total)
	if len(events) > 0 {
		msg += fmt.Sprintf("the other %d were accepted and stored", len(events))
	} else {
		msg += "nothing was accepted"
	}
	s.logger(c).Info("messages rejected", "merchant", merchant, "rejected", len(bad), "accepted", len(events), "first_field", bad[0].Field, "first_error", bad[0].Message)
	return c.Status(fiber.StatusBadRequest).JSON(segmentResponse{Accepted: len(events), Error: msg, Errors: bad})
}

func fieldPath(i int, field string) string {
	p := "batch[" + strconv.Itoa(i) + "]"
	if field != "" {
		p += "." + field
	}
	return p
}
