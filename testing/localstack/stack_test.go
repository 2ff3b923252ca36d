package localstack

import "testing"

// A stack's processes get distinct ports: two of them on one port is a
// stack whose second process can never start (CI, stop 27: the streaming
// job's /metrics on ingest's operators' port).
func TestFreeAddrsAreDistinct(t *testing.T) {
	for range 20 {
		addrs, err := FreeAddrs(8)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, a := range addrs {
			if seen[a] {
				t.Fatalf("FreeAddrs returned %s twice: %v", a, addrs)
			}
			seen[a] = true
		}
	}
}
