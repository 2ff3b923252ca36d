package queryapi

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestNoCrossOriginReads checks that no other site's page can read a
// merchant's data through a visitor's browser: the query API answers no
// CORS at all (its own dashboard is same-origin), to simple requests and
// preflights alike, with or without a key.
func TestNoCrossOriginReads(t *testing.T) {
	f := newFixture(t)
	paths := append([]string{"/openapi.json", "/dashboard/", "/healthz", "/metrics"}, isolationCases...)
	for _, p := range paths {
		for _, method := range []string{http.MethodGet, http.MethodOptions} {
			t.Run(method+" "+p, func(t *testing.T) {
				req := httptest.NewRequest(method, p, nil)
				req.Header.Set("Origin", "https://evil.example")
				req.Header.Set("Authorization", "Bearer ra")
				if method == http.MethodOptions {
					req.Header.Set("Access-Control-Request-Method", "GET")
					req.Header.Set("Access-Control-Request-Headers", "authorization")
				}
				resp, err := f.srv.App().Test(req, 30_000)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				for h := range resp.Header {
					if strings.HasPrefix(strings.ToLower(h), "access-control-") {
						t.Errorf("%s %s answers %s: %q; the query API must answer no CORS", method, p, h, resp.Header.Get(h))
					}
				}
			})
		}
	}
}
