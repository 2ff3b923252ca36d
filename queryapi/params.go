package queryapi

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/footfall/footfall/internal/layout"
)

// routeParams lists the query parameters each route reads. Handlers read
// parameters only through query.get, which refuses names not listed here,
// and requests with a parameter not listed here are refused, so this table,
// the handlers and the OpenAPI document (tested) cannot drift apart.
var routeParams = map[string][]string{
	"/v1/timeseries": {"metrics", "from", "to", "interval", "tz", "event", "filters"},
	"/v1/breakdown":  {"dimension", "metrics", "limit", "from", "to", "tz"},
	"/v1/summary":    {"metrics", "from", "to", "tz"},
	"/v1/realtime":   {},
}

// query is a request's parameters for one route, copied out of the
// request (Fiber reuses its buffers), so that parsing needs no Fiber.
type query struct {
	route   string
	allowed []string
	vals    map[string]string
}

// newQuery reads the parameters of c for route.
func newQuery(c *fiber.Ctx, route string) (*query, error) {
	return parseQuery(route, func(yield func(k, v string)) {
		c.Context().QueryArgs().VisitAll(func(k, v []byte) { yield(string(k), string(v)) })
	})
}

// queryOf is newQuery for parameters given as url.Values (tests, tools).
func queryOf(route string, v url.Values) (*query, error) {
	return parseQuery(route, func(yield func(k, v string)) {
		for k, vs := range v {
			for _, x := range vs {
				yield(k, x)
			}
		}
	})
}

// parseQuery checks the parameters visit yields against the route's
// list; the first value of a repeated parameter counts.
func parseQuery(route string, visit func(yield func(k, v string))) (*query, error) {
	allowed, ok := routeParams[route]
	if !ok {
		panic("queryapi: no parameter list for route " + route)
	}
	q := &query{route: route, allowed: allowed, vals: map[string]string{}}
	var unknown []string
	visit(func(k, v string) {
		if !slices.Contains(allowed, k) {
			if !slices.Contains(unknown, k) {
				unknown = append(unknown, k)
			}
			return
		}
		if _, seen := q.vals[k]; !seen {
			q.vals[k] = v
		}
	})
	if len(unknown) > 0 {
		sort.Strings(unknown)
		hint := ""
		if slices.Contains(unknown, "merchant") {
			hint = " (the merchant is always the one your read key belongs to)"
		}
		if len(allowed) == 0 {
			return nil, badRequest("unknown parameter %s%s: %s takes no parameters", strings.Join(unknown, ", "), hint, route)
		}
		return nil, badRequest("unknown parameter %s%s: %s takes %s", strings.Join(unknown, ", "), hint, route, strings.Join(allowed, ", "))
	}
	return q, nil
}

func (q *query) get(name string) string {
	if !slices.Contains(q.allowed, name) {
		panic(fmt.Sprintf("queryapi: %s reads undeclared parameter %q", q.route, name))
	}
	return strings.TrimSpace(q.vals[name])
}

// Metric names (docs/metrics.md defines each).
const (
	MetricEvents         = "events"
	MetricPageViews      = "pageviews"
	MetricVisitors       = "visitors"
	MetricSessions       = "sessions"
	MetricBounceRate     = "bounce_rate"
	MetricEngaged        = "engaged_sessions"
	MetricEngagementRate = "engagement_rate"
	MetricAvgDuration    = "avg_session_duration"
	MetricRevenue        = "revenue"
)

// allMetrics are the metrics of totals rows, in documentation order.
var allMetrics = []string{MetricEvents, MetricPageViews, MetricVisitors, MetricSessions, MetricBounceRate,
	MetricEngaged, MetricEngagementRate, MetricAvgDuration, MetricRevenue}

// itemMetrics are the metrics the breakdown items of dim hold
// (breakdowns, filtered series): event metrics for every dimension but
// exit_page, session metrics for session-scoped ones, visitors always.
func itemMetrics(dim layout.Dimension) []string {
	var out []string
	for _, m := range allMetrics {
		switch m {
		case MetricEvents, MetricPageViews, MetricRevenue:
			if dim.EventMetrics() {
				out = append(out, m)
			}
		case MetricVisitors:
			out = append(out, m)
		default:
			if dim.SessionScoped() {
				out = append(out, m)
			}
		}
	}
	return out
}

// itemMetricsWhy says why a metric is missing from itemMetrics(dim).
func itemMetricsWhy(dim layout.Dimension) string {
	switch {
	case !dim.EventMetrics():
		return fmt.Sprintf(" for %s (an exit page is known only once its session has ended: its rows hold session metrics and visitors)", dim)
	case !dim.SessionScoped():
		return fmt.Sprintf(" for %s (a session has many %s values: its rows hold event metrics and visitors; session-scoped dimensions such as entry_page hold session metrics)", dim, dim)
	}
	return ""
}

