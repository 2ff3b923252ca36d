package browser

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"
	"github.com/phuslu/iploc"

	"github.com/footfall/footfall/testing/localstack"
)

// The merchant the web test's pages send for, and one whose
// allowed_origins excludes the test site.
const (
	webWriteKey   = "web-write-key"
	webReadKey    = "web-read-key"
	otherWriteKey = "other-write-key"
	// webClientIP is the visitor address the test's front end (standing in
	// for Cloud Run's) appends to X-Forwarded-For.
	webClientIP = "81.2.69.142"
)

// webWant is what the query API must show for the visits web.mjs makes
// (its header lists them), by docs/metrics.md's definitions: page views
// are page_view events; visitors distinct anonymous ids; a session's
// source is that of its first event and applies to all of its events;
// revenue is purchases (footfall.js "purchase", Segment "Order
// Completed"). The HeadlessChrome visit is a bot's and counts nowhere.
var webWant = webTotals{
	Events:    15,
	PageViews: 10,
	Visitors:  4,
	Revenue:   map[string]int64{"EUR": 3050 + 4990},
	// V1 newsletter (3), V2 and V4 direct (2 + 1), V3 google (4).
	SourcePageViews: map[string]int64{"newsletter": 3, "(direct)": 3, "google": 4},
	Names: map[string]int64{"page_view": 10, "Order Completed": 1, "purchase": 1, "signup": 1,
		"file_download": 1, "outbound_link": 1},
	Devices: map[string]int64{"desktop": 15},
}

// webTotals is what the test reads back from the query API.
type webTotals struct {
	Events, PageViews, Visitors int64
	Revenue                     map[string]int64
	SourcePageViews             map[string]int64
	Names                       map[string]int64
	Countries                   map[string]int64
	Devices                     map[string]int64
}

