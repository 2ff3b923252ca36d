package archive

import (
	"cmp"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/footfall/footfall/internal/event"
)

// readFileRows returns a file's rows in file order.
func readFileRows(tb testing.TB, name string) []event.Event {
	tb.Helper()
	rows, err := parquet.ReadFile[event.Event](name, propertiesTag)
	if err != nil {
		tb.Fatalf("read %s: %v", name, err)
	}
	return rows
}

func TestCompact(t *testing.T) {
	tests := []struct {
		name      string
		opts      CompactOptions
		events    int
		batch     int
		wantFiles int
	}{
		{"one file", CompactOptions{}, 12_000, 500, 1},
		{"sorted runs spill and merge", CompactOptions{SortRows: 700, RowsPerRowGroup: 1000}, 12_000, 500, 1},
		{"bounded files", CompactOptions{MaxRowsPerFile: 5000}, 12_000, 500, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			w, err := NewWriter(dir)
			if err != nil {
				t.Fatal(err)
			}
			all := genEvents(t, 10, tc.events, 1, 7)
			writeBatches(t, w, all, tc.batch, 2)
			before, _ := partitionFiles(PartitionDir(dir, base))

			st, err := tc.opts.Compact(context.Background(), dir, base.Add(17*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			after, _ := partitionFiles(PartitionDir(dir, base))
			if len(after) != tc.wantFiles {
				t.Errorf("%d files after compaction, want %d", len(after), tc.wantFiles)
			}
			if st.InputFiles != len(before) || st.OutputFiles != tc.wantFiles || st.Rows != int64(tc.events) {
				t.Errorf("stats = %+v; want %d inputs, %d outputs, %d rows", st, len(before), tc.wantFiles, tc.events)
			}
			max := cmp.Or(tc.opts.MaxRowsPerFile, 2_000_000)
			for _, f := range after {
				rows := readFileRows(t, f)
				if int64(len(rows)) > max {
					t.Errorf("%s has %d rows, more than %d", f, len(rows), max)
				}
				for i := 1; i < len(rows); i++ {
					a, b := rows[i-1], rows[i]
					if c := cmp.Or(cmp.Compare(a.MerchantID, b.MerchantID), cmp.Compare(a.EventTime, b.EventTime)); c > 0 {
						t.Fatalf("%s row %d (%s, %d) sorts after row %d (%s, %d)", f, i-1, a.MerchantID, a.EventTime, i, b.MerchantID, b.EventTime)
					}
				}
			}
			q := Query{From: base, To: base.Add(time.Hour)}
			diffEvents(t, scanAll(t, dir, q), all)

			// Compacting again changes nothing.
			st, err = tc.opts.Compact(context.Background(), dir, base)
			if err != nil {
				t.Fatal(err)
			}
			if st.InputFiles != 0 || st.OutputFiles != 0 {
				t.Errorf("second compaction: %+v, want nothing done", st)
			}
		})
	}
}

// A crash after the merged file's rename but before its inputs are deleted
// leaves every event once or twice, never zero times; deduplicating by
// (merchant, event id) gives the original events back, and compacting again
// keeps it that way.
func TestCompactCrashLeavesDuplicates(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	all := genEvents(t, 11, 3000, 1, 3)
	writeBatches(t, w, all, 300, 1)
	part := PartitionDir(dir, base)
	inputs, _ := partitionFiles(part)
	saved := map[string][]byte{}
	for _, f := range inputs[:4] {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		saved[f] = b
	}
	if _, err := Compact(context.Background(), dir, base); err != nil {
		t.Fatal(err)
	}
	for f, b := range saved { // the deletions that the crash prevented
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for round := range 2 {
		got := scanAll(t, dir, Query{From: base, To: base.Add(time.Hour)})
		seen := map[[2]string]int{}
		var dedup []event.Event
		for _, e := range got {
			k := [2]string{e.MerchantID, e.ID}
			if seen[k] == 0 {
				dedup = append(dedup, e)
			}
			seen[k]++
		}
		for k, n := range seen {
			if n > 2 {
				t.Fatalf("round %d: %v seen %d times", round, k, n)
			}
		}
		diffEvents(t, dedup, all)
		if _, err := Compact(context.Background(), dir, base); err != nil {
			t.Fatal(err)
		}
	}
}

// Abandoned temporary files are deleted; fresh ones (a writer at work) stay.
func TestCompactRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteBatch(context.Background(), genEvents(t, 12, 10, 1, 1)); err != nil {
		t.Fatal(err)
	}
	part := PartitionDir(dir, base)
	stale := filepath.Join(part, ".part-OLD.parquet.tmp")
	fresh := filepath.Join(part, ".part-NEW.parquet.tmp")
	for _, f := range []string{stale, fresh} {
		if err := os.WriteFile(f, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	st, err := Compact(context.Background(), dir, base)
	if err != nil {
		t.Fatal(err)
	}
	if st.StaleTemps != 1 {
		t.Errorf("StaleTemps = %d, want 1", st.StaleTemps)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temp file still there (err %v)", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temp file removed: %v", err)
	}
}

// CompactBefore compacts closed hours only.
func TestCompactBefore(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	all := genEvents(t, 13, 4000, 3, 2)
	writeBatches(t, w, all, 200, 2)
	count := func(h int) int {
		fs, _ := partitionFiles(PartitionDir(dir, base.Add(time.Duration(h)*time.Hour)))
		return len(fs)
	}
	open := count(2)
	if _, err := (CompactOptions{}).CompactBefore(context.Background(), dir, base.Add(2*time.Hour+30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if count(0) != 1 || count(1) != 1 {
		t.Errorf("closed hours hold %d and %d files, want 1 each", count(0), count(1))
	}
	if count(2) != open {
		t.Errorf("open hour holds %d files, want %d (untouched)", count(2), open)
	}
	diffEvents(t, scanAll(t, dir, Query{From: base, To: base.Add(3 * time.Hour)}), all)
}

// copyRows fails on a truncated file and names it.
func TestCompactCorruptInput(t *testing.T) {
	dir := t.TempDir()
	w, err := NewWriter(dir)
	if err != nil {
		t.Fatal(err)
	}
	writeBatches(t, w, genEvents(t, 14, 100, 1, 1), 50, 1)
	files, _ := partitionFiles(PartitionDir(dir, base))
	f, err := os.OpenFile(files[0], os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Seek(-20, io.SeekEnd)
	f.Write([]byte("garbage-garbage-garb"))
	f.Close()
	_, err = Compact(context.Background(), dir, base)
	if err == nil || !strings.Contains(err.Error(), files[0]) {
		t.Errorf("Compact error = %v, want one naming %s", err, files[0])
	}
	if left, _ := partitionFiles(PartitionDir(dir, base)); len(left) != 2 {
		t.Errorf("%d files left after a failed compaction, want the 2 inputs", len(left))
	}
}
