package truth

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"
)

// fakeAPI serves a model's values the way docs/api.md describes, with
// faults a test can inject.
type fakeAPI struct {
	m        *Model
	merchant string
	refuse   string                                   // a metric answered with 400
	unsealed bool                                     // every answer provisional
	alter    func(metric string, b Bucket, v any) any // changes a served value
}

func (f *fakeAPI) value(metric string, x *Metrics, b Bucket) any {
	var v any
	if metric == "revenue" {
		r := map[string]any{}
		for cur, a := range x.Revenue {
			r[cur] = map[string]any{"minor": a.Saturated(), "amount": a.Decimal(), "scale": a.Scale}
		}
		v = r
	} else if f, ok := x.Value(metric); ok {
		v = f
	}
	return f.alter(metric, b, v)
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	metrics := strings.Split(q.Get("metrics"), ",")
	if slices.Contains(metrics, f.refuse) {
		http.Error(w, `{"detail":"unknown metric"}`, http.StatusBadRequest)
		return
	}
	loc, _ := time.LoadLocation(q.Get("tz"))
	from, _ := time.Parse(time.RFC3339, q.Get("from"))
	to, _ := time.Parse(time.RFC3339, q.Get("to"))
	fill := func(x *Metrics, b Bucket) map[string]any {
		p := map[string]any{}
		for _, m := range metrics {
			p[m] = f.value(m, x, b)
		}
		return p
	}
	var out any
	switch r.URL.Path {
	case "/v1/timeseries":
		var pts []any
		for _, b := range Buckets(q.Get("interval"), loc, from, to) {
			p := fill(f.m.Totals(f.merchant, b.Start, b.End), b)
			if name := q.Get("event"); name != "" {
				p["events"] = f.alter("event="+name, b, float64(f.m.EventCount(f.merchant, name, b.Start, b.End)))
			}
			p["start"], p["end"], p["sealed"] = b.Start.In(loc).Format(time.RFC3339), b.End.In(loc).Format(time.RFC3339), !f.unsealed
			pts = append(pts, p)
		}
		out = map[string]any{"points": pts}
	case "/v1/summary":
		b := Bucket{from, to}
		out = map[string]any{"current": fill(f.m.Totals(f.merchant, from, to), b), "sealed": !f.unsealed}
	case "/v1/breakdown":
		b := Bucket{from, to}
		var rows []any
		for v, x := range f.m.Breakdown(f.merchant, q.Get("dimension"), from, to) {
			p := fill(x, b)
			p["value"] = v
			rows = append(rows, p)
		}
		out = map[string]any{"rows": rows, "other": map[string]any{}, "total": fill(f.m.Totals(f.merchant, from, to), b), "sealed": !f.unsealed}
		if q.Get("dimension") == "exit_page" {
			tot := f.m.Totals(f.merchant, from, to)
			tot.Events, tot.PageViews, tot.Revenue = 0, 0, Revenue{}
			out.(map[string]any)["total"] = fill(tot, b)
		}
	}
	b, _ := json.Marshal(out)
	w.Write(b)
}

func TestCompare(t *testing.T) {
	mix := Mix(MixOptions{Merchant: "m", Seed: 9, Visitors: 80, From: t0, To: t0.Add(2 * time.Hour), Currencies: []string{"EUR", "IDR", "JPY", "BHD"}})
	model := compute(t, HitsOf(mix), Config{})
	if model.Totals("m", t0, t0.Add(3*time.Hour)).Revenue["IDR"] == nil {
		t.Fatal("the mix has no IDR purchase to check scales with; pick another seed")
	}
	second := Bucket{t0.Add(time.Hour), t0.Add(2 * time.Hour)}
	check := Check{Merchant: "m", From: t0, To: t0.Add(3 * time.Hour), Intervals: []string{"hour"}, Metrics: AllMetrics, Summary: true, Dimensions: Dimensions, Sealed: true, EventNames: true}
	tests := []struct {
		name string
		api  fakeAPI
		want []string // substrings of the mismatches, in order; none: a match
	}{
		{"exact", fakeAPI{}, nil},
		{"one event too many in one hour", fakeAPI{alter: func(metric string, b Bucket, v any) any {
			if metric == "events" && b == second {
				return v.(float64) + 1
			}
			return v
		}}, []string{"timeseries(hour, UTC) " + second.String() + " events: got"}},
		{"visitors within the sketch's error", fakeAPI{alter: func(metric string, b Bucket, v any) any {
			if metric == "visitors" {
				return v.(float64) + 1
			}
			return v
		}}, nil},
		{"visitors beyond it", fakeAPI{alter: func(metric string, b Bucket, v any) any {
			if metric == "visitors" && b == second {
				return v.(float64) * 1.5
			}
			return v
		}}, []string{"timeseries(hour, UTC) " + second.String() + " visitors"}},
		{"a metric the API refuses", fakeAPI{refuse: "engagement_rate"}, []string{"refused 1 requests (timeseries(hour, UTC) engagement_rate): /v1/timeseries 400: unknown metric", "refused 9 requests (breakdown(UTC) entry_page engagement_rate"}},
		{"revenue with CLDR's IDR scale", fakeAPI{alter: func(metric string, b Bucket, v any) any {
			if r, ok := v.(map[string]any); ok && r["IDR"] != nil {
				idr := r["IDR"].(map[string]any)
				minor := idr["minor"].(int64) / 100
				r["IDR"] = map[string]any{"minor": minor, "amount": fmt.Sprint(minor)}
			}
			return v
		}}, []string{"revenue: got", "IDR"}},
		{"an amount at another scale", fakeAPI{alter: func(metric string, b Bucket, v any) any {
			if r, ok := v.(map[string]any); ok && r["EUR"] != nil {
				eur := r["EUR"].(map[string]any)
				r["EUR"] = map[string]any{"minor": eur["minor"], "amount": eur["amount"].(string) + "0"} // same value, 3 decimals
			}
			return v
		}}, []string{"revenue: got", "EUR"}},
		{"one event name miscounted", fakeAPI{alter: func(metric string, b Bucket, v any) any {
			if metric == "event=page_view" && b == second {
				return v.(float64) - 1
			}
			return v
		}}, []string{"timeseries(hour, UTC, event=page_view) " + second.String() + " events: got"}},
		{"not sealed", fakeAPI{unsealed: true}, []string{"sealed: got false, want true"}},
		{"a rate off by one session in 10,000", fakeAPI{alter: func(metric string, b Bucket, v any) any {
			if metric == "bounce_rate" && b == second {
				return v.(float64) + 0.0001
			}
			return v
		}}, []string{second.String() + " bounce_rate"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.api.m, tc.api.merchant = model, "m"
			if tc.api.alter == nil {
				tc.api.alter = func(_ string, _ Bucket, v any) any { return v }
			}
			srv := httptest.NewServer(&tc.api)
			defer srv.Close()
			got := (&API{URL: srv.URL, ReadKey: "k"}).Compare(context.Background(), model, check)
			if len(tc.want) == 0 && len(got) > 0 {
				t.Fatalf("want a match, got %s", Describe(got, 5))
			}
			if len(tc.want) > 0 && len(got) == 0 {
				t.Fatalf("want mismatches, got none")
			}
			text := Describe(got, 1000)
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("mismatches lack %q:\n%s", w, text)
				}
			}
		})
	}
}

