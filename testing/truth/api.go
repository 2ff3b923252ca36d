package truth

// Comparing what the query API serves (/v1/timeseries, /v1/summary,
// /v1/breakdown) with the ground truth, metric by metric, bucket by
// bucket, dimension value by dimension value.

import (
	"context"
	"fmt"
	"io"
	"maps"
	"math"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	json "github.com/goccy/go-json"
)

// Metrics served by the query API (docs/metrics.md), in its order.
var (
	AllMetrics     = []string{"events", "pageviews", "visitors", "sessions", "bounce_rate", "engaged_sessions", "engagement_rate", "avg_session_duration", "revenue"}
	SessionMetrics = []string{"sessions", "bounce_rate", "engaged_sessions", "engagement_rate", "avg_session_duration"}
	// EventMetrics are exact in provisional values: they do not depend on
	// sessions (docs/metrics.md, "Final numbers").
	EventMetrics = []string{"events", "pageviews", "visitors", "revenue"}
)

// BreakdownMetrics are the metrics /v1/breakdown serves for dim
// (docs/metrics.md, "Which metrics each dimension serves").
func BreakdownMetrics(dim string) []string {
	switch {
	case EventScoped(dim):
		return EventMetrics
	case dim == "exit_page":
		return append([]string{"visitors"}, SessionMetrics...)
	}
	return AllMetrics
}

// Tolerances. Visitors are HyperLogLog++ estimates: totals at precision 14
// (≈0.8 % standard error), breakdown values at precision 12 (≈1.6 %); the
// allowance is about four standard errors, with an absolute floor for the
// small counts of tests (served sketches are dense: at 150 visitors a
// precision-12 value was seen 3 off, linear counting's ≈2 standard
// errors). Rates and durations are rounded by the API to 4 and 3 decimals.
const (
	VisitorsTotalRel, VisitorsTotalAbs = 0.03, 2
	VisitorsValueRel, VisitorsValueAbs = 0.06, 3
	RateTolerance                      = 0.00005 + 1e-9
	DurationTolerance                  = 0.0005 + 1e-9
)

// API reads one merchant's metrics from the query API.
type API struct {
	URL, ReadKey string
	Client       *http.Client
}

// Check says what to compare.
type Check struct {
	Merchant string
	// From and To bound the range (whole UTC hours, or local midnights of
	// Zone for day and longer intervals).
	From, To time.Time
	// Zone is the time zone of the request (nil: UTC).
	Zone *time.Location
	// Intervals of /v1/timeseries to compare (none: no time series).
	Intervals []string
	// Metrics compared in time series, summary and breakdowns (each
	// dimension only those it serves).
	Metrics []string
	// EventNames compares, for every event name, the events series
	// restricted to it (/v1/timeseries?event=<name>, each interval).
	EventNames bool
	// Summary compares /v1/summary's current period.
	Summary bool
	// Dimensions compared with /v1/breakdown.
	Dimensions []string
	// Sealed requires every bucket and answer to be sealed.
	Sealed bool
}

// Mismatch is one difference between the query API and the truth.
type Mismatch struct {
	Endpoint, Metric, Bucket, Dimension, Value, Got, Want string
}

func (m Mismatch) String() string {
	var b strings.Builder
	b.WriteString(m.Endpoint)
	if m.Dimension != "" {
		fmt.Fprintf(&b, " %s=%q", m.Dimension, m.Value)
	}
	if m.Bucket != "" {
		b.WriteString(" " + m.Bucket)
	}
	if m.Metric != "" {
		b.WriteString(" " + m.Metric)
	}
	fmt.Fprintf(&b, ": got %s, want %s", m.Got, m.Want)
	return b.String()
}

