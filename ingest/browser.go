package ingest

// Browser-facing ingest (docs/ingest.md, "From websites"): the paths of
// Segment's analytics.js (@segment/analytics-next), the settings document
// it loads, footfall's own tracker and its endpoint, CORS for every Segment
// write path, per-merchant origin allow-lists and per-IP limits.
//
// Nothing here lets a browser read merchant data: CORS is answered only on
// write paths (whose answers say how many events were accepted), on the
// settings document (the public write key and where to send) and on the
// tracker script. The query API answers no CORS at all.

import (
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/footfall/footfall/internal/event"
)

// Browser paths.
const (
	// PathBrowserBatch is analytics-next's batching endpoint (also used by
	// Segment's mobile SDKs, so it is not browser-only).
	PathBrowserBatch = "/v1/b"
	// PathTracker is where footfall.js sends its batches.
	PathTracker = "/v1/web"
	// PathSettings is the settings document analytics.js loads from its
	// CDN URL before it sends anything.
	PathSettings = "/v1/projects/:writeKey/settings"
)

// browserSingle are analytics.js's one-message paths: /v1/ and the first
// letter of the message type.
var browserSingle = []struct{ path, typ string }{
	{"/v1/t", event.TypeTrack}, {"/v1/p", event.TypePage}, {"/v1/i", event.TypeIdentify},
	{"/v1/g", event.TypeGroup}, {"/v1/a", event.TypeAlias}, {"/v1/s", event.TypeScreen},
}

// localBrowserOnly marks a request on a browser-only path.
const localBrowserOnly = "browser_only"

// browserRoutes attaches the browser-facing routes, and CORS preflights
// for them and for the Segment HTTP API's paths (segmentPaths).
func (s *Server) browserRoutes(app *fiber.App, segmentPaths []string) {
	for _, r := range browserSingle {
		app.Post(r.path, s.cors, s.limitIP(true), s.browserOnly, s.handleSegmentSingle(r.typ))
	}
	app.Post(PathBrowserBatch, s.cors, s.limitIP(true), s.handleSegmentBatch())
	app.Post(PathTracker, s.cors, s.limitIP(true), s.browserOnly, s.handleSegmentBatch())
	for _, p := range append(segmentPaths, PathBrowserBatch, PathTracker) {
		app.Options(p, s.preflight)
	}
	for _, r := range browserSingle {
		app.Options(r.path, s.preflight)
	}
	app.Get(PathSettings, s.limitIP(true), s.handleSettings())
	app.Get(TrackerPath, s.handleTracker())
}

// CORS response headers.
const (
	exposedHeaders  = "Retry-After, X-Request-Id" // analytics-next honours Retry-After on 429
	preflightMaxAge = "7200"                      // seconds; Chromium's cap
)

// cors lets any page read the answer of a write path. No credentials are
// allowed (footfall sets no cookies); a merchant's allowed_origins is
// enforced once the write key is known (checkOrigin), because a preflight
// carries no key.
func (s *Server) cors(c *fiber.Ctx) error {
	if o := c.Get(fiber.HeaderOrigin); o != "" {
		c.Set(fiber.HeaderAccessControlAllowOrigin, o)
		c.Set(fiber.HeaderAccessControlExposeHeaders, exposedHeaders)
		c.Vary(fiber.HeaderOrigin)
	}
	return c.Next()
}

// preflight answers a CORS preflight of a write path: POST from any
// origin, with the request headers the page asked for (analytics-next
// sends Authorization, Content-Type and X-Retry-Count, and lets a site add
// its own; without credentials, allowing them exposes nothing).
func (s *Server) preflight(c *fiber.Ctx) error {
	c.Set(fiber.HeaderAllow, "POST, OPTIONS")
	o := c.Get(fiber.HeaderOrigin)
	if o == "" || c.Get(fiber.HeaderAccessControlRequestMethod) == "" {
		return c.SendStatus(fiber.StatusNoContent) // not a CORS preflight
	}
	c.Set(fiber.HeaderAccessControlAllowOrigin, o)
	c.Set(fiber.HeaderAccessControlAllowMethods, "POST")
	if h := c.Get(fiber.HeaderAccessControlRequestHeaders); h != "" && validHeaderList(h) {
		c.Set(fiber.HeaderAccessControlAllowHeaders, h)
	}
	c.Set(fiber.HeaderAccessControlMaxAge, preflightMaxAge)
	c.Vary(fiber.HeaderOrigin, fiber.HeaderAccessControlRequestMethod, fiber.HeaderAccessControlRequestHeaders)
	return c.SendStatus(fiber.StatusNoContent)
}

