package queryapi

import (
	"context"
	"errors"
	"fmt"

	"github.com/sethvargo/go-envconfig"
)

// Config is the query API's configuration, read from the environment. The
// variable names are the contract with terraform/modules/cloudrun.
type Config struct {
	// Addr is the listen address. On Cloud Run, PORT is set instead.
	Addr string `env:"QUERYAPI_ADDR, default=127.0.0.1:8081"`
	Port string `env:"PORT"`

	BigtableProject  string `env:"BIGTABLE_PROJECT, default=footfall-local"`
	BigtableInstance string `env:"BIGTABLE_INSTANCE, default=footfall"`

	// KeysFile is the merchant key file (docs/keys.md); empty means the demo merchant only.
	KeysFile string `env:"KEYS_FILE"`

	// MaxPoints bounds the buckets of one time series.
	MaxPoints int `env:"MAX_POINTS, default=2000"`
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

// Validate reports the first problem with c.
func (c Config) Validate() error {
	switch {
	case c.BigtableProject == "" || c.BigtableInstance == "":
		return errors.New("queryapi: BIGTABLE_PROJECT and BIGTABLE_INSTANCE are required")
	case c.MaxPoints <= 0:
		return errors.New("queryapi: MAX_POINTS must be positive")
	}
	return nil
}