// Describe lists up to max mismatches ("" for none): differences in
// values first, then the requests the API refused, one line per reason.
func Describe(ms []Mismatch, max int) string {
	if len(ms) == 0 {
		return ""
	}
	var lines []string
	refused := map[string][]string{}
	var reasons []string
	for _, m := range ms {
		if r, ok := strings.CutPrefix(m.Got, "refused: "); ok {
			if refused[r] == nil {
				reasons = append(reasons, r)
			}
			what := m.Endpoint + " " + m.Metric
			if m.Dimension != "" {
				what = m.Endpoint + " " + m.Dimension + " " + m.Metric
			}
			refused[r] = append(refused[r], what)
			continue
		}
		if len(lines) == max {
			lines = append(lines, "…")
			continue
		}
		if len(lines) < max {
			lines = append(lines, m.String())
		}
	}
	for _, r := range reasons {
		lines = append(lines, fmt.Sprintf("refused %d requests (%s): %s", len(refused[r]), strings.Join(refused[r][:min(3, len(refused[r]))], ", "), r))
	}
	return fmt.Sprintf("%d differences:\n  %s", len(ms), strings.Join(lines, "\n  "))
}

// Compare checks what the query API serves against the truth m.
func (a *API) Compare(ctx context.Context, m *Model, c Check) []Mismatch {
	loc := c.Zone
	if loc == nil {
		loc = time.UTC
	}
	var out []Mismatch
	for _, iv := range c.Intervals {
		out = append(out, a.timeseries(ctx, m, c, loc, iv)...)
		if c.EventNames {
			out = append(out, a.eventSeries(ctx, m, c, loc, iv)...)
		}
	}
	if c.Summary {
		out = append(out, a.summary(ctx, m, c, loc)...)
	}
	for _, d := range c.Dimensions {
		out = append(out, a.breakdown(ctx, m, c, loc, d)...)
	}
	return out
}

// get fetches path with params and decodes the JSON answer into v; a
// status other than 200 is an error that quotes the answer.
func (a *API) get(ctx context.Context, path string, q url.Values, v any) error {
	client := a.Client
	if client == nil {
		client = http.DefaultClient
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.URL+path+"?"+q.Encode(), nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+a.ReadKey)
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests && attempt < 30 {
			wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			time.Sleep(time.Duration(max(wait, 1)) * time.Second)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			var problem struct {
				Detail string `json:"detail"`
			}
			if json.Unmarshal(body, &problem) == nil && problem.Detail != "" {
				return fmt.Errorf("%s %d: %s", path, resp.StatusCode, problem.Detail)
			}
			return fmt.Errorf("%s %d: %s", path, resp.StatusCode, strings.TrimSpace(string(body)))
		}
		return json.Unmarshal(body, v)
	}
}

// fetch asks for metrics in one request; when that is refused, metric by
// metric, so that one metric the API does not know does not hide the
// others. It returns the answers with the metrics each holds, and one
// mismatch per metric refused.
func fetch[T any](ctx context.Context, a *API, path string, q url.Values, metrics []string, mm Mismatch) (map[string]*T, []Mismatch) {
	ask := func(ms []string) (*T, error) {
		q := cloneValues(q)
		q.Set("metrics", strings.Join(ms, ","))
		v := new(T)
		return v, a.get(ctx, path, q, v)
	}
	out := map[string]*T{}
	v, err := ask(metrics)
	if err == nil {
		for _, m := range metrics {
			out[m] = v
		}
		return out, nil
	}
	var bad []Mismatch
	for _, m := range metrics {
		v, err := ask([]string{m})
		if err != nil {
			x := mm
			x.Metric, x.Got, x.Want = m, "refused: "+err.Error(), "an answer"
			bad = append(bad, x)
			continue
		}
		out[m] = v
	}
	return out, bad
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	return out
}

func rangeParams(c Check, loc *time.Location) url.Values {
	return url.Values{"from": {c.From.In(loc).Format(time.RFC3339)}, "to": {c.To.In(loc).Format(time.RFC3339)}, "tz": {loc.String()}}
}

type point map[string]json.RawMessage