// validHeaderList accepts a short comma-separated list of header names.
func validHeaderList(h string) bool {
	if len(h) > 512 {
		return false
	}
	for i := 0; i < len(h); i++ {
		ch := h[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == ',' || ch == ' ') {
			return false
		}
	}
	return true
}

// browserOnly refuses requests that no web browser sent: every browser's
// User-Agent starts with "Mozilla/", no HTTP library's or server SDK's
// does. Without this, a script without a user agent would be counted as a
// visitor (the pipeline takes an empty user agent for a merchant's server,
// not a bot). Bots that do look like browsers are the pipeline's to
// classify (docs/pipeline.md, "Bots").
func (s *Server) browserOnly(c *fiber.Ctx) error {
	if !strings.HasPrefix(c.Get(fiber.HeaderUserAgent), "Mozilla/") {
		return s.segmentFail(c, &requestError{status: fiber.StatusForbidden, reason: "not_browser",
			msg: c.Path() + " takes events from web browsers only (their User-Agent starts with Mozilla/); servers and apps send to /v1/batch with the write key as the HTTP Basic user name"})
	}
	c.Locals(localBrowserOnly, true)
	return c.Next()
}

// checkOrigin enforces the merchant's allowed_origins (docs/keys.md) on a
// request from a web page. A request without an Origin header comes from
// a server or an app and is not checked, except on browser-only paths,
// where a merchant with an allow-list requires one.
func (s *Server) checkOrigin(c *fiber.Ctx, merchant string) *requestError {
	origin := c.Get(fiber.HeaderOrigin)
	if origin == "" && c.Locals(localBrowserOnly) == nil {
		return nil
	}
	if s.keys.OriginAllowed(merchant, origin) {
		return nil
	}
	if origin == "" {
		origin = "(none)"
	}
	return &requestError{status: fiber.StatusForbidden, reason: "origin_not_allowed",
		msg: "this write key does not accept events from pages of origin " + quote(origin) + "; add the origin to the merchant's allowed_origins (docs/keys.md)"}
}

// limitIP applies the per-client-IP limit to browser traffic: every
// request on a browser path (always), and any request that carries an
// Origin header (a web page) on the other Segment paths.
func (s *Server) limitIP(always bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if s.ipLimits == nil || !always && c.Get(fiber.HeaderOrigin) == "" {
			return c.Next()
		}
		ok, wait := s.ipLimits.take(s.clientIP(c), s.now())
		if ok {
			return c.Next()
		}
		secs := max(int((wait+999_999_999)/1_000_000_000), 1)
		return s.segmentFail(c, &requestError{status: fiber.StatusTooManyRequests, reason: "ip_rate_limited", retry: secs,
			msg: "too many requests from this address: at most " + strconv.FormatFloat(s.cfg.BrowserIPRate, 'g', -1, 64) +
				" per second (bursts of " + strconv.Itoa(s.cfg.BrowserIPBurst) + "); retry after " + strconv.Itoa(secs) + " s"})
	}
}

// peerTrusted reports whether the connection comes from a trusted proxy.
func (s *Server) peerTrusted(c *fiber.Ctx) bool {
	peer, _ := netip.AddrFromSlice(c.Context().RemoteIP())
	return len(s.proxies) > 0 && s.trusted(peer.Unmap())
}

// parsePublicURL checks PUBLIC_URL: empty, or an http(s) URL with a host
// and nothing after it.
func parsePublicURL(s string) (*url.URL, error) {
	if s == "" {
		return nil, nil
	}
	u, err := url.Parse(strings.TrimSuffix(s, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return nil, errBadPublicURL(s)
	}
	return u, nil
}

type errBadPublicURL string

func (e errBadPublicURL) Error() string {
	return "ingest: PUBLIC_URL must be scheme://host[:port] with nothing after it, e.g. https://ingest.example.com; got " + strconv.Quote(string(e))
}
