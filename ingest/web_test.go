package ingest

import (
	"bytes"
	"compress/gzip"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/keys"
)

const chromeUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36"

// webReq sends one request through the app (no network) and returns the
// answer with its body.
func webReq(t testing.TB, s *Server, method, path, body string, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := s.App().Test(req, 20_000)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// browserHeaders are what a browser sends with a sendBeacon or fetch of a
// text/plain body from a page of origin.
func browserHeaders(origin string) map[string]string {
	h := map[string]string{"Content-Type": "text/plain;charset=UTF-8", "User-Agent": chromeUA}
	if origin != "" {
		h["Origin"] = origin
	}
	return h
}

func TestTrackerGzipSizeBudget(t *testing.T) {
	a, err := buildTracker()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("tracker/footfall.js: source %d bytes, minified %d bytes, gzipped %d bytes (budget %d)", len(trackerSource), len(a.js), len(a.gz), MaxTrackerGzipBytes)
	if len(a.gz) > MaxTrackerGzipBytes {
		t.Errorf("the tracker is %d bytes gzipped; the budget is %d", len(a.gz), MaxTrackerGzipBytes)
	}
	if len(a.js) >= len(trackerSource)/2 || bytes.Contains(a.js, []byte("sendBeacon (else")) {
		t.Errorf("the served tracker (%d bytes) is not minified (source %d bytes)", len(a.js), len(trackerSource))
	}
}

func TestTrackerServed(t *testing.T) {
	s, _ := newTestServer(t, nil)
	tests := []struct {
		name     string
		headers  map[string]string
		wantCode int
		wantGzip bool
	}{
		{"gzip", map[string]string{"Accept-Encoding": "gzip, deflate, br"}, 200, true},
		{"identity", nil, 200, false},
		{"cached copy is current", map[string]string{"If-None-Match": s.tracker.etag}, 304, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := webReq(t, s, http.MethodGet, TrackerPath, "", tc.headers)
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.wantCode)
			}
			if tc.wantCode == 304 {
				return
			}
			for h, want := range map[string]string{
				"Content-Type": "text/javascript; charset=utf-8", "Access-Control-Allow-Origin": "*",
				"Cross-Origin-Resource-Policy": "cross-origin", "ETag": s.tracker.etag, "Set-Cookie": "",
			} {
				if got := resp.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			if got := resp.Header.Get("Content-Encoding") == "gzip"; got != tc.wantGzip {
				t.Fatalf("gzipped = %v, want %v", got, tc.wantGzip)
			}
			if tc.wantGzip {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(body, s.tracker.js) {
				t.Errorf("served %d bytes, not the minified tracker", len(body))
			}
		})
	}
}

func TestCORSPreflight(t *testing.T) {
	s, _ := newTestServer(t, nil)
	paths := []string{"/v1/batch", "/v1/track", "/v1/page", "/v1/t", "/v1/p", "/v1/i", "/v1/g", "/v1/a", "/v1/s", "/v1/b", "/v1/web"}
	for _, p := range paths {
		t.Run(p, func(t *testing.T) {
			resp, _ := webReq(t, s, http.MethodOptions, p, "", map[string]string{
				"Origin": "https://shop.example", "Access-Control-Request-Method": "POST",
				"Access-Control-Request-Headers": "authorization,content-type,x-retry-count",
			})
			if resp.StatusCode != http.StatusNoContent {
				t.Fatalf("status %d, want 204", resp.StatusCode)
			}
			for h, want := range map[string]string{
				"Access-Control-Allow-Origin":      "https://shop.example",
				"Access-Control-Allow-Methods":     "POST",
				"Access-Control-Allow-Headers":     "authorization,content-type,x-retry-count",
				"Access-Control-Max-Age":           "7200",
				"Access-Control-Allow-Credentials": "",
			} {
				if got := resp.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
		})
	}
	// Paths that are not write paths answer no CORS: nothing else can be
	// read by another site's page.
	for _, p := range []string{"/mp/collect", "/debug/mp/collect", "/metrics", "/healthz", "/readyz", "/v1/nope"} {
		t.Run("no CORS on "+p, func(t *testing.T) {
			for _, m := range []string{http.MethodOptions, http.MethodGet, http.MethodPost} {
				resp, _ := webReq(t, s, m, p, "{}", map[string]string{"Origin": "https://shop.example", "Access-Control-Request-Method": "GET"})
				if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
					t.Errorf("%s %s: Access-Control-Allow-Origin %q, want none", m, p, got)
				}
			}
		})
	}
}

