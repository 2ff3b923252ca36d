package truth

// The value rules of docs/metrics.md (page paths, traffic sources, user
// agents, currencies), written from the documentation, not from the
// pipeline's code.

import (
	"math/big"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Agent is a user agent's labels.
type Agent struct {
	Bot                 bool
	Device, Browser, OS string
}

// User agents the generator uses, labelled by hand with the names
// docs/pipeline.md says the parser gives (device desktop, mobile, tablet,
// tv or other; browser and OS names; an empty or server user agent is
// other/(none)/(none)).
const (
	UAChromeWindows  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	UASafariIPhone   = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	UAFirefoxMac     = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7; rv:125.0) Gecko/20100101 Firefox/125.0"
	UAChromeAndroid  = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"
	UASafariIPad     = "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
	UAServerSDK      = "analytics-node/3.1.0"
	UAPythonRequests = "python-requests/2.31.0"
	UAGooglebot      = CrawlerUA
	UABingbot        = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
	UALinkPreview    = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
)

// Agents labels every user agent the ground truth accepts.
var Agents = map[string]Agent{
	UAChromeWindows:  {Device: "desktop", Browser: "Chrome", OS: "Windows"},
	UASafariIPhone:   {Device: "mobile", Browser: "Safari", OS: "iOS"},
	UAFirefoxMac:     {Device: "desktop", Browser: "Firefox", OS: "MacOS"},
	UAChromeAndroid:  {Device: "mobile", Browser: "Chrome", OS: "Android"},
	UASafariIPad:     {Device: "tablet", Browser: "Safari", OS: "iOS"},
	UAServerSDK:      {Device: "other"}, // a merchant's backend: not a bot
	UAPythonRequests: {Device: "other"}, // an HTTP library: not a bot
	"":               {Device: "other"},
	UAGooglebot:      {Bot: true},
	UABingbot:        {Bot: true},
	UALinkPreview:    {Bot: true},
}

var crawlerMark = regexp.MustCompile(`(?i)bot|crawl|spider|slurp|scrape|archiver|headless|facebookexternalhit`)

// isBotUA: a labelled agent's label, else the crawler marks of
// docs/pipeline.md ("Cubot" phones excepted).
func isBotUA(ua string) bool {
	if a, ok := Agents[ua]; ok {
		return a.Bot
	}
	return crawlerMark.MatchString(strings.ReplaceAll(strings.ToLower(ua), "cubot", ""))
}

// Currencies are the ISO 4217 minor units (decimals) of the currencies the
// truth accepts — ISO's table, not CLDR's (IDR, COP, PKR have 2).
var Currencies = map[string]int{
	"EUR": 2, "USD": 2, "GBP": 2, "IDR": 2, "COP": 2, "PKR": 2,
	"JPY": 0, "KRW": 0,
	"BHD": 3, "KWD": 3,
}

var decimalRE = regexp.MustCompile(`^[+-]?[0-9]+(\.[0-9]+)?$`)

// MinorUnits converts a decimal amount to minor units at scale, rounding
// half away from zero; ok is false for anything but a plain decimal.
func MinorUnits(amount string, scale int) (*big.Int, bool) {
	amount = strings.TrimSpace(amount)
	if !decimalRE.MatchString(amount) {
		return nil, false
	}
	r, ok := new(big.Rat).SetString(amount)
	if !ok {
		return nil, false
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	num := new(big.Int).Abs(r.Num())
	q, rem := new(big.Int).QuoRem(num, r.Denom(), new(big.Int))
	if rem.Mul(rem, big.NewInt(2)).Cmp(r.Denom()) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if r.Sign() < 0 {
		q.Neg(q)
	}
	return q, true
}

// FormatMinor renders minor units as a decimal with scale digits:
// (12345, 2) → "123.45", (500, 0) → "500", (-5, 2) → "-0.05".
func FormatMinor(minor *big.Int, scale int) string {
	s := new(big.Int).Abs(minor).String()
	if scale > 0 {
		for len(s) <= scale {
			s = "0" + s
		}
		s = s[:len(s)-scale] + "." + s[len(s)-scale:]
	}
	if minor.Sign() < 0 {
		s = "-" + s
	}
	return s
}

// HasPage: the event has page context (a path or a page URL).
func HasPage(h *Hit) bool { return h.Path != "" || h.URL != "" }

// PageOf is the event's normalised page path (docs/metrics.md, "Page
// paths"), or (none) without page context.
func PageOf(h *Hit) string {
	if !HasPage(h) {
		return None
	}
	p := h.Path
	if p == "" {
		p = urlPath(h.URL)
	}
	return NormalisePath(p)
}

// urlPath is the path of a URL: what follows scheme://host, or the whole
// text when it has no scheme.
func urlPath(raw string) string {
	if i := strings.Index(raw, "://"); i >= 0 {
		rest := raw[i+3:]
		j := strings.IndexAny(rest, "/?#")
		if j < 0 || rest[j] != '/' {
			return "/"
		}
		return rest[j:]
	}
	return raw
}

// NormalisePath: no query string or fragment; percent-encoding decoded
// wherever the bytes decode to valid UTF-8, except %2F and %25; duplicate
// slashes collapsed; a leading slash; no trailing slash but for "/".
func NormalisePath(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	var b strings.Builder
	for i := 0; i < len(p); {
		if p[i] != '%' {
			b.WriteByte(p[i])
			i++
			continue
		}
		// A run of escapes (%2F and %25 end it); decoded as a whole when
		// the bytes are valid UTF-8.
		j, raw := i, []byte{}
		for j+2 < len(p) && p[j] == '%' && isHex(p[j+1]) && isHex(p[j+2]) {
			c := unhex(p[j+1])<<4 | unhex(p[j+2])
			if c == '/' || c == '%' {
				break
			}
			raw = append(raw, c)
			j += 3
		}
		if j == i || !utf8.Valid(raw) {
			if j == i { // a lone %, %2F or %25: kept, and the scan moves on
				j = i + 1
				if i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]) {
					j = i + 3
				}
			}
			b.WriteString(p[i:j])
		} else {
			b.Write(raw)
		}
		i = j
	}
	parts := strings.Split(b.String(), "/")
	var keep []string
	for _, s := range parts {
		if s != "" {
			keep = append(keep, s)
		}
	}
	return "/" + strings.Join(keep, "/")
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// utm returns the event's UTM field: as sent in context.campaign, else from
// the page URL's query.
func utm(h *Hit, field, sent string) string {
	if sent != "" {
		return sent
	}
	u, err := url.Parse(h.URL)
	if err != nil {
		return ""
	}
	return u.Query().Get(field)
}

