// Package enrich holds the pure functions that turn an event's raw context
// into breakdown dimension values: user agent → device category, browser,
// OS and a bot flag; referrer and UTM fields → traffic source, medium and
// campaign; page URL → normalised path; country → a stable value.
//
// Enrichment runs in the pipeline, not in ingest, so a fix to these rules
// is applied to history by re-sealing it from the raw archive.
// docs/pipeline.md states every rule.
package enrich

import (
	"strings"
	"unicode/utf8"

	lru "github.com/hashicorp/golang-lru/v2"
	useragent "github.com/medama-io/go-useragent"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/layout"
)

// Device categories.
const (
	DeviceDesktop = "desktop"
	DeviceMobile  = "mobile"
	DeviceTablet  = "tablet"
	DeviceTV      = "tv"
	DeviceOther   = "other"
)

// MaxValueLen bounds a dimension value in bytes (it becomes part of a
// Bigtable column qualifier); longer values are cut at a rune boundary.
const MaxValueLen = 256

// Agent is what a user agent string says about the client.
type Agent struct {
	Device  string // DeviceDesktop, DeviceMobile, DeviceTablet, DeviceTV or DeviceOther
	Browser string // e.g. "Chrome"; layout.NoneValue when unknown
	OS      string // e.g. "Android"; layout.NoneValue when unknown
	Bot     bool   // a bot, crawler, monitor or HTTP library
}

// Dims are an event's breakdown dimension values besides its name; none is
// ever empty (layout.NoneValue stands for "unknown").
type Dims struct {
	Page     string
	Source   string
	Medium   string
	Campaign string
	Country  string
	Device   string
	Browser  string
	OS       string
}

// Enricher parses user agents behind an LRU cache. It is safe for
// concurrent use.
type Enricher struct {
	ua    *useragent.Parser
	cache *lru.Cache[string, Agent]
}

// DefaultCacheSize is the number of distinct user agents New caches.
const DefaultCacheSize = 4096

// New returns an Enricher caching up to size parsed user agents
// (DefaultCacheSize when size <= 0).
func New(size int) *Enricher {
	if size <= 0 {
		size = DefaultCacheSize
	}
	c, err := lru.New[string, Agent](size)
	if err != nil {
		panic(err) // only for size <= 0, excluded above
	}
	return &Enricher{ua: useragent.NewParser(), cache: c}
}

// Agent parses a user agent string.
func (en *Enricher) Agent(ua string) Agent {
	if a, ok := en.cache.Get(ua); ok {
		return a
	}
	a := en.parse(ua)
	en.cache.Add(ua, a)
	return a
}

func (en *Enricher) parse(s string) Agent {
	if strings.TrimSpace(s) == "" {
		// Server-side SDKs send no user agent: not a bot, device unknown.
		return Agent{Device: DeviceOther, Browser: layout.NoneValue, OS: layout.NoneValue}
	}
	if IsHTTPLibrary(s) {
		// A merchant's server sending events (purchases, refunds) through
		// an HTTP library: a real event, not a bot, device unknown.
		return Agent{Device: DeviceOther, Browser: layout.NoneValue, OS: layout.NoneValue}
	}
	p := en.ua.Parse(s)
	a := Agent{
		Browser: orNone(string(p.Browser())),
		OS:      orNone(string(p.OS())),
		Bot:     p.IsBot() || IsCrawler(s),
	}
	switch {
	case a.Bot:
		a.Device = DeviceOther
	case p.IsTV():
		a.Device = DeviceTV
	case p.IsTablet():
		a.Device = DeviceTablet
	case p.IsMobile():
		a.Device = DeviceMobile
	case p.IsDesktop():
		a.Device = DeviceDesktop
	default:
		a.Device = DeviceOther
	}
	return a
}

// crawlerMarks are lower-case substrings of user agents of crawlers,
// monitors, link previewers and headless browsers that the parser does not
// flag itself.
var crawlerMarks = []string{
	"bot", "crawl", "spider", "slurp", "scrape", "archiver", "scrapy",
	"headlesschrome", "phantomjs", "selenium", "puppeteer", "playwright", "lighthouse",
	"facebookexternalhit", "facebookcatalog", "embedly", "skypeuripreview",
	"pingdom", "uptimerobot", "statuscake", "site24x7", "newrelicpinger",
}

// httpLibraryMarks are lower-case prefixes of user agents of HTTP client
// libraries and analytics server SDKs: a merchant's backend sending events.
var httpLibraryMarks = []string{
	"curl/", "wget/", "python-requests/", "python-urllib/", "python-httpx/", "aiohttp/",
	"go-http-client/", "okhttp/", "axios/", "node-fetch", "undici", "node/", "java/",
	"apache-httpclient/", "guzzlehttp/", "ruby", "faraday", "dart:io", "dart/",
	"analytics-node", "analytics-python", "analytics-ruby", "analytics-go", "analytics-java",
	"rudder", "segment",
}

// IsHTTPLibrary reports whether a user agent is an HTTP client library or
// an analytics server SDK rather than a browser or a crawler.
func IsHTTPLibrary(ua string) bool {
	s := strings.ToLower(strings.TrimSpace(ua))
	for _, m := range httpLibraryMarks {
		if strings.HasPrefix(s, m) {
			return true
		}
	}
	return false
}

// IsCrawler reports whether a user agent matches a common crawler pattern.
// "bot" inside the phone brand "cubot" does not count.
func IsCrawler(ua string) bool {
	s := strings.ToLower(ua)
	s = strings.ReplaceAll(s, "cubot", "")
	for _, m := range crawlerMarks {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// Event returns e's dimension values and whether it comes from a bot.
func (en *Enricher) Event(e *event.Event) (Dims, bool) {
	a := en.Agent(e.UserAgent)
	src, med := Traffic(e.PageURL, e.Referrer, e.UTMSource, e.UTMMedium)
	return Dims{
		Page:     clip(PagePath(e.PagePath, e.PageURL)),
		Source:   clip(src),
		Medium:   clip(med),
		Campaign: clip(Campaign(e.UTMCampaign)),
		Country:  Country(e.Country),
		Device:   a.Device,
		Browser:  a.Browser,
		OS:       a.OS,
	}, a.Bot
}

// Country returns an ISO 3166-1 alpha-2 code upper-cased, or
// layout.NoneValue when empty.
func Country(c string) string {
	c = strings.TrimSpace(c)
	if c == "" {
		return layout.NoneValue
	}
	return clip(strings.ToUpper(c))
}

// Campaign returns utm_campaign, or layout.NoneValue when empty.
func Campaign(utmCampaign string) string {
	return orNone(strings.TrimSpace(utmCampaign))
}

func orNone(s string) string {
	if s == "" {
		return layout.NoneValue
	}
	return s
}

// clip cuts s to MaxValueLen bytes at a rune boundary.
func clip(s string) string {
	if len(s) <= MaxValueLen {
		return s
	}
	s = s[:MaxValueLen]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
