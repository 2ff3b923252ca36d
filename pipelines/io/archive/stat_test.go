package archive

import (
	"context"
	"testing"
	"time"
)

func TestStatAndHours(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	empty, err := Stat(dir, base)
	if err != nil || empty.Files != 0 || empty.Rows != 0 || !empty.Newest.IsZero() {
		t.Fatalf("Stat of an empty archive = %+v, %v", empty, err)
	}
	all := genEvents(t, 3, 1500, 1, 7)
	writeBatches(t, w, all, 400, 2)
	st, err := Stat(dir, base.Add(30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if st.Rows != 1500 || st.Files < 2 || st.Newest.IsZero() || !st.Hour.Equal(base) {
		t.Errorf("Stat = %+v, want 1500 rows in several files of the hour %s", st, base)
	}
	if _, err := Compact(context.Background(), dir, base); err != nil {
		t.Fatal(err)
	}
	after, err := Stat(dir, base)
	if err != nil {
		t.Fatal(err)
	}
	if after.Rows != 1500 || after.Files != 1 {
		t.Errorf("Stat after compaction = %+v, want the same 1500 rows in 1 file", after)
	}
	hours, err := Hours(dir, base.Add(-2*time.Hour), base.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(hours) != 1 || !hours[0].Equal(base) {
		t.Errorf("Hours = %v, want [%s]", hours, base)
	}
}
