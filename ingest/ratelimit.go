package ingest

import (
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"

	"github.com/footfall/footfall/internal/keys"
)

// limiters holds one token bucket per merchant, in events. A merchant's
// limit comes from the key file when it sets one, else the default; a key
// file reload that changes it takes effect on the merchant's next request.
type limiters struct {
	keys Keys
	def  keys.Limit
	m    sync.Map // merchant → *bucket
}

func newLimiters(ks Keys, def keys.Limit) *limiters { return &limiters{keys: ks, def: def} }

// bucket is a token bucket that charges every event a request carries.
// Unlike golang.org/x/time/rate, which cannot reserve more than the burst,
// it lets the balance go negative: a request larger than the burst passes
// only when the bucket is full and then leaves a debt that the refill has
// to pay back before anything else passes, so the long-run rate is the
// configured one whatever the batch size.
type bucket struct {
	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// take charges n events at time now when the balance covers min(n, burst);
// otherwise it charges nothing and says how long until it would.
func (b *bucket) take(n int, now time.Time, lim keys.Limit) (bool, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	burst := float64(lim.Burst)
	if b.last.IsZero() {
		b.tokens, b.last = burst, now
	}
	if d := now.Sub(b.last); d > 0 {
		b.tokens += d.Seconds() * lim.EventsPerSecond
		b.last = now
	}
	b.tokens = min(b.tokens, burst) // also when a reload lowered the burst
	need := min(float64(n), burst)
	if b.tokens >= need {
		b.tokens -= float64(n)
		return true, 0
	}
	return false, time.Duration((need - b.tokens) / lim.EventsPerSecond * float64(time.Second))
}

// inDebt reports whether the bucket cannot pay for even one event at now
// (it is paying back a request larger than the burst, or is empty), and
// how long until it can: such a request is refused before its events are
// validated, so a client that ignores 429 costs almost nothing.
func (b *bucket) inDebt(now time.Time, lim keys.Limit) (bool, time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last.IsZero() {
		return false, 0
	}
	t := b.tokens
	if d := now.Sub(b.last); d > 0 {
		t += d.Seconds() * lim.EventsPerSecond
	}
	if t >= 1 {
		return false, 0
	}
	return true, time.Duration((1 - t) / lim.EventsPerSecond * float64(time.Second))
}

func (l *limiters) limitOf(merchant string) keys.Limit {
	if own, ok := l.keys.RateLimit(merchant); ok {
		return own
	}
	return l.def
}

// inDebt reports whether merchant cannot send a single event now.
func (l *limiters) inDebt(merchant string, now time.Time) (bool, time.Duration, keys.Limit) {
	lim := l.limitOf(merchant)
	v, found := l.m.Load(merchant)
	if !found {
		return false, 0, lim
	}
	debt, wait := v.(*bucket).inDebt(now, lim)
	return debt, wait, lim
}

// take charges n events to merchant at time now. When the bucket is short,
// nothing is charged and wait says when the request would pass.
func (l *limiters) take(merchant string, n int, now time.Time) (ok bool, wait time.Duration, lim keys.Limit) {
	lim = l.limitOf(merchant)
	v, found := l.m.Load(merchant)
	if !found {
		v, _ = l.m.LoadOrStore(merchant, new(bucket))
	}
	ok, wait = v.(*bucket).take(n, now, lim)
	return ok, wait, lim
}

// authFailures limits failed authentications per client address (an IPv4
// address, or an IPv6 /64, which one client usually owns whole): once a
// client has used up its failures, its next requests are refused with 429
// before their credentials are looked at, so API secrets cannot be guessed
// at speed. The table keeps the most recently failing clients
// (authFailureClients); a client pushed out starts afresh.
type authFailures struct {
	limit rate.Limit
	burst int
	byIP  *lru.Cache[netip.Prefix, *rate.Limiter]
}

// authFailureClients bounds the table (about 100 bytes a client).
const authFailureClients = 100_000

func newAuthFailures(perMinute float64, burst int) *authFailures {
	c, _ := lru.New[netip.Prefix, *rate.Limiter](authFailureClients) // size > 0: no error
	return &authFailures{limit: rate.Limit(perMinute / 60), burst: burst, byIP: c}
}

func clientKey(ip netip.Addr) netip.Prefix {
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p
	}
	p, _ := ip.Prefix(ip.BitLen())
	return p
}

// blocked says whether ip has no failures left, and for how long.
func (a *authFailures) blocked(ip netip.Addr, now time.Time) (bool, time.Duration) {
	l, ok := a.byIP.Get(clientKey(ip))
	if !ok {
		return false, 0
	}
	if t := l.TokensAt(now); t < 1 {
		return true, time.Duration((1 - t) / float64(a.limit) * float64(time.Second))
	}
	return false, 0
}

// failed charges one failure to ip.
func (a *authFailures) failed(ip netip.Addr, now time.Time) {
	k := clientKey(ip)
	l, ok := a.byIP.Get(k)
	if !ok {
		l = rate.NewLimiter(a.limit, a.burst)
		a.byIP.Add(k, l)
	}
	l.AllowN(now, 1)
}

// authGate refuses a client that has used up its authentication failures.
func (s *Server) authGate(c *fiber.Ctx, ip netip.Addr, protocol string) *requestError {
	blocked, wait := s.authFails.blocked(ip, s.now())
	if !blocked {
		return nil
	}
	secs := max(1, int((wait+time.Second-1)/time.Second))
	s.stats.authLimited.WithLabelValues(protocol).Inc()
	s.logger(c).Info("authentication failures limited", "protocol", protocol, "retry_after_s", secs)
	return &requestError{status: fiber.StatusTooManyRequests, reason: "auth_limited", retry: secs, code: codeValueOutOfBounds,
		msg: fmt.Sprintf("too many requests with wrong credentials from this address (at most %g a minute); check measurement_id and api_secret and retry after %s s",
			float64(s.authFails.limit)*60, strconv.Itoa(secs))}
}

// authFailed counts a failed authentication of ip.
func (s *Server) authFailed(ip netip.Addr, protocol string) {
	s.authFails.failed(ip, s.now())
	s.stats.authFailures.WithLabelValues(protocol).Inc()
}
