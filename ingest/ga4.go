package ingest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	json "github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"

	"github.com/footfall/footfall/internal/currency"
	"github.com/footfall/footfall/internal/event"
)

// GA4 Measurement Protocol limits (as Google documents them for standard properties).
const (
	mpMaxEvents          = 25
	mpMaxParams          = 25
	mpMaxUserProperties  = 25
	mpMaxNameLen         = 40
	mpMaxParamValueLen   = 100
	mpMaxUserPropNameLen = 24
	mpMaxUserPropValLen  = 36
	mpMaxItems           = 200
)

// GA4 validation codes (validationMessages[].validationCode).
const (
	codeValueInvalid      = "VALUE_INVALID"
	codeValueRequired     = "VALUE_REQUIRED"
	codeNameInvalid       = "NAME_INVALID"
	codeNameReserved      = "NAME_RESERVED"
	codeValueOutOfBounds  = "VALUE_OUT_OF_BOUNDS"
	codeExceededMaxEntity = "EXCEEDED_MAX_ENTITIES"
)

// ValidationMessage is one problem with a GA4 request, as GA's validation
// server reports it.
type ValidationMessage struct {
	FieldPath      string `json:"fieldPath"`
	Description    string `json:"description"`
	ValidationCode string `json:"validationCode"`
}

type mpResponse struct {
	ValidationMessages []ValidationMessage `json:"validationMessages"`
}

// mpRequest is the body of POST /mp/collect.
type mpRequest struct {
	ClientID        json.RawMessage   `json:"client_id"`
	UserID          json.RawMessage   `json:"user_id"`
	TimestampMicros json.RawMessage   `json:"timestamp_micros"`
	UserProperties  json.RawMessage   `json:"user_properties"`
	IPOverride      json.RawMessage   `json:"ip_override"`
	Events          []json.RawMessage `json:"events"`
}

type mpEvent struct {
	Name            json.RawMessage `json:"name"`
	Params          json.RawMessage `json:"params"`
	TimestampMicros json.RawMessage `json:"timestamp_micros"`
}

// Names GA reserves (events, parameters, user properties).
var (
	mpReservedEvents = map[string]bool{
		"ad_activeview": true, "ad_click": true, "ad_exposure": true, "ad_query": true, "ad_reward": true,
		"adunit_exposure": true, "app_background": true, "app_clear_data": true, "app_exception": true,
		"app_install": true, "app_remove": true, "app_store_refund": true, "app_store_subscription_cancel": true,
		"app_store_subscription_convert": true, "app_store_subscription_renew": true, "app_update": true,
		"app_upgrade": true, "dynamic_link_app_open": true, "dynamic_link_app_update": true,
		"dynamic_link_first_open": true, "error": true, "first_open": true, "first_visit": true,
		"in_app_purchase": true, "notification_dismiss": true, "notification_foreground": true,
		"notification_open": true, "notification_receive": true, "os_update": true, "session_start": true,
		"session_start_with_rollout": true, "user_engagement": true,
	}
	mpReservedUserProps = map[string]bool{
		"first_open_time": true, "first_visit_time": true, "last_deep_link_referrer": true,
		"user_id": true, "first_open_after_install": true,
	}
	mpReservedPrefixes = []string{"_", "firebase_", "ga_", "google_", "gtag."}
)

// mpName checks a GA event, parameter or user property name.
func mpName(name string, maxLen int) (code, desc string) {
	switch {
	case name == "":
		return codeValueRequired, "name is required"
	case len(name) > maxLen:
		return codeValueOutOfBounds, fmt.Sprintf("name %s is longer than %d characters", quote(name), maxLen)
	}
	lower := strings.ToLower(name)
	for _, p := range mpReservedPrefixes {
		if strings.HasPrefix(lower, p) {
			return codeNameReserved, fmt.Sprintf("name %s starts with the reserved prefix %q", quote(name), p)
		}
	}
	for i := 0; i < len(name); i++ {
		ch := name[i]
		letter := ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z'
		if i == 0 && !letter {
			return codeNameInvalid, fmt.Sprintf("name %s must start with a letter", quote(name))
		}
		if !letter && !(ch >= '0' && ch <= '9') && ch != '_' {
			return codeNameInvalid, fmt.Sprintf("name %s may contain only letters, digits and underscores", quote(name))
		}
	}
	return "", ""
}