func TestBrowserPathsAcceptTextPlainWithKeyInBody(t *testing.T) {
	tests := []struct {
		name, path, body string
		auth             bool // also send the key as HTTP Basic, as analytics-next does
		wantType         string
		wantName         string
	}{
		{"analytics-next track", "/v1/t", `{"type":"track","event":"Order Completed","anonymousId":"v1","messageId":"m-t","writeKey":"demo-write-key","properties":{"order_id":"o1","revenue":12.5,"currency":"EUR"}}`, true, event.TypeTrack, "Order Completed"},
		{"analytics-next page", "/v1/p", `{"type":"page","anonymousId":"v1","messageId":"m-p","writeKey":"demo-write-key","properties":{"url":"https://shop.example/a?utm_source=nl"}}`, false, event.TypePage, event.NamePageView},
		{"analytics-next identify", "/v1/i", `{"type":"identify","userId":"u1","anonymousId":"v1","messageId":"m-i","writeKey":"demo-write-key","traits":{"plan":"pro"}}`, false, event.TypeIdentify, "identify"},
		{"analytics-next group", "/v1/g", `{"type":"group","groupId":"g1","anonymousId":"v1","messageId":"m-g","writeKey":"demo-write-key"}`, false, event.TypeGroup, "group"},
		{"analytics-next alias", "/v1/a", `{"type":"alias","userId":"u1","previousId":"v1","messageId":"m-a","writeKey":"demo-write-key"}`, false, event.TypeAlias, "alias"},
		{"analytics-next screen", "/v1/s", `{"type":"screen","anonymousId":"v1","messageId":"m-s","writeKey":"demo-write-key","name":"Home"}`, false, event.TypeScreen, event.NameScreenView},
		{"analytics-next batch", "/v1/b", `{"writeKey":"demo-write-key","sentAt":"2026-11-01T12:00:00Z","batch":[{"type":"page","anonymousId":"v1","messageId":"m-b"}]}`, true, event.TypePage, event.NamePageView},
		{"tracker batch", "/v1/web", `{"writeKey":"demo-write-key","sentAt":"2026-11-01T12:00:00Z","batch":[{"type":"track","event":"purchase","anonymousId":"v1","messageId":"m-w","properties":{"transaction_id":"T1","revenue":49.9,"currency":"EUR"}}]}`, false, event.TypeTrack, "purchase"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ps := newTestServer(t, nil)
			h := browserHeaders("https://shop.example")
			if tc.auth {
				h["Authorization"] = "Basic ZGVtby13cml0ZS1rZXk6" // demo-write-key:
			}
			resp, body := webReq(t, s, http.MethodPost, tc.path, tc.body, h)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "https://shop.example" {
				t.Errorf("Access-Control-Allow-Origin %q, want the page's origin", got)
			}
			if got := resp.Header.Get("Access-Control-Expose-Headers"); !strings.Contains(got, "Retry-After") {
				t.Errorf("Access-Control-Expose-Headers %q does not expose Retry-After", got)
			}
			evs := published(t, ps)
			if len(evs) != 1 {
				t.Fatalf("%d events published, want 1", len(evs))
			}
			e := evs[0]
			if e.MerchantID != keys.DemoMerchant || e.Type != tc.wantType || e.Name != tc.wantName || e.UserAgent != chromeUA {
				t.Errorf("published merchant %q type %q name %q ua %q; want demo, %q, %q and the browser's user agent", e.MerchantID, e.Type, e.Name, e.UserAgent, tc.wantType, tc.wantName)
			}
		})
	}
}