// TestWebCollectionInChromium is the acceptance test of collecting from
// websites: a local test site uses the real @segment/analytics-next bundle
// (from npm, pointed at ingest) and footfall's tracker; web.mjs visits it
// in headless Chromium (route changes, a link, purchases, consent, Do Not
// Track, a bot), and the query API must then show exactly those page
// views, visitors, sources, revenue, event names, countries and devices.
// Browsers reach ingest through a front end on loopback that, like Cloud
// Run's, appends the client address to X-Forwarded-For (TRUSTED_PROXIES).
func TestWebCollectionInChromium(t *testing.T) {
	chromium, node := browserTools(t)

	siteLn, frontLn := listen(t), listen(t)
	siteURL, frontURL := "http://"+siteLn.Addr().String(), "http://"+frontLn.Addr().String()
	keysFile := filepath.Join(t.TempDir(), "keys.json")
	writeWebKeys(t, keysFile, siteURL)

	bin := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := localstack.Build(ctx, "../..", bin); err != nil {
		t.Fatal(err)
	}
	st := localstack.StartForTest(t, localstack.Options{
		BinDir:       bin,
		PipelineArgs: []string{"--early-firing=2s"},
		Env:          []string{"KEYS_FILE=" + keysFile, "TRUSTED_PROXIES=127.0.0.1"},
	})
	ingest, err := url.Parse(st.IngestURL())
	if err != nil {
		t.Fatal(err)
	}
	serveHTTP(t, frontLn, frontEnd(ingest, webClientIP))
	serveHTTP(t, siteLn, testSite("testdata/site", frontURL, webWriteKey))
	start := time.Now().UTC()

	rctx, rcancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer rcancel()
	cmd := exec.CommandContext(rctx, node, "web.mjs")
	cmd.Env = append(os.Environ(),
		"SITE_URL="+siteURL, "INGEST_URL="+frontURL, "QUERY_URL="+st.QueryURL(),
		"WRITE_KEY="+webWriteKey, "READ_KEY="+webReadKey, "OTHER_WRITE_KEY="+otherWriteKey,
		"CHROMIUM="+chromium)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("web.mjs (%.1f s):\n%s", time.Since(start).Seconds(), out)
	if err != nil {
		t.Fatalf("the browser visits failed: %v", err)
	}

	want := webWant
	country := iploc.IPCountry(netip.MustParseAddr(webClientIP))
	if country == "" {
		t.Fatalf("iploc knows no country for %s: pick another test address", webClientIP)
	}
	want.Countries = map[string]int64{country: want.Events}

	client := &http.Client{Timeout: 30 * time.Second}
	from, to := start.Truncate(time.Hour).Add(-time.Hour), time.Now().UTC().Truncate(time.Hour).Add(2*time.Hour)
	got, diffs := waitWebTotals(t, client, st.QueryURL(), from, to, want)
	for _, d := range diffs {
		t.Errorf("query API: %s", d)
	}
	t.Logf("query API: %+v", got)

	// The HeadlessChrome visit reached the pipeline and was counted as a bot.
	if n := pipelineCounter(t, client, "http://"+st.Options().PipelineMetricsAddr+"/metrics", "footfall_events_bot_total"); n < 1 {
		t.Errorf("footfall_events_bot_total = %v; the HeadlessChrome visit's page view must be counted as a bot", n)
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func serveHTTP(t *testing.T, ln net.Listener, h http.Handler) {
	t.Helper()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
}

// writeWebKeys writes the key file: the web merchant accepts pages of the
// test site only; "other" accepts another origin only.
func writeWebKeys(t *testing.T, path, siteURL string) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"merchants": []map[string]any{
		{"id": "web", "write_keys": []string{webWriteKey}, "read_keys": []string{webReadKey}, "allowed_origins": []string{siteURL}},
		{"id": "other", "write_keys": []string{otherWriteKey}, "read_keys": []string{"other-read-key"}, "allowed_origins": []string{"https://elsewhere.example"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// frontEnd is a reverse proxy to ingest that appends clientIP to
// X-Forwarded-For, as Cloud Run's front end appends the address it saw,
// and keeps the Host the browser used (so the settings document names it).
func frontEnd(target *url.URL, clientIP string) http.Handler {
	return &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host
		xff := clientIP
		if prior := r.In.Header.Get("X-Forwarded-For"); prior != "" {
			xff = prior + ", " + clientIP
		}
		r.Out.Header.Set("X-Forwarded-For", xff)
	}}
}

// testSite serves dir, with {{INGEST}} and {{WRITE_KEY}} filled in in
// HTML and JavaScript, and analytics-next's browser bundle from
// node_modules at /vendor/analytics-next/standalone.js.
func testSite(dir, ingestURL, writeKey string) http.Handler {
	fill := strings.NewReplacer("{{INGEST}}", ingestURL, "{{WRITE_KEY}}", writeKey)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := path.Clean("/" + r.URL.Path)
		if p == "/vendor/analytics-next/standalone.js" {
			http.ServeFile(w, r, filepath.Join("node_modules", "@segment", "analytics-next", "dist", "umd", "standalone.js"))
			return
		}
		if strings.HasSuffix(r.URL.Path, "/") {
			p = path.Join(p, "index.html")
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(p)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		switch path.Ext(p) {
		case ".html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			b = []byte(fill.Replace(string(b)))
		case ".js":
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
			b = []byte(fill.Replace(string(b)))
		case ".pdf":
			w.Header().Set("Content-Type", "application/pdf")
		}
		_, _ = w.Write(b)
	})
}

// waitWebTotals reads the query API until it shows want or a bound passes
// (the pipeline fires every 2 s; the bound only ends a failing test), and
// returns the last reading with one line per difference.
func waitWebTotals(t *testing.T, client *http.Client, base string, from, to time.Time, want webTotals) (webTotals, []string) {
	t.Helper()
	var got webTotals
	var diffs []string
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var err error
		got, err = readWebTotals(client, base, from, to)
		diffs = diffs[:0]
		if err != nil {
			diffs = append(diffs, err.Error())
		} else {
			diffs = compareWebTotals(got, want)
		}
		if len(diffs) == 0 || time.Now().After(deadline) {
			return got, diffs
		}
		time.Sleep(time.Second)
	}
}

func compareWebTotals(got, want webTotals) []string {
	var diffs []string
	gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
	for i := 0; i < gv.NumField(); i++ {
		g, w := gv.Field(i).Interface(), wv.Field(i).Interface()
		if !reflect.DeepEqual(g, w) {
			diffs = append(diffs, fmt.Sprintf("%s: got %v, want %v", gv.Type().Field(i).Name, g, w))
		}
	}
	return diffs
}

func readWebTotals(client *http.Client, base string, from, to time.Time) (webTotals, error) {
	q := url.Values{"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
	var s struct {
		Current struct {
			Events    int64                            `json:"events"`
			PageViews int64                            `json:"pageviews"`
			Visitors  int64                            `json:"visitors"`
			Revenue   map[string]struct{ Minor int64 } `json:"revenue"`
		} `json:"current"`
	}
	q.Set("metrics", "events,pageviews,visitors,revenue")
	if err := getJSONKey(client, base+"/v1/summary?"+q.Encode(), webReadKey, &s); err != nil {
		return webTotals{}, err
	}
	got := webTotals{Events: s.Current.Events, PageViews: s.Current.PageViews, Visitors: s.Current.Visitors, Revenue: map[string]int64{}}
	for c, m := range s.Current.Revenue {
		got.Revenue[c] = m.Minor
	}
	breakdown := func(dim, metric string) (map[string]int64, error) {
		var b struct {
			Rows []map[string]any `json:"rows"`
		}
		q.Set("metrics", metric)
		q.Set("limit", "100")
		if err := getJSONKey(client, base+"/v1/breakdown?dimension="+dim+"&"+q.Encode(), webReadKey, &b); err != nil {
			return nil, err
		}
		out := map[string]int64{}
		for _, r := range b.Rows {
			if n, _ := r[metric].(float64); n != 0 {
				out[fmt.Sprint(r["value"])] = int64(n)
			}
		}
		return out, nil
	}
	var err error
	if got.SourcePageViews, err = breakdown("source", "pageviews"); err != nil {
		return got, err
	}
	if got.Names, err = breakdown("event", "events"); err != nil {
		return got, err
	}
	if got.Countries, err = breakdown("country", "events"); err != nil {
		return got, err
	}
	got.Devices, err = breakdown("device", "events")
	return got, err
}

func getJSONKey(client *http.Client, u, key string, v any) error {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", u, resp.Status, bytes.TrimSpace(b))
	}
	return json.Unmarshal(b, v)
}

// pipelineCounter reads one counter from a Prometheus text page (-1 when
// it is absent).
func pipelineCounter(t *testing.T, client *http.Client, u, name string) float64 {
	t.Helper()
	resp, err := client.Get(u)
	if err != nil {
		t.Errorf("pipeline metrics: %v", err)
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			var n float64
			if _, err := fmt.Sscan(v, &n); err == nil {
				return n
			}
		}
	}
	return -1
}
