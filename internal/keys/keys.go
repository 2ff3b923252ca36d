// Package keys maps the credentials merchants present to merchant ids:
// write keys and API secrets (ingest) and read keys (query API), plus each
// merchant's ingest rate limit and the event names it counts as purchases
// and refunds. A key string belongs to exactly one merchant and one kind: a
// public write key can never also be a read key or an API secret.
//
// A Set is an immutable snapshot; a FileStore serves the Set of a key file
// and swaps in a new one when the file changes (polled) or on demand
// (SIGHUP), keeping the previous keys when the new file is bad. The file
// format (JSON) is documented in docs/keys.md:
//
//	{"merchants": [{"id": "demo", "write_keys": ["demo-write-key"],
//	  "api_secrets": ["demo-api-secret"], "read_keys": ["demo-read-key"],
//	  "rate_limit": {"events_per_second": 5000, "burst": 10000}}]}
package keys

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"

	json "github.com/goccy/go-json"

	"github.com/footfall/footfall/internal/event"
)

// Merchant is one merchant's credentials and limits.
type Merchant struct {
	ID         string   `json:"id"`
	WriteKeys  []string `json:"write_keys"`
	APISecrets []string `json:"api_secrets,omitempty"`
	ReadKeys   []string `json:"read_keys"`
	// RateLimit overrides the service's default ingest rate limit.
	RateLimit *Limit `json:"rate_limit,omitempty"`
	// PurchaseEvents and RefundEvents name the merchant's events (as they
	// arrive: the Segment track name, the GA4 event name) that ingest marks
	// as event.CommercePurchase and event.CommerceRefund.
	PurchaseEvents []string `json:"purchase_events,omitempty"`
	RefundEvents   []string `json:"refund_events,omitempty"`
}

// Limit is a token-bucket rate limit in events: a sustained rate and the
// burst a merchant may send above it.
type Limit struct {
	EventsPerSecond float64 `json:"events_per_second"`
	Burst           int     `json:"burst"`
}

// Validate reports whether l is usable.
func (l Limit) Validate() error {
	if l.EventsPerSecond <= 0 || math.IsInf(l.EventsPerSecond, 0) || math.IsNaN(l.EventsPerSecond) || l.Burst < 1 {
		return fmt.Errorf("rate limit must have events_per_second > 0 and burst >= 1, got %v/s burst %d", l.EventsPerSecond, l.Burst)
	}
	return nil
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

// DemoFile is the key file of the demo merchant.
func DemoFile() File {
	return File{Merchants: []Merchant{{
		ID: DemoMerchant, WriteKeys: []string{DemoWriteKey},
		APISecrets: []string{DemoAPISecret}, ReadKeys: []string{DemoReadKey},
	}}}
}

// Demo returns the key set of the demo merchant.
func Demo() *Set {
	s, err := NewSet(DemoFile())
	if err != nil {
		panic(err)
	}
	return s
}

// Set is an immutable lookup table built from a File.
type Set struct {
	write, secret, read map[string]string
	limits              map[string]Limit
	commerce            map[string]map[string]string // merchant → event name → event.Commerce*
	merchants           []Merchant
}

// ErrDuplicateKey means one key string was given twice: to two merchants,
// to two kinds (a write key that is also a read key or an API secret), or
// twice in one list. A write key is public, so any key that equals one is
// public too.
var ErrDuplicateKey = errors.New("keys: duplicate key")

// NewSet validates f and indexes it.
func NewSet(f File) (*Set, error) {
	s := &Set{write: map[string]string{}, secret: map[string]string{}, read: map[string]string{},
		limits: map[string]Limit{}, commerce: map[string]map[string]string{}, merchants: f.Merchants}
	seen := map[string]bool{}
	kindOf := map[string]string{} // every key string of the file → "merchant's kind", across kinds
	for i, m := range f.Merchants {
		if !event.ValidMerchantID(m.ID) {
			return nil, fmt.Errorf("keys: merchants[%d]: invalid merchant id %q (1-64 of a-z, 0-9, '_', '-')", i, m.ID)
		}
		if seen[m.ID] {
			return nil, fmt.Errorf("keys: merchants[%d]: merchant %q listed twice", i, m.ID)
		}
		seen[m.ID] = true
		if m.RateLimit != nil {
			if err := m.RateLimit.Validate(); err != nil {
				return nil, fmt.Errorf("keys: merchant %q: %w", m.ID, err)
			}
			s.limits[m.ID] = *m.RateLimit
		}
		for _, idx := range []struct {
			name string
			keys []string
			into map[string]string
		}{{"write_keys", m.WriteKeys, s.write}, {"api_secrets", m.APISecrets, s.secret}, {"read_keys", m.ReadKeys, s.read}} {
			for j, k := range idx.keys {
				if k == "" {
					return nil, fmt.Errorf("keys: merchant %q: empty key in %s", m.ID, idx.name)
				}
				// The key itself is never printed: it may be a secret.
				where := fmt.Sprintf("merchant %q %s[%d]", m.ID, idx.name, j)
				if first, dup := kindOf[k]; dup {
					return nil, fmt.Errorf("%w: %s is the same string as %s; every key must be unique across merchants and kinds", ErrDuplicateKey, where, first)
				}
				kindOf[k] = where
				idx.into[k] = m.ID
			}
		}
		if len(m.PurchaseEvents)+len(m.RefundEvents) > 0 {
			names := map[string]string{}
			for _, c := range []struct {
				field, kind string
				names       []string
			}{{"purchase_events", event.CommercePurchase, m.PurchaseEvents}, {"refund_events", event.CommerceRefund, m.RefundEvents}} {
				for _, n := range c.names {
					if n == "" || len(n) > event.MaxNameLen {
						return nil, fmt.Errorf("keys: merchant %q: %s: event names must be 1-%d bytes, got %q", m.ID, c.field, event.MaxNameLen, n)
					}
					if prev, dup := names[n]; dup {
						return nil, fmt.Errorf("keys: merchant %q: %s: %q is already a %s event", m.ID, c.field, n, prev)
					}
					names[n] = c.kind
				}
			}
			s.commerce[m.ID] = names
		}
	}
	return s, nil
}

// Parse decodes and validates a key file's content. Unknown fields are an
// error, so a typo ("write_key") does not silently drop keys.
func Parse(b []byte) (*Set, error) {
	var f File
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("keys: decode: %w", err)
	}
	return NewSet(f)
}

// Load reads a key file.
func Load(path string) (*Set, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keys.Load: %w", err)
	}
	s, err := Parse(b)
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

// RateLimit returns the merchant's own rate limit, if the file sets one.
func (s *Set) RateLimit(merchant string) (Limit, bool) { l, ok := s.limits[merchant]; return l, ok }

// Commerce returns event.CommercePurchase or event.CommerceRefund when the
// merchant configured name as a purchase or refund event, else "".
func (s *Set) Commerce(merchant, name string) string { return s.commerce[merchant][name] }

// Merchants lists the merchants in file order.
func (s *Set) Merchants() []Merchant { return s.merchants }
