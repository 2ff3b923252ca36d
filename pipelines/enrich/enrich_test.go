package enrich

import (
	"strings"
	"testing"

	"github.com/footfall/footfall/internal/event"
)

func TestAgent(t *testing.T) {
	tests := []struct {
		name, ua string
		want     Agent
	}{
		{"chrome windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36",
			Agent{DeviceDesktop, "Chrome", "Windows", false}},
		{"safari iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
			Agent{DeviceMobile, "Safari", "iOS", false}},
		{"safari ipad", "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
			Agent{DeviceTablet, "Safari", "iOS", false}},
		{"chrome android", "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Mobile Safari/537.36",
			Agent{DeviceMobile, "Chrome", "Android", false}},
		{"firefox linux", "Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/118.0",
			Agent{DeviceDesktop, "Firefox", "Linux", false}},
		{"edge", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36 Edg/118.0.2088.46",
			Agent{DeviceDesktop, "Edge", "Windows", false}},
		{"samsung tv", "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36",
			Agent{DeviceTV, "Samsung Browser", "Linux", false}},
		{"cubot phone is not a bot", "Mozilla/5.0 (Linux; Android 12; CUBOT NOTE 20) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/110.0 Mobile Safari/537.36",
			Agent{DeviceMobile, "Chrome", "Android", false}},
		{"googlebot", "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
			Agent{DeviceOther, "(none)", "(none)", true}},
		{"bingbot", "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
			Agent{DeviceOther, "(none)", "(none)", true}},
		{"gptbot (pattern, not parser)", "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; +https://openai.com/gptbot)",
			Agent{DeviceOther, "Safari", "(none)", true}},
		{"headless chrome", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/118.0.0.0 Safari/537.36",
			Agent{DeviceOther, "Chrome", "Windows", true}},
		{"link preview", "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
			Agent{DeviceOther, "(none)", "(none)", true}},
		{"uptime monitor", "Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
			Agent{DeviceOther, "(none)", "(none)", true}},
		{"server sdk is not a bot", "python-requests/2.31.0", Agent{DeviceOther, "(none)", "(none)", false}},
		{"curl is not a bot", "curl/8.4.0", Agent{DeviceOther, "(none)", "(none)", false}},
		{"empty", "", Agent{DeviceOther, "(none)", "(none)", false}},
	}
	en := New(16)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for range 2 { // parsed, then cached
				if got := en.Agent(tc.ua); got != tc.want {
					t.Errorf("Agent(%q) = %+v, want %+v", tc.ua, got, tc.want)
				}
			}
		})
	}
}

func TestTraffic(t *testing.T) {
	const page = "https://shop.example.com/products/1?x=1"
	tests := []struct {
		name                              string
		pageURL, referrer, utmSrc, utmMed string
		wantSource, wantMedium            string
	}{
		{"nothing", page, "", "", "", "(direct)", "(none)"},
		{"no page url, no referrer", "", "", "", "", "(direct)", "(none)"},
		{"utm wins over referrer", page, "https://www.google.com/", "newsletter", "email", "newsletter", "email"},
		{"utm source only", page, "", "partner", "", "partner", "(not set)"},
		{"utm medium only", page, "https://t.co/x", "", "cpc", "(not set)", "cpc"},
		{"utm case kept, trimmed", page, "", " Google ", " CPC", "Google", "CPC"},
		{"google", page, "https://www.google.com/", "", "", "google", "organic"},
		{"google country domain", page, "https://www.google.co.uk/search?q=x", "", "", "google", "organic"},
		{"google com.br", page, "https://google.com.br/", "", "", "google", "organic"},
		{"news google", page, "https://news.google.de/", "", "", "google", "organic"},
		{"bing", page, "https://www.bing.com/search?q=x", "", "", "bing", "organic"},
		{"duckduckgo", page, "https://duckduckgo.com/", "", "", "duckduckgo", "organic"},
		{"yahoo", page, "https://search.yahoo.com/search", "", "", "yahoo", "organic"},
		{"baidu", page, "https://www.baidu.com/link?url=x", "", "", "baidu", "organic"},
		{"yandex", page, "https://yandex.ru/search", "", "", "yandex", "organic"},
		{"ecosia", page, "https://www.ecosia.org/search", "", "", "ecosia", "organic"},
		{"google subdomain of another site is a referral", page, "https://google.example.org/", "", "", "google.example.org", "referral"},
		{"facebook mobile", page, "https://m.facebook.com/", "", "", "facebook", "social"},
		{"facebook link shim", page, "https://l.facebook.com/l.php?u=x", "", "", "facebook", "social"},
		{"instagram", page, "https://www.instagram.com/", "", "", "instagram", "social"},
		{"t.co", page, "https://t.co/abc", "", "", "twitter", "social"},
		{"x.com", page, "https://x.com/someone", "", "", "twitter", "social"},
		{"linkedin", page, "https://www.linkedin.com/feed/", "", "", "linkedin", "social"},
		{"reddit", page, "https://old.reddit.com/r/x", "", "", "reddit", "social"},
		{"youtube", page, "https://m.youtube.com/watch?v=1", "", "", "youtube", "social"},
		{"tiktok", page, "https://www.tiktok.com/", "", "", "tiktok", "social"},
		{"pinterest", page, "https://www.pinterest.com/pin/1", "", "", "pinterest", "social"},
		{"box.com is not x.com", page, "https://box.com/", "", "", "box.com", "referral"},
		{"other site", page, "https://blog.other.org:8443/post?id=1", "", "", "blog.other.org", "referral"},
		{"www stripped, case folded", page, "HTTPS://WWW.Other.ORG/", "", "", "other.org", "referral"},
		{"referrer without scheme", page, "other.org/x", "", "", "other.org", "referral"},
		{"same host is internal", page, "https://shop.example.com/cart", "", "", "(direct)", "(none)"},
		{"parent domain is internal", page, "https://www.example.com/", "", "", "(direct)", "(none)"},
		{"subdomain is internal", "https://example.com/", "https://blog.example.com/", "", "", "(direct)", "(none)"},
		{"unparseable referrer", page, "http://[::1", "", "", "(direct)", "(none)"},
		// Paid clicks and webmail (docs/metrics.md, "Traffic rules").
		{"gclid is google cpc", page + "&gclid=abc", "https://www.google.com/", "", "", "google", "cpc"},
		{"msclkid is bing cpc", page + "&msclkid=abc#top", "https://www.bing.com/", "", "", "bing", "cpc"},
		{"fbclid is facebook cpc", page + "&fbclid=IwAR0", "https://l.facebook.com/", "", "", "facebook", "cpc"},
		{"empty gclid is not paid", page + "&gclid=", "https://www.google.com/", "", "", "google", "organic"},
		{"utm wins over gclid", page + "&gclid=abc", "", "newsletter", "email", "newsletter", "email"},
		{"gmail is email, not google organic", page, "https://mail.google.com/mail/u/0/", "", "", "mail.google.com", "email"},
		{"outlook is email", page, "https://outlook.live.com/", "", "", "outlook.live.com", "email"},
		{"yahoo mail is email, not yahoo organic", page, "https://mail.yahoo.com/d/folders/1", "", "", "mail.yahoo.com", "email"},
		{"any webmail host", page, "https://webmail.example.net/", "", "", "webmail.example.net", "email"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, med := Traffic(tc.pageURL, tc.referrer, tc.utmSrc, tc.utmMed)
			if src != tc.wantSource || med != tc.wantMedium {
				t.Errorf("Traffic(%q, %q, %q, %q) = %q, %q; want %q, %q", tc.pageURL, tc.referrer, tc.utmSrc, tc.utmMed, src, med, tc.wantSource, tc.wantMedium)
			}
		})
	}
}

