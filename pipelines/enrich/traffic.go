package enrich

import (
	"net/url"
	"strings"
)

// Traffic mediums besides the ones merchants set with utm_medium.
const (
	MediumOrganic  = "organic"
	MediumSocial   = "social"
	MediumReferral = "referral"
	MediumNone     = "(none)"
	// SourceDirect is the source of traffic with no referrer and no UTM
	// fields, or from the same site.
	SourceDirect = "(direct)"
	// NotSet fills utm_source or utm_medium when only the other was sent
	// (as Google Analytics does).
	NotSet = "(not set)"
)

// searchEngines maps the registrable label of a referrer host to the source
// name of a search engine, so google.com, www.google.co.uk, news.google.de
// and search.yahoo.com map to "google", "google", "google" and "yahoo".
var searchEngines = map[string]string{
	"google": "google", "bing": "bing", "duckduckgo": "duckduckgo", "yahoo": "yahoo",
	"baidu": "baidu", "yandex": "yandex", "ecosia": "ecosia", "startpage": "startpage",
	"qwant": "qwant", "naver": "naver", "seznam": "seznam", "sogou": "sogou", "ask": "ask",
}

// socialHosts maps a host (without "www.") or its last two labels to the
// source name of a social network.
var socialHosts = map[string]string{
	"facebook.com": "facebook", "fb.com": "facebook", "fb.me": "facebook", "messenger.com": "facebook",
	"instagram.com": "instagram",
	"t.co":          "twitter", "twitter.com": "twitter", "x.com": "twitter",
	"linkedin.com": "linkedin", "lnkd.in": "linkedin",
	"reddit.com": "reddit", "redd.it": "reddit",
	"youtube.com": "youtube", "youtu.be": "youtube",
	"tiktok.com":    "tiktok",
	"pinterest.com": "pinterest", "pin.it": "pinterest",
	"threads.net": "threads", "threads.com": "threads",
	"bsky.app": "bluesky", "mastodon.social": "mastodon",
	"snapchat.com": "snapchat", "tumblr.com": "tumblr", "vk.com": "vk", "weibo.com": "weibo",
	"quora.com": "quora", "news.ycombinator.com": "hackernews",
}

// Traffic returns the traffic source and medium of an event:
//
//  1. utm_source or utm_medium set: they win, trimmed, case kept; the
//     missing one is NotSet.
//  2. Else a referrer from another site: a search engine gives its name and
//     MediumOrganic, a social network its name and MediumSocial, any other
//     host the host without "www." and MediumReferral.
//  3. Else (no referrer, an unparseable one, or one from the page's own
//     site — internal navigation): SourceDirect and MediumNone.
func Traffic(pageURL, referrer, utmSource, utmMedium string) (source, medium string) {
	utmSource, utmMedium = strings.TrimSpace(utmSource), strings.TrimSpace(utmMedium)
	if utmSource != "" || utmMedium != "" {
		return orNotSet(utmSource), orNotSet(utmMedium)
	}
	ref := Host(referrer)
	if ref == "" || sameSite(ref, Host(pageURL)) {
		return SourceDirect, MediumNone
	}
	if name, ok := social(ref); ok {
		return name, MediumSocial
	}
	if name, ok := search(ref); ok {
		return name, MediumOrganic
	}
	return ref, MediumReferral
}

func orNotSet(s string) string {
	if s == "" {
		return NotSet
	}
	return s
}

// Host returns the lower-case host of a URL without port and without a
// leading "www.", or "" when there is none.
func Host(raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return ""
	}
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw // "example.com/x" as sent by some clients
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	h := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	return strings.TrimPrefix(h, "www.")
}

// sameSite reports whether two hosts (from Host) belong to one site: equal,
// or one a subdomain of the other (shop.example.com and example.com).
func sameSite(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	return a == b || strings.HasSuffix(a, "."+b) || strings.HasSuffix(b, "."+a)
}

func social(host string) (string, bool) {
	if name, ok := socialHosts[host]; ok {
		return name, true
	}
	labels := strings.Split(host, ".")
	if len(labels) >= 2 {
		if name, ok := socialHosts[strings.Join(labels[len(labels)-2:], ".")]; ok {
			return name, true
		}
	}
	return "", false
}

// search matches the engine's name as the second-level label of the host
// (google.com, google.co.uk, search.yahoo.com, duckduckgo.com), not as any
// label, so that google.example.com is a referral.
func search(host string) (string, bool) {
	labels := strings.Split(host, ".")
	n := len(labels)
	for _, i := range []int{n - 2, n - 3} { // example.com, example.co.uk
		if i < 0 {
			continue
		}
		if name, ok := searchEngines[labels[i]]; ok {
			if i == n-3 && len(labels[n-2]) > 3 {
				continue // google.example.com: the engine is not the registrable label
			}
			return name, true
		}
	}
	return "", false
}

// PagePath returns the normalised page path of an event: its page_path,
// else the path of its page_url; without the query string and fragment,
// with duplicate slashes collapsed, a leading slash, and no trailing slash
// except for the root. Case is kept (paths are case-sensitive). An event
// with no page context at all has layout.NoneValue; a page with an empty
// path is "/".
func PagePath(path, pageURL string) string {
	path, pageURL = strings.TrimSpace(path), strings.TrimSpace(pageURL)
	if path == "" && pageURL == "" {
		return orNone("")
	}
	if path == "" {
		if u, err := url.Parse(pageURL); err == nil {
			path = u.EscapedPath()
			if u, err := url.PathUnescape(path); err == nil {
				path = u
			}
		}
	}
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	var b strings.Builder
	b.Grow(len(path) + 1)
	b.WriteByte('/')
	for _, seg := range strings.Split(path, "/") {
		if seg == "" {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte('/')
		}
		b.WriteString(seg)
	}
	return b.String()
}
