package keyadmin

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/bigtable"
	"cloud.google.com/go/bigtable/bttest"

	"github.com/footfall/footfall/internal/keys"
)

// emulator starts bttest with the key table and returns a client and the
// server (to stop it).
func emulator(t *testing.T) (*bigtable.Client, *bttest.Server) {
	t.Helper()
	srv, err := bttest.NewServer("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	t.Setenv("BIGTABLE_EMULATOR_HOST", srv.Addr)
	ctx := context.Background()
	ac, err := bigtable.NewAdminClient(ctx, "p", "i")
	if err != nil {
		t.Fatal(err)
	}
	defer ac.Close()
	if err := EnsureTable(ctx, ac); err != nil {
		t.Fatal(err)
	}
	if err := EnsureTable(ctx, ac); err != nil {
		t.Fatalf("EnsureTable twice: %v", err)
	}
	c, err := bigtable.NewClient(ctx, "p", "i")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, srv
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func quiet() *slog.Logger            { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
func mustKey(t *testing.T) func(string, error) string {
	return func(k string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
}

// The admin creates merchants and keys in Bigtable and the services' store
// finds them, each key as its own kind only; a revoked key stops working
// once the store's cached lookup is older than CacheTTL.
func TestCreateLookupRevoke(t *testing.T) {
	c, _ := emulator(t)
	ctx := context.Background()
	a := New(c.Open(keys.Table))
	if _, err := a.CreateMerchant(ctx, keys.Merchant{ID: "shop-1", WriteKeys: []string{"w1"}, ReadKeys: []string{"r1"},
		RateLimit: &keys.Limit{EventsPerSecond: 10, Burst: 20}}); err != nil {
		t.Fatal(err)
	}
	secret := mustKey(t)(a.AddKey(ctx, "shop-1", keys.KindSecret, ""))
	clk := &clock{t: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
	st, err := keys.NewBigtableStore(c.Open(keys.Table), keys.BigtableOptions{CacheTTL: time.Minute, NegativeTTL: 10 * time.Second, Now: clk.now}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	lookups := []struct {
		name   string
		lookup func(string) (string, bool)
		key    string
		want   string
	}{
		{"write key", st.ByWriteKey, "w1", "shop-1"},
		{"read key", st.ByReadKey, "r1", "shop-1"},
		{"generated secret", st.BySecret, secret, "shop-1"},
		{"write key is no read key", st.ByReadKey, "w1", ""},
		{"unknown", st.ByWriteKey, "nope", ""},
		{"empty", st.ByWriteKey, "", ""},
	}
	for _, tc := range lookups {
		got, ok := tc.lookup(tc.key)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("%s: lookup(%q) = %q, %v; want %q", tc.name, tc.key, got, ok, tc.want)
		}
	}
	if l, ok := st.RateLimit("shop-1"); !ok || l.EventsPerSecond != 10 || l.Burst != 20 {
		t.Errorf("RateLimit = %+v, %v", l, ok)
	}

	if err := a.Revoke(ctx, "shop-1", "w1"); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.ByWriteKey("w1"); !ok {
		t.Error("a revoked key stopped working before its cached lookup expired (the store should not read Bigtable per request)")
	}
	clk.add(time.Minute + time.Second)
	if m, ok := st.ByWriteKey("w1"); ok {
		t.Errorf("revoked key still maps to %q after CacheTTL", m)
	}
	if m, _, _ := a.Merchant(ctx, "shop-1"); len(m.WriteKeys) != 0 || len(m.APISecrets) != 1 {
		t.Errorf("merchant record after revoke = %+v", m)
	}

	// A key created meanwhile works once the negative entry expires.
	if _, err := a.AddKey(ctx, "shop-1", keys.KindWrite, "nope"); err != nil {
		t.Fatal(err)
	}
	clk.add(11 * time.Second)
	if m, ok := st.ByWriteKey("nope"); !ok || m != "shop-1" {
		t.Errorf("new key = %q, %v after NegativeTTL", m, ok)
	}
}

// Any key string can be used once, across merchants and kinds.
func TestKeyStringsAreUnique(t *testing.T) {
	c, _ := emulator(t)
	ctx := context.Background()
	a := New(c.Open(keys.Table))
	if _, err := a.CreateMerchant(ctx, keys.Merchant{ID: "a", WriteKeys: []string{"k1"}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"same key, other merchant", func() error {
			_, err := a.CreateMerchant(ctx, keys.Merchant{ID: "b", WriteKeys: []string{"k1"}})
			return err
		}, keys.ErrDuplicateKey},
		{"same key, other kind", func() error { _, err := a.AddKey(ctx, "a", keys.KindRead, "k1"); return err }, keys.ErrDuplicateKey},
		{"merchant twice", func() error { _, err := a.CreateMerchant(ctx, keys.Merchant{ID: "a"}); return err }, ErrMerchantExists},
		{"key for an unknown merchant", func() error { _, err := a.AddKey(ctx, "zz", keys.KindRead, ""); return err }, ErrNoMerchant},
		{"revoke another merchant's key", func() error { return a.Revoke(ctx, "c", "k1") }, ErrNotOwner},
	}
	if _, err := a.CreateMerchant(ctx, keys.Merchant{ID: "c"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		if err := tc.do(); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}
	// The failed creation of b left nothing behind: b can be created.
	if _, err := a.CreateMerchant(ctx, keys.Merchant{ID: "b", WriteKeys: []string{"k2"}}); err != nil {
		t.Errorf("creating b after a failed attempt: %v", err)
	}
	for _, bad := range []keys.Merchant{{ID: "Bad Id"}, {ID: "x", RateLimit: &keys.Limit{}}} {
		if _, err := a.CreateMerchant(ctx, bad); err == nil {
			t.Errorf("CreateMerchant(%+v) succeeded", bad)
		}
	}
}

// Rotation issues a new key of the same kind and revokes the old one
// (or keeps it with keepOld).
func TestRotate(t *testing.T) {
	c, _ := emulator(t)
	ctx := context.Background()
	a := New(c.Open(keys.Table))
	if _, err := a.CreateMerchant(ctx, keys.Merchant{ID: "m", ReadKeys: []string{"old"}}); err != nil {
		t.Fatal(err)
	}
	kept := mustKey(t)(a.Rotate(ctx, "m", "old", true))
	next := mustKey(t)(a.Rotate(ctx, "m", "old", false))
	m, _, _ := a.Merchant(ctx, "m")
	if len(m.ReadKeys) != 2 || m.ReadKeys[0] != kept || m.ReadKeys[1] != next {
		t.Errorf("read keys after rotations = %v, want [%s %s]", m.ReadKeys, kept, next)
	}
	if _, err := a.Rotate(ctx, "m", "old", false); !errors.Is(err, ErrNotOwner) {
		t.Errorf("rotating a revoked key: %v", err)
	}
}

// Other fields of a merchant record (added to keys.Merchant by other
// features) survive key changes: the record is stored whole.
func TestImportKeepsTheRecord(t *testing.T) {
	c, _ := emulator(t)
	ctx := context.Background()
	a := New(c.Open(keys.Table))
	n, err := a.Import(ctx, keys.DemoFile())
	if err != nil || n != 1 {
		t.Fatalf("Import = %d, %v", n, err)
	}
	if n, err := a.Import(ctx, keys.DemoFile()); err != nil || n != 0 {
		t.Errorf("second Import = %d, %v; want 0 created", n, err)
	}
	st, err := keys.NewBigtableStore(c.Open(keys.Table), keys.BigtableOptions{}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := st.ByWriteKey(keys.DemoWriteKey); !ok || m != keys.DemoMerchant {
		t.Errorf("demo write key = %q, %v", m, ok)
	}
	if got, ok := st.Merchant(keys.DemoMerchant); !ok || got.ID != keys.DemoMerchant || len(got.APISecrets) != 1 {
		t.Errorf("Merchant(demo) = %+v, %v", got, ok)
	}
}

// While Bigtable cannot be read, a known key keeps working for MaxStale
// past its TTL, then is refused; an unknown key is refused at once.
func TestStoreWhenBigtableIsDown(t *testing.T) {
	c, srv := emulator(t)
	ctx := context.Background()
	a := New(c.Open(keys.Table))
	if _, err := a.CreateMerchant(ctx, keys.Merchant{ID: "m", WriteKeys: []string{"w"}}); err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)}
	st, err := keys.NewBigtableStore(c.Open(keys.Table), keys.BigtableOptions{CacheTTL: time.Minute, MaxStale: 10 * time.Minute,
		ReadTimeout: 300 * time.Millisecond, Now: clk.now}, quiet())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.ByWriteKey("w"); !ok {
		t.Fatal("key not found")
	}
	srv.Close()
	clk.add(5 * time.Minute)
	if _, ok := st.ByWriteKey("w"); !ok {
		t.Error("a known key was refused while Bigtable is down, within MaxStale")
	}
	if _, ok := st.ByWriteKey("unknown"); ok {
		t.Error("an unknown key was accepted while Bigtable is down")
	}
	clk.add(10 * time.Minute)
	if _, ok := st.ByWriteKey("w"); ok {
		t.Error("a key was accepted beyond MaxStale without a successful read")
	}
	if _, _, errs := st.Stats(); errs == 0 {
		t.Error("failed reads were not counted")
	}
}
