package keys

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/footfall/footfall/internal/event"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		wantErr bool
	}{
		{"ok", `{"merchants":[{"id":"a","write_keys":["w"],"api_secrets":["s"],"read_keys":["r"],"rate_limit":{"events_per_second":10,"burst":20}}]}`, false},
		{"bad merchant id", `{"merchants":[{"id":"A B","write_keys":["w"]}]}`, true},
		{"merchant twice", `{"merchants":[{"id":"a"},{"id":"a"}]}`, true},
		{"key shared by two merchants", `{"merchants":[{"id":"a","write_keys":["w"]},{"id":"b","write_keys":["w"]}]}`, true},
		{"key twice in one list", `{"merchants":[{"id":"a","write_keys":["w","w"]}]}`, true},
		{"write key is also the merchant's read key", `{"merchants":[{"id":"a","write_keys":["k"],"read_keys":["k"]}]}`, true},
		{"write key is another merchant's read key", `{"merchants":[{"id":"a","write_keys":["k"]},{"id":"b","read_keys":["k"]}]}`, true},
		{"write key is another merchant's API secret", `{"merchants":[{"id":"a","write_keys":["k"]},{"id":"b","api_secrets":["k"]}]}`, true},
		{"API secret is another merchant's read key", `{"merchants":[{"id":"a","api_secrets":["k"]},{"id":"b","read_keys":["k"]}]}`, true},
		{"commerce events", `{"merchants":[{"id":"a","purchase_events":["Order Completed","purchase"],"refund_events":["Order Refunded"]}]}`, false},
		{"event both purchase and refund", `{"merchants":[{"id":"a","purchase_events":["x"],"refund_events":["x"]}]}`, true},
		{"empty commerce event name", `{"merchants":[{"id":"a","purchase_events":[""]}]}`, true},
		{"empty key", `{"merchants":[{"id":"a","write_keys":[""]}]}`, true},
		{"unknown field", `{"merchants":[{"id":"a","write_key":["w"]}]}`, true},
		{"zero rate", `{"merchants":[{"id":"a","rate_limit":{"events_per_second":0,"burst":1}}]}`, true},
		{"zero burst", `{"merchants":[{"id":"a","rate_limit":{"events_per_second":5,"burst":0}}]}`, true},
		{"not json", `merchants: a`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.file))
			if (err != nil) != tc.wantErr {
				t.Errorf("Parse error = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

func TestSetLookups(t *testing.T) {
	s, err := Parse([]byte(`{"merchants":[
		{"id":"a","write_keys":["wa"],"api_secrets":["sa"],"read_keys":["ra"],"rate_limit":{"events_per_second":10,"burst":20}},
		{"id":"b","write_keys":["wb"],"api_secrets":["sb"],"read_keys":["rb"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		lookup func(string) (string, bool)
		key    string
		want   string
		wantOK bool
	}{
		{"write a", s.ByWriteKey, "wa", "a", true},
		{"write b", s.ByWriteKey, "wb", "b", true},
		{"secret a", s.BySecret, "sa", "a", true},
		{"read b", s.ByReadKey, "rb", "b", true},
		{"read key is no write key", s.ByWriteKey, "ra", "", false},
		{"secret is no read key", s.ByReadKey, "sa", "", false},
		{"unknown", s.ByWriteKey, "zz", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.lookup(tc.key)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("lookup(%q) = %q, %v; want %q, %v", tc.key, got, ok, tc.want, tc.wantOK)
			}
		})
	}
	if l, ok := s.RateLimit("a"); !ok || l != (Limit{10, 20}) {
		t.Errorf("RateLimit(a) = %v, %v; want {10 20}, true", l, ok)
	}
	if _, ok := s.RateLimit("b"); ok {
		t.Error("RateLimit(b) set; b has no limit of its own")
	}
}

func TestDuplicateKeyErrorNamesBothPlacesNotTheKey(t *testing.T) {
	_, err := Parse([]byte(`{"merchants":[{"id":"a","write_keys":["k-secret-1"]},{"id":"b","read_keys":["x","k-secret-1"]}]}`))
	if !errors.Is(err, ErrDuplicateKey) {
		t.Fatalf("Parse error = %v, want ErrDuplicateKey", err)
	}
	for _, want := range []string{`merchant "b" read_keys[1]`, `merchant "a" write_keys[0]`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "k-secret-1") {
		t.Errorf("error %q prints the key", err)
	}
}

func TestCommerce(t *testing.T) {
	s, err := Parse([]byte(`{"merchants":[
		{"id":"a","purchase_events":["Order Completed"],"refund_events":["Order Refunded"]},
		{"id":"b"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ merchant, name, want string }{
		{"a", "Order Completed", event.CommercePurchase},
		{"a", "Order Refunded", event.CommerceRefund},
		{"a", "order completed", ""}, // names match exactly
		{"b", "Order Completed", ""},
		{"zz", "Order Completed", ""},
	}
	for _, tc := range tests {
		if got := s.Commerce(tc.merchant, tc.name); got != tc.want {
			t.Errorf("Commerce(%q, %q) = %q, want %q", tc.merchant, tc.name, got, tc.want)
		}
	}
}

// syncBuffer is a log sink tests can read while the watcher writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func writeFile(t testing.TB, path, content string, mod time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	// Explicit mtimes: two writes within one file-system tick must still differ.
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond for up to 10 s (a bound on a test that would hang, not a speed assertion).
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFileStoreReloads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	writeFile(t, path, `{"merchants":[{"id":"a","write_keys":["k1"]}]}`, t0)
	var logs syncBuffer
	fs, err := OpenFile(path, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	hup := make(chan os.Signal, 1)
	done := make(chan struct{})
	go func() { fs.Watch(ctx, 5*time.Millisecond, hup); close(done) }()
	t.Cleanup(func() { cancel(); <-done })

	if m, ok := fs.ByWriteKey("k1"); !ok || m != "a" {
		t.Fatalf("k1 → %q, %v; want a", m, ok)
	}

	// A changed file is picked up by polling.
	writeFile(t, path, `{"merchants":[{"id":"a","write_keys":["k2"]}]}`, t0.Add(time.Second))
	waitFor(t, "k2 to be loaded", func() bool { _, ok := fs.ByWriteKey("k2"); return ok })
	if _, ok := fs.ByWriteKey("k1"); ok {
		t.Error("k1 still accepted after it was removed from the file")
	}

	// A bad file keeps the previous keys and logs an error.
	writeFile(t, path, `{"merchants":[{"id":"a","write_keys":["k3"]`, t0.Add(2*time.Second))
	waitFor(t, "the bad file to be reported", func() bool { return bytes.Contains([]byte(logs.String()), []byte("keeping the previous keys")) })
	if _, ok := fs.ByWriteKey("k2"); !ok {
		t.Error("k2 lost after a bad file; the previous keys must stay")
	}

	// SIGHUP reloads even when the mtime and size look unchanged.
	writeFile(t, path, `{"merchants":[{"id":"a","write_keys":["k4"]}]}`, t0.Add(3*time.Second))
	waitFor(t, "k4 to be loaded", func() bool { _, ok := fs.ByWriteKey("k4"); return ok })
	writeFile(t, path, `{"merchants":[{"id":"a","write_keys":["k5"]}]}`, t0.Add(3*time.Second)) // same size and mtime
	hup <- os.Interrupt
	waitFor(t, "k5 to be loaded on signal", func() bool { _, ok := fs.ByWriteKey("k5"); return ok })
}

func TestOpenFileRejectsBadFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	writeFile(t, path, `{"merchants":[{"id":"BAD"}]}`, time.Now())
	_, err := OpenFile(path, slog.New(slog.NewJSONHandler(&syncBuffer{}, nil)))
	if err == nil {
		t.Fatal("OpenFile accepted an invalid file")
	}
	if _, err := OpenFile(filepath.Join(t.TempDir(), "missing.json"), slog.Default()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: error %v, want os.ErrNotExist", err)
	}
}