// mpParsed is a validated GA4 request: events ready to publish (perhaps
// with warnings about fields that were dropped), or the validation messages
// that say why not.
type mpParsed struct {
	events   []*event.Event
	msgs     []ValidationMessage
	warnings []ValidationMessage // accepted events that lost a field (revenue)
	total    int                 // events in the request
}

func (p *mpParsed) add(path, code, desc string) {
	p.msgs = append(p.msgs, ValidationMessage{FieldPath: path, Description: desc, ValidationCode: code})
}

func (p *mpParsed) warn(path, code, desc string) {
	p.warnings = append(p.warnings, ValidationMessage{FieldPath: path, Description: desc, ValidationCode: code})
}

// mpString decodes an optional JSON string field; ok is false (and a
// message added) when it is present but not a string.
func (p *mpParsed) mpString(raw json.RawMessage, path string) (string, bool) {
	if !hasJSON(raw) {
		return "", true
	}
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		p.add(path, codeValueInvalid, path+" must be a string")
		return "", false
	}
	return s, true
}

// mpMicros decodes an optional timestamp in Unix microseconds (a JSON
// integer, or an integer in a string as some clients send).
func (p *mpParsed) mpMicros(raw json.RawMessage, path string) (int64, bool) {
	if !hasJSON(raw) {
		return 0, true
	}
	s := string(bytes.Trim(raw, `"`))
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		p.add(path, codeValueInvalid, path+" must be a positive integer (Unix time in microseconds)")
		return 0, false
	}
	return v, true
}

// mpDepth is how deeply a GA4 body may nest: the body, events, an event
// and its params are levels 1-4, and params (level 4) may nest
// event.MaxJSONDepth levels like Segment properties.
const mpDepth = event.MaxJSONDepth + 3

// ga4Events validates a GA4 Measurement Protocol body and maps its events
// onto canonical events. Any validation message rejects the whole request,
// so a client can resend all of it. Each event's id is derived from the
// request (ga4EventID), so a retried request deduplicates.
func (v *validator) ga4Events(body []byte, ri *requestInfo) *mpParsed {
	p := &mpParsed{}
	var req mpRequest
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		p.add("", codeValueInvalid, "body must be a JSON object")
		return p
	}
	// Depth and numbers first, before anything decodes or expands them.
	jerr := event.CheckJSON(trimmed, mpDepth)
	if jerr != nil && !jerr.Malformed { // the decoder describes malformed JSON better
		msg := jerr.Reason
		if strings.HasPrefix(msg, "nests deeper") {
			msg = fmt.Sprintf("nests deeper than %d levels (params and user_properties may nest at most %d)", mpDepth, event.MaxJSONDepth)
		}
		p.add(strings.TrimPrefix(jerr.Path, "."), codeValueOutOfBounds, msg)
		return p
	}
	if err := json.Unmarshal(trimmed, &req); err != nil {
		p.add(jsonErrorField(err), codeValueInvalid, jsonErrorMessage(err))
		return p
	}
	if jerr != nil { // malformed, though the decoder let it pass
		p.add(strings.TrimPrefix(jerr.Path, "."), codeValueInvalid, jerr.Reason)
		return p
	}
	clientID, _ := p.mpString(req.ClientID, "client_id")
	userID, _ := p.mpString(req.UserID, "user_id")
	if hasJSON(req.ClientID) && clientID == "" && len(p.msgs) == 0 {
		p.add("client_id", codeValueRequired, "client_id must not be empty")
	}
	if !hasJSON(req.ClientID) {
		p.add("client_id", codeValueRequired, "client_id is required (the browser's _ga client id)")
	}
	if len(clientID) > event.MaxVisitorIDLen {
		p.add("client_id", codeValueOutOfBounds, fmt.Sprintf("client_id is %d bytes long; the limit is %d", len(clientID), event.MaxVisitorIDLen))
	}
	if len(userID) > event.MaxVisitorIDLen {
		p.add("user_id", codeValueOutOfBounds, fmt.Sprintf("user_id is %d bytes long; the limit is %d", len(userID), event.MaxVisitorIDLen))
	}
	reqMicros, _ := p.mpMicros(req.TimestampMicros, "timestamp_micros")
	ipOverride, _ := p.mpString(req.IPOverride, "ip_override")
	userProps := v.mpUserProperties(p, req.UserProperties)

	p.total = len(req.Events)
	switch {
	case len(req.Events) == 0:
		p.add("events", codeValueRequired, "events must hold at least one event")
	case len(req.Events) > mpMaxEvents:
		p.add("events", codeExceededMaxEntity, fmt.Sprintf("a request may hold at most %d events, got %d", mpMaxEvents, len(req.Events)))
		return p
	}
	country := ri.country
	if ipOverride != "" {
		country = countryOfString(ipOverride)
	}
	var digest [sha256.Size]byte
	if len(p.msgs) == 0 {
		digest = canonicalDigest(trimmed)
	}
	for i, raw := range req.Events {
		e := v.mpEvent(p, raw, "events["+strconv.Itoa(i)+"]", reqMicros, ri)
		if e == nil {
			continue
		}
		e.ID = ga4EventID(ri.merchant, digest, i)
		e.AnonymousID, e.UserID, e.Country = clientID, userID, country
		if userProps != "" {
			e.Properties = withUserProperties(e.Properties, userProps)
		}
		if err := e.Validate(); err != nil {
			p.add("events["+strconv.Itoa(i)+"]", codeValueInvalid, err.Error())
			continue
		}
		p.events = append(p.events, e)
	}
	if len(p.msgs) > 0 {
		p.events, p.warnings = nil, nil
	}
	return p
}

