package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cloud.google.com/go/bigtable/bttest"

	"github.com/footfall/footfall/internal/keys"
)

// The command works against the Bigtable emulator, as in the local stack:
// create the table, import a key file, create a merchant, rotate and
// revoke its keys.
func TestAgainstTheEmulator(t *testing.T) {
	srv, err := bttest.NewServer("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	t.Setenv("BIGTABLE_EMULATOR_HOST", srv.Addr)
	ctx := context.Background()
	admin := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, args, &out, io.Discard)
		return out.String(), err
	}
	if _, err := admin("create-table"); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "keys.json")
	if err := os.WriteFile(file, []byte(`{"merchants":[{"id":"demo","write_keys":["demo-write-key"],"read_keys":["demo-read-key"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := admin("import", file); err != nil || !strings.Contains(out, `"merchants_created": 1`) {
		t.Fatalf("import: %s %v", out, err)
	}
	out, err := admin("create-merchant", "shop-1", "-rate-limit", "100")
	if err != nil {
		t.Fatal(err)
	}
	var m keys.Merchant
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatal(err)
	}
	if m.ID != "shop-1" || len(m.WriteKeys) != 1 || len(m.APISecrets) != 1 || len(m.ReadKeys) != 1 || m.RateLimit == nil || m.RateLimit.Burst != 200 {
		t.Fatalf("created %+v", m)
	}
	if _, err := admin("add-key", "shop-1", "write", "demo-write-key"); !errors.Is(err, keys.ErrDuplicateKey) {
		t.Errorf("reusing another merchant's key: %v", err)
	}
	if out, err := admin("rotate", "shop-1", m.ReadKeys[0]); err != nil || !strings.Contains(out, `"old_key_revoked": "true"`) {
		t.Errorf("rotate: %s %v", out, err)
	}
	if _, err := admin("revoke", "shop-1", m.WriteKeys[0]); err != nil {
		t.Error(err)
	}
	out, err = admin("show", "shop-1")
	if err != nil || strings.Contains(out, m.WriteKeys[0]) || strings.Contains(out, m.ReadKeys[0]) {
		t.Errorf("show after rotate and revoke: %s %v", out, err)
	}
	var u errUsage
	if _, err := admin("frobnicate"); !errors.As(err, &u) {
		t.Errorf("unknown command: %v, want a usage error", err)
	}
}