// Campaign is the event's utm_campaign, else (none).
func Campaign(h *Hit) string {
	if c := strings.TrimSpace(utm(h, "utm_campaign", h.UTMCampaign)); c != "" {
		return c
	}
	return None
}

// Webmail hosts (medium email), search engines (organic) and social
// networks (social) of docs/metrics.md and docs/pipeline.md.
var (
	webmailHosts = []string{"mail.google.com", "outlook.live.com", "outlook.office.com", "outlook.office365.com",
		"mail.yahoo.com", "mail.aol.com", "mail.proton.me"}
	searchEngines = []string{"google", "bing", "duckduckgo", "yahoo", "baidu", "yandex", "ecosia", "startpage", "qwant", "naver", "seznam", "sogou", "ask"}
	socialHosts   = map[string]string{
		"facebook.com": "facebook", "instagram.com": "instagram", "t.co": "twitter", "twitter.com": "twitter", "x.com": "twitter",
		"linkedin.com": "linkedin", "reddit.com": "reddit", "youtube.com": "youtube", "tiktok.com": "tiktok",
		"pinterest.com": "pinterest", "threads.net": "threads", "bsky.app": "bluesky", "snapchat.com": "snapchat",
		"tumblr.com": "tumblr", "vk.com": "vk", "weibo.com": "weibo", "quora.com": "quora", "news.ycombinator.com": "hackernews",
	}
)

// SourceMedium applies the traffic rules of docs/metrics.md to one event.
func SourceMedium(h *Hit) (string, string) {
	src := strings.TrimSpace(utm(h, "utm_source", h.UTMSource))
	med := strings.TrimSpace(utm(h, "utm_medium", h.UTMMedium))
	if src != "" || med != "" {
		if src == "" {
			src = "(not set)"
		}
		if med == "" {
			med = "(not set)"
		}
		return src, med
	}
	if u, err := url.Parse(h.URL); err == nil {
		q := u.Query()
		switch {
		case q.Has("gclid"):
			return "google", "cpc"
		case q.Has("msclkid"):
			return "bing", "cpc"
		case q.Has("fbclid"):
			return "facebook", "cpc"
		}
	}
	ref, err := url.Parse(h.Referrer)
	if err != nil || h.Referrer == "" || ref.Hostname() == "" {
		return "(direct)", "(none)"
	}
	host := strings.ToLower(ref.Hostname())
	if own, err := url.Parse(h.URL); err == nil && own.Hostname() != "" {
		o := strings.ToLower(own.Hostname())
		if host == o || strings.HasSuffix(host, "."+o) || strings.HasSuffix(o, "."+host) {
			return "(direct)", "(none)" // internal navigation
		}
	}
	if strings.HasPrefix(host, "webmail.") {
		return host, "email"
	}
	for _, w := range webmailHosts {
		if host == w {
			return host, "email"
		}
	}
	bare := strings.TrimPrefix(host, "www.")
	labels := strings.Split(bare, ".")
	for i, l := range labels {
		if slices.Contains(searchEngines, l) && publicSuffixLike(labels[i+1:]) {
			return l, "organic"
		}
	}
	for h, name := range socialHosts {
		if bare == h || strings.HasSuffix(bare, "."+h) {
			return name, "social"
		}
	}
	return bare, "referral"
}

// publicSuffixLike: one or two short labels (com, co.uk, de), so that the
// label before them is the registrable one (google.co.uk yes,
// google.example.org no).
func publicSuffixLike(labels []string) bool {
	if len(labels) == 0 || len(labels) > 2 {
		return false
	}
	for _, l := range labels {
		if len(l) > 3 {
			return false
		}
	}
	return true
}
