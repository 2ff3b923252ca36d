package keys

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"cloud.google.com/go/bigtable"
	json "github.com/goccy/go-json"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"
)

// The Bigtable key store's table (terraform/modules/bigtable creates it;
// terraform/contract checks the names):
//
//	m#<merchant id>       k:merchant = the Merchant as JSON (every field,
//	                      including ones added later)
//	x#<sha256(key), hex>  k:ref      = {"merchant": id, "kind": "write"|"secret"|"read"}
//
// One index row per key string, whatever its kind: a key can belong to only
// one merchant and one kind, which the admin enforces when it creates the
// row (keyadmin). Index rows are keyed by the key's hash so that key
// strings never appear in row keys (Key Visualizer shows those).
const (
	Table        = "keys"
	Family       = "k"
	ColMerchant  = "merchant"
	ColRef       = "ref"
	merchantPref = "m#"
	indexPref    = "x#"
)

// Key kinds, as stored in index rows.
const (
	KindWrite  = "write"
	KindSecret = "secret"
	KindRead   = "read"
)

// MerchantRow is the row key of a merchant's record.
func MerchantRow(id string) string { return merchantPref + id }

// IndexRow is the row key of a key string's index row.
func IndexRow(key string) string {
	h := sha256.Sum256([]byte(key))
	return indexPref + hex.EncodeToString(h[:])
}

// Ref is an index row's value: whose key it is and of what kind.
type Ref struct {
	Merchant string `json:"merchant"`
	Kind     string `json:"kind"`
}

// BigtableOptions configure a BigtableStore.
type BigtableOptions struct {
	Project, Instance, AppProfile string
	// CacheTTL is how long a looked-up key (or merchant) is used before it
	// is read again: the longest a revoked key keeps working in a service,
	// plus Bigtable's replication delay between clusters.
	CacheTTL time.Duration
	// NegativeTTL is how long an unknown key is remembered as unknown (a
	// key created meanwhile works after at most this long).
	NegativeTTL time.Duration
	// MaxStale is how long past CacheTTL a known key keeps working while
	// Bigtable cannot be read; after that it is refused (fail closed).
	MaxStale time.Duration
	// CacheEntries bounds the cache (keys and merchants).
	CacheEntries int
	// ReadTimeout bounds one Bigtable read (default 5 s).
	ReadTimeout time.Duration
	// Now is the clock (tests).
	Now func() time.Time
}

