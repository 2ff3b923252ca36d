package truth

// Messages as the generator builds them, how they are rendered as Segment
// batches and GA4 Measurement Protocol requests, and how they are sent.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strconv"
	"time"

	json "github.com/goccy/go-json"
)

// Msg is one message of a request and the Hit it becomes once ingest
// acknowledges it.
type Msg struct {
	// Hit is the event as the truth sees it. For NoTimestamp and
	// SentAtSkew messages its At is what the client meant; Send replaces it
	// with the event time ingest computes (docs/ingest.md).
	Hit Hit
	// GA4: a GA4 Measurement Protocol event, else a Segment message.
	GA4 bool
	// Props are the Segment properties (traits for identify) or GA4
	// params besides those rendered from Hit (page, revenue, session id).
	Props map[string]any
	// AmountKey is the property carrying Hit.Amount: Segment "revenue"
	// (default) or "total"; GA4 always "value".
	AmountKey string
	// IP is sent as context.ip (Segment) or ip_override (GA4) so that
	// ingest derives Hit.Country from it.
	IP string
	// NoTimestamp: a Segment message without timestamp (the event time is
	// the receive time).
	NoTimestamp bool
	// SentAtSkew: a Segment message whose client clock is this far behind:
	// timestamp = At − skew and sentAt = send time − skew, so that ingest's
	// correction gives At + the request's latency.
	SentAtSkew time.Duration
}

// Request is one HTTP request to ingest: a Segment batch or a GA4 request
// (whose events share the first event's client id, user id, user agent
// and IP).
type Request struct {
	Merchant string
	GA4      bool
	Msgs     []Msg
	// Repeat sends the very same body this many more times (a client
	// retrying a request whose answer it lost).
	Repeat int
}

// IPs give each country of the generated traffic an address ingest's
// database places there (checked with github.com/phuslu/iploc).
var IPs = map[string]string{"GB": "81.2.69.160", "US": "8.8.8.8", "JP": "133.242.0.3", "DE": "5.9.0.1", "NL": "193.0.6.139"}

// GA4ID is the truth's dedup key for a GA4 event: equal for the same
// client id, name, params and timestamp (docs/metrics.md: ingest derives
// the event id from those, so a retried request is a copy).
func GA4ID(clientID, name string, params map[string]any, micros int64) string {
	p, _ := json.Marshal(params) // sorted keys
	sum := sha256.Sum256([]byte(clientID + "\x00" + name + "\x00" + string(p) + "\x00" + strconv.FormatInt(micros, 10)))
	return "ga4-" + hex.EncodeToString(sum[:12])
}

// ga4Params are the params of a GA4 message as rendered.
func (m *Msg) ga4Params() map[string]any {
	p := maps.Clone(m.Props)
	if p == nil {
		p = map[string]any{}
	}
	h := &m.Hit
	set := func(k, v string) {
		if v != "" {
			p[k] = v
		}
	}
	set("page_location", h.URL)
	set("page_referrer", h.Referrer)
	set("session_id", h.Session)
	set("currency", h.Currency)
	set("transaction_id", h.TxID)
	if h.Amount != "" {
		p["value"] = amountJSON(h.Amount)
	}
	return p
}

// amountJSON renders an amount as a JSON number when it is one (SDKs send
// numbers), else as the string it is.
func amountJSON(a string) any {
	if decimalRE.MatchString(a) {
		return json.Number(a)
	}
	return a
}

// segmentJSON renders a Segment message; now is the send time (sentAt).
func (m *Msg) segmentJSON(now time.Time) map[string]any {
	h := &m.Hit
	out := map[string]any{"type": h.Type, "messageId": h.ID}
	if h.Anon != "" {
		out["anonymousId"] = h.Anon
	}
	if h.User != "" {
		out["userId"] = h.User
	}
	switch {
	case m.NoTimestamp:
	case m.SentAtSkew != 0:
		out["timestamp"] = h.At.Add(-m.SentAtSkew).Format(time.RFC3339Nano)
		out["sentAt"] = now.Add(-m.SentAtSkew).Format(time.RFC3339Nano)
	default:
		out["timestamp"] = h.At.Format(time.RFC3339Nano)
	}
	props := maps.Clone(m.Props)
	if props == nil {
		props = map[string]any{}
	}
	ctx := map[string]any{}
	if h.UA != "" {
		ctx["userAgent"] = h.UA
	}
	if m.IP != "" {
		ctx["ip"] = m.IP
	}
	if h.Session != "" {
		ctx["sessionId"] = h.Session
	}
	page := map[string]any{}
	for k, v := range map[string]string{"url": h.URL, "path": h.Path, "referrer": h.Referrer} {
		if v != "" {
			page[k] = v
		}
	}
	switch h.Type {
	case "track":
		out["event"] = h.Name
	case "page":
		maps.Copy(props, page) // page calls carry them as properties
	case "identify":
		out["traits"], props = props, map[string]any{}
	case "group":
		out["groupId"] = "group-" + h.Anon
	case "alias":
		out["previousId"] = h.Anon
	}
	if len(page) > 0 {
		ctx["page"] = page
	}
	if h.Amount != "" {
		k := m.AmountKey
		if k == "" {
			k = "revenue"
		}
		props[k] = amountJSON(h.Amount)
		if h.Currency != "" {
			props["currency"] = h.Currency
		}
	}
	if h.TxID != "" {
		props["order_id"] = h.TxID
	}
	if len(props) > 0 {
		out["properties"] = props
	}
	out["context"] = ctx
	return out
}

