package ingest

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// segmentSettings is the settings document @segment/analytics-next loads
// from <cdnURL>/v1/projects/<writeKey>/settings before it sends anything.
// footfall serves the part the library reads for its Segment destination:
// where to send (integrations["Segment.io"].apiHost and protocol), no other
// destinations, no middleware, and remote metrics off (sampleRate 0: the
// library would otherwise report its own health to Segment's servers).
type segmentSettings struct {
	Integrations struct {
		SegmentIO segmentIOSettings `json:"Segment.io"`
	} `json:"integrations"`
	Plan                      struct{}        `json:"plan"`
	EdgeFunction              struct{}        `json:"edgeFunction"`
	AnalyticsNextEnabled      bool            `json:"analyticsNextEnabled"`
	MiddlewareSettings        struct{}        `json:"middlewareSettings"`
	EnabledMiddleware         struct{}        `json:"enabledMiddleware"`
	Metrics                   settingsMetrics `json:"metrics"`
	LegacyVideoPluginsEnabled bool            `json:"legacyVideoPluginsEnabled"`
	RemotePlugins             []struct{}      `json:"remotePlugins"`
}

type segmentIOSettings struct {
	APIKey string `json:"apiKey"`
	// APIHost is host[:port]/v1: the library posts to <protocol>://<apiHost>/t, /p, ... and /b.
	APIHost  string `json:"apiHost"`
	Protocol string `json:"protocol"`
}

type settingsMetrics struct {
	SampleRate float64 `json:"sampleRate"`
}

// handleSettings serves GET /v1/projects/:writeKey/settings. A web page
// may read it when its origin may send for the merchant (it holds only
// the public write key and ingest's address).
func (s *Server) handleSettings() fiber.Handler {
	return func(c *fiber.Ctx) error {
		wk, err := url.PathUnescape(c.Params("writeKey"))
		merchant, ok := s.keys.ByWriteKey(wk)
		if err != nil || !ok {
			s.stats.requestsRejected.WithLabelValues("unauthorized").Inc()
			// analytics-next prints the body of a failed settings request.
			return c.Status(fiber.StatusNotFound).SendString("footfall: unknown write key " + quote(wk) + " in the settings URL; check the writeKey you load analytics.js with")
		}
		origin := c.Get(fiber.HeaderOrigin)
		if origin != "" {
			if !s.keys.OriginAllowed(merchant, origin) {
				s.stats.requestsRejected.WithLabelValues("origin_not_allowed").Inc()
				return c.Status(fiber.StatusForbidden).SendString("footfall: this write key does not accept pages of origin " + quote(origin) + "; add it to the merchant's allowed_origins (docs/keys.md)")
			}
			c.Set(fiber.HeaderAccessControlAllowOrigin, origin)
			c.Vary(fiber.HeaderOrigin)
		}
		scheme, host, ok := s.publicBase(c)
		if !ok {
			return c.Status(fiber.StatusBadRequest).SendString("footfall: cannot tell this service's public address from the request's Host header; set PUBLIC_URL")
		}
		var doc segmentSettings
		doc.Integrations.SegmentIO = segmentIOSettings{APIKey: wk, APIHost: host + "/v1", Protocol: scheme}
		doc.AnalyticsNextEnabled = true
		doc.RemotePlugins = []struct{}{}
		c.Set(fiber.HeaderCacheControl, "public, max-age=300")
		return c.JSON(doc)
	}
}

// publicBase is the scheme and host[:port] browsers reach ingest at:
// PUBLIC_URL, else the request's Host, https when the connection is TLS or
// a trusted proxy says X-Forwarded-Proto: https.
func (s *Server) publicBase(c *fiber.Ctx) (scheme, host string, ok bool) {
	if s.publicURL != nil {
		return s.publicURL.Scheme, s.publicURL.Host, true
	}
	host = string(c.Request().Host())
	if !validHost(host) {
		return "", "", false
	}
	scheme = "http"
	if c.Context().IsTLS() {
		scheme = "https"
	} else if p := c.Get(fiber.HeaderXForwardedProto); strings.EqualFold(p, "https") && s.peerTrusted(c) {
		scheme = "https"
	}
	return scheme, host, true
}

// validHost accepts host[:port] made of the characters hosts and IPv6
// literals use.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for i := 0; i < len(h); i++ {
		ch := h[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '.' || ch == ':' || ch == '[' || ch == ']') {
			return false
		}
	}
	return true
}
