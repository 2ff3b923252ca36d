package localstack

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// StartForTest starts a stack for a test on free loopback ports
// (StartOnFreePorts) in a temporary data directory, with process output
// discarded unless o says otherwise. It stops the stack when the test ends
// and, if the test failed, logs the tail of every supervised process's log.
func StartForTest(t testing.TB, o Options) *Stack {
	t.Helper()
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	if o.Echo == nil {
		o.Echo = io.Discard
	}
	st, err := StartOnFreePorts(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		st.Stop()
		if !t.Failed() {
			return
		}
		for _, name := range []string{Pipeline, Sealer, Ingest, QueryAPI} {
			b, _ := os.ReadFile(filepath.Join(o.DataDir, "logs", name+".log"))
			if len(b) > 3000 {
				b = b[len(b)-3000:]
			}
			t.Logf("tail of %s log:\n%s", name, b)
		}
	})
	return st
}