// canonicalDigest hashes a JSON body in its compact form, so that a retry
// that only changes whitespace still yields the same event ids.
func canonicalDigest(body []byte) [sha256.Size]byte {
	buf := bodyPool.Get().(*bytes.Buffer)
	defer bodyPool.Put(buf)
	buf.Reset()
	if json.Compact(buf, body) != nil {
		return sha256.Sum256(body)
	}
	return sha256.Sum256(buf.Bytes())
}

// ga4EventID derives the id of the index-th event of a GA4 request from the
// merchant and the request's canonical bytes (client_id, user_id,
// timestamps, every event's name and params): a retried request gets the
// same ids and the pipeline keeps one copy. Two byte-identical requests
// (no timestamps, same client) within the dedup window therefore count
// once — see docs/ingest.md. 26 characters, like the ULIDs of Segment
// messages without a messageId.
func ga4EventID(merchant string, digest [sha256.Size]byte, index int) string {
	h := sha256.New()
	h.Write([]byte(merchant))
	h.Write([]byte{0})
	h.Write(digest[:])
	var idx [8]byte
	binary.BigEndian.PutUint64(idx[:], uint64(index))
	h.Write(idx[:])
	var sum [sha256.Size]byte
	return ga4IDEncoding.EncodeToString(h.Sum(sum[:0])[:16])
}

var ga4IDEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// mpUserProperties validates user_properties and returns them as compact
// JSON ("" when absent).
func (v *validator) mpUserProperties(p *mpParsed, raw json.RawMessage) string {
	if !hasJSON(raw) {
		return ""
	}
	var ups map[string]json.RawMessage
	if raw[0] != '{' || json.Unmarshal(raw, &ups) != nil {
		p.add("user_properties", codeValueInvalid, `user_properties must be an object of {"name": {"value": ...}}`)
		return ""
	}
	if len(ups) > mpMaxUserProperties {
		p.add("user_properties", codeExceededMaxEntity, fmt.Sprintf("at most %d user properties, got %d", mpMaxUserProperties, len(ups)))
		return ""
	}
	n := len(p.msgs)
	for name, val := range ups {
		path := "user_properties." + name
		if code, desc := mpName(name, mpMaxUserPropNameLen); code != "" {
			p.add(path, code, "user property "+desc)
			continue
		}
		if mpReservedUserProps[name] {
			p.add(path, codeNameReserved, "user property name "+quote(name)+" is reserved")
			continue
		}
		var up struct {
			Value json.RawMessage `json:"value"`
		}
		if !hasJSON(val) || val[0] != '{' || json.Unmarshal(val, &up) != nil {
			p.add(path, codeValueInvalid, `must be an object {"value": ...}`)
			continue
		}
		v.mpScalar(p, up.Value, path+".value", mpMaxUserPropValLen, false)
	}
	if len(p.msgs) > n {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return ""
	}
	return buf.String()
}

