package truth

import (
	"math/big"
	"testing"
	"time"
)

func TestNormalisePath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/caf%C3%A9", "/café"},
		{"/café", "/café"},
		{"/products/a%20b", "/products/a b"},
		{"/a%2Fb", "/a%2Fb"},               // an encoded slash stays encoded
		{"/a%252F", "/a%252F"},             // so does an encoded percent
		{"/x%C3%A9%2Fy%C3%A9", "/xé%2Fyé"}, // runs on both sides of %2F decode
		{"/bad%FF", "/bad%FF"},             // not UTF-8: kept
		{"/50%", "/50%"},
		{"//a//b/", "/a/b"},
		{"", "/"},
		{"/", "/"},
		{"/p?q=1#f", "/p"},
		{"/p#f?x", "/p"},
		{"products", "/products"},
		{"/Cart/", "/Cart"}, // case kept
	}
	for _, tc := range tests {
		if got := NormalisePath(tc.in); got != tc.want {
			t.Errorf("NormalisePath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestPageOf(t *testing.T) {
	tests := []struct {
		name string
		hit  Hit
		want string
	}{
		{"path wins", Hit{Path: "/a/", URL: "https://s.example/b"}, "/a"},
		{"from the URL, encoded", Hit{URL: "https://s.example/caf%C3%A9?utm_source=x#top"}, "/café"},
		{"host only", Hit{URL: "https://s.example"}, "/"},
		{"host and query", Hit{URL: "https://s.example?gclid=1"}, "/"},
		{"no page context", Hit{Name: "signup"}, None},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := PageOf(&tc.hit); got != tc.want {
				t.Errorf("PageOf = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSourceMedium(t *testing.T) {
	const page = "https://shop.example.com/landing"
	tests := []struct {
		name           string
		hit            Hit
		source, medium string
	}{
		{"utm wins over everything", Hit{URL: page + "?utm_source=News%20letter&utm_medium=email&gclid=x", Referrer: "https://www.google.com/"}, "News letter", "email"},
		{"utm from context.campaign", Hit{URL: page, UTMSource: " spring ", Referrer: "https://www.google.com/"}, "spring", "(not set)"},
		{"only utm_medium", Hit{URL: page + "?utm_medium=cpc"}, "(not set)", "cpc"},
		{"gclid", Hit{URL: page + "?gclid=abc", Referrer: "https://www.google.com/"}, "google", "cpc"},
		{"msclkid", Hit{URL: page + "?msclkid=abc"}, "bing", "cpc"},
		{"fbclid", Hit{URL: page + "?fbclid=abc", Referrer: "https://l.facebook.com/"}, "facebook", "cpc"},
		{"gmail is email, not google", Hit{URL: page, Referrer: "https://mail.google.com/mail/u/0/"}, "mail.google.com", "email"},
		{"outlook", Hit{URL: page, Referrer: "https://outlook.live.com/"}, "outlook.live.com", "email"},
		{"any webmail.*", Hit{URL: page, Referrer: "https://webmail.example.net/?_task=mail"}, "webmail.example.net", "email"},
		{"yahoo mail is email", Hit{URL: page, Referrer: "https://mail.yahoo.com/d/folders/1"}, "mail.yahoo.com", "email"},
		{"google search", Hit{URL: page, Referrer: "https://www.google.com/"}, "google", "organic"},
		{"google.co.uk", Hit{URL: page, Referrer: "https://www.google.co.uk/"}, "google", "organic"},
		{"not google", Hit{URL: page, Referrer: "https://google.example.org/x"}, "google.example.org", "referral"},
		{"duckduckgo", Hit{URL: page, Referrer: "https://duckduckgo.com/"}, "duckduckgo", "organic"},
		{"facebook link shim", Hit{URL: page, Referrer: "https://l.facebook.com/l.php"}, "facebook", "social"},
		{"t.co", Hit{URL: page, Referrer: "https://t.co/abc"}, "twitter", "social"},
		{"referral without www", Hit{URL: page, Referrer: "https://www.example-blog.com/post"}, "example-blog.com", "referral"},
		{"same host is internal", Hit{URL: page, Referrer: "https://shop.example.com/"}, "(direct)", "(none)"},
		{"subdomain is internal", Hit{URL: page, Referrer: "https://blog.shop.example.com/"}, "(direct)", "(none)"},
		{"no referrer", Hit{URL: page}, "(direct)", "(none)"},
		{"unparseable referrer", Hit{URL: page, Referrer: "::not a url"}, "(direct)", "(none)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, med := SourceMedium(&tc.hit)
			if src != tc.source || med != tc.medium {
				t.Errorf("SourceMedium = %s / %s, want %s / %s", src, med, tc.source, tc.medium)
			}
		})
	}
}

func TestMinorUnits(t *testing.T) {
	tests := []struct {
		amount string
		scale  int
		want   int64
		ok     bool
	}{
		{"19.99", 2, 1999, true},
		{"500", 0, 500, true},
		{" 7.5 ", 2, 750, true},
		{"1500.50", 2, 150050, true}, // IDR per ISO 4217
		{"1.234", 3, 1234, true},     // BHD
		{"1.5", 0, 2, true},          // half away from zero
		{"-1.005", 2, -101, true},
		{"+3", 2, 300, true},
		{"12,50", 2, 0, false},
		{"abc", 2, 0, false},
		{"1e3", 2, 0, false},
		{"", 2, 0, false},
	}
	for _, tc := range tests {
		got, ok := MinorUnits(tc.amount, tc.scale)
		if ok != tc.ok || ok && got.Int64() != tc.want {
			t.Errorf("MinorUnits(%q, %d) = %v, %v; want %d, %v", tc.amount, tc.scale, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFormatMinor(t *testing.T) {
	tests := []struct {
		minor int64
		scale int
		want  string
	}{{12345, 2, "123.45"}, {500, 0, "500"}, {-5, 2, "-0.05"}, {1, 3, "0.001"}, {0, 2, "0.00"}}
	for _, tc := range tests {
		if got := FormatMinor(big.NewInt(tc.minor), tc.scale); got != tc.want {
			t.Errorf("FormatMinor(%d, %d) = %q, want %q", tc.minor, tc.scale, got, tc.want)
		}
	}
}

func TestIsBotUA(t *testing.T) {
	tests := []struct {
		ua   string
		want bool
	}{
		{UAGooglebot, true}, {UABingbot, true}, {UALinkPreview, true},
		{"Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0", true},
		{UAServerSDK, false}, {UAPythonRequests, false}, {"", false}, {UAChromeWindows, false},
		{"Mozilla/5.0 (Linux; Android 10; Cubot X30)", false},
	}
	for _, tc := range tests {
		if got := isBotUA(tc.ua); got != tc.want {
			t.Errorf("isBotUA(%q) = %v, want %v", tc.ua, got, tc.want)
		}
	}
}

func TestBuckets(t *testing.T) {
	zone := func(name string) *time.Location {
		l, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	tests := []struct {
		name     string
		interval string
		loc      *time.Location
		at       string // RFC 3339
		start    string
		hours    float64
	}{
		{"Kolkata day", "day", zone("Asia/Kolkata"), "2026-10-03T20:00:00Z", "2026-10-04T00:00:00+05:30", 24},
		{"Kathmandu hour starts at :15 UTC", "hour", zone("Asia/Kathmandu"), "2026-10-03T20:20:00Z", "2026-10-04T02:00:00+05:45", 1},
		{"Adelaide DST start: 23 h", "day", zone("Australia/Adelaide"), "2026-10-04T05:00:00Z", "2026-10-04T00:00:00+09:30", 23},
		{"Lord Howe DST start: 23.5 h", "day", zone("Australia/Lord_Howe"), "2026-10-04T05:00:00Z", "2026-10-04T00:00:00+10:30", 23.5},
		{"St John's DST end: 25 h", "day", zone("America/St_Johns"), "2026-11-01T12:00:00Z", "2026-11-01T00:00:00-02:30", 25},
		{"St John's week from Monday", "week", zone("America/St_Johns"), "2026-11-01T12:00:00Z", "2026-10-26T00:00:00-02:30", 7*24 + 1},
		{"UTC month", "month", time.UTC, "2026-02-10T00:00:00Z", "2026-02-01T00:00:00Z", 28 * 24},
		{"UTC hour", "hour", time.UTC, "2026-02-10T10:59:59Z", "2026-02-10T10:00:00Z", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at, _ := time.Parse(time.RFC3339, tc.at)
			want, _ := time.Parse(time.RFC3339, tc.start)
			b := BucketOf(tc.interval, tc.loc, at)
			if !b.Start.Equal(want) || b.End.Sub(b.Start).Hours() != tc.hours {
				t.Errorf("BucketOf = %s (%.1f h), want start %s, %.1f h", b, b.End.Sub(b.Start).Hours(), tc.start, tc.hours)
			}
		})
	}
	// Buckets covers the range with whole buckets.
	loc := zone("Australia/Lord_Howe")
	from := time.Date(2026, 10, 3, 12, 0, 0, 0, loc)
	bs := Buckets("day", loc, from, from.Add(36*time.Hour))
	if len(bs) != 3 || !bs[0].Start.Equal(time.Date(2026, 10, 3, 0, 0, 0, 0, loc)) || !bs[1].End.Equal(bs[2].Start) {
		t.Errorf("Buckets = %v, want the 3 local days Oct 3, 4, 5", bs)
	}
}
