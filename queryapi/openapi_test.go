package queryapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/footfall/footfall/internal/layout"
)

func loadOpenAPI(t testing.TB) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(OpenAPI)
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI 3 document: %v", err)
	}
	return doc
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	f := newFixture(t)
	var routes []string
	for _, r := range f.srv.App().GetRoutes(true) {
		if r.Method == http.MethodGet {
			routes = append(routes, r.Path)
		}
	}
	var documented []string
	for p := range doc.Paths.Map() {
		documented = append(documented, p)
	}
	sort.Strings(routes)
	sort.Strings(documented)
	if !slices.Equal(routes, documented) {
		t.Errorf("routes %v, documented paths %v: they must be the same", routes, documented)
	}
	for route, params := range routeParams {
		item := doc.Paths.Value(route)
		if item == nil || item.Get == nil {
			t.Errorf("%s reads parameters but is not documented", route)
			continue
		}
		var declared []string
		for _, p := range item.Get.Parameters {
			if p.Value.In != "query" {
				t.Errorf("%s: parameter %s in %s; only query parameters exist", route, p.Value.Name, p.Value.In)
			}
			declared = append(declared, p.Value.Name)
		}
		want := slices.Clone(params)
		sort.Strings(want)
		sort.Strings(declared)
		if !slices.Equal(declared, want) {
			t.Errorf("%s: documented parameters %v, the handler reads %v", route, declared, want)
		}
	}
	for _, p := range documented {
		if strings.HasPrefix(p, "/v1/") {
			if _, ok := routeParams[p]; !ok {
				t.Errorf("%s has no entry in routeParams", p)
			}
		}
	}
}

// A handler that reads a parameter it has not declared panics (in tests,
// before any request is served), so the table above stays complete.
func TestUndeclaredParameterPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("reading an undeclared parameter did not panic")
		}
	}()
	q := &query{route: "/v1/summary", allowed: routeParams["/v1/summary"]}
	q.get("dimension")
}

func TestOpenAPIServed(t *testing.T) {
	f := newFixture(t)
	req := httptest.NewRequest(http.MethodGet, "/openapi.json", nil)
	resp, err := f.srv.App().Test(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !bytes.Equal(b, OpenAPI) || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("GET /openapi.json: %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(b))
	}
}

// Real requests and responses, good and bad, validate against the document.
func TestResponsesMatchOpenAPI(t *testing.T) {
	doc := loadOpenAPI(t)
	doc.Servers = nil // match any host
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(c *Config) { c.RateLimit, c.RateBurst = 1, 30 })
	f.now = h0.Add(90 * time.Minute)
	vis := layout.NewVisitorSketch()
	vis.Insert([]byte("v"))
	tot := &layout.Totals{Events: 3, PageViews: 2, Sessions: 2, Bounces: 1, SessionMillis: 5000, Visitors: vis,
		ByName: map[string]int64{"purchase": 1}, Revenue: layout.Money{"USD": {Minor: 1999, Scale: 2}, "JPY": {Minor: 500, Scale: 0}}}
	f.put(t, "shop-a", h0, layout.FamilySealed, tot)
	f.put(t, "shop-a", h0.Add(time.Hour), layout.FamilyProvisional, tot)
	f.putMinute(t, "shop-a", h0.Add(89*time.Minute), tot)
	item := &layout.Item{Events: 3, PageViews: 2, Revenue: layout.Money{"USD": {Minor: 1999, Scale: 2}}, Visitors: layout.NewItemSketch()}
	item.Visitors.Insert([]byte("v"))
	f.putBreakdown(t, "shop-a", layout.DimCountry, h0, layout.FamilySealed, &layout.Breakdown{Values: map[string]*layout.Item{"JP": item, "US": item}, Other: *item})
	f.watermarks(t, h0.Add(time.Hour), h0.Add(85*time.Minute))

	all := "events,pageviews,visitors,sessions,bounce_rate,avg_session_duration,revenue"
	cases := []struct {
		url  string
		want int
		hdr  []string
	}{
		{"/v1/timeseries?metrics=" + all + "&interval=hour&from=2026-11-01T00:00:00Z&to=2026-11-01T03:00:00Z", 200, nil},
		{"/v1/timeseries?metrics=events&event=purchase&interval=day&tz=America/New_York&from=2026-10-31&to=2026-11-02", 200, nil},
		{"/v1/timeseries?metrics=events,visitors,revenue&filters=country==JP&interval=week&from=2026-10-26&to=2026-11-09", 200, nil},
		{"/v1/timeseries?metrics=events&interval=month&tz=Europe/London&from=2026-10-01&to=2026-12-01", 200, nil},
		{"/v1/breakdown?dimension=country&metrics=events,pageviews,visitors,revenue&limit=1&from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z", 200, nil},
		{"/v1/summary?metrics=" + all + "&from=2026-11-01T00:00:00Z&to=2026-11-01T02:00:00Z", 200, nil},
		{"/v1/summary?metrics=" + all + "&tz=Asia/Tokyo&from=2026-11-01&to=2026-11-02", 200, nil},
		{"/v1/realtime", 200, nil},
		{"/v1/timeseries?metrics=nope&from=2026-11-01&to=2026-11-02", 400, nil},
		{"/v1/breakdown?dimension=page&tz=Asia/Kolkata&from=2026-11-01&to=2026-11-02", 200, nil},
		{"/v1/breakdown?dimension=exit_page&metrics=sessions,engagement_rate,visitors&tz=Asia/Kathmandu&from=2026-11-01&to=2026-11-02", 200, nil},
		{"/v1/summary?tz=Africa/Monrovia&from=1971-03-01&to=1971-03-05", 400, nil},
		{"/v1/summary?from=2026-11-01&to=2026-11-02", 401, []string{"Authorization", "Bearer nope"}},
		{"/v1/timeseries?interval=hour&from=2026-11-01T00:00:00Z&to=2026-11-01T01:00:00Z", 304, nil}, // If-None-Match set below
	}
	for _, tc := range cases {
		t.Run(tc.url, func(t *testing.T) {
			hdr := tc.hdr
			if tc.want == 304 {
				etag := f.do(t, "ra", tc.url).header.Get("ETag")
				if etag == "" {
					t.Fatal("no ETag on a sealed answer")
				}
				hdr = []string{"If-None-Match", etag}
			}
			validate(t, f, router, tc.url, tc.want, hdr...)
		})
	}
	t.Run("429", func(t *testing.T) {
		for i := 0; i < 40; i++ {
			if r := f.do(t, "ra", "/v1/realtime"); r.code == 429 {
				validate(t, f, router, "/v1/realtime", 429)
				return
			}
		}
		t.Fatal("no 429 after 40 requests at once with a burst of 30")
	})
}

// validate sends one request, checks its status, and validates both the
// request and the response against the document.
func validate(t *testing.T, f *fixture, router routers.Router, url string, want int, hdr ...string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer ra")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.srv.App().Test(req, 30_000)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("status %d, want %d: %s", resp.StatusCode, want, body)
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Fatalf("no documented route for %s: %v", url, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if want == 200 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Errorf("request does not match the document: %v", err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("response does not match the document: %v\n%s", err, body)
	}
}