func TestBrowserOnlyPathsRefuseNonBrowsers(t *testing.T) {
	tests := []struct {
		name, path, ua string
		wantCode       int
	}{
		{"curl on /v1/t", "/v1/t", "curl/8.5.0", 403},
		{"no user agent on /v1/web", "/v1/web", "", 403},
		{"python on /v1/p", "/v1/p", "python-requests/2.32", 403},
		{"browser on /v1/t", "/v1/t", chromeUA, 200},
		{"mobile SDK on /v1/b (not browser-only)", "/v1/b", "analytics-kotlin/1.16", 200},
		{"server SDK on /v1/batch", "/v1/batch", "analytics-node-next/3.1.0", 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ps := newTestServer(t, nil)
			body := `{"writeKey":"demo-write-key","batch":[{"type":"track","event":"x","anonymousId":"v","messageId":"m"}]}`
			if tc.path == "/v1/t" || tc.path == "/v1/p" {
				body = `{"writeKey":"demo-write-key","type":"track","event":"x","anonymousId":"v","messageId":"m"}`
				if tc.path == "/v1/p" {
					body = `{"writeKey":"demo-write-key","anonymousId":"v","messageId":"m"}`
				}
			}
			h := map[string]string{"User-Agent": tc.ua}
			resp, b := webReq(t, s, http.MethodPost, tc.path, body, h)
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.wantCode, b)
			}
			wantEvents := 0
			if tc.wantCode == 200 {
				wantEvents = 1
			} else if !strings.Contains(string(b), "web browsers only") {
				t.Errorf("the refusal does not say why: %s", b)
			}
			if got := len(published(t, ps)); got != wantEvents {
				t.Errorf("%d events published, want %d", got, wantEvents)
			}
		})
	}
}

func TestAllowedOrigins(t *testing.T) {
	batch := func(key string) string {
		return `{"writeKey":"` + key + `","batch":[{"type":"page","anonymousId":"v","messageId":"m"}]}`
	}
	tests := []struct {
		name, method, path, key, origin string
		wantCode                        int
	}{
		{"listed origin on the tracker path", "POST", "/v1/web", "wk-o", "https://shop-o.example", 200},
		{"other origin on the tracker path", "POST", "/v1/web", "wk-o", "https://evil.example", 403},
		{"no Origin on a browser-only path", "POST", "/v1/web", "wk-o", "", 403},
		{"other origin on /v1/batch", "POST", "/v1/batch", "wk-o", "https://evil.example", 403},
		{"other origin on /v1/b", "POST", "/v1/b", "wk-o", "https://evil.example", 403},
		{"a server (no Origin) on /v1/batch", "POST", "/v1/batch", "wk-o", "", 200},
		{"merchant without a list: any origin", "POST", "/v1/web", "wk-b", "https://anything.example", 200},
		{"settings for a listed origin", "GET", "/v1/projects/wk-o/settings", "", "https://shop-o.example", 200},
		{"settings for another origin", "GET", "/v1/projects/wk-o/settings", "", "https://evil.example", 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, ps := newTestServer(t, nil)
			body := ""
			if tc.method == "POST" {
				body = batch(tc.key)
			}
			resp, b := webReq(t, s, tc.method, tc.path, body, browserHeaders(tc.origin))
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.wantCode, b)
			}
			if tc.method == "GET" {
				acao := resp.Header.Get("Access-Control-Allow-Origin")
				if (tc.wantCode == 200) != (acao == tc.origin) {
					t.Errorf("Access-Control-Allow-Origin %q with status %d", acao, resp.StatusCode)
				}
				return
			}
			want := 0
			if tc.wantCode == 200 {
				want = 1
			} else if !strings.Contains(string(b), "allowed_origins") {
				t.Errorf("the refusal does not say what to do: %s", b)
			}
			if got := len(published(t, ps)); got != want {
				t.Errorf("%d events published, want %d", got, want)
			}
		})
	}
}

