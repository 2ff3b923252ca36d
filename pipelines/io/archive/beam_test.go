package archive

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/footfall/footfall/internal/event"
)

func init() {
	register.Function2x1(describe)
}

// describe renders an event with its element timestamp, so the assertion
// checks the values, the coder round trip and the timestamps together.
func describe(t beam.EventTime, e event.Event) string {
	return fmt.Sprintf("%s/%s t=%d ts=%d props=%s rev=%d%s", e.MerchantID, e.ID, e.EventTime, t.Milliseconds(), e.Properties, e.RevenueMinor, e.Currency)
}

func describeAll(es []event.Event) []any {
	out := make([]any, len(es))
	for i, e := range es {
		out[i] = describe(beam.EventTime(e.EventTime/1000), e)
	}
	return out
}

func TestBeamRead(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	all := genEvents(t, 20, 3000, 4, 4)
	writeBatches(t, w, all, 250, 2)
	if _, err := Compact(context.Background(), dir, base.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		q    Query
	}{
		{"all", Query{From: base, To: base.Add(4 * time.Hour)}},
		{"range and merchants", Query{From: base.Add(30 * time.Minute), To: base.Add(3 * time.Hour), Merchants: []string{"m0", "m2"}}},
		{"nothing", Query{From: base.Add(-2 * time.Hour), To: base}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, s := beam.NewPipelineWithRoot()
			events := Read(s, dir, tc.q.From, tc.q.To, tc.q.Merchants)
			got := beam.ParDo(s, describe, events)
			passert.Equals(s, got, describeAll(want(all, tc.q))...)
			if err := ptest.Run(p); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestBeamReadMissingArchive(t *testing.T) {
	p, s := beam.NewPipelineWithRoot()
	missing := t.TempDir() + "/nope"
	Read(s, missing, base, base.Add(time.Hour), nil)
	err := ptest.Run(p)
	if err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("pipeline error = %v, want one naming %s", err, missing)
	}
}