// Body renders the request; now is the send time (Segment sentAt).
func (r *Request) Body(now time.Time) []byte {
	var v any
	if r.GA4 {
		var evs []map[string]any
		for i := range r.Msgs {
			m := &r.Msgs[i]
			evs = append(evs, map[string]any{"name": m.Hit.Name, "params": m.ga4Params(), "timestamp_micros": m.Hit.At.UnixMicro()})
		}
		first := &r.Msgs[0]
		req := map[string]any{"client_id": first.Hit.Anon, "events": evs}
		if first.Hit.User != "" {
			req["user_id"] = first.Hit.User
		}
		if first.IP != "" {
			req["ip_override"] = first.IP
		}
		v = req
	} else {
		var batch []map[string]any
		for i := range r.Msgs {
			batch = append(batch, r.Msgs[i].segmentJSON(now))
		}
		v = map[string]any{"batch": batch}
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// Keys are a merchant's ingest credentials.
type Keys struct{ WriteKey, APISecret string }

// Sender sends requests to ingest.
type Sender struct {
	IngestURL string
	Keys      map[string]Keys // by merchant
	Client    *http.Client
}

// Sent is what ingest acknowledged.
type Sent struct {
	// Hits are the acknowledged events, with the event and receive times
	// ingest gave them (to the request's latency).
	Hits []Hit
	// Warnings and Rejected collect what ingest said about accepted and
	// refused messages ("merchant: status: body").
	Warnings, Rejected []string
}

// Add appends another Sent.
func (s *Sent) Add(o *Sent) {
	s.Hits = append(s.Hits, o.Hits...)
	s.Warnings = append(s.Warnings, o.Warnings...)
	s.Rejected = append(s.Rejected, o.Rejected...)
}

// Send sends every request (and its repeats), retrying 429 and 5xx
// answers as SDKs do, and returns what ingest acknowledged.
func (s *Sender) Send(ctx context.Context, reqs []Request) (*Sent, error) {
	out := &Sent{}
	for i := range reqs {
		r := &reqs[i]
		for n := 0; n <= r.Repeat; n++ {
			if err := s.send(ctx, r, out); err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

func (s *Sender) send(ctx context.Context, r *Request, out *Sent) error {
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	k, ok := s.Keys[r.Merchant]
	if !ok {
		return fmt.Errorf("truth.Send: no keys for merchant %q", r.Merchant)
	}
	for attempt := 0; ; attempt++ {
		before := time.Now()
		body := r.Body(before)
		var req *http.Request
		var err error
		if r.GA4 {
			req, err = http.NewRequestWithContext(ctx, http.MethodPost, s.IngestURL+"/mp/collect?measurement_id="+k.WriteKey+"&api_secret="+k.APISecret, bytes.NewReader(body))
		} else {
			req, err = http.NewRequestWithContext(ctx, http.MethodPost, s.IngestURL+"/v1/batch", bytes.NewReader(body))
		}
		if err != nil {
			return err
		}
		// GA4 events have the request's user agent; Segment messages name
		// their own (an empty header value is not sent at all).
		req.Header["User-Agent"] = []string{""}
		if r.GA4 {
			req.Header["User-Agent"] = []string{r.Msgs[0].Hit.UA}
		} else {
			req.SetBasicAuth(k.WriteKey, "")
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("truth.Send: %w", err)
		}
		rb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		after := time.Now()
		if (resp.StatusCode == 429 || resp.StatusCode >= 500) && attempt < 20 {
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			time.Sleep(time.Duration(max(wait, 1)) * time.Second)
			continue
		}
		accepted := make([]bool, len(r.Msgs))
		switch {
		case resp.StatusCode/100 == 2:
			for i := range accepted {
				accepted[i] = true
			}
			if w := warnings(rb); w != "" {
				out.Warnings = append(out.Warnings, fmt.Sprintf("%s: %d: %s", r.Merchant, resp.StatusCode, w))
			}
		case !r.GA4 && resp.StatusCode == 400:
			var ans struct {
				Errors []struct {
					Index int `json:"index"`
				} `json:"errors"`
			}
			_ = json.Unmarshal(rb, &ans)
			for i := range accepted {
				accepted[i] = true
			}
			for _, e := range ans.Errors {
				if e.Index >= 0 && e.Index < len(accepted) {
					accepted[e.Index] = false
				}
			}
			out.Rejected = append(out.Rejected, fmt.Sprintf("%s: %d: %s", r.Merchant, resp.StatusCode, rb))
		default:
			out.Rejected = append(out.Rejected, fmt.Sprintf("%s: %d: %s", r.Merchant, resp.StatusCode, rb))
		}
		mid := before.Add(after.Sub(before) / 2)
		for i, ok := range accepted {
			if !ok {
				continue
			}
			m := &r.Msgs[i]
			h := m.Hit
			h.Received = mid
			switch {
			case m.NoTimestamp:
				h.At = mid
			case m.SentAtSkew != 0:
				h.At = h.At.Add(mid.Sub(before))
			}
			out.Hits = append(out.Hits, h)
		}
		return nil
	}
}

// warnings is the "warnings" of an answer, or "".
func warnings(body []byte) string {
	var ans struct {
		Warnings json.RawMessage `json:"warnings"`
	}
	if json.Unmarshal(body, &ans) != nil || len(ans.Warnings) == 0 || string(ans.Warnings) == "null" || string(ans.Warnings) == "[]" {
		return ""
	}
	return string(ans.Warnings)
}
