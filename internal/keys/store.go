package keys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Store is the live key set a service consults on every request. A
// production backend (e.g. one that reads Secret Manager directly) only has
// to provide these lookups; FileStore is the one this repository ships, and
// on Cloud Run the file is a Secret Manager secret mounted as a volume
// (docs/keys.md).
type Store interface {
	ByWriteKey(k string) (merchant string, ok bool)
	BySecret(k string) (merchant string, ok bool)
	ByReadKey(k string) (merchant string, ok bool)
	RateLimit(merchant string) (Limit, bool)
	// Commerce is event.CommercePurchase, event.CommerceRefund or "" for
	// one of the merchant's event names.
	Commerce(merchant, name string) string
}

var (
	_ Store = (*Set)(nil)
	_ Store = (*FileStore)(nil)
)

// FileStore serves the keys of a file and reloads them when the file's
// modification time or size changes (Watch) or when asked (Reload, wired to
// SIGHUP by the services). A file that fails to read or validate leaves the
// previous keys in place and is reported; the store never ends up empty
// because of a bad edit.
type FileStore struct {
	path string
	log  *slog.Logger
	cur  atomic.Pointer[Set]

	mu      sync.Mutex // serialises reloads
	modTime time.Time
	size    int64
	lastErr error
}

// OpenFile loads path; unlike a later reload, a bad file here is an error.
func OpenFile(path string, log *slog.Logger) (*FileStore, error) {
	if log == nil {
		return nil, errors.New("keys.OpenFile: logger is required")
	}
	f := &FileStore{path: path, log: log}
	if err := f.Reload(); err != nil {
		return nil, fmt.Errorf("keys.OpenFile: %w", err)
	}
	return f, nil
}

// Current returns the key set in force.
func (f *FileStore) Current() *Set { return f.cur.Load() }

// ByWriteKey returns the merchant owning a write key.
func (f *FileStore) ByWriteKey(k string) (string, bool) { return f.cur.Load().ByWriteKey(k) }

// BySecret returns the merchant owning an API secret.
func (f *FileStore) BySecret(k string) (string, bool) { return f.cur.Load().BySecret(k) }

// ByReadKey returns the merchant owning a read key.
func (f *FileStore) ByReadKey(k string) (string, bool) { return f.cur.Load().ByReadKey(k) }

// RateLimit returns the merchant's own rate limit, if the file sets one.
func (f *FileStore) RateLimit(m string) (Limit, bool) { return f.cur.Load().RateLimit(m) }

// Commerce returns the commerce kind the merchant gave an event name.
func (f *FileStore) Commerce(m, name string) string { return f.cur.Load().Commerce(m, name) }

// Reload reads the file now. On error the previous keys stay in force, the
// error is logged and returned.
func (f *FileStore) Reload() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reloadLocked()
}

func (f *FileStore) reloadLocked() error {
	st, err := os.Stat(f.path)
	if err == nil {
		f.modTime, f.size = st.ModTime(), st.Size()
	}
	s, err := Load(f.path)
	if err != nil {
		f.lastErr = err
		if f.cur.Load() != nil {
			f.log.Error("key file rejected; keeping the previous keys", "path", f.path, "err", err)
		}
		return err
	}
	f.lastErr = nil
	f.cur.Store(s)
	f.log.Info("keys loaded", "path", f.path, "merchants", len(s.Merchants()))
	return nil
}

// changed reports whether the file's modification time or size differs from
// the last reload (a missing file counts as unchanged: keep the keys).
func (f *FileStore) changed() bool {
	st, err := os.Stat(f.path)
	if err != nil {
		if f.lastErr == nil {
			f.lastErr = err
			f.log.Error("key file unreadable; keeping the previous keys", "path", f.path, "err", err)
		}
		return false
	}
	return !st.ModTime().Equal(f.modTime) || st.Size() != f.size
}

// Watch polls the file every interval and reloads it when it changed, and
// reloads on every value from hup (pass a channel fed by signal.Notify for
// SIGHUP, or nil). It returns when ctx is done.
func (f *FileStore) Watch(ctx context.Context, interval time.Duration, hup <-chan os.Signal) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			f.log.Info("reloading keys on signal", "path", f.path)
			_ = f.Reload()
		case <-t.C:
			f.mu.Lock()
			if f.changed() {
				_ = f.reloadLocked()
			}
			f.mu.Unlock()
		}
	}
}
