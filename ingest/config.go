package ingest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"
)

// Publisher kinds (PUBLISHER).
const (
	PublisherPubSub = "pubsub"
	// PublisherNoop encodes every event and throws it away. It exists only
	// to measure ingest's own cost in benchmarks: it acknowledges events it
	// never stores, so it must never run in front of real traffic.
	PublisherNoop = "noop"
)

// Config is the ingest service's configuration, read from the environment.
// The variable names are the contract with terraform/modules/cloudrun;
// docs/ingest.md lists them.
type Config struct {
	// Addr is the listen address. On Cloud Run, PORT is set instead.
	Addr string `env:"INGEST_ADDR, default=127.0.0.1:8080"`
	Port string `env:"PORT"`
	// OpsAddr is the operators' listener: /metrics and /readyz with the
	// reason when not ready. Empty: not served. Never the public port; on
	// Cloud Run a loopback address only a sidecar (the metrics collector)
	// reaches.
	OpsAddr string `env:"INGEST_OPS_ADDR"`

	// ReadTimeout bounds reading a whole request (headers and body),
	// WriteTimeout writing the answer, IdleTimeout an idle keep-alive
	// connection: a client that trickles bytes cannot hold a connection.
	ReadTimeout  time.Duration `env:"READ_TIMEOUT, default=30s"`
	WriteTimeout time.Duration `env:"WRITE_TIMEOUT, default=30s"`
	IdleTimeout  time.Duration `env:"IDLE_TIMEOUT, default=120s"`

	PubSubProject string `env:"PUBSUB_PROJECT, default=footfall-local"`
	PubSubTopic   string `env:"PUBSUB_TOPIC, default=events"`
	// Publisher is "pubsub" (always, in production) or "noop" (benchmarks only).
	Publisher string `env:"PUBLISHER, default=pubsub"`

	// KeysFile is the merchant key file (docs/keys.md); empty means the demo merchant only.
	KeysFile string `env:"KEYS_FILE"`
	// KeysPollInterval is how often the key file's mtime and size are checked.
	KeysPollInterval time.Duration `env:"KEYS_POLL_INTERVAL, default=5s"`

	// MaxEventAge and MaxFutureSkew bound accepted event times.
	MaxEventAge   time.Duration `env:"MAX_EVENT_AGE, default=72h"`
	MaxFutureSkew time.Duration `env:"MAX_FUTURE_SKEW, default=10m"`

	// PublishTimeout bounds how long a request waits for Pub/Sub.
	PublishTimeout time.Duration `env:"PUBLISH_TIMEOUT, default=10s"`
	// RetryAfter is the Retry-After (seconds) sent with 503.
	RetryAfter int `env:"RETRY_AFTER_SECONDS, default=2"`

	// RateLimit and RateBurst are every merchant's default token bucket, in
	// events; the key file can set a merchant's own.
	RateLimit float64 `env:"RATE_LIMIT_EVENTS_PER_SECOND, default=5000"`
	RateBurst int     `env:"RATE_LIMIT_BURST, default=10000"`

	// AuthFailuresPerMinute and AuthFailureBurst limit failed GA4
	// authentications per client address (IPv4 address, IPv6 /64): past
	// them, the client's requests are answered 429 unchecked.
	AuthFailuresPerMinute float64 `env:"AUTH_FAILURES_PER_MINUTE, default=10"`
	AuthFailureBurst      int     `env:"AUTH_FAILURE_BURST, default=20"`

	// TrustedProxies lists the proxies (IPs or CIDRs, comma separated)
	// whose ProxyHeader is believed; empty means the header is ignored and
	// the peer address is the client.
	TrustedProxies []string `env:"TRUSTED_PROXIES"`
	ProxyHeader    string   `env:"PROXY_HEADER, default=X-Forwarded-For"`

	// ShutdownTimeout bounds how long in-flight requests may take to finish
	// after SIGTERM (Cloud Run allows 10 s).
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT, default=9s"`
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
	case c.Publisher != PublisherPubSub && c.Publisher != PublisherNoop:
		return fmt.Errorf("ingest: PUBLISHER must be %q or %q (benchmarks only), got %q", PublisherPubSub, PublisherNoop, c.Publisher)
	case c.MaxEventAge <= 0 || c.MaxFutureSkew < 0:
		return errors.New("ingest: MAX_EVENT_AGE must be positive and MAX_FUTURE_SKEW not negative")
	case c.PublishTimeout <= 0:
		return errors.New("ingest: PUBLISH_TIMEOUT must be positive")
	case c.RateLimit <= 0 || c.RateBurst < 1:
		return errors.New("ingest: RATE_LIMIT_EVENTS_PER_SECOND must be positive and RATE_LIMIT_BURST at least 1")
	case c.KeysFile != "" && c.KeysPollInterval <= 0:
		return errors.New("ingest: KEYS_POLL_INTERVAL must be positive")
	case c.ReadTimeout <= 0 || c.WriteTimeout <= 0 || c.IdleTimeout <= 0:
		return errors.New("ingest: READ_TIMEOUT, WRITE_TIMEOUT and IDLE_TIMEOUT must be positive")
	case c.AuthFailuresPerMinute <= 0 || c.AuthFailureBurst < 1:
		return errors.New("ingest: AUTH_FAILURES_PER_MINUTE must be positive and AUTH_FAILURE_BURST at least 1")
	case c.OpsAddr != "" && (c.OpsAddr == c.Addr || c.Port != "" && strings.HasSuffix(c.OpsAddr, ":"+c.Port)):
		return fmt.Errorf("ingest: INGEST_OPS_ADDR %q must differ from the public address: metrics are not for the internet", c.OpsAddr)
	}
	if _, err := parsePrefixes(c.TrustedProxies); err != nil {
		return fmt.Errorf("ingest: TRUSTED_PROXIES: %w", err)
	}
	return nil
}

// parsePrefixes reads IPs and CIDRs ("10.0.0.1", "10.0.0.0/8").
func parsePrefixes(ss []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range ss {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, err
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, err
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
