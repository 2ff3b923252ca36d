package dashboard_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	json "github.com/goccy/go-json"
	"github.com/gofiber/fiber/v2"

	"github.com/footfall/footfall/queryapi"
	"github.com/footfall/footfall/queryapi/dashboard"
)

type answer struct {
	code   int
	header http.Header
	body   string
}

func get(t testing.TB, app *fiber.App, path string, hdr ...string) answer {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := app.Test(req, 10_000)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func newApp() *fiber.App {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	dashboard.Register(app)
	return app
}

func TestServes(t *testing.T) {
	app := newApp()
	cases := []struct {
		path     string
		code     int
		location string
		ctype    string
		contains string
	}{
		{"/", 302, "/dashboard/", "", ""},
		{"/dashboard", 302, "/dashboard/", "", ""},
		{"/dashboard/", 200, "", "text/html; charset=utf-8", `<label for="key">Read key</label>`},
		{"/dashboard/index.html", 200, "", "text/html; charset=utf-8", `<select id="tz"`},
		{"/dashboard/dashboard.js", 200, "", "text/javascript; charset=utf-8", "sessionStorage"},
		{"/dashboard/dashboard.css", 200, "", "text/css; charset=utf-8", ":focus-visible"},
		{"/dashboard/vendor/uPlot.iife.min.js", 200, "", "text/javascript; charset=utf-8", "var uPlot="},
		{"/dashboard/vendor/uPlot.min.css", 200, "", "text/css; charset=utf-8", ".uplot"},
		{"/dashboard/vendor/uPlot.LICENSE", 200, "", "text/plain; charset=utf-8", "MIT"},
		{"/dashboard/nope.js", 404, "", "", ""},
		{"/dashboard/../dashboard.go", 404, "", "", ""},
		{"/dashboard/vendor", 404, "", "", ""},
		{"/dashboardx", 404, "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			got := get(t, app, tc.path)
			if got.code != tc.code {
				t.Fatalf("status %d, want %d (%s)", got.code, tc.code, got.body)
			}
			if loc := got.header.Get("Location"); loc != tc.location {
				t.Errorf("Location %q, want %q", loc, tc.location)
			}
			if tc.ctype != "" && got.header.Get("Content-Type") != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got.header.Get("Content-Type"), tc.ctype)
			}
			if !strings.Contains(got.body, tc.contains) {
				t.Errorf("body does not contain %q", tc.contains)
			}
			if tc.code == 200 {
				csp := got.header.Get("Content-Security-Policy")
				for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
					if !strings.Contains(csp, want) {
						t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
					}
				}
				if got.header.Get("ETag") == "" || got.header.Get("Cache-Control") != "no-cache" {
					t.Errorf("ETag %q, Cache-Control %q: want an ETag and no-cache", got.header.Get("ETag"), got.header.Get("Cache-Control"))
				}
			}
		})
	}
}

func TestNotModified(t *testing.T) {
	app := newApp()
	first := get(t, app, "/dashboard/dashboard.js")
	etag := first.header.Get("ETag")
	for _, tc := range []struct {
		inm  string
		code int
	}{{etag, 304}, {`W/` + etag, 304}, {`"other", ` + etag, 304}, {`"other"`, 200}} {
		if got := get(t, app, "/dashboard/dashboard.js", "If-None-Match", tc.inm); got.code != tc.code {
			t.Errorf("If-None-Match %s: status %d, want %d", tc.inm, got.code, tc.code)
		}
	}
	if other := get(t, app, "/dashboard/dashboard.css").header.Get("ETag"); other == etag {
		t.Errorf("two files share the ETag %s", etag)
	}
}

// The page loads nothing from elsewhere: every src and href is a file
// this package serves, an anchor, the API's own document, or data:.
func TestPageIsSelfContained(t *testing.T) {
	app := newApp()
	page := get(t, app, "/dashboard/").body
	refs := regexp.MustCompile(`(?:src|href)="([^"]*)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 4 {
		t.Fatalf("found only %d references in the page", len(refs))
	}
	for _, m := range refs {
		ref := m[1]
		switch {
		case strings.HasPrefix(ref, "#"), ref == "/openapi.json", strings.HasPrefix(ref, "data:"):
			continue
		case strings.Contains(ref, ":") || strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "."):
			t.Errorf("%q: the page may refer only to its own files (relative) and /openapi.json", ref)
		default:
			if got := get(t, app, dashboard.Path+ref); got.code != 200 {
				t.Errorf("%q: status %d", ref, got.code)
			}
		}
	}
}

// The script calls only routes the public API documents, and only with
// parameters the document lists for them.
func TestScriptUsesThePublicAPI(t *testing.T) {
	var doc struct {
		Paths map[string]struct {
			Get *struct {
				Parameters []struct {
					Name string `json:"name"`
					Ref  string `json:"$ref"`
				} `json:"parameters"`
			} `json:"get"`
		} `json:"paths"`
		Components struct {
			Parameters map[string]struct {
				Name string `json:"name"`
			} `json:"parameters"`
		} `json:"components"`
	}
	if err := json.Unmarshal(queryapi.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	script := get(t, newApp(), "/dashboard/dashboard.js").body
	calls := regexp.MustCompile(`api\('(\w+)', (\{[^}]*\}|null)`).FindAllStringSubmatch(script, -1)
	if len(calls) < 4 {
		t.Fatalf("found %d API calls in the script, want summary, timeseries, breakdown and realtime", len(calls))
	}
	seen := map[string]bool{}
	for _, c := range calls {
		route := "/v1/" + c[1]
		seen[route] = true
		item, ok := doc.Paths[route]
		if !ok || item.Get == nil {
			t.Errorf("the script calls %s, which the OpenAPI document does not list", route)
			continue
		}
		declared := map[string]bool{}
		for _, p := range item.Get.Parameters {
			name := p.Name
			if p.Ref != "" {
				name = doc.Components.Parameters[strings.TrimPrefix(p.Ref, "#/components/parameters/")].Name
			}
			declared[name] = true
		}
		for _, m := range regexp.MustCompile(`(\w+):`).FindAllStringSubmatch(c[2], -1) {
			if !declared[m[1]] {
				t.Errorf("the script sends %s to %s, which does not take it", m[1], route)
			}
		}
		if strings.Contains(c[2], "...common") {
			for _, p := range []string{"from", "to", "tz"} {
				if !declared[p] {
					t.Errorf("the script sends %s to %s, which does not take it", p, route)
				}
			}
		}
	}
	for _, r := range []string{"/v1/summary", "/v1/timeseries", "/v1/breakdown", "/v1/realtime"} {
		if !seen[r] {
			t.Errorf("the script never calls %s", r)
		}
	}
}

// The vendored chart library is the version package-lock.json pins
// (`make dashboard-assets` copies it from there).
func TestVendoredUPlotMatchesLockfile(t *testing.T) {
	b, err := os.ReadFile("package-lock.json")
	if err != nil {
		t.Fatal(err)
	}
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		t.Fatal(err)
	}
	version := lock.Packages["node_modules/uplot"].Version
	if version == "" {
		t.Fatal("package-lock.json pins no uplot")
	}
	js, err := os.ReadFile("static/vendor/uPlot.iife.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if want := "/*! https://github.com/leeoniya/uPlot (v" + version + ") */"; !strings.HasPrefix(string(js), want) {
		t.Errorf("static/vendor/uPlot.iife.min.js starts %.60q, want %q: run make dashboard-assets", js, want)
	}
}
