package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sethvargo/go-envconfig"
)

// Config is the ingest service's configuration, read from the environment.
// The variable names are the contract with terraform/modules/cloudrun.
type Config struct {
	// Addr is the listen address. On Cloud Run, PORT is set instead.
	Addr string `env:"INGEST_ADDR, default=127.0.0.1:8080"`
	Port string `env:"PORT"`

	PubSubProject string `env:"PUBSUB_PROJECT, default=footfall-local"`
	PubSubTopic   string `env:"PUBSUB_TOPIC, default=events"`

	// KeysFile is the merchant key file (docs/keys.md); empty means the demo merchant only.
	KeysFile string `env:"KEYS_FILE"`

	// MaxEventAge and MaxFutureSkew bound accepted event times.
	MaxEventAge   time.Duration `env:"MAX_EVENT_AGE, default=72h"`
	MaxFutureSkew time.Duration `env:"MAX_FUTURE_SKEW, default=10m"`

	// PublishTimeout bounds how long a request waits for Pub/Sub.
	PublishTimeout time.Duration `env:"PUBLISH_TIMEOUT, default=10s"`
	// RetryAfter is the Retry-After (seconds) sent with 503.
	RetryAfter int `env:"RETRY_AFTER_SECONDS, default=2"`
}

// LoadConfig reads the configuration from l (os environment with envconfig.OsLookuper()).
func LoadConfig(ctx context.Context, l envconfig.Lookuper) (Config, error) {
	var c Config
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &c, Lookuper: l}); err != nil {
		return Config{}, fmt.Errorf("ingest.LoadConfig: %w", err)
	}
	if c.Port != "" && c.Addr == "127.0.0.1:8080" {
		c.Addr = ":" + c.Port
	}
	return c, c.Validate()
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	switch {
	case c.PubSubProject == "" || c.PubSubTopic == "":
		return errors.New("ingest: PUBSUB_PROJECT and PUBSUB_TOPIC are required")
	case c.MaxEventAge <= 0 || c.MaxFutureSkew < 0:
		return errors.New("ingest: MAX_EVENT_AGE must be positive and MAX_FUTURE_SKEW not negative")
	case c.PublishTimeout <= 0:
		return errors.New("ingest: PUBLISH_TIMEOUT must be positive")
	}
	return nil
}
