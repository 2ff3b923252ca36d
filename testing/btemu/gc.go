// Package btemu makes the Bigtable emulator (cloud.google.com/go/bigtable/bttest)
// apply garbage-collection policies, as Bigtable does.
//
// bttest enforces a column family's GC policy (max versions, max age) only
// once its GC loop runs, and it starts that loop only when a column family
// is modified (ModifyColumnFamilies) — never for tables created with their
// families, which is how the local stack and Terraform create them. Without
// it every version of a cell and every realtime minute row stays in memory
// for the life of the process. EnableGC starts the loop; it then passes
// over every table, present and future, about once a second.
package btemu

import (
	"context"
	"fmt"

	"cloud.google.com/go/bigtable"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// GC table: a private table whose family change starts bttest's GC loop.
const (
	gcProject  = "bigtable-emulator"
	gcInstance = "gc"
	gcTable    = "gc"
	gcFamily   = "f"
)

// EnableGC starts the GC loop of the bttest server listening on addr by
// creating a private table (projects/bigtable-emulator/instances/gc) and
// modifying its column family.
func EnableGC(ctx context.Context, addr string) error {
	opts := []option.ClientOption{option.WithEndpoint(addr), option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials()))}
	ac, err := bigtable.NewAdminClient(ctx, gcProject, gcInstance, opts...)
	if err != nil {
		return fmt.Errorf("btemu.EnableGC: %w", err)
	}
	defer ac.Close()
	policy := bigtable.MaxVersionsPolicy(1)
	if err := ac.CreateTableFromConf(ctx, &bigtable.TableConf{TableID: gcTable,
		ColumnFamilies: map[string]bigtable.Family{gcFamily: {GCPolicy: policy}}}); err != nil {
		return fmt.Errorf("btemu.EnableGC: create table %s: %w", gcTable, err)
	}
	if err := ac.SetGCPolicy(ctx, gcTable, gcFamily, policy); err != nil {
		return fmt.Errorf("btemu.EnableGC: modify family %s: %w", gcFamily, err)
	}
	return nil
}