func TestBrowserIPLimit(t *testing.T) {
	s, ps := newTestServer(t, nil, func(c *Config) {
		c.BrowserIPRate, c.BrowserIPBurst = 1, 3
		c.TrustedProxies = []string{"127.0.0.1"}
	})
	base, _ := serve(t, s) // the clock is fixed: an empty bucket stays empty
	body := `{"writeKey":"demo-write-key","batch":[{"type":"page","anonymousId":"v","messageId":"m"}]}`
	send := func(path, clientIP, origin string) int {
		h := browserHeaders(origin)
		h["X-Forwarded-For"] = clientIP
		resp, b := postHTTP(t, base+path, "", body, h)
		if resp.StatusCode == 429 && resp.Header.Get("Retry-After") == "" {
			t.Errorf("429 without Retry-After: %s", b)
		}
		return resp.StatusCode
	}
	steps := []struct {
		name, path, ip, origin string
		want                   int
	}{
		{"1st from a", "/v1/web", "8.8.8.8", "https://shop.example", 200},
		{"2nd from a", "/v1/b", "8.8.8.8", "https://shop.example", 200},
		{"3rd from a (web page on /v1/batch)", "/v1/batch", "8.8.8.8", "https://shop.example", 200},
		{"4th from a: over the burst", "/v1/web", "8.8.8.8", "https://shop.example", 429},
		{"5th from a, on /v1/b", "/v1/b", "8.8.8.8", "https://shop.example", 429},
		{"another client is not affected", "/v1/web", "1.1.1.1", "https://shop.example", 200},
		{"a server (no Origin) on /v1/batch is not limited per IP", "/v1/batch", "8.8.8.8", "", 200},
	}
	for _, st := range steps {
		if got := send(st.path, st.ip, st.origin); got != st.want {
			t.Errorf("%s: status %d, want %d", st.name, got, st.want)
		}
	}
	if got := len(ps.Messages()); got != 5 {
		t.Errorf("%d events published, want 5", got)
	}
}

func TestBrowserIPLimitersGroupIPv6By64(t *testing.T) {
	l := newBrowserIPLimiters(1, 1)
	at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		ip   string
		want bool
	}{
		{"2001:db8:1:2::1", true},
		{"2001:db8:1:2:ffff::9", false}, // same /64
		{"2001:db8:1:3::1", true},       // another /64
		{"192.0.2.1", true},
		{"192.0.2.2", true}, // IPv4 addresses are not grouped
	}
	for _, tc := range tests {
		if got, _ := l.take(netip.MustParseAddr(tc.ip), at); got != tc.want {
			t.Errorf("take(%s) = %v, want %v", tc.ip, got, tc.want)
		}
	}
	if newBrowserIPLimiters(0, 10) != nil {
		t.Error("a rate of 0 must turn the limit off")
	}
}

