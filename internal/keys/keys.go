// Package keys maps the credentials merchants present to merchant ids:
// write keys and API secrets (ingest) and read keys (query API). Each key
// belongs to exactly one merchant.
//
// The file format (JSON) is documented in docs/keys.md:
//
//	{"merchants": [{"id": "demo", "write_keys": ["demo-write-key"],
//	  "api_secrets": ["demo-api-secret"], "read_keys": ["demo-read-key"]}]}
package keys

import (
	"errors"
	"fmt"
	"os"

	json "github.com/goccy/go-json"

	"github.com/footfall/footfall/internal/event"
)

// Merchant is one merchant's credentials.
type Merchant struct {
	ID         string   `json:"id"`
	WriteKeys  []string `json:"write_keys"`
	APISecrets []string `json:"api_secrets,omitempty"`
	ReadKeys   []string `json:"read_keys"`
}

// File is the key file's top-level object.
type File struct {
	Merchants []Merchant `json:"merchants"`
}

// The demo merchant that a fresh local stack knows.
const (
	DemoMerchant  = "demo"
	DemoWriteKey  = "demo-write-key"
	DemoAPISecret = "demo-api-secret"
	DemoReadKey   = "demo-read-key"
)

// Demo returns the key set of the demo merchant.
func Demo() *Set {
	s, err := NewSet(File{Merchants: []Merchant{{
		ID: DemoMerchant, WriteKeys: []string{DemoWriteKey},
		APISecrets: []string{DemoAPISecret}, ReadKeys: []string{DemoReadKey},
	}}})
	if err != nil {
		panic(err)
	}
	return s
}

// Set is an immutable lookup table built from a File.
type Set struct {
	write, secret, read map[string]string
	merchants           []Merchant
}

// ErrDuplicateKey means one key string was given to two merchants (or twice).
var ErrDuplicateKey = errors.New("keys: duplicate key")

// NewSet validates f and indexes it.
func NewSet(f File) (*Set, error) {
	s := &Set{write: map[string]string{}, secret: map[string]string{}, read: map[string]string{}, merchants: f.Merchants}
	seen := map[string]bool{}
	for i, m := range f.Merchants {
		if !event.ValidMerchantID(m.ID) {
			return nil, fmt.Errorf("keys: merchants[%d]: invalid merchant id %q", i, m.ID)
		}
		if seen[m.ID] {
			return nil, fmt.Errorf("keys: merchants[%d]: merchant %q listed twice", i, m.ID)
		}
		seen[m.ID] = true
		for _, idx := range []struct {
			name string
			keys []string
			into map[string]string
		}{{"write_keys", m.WriteKeys, s.write}, {"api_secrets", m.APISecrets, s.secret}, {"read_keys", m.ReadKeys, s.read}} {
			for _, k := range idx.keys {
				if k == "" {
					return nil, fmt.Errorf("keys: merchant %q: empty key in %s", m.ID, idx.name)
				}
				if _, dup := idx.into[k]; dup {
					return nil, fmt.Errorf("%w: merchant %q: %s", ErrDuplicateKey, m.ID, idx.name)
				}
				idx.into[k] = m.ID
			}
		}
	}
	return s, nil
}

// Load reads a key file.
func Load(path string) (*Set, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keys.Load: %w", err)
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("keys.Load %s: %w", path, err)
	}
	s, err := NewSet(f)
	if err != nil {
		return nil, fmt.Errorf("keys.Load %s: %w", path, err)
	}
	return s, nil
}

// ByWriteKey returns the merchant owning a write key.
func (s *Set) ByWriteKey(k string) (string, bool) { m, ok := s.write[k]; return m, ok }

// BySecret returns the merchant owning an API secret.
func (s *Set) BySecret(k string) (string, bool) { m, ok := s.secret[k]; return m, ok }

// ByReadKey returns the merchant owning a read key.
func (s *Set) ByReadKey(k string) (string, bool) { m, ok := s.read[k]; return m, ok }

// Merchants lists the merchants in file order.
func (s *Set) Merchants() []Merchant { return s.merchants }