// parseMetrics parses a comma-separated metric list; supported are the
// metrics the caller can serve (why explains the restriction in errors).
func parseMetrics(s string, supported []string, why string) ([]string, error) {
	if s == "" {
		// events, or sessions where there are no events (exit_page)
		s = MetricEvents
		if !slices.Contains(supported, s) {
			s = MetricSessions
		}
	}
	var out []string
	for _, m := range strings.Split(s, ",") {
		m = strings.TrimSpace(m)
		if m == "" || slices.Contains(out, m) {
			continue
		}
		if !slices.Contains(supported, m) {
			if slices.Contains(allMetrics, m) {
				return nil, badRequest("metric %s is not available here%s; available: %s", m, why, strings.Join(supported, ", "))
			}
			return nil, badRequest("unknown metric %q; supported: %s", m, strings.Join(supported, ", "))
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, badRequest("metrics is empty; ask for at least one, e.g. metrics=events")
	}
	return out, nil
}

func parseZone(s string) (*time.Location, error) {
	if s == "" {
		return time.UTC, nil
	}
	if strings.EqualFold(s, "local") {
		return nil, badRequest("tz=%s is not a time zone name; use an IANA zone such as Europe/Berlin", s)
	}
	if loc, ok := zones.Load(s); ok {
		return loc.(*time.Location), nil
	}
	name := strings.Clone(s) // the Location keeps its name, and is kept
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, badRequest("unknown time zone %q; use an IANA zone name such as America/New_York or UTC", s)
	}
	zones.Store(name, loc)
	return loc, nil
}

// zones caches loaded time zones (time.LoadLocation reads the zone
// database on every call). Only zones that exist are kept, so its size is
// bounded by the database.
var zones sync.Map

// parseTime accepts RFC 3339 (2026-11-01T00:00:00Z, any offset) or a date
// (2026-11-01), which means the local midnight of that date in loc.
func parseTime(name, s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, badRequest("%s is required: an RFC 3339 time such as 2026-11-01T00:00:00Z, or a date such as 2026-11-01 (midnight in tz)", name)
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return localMidnight(d.Year(), d.Month(), d.Day(), loc), nil
	}
	return time.Time{}, badRequest("%s %q is not an RFC 3339 time such as 2026-11-01T00:00:00Z or a date such as 2026-11-01", name, s)
}

// timeRange is a request's validated range and zone.
type timeRange struct {
	From, To time.Time // UTC
	Loc      *time.Location
}

// parseRange reads tz, from and to and checks them; maxDays bounds the span.
func parseRange(q *query, maxDays int) (timeRange, error) {
	loc, err := parseZone(q.get("tz"))
	if err != nil {
		return timeRange{}, err
	}
	from, err := parseTime("from", q.get("from"), loc)
	if err != nil {
		return timeRange{}, err
	}
	to, err := parseTime("to", q.get("to"), loc)
	if err != nil {
		return timeRange{}, err
	}
	if !from.Before(to) {
		return timeRange{}, badRequest("from (%s) must be before to (%s)", q.get("from"), q.get("to"))
	}
	if to.Sub(from) > time.Duration(maxDays)*24*time.Hour {
		return timeRange{}, badRequest("from %s to %s is longer than %d days, the longest range served: ask for a shorter range", q.get("from"), q.get("to"), maxDays)
	}
	if from.Year() < 1970 || to.Year() > 2200 {
		return timeRange{}, badRequest("from and to must lie between the years 1970 and 2200")
	}
	return timeRange{From: from, To: to, Loc: loc}, nil
}

// Filter restricts a series to one value of one dimension.
type Filter struct {
	Dim   layout.Dimension
	Value string
}

// parseFilter parses "dim==value" (also "dim=value" and "dim:value").
func parseFilter(s string) (*Filter, error) {
	if s == "" {
		return nil, nil
	}
	var dim, val string
	var ok bool
	for _, sep := range []string{"==", "=", ":"} {
		if dim, val, ok = strings.Cut(s, sep); ok {
			break
		}
	}
	if !ok || strings.TrimSpace(dim) == "" || val == "" {
		return nil, badRequest("filters %q is not dimension==value, e.g. filters=country==JP", s)
	}
	if strings.Contains(val, ",") || strings.Contains(val, ";") {
		return nil, badRequest("filters %q: one dimension and one value only (no lists), e.g. filters=country==JP", s)
	}
	d, ok := layout.ParseDimension(strings.TrimSpace(dim))
	if !ok {
		return nil, badRequest("filters %q: unknown dimension %q; use one of %s", s, dim, dimensionList())
	}
	// A copy: the value outlives the request in cache keys, and Fiber's
	// strings point into reused request buffers.
	return &Filter{Dim: d, Value: strings.Clone(val)}, nil
}