func TestPagePath(t *testing.T) {
	tests := []struct{ path, url, want string }{
		{"", "", "(none)"},
		{"/", "", "/"},
		{"", "https://example.com", "/"},
		{"", "https://example.com/", "/"},
		{"", "https://example.com/Products/Shoes/?color=red#top", "/Products/Shoes"},
		{"", "https://example.com//a///b//", "/a/b"},
		{"", "https://example.com/caf%C3%A9", "/café"},
		// Segment sends paths percent-encoded, GA4 decoded: one page.
		{"/caf%C3%A9", "", "/café"},
		{"/café", "", "/café"},
		{"/caf%c3%a9/x%20y", "", "/café/x y"},
		{"/a%2Fb", "", "/a%2Fb"},
		{"", "https://example.com/a%2fb", "/a%2Fb"},
		{"/100%25", "", "/100%25"},
		{"/bad%ZZ", "", "/bad%ZZ"},
		{"/latin1%E9", "", "/latin1%E9"},
		{"/latin1%e9", "", "/latin1%E9"},
		{"/a/b/", "https://example.com/ignored", "/a/b"},
		{"a/b", "", "/a/b"},
		{"/search?q=x", "", "/search"},
		{"/p#frag", "", "/p"},
		{"//", "", "/"},
		{"  /x  ", "", "/x"},
	}
	for _, tc := range tests {
		if got := PagePath(tc.path, tc.url); got != tc.want {
			t.Errorf("PagePath(%q, %q) = %q, want %q", tc.path, tc.url, got, tc.want)
		}
	}
}

func TestEventDims(t *testing.T) {
	en := New(0)
	long := "/" + strings.Repeat("é", 200) // 400 bytes
	e := &event.Event{PageURL: "https://shop.example.com" + long, Referrer: "https://www.bing.com/",
		UTMCampaign: "spring", Country: "de", UserAgent: "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"}
	d, bot := en.Event(e)
	if bot {
		t.Error("an iPhone was flagged as a bot")
	}
	want := Dims{Page: d.Page, Source: "bing", Medium: "organic", Campaign: "spring", Country: "DE", Device: "mobile", Browser: "Safari", OS: "iOS"}
	if d != want {
		t.Errorf("Event = %+v, want %+v", d, want)
	}
	if len(d.Page) > MaxValueLen || !strings.HasPrefix(long, d.Page) || len(d.Page) < MaxValueLen-1 {
		t.Errorf("long page clipped to %d bytes %q", len(d.Page), d.Page)
	}
	d, _ = en.Event(&event.Event{})
	if d != (Dims{"(none)", "(direct)", "(none)", "(none)", "(none)", "other", "(none)", "(none)"}) {
		t.Errorf("empty event dims = %+v", d)
	}
}

func BenchmarkAgentCached(b *testing.B) {
	en := New(0)
	ua := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36"
	for b.Loop() {
		en.Agent(ua)
	}
}
