package keys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Config says where a service finds merchant keys. Ingest and the query API
// embed it in their configurations, so both read the same environment
// variables (the contract with terraform/envs).
type Config struct {
	// File is a key file (docs/keys.md), reloaded when it changes (polled
	// every PollInterval) and on SIGHUP.
	File         string        `env:"KEYS_FILE"`
	PollInterval time.Duration `env:"KEYS_POLL_INTERVAL, default=5s"`
	// BigtableInstance selects the Bigtable key store (production): keys
	// are looked up one by one and cached for CacheTTL.
	BigtableProject    string        `env:"KEYS_BIGTABLE_PROJECT"`
	BigtableInstance   string        `env:"KEYS_BIGTABLE_INSTANCE"`
	BigtableAppProfile string        `env:"KEYS_BIGTABLE_APP_PROFILE"`
	CacheTTL           time.Duration `env:"KEYS_CACHE_TTL, default=60s"`
	MaxStale           time.Duration `env:"KEYS_MAX_STALE, default=10m"`
	CacheEntries       int           `env:"KEYS_CACHE_ENTRIES, default=100000"`
}

// Validate reports the first problem with c.
func (c Config) Validate() error {
	switch {
	case c.File != "" && c.BigtableInstance != "":
		return errors.New("keys: set KEYS_FILE or KEYS_BIGTABLE_INSTANCE, not both")
	case c.BigtableInstance != "" && c.BigtableProject == "":
		return errors.New("keys: KEYS_BIGTABLE_PROJECT is required with KEYS_BIGTABLE_INSTANCE")
	case c.File != "" && c.PollInterval <= 0:
		return errors.New("keys: KEYS_POLL_INTERVAL must be positive when KEYS_FILE is set")
	case c.CacheTTL < 0 || c.MaxStale < 0 || c.CacheEntries < 0:
		return errors.New("keys: KEYS_CACHE_TTL, KEYS_MAX_STALE and KEYS_CACHE_ENTRIES must not be negative (0: the default)")
	}
	return nil
}

// Open returns the Store c selects, running whatever keeps it current
// until ctx ends: the Bigtable key store; a key file with its watcher
// (polling and SIGHUP); or, with neither set, the demo merchant only. Both
// services call it, so there is one way keys are loaded and reloaded.
// close releases the store.
func Open(ctx context.Context, c Config, log *slog.Logger) (s Store, close func() error, err error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	nop := func() error { return nil }
	switch {
	case c.BigtableInstance != "":
		bs, err := OpenBigtable(ctx, BigtableOptions{Project: c.BigtableProject, Instance: c.BigtableInstance, AppProfile: c.BigtableAppProfile,
			CacheTTL: c.CacheTTL, MaxStale: c.MaxStale, CacheEntries: c.CacheEntries}, log)
		if err != nil {
			return nil, nil, err
		}
		log.Info("keys: Bigtable key store", "instance", c.BigtableInstance, "app_profile", c.BigtableAppProfile,
			"cache_ttl", c.CacheTTL.String(), "note", "a revoked key stops working within cache_ttl")
		return bs, bs.Close, nil
	case c.File != "":
		fs, err := OpenFile(c.File, log)
		if err != nil {
			return nil, nil, err
		}
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		go func() {
			defer signal.Stop(hup)
			fs.Watch(ctx, c.PollInterval, hup)
		}()
		return fs, nop, nil
	default:
		log.Info("keys: neither KEYS_FILE nor KEYS_BIGTABLE_INSTANCE set: only the demo merchant's keys are accepted",
			"write_key", DemoWriteKey, "read_key", DemoReadKey)
		return Demo(), nop, nil
	}
}

// Merchant returns a merchant's record from the set.
func (s *Set) Merchant(id string) (Merchant, bool) {
	for _, m := range s.merchants {
		if m.ID == id {
			return m, true
		}
	}
	return Merchant{}, false
}

// Merchant returns a merchant's record from the current key file.
func (f *FileStore) Merchant(id string) (Merchant, bool) { return f.cur.Load().Merchant(id) }

// String describes c for logs (no secrets in it).
func (c Config) String() string {
	switch {
	case c.BigtableInstance != "":
		return fmt.Sprintf("bigtable:%s/%s", c.BigtableProject, c.BigtableInstance)
	case c.File != "":
		return "file:" + c.File
	}
	return "demo"
}
