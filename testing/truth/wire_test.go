package truth

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	json "github.com/goccy/go-json"
)

// fakeIngest records request bodies and answers Segment batches with 400
// for messages whose event is "bad", like ingest's partial batches.
type fakeIngest struct {
	mu     sync.Mutex
	bodies []string
	uas    []string
}

func (f *fakeIngest) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.bodies = append(f.bodies, string(b))
	f.uas = append(f.uas, r.Header.Get("User-Agent"))
	f.mu.Unlock()
	if strings.HasPrefix(r.URL.Path, "/mp/") {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var batch struct {
		Batch []map[string]any `json:"batch"`
	}
	json.Unmarshal(b, &batch)
	var errs []map[string]any
	for i, m := range batch.Batch {
		if m["event"] == "bad" {
			errs = append(errs, map[string]any{"index": i, "field": "event", "message": "bad"})
		}
	}
	if len(errs) > 0 {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"accepted": len(batch.Batch) - len(errs), "errors": errs})
		return
	}
	json.NewEncoder(w).Encode(map[string]any{"success": true, "accepted": len(batch.Batch), "warnings": []string{"x"}})
}

func TestSend(t *testing.T) {
	f := &fakeIngest{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	v := &Visitor{Merchant: "m", Anon: "a", UA: UAFirefoxMac, Country: "GB"}
	g := &Visitor{Merchant: "m", Anon: "c", UA: UASafariIPhone, GA4: true, Session: "s9"}
	now := time.Now().UTC()
	noTS := v.Track(now.Add(-time.Hour), "retry", "", nil)
	noTS.NoTimestamp = true
	skew := v.Track(now.Add(-time.Hour), "skewed", "", nil)
	skew.SentAtSkew = 5 * time.Minute
	reqs := append(Segment("m", v.Page(now.Add(-time.Hour), Shop+"/caf%C3%A9?utm_source=x", "https://t.co/"), v.Track(now, "bad", "", nil), noTS, skew),
		Request{Merchant: "m", GA4: true, Repeat: 1, Msgs: []Msg{g.Purchase(now.Add(-time.Hour), Shop+"/café", "12.50", "EUR", "t1")}})
	before := time.Now()
	sent, err := (&Sender{IngestURL: srv.URL, Keys: map[string]Keys{"m": {"wk", "sec"}}}).Send(context.Background(), reqs)
	after := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	if len(f.bodies) != 3 {
		t.Fatalf("%d requests, want 3 (a batch, a GA4 request and its retry)", len(f.bodies))
	}
	if f.bodies[1] != f.bodies[2] {
		t.Errorf("a retried GA4 request differs:\n%s\n%s", f.bodies[1], f.bodies[2])
	}
	if f.uas[0] != "" || f.uas[1] != UASafariIPhone {
		t.Errorf("user agents %q, want none for Segment (messages carry theirs) and the visitor's for GA4", f.uas)
	}
	// Acknowledged: all but the rejected message, the GA4 event twice.
	var names []string
	for _, h := range sent.Hits {
		names = append(names, h.Name)
	}
	if got, want := strings.Join(names, ","), "page_view,retry,skewed,purchase,purchase"; got != want {
		t.Errorf("acknowledged %s, want %s", got, want)
	}
	if len(sent.Rejected) != 1 || len(sent.Warnings) != 0 {
		t.Errorf("rejected %q, warnings %q; want the one 400", sent.Rejected, sent.Warnings)
	}
	if h := sent.Hits[1]; h.At.Before(before) || h.At.After(after) {
		t.Errorf("a message without timestamp has event time %s, want its receive time (between %s and %s)", h.At, before, after)
	}
	if h := sent.Hits[2]; h.At.Sub(skew.Hit.At) < 0 || h.At.Sub(skew.Hit.At) > after.Sub(before) {
		t.Errorf("a skewed message has event time %s, want %s + latency", h.At, skew.Hit.At)
	}
	if sent.Hits[3].ID != sent.Hits[4].ID || !strings.HasPrefix(sent.Hits[3].ID, "ga4-") {
		t.Errorf("a retried GA4 event has ids %s and %s, want one derived id", sent.Hits[3].ID, sent.Hits[4].ID)
	}
	// What the wire carries.
	var batch struct {
		Batch []map[string]any `json:"batch"`
	}
	json.Unmarshal([]byte(f.bodies[0]), &batch)
	page, skewed := batch.Batch[0], batch.Batch[3]
	if p := page["properties"].(map[string]any); p["path"] != "/caf%C3%A9" || p["url"] != Shop+"/caf%C3%A9?utm_source=x" || p["referrer"] != "https://t.co/" {
		t.Errorf("page call properties %v", p)
	}
	if c := page["context"].(map[string]any); c["ip"] != IPs["GB"] || c["userAgent"] != UAFirefoxMac {
		t.Errorf("page call context %v", c)
	}
	if _, ok := batch.Batch[2]["timestamp"]; ok {
		t.Errorf("a NoTimestamp message has a timestamp: %v", batch.Batch[2])
	}
	ts, _ := time.Parse(time.RFC3339Nano, skewed["timestamp"].(string))
	sentAt, _ := time.Parse(time.RFC3339Nano, skewed["sentAt"].(string))
	if !ts.Equal(skew.Hit.At.Add(-5*time.Minute)) || sentAt.Before(before.Add(-5*time.Minute-time.Second)) || sentAt.After(after.Add(-5*time.Minute)) {
		t.Errorf("skewed message: timestamp %s, sentAt %s", ts, sentAt)
	}
	var ga4 struct {
		ClientID string `json:"client_id"`
		Events   []struct {
			Name   string         `json:"name"`
			Params map[string]any `json:"params"`
			Micros int64          `json:"timestamp_micros"`
		} `json:"events"`
	}
	json.Unmarshal([]byte(f.bodies[1]), &ga4)
	p := ga4.Events[0].Params
	if ga4.ClientID != "c" || ga4.Events[0].Name != "purchase" || p["transaction_id"] != "t1" || p["currency"] != "EUR" || p["value"] != 12.5 ||
		p["page_location"] != Shop+"/café" || p["session_id"] != "s9" {
		t.Errorf("GA4 request %s", f.bodies[1])
	}
}

func TestArchived(t *testing.T) {
	v := &Visitor{Merchant: "m", Anon: "a", UA: UAFirefoxMac, Country: "GB", Session: "s1"}
	g := &Visitor{Merchant: "m", Anon: "c", GA4: true, UA: UASafariIPhone}
	at := time.Date(2026, 10, 4, 3, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		msg   Msg
		check func(e map[string]any) bool
	}{
		{"Segment page", v.Page(at, Shop+"/caf%C3%A9?utm_source=news&utm_campaign=w", "https://t.co/"), func(e map[string]any) bool {
			return e["type"] == "page" && e["name"] == "page_view" && e["page_path"] == "/caf%C3%A9" && e["utm_source"] == "news" &&
				e["utm_campaign"] == "w" && e["referrer"] == "https://t.co/" && e["session_id"] == "s1" && e["country"] == "GB" && e["source"] == "segment"
		}},
		{"GA4 purchase", g.Purchase(at, Shop+"/caf%C3%A9", "1.234", "BHD", "t1"), func(e map[string]any) bool {
			return e["type"] == "track" && e["page_path"] == "/café" && e["revenue_minor"] == float64(1234) && e["currency"] == "BHD" &&
				e["revenue_scale"] == float64(3) && e["transaction_id"] == "t1" &&
				strings.Contains(e["properties"].(string), `"transaction_id":"t1"`) && e["source"] == "ga4"
		}},
		{"Segment order", v.Purchase(at, "", "12,50", "EUR", "o1"), func(e map[string]any) bool {
			return e["revenue_minor"] == nil && strings.Contains(e["properties"].(string), `"order_id":"o1"`)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := Archived(tc.msg, at.Add(time.Second))
			if err := e.Validate(); err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(e)
			var got map[string]any
			json.Unmarshal(b, &got)
			if !tc.check(got) {
				t.Errorf("archived event %s", b)
			}
		})
	}
}

// Message ids are unique per message: a visitor named like a user id, and
// the server that knows only that user id, never share one.
func TestMessageIDsAreUnique(t *testing.T) {
	web := &Visitor{Merchant: "m", Anon: "m-customer", UA: UAChromeWindows}
	srv := &Visitor{Merchant: "m", User: "m-customer", UA: UAServerSDK}
	if a, b := web.Track(t0, "x", "", nil).Hit.ID, srv.Track(t0, "x", "", nil).Hit.ID; a == b {
		t.Errorf("a visitor's and a server's first messages share id %s", a)
	}
	seen := map[string]bool{}
	for _, r := range Mix(MixOptions{Merchant: "m", Seed: 3, Visitors: 300, From: t0, To: t0.Add(time.Hour), NoCopies: true}) {
		for _, m := range r.Msgs {
			if seen[m.Hit.ID] {
				t.Fatalf("id %s used twice (%s)", m.Hit.ID, m.Hit.Name)
			}
			seen[m.Hit.ID] = true
		}
	}
}

// Every generated GA4 request is one ingest must accept: at most 25
// events, 25 params each, string values of at most 100 characters.
func TestMixGA4RequestsAreValid(t *testing.T) {
	for _, r := range Mix(MixOptions{Merchant: "m", Seed: 21, Visitors: 400, From: t0, To: t0.Add(time.Hour)}) {
		if !r.GA4 {
			continue
		}
		if len(r.Msgs) > 25 {
			t.Fatalf("a GA4 request of %d events", len(r.Msgs))
		}
		for _, m := range r.Msgs {
			p := m.ga4Params()
			if len(p) > 25 {
				t.Errorf("%s has %d params", m.Hit.Name, len(p))
			}
			for k, v := range p {
				if s, ok := v.(string); ok && len([]rune(s)) > 100 {
					t.Errorf("%s param %s is %d characters: %s", m.Hit.Name, k, len([]rune(s)), s)
				}
			}
		}
	}
}