// mpScalar checks a parameter or user property value: a string of at most
// maxLen characters, a number or a boolean (null only when allowNull).
func (v *validator) mpScalar(p *mpParsed, raw json.RawMessage, path string, maxLen int, allowNull bool) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0:
		p.add(path, codeValueRequired, "value is required")
	case raw[0] == '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			p.add(path, codeValueInvalid, "value is not a valid JSON string")
		} else if n := utf8.RuneCountInString(s); n > maxLen {
			p.add(path, codeValueOutOfBounds, fmt.Sprintf("value is %d characters; the limit is %d", n, maxLen))
		}
	case raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9':
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			p.add(path, codeValueInvalid, "value is not a valid number")
		}
	case string(raw) == "true" || string(raw) == "false":
	case string(raw) == "null" && allowNull:
	default:
		p.add(path, codeValueInvalid, "value must be a string, a number or a boolean")
	}
}

// mpEvent validates one event and maps it (nil when invalid; messages added).
func (v *validator) mpEvent(p *mpParsed, raw json.RawMessage, path string, reqMicros int64, ri *requestInfo) *event.Event {
	n := len(p.msgs)
	var me mpEvent
	if !hasJSON(raw) || raw[0] != '{' || json.Unmarshal(raw, &me) != nil {
		p.add(path, codeValueInvalid, "event must be an object {\"name\": ..., \"params\": {...}}")
		return nil
	}
	name, ok := p.mpString(me.Name, path+".name")
	if ok {
		if code, desc := mpName(name, mpMaxNameLen); code != "" {
			p.add(path+".name", code, "event "+desc)
		} else if mpReservedEvents[name] {
			p.add(path+".name", codeNameReserved, "event name "+quote(name)+" is reserved")
		}
	}
	micros, _ := p.mpMicros(me.TimestampMicros, path+".timestamp_micros")
	tsPath := path + ".timestamp_micros"
	if micros == 0 {
		micros, tsPath = reqMicros, "timestamp_micros"
	}
	t := ri.received
	if micros != 0 {
		t = time.UnixMicro(micros).UTC()
		if msg := v.checkTime(t, ri.received); msg != "" {
			p.add(tsPath, codeValueOutOfBounds, "timestamp "+msg)
		}
	}

	e := &event.Event{
		MerchantID: ri.merchant, Type: event.TypeTrack, Name: name,
		EventTime: t.UnixMicro(), ReceiveTime: ri.received.UnixMicro(), Source: event.SourceGA4,
		UserAgent: ri.userAgent,
	}
	var value, cur, valuePath string
	if hasJSON(me.Params) {
		var params map[string]json.RawMessage
		if me.Params[0] != '{' || json.Unmarshal(me.Params, &params) != nil {
			p.add(path+".params", codeValueInvalid, "params must be an object")
			return nil
		}
		if len(params) > mpMaxParams {
			p.add(path+".params", codeExceededMaxEntity, fmt.Sprintf("an event may have at most %d params, got %d", mpMaxParams, len(params)))
		}
		for k, val := range params {
			pp := path + ".params." + k
			if code, desc := mpName(k, mpMaxNameLen); code != "" {
				p.add(pp, code, "param "+desc)
				continue
			}
			if k == "items" {
				var items []json.RawMessage
				if json.Unmarshal(val, &items) != nil {
					p.add(pp, codeValueInvalid, "items must be an array of objects")
					continue
				}
				if len(items) > mpMaxItems {
					p.add(pp, codeExceededMaxEntity, fmt.Sprintf("at most %d items, got %d", mpMaxItems, len(items)))
					continue
				}
				for j, it := range items {
					if len(it) == 0 || it[0] != '{' {
						p.add(pp+"["+strconv.Itoa(j)+"]", codeValueInvalid, "items must be an array of objects")
						break
					}
				}
				continue
			}
			before := len(p.msgs)
			v.mpScalar(p, val, pp, mpMaxParamValueLen, false)
			if len(p.msgs) > before {
				continue
			}
			s := scalarText(val)
			switch k {
			case "session_id":
				if len(s) > event.MaxSessionIDLen {
					p.add(pp, codeValueOutOfBounds, fmt.Sprintf("session_id is %d bytes long; the limit is %d", len(s), event.MaxSessionIDLen))
				}
				e.SessionID = s
			case "transaction_id":
				if len(s) > event.MaxTransactionIDLen {
					p.add(pp, codeValueOutOfBounds, fmt.Sprintf("transaction_id is %d bytes long; the limit is %d", len(s), event.MaxTransactionIDLen))
				}
				e.TransactionID = s
			case "page_location":
				e.PageURL = s
			case "page_referrer":
				e.Referrer = s
			case "page_title":
				e.PageTitle = s
			case "value":
				value, valuePath = s, pp
			case "currency":
				cur = currency.Normalize(s)
			}
		}
		var buf bytes.Buffer
		if json.Compact(&buf, me.Params) == nil {
			e.Properties = buf.String()
		}
	}
	if e.PageURL != "" {
		fromPageURL(e)
	}
	if value != "" && cur != "" {
		// An unusable amount costs the revenue, not the request.
		minor, scale, err := toMinorUnits(value, cur)
		if err != nil {
			p.warn(valuePath, codeValueInvalid, err.Error()+droppedRevenue)
		} else {
			e.RevenueMinor, e.RevenueScale, e.Currency = minor, scale, cur
		}
	}
	e.Commerce = ri.commerceOf(e.Name)
	if len(p.msgs) > n {
		return nil
	}
	return e
}

