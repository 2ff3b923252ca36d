package demodata

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	json "github.com/goccy/go-json"
)

var (
	to   = time.Date(2026, 11, 26, 12, 34, 0, 0, time.UTC)
	from = to.Add(-30 * time.Hour)
)

func TestGenerate(t *testing.T) {
	evs := Generate(7, 2000, from, to, "t-")
	if len(evs) != 2000 {
		t.Fatalf("got %d events, want 2000", len(evs))
	}
	if again := Generate(7, 2000, from, to, "t-"); !reflect.DeepEqual(evs, again) {
		t.Error("two runs with the same seed differ")
	}
	if other := Generate(8, 2000, from, to, "t-"); reflect.DeepEqual(evs, other) {
		t.Error("two seeds gave the same events")
	}
	ids := map[string]bool{}
	countries := map[string]int{}
	names := map[string]int{}
	visitors := map[string]bool{}
	for i, e := range evs {
		if e.At.Before(from) || !e.At.Before(to) {
			t.Fatalf("event %d at %s, outside [%s, %s)", i, e.At, from, to)
		}
		if i > 0 && e.At.Before(evs[i-1].At) {
			t.Fatalf("event %d is earlier than event %d", i, i-1)
		}
		if ids[e.ID] || !strings.HasPrefix(e.ID, "t-") {
			t.Fatalf("event %d: id %q repeated or without the prefix", i, e.ID)
		}
		ids[e.ID] = true
		if (e.Name == Purchase) != (e.Minor > 0) || (e.Minor > 0) != (e.Currency != "") {
			t.Fatalf("event %d: %s with revenue %d %q: only purchases have revenue", i, e.Name, e.Minor, e.Currency)
		}
		countries[e.Country]++
		names[e.Name]++
		visitors[e.Visitor] = true
	}
	if len(countries) < 6 || len(visitors) < 100 {
		t.Errorf("%d countries and %d visitors: want a varied shop", len(countries), len(visitors))
	}
	if pv := names["page_view"]; pv < 600 || pv > 1400 {
		t.Errorf("%d page views in 2000 events: want about half", pv)
	}
	if names[Purchase] < 20 {
		t.Errorf("%d purchases in 2000 events: want some", names[Purchase])
	}
}

func TestMessage(t *testing.T) {
	cases := []struct {
		name string
		e    Event
		want map[string]any // top-level fields after a JSON round trip
	}{
		{"page view", Event{ID: "a", Name: "page_view", Visitor: "v", Page: "/x", At: from, title: "X", url: site + "/x"},
			map[string]any{"type": "page", "name": "X", "messageId": "a", "anonymousId": "v"}},
		{"purchase", Event{ID: "b", Name: Purchase, Visitor: "v", Page: "/checkout", At: from, Currency: "EUR", Minor: 12905},
			map[string]any{"type": "track", "event": Purchase, "messageId": "b"}},
		{"other", Event{ID: "c", Name: "Product Viewed", Visitor: "v", At: from},
			map[string]any{"type": "track", "event": "Product Viewed"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.e.Message())
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
			if got["timestamp"] != from.Format(time.RFC3339Nano) {
				t.Errorf("timestamp %v", got["timestamp"])
			}
			if tc.e.Minor > 0 && !strings.Contains(string(b), `"revenue":129.05`) {
				t.Errorf("revenue is not the decimal 129.05: %s", b)
			}
		})
	}
}

func TestSend(t *testing.T) {
	var mu sync.Mutex
	var got []int // events per request
	var auth []string
	fail := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Batch []map[string]any `json:"batch"`
		}
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil || r.URL.Path != "/v1/batch" {
			http.Error(w, "bad request", 400)
			return
		}
		user, _, _ := r.BasicAuth()
		mu.Lock()
		got = append(got, len(body.Batch))
		auth = append(auth, user)
		f := fail
		mu.Unlock()
		if f {
			http.Error(w, "event 3: timestamp is too old", 400)
		}
	}))
	defer srv.Close()

	evs := Generate(1, 250, from, to, "s-")
	if err := Send(context.Background(), srv.Client(), srv.URL, "wk", evs); err != nil {
		t.Fatal(err)
	}
	if want := []int{100, 100, 50}; !reflect.DeepEqual(got, want) {
		t.Errorf("batches of %v events, want %v", got, want)
	}
	if auth[0] != "wk" {
		t.Errorf("basic auth user %q, want the write key", auth[0])
	}

	fail = true
	err := Send(context.Background(), srv.Client(), srv.URL, "wk", evs)
	if err == nil || !strings.Contains(err.Error(), "timestamp is too old") {
		t.Errorf("Send to a refusing ingest: %v, want its error", err)
	}
	if err := Send(context.Background(), srv.Client(), "http://192.0.2.1:8080", "wk", evs); err == nil {
		t.Error("Send to a non-loopback address did not refuse")
	}
}
