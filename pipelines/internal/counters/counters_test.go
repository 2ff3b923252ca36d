package counters

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestCounterMirrorsToPrometheus(t *testing.T) {
	c := New("test_things", "Things counted by the test.")
	c.Inc(context.Background(), 3) // outside a bundle: only the process counter moves
	c.Inc(context.Background(), 4)
	if got := c.Value(); got != 7 {
		t.Errorf("Value = %d, want 7", got)
	}
	if got := Snapshot()["test_things"]; got != 7 {
		t.Errorf("Snapshot = %d, want 7", got)
	}
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got float64 = -1
	for _, mf := range mfs {
		if mf.GetName() == "footfall_test_things_total" {
			got = mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	if got != 7 {
		t.Errorf("footfall_test_things_total = %v, want 7", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("defining a counter twice did not panic")
		}
	}()
	New("test_things", "again")
}

func TestValueByName(t *testing.T) {
	c := New("test_value_by_name", "A counter for TestValueByName.")
	c.Inc(context.Background(), 3)
	if got := Value("test_value_by_name"); got != 3 {
		t.Errorf("Value = %d, want 3", got)
	}
	if got := Value("no_such_counter"); got != 0 {
		t.Errorf("Value of an undefined counter = %d, want 0", got)
	}
}
