package keys

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"
)

func TestConfigValidate(t *testing.T) {
	ok := Config{PollInterval: time.Second, CacheTTL: time.Minute, CacheEntries: 10}
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr bool
	}{
		{"demo", func(*Config) {}, false},
		{"file", func(c *Config) { c.File = "k.json" }, false},
		{"bigtable", func(c *Config) { c.BigtableProject, c.BigtableInstance = "p", "i" }, false},
		{"file and bigtable", func(c *Config) { c.File, c.BigtableProject, c.BigtableInstance = "k.json", "p", "i" }, true},
		{"bigtable without project", func(c *Config) { c.BigtableInstance = "i" }, true},
		{"zero cache ttl is the default", func(c *Config) { c.CacheTTL = 0 }, false},
		{"negative cache ttl", func(c *Config) { c.CacheTTL = -time.Second }, true},
		{"file without poll", func(c *Config) { c.File, c.PollInterval = "k.json", 0 }, true},
	}
	for _, tc := range tests {
		c := ok
		tc.mutate(&c)
		if err := c.Validate(); (err != nil) != tc.wantErr {
			t.Errorf("%s: Validate() = %v, want error %v", tc.name, err, tc.wantErr)
		}
	}
}

// Both services load keys through Open from the same variables.
func TestOpen(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var c Config
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &c, Lookuper: envconfig.MapLookuper(nil)}); err != nil {
		t.Fatal(err)
	}
	if c.CacheTTL != time.Minute || c.PollInterval != 5*time.Second {
		t.Errorf("defaults = %+v", c)
	}
	s, closeFn, err := Open(ctx, c, log)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	if m, ok := s.ByWriteKey(DemoWriteKey); !ok || m != DemoMerchant {
		t.Errorf("demo store: %q %v", m, ok)
	}
	path := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(path, []byte(`{"merchants":[{"id":"a","write_keys":["wa"],"read_keys":["ra"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c.File = path
	s, _, err = Open(ctx, c, log)
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := s.ByReadKey("ra"); !ok || m != "a" {
		t.Errorf("file store: %q %v", m, ok)
	}
	if _, ok := s.(*FileStore); !ok {
		t.Errorf("KEYS_FILE opened a %T", s)
	}
}