func TestCompareNamesTheBreakdownValue(t *testing.T) {
	model := compute(t, []Hit{pv("1", "v", 0, "/a"), pv("2", "w", time.Minute, "/b")}, Config{})
	api := &fakeAPI{m: model, merchant: "m", alter: func(metric string, b Bucket, v any) any { return v }}
	srv := httptest.NewServer(api)
	defer srv.Close()
	// A breakdown that folds page /b into /a.
	model2 := compute(t, []Hit{pv("1", "v", 0, "/a"), pv("2", "w", time.Minute, "/a")}, Config{})
	api.m = model2
	got := (&API{URL: srv.URL, ReadKey: "k"}).Compare(context.Background(), model, Check{Merchant: "m", From: t0, To: t0.Add(time.Hour), Metrics: []string{"pageviews"}, Dimensions: []string{"page"}})
	text := Describe(got, 10)
	for _, w := range []string{`page="/a"`, "pageviews: got 2, want 1", `page="/b"`, "got absent, want 1"} {
		if !strings.Contains(text, w) {
			t.Errorf("mismatches lack %q:\n%s", w, text)
		}
	}
}

func TestVisitorsAgree(t *testing.T) {
	model := compute(t, HitsOf(Mix(MixOptions{Merchant: "m", Seed: 5, Visitors: 60, From: t0, To: t0.Add(time.Hour)})), Config{})
	week := BucketOf("week", time.UTC, t0)
	c := Check{Merchant: "m", From: week.Start, To: week.End, Dimensions: []string{"source", "page"}}
	tests := []struct {
		name  string
		alter func(metric string, b Bucket, v any) any
		want  string
	}{
		{"consistent", func(_ string, _ Bucket, v any) any { return v }, ""},
		{"a week below its day", func(metric string, b Bucket, v any) any {
			if metric == "visitors" && b.End.Sub(b.Start) == 7*24*time.Hour && b.Start.Equal(week.Start) && b.End.Equal(week.End) {
				if _, isPoint := v.(float64); isPoint {
					return 1.0
				}
			}
			return v
		}, "fewer than day"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(&fakeAPI{m: model, merchant: "m", alter: tc.alter})
			defer srv.Close()
			got := (&API{URL: srv.URL, ReadKey: "k"}).VisitorsAgree(context.Background(), c)
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("VisitorsAgree = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCompareVisitors(t *testing.T) {
	visitors := func(n int) *Metrics {
		x := newMetrics()
		for i := range n {
			x.Visitors[fmt.Sprint(i)] = true
		}
		return x
	}
	tests := []struct {
		name   string
		want   int
		got    string
		totals bool
		match  bool
	}{
		{"small total, exact", 40, "40", true, true},
		{"small total, two more", 40, "42", true, true},
		{"small total, three more", 40, "43", true, false},
		{"small value, three less", 40, "37", false, true},
		{"small value, four less", 40, "36", false, false},
		{"large total within 3 %", 5000, "5140", true, true},
		{"large total beyond 3 %", 5000, "5160", true, false},
		{"large value within 6 %", 2000, "1890", false, true},
		{"large value beyond 6 %", 2000, "1870", false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := compareValue("visitors", json.RawMessage(tc.got), visitors(tc.want), tc.totals)
			if (d == nil) != tc.match {
				t.Errorf("compareValue(%s, want %d) = %v, want a match: %v", tc.got, tc.want, d, tc.match)
			}
		})
	}
}
