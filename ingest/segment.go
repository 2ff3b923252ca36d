package ingest

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	json "github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"

	"github.com/footfall/footfall/internal/event"
)

// segmentBatch is the body of POST /v1/batch.
type segmentBatch struct {
	Batch    []json.RawMessage `json:"batch"`
	SentAt   string            `json:"sentAt"`
	WriteKey string            `json:"writeKey"`
}

// segmentResponse is the body of every Segment endpoint's answer.
type segmentResponse struct {
	Success bool `json:"success"`
	// Accepted counts the messages of the request that were published.
	Accepted int             `json:"accepted"`
	Error    string          `json:"error,omitempty"`
	Errors   []*MessageError `json:"errors,omitempty"`
	// Warnings name fields of accepted messages that were dropped (an
	// amount that could not be used): the message itself was stored.
	Warnings []*MessageError `json:"warnings,omitempty"`
}

// segmentOutcome is what the messages of one request became.
type segmentOutcome struct {
	events   []*event.Event
	bad      []*MessageError // rejected messages
	warnings []*MessageError // accepted messages that lost a field
	total    int
}

// requestInfo is what ingest knows about the HTTP request itself.
type requestInfo struct {
	merchant  string
	received  time.Time
	sentAt    string // the batch's sentAt, for clock-skew correction
	country   string // from the client IP, when the message has none
	userAgent string // the request's User-Agent, when the message has none
	// commerce returns the merchant's commerce kind of an event name (nil: none).
	commerce func(merchant, name string) string
}

func (ri *requestInfo) commerceOf(name string) string {
	if ri.commerce == nil {
		return ""
	}
	return ri.commerce(ri.merchant, name)
}

func (s *Server) requestInfo(c *fiber.Ctx, merchant string, received time.Time) *requestInfo {
	return &requestInfo{
		merchant:  merchant,
		received:  received,
		country:   countryOf(s.clientIP(c)), // the IP itself goes no further
		userAgent: c.Get(fiber.HeaderUserAgent),
		commerce:  s.keys.Commerce,
	}
}

// parseSegmentBatch decodes the body of POST /v1/batch.
func parseSegmentBatch(b []byte) (*segmentBatch, *requestError) {
	var batch segmentBatch
	if err := json.Unmarshal(b, &batch); err != nil {
		return nil, &requestError{status: fiber.StatusBadRequest, reason: "malformed",
			msg: "body is not a Segment batch ({\"batch\": [messages]}): " + jsonErrorMessage(err)}
	}
	return &batch, nil
}

