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

	// CacheEntries bounds the cache of sealed aggregates; 0 disables it.
	// A bucket's totals hold one visitor sketch (at most 16 KiB, usually
	// far less); a merged breakdown one sketch per value (at most 4 KiB
	// each). Measured: 250,000 entries of 1,000 merchants took ~700 MiB
	// (docs/benchmarks.md).
	CacheEntries int `env:"CACHE_ENTRIES, default=100000"`
	// SealedTTL is the longest a cached sealed aggregate is served without
	// re-reading it, even when no seal record says it changed.
	SealedTTL time.Duration `env:"CACHE_SEALED_TTL, default=10m"`
	// FreshnessTTL is how long the watermarks and seal records read from
	// the meta table are reused before they are read again.
	FreshnessTTL time.Duration `env:"FRESHNESS_TTL, default=1s"`
}

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
	case c.CacheEntries < 0:
		return errors.New("queryapi: CACHE_ENTRIES must be 0 (off) or positive")
	case c.FreshnessTTL < 0 || c.SealedTTL < 0:
		return errors.New("queryapi: FRESHNESS_TTL and CACHE_SEALED_TTL must not be negative")
	}
	if err := c.Keys.Validate(); err != nil {
		return fmt.Errorf("queryapi: %w", err)
	}
	return nil
}