func TestSettingsDocument(t *testing.T) {
	tests := []struct {
		name      string
		publicURL string
		trusted   []string
		headers   map[string]string
		wantHost  string
		wantProto string
	}{
		{"from the Host header", "", nil, map[string]string{"Host": "ingest.local:8080"}, "ingest.local:8080/v1", "http"},
		{"https from a trusted proxy", "", []string{"0.0.0.0/0"}, map[string]string{"Host": "ingest.example.com", "X-Forwarded-Proto": "https"}, "ingest.example.com/v1", "https"},
		{"X-Forwarded-Proto from anyone else is ignored", "", nil, map[string]string{"Host": "ingest.example.com", "X-Forwarded-Proto": "https"}, "ingest.example.com/v1", "http"},
		{"PUBLIC_URL wins", "https://collect.shop.example", nil, map[string]string{"Host": "10.0.0.7:8080"}, "collect.shop.example/v1", "https"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestServer(t, nil, func(c *Config) { c.PublicURL, c.TrustedProxies = tc.publicURL, tc.trusted })
			if tc.trusted != nil {
				s.proxies, _ = parsePrefixes(tc.trusted)
			}
			req := httptest.NewRequest(http.MethodGet, "/v1/projects/demo-write-key/settings", nil)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			req.Host = tc.headers["Host"]
			resp, err := s.App().Test(req, 20_000)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			var doc struct {
				Integrations map[string]struct {
					APIKey   string `json:"apiKey"`
					APIHost  string `json:"apiHost"`
					Protocol string `json:"protocol"`
				} `json:"integrations"`
				Metrics struct {
					SampleRate *float64 `json:"sampleRate"`
				} `json:"metrics"`
			}
			if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
				t.Fatal(err)
			}
			seg, ok := doc.Integrations["Segment.io"]
			if !ok || len(doc.Integrations) != 1 {
				t.Fatalf("integrations %v, want Segment.io only", doc.Integrations)
			}
			if seg.APIKey != keys.DemoWriteKey || seg.APIHost != tc.wantHost || seg.Protocol != tc.wantProto {
				t.Errorf("Segment.io = %+v, want apiKey %s apiHost %s protocol %s", seg, keys.DemoWriteKey, tc.wantHost, tc.wantProto)
			}
			if doc.Metrics.SampleRate == nil || *doc.Metrics.SampleRate != 0 {
				t.Errorf("metrics.sampleRate must be 0 (the library must not report to Segment)")
			}
		})
	}
	t.Run("unknown write key", func(t *testing.T) {
		s, _ := newTestServer(t, nil)
		resp, body := webReq(t, s, http.MethodGet, "/v1/projects/nope/settings", "", nil)
		if resp.StatusCode != 404 || !strings.Contains(string(body), "unknown write key") {
			t.Errorf("status %d body %q, want 404 naming the unknown key", resp.StatusCode, body)
		}
	})
}

func TestConfigBrowserSettings(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr bool
	}{
		{"defaults", func(*Config) {}, false},
		{"public URL", func(c *Config) { c.PublicURL = "https://ingest.example.com" }, false},
		{"public URL with a path", func(c *Config) { c.PublicURL = "https://example.com/ingest" }, true},
		{"public URL without scheme", func(c *Config) { c.PublicURL = "ingest.example.com" }, true},
		{"negative per-IP rate", func(c *Config) { c.BrowserIPRate = -1 }, true},
		{"per-IP rate without burst", func(c *Config) { c.BrowserIPRate, c.BrowserIPBurst = 5, 0 }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig()
			tc.mutate(&c)
			if err := c.Validate(); (err != nil) != tc.wantErr {
				t.Errorf("Validate() = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

// TestSnippetsMatchTheTracker keeps the copy-paste snippets (README,
// docs/ingest.md, the dashboard's install panel) in step with the tracker:
// the queue stub it drains, the path it is served at and the attribute it
// reads the write key from.
func TestSnippetsMatchTheTracker(t *testing.T) {
	const stub = `window.footfall=window.footfall||function(){(footfall.q=footfall.q||[]).push(arguments)}`
	for _, want := range []string{stub, `data-key`, `footfall.q`, `'purchase'`} {
		if !bytes.Contains(trackerSource, []byte(want)) {
			t.Fatalf("tracker/footfall.js no longer contains %q: update the snippets and this test", want)
		}
	}
	for _, f := range []string{"../README.md", "../docs/ingest.md", "../queryapi/dashboard/static/index.html"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := html.UnescapeString(string(b))
		for _, want := range []string{stub, TrackerPath + `" data-key="`} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: the snippet lacks %q", f, want)
			}
		}
	}
}
