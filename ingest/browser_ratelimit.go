package ingest

import (
	"net/netip"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// browserIPTracked bounds how many client addresses have a bucket (about
// 100 bytes each); the least recently seen address loses its bucket first,
// which only resets that address's allowance.
const browserIPTracked = 100_000

// browserIPLimiters are the per-client-IP token buckets of the browser
// endpoints, counted in requests (a browser sends a request per page or a
// few events; a script flooding with one merchant's public write key hits
// this before it exhausts the merchant's own limit). IPv6 clients are
// keyed by their /64, the block one subscriber gets.
type browserIPLimiters struct {
	limit rate.Limit
	burst int
	cache *lru.Cache[netip.Addr, *rate.Limiter]
}

// newBrowserIPLimiters returns nil when perSecond is 0 (no limit).
func newBrowserIPLimiters(perSecond float64, burst int) *browserIPLimiters {
	if perSecond <= 0 {
		return nil
	}
	c, err := lru.New[netip.Addr, *rate.Limiter](browserIPTracked)
	if err != nil {
		panic(err) // only for a size <= 0
	}
	return &browserIPLimiters{limit: rate.Limit(perSecond), burst: burst, cache: c}
}

// take charges one request to ip at now; when the bucket is empty nothing
// is charged and wait says when a request would pass.
func (l *browserIPLimiters) take(ip netip.Addr, now time.Time) (ok bool, wait time.Duration) {
	if ip.Is6() && !ip.Is4In6() {
		ip = netip.PrefixFrom(ip, 64).Masked().Addr()
	}
	rl, found := l.cache.Get(ip)
	if !found {
		rl = rate.NewLimiter(l.limit, l.burst)
		if prev, exists, _ := l.cache.PeekOrAdd(ip, rl); exists {
			rl = prev
		}
	}
	r := rl.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}