func (a *API) timeseries(ctx context.Context, m *Model, c Check, loc *time.Location, interval string) []Mismatch {
	type answer struct {
		Points []point `json:"points"`
	}
	q := rangeParams(c, loc)
	q.Set("interval", interval)
	ep := "timeseries(" + interval + ", " + loc.String() + ")"
	answers, out := fetch[answer](ctx, a, "/v1/timeseries", q, c.Metrics, Mismatch{Endpoint: ep})
	want := Buckets(interval, loc, c.From, c.To)
	for _, metric := range c.Metrics {
		ans := answers[metric]
		if ans == nil {
			continue
		}
		got := map[int64]point{}
		for _, p := range ans.Points {
			var s string
			_ = json.Unmarshal(p["start"], &s)
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				out = append(out, Mismatch{Endpoint: ep, Metric: metric, Got: "a point starting " + s, Want: "RFC 3339"})
				continue
			}
			got[t.UnixMicro()] = p
		}
		if len(ans.Points) != len(want) {
			out = append(out, Mismatch{Endpoint: ep, Metric: metric, Got: fmt.Sprintf("%d points", len(ans.Points)), Want: fmt.Sprintf("%d buckets %s … %s", len(want), want[0], want[len(want)-1])})
		}
		for _, b := range want {
			p := got[b.Start.UnixMicro()]
			mm := Mismatch{Endpoint: ep, Metric: metric, Bucket: b.String()}
			if p == nil {
				mm.Got, mm.Want = "no point", "a point"
				out = append(out, mm)
				continue
			}
			var end string
			_ = json.Unmarshal(p["end"], &end)
			if e, err := time.Parse(time.RFC3339, end); err != nil || !e.Equal(b.End) {
				mm.Got, mm.Want = "end "+end, "end "+b.End.Format(time.RFC3339)
				out = append(out, mm)
			}
			if c.Sealed && string(p["sealed"]) != "true" {
				x := mm
				x.Metric, x.Got, x.Want = "sealed", string(p["sealed"]), "true"
				out = append(out, x)
			}
			if d := compareValue(metric, p[metric], m.Totals(c.Merchant, b.Start, b.End), true); d != nil {
				mm.Got, mm.Want = d[0], d[1]
				out = append(out, mm)
			}
		}
	}
	return dedupSealed(out)
}

// eventSeries compares the events series of every event name.
func (a *API) eventSeries(ctx context.Context, m *Model, c Check, loc *time.Location, interval string) []Mismatch {
	names := map[string]bool{}
	for _, x := range m.Counted {
		if x.Hit.Merchant == c.Merchant {
			names[x.Hit.Name] = true
		}
	}
	var out []Mismatch
	for _, name := range slices.Sorted(maps.Keys(names)) {
		var ans struct {
			Points []point `json:"points"`
		}
		q := rangeParams(c, loc)
		q.Set("interval", interval)
		q.Set("metrics", "events")
		q.Set("event", name)
		ep := "timeseries(" + interval + ", " + loc.String() + ", event=" + name + ")"
		if err := a.get(ctx, "/v1/timeseries", q, &ans); err != nil {
			out = append(out, Mismatch{Endpoint: ep, Metric: "events", Got: "refused: " + err.Error(), Want: "an answer"})
			continue
		}
		got := map[int64]json.RawMessage{}
		for _, p := range ans.Points {
			var s string
			_ = json.Unmarshal(p["start"], &s)
			if t, err := time.Parse(time.RFC3339, s); err == nil {
				got[t.UnixMicro()] = p["events"]
			}
		}
		for _, b := range Buckets(interval, loc, c.From, c.To) {
			want := float64(m.EventCount(c.Merchant, name, b.Start, b.End))
			var g float64
			if err := json.Unmarshal(got[b.Start.UnixMicro()], &g); err != nil || g != want {
				out = append(out, Mismatch{Endpoint: ep, Metric: "events", Bucket: b.String(), Got: string(got[b.Start.UnixMicro()]), Want: strconv.FormatFloat(want, 'f', -1, 64)})
			}
		}
	}
	return out
}

