package queryapi

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/footfall/footfall/internal/keys"
)

// Config is the query API's configuration, read from the environment. The
// variable names are the contract with terraform/modules/cloudrun.
type Config struct {
	// Addr is the listen address. On Cloud Run, PORT is set instead.
	Addr string `env:"QUERYAPI_ADDR, default=127.0.0.1:8081"`
	Port string `env:"PORT"`
	// MetricsAddr is where /metrics (Prometheus) is served, on a listener
	// of its own so that the public port never shows it; "off" serves no
	// metrics. On Cloud Run only PORT is reachable from outside: a
	// collector sidecar scrapes this loopback address.
	MetricsAddr string `env:"QUERYAPI_METRICS_ADDR, default=127.0.0.1:8091"`

	// ReadTimeout bounds reading a request (headers included: a client
	// that sends them slowly is cut off), WriteTimeout writing the answer,
	// IdleTimeout how long a keep-alive connection may wait for its next
	// request. RequestTimeout bounds the store reads of one request (its
	// answer is then 503); ShutdownTimeout how long in-flight requests
	// may take to finish after SIGTERM (Cloud Run allows 10 s).
	ReadTimeout     time.Duration `env:"READ_TIMEOUT, default=10s"`
	WriteTimeout    time.Duration `env:"WRITE_TIMEOUT, default=30s"`
	IdleTimeout     time.Duration `env:"IDLE_TIMEOUT, default=60s"`
	RequestTimeout  time.Duration `env:"REQUEST_TIMEOUT, default=10s"`
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT, default=9s"`

	BigtableProject  string `env:"BIGTABLE_PROJECT, default=footfall-local"`
	BigtableInstance string `env:"BIGTABLE_INSTANCE, default=footfall"`
	// BigtableAppProfile is the app profile reads go through ("": the
	// instance's default; production routes through a multi-cluster one).
	BigtableAppProfile string `env:"BIGTABLE_APP_PROFILE"`

	// Keys says where merchant keys come from (KEYS_*; docs/keys.md): the
	// Bigtable key store, a key file, or the demo merchant only.
	Keys keys.Config

	// MaxPoints bounds the buckets of one time series.
	MaxPoints int `env:"MAX_POINTS, default=2000"`
	// MaxRangeDays bounds the span of any query (summary: of each of its
	// two periods), so that no request scans more than MaxRangeDays×24
	// hourly rows.
	MaxRangeDays int `env:"MAX_RANGE_DAYS, default=750"`

	// RateLimit is the sustained requests per second allowed per read key;
	// RateBurst how many may come at once. RateKeys bounds how many keys'
	// limiters are kept (least recently used are forgotten).
	RateLimit float64 `env:"RATE_LIMIT_PER_SECOND, default=20"`
	RateBurst int     `env:"RATE_LIMIT_BURST, default=40"`
	RateKeys  int     `env:"RATE_LIMIT_KEYS, default=100000"`
	// MerchantConcurrency bounds the requests of one merchant (whatever
	// its read keys) that compute at once; the others wait.
	MerchantConcurrency int `env:"MERCHANT_CONCURRENCY, default=4"`

	// CacheBytes bounds the memory the cache of sealed aggregates holds
	// (each entry weighed by its sketches, maps and keys); 0 disables it.
	CacheBytes int64 `env:"CACHE_BYTES, default=268435456"`
	// BreakdownMaxValues bounds the distinct values one breakdown request
	// merges: beyond it, the least frequent are folded into "other" (each
	// value may hold a 4 KiB sketch, so this bounds a request's memory).
	BreakdownMaxValues int `env:"BREAKDOWN_MAX_VALUES, default=2000"`
	// MaxResponseBytes bounds the JSON of one answer; a request whose
	// answer would be larger is refused with 400.
	MaxResponseBytes int `env:"MAX_RESPONSE_BYTES, default=8388608"`
	// SealedTTL is the longest a cached sealed aggregate is served without
	// re-reading it, even when no seal record says it changed.
	SealedTTL time.Duration `env:"CACHE_SEALED_TTL, default=10m"`
	// FreshnessTTL is how long the watermarks and seal records read from
	// the meta table are reused before they are read again.
	FreshnessTTL time.Duration `env:"FRESHNESS_TTL, default=1s"`
}

// MetricsOff as QUERYAPI_METRICS_ADDR serves no metrics.
const MetricsOff = "off"

// LoadConfig reads the configuration from l.
func LoadConfig(ctx context.Context, l envconfig.Lookuper) (Config, error) {
	var c Config
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &c, Lookuper: l}); err != nil {
		return Config{}, fmt.Errorf("queryapi.LoadConfig: %w", err)
	}
	if c.Port != "" && c.Addr == "127.0.0.1:8081" {
		c.Addr = ":" + c.Port
	}
	return c, c.Validate()
}

// DefaultConfig is the configuration with every default (for tests and tools).
func DefaultConfig() Config {
	c, err := LoadConfig(context.Background(), envconfig.MapLookuper(nil))
	if err != nil {
		panic(err)
	}
	return c
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	switch {
	case c.BigtableProject == "" || c.BigtableInstance == "":
		return errors.New("queryapi: BIGTABLE_PROJECT and BIGTABLE_INSTANCE are required")
	case c.MaxPoints <= 0:
		return errors.New("queryapi: MAX_POINTS must be positive")
	case c.MaxRangeDays <= 0:
		return errors.New("queryapi: MAX_RANGE_DAYS must be positive")
	case c.RateLimit <= 0 || c.RateBurst <= 0:
		return errors.New("queryapi: RATE_LIMIT_PER_SECOND and RATE_LIMIT_BURST must be positive")
	case c.RateKeys <= 0:
		return errors.New("queryapi: RATE_LIMIT_KEYS must be positive")
	case c.MerchantConcurrency <= 0:
		return errors.New("queryapi: MERCHANT_CONCURRENCY must be positive")
	case c.CacheBytes < 0:
		return errors.New("queryapi: CACHE_BYTES must be 0 (off) or positive")
	case c.BreakdownMaxValues < 2*maxLimit:
		return fmt.Errorf("queryapi: BREAKDOWN_MAX_VALUES must be at least %d (twice the largest breakdown limit)", 2*maxLimit)
	case c.MaxResponseBytes <= 0:
		return errors.New("queryapi: MAX_RESPONSE_BYTES must be positive")
	case c.ReadTimeout <= 0 || c.WriteTimeout <= 0 || c.IdleTimeout <= 0 || c.RequestTimeout <= 0 || c.ShutdownTimeout <= 0:
		return errors.New("queryapi: READ_TIMEOUT, WRITE_TIMEOUT, IDLE_TIMEOUT, REQUEST_TIMEOUT and SHUTDOWN_TIMEOUT must be positive (e.g. 10s)")
	case c.MetricsAddr == "" || c.MetricsAddr == c.Addr:
		return fmt.Errorf("queryapi: QUERYAPI_METRICS_ADDR %q must be an address of its own (such as 127.0.0.1:8091), not the public one, or %q", c.MetricsAddr, MetricsOff)
	case c.FreshnessTTL < 0 || c.SealedTTL < 0:
		return errors.New("queryapi: FRESHNESS_TTL and CACHE_SEALED_TTL must not be negative")
	}
	if err := c.Keys.Validate(); err != nil {
		return fmt.Errorf("queryapi: %w", err)
	}
	return nil
}
