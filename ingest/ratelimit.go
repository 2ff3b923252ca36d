package ingest

import (
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/footfall/footfall/internal/keys"
)

// limiters holds one token bucket per merchant, in events. A merchant's
// limit comes from the key file when it sets one, else the default; a key
// file reload that changes it takes effect on the merchant's next request.
type limiters struct {
	keys Keys
	def  keys.Limit
	m    sync.Map // merchant → *rate.Limiter
}

func newLimiters(ks Keys, def keys.Limit) *limiters { return &limiters{keys: ks, def: def} }

// take charges n events to merchant at time now. A request larger than the
// burst is charged the burst (it could never pass otherwise). When the
// bucket is short, nothing is charged and wait says when it would pass.
func (l *limiters) take(merchant string, n int, now time.Time) (ok bool, wait time.Duration, lim keys.Limit) {
	lim = l.def
	if own, ok := l.keys.RateLimit(merchant); ok {
		lim = own
	}
	v, found := l.m.Load(merchant)
	if !found {
		v, _ = l.m.LoadOrStore(merchant, rate.NewLimiter(rate.Limit(lim.EventsPerSecond), lim.Burst))
	}
	rl := v.(*rate.Limiter)
	if rl.Limit() != rate.Limit(lim.EventsPerSecond) {
		rl.SetLimitAt(now, rate.Limit(lim.EventsPerSecond))
	}
	if rl.Burst() != lim.Burst {
		rl.SetBurstAt(now, lim.Burst)
	}
	n = min(n, lim.Burst)
	r := rl.ReserveN(now, n)
	if !r.OK() {
		return false, time.Second, lim
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d, lim
	}
	return true, 0, lim
}