// dedupSealed keeps one "sealed" mismatch per bucket (every metric's
// request reports it).
func dedupSealed(ms []Mismatch) []Mismatch {
	seen := map[string]bool{}
	var out []Mismatch
	for _, m := range ms {
		if m.Metric == "sealed" {
			k := m.Endpoint + m.Bucket + m.Dimension
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		out = append(out, m)
	}
	return out
}

func (a *API) summary(ctx context.Context, m *Model, c Check, loc *time.Location) []Mismatch {
	type answer struct {
		Current map[string]json.RawMessage `json:"current"`
		Sealed  bool                       `json:"sealed"`
	}
	ep := "summary(" + loc.String() + ")"
	answers, out := fetch[answer](ctx, a, "/v1/summary", rangeParams(c, loc), c.Metrics, Mismatch{Endpoint: ep})
	want := m.Totals(c.Merchant, c.From, c.To)
	bucket := Bucket{c.From, c.To}.String()
	sealedOnce := false
	for _, metric := range c.Metrics {
		ans := answers[metric]
		if ans == nil {
			continue
		}
		if c.Sealed && !ans.Sealed && !sealedOnce {
			sealedOnce = true
			out = append(out, Mismatch{Endpoint: ep, Metric: "sealed", Bucket: bucket, Got: "false", Want: "true"})
		}
		if d := compareValue(metric, ans.Current[metric], want, true); d != nil {
			out = append(out, Mismatch{Endpoint: ep, Metric: metric, Bucket: bucket, Got: d[0], Want: d[1]})
		}
	}
	return out
}

func (a *API) breakdown(ctx context.Context, m *Model, c Check, loc *time.Location, dim string) []Mismatch {
	type answer struct {
		Rows   []point `json:"rows"`
		Other  point   `json:"other"`
		Total  point   `json:"total"`
		Sealed bool    `json:"sealed"`
	}
	var metrics []string
	for _, x := range c.Metrics {
		if slices.Contains(BreakdownMetrics(dim), x) {
			metrics = append(metrics, x)
		}
	}
	if len(metrics) == 0 {
		return nil
	}
	q := rangeParams(c, loc)
	q.Set("dimension", dim)
	q.Set("limit", "1000")
	ep := "breakdown(" + loc.String() + ")"
	bucket := Bucket{c.From, c.To}.String()
	answers, out := fetch[answer](ctx, a, "/v1/breakdown", q, metrics, Mismatch{Endpoint: ep, Dimension: dim, Bucket: bucket})
	want := m.Breakdown(c.Merchant, dim, c.From, c.To)
	total := m.Totals(c.Merchant, c.From, c.To)
	if dim == "exit_page" { // carries session metrics and the visitors of its sessions only
		vs := map[string]bool{}
		for _, x := range want {
			for k := range x.Visitors {
				vs[k] = true
			}
		}
		total = &Metrics{Visitors: vs, Sessions: total.Sessions, Bounces: total.Bounces, Engaged: total.Engaged, DurationMillis: total.DurationMillis}
	}
	sealedOnce := false
	for _, metric := range metrics {
		ans := answers[metric]
		if ans == nil {
			continue
		}
		if c.Sealed && !ans.Sealed && !sealedOnce {
			sealedOnce = true
			out = append(out, Mismatch{Endpoint: ep, Dimension: dim, Bucket: bucket, Metric: "sealed", Got: "false", Want: "true"})
		}
		got := map[string]point{}
		for _, r := range ans.Rows {
			var v string
			_ = json.Unmarshal(r["value"], &v)
			got[v] = r
		}
		values := map[string]bool{}
		for v := range want {
			values[v] = true
		}
		for v := range got {
			values[v] = true
		}
		for _, v := range slices.Sorted(maps.Keys(values)) {
			w := want[v]
			if w == nil {
				w = newMetrics()
			}
			if d := compareValue(metric, got[v][metric], w, false); d != nil {
				out = append(out, Mismatch{Endpoint: ep, Dimension: dim, Value: v, Bucket: bucket, Metric: metric, Got: d[0], Want: d[1]})
			}
		}
		if d := compareValue(metric, ans.Total[metric], total, true); d != nil {
			out = append(out, Mismatch{Endpoint: ep, Dimension: dim, Value: "(total)", Bucket: bucket, Metric: metric, Got: d[0], Want: d[1]})
		}
		if metric != "visitors" && metric != "bounce_rate" && metric != "engagement_rate" && metric != "avg_session_duration" {
			if d := compareValue(metric, ans.Other[metric], newMetrics(), false); d != nil {
				out = append(out, Mismatch{Endpoint: ep, Dimension: dim, Value: "(other)", Bucket: bucket, Metric: metric, Got: d[0], Want: d[1] + " (fewer values than the top 100)"})
			}
		}
	}
	return out
}

// compareValue compares one served metric (raw JSON, nil when absent)
// with the truth; it returns {got, want} on a difference.
func compareValue(metric string, raw json.RawMessage, w *Metrics, totals bool) []string {
	if metric == "revenue" {
		return compareRevenue(raw, w.Revenue)
	}
	want, ok := w.Value(metric)
	var got *float64
	if len(raw) > 0 && string(raw) != "null" {
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil {
			return []string{string(raw), "a number"}
		}
		got = &f
	}
	wantS := "null"
	if ok {
		wantS = strconv.FormatFloat(want, 'f', -1, 64)
	}
	switch {
	case !ok && got == nil: // null, or absent, when there were no sessions
		return nil
	case !ok:
		return []string{strconv.FormatFloat(*got, 'f', -1, 64), wantS}
	case got == nil && want == 0 && len(raw) == 0: // an absent row or field: nothing counted
		return nil
	case got == nil:
		return []string{"absent", wantS}
	}
	tol := 0.0
	switch {
	case metric == "visitors" && totals:
		tol = math.Max(VisitorsTotalRel*want, VisitorsTotalAbs)
	case metric == "visitors":
		tol = math.Max(VisitorsValueRel*want, VisitorsValueAbs)
	case isRate(metric) && metric != "avg_session_duration":
		tol = RateTolerance
	case metric == "avg_session_duration":
		tol = DurationTolerance
	}
	if math.Abs(*got-want) > tol {
		return []string{strconv.FormatFloat(*got, 'f', -1, 64), wantS + tolText(tol)}
	}
	return nil
}

func tolText(tol float64) string {
	if tol == 0 {
		return ""
	}
	return " ± " + strconv.FormatFloat(tol, 'g', 3, 64)
}

func isRate(metric string) bool {
	return metric == "bounce_rate" || metric == "engagement_rate" || metric == "avg_session_duration"
}

// compareRevenue compares served revenue ({"EUR": {"minor", "amount",
// "scale"?}}) with the truth: the amount's value and its number of
// decimals (the ISO 4217 scale), the minor units, and the scale when
// served.
func compareRevenue(raw json.RawMessage, want Revenue) []string {
	var got map[string]struct {
		Minor  *int64  `json:"minor"`
		Amount *string `json:"amount"`
		Scale  *int    `json:"scale"`
	}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &got); err != nil {
			return []string{string(raw), "an object of currencies"}
		}
	}
	var gots, wants []string
	curs := map[string]bool{}
	for c := range got {
		curs[c] = true
	}
	for c := range want {
		curs[c] = true
	}
	for _, cur := range slices.Sorted(maps.Keys(curs)) {
		w := want[cur]
		g, served := got[cur]
		if w == nil || w.Minor.Sign() == 0 {
			if served && g.Amount != nil {
				if r, ok := new(big.Rat).SetString(*g.Amount); ok && r.Sign() == 0 {
					continue
				}
			}
			if !served {
				continue
			}
		}
		wantText := "0 " + cur
		scale := 0
		if w != nil {
			wantText, scale = fmt.Sprintf("%s %s (minor %d, scale %d)", w.Decimal(), cur, w.Saturated(), w.Scale), w.Scale
		}
		if !served || g.Amount == nil || g.Minor == nil {
			gots, wants = append(gots, cur+" absent"), append(wants, wantText)
			continue
		}
		gotText := fmt.Sprintf("%s %s (minor %d", *g.Amount, cur, *g.Minor)
		if g.Scale != nil {
			gotText += fmt.Sprintf(", scale %d", *g.Scale)
		}
		gotText += ")"
		wantDec := "0"
		if w != nil {
			wantDec = w.Decimal()
		}
		gr, ok1 := new(big.Rat).SetString(*g.Amount)
		wr, _ := new(big.Rat).SetString(wantDec)
		decimals := 0
		if i := strings.IndexByte(*g.Amount, '.'); i >= 0 {
			decimals = len(*g.Amount) - i - 1
		}
		switch {
		case !ok1 || gr.Cmp(wr) != 0,
			w != nil && decimals != scale,
			w != nil && *g.Minor != w.Saturated(),
			w != nil && g.Scale != nil && *g.Scale != w.Scale:
			gots, wants = append(gots, gotText), append(wants, wantText)
		}
	}
	if len(gots) == 0 {
		return nil
	}
	return []string{strings.Join(gots, "; "), strings.Join(wants, "; ")}
}

