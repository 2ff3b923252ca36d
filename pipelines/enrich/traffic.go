package enrich

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// Traffic mediums besides the ones merchants set with utm_medium.
const (
	MediumOrganic  = "organic"
	MediumSocial   = "social"
	MediumReferral = "referral"
	MediumEmail    = "email"
	MediumCPC      = "cpc"
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

// paidClickIDs maps the click-id query parameters that ad networks add to
// landing URLs to the network's source name (medium MediumCPC).
var paidClickIDs = []struct{ param, source string }{
	{"gclid", "google"}, {"msclkid", "bing"}, {"fbclid", "facebook"},
}

// webmailHosts are the hosts of webmail services: a referrer from them is
// an email link (MediumEmail), never a search engine or a social network.
var webmailHosts = map[string]bool{
	"mail.google.com": true, "inbox.google.com": true,
	"outlook.live.com": true, "outlook.office.com": true, "outlook.office365.com": true, "mail.live.com": true,
	"mail.yahoo.com": true, "mail.yahoo.co.jp": true, "mail.aol.com": true,
	"mail.proton.me": true, "mail.protonmail.com": true, "app.fastmail.com": true,
	"mail.zoho.com": true, "mail.yandex.ru": true, "mail.yandex.com": true, "e.mail.ru": true,
	"mail.gmx.net": true, "mail.gmx.com": true, "web.de": true, "icloud.com": true,
}

// isWebmail reports whether host (from Host) is a webmail service: a known
// host, or any host whose first label is "webmail".
func isWebmail(host string) bool {
	return webmailHosts[host] || strings.HasPrefix(host, "webmail.")
}

// Traffic returns the traffic source and medium of an event
// (docs/metrics.md, "Traffic rules"):
//
//  1. utm_source or utm_medium set: they win, trimmed, case kept; the
//     missing one is NotSet.
//  2. Else a paid-click id in the page URL's query (gclid, msclkid,
//     fbclid): the ad network and MediumCPC.
//  3. Else a referrer from another site: a webmail host gives the host and
//     MediumEmail, a social network its name and MediumSocial, a search
//     engine its name and MediumOrganic, any other host the host without
//     "www." and MediumReferral.
//  4. Else (no referrer, an unparseable one, or one from the page's own
//     site — internal navigation): SourceDirect and MediumNone.
func Traffic(pageURL, referrer, utmSource, utmMedium string) (source, medium string) {
	utmSource, utmMedium = strings.TrimSpace(utmSource), strings.TrimSpace(utmMedium)
	if utmSource != "" || utmMedium != "" {
		return orNotSet(utmSource), orNotSet(utmMedium)
	}
	if src, ok := paidClick(pageURL); ok {
		return src, MediumCPC
	}
	ref := Host(referrer)
	if ref == "" || sameSite(ref, Host(pageURL)) {
		return SourceDirect, MediumNone
	}
	if isWebmail(ref) {
		return ref, MediumEmail
	}
	if name, ok := social(ref); ok {
		return name, MediumSocial
	}
	if name, ok := search(ref); ok {
		return name, MediumOrganic
	}
	return ref, MediumReferral
}

// paidClick returns the ad network of a paid-click id in the URL's query.
func paidClick(pageURL string) (string, bool) {
	i := strings.IndexByte(pageURL, '?')
	if i < 0 {
		return "", false
	}
	q := pageURL[i+1:]
	if j := strings.IndexByte(q, '#'); j >= 0 {
		q = q[:j]
	}
	vals, _ := url.ParseQuery(q) // a malformed pair is skipped, the rest kept
	for _, p := range paidClickIDs {
		if strings.TrimSpace(vals.Get(p.param)) != "" {
			return p.source, true
		}
	}
	return "", false
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
// else the path of its page_url; without the query string and fragment;
// percent-encoding decoded wherever the result is valid UTF-8, except %2F
// (an encoded slash stays encoded, so it cannot create a path segment) and
// %25; duplicate slashes collapsed; a leading slash; no trailing slash
// except for the root. Case is kept (paths are case-sensitive). So
// Segment's "/caf%C3%A9" and GA4's "/café" are one page. An event with no
// page context at all has layout.NoneValue; a page with an empty path is
// "/".
func PagePath(path, pageURL string) string {
	path, pageURL = strings.TrimSpace(path), strings.TrimSpace(pageURL)
	if path == "" && pageURL == "" {
		return orNone("")
	}
	if path == "" {
		if u, err := url.Parse(pageURL); err == nil {
			path = u.EscapedPath()
		} else if i := strings.Index(pageURL, "://"); i >= 0 {
			// Unparseable (e.g. a bad escape): take what follows the host.
			rest := pageURL[i+3:]
			if j := strings.IndexByte(rest, '/'); j >= 0 {
				path = rest[j:]
			} else {
				path = "/"
			}
		} else {
			path = pageURL
		}
	}
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	path = unescapePath(path)
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

// unescapePath decodes each %XX escape of p except %2F and %25, when the
// result is valid UTF-8; otherwise (or for a malformed escape) it returns p
// with only its escapes upper-cased, so one page has one form.
func unescapePath(p string) string {
	if !strings.Contains(p, "%") {
		return p
	}
	var b strings.Builder
	b.Grow(len(p))
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(p) || !isHex(p[i+1]) || !isHex(p[i+2]) {
			return upperEscapes(p)
		}
		v := unhex(p[i+1])<<4 | unhex(p[i+2])
		if v == '/' || v == '%' {
			b.WriteByte('%')
			b.WriteByte(upperHex(p[i+1]))
			b.WriteByte(upperHex(p[i+2]))
		} else {
			b.WriteByte(v)
		}
		i += 2
	}
	out := b.String()
	if !utf8.ValidString(out) {
		return upperEscapes(p)
	}
	return out
}

func upperEscapes(p string) string {
	b := []byte(p)
	for i := 0; i+2 < len(b); i++ {
		if b[i] == '%' && isHex(b[i+1]) && isHex(b[i+2]) {
			b[i+1], b[i+2] = upperHex(b[i+1]), upperHex(b[i+2])
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func upperHex(c byte) byte {
	if c >= 'a' && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}
