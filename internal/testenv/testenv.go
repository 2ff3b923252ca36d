// Package testenv starts the real local emulators (pstest, bttest) inside a
// test process and points the official clients at them, so that package
// tests exercise the same gRPC path as production.
package testenv

import (
	"context"
	"testing"
	"time"

	"cloud.google.com/go/bigtable"
	"cloud.google.com/go/bigtable/bttest"
	"cloud.google.com/go/pubsub/v2/pstest"

	"github.com/footfall/footfall/internal/layout"
)

// Project and Instance are the names tests use with the emulators.
const (
	Project  = "footfall-test"
	Instance = "footfall"
)

// Bigtable starts an in-process Bigtable emulator with the layout's tables,
// sets BIGTABLE_EMULATOR_HOST for the test and returns a client.
func Bigtable(t testing.TB) *bigtable.Client {
	t.Helper()
	srv, err := bttest.NewServer("127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: start bttest: %v", err)
	}
	t.Cleanup(srv.Close)
	t.Setenv("BIGTABLE_EMULATOR_HOST", srv.Addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ac, err := bigtable.NewAdminClient(ctx, Project, Instance)
	if err != nil {
		t.Fatalf("testenv: bigtable admin client: %v", err)
	}
	defer ac.Close()
	for table, fams := range layout.Families() {
		conf := &bigtable.TableConf{TableID: table, ColumnFamilies: map[string]bigtable.Family{}}
		for f, gc := range fams {
			conf.ColumnFamilies[f] = bigtable.Family{GCPolicy: gc}
		}
		if err := ac.CreateTableFromConf(ctx, conf); err != nil {
			t.Fatalf("testenv: create table %s: %v", table, err)
		}
	}
	c, err := bigtable.NewClient(ctx, Project, Instance)
	if err != nil {
		t.Fatalf("testenv: bigtable client: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// PubSub starts an in-process Pub/Sub emulator, sets PUBSUB_EMULATOR_HOST
// for the test and returns the server (for inspecting messages).
func PubSub(t testing.TB, opts ...pstest.ServerReactorOption) *pstest.Server {
	t.Helper()
	srv := pstest.NewServerWithAddress("127.0.0.1:0", opts...)
	t.Cleanup(func() { srv.Close() })
	t.Setenv("PUBSUB_EMULATOR_HOST", srv.Addr)
	return srv
}