// scalarText is a validated scalar's text: a string's value, else the JSON literal.
func scalarText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		_ = json.Unmarshal(raw, &s)
		return s
	}
	return string(raw)
}

// withUserProperties adds the user properties to an event's properties
// under "_user_properties" (GA reserves the "_" prefix, so no param can
// collide with it).
func withUserProperties(props, ups string) string {
	if props == "" || props == "{}" {
		return `{"_user_properties":` + ups + `}`
	}
	return props[:len(props)-1] + `,"_user_properties":` + ups + `}`
}

// mpFail answers a whole-request failure in GA's validationMessages format.
func (s *Server) mpFail(c *fiber.Ctx, re *requestError) error {
	s.stats.requestsRejected.WithLabelValues(re.reason).Inc()
	if re.retry > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(re.retry))
	}
	if re.status < 500 && re.status != fiber.StatusTooManyRequests {
		s.logger(c).Info("request rejected", "status", re.status, "reason", re.reason, "error", re.msg, "path", c.Path())
	}
	return c.Status(re.status).JSON(mpResponse{ValidationMessages: []ValidationMessage{{FieldPath: re.field, Description: re.msg, ValidationCode: re.code}}})
}

// mpCredentials are the GA4 query parameters that identify a merchant.
type mpCredentials struct {
	measurementID, apiSecret string
}

func mpCredentialsOf(c *fiber.Ctx) mpCredentials {
	return mpCredentials{measurementID: c.Query("measurement_id"), apiSecret: c.Query("api_secret")}
}

// errMPCredentials is the one answer to every GA4 credential failure
// (missing, unknown measurement_id, unknown api_secret, or the api_secret
// of another merchant): a caller learns nothing about which part was wrong.
var errMPCredentials = &requestError{status: fiber.StatusUnauthorized, reason: "unauthorized", field: "api_secret", code: codeValueInvalid,
	msg: "measurement_id and api_secret do not identify a footfall stream: send your write key as measurement_id and an API secret of the same merchant as api_secret"}