// HourSealed reports whether the query API serves the UTC hour that starts
// at h as sealed.
func (a *API) HourSealed(ctx context.Context, h time.Time) (bool, error) {
	var ans struct {
		Points []struct {
			Sealed bool `json:"sealed"`
		} `json:"points"`
	}
	q := url.Values{"metrics": {"events"}, "interval": {"hour"}, "from": {h.UTC().Format(time.RFC3339)}, "to": {h.UTC().Add(time.Hour).Format(time.RFC3339)}}
	if err := a.get(ctx, "/v1/timeseries", q, &ans); err != nil {
		return false, err
	}
	if len(ans.Points) != 1 {
		return false, fmt.Errorf("/v1/timeseries: %d points for one hour", len(ans.Points))
	}
	return ans.Points[0].Sealed, nil
}

// VisitorsAgree checks the query API against itself: the visitors of
// every breakdown's total equal the summary's (unless the breakdown's
// note explains a difference in visitors), and no week of c.Zone serves
// fewer visitors than a day inside it. It returns "" or the differences.
func (a *API) VisitorsAgree(ctx context.Context, c Check) string {
	loc := c.Zone
	if loc == nil {
		loc = time.UTC
	}
	var out []string
	var sum struct {
		Current struct {
			Visitors float64 `json:"visitors"`
		} `json:"current"`
	}
	q := rangeParams(c, loc)
	q.Set("metrics", "visitors")
	if err := a.get(ctx, "/v1/summary", q, &sum); err != nil {
		return err.Error()
	}
	for _, d := range c.Dimensions {
		var bd struct {
			Total struct {
				Visitors float64 `json:"visitors"`
			} `json:"total"`
			Note string `json:"note"`
		}
		q := rangeParams(c, loc)
		q.Set("metrics", "visitors")
		q.Set("dimension", d)
		if err := a.get(ctx, "/v1/breakdown", q, &bd); err != nil {
			out = append(out, err.Error())
			continue
		}
		if bd.Total.Visitors != sum.Current.Visitors && !strings.Contains(bd.Note, "visitors") {
			out = append(out, fmt.Sprintf("breakdown by %s: total %v visitors, summary %v, and the note does not say why (%q)", d, bd.Total.Visitors, sum.Current.Visitors, bd.Note))
		}
	}
	series := func(interval string) ([]Bucket, []float64, error) {
		var ts struct {
			Points []struct {
				Start    string  `json:"start"`
				End      string  `json:"end"`
				Visitors float64 `json:"visitors"`
			} `json:"points"`
		}
		q := rangeParams(c, loc)
		q.Set("metrics", "visitors")
		q.Set("interval", interval)
		if err := a.get(ctx, "/v1/timeseries", q, &ts); err != nil {
			return nil, nil, err
		}
		var bs []Bucket
		var vs []float64
		for _, p := range ts.Points {
			s, err1 := time.Parse(time.RFC3339, p.Start)
			e, err2 := time.Parse(time.RFC3339, p.End)
			if err1 != nil || err2 != nil {
				return nil, nil, fmt.Errorf("/v1/timeseries: point %s–%s", p.Start, p.End)
			}
			bs, vs = append(bs, Bucket{s, e}), append(vs, p.Visitors)
		}
		return bs, vs, nil
	}
	days, dv, err := series("day")
	if err != nil {
		return err.Error()
	}
	weeks, wv, err := series("week")
	if err != nil {
		return err.Error()
	}
	for i, w := range weeks {
		for j, d := range days {
			if !d.Start.Before(w.Start) && !d.End.After(w.End) && wv[i] < dv[j] {
				out = append(out, fmt.Sprintf("week %s: %v visitors, fewer than day %s inside it: %v", w, wv[i], d, dv[j]))
			}
		}
	}
	return strings.Join(out, "\n")
}