func (o BigtableOptions) withDefaults() BigtableOptions {
	if o.CacheTTL <= 0 {
		o.CacheTTL = time.Minute
	}
	if o.NegativeTTL <= 0 {
		o.NegativeTTL = 10 * time.Second
	}
	if o.MaxStale <= 0 {
		o.MaxStale = 10 * time.Minute
	}
	if o.CacheEntries <= 0 {
		o.CacheEntries = 100_000
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// BigtableStore is the production Store: keys live in Bigtable (millions of
// merchants), each service looks a key up on first use and caches it for
// CacheTTL. A revoked key therefore stops working within CacheTTL (default
// one minute) plus replication delay.
type BigtableStore struct {
	opts  BigtableOptions
	log   *slog.Logger
	table *bigtable.Table
	close func() error
	now   func() time.Time

	cache  *lru.Cache[string, cached]
	flight singleflight.Group

	lookups, misses, errs atomic.Int64
	metrics               []prometheus.Collector
}

var (
	_ Store                = (*BigtableStore)(nil)
	_ prometheus.Collector = (*BigtableStore)(nil)
)

type cached struct {
	ref      Ref       // index entries
	merchant *Merchant // merchant entries
	found    bool
	at       time.Time
}

// OpenBigtable connects to the key store (BIGTABLE_EMULATOR_HOST selects
// the emulator, as for every Bigtable client).
func OpenBigtable(ctx context.Context, o BigtableOptions, log *slog.Logger) (*BigtableStore, error) {
	if o.Project == "" || o.Instance == "" {
		return nil, errors.New("keys.OpenBigtable: the Bigtable project and instance are required")
	}
	if log == nil {
		return nil, errors.New("keys.OpenBigtable: logger is required")
	}
	cfg := bigtable.ClientConfig{AppProfile: o.AppProfile}
	c, err := bigtable.NewClientWithConfig(ctx, o.Project, o.Instance, cfg)
	if err != nil {
		return nil, fmt.Errorf("keys.OpenBigtable: %w", err)
	}
	s, err := NewBigtableStore(c.Open(Table), o, log)
	if err != nil {
		c.Close()
		return nil, err
	}
	s.close = c.Close
	return s, nil
}

// NewBigtableStore returns a store reading table t (a client's
// Open(Table)); the caller closes the client.
func NewBigtableStore(t *bigtable.Table, o BigtableOptions, log *slog.Logger) (*BigtableStore, error) {
	o = o.withDefaults()
	cache, err := lru.New[string, cached](o.CacheEntries)
	if err != nil {
		return nil, fmt.Errorf("keys: cache: %w", err)
	}
	s := &BigtableStore{opts: o, log: log, table: t, cache: cache, now: o.Now}
	for _, m := range []struct {
		name, help string
		v          *atomic.Int64
	}{
		{"footfall_keys_lookups_total", "Key and merchant lookups in the Bigtable key store.", &s.lookups},
		{"footfall_keys_cache_misses_total", "Lookups that read Bigtable (not cached, or older than KEYS_CACHE_TTL).", &s.misses},
		{"footfall_keys_lookup_errors_total", "Bigtable reads of the key store that failed (a known key is then served from the cache for up to KEYS_MAX_STALE, an unknown one refused).", &s.errs},
	} {
		v := m.v
		s.metrics = append(s.metrics, prometheus.NewCounterFunc(prometheus.CounterOpts{Name: m.name, Help: m.help},
			func() float64 { return float64(v.Load()) }))
	}
	return s, nil
}

// Describe and Collect make the store's counters a prometheus.Collector:
// a service registers the store in its registry.
func (s *BigtableStore) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range s.metrics {
		m.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (s *BigtableStore) Collect(ch chan<- prometheus.Metric) {
	for _, m := range s.metrics {
		m.Collect(ch)
	}
}

// Close closes the Bigtable client.
func (s *BigtableStore) Close() error {
	if s.close != nil {
		return s.close()
	}
	return nil
}

// ByWriteKey returns the merchant owning a write key.
func (s *BigtableStore) ByWriteKey(k string) (string, bool) { return s.byKey(KindWrite, k) }

// BySecret returns the merchant owning an API secret.
func (s *BigtableStore) BySecret(k string) (string, bool) { return s.byKey(KindSecret, k) }

// ByReadKey returns the merchant owning a read key.
func (s *BigtableStore) ByReadKey(k string) (string, bool) { return s.byKey(KindRead, k) }

// RateLimit returns the merchant's own rate limit, if its record sets one.
func (s *BigtableStore) RateLimit(merchant string) (Limit, bool) {
	m, ok := s.Merchant(merchant)
	if !ok || m.RateLimit == nil {
		return Limit{}, false
	}
	return *m.RateLimit, true
}

// Merchant returns the merchant's record (every field of Merchant).
func (s *BigtableStore) Merchant(id string) (Merchant, bool) {
	if id == "" {
		return Merchant{}, false
	}
	c := s.get(MerchantRow(id))
	if !c.found || c.merchant == nil {
		return Merchant{}, false
	}
	return *c.merchant, true
}

func (s *BigtableStore) byKey(kind, key string) (string, bool) {
	if key == "" {
		return "", false
	}
	c := s.get(IndexRow(key))
	if !c.found || c.ref.Kind != kind {
		return "", false
	}
	return c.ref.Merchant, true
}

// Stats are the store's lookups, cache misses and failed reads so far.
func (s *BigtableStore) Stats() (lookups, misses, errs int64) {
	return s.lookups.Load(), s.misses.Load(), s.errs.Load()
}

// get returns the cached entry for a row, reading it when absent or
// expired (one read per row at a time). A failed read keeps serving a
// found entry for MaxStale past its TTL, then refuses.
func (s *BigtableStore) get(row string) cached {
	s.lookups.Add(1)
	now := s.now()
	old, have := s.cache.Get(row)
	if have && now.Sub(old.at) < s.ttl(old) {
		return old
	}
	s.misses.Add(1)
	v, err, _ := s.flight.Do(row, func() (any, error) {
		ctx, cancel := context.WithTimeout(context.Background(), s.opts.ReadTimeout)
		defer cancel()
		c, err := s.read(ctx, row)
		if err != nil {
			return nil, err
		}
		c.at = s.now()
		s.cache.Add(row, c)
		return c, nil
	})
	if err != nil {
		s.errs.Add(1)
		if have && old.found && now.Sub(old.at) < s.opts.CacheTTL+s.opts.MaxStale {
			s.log.Warn("keys: Bigtable lookup failed; serving the cached entry", "err", err, "age", now.Sub(old.at).String())
			return old
		}
		s.log.Error("keys: Bigtable lookup failed; refusing the key", "err", err)
		return cached{}
	}
	return v.(cached)
}

func (s *BigtableStore) ttl(c cached) time.Duration {
	if c.found {
		return s.opts.CacheTTL
	}
	return s.opts.NegativeTTL
}

// read reads one row of the key table.
func (s *BigtableStore) read(ctx context.Context, row string) (cached, error) {
	r, err := s.table.ReadRow(ctx, row, bigtable.RowFilter(bigtable.LatestNFilter(1)))
	if err != nil {
		return cached{}, fmt.Errorf("keys: read %s: %w", row[:2], err)
	}
	for _, it := range r[Family] {
		col := it.Column[len(Family)+1:]
		switch col {
		case ColRef:
			var ref Ref
			if err := json.Unmarshal(it.Value, &ref); err != nil {
				return cached{}, fmt.Errorf("keys: index row %s: %w", row, err)
			}
			return cached{ref: ref, found: true}, nil
		case ColMerchant:
			var m Merchant
			if err := json.Unmarshal(it.Value, &m); err != nil {
				return cached{}, fmt.Errorf("keys: merchant row %s: %w", row, err)
			}
			return cached{merchant: &m, found: true}, nil
		}
	}
	return cached{}, nil
}

// Commerce returns event.CommercePurchase or event.CommerceRefund when the
// merchant's record configures name as a purchase or refund event, else "".
func (s *BigtableStore) Commerce(merchant, name string) string {
	m, ok := s.Merchant(merchant)
	if !ok {
		return ""
	}
	return m.Commerce(name)
}

// OriginAllowed reports whether a web page of origin may send the
// merchant's events (Set.OriginAllowed), from its cached record.
func (s *BigtableStore) OriginAllowed(merchant, origin string) bool {
	m, ok := s.Merchant(merchant)
	if !ok || m.AllowedOrigins == nil {
		return true
	}
	os, err := parseOrigins(m.AllowedOrigins)
	if err != nil {
		return false // a record the store validated on write; refuse rather than open up
	}
	return os.allows(origin)
}
