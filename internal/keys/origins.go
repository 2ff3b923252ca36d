package keys

import (
	"fmt"
	"net/url"
	"strings"
)

// origin is one entry of a merchant's allowed_origins: a scheme and a host
// with its port, or, for "https://*.example.com", any subdomain of a host.
type origin struct {
	scheme, host string // host includes ":port" when not the default
	subdomains   bool   // "*." entry: any host ending in "."+host
}

type origins []origin

// parseOrigins reads allowed_origins entries: "https://shop.example.com",
// "http://localhost:3000", "https://*.example.com". Scheme and host are
// compared case-insensitively and a default port is dropped, as browsers
// do in the Origin header.
func parseOrigins(ss []string) (origins, error) {
	out := make(origins, 0, len(ss))
	for _, s := range ss {
		o, ok := parseOrigin(s)
		if !ok {
			return nil, fmt.Errorf("%q is not an origin: write scheme://host[:port] with nothing after it, e.g. https://shop.example.com or https://*.example.com", s)
		}
		out = append(out, o)
	}
	return out, nil
}

// parseOrigin parses an allowed_origins entry or an Origin header.
func parseOrigin(s string) (origin, bool) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "#") {
		return origin{}, false
	}
	o := origin{scheme: u.Scheme, host: strings.ToLower(u.Host)}
	if p := u.Port(); (u.Scheme == "https" && p == "443") || (u.Scheme == "http" && p == "80") {
		o.host = strings.ToLower(u.Hostname())
	}
	if rest, ok := strings.CutPrefix(o.host, "*."); ok {
		o.host, o.subdomains = rest, true
	}
	if o.host == "" || strings.Contains(o.host, "*") {
		return origin{}, false
	}
	return o, true
}

// allows reports whether the Origin header value h matches one entry.
func (os origins) allows(h string) bool {
	got, ok := parseOrigin(h)
	if !ok || got.subdomains {
		return false
	}
	for _, o := range os {
		if o.scheme != got.scheme {
			continue
		}
		if o.host == got.host && !o.subdomains || o.subdomains && strings.HasSuffix(got.host, "."+o.host) {
			return true
		}
	}
	return false
}

// OriginAllowed reports whether a web page of origin (the request's Origin
// header; "" when it sent none) may send events for the merchant. A
// merchant without allowed_origins accepts every origin and ""; a
// merchant with the list accepts only the origins it names, never "" (the
// caller decides whether a request without an Origin, e.g. from a server,
// needs the check at all).
func (s *Set) OriginAllowed(merchant, origin string) bool {
	os, ok := s.origins[merchant]
	if !ok {
		return true
	}
	return os.allows(origin)
}