// parseSegmentSingle reads the writeKey of a single-message body (the
// message itself is validated by segmentEvent).
func parseSegmentSingle(b []byte, typ string) (writeKey string, rerr *requestError) {
	var head struct {
		WriteKey string `json:"writeKey"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return "", &requestError{status: fiber.StatusBadRequest, reason: "malformed",
			msg: "body is not a Segment " + typ + " message (a JSON object): " + jsonErrorMessage(err)}
	}
	return head.WriteKey, nil
}

// segmentEvents validates every message of a batch (forcedType "" ) or the
// single message of /v1/<type>.
func (v *validator) segmentEvents(msgs []json.RawMessage, forcedType string, ri *requestInfo) segmentOutcome {
	out := segmentOutcome{events: make([]*event.Event, 0, len(msgs)), total: len(msgs)}
	for i, raw := range msgs {
		e, warn, merr := v.segmentEvent(raw, i, forcedType, ri)
		if forcedType == "" {
			for _, me := range []*MessageError{warn, merr} {
				if me != nil {
					me.Field = fieldPath(i, me.Field)
				}
			}
		}
		if merr != nil {
			out.bad = append(out.bad, merr)
			continue
		}
		if warn != nil {
			out.warnings = append(out.warnings, warn)
		}
		out.events = append(out.events, e)
	}
	return out
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

// basicUser returns the user name of an HTTP Basic Authorization header.
func basicUser(header string) (string, *requestError) {
	k, ok := strings.CutPrefix(header, "Basic ")
	if !ok {
		return "", &requestError{status: fiber.StatusUnauthorized, reason: "unauthorized",
			msg: "Authorization must be HTTP Basic with the write key as user name and an empty password"}
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(k))
	if err != nil {
		return "", &requestError{status: fiber.StatusUnauthorized, reason: "unauthorized", msg: "Authorization: Basic credentials are not valid base64"}
	}
	user, _, _ := strings.Cut(string(raw), ":")
	return user, nil
}

// segmentMerchant resolves the write key from HTTP Basic auth (user name,
// empty password) or, when there is no Authorization header, the body's
// writeKey.
func (s *Server) segmentMerchant(authorization, bodyKey string) (string, *requestError) {
	key := bodyKey
	if authorization != "" {
		user, rerr := basicUser(authorization)
		if rerr != nil {
			return "", rerr
		}
		key = user
	}
	if key != "" {
		if m, ok := s.keys.ByWriteKey(key); ok {
			return m, nil
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
		// With an Authorization header (every SDK sends one) the merchant,
		// and so its rate limit, is known before the body is inflated and
		// decoded: a client that ignores 429 costs almost nothing.
		auth := c.Get(fiber.HeaderAuthorization)
		if auth != "" {
			merchant, rerr := s.segmentMerchant(auth, "")
			if rerr == nil {
				rerr = s.admitEarly(c, merchant, event.SourceSegment, 1)
			}
			if rerr != nil {
				return s.segmentFail(c, rerr)
			}
		}
		b, rerr := s.readBody(c, MaxBatchBytes)
		if rerr != nil {
			return s.segmentFail(c, rerr)
		}
		defer b.release()
		batch, rerr := parseSegmentBatch(b.b)
		if rerr != nil {
			return s.segmentFail(c, rerr)
		}
		merchant, rerr := s.segmentMerchant(auth, batch.WriteKey)
		if rerr != nil {
			return s.segmentFail(c, rerr)
		}
		if len(batch.Batch) == 0 {
			return s.segmentFail(c, &requestError{status: fiber.StatusBadRequest, reason: "empty",
				msg: "batch is empty or missing: send {\"batch\": [messages]}"})
		}
		if rerr := s.admitEarly(c, merchant, event.SourceSegment, len(batch.Batch)); rerr != nil {
			return s.segmentFail(c, rerr)
		}
		ri := s.requestInfo(c, merchant, received)
		ri.sentAt = batch.SentAt
		return s.segmentFinish(c, merchant, s.val.segmentEvents(batch.Batch, "", ri))
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
		writeKey, rerr := parseSegmentSingle(b.b, typ)
		if rerr != nil {
			return s.segmentFail(c, rerr)
		}
		merchant, rerr := s.segmentMerchant(c.Get(fiber.HeaderAuthorization), writeKey)
		if rerr != nil {
			return s.segmentFail(c, rerr)
		}
		if rerr := s.admitEarly(c, merchant, event.SourceSegment, 1); rerr != nil {
			return s.segmentFail(c, rerr)
		}
		return s.segmentFinish(c, merchant, s.val.segmentEvents([]json.RawMessage{b.b}, typ, s.requestInfo(c, merchant, received)))
	}
}

// segmentFinish rate-limits and publishes the valid events and answers.
func (s *Server) segmentFinish(c *fiber.Ctx, merchant string, out segmentOutcome) error {
	events, bad := out.events, out.bad
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
	if len(out.warnings) > 0 {
		s.stats.fieldsDropped.WithLabelValues(event.SourceSegment, "revenue").Add(float64(len(out.warnings)))
		s.logger(c).Info("fields dropped from accepted messages", "merchant", merchant, "messages", len(out.warnings),
			"first_field", out.warnings[0].Field, "first_warning", out.warnings[0].Message)
	}
	if len(bad) == 0 {
		return c.JSON(segmentResponse{Success: true, Accepted: len(events), Warnings: out.warnings})
	}
	msg := fmt.Sprintf("%d of %d messages are invalid and were not accepted (see errors); ", len(bad), out.total)
	if len(events) > 0 {
		msg += fmt.Sprintf("the other %d were accepted and stored", len(events))
	} else {
		msg += "nothing was accepted"
	}
	s.logger(c).Info("messages rejected", "merchant", merchant, "rejected", len(bad), "accepted", len(events), "first_field", bad[0].Field, "first_error", bad[0].Message)
	return c.Status(fiber.StatusBadRequest).JSON(segmentResponse{Accepted: len(events), Error: msg, Errors: bad, Warnings: out.warnings})
}

func fieldPath(i int, field string) string {
	p := "batch[" + strconv.Itoa(i) + "]"
	if field != "" {
		p += "." + field
	}
	return p
}