func parseDimension(s string) (layout.Dimension, error) {
	if s == "" {
		return "", badRequest("dimension is required: one of %s", dimensionList())
	}
	d, ok := layout.ParseDimension(s)
	if !ok {
		return "", badRequest("unknown dimension %q; use one of %s", s, dimensionList())
	}
	return d, nil
}

func dimensionList() string {
	var s []string
	for _, d := range layout.Dimensions {
		s = append(s, string(d))
	}
	return strings.Join(s, ", ")
}

// Breakdown row limits.
const (
	defaultLimit = 10
	maxLimit     = 1000
)

func parseLimit(s string) (int, error) {
	if s == "" {
		return defaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		return 0, badRequest("limit %q must be a whole number from 1 to %d", s, maxLimit)
	}
	return n, nil
}

// timeseriesRequest is a parsed GET /v1/timeseries.
type timeseriesRequest struct {
	Metrics  []string
	Filter   *Filter // nil: the totals rows
	Event    string  // restricts events to one name ("" : all)
	Interval Interval
	Range    timeRange
	Buckets  []Bucket // whole buckets covering the range
}

func parseTimeseriesRequest(q *query, cfg Config) (timeseriesRequest, error) {
	var r timeseriesRequest
	var err error
	if r.Filter, err = parseFilter(q.get("filters")); err != nil {
		return r, err
	}
	supported, why := allMetrics, ""
	if r.Filter != nil {
		supported, why = itemMetrics(r.Filter.Dim), " with filters"+itemMetricsWhy(r.Filter.Dim)
	}
	if r.Metrics, err = parseMetrics(q.get("metrics"), supported, why); err != nil {
		return r, err
	}
	r.Event = q.get("event")
	if r.Event != "" && r.Filter != nil {
		return r, badRequest("event and filters cannot be combined; to filter by event name use filters=event==%s", r.Event)
	}
	iv := q.get("interval")
	if iv == "" {
		iv = string(IntervalHour)
	}
	if r.Interval, err = parseInterval(iv); err != nil {
		return r, err
	}
	if r.Range, err = parseRange(q, cfg.MaxRangeDays); err != nil {
		return r, err
	}
	if r.Buckets, err = buckets(r.Range.From, r.Range.To, r.Interval, r.Range.Loc, cfg.MaxPoints); err != nil {
		return r, err
	}
	if err := checkQuarterHours(r.Range.Loc, r.Buckets[0].Start, r.Buckets[len(r.Buckets)-1].End); err != nil {
		return r, err
	}
	return r, nil
}

// breakdownRequest is a parsed GET /v1/breakdown.
type breakdownRequest struct {
	Dim      layout.Dimension
	Metrics  []string
	Limit    int
	Range    timeRange
	From, To time.Time // the range rounded out to whole quarter hours
}

func parseBreakdownRequest(q *query, cfg Config) (breakdownRequest, error) {
	var r breakdownRequest
	var err error
	if r.Dim, err = parseDimension(q.get("dimension")); err != nil {
		return r, err
	}
	if r.Metrics, err = parseMetrics(q.get("metrics"), itemMetrics(r.Dim), itemMetricsWhy(r.Dim)); err != nil {
		return r, err
	}
	if r.Limit, err = parseLimit(q.get("limit")); err != nil {
		return r, err
	}
	if r.Range, err = parseRange(q, cfg.MaxRangeDays); err != nil {
		return r, err
	}
	r.From, r.To = quarterRange(r.Range.From, r.Range.To)
	if err := checkQuarterHours(r.Range.Loc, r.From, r.To); err != nil {
		return r, err
	}
	return r, nil
}

// summaryRequest is a parsed GET /v1/summary.
type summaryRequest struct {
	Metrics          []string
	Range            timeRange
	From, To         time.Time // the range rounded out to whole hours
	PrevFrom, PrevTo time.Time // the previous period
}

func parseSummaryRequest(q *query, cfg Config) (summaryRequest, error) {
	var r summaryRequest
	var err error
	if r.Metrics, err = parseMetrics(q.get("metrics"), allMetrics, ""); err != nil {
		return r, err
	}
	if r.Range, err = parseRange(q, cfg.MaxRangeDays); err != nil {
		return r, err
	}
	r.From, r.To = quarterRange(r.Range.From, r.Range.To)
	r.PrevFrom, r.PrevTo = previousPeriod(r.From, r.To, r.Range.Loc)
	if err := checkQuarterHours(r.Range.Loc, r.PrevFrom, r.To); err != nil {
		return r, err
	}
	return r, nil
}