// mpMerchant resolves measurement_id (a write key) and api_secret (an API
// secret of the same merchant); ok is false for any other combination.
func (s *Server) mpMerchant(cr mpCredentials) (merchant string, ok bool) {
	if cr.measurementID == "" || cr.apiSecret == "" {
		return "", false
	}
	m1, ok1 := s.keys.ByWriteKey(cr.measurementID)
	m2, ok2 := s.keys.BySecret(cr.apiSecret)
	if !ok1 || !ok2 || m1 != m2 {
		return "", false
	}
	return m1, true
}

// handleMPCollect serves POST /mp/collect and, with debug, POST
// /debug/mp/collect. collect answers 204 once every event is acknowledged
// by Pub/Sub, and (unlike Google, which answers 2xx and drops what is
// invalid) 400 with validationMessages when anything is invalid, accepting
// nothing. debug validates, publishes nothing and always answers 200 with
// validationMessages (empty when valid), as GA's validation server does.
func (s *Server) handleMPCollect(debug bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		received := s.receiveTime()
		ip := s.clientIP(c)
		// A client that keeps failing authentication is refused before its
		// credentials are even looked at: guessing API secrets is slow.
		if rerr := s.authGate(c, ip, event.SourceGA4); rerr != nil {
			return s.mpFail(c, rerr)
		}
		merchant, authOK := s.mpMerchant(mpCredentialsOf(c))
		if !authOK {
			s.authFailed(ip, event.SourceGA4)
			if !debug {
				return s.mpFail(c, errMPCredentials)
			}
		}
		if authOK && !debug {
			if rerr := s.admitEarly(c, merchant, event.SourceGA4, 1); rerr != nil {
				return s.mpFail(c, rerr)
			}
		}
		b, rerr := s.readBody(c, MaxMPBytes)
		if rerr != nil {
			if debug {
				return c.JSON(mpResponse{ValidationMessages: []ValidationMessage{{Description: rerr.msg, ValidationCode: rerr.code}}})
			}
			return s.mpFail(c, rerr)
		}
		defer b.release()
		ri := s.requestInfo(c, merchant, received)
		if ri.merchant == "" {
			ri.merchant = "debug" // any valid id: debug publishes nothing
		}
		p := s.val.ga4Events(b.b, ri)
		if debug {
			msgs := append(p.msgs, p.warnings...)
			if !authOK {
				msgs = append([]ValidationMessage{{FieldPath: errMPCredentials.field, Description: errMPCredentials.msg, ValidationCode: errMPCredentials.code}}, msgs...)
			}
			if msgs == nil {
				msgs = []ValidationMessage{}
			}
			return c.JSON(mpResponse{ValidationMessages: msgs})
		}
		if len(p.msgs) > 0 {
			s.stats.eventsRejected.WithLabelValues(event.SourceGA4, "invalid").Add(float64(max(p.total, 1)))
			s.logger(c).Info("GA4 request rejected", "merchant", merchant, "messages", len(p.msgs), "first_field", p.msgs[0].FieldPath, "first_error", p.msgs[0].Description)
			return c.Status(fiber.StatusBadRequest).JSON(mpResponse{ValidationMessages: p.msgs})
		}
		if rerr := s.admit(c, merchant, event.SourceGA4, len(p.events)); rerr != nil {
			return s.mpFail(c, rerr)
		}
		if rerr := s.publish(c, p.events); rerr != nil {
			return s.mpFail(c, rerr)
		}
		if len(p.warnings) > 0 {
			s.stats.fieldsDropped.WithLabelValues(event.SourceGA4, "revenue").Add(float64(len(p.warnings)))
			s.logger(c).Info("fields dropped from accepted GA4 events", "merchant", merchant, "warnings", len(p.warnings),
				"first_field", p.warnings[0].FieldPath, "first_warning", p.warnings[0].Description)
			return c.JSON(mpWarnings{Warnings: p.warnings})
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// mpWarnings is the body of a 200 from /mp/collect: every event was
// accepted, but some lost a field (an amount that could not be used).
type mpWarnings struct {
	Warnings []ValidationMessage `json:"warnings"`
}
