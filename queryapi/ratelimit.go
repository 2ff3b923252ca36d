package queryapi

import (
	"context"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/time/rate"
)

// limiters holds one token bucket per read key: RateLimit requests per
// second sustained, RateBurst at once. Memory is bounded: the least
// recently used keys' buckets are forgotten (a forgotten key starts full).
type limiters struct {
	mu    sync.Mutex
	lru   *lru.Cache[string, *rate.Limiter]
	limit rate.Limit
	burst int
}

func newLimiters(perSecond float64, burst, keys int) *limiters {
	c, err := lru.New[string, *rate.Limiter](keys)
	if err != nil {
		panic(err)
	}
	return &limiters{lru: c, limit: rate.Limit(perSecond), burst: burst}
}

func (l *limiters) get(key string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.lru.Get(key)
	if !ok {
		lim = rate.NewLimiter(l.limit, l.burst)
		l.lru.Add(key, lim)
	}
	return lim
}

// rateLimit answers 429 with Retry-After when the key's bucket is empty,
// and tells every caller where it stands in X-RateLimit-* headers:
// Limit is the bucket size (requests that may come at once), Remaining
// the requests left now, Reset the seconds until the bucket is full again.
func (s *Server) rateLimit(c *fiber.Ctx) error {
	key, _ := c.Locals(localKey).(string)
	lim := s.limiters.get(key)
	now := s.now()
	allowed := lim.AllowN(now, 1)
	tokens := lim.TokensAt(now)
	per := float64(s.limiters.limit)
	c.Set("X-RateLimit-Limit", strconv.Itoa(s.limiters.burst))
	c.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, int(math.Floor(tokens)))))
	c.Set("X-RateLimit-Reset", strconv.Itoa(int(math.Ceil((float64(s.limiters.burst)-tokens)/per))))
	if !allowed {
		wait := time.Duration(math.Ceil((1-tokens)/per*1000)) * time.Millisecond
		secs := int(math.Ceil(wait.Seconds()))
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(1, secs)))
		return fiber.NewError(fiber.StatusTooManyRequests,
			"rate limit of "+strconv.FormatFloat(per, 'f', -1, 64)+" requests per second (bursts of "+strconv.Itoa(s.limiters.burst)+") for this read key exceeded; retry after the Retry-After header's seconds")
	}
	return c.Next()
}

// gates bound how many requests of one merchant compute at once
// (MERCHANT_CONCURRENCY): the others wait, within their REQUEST_TIMEOUT,
// so that one merchant's expensive requests — even over many read keys,
// which the per-key rate limit cannot stop — leave the cores to others.
// Like limiters, memory is bounded: the least recently used merchants'
// gates are forgotten (a forgotten gate is simply made anew).
type gates struct {
	mu  sync.Mutex
	lru *lru.Cache[string, chan struct{}]
	n   int
}

func newGates(perMerchant, merchants int) *gates {
	c, err := lru.New[string, chan struct{}](merchants)
	if err != nil {
		panic(err)
	}
	return &gates{lru: c, n: perMerchant}
}

// enter waits for a place of merchant's and returns the function that
// gives it back; it fails when ctx ends first.
func (g *gates) enter(ctx context.Context, merchant string) (func(), error) {
	g.mu.Lock()
	ch, ok := g.lru.Get(merchant)
	if !ok {
		ch = make(chan struct{}, g.n)
		g.lru.Add(merchant, ch)
	}
	g.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
