package archive

import (
	"cmp"
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/snappy"

	"github.com/footfall/footfall/internal/event"
)

// CompactOptions tune compaction; the zero value uses the defaults.
type CompactOptions struct {
	// MaxRowsPerFile bounds the rows of a compacted file (default
	// 2,000,000). Files already that large are left alone; an hour with
	// more rows than this compacts into several files.
	MaxRowsPerFile int64
	// SortRows is how many rows are sorted in memory at a time (default
	// 50,000); larger groups spill sorted runs to a temporary file in the
	// partition and merge them.
	SortRows int64
	// RowsPerRowGroup bounds the row groups of compacted files (default
	// 100,000): the unit readers skip by statistics.
	RowsPerRowGroup int64
	// StaleTemp is the age after which a temporary file left in a
	// partition by a crashed writer is deleted (default 10 minutes).
	StaleTemp time.Duration
}

func (o CompactOptions) withDefaults() CompactOptions {
	if o.MaxRowsPerFile <= 0 {
		o.MaxRowsPerFile = 2_000_000
	}
	if o.SortRows <= 0 {
		o.SortRows = 50_000
	}
	if o.RowsPerRowGroup <= 0 {
		o.RowsPerRowGroup = 100_000
	}
	if o.StaleTemp <= 0 {
		o.StaleTemp = 10 * time.Minute
	}
	return o
}

// CompactStats says what a compaction did.
type CompactStats struct {
	Hours       int   // partitions looked at
	InputFiles  int   // files merged (and deleted)
	OutputFiles int   // files written
	Rows        int64 // rows rewritten
	InputBytes  int64
	OutputBytes int64
	StaleTemps  int // abandoned temporary files deleted
}

func (s *CompactStats) add(o CompactStats) {
	s.Hours += o.Hours
	s.InputFiles += o.InputFiles
	s.OutputFiles += o.OutputFiles
	s.Rows += o.Rows
	s.InputBytes += o.InputBytes
	s.OutputBytes += o.OutputBytes
	s.StaleTemps += o.StaleTemps
}

// Compact merges the small files of the hour containing hour into files of
// at most MaxRowsPerFile rows, sorted by merchant_id then event_time, with
// the default options. See CompactOptions.Compact.
func Compact(ctx context.Context, dir string, hour time.Time) (CompactStats, error) {
	return CompactOptions{}.Compact(ctx, dir, hour)
}

// Compact merges the small files of one hour's partition. Each output is
// written to a temporary file, fsynced, renamed into place and the
// directory fsynced; only then are its inputs deleted. A crash between the
// rename and the deletions leaves the inputs' events twice in the hour;
// readers deduplicate by (merchant, event id), and the next compaction
// merges the leftovers again (still duplicates, never losses).
//
// Compact only touches files that existed when it started, so writers may
// keep adding late events to the hour meanwhile. Run one compactor per
// archive, and not while a batch job reads the same hour (a reader that
// finds a file gone fails and can be rerun).
func (o CompactOptions) Compact(ctx context.Context, dir string, hour time.Time) (CompactStats, error) {
	o = o.withDefaults()
	part := PartitionDir(dir, hour)
	st := CompactStats{Hours: 1}
	if _, err := os.Stat(part); errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	n, err := removeStaleTemps(part, o.StaleTemp)
	st.StaleTemps = n
	if err != nil {
		return st, fmt.Errorf("archive.Compact %s: %w", part, err)
	}
	files, err := partitionFiles(part)
	if err != nil {
		return st, fmt.Errorf("archive.Compact %s: %w", part, err)
	}
	groups, err := o.plan(files)
	if err != nil {
		return st, fmt.Errorf("archive.Compact %s: %w", part, err)
	}
	w := &Writer{dir: dir}
	for _, g := range groups {
		gst, err := o.merge(ctx, w, part, g)
		st.add(gst)
		if err != nil {
			return st, fmt.Errorf("archive.Compact %s: %w", part, err)
		}
	}
	return st, nil
}

// CompactBefore compacts every hour of the archive that ends at or before
// before (closed hours), oldest first.
func (o CompactOptions) CompactBefore(ctx context.Context, dir string, before time.Time) (CompactStats, error) {
	var total CompactStats
	days, err := filepath.Glob(filepath.Join(dir, "dt=*", "hour=*"))
	if err != nil {
		return total, fmt.Errorf("archive.CompactBefore: %w", err)
	}
	for _, p := range days {
		day := strings.TrimPrefix(filepath.Base(filepath.Dir(p)), "dt=")
		hh := strings.TrimPrefix(filepath.Base(p), "hour=")
		h, err := time.Parse("2006-01-02 15", day+" "+hh)
		if err != nil || h.Add(time.Hour).After(before) {
			continue
		}
		st, err := o.Compact(ctx, dir, h)
		total.add(st)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// inputFile is a candidate for merging.
type inputFile struct {
	name string
	rows int64
	size int64
}

// plan groups the partition's files that are smaller than MaxRowsPerFile,
// in name order, into groups of at most MaxRowsPerFile rows. Groups of one
// file are dropped: there is nothing to merge.
func (o CompactOptions) plan(files []string) ([][]inputFile, error) {
	var groups [][]inputFile
	var cur []inputFile
	var rows int64
	flush := func() {
		if len(cur) > 1 {
			groups = append(groups, cur)
		}
		cur, rows = nil, 0
	}
	for _, name := range files {
		in, err := statParquet(name)
		if err != nil {
			return nil, err
		}
		if in.rows >= o.MaxRowsPerFile {
			continue
		}
		if rows+in.rows > o.MaxRowsPerFile {
			flush()
		}
		cur = append(cur, in)
		rows += in.rows
	}
	flush()
	return groups, nil
}

// statParquet reads a data file's footer: its row count and size.
func statParquet(name string) (inputFile, error) {
	f, err := os.Open(name)
	if err != nil {
		return inputFile{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return inputFile{}, err
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true))
	if err != nil {
		return inputFile{}, fmt.Errorf("%s is not a readable Parquet file (move it aside): %w", name, err)
	}
	return inputFile{name: name, rows: pf.NumRows(), size: st.Size()}, nil
}

// merge writes one sorted file holding every row of the group, makes it
// durable, then deletes the group's files.
//
// Sorting is an external merge sort with bounded memory: rows are read
// SortRows at a time, sorted and written as one row group each to a spill
// file (a run); the runs are then merged through a heap, a few hundred rows
// of each in memory at a time, into the output.
func (o CompactOptions) merge(ctx context.Context, w *Writer, part string, group []inputFile) (CompactStats, error) {
	st := CompactStats{}
	name := "part-" + ulid.Make().String() + fileExt
	size, err := writeDurable(w, part, name, func(f *os.File) error {
		out := parquet.NewGenericWriter[event.Event](f, writerOptions(
			parquet.MaxRowsPerRowGroup(o.RowsPerRowGroup),
			parquet.SortingWriterConfig(parquet.SortingColumns(parquet.Ascending("merchant_id"), parquet.Ascending("event_time"))),
		)...)
		rows, err := o.sortInto(ctx, part, group, out)
		if err != nil {
			return err
		}
		st.Rows = rows
		if err := out.Close(); err != nil {
			return fmt.Errorf("write parquet: %w", err)
		}
		return nil
	})
	if err != nil {
		return CompactStats{}, err
	}
	for _, in := range group {
		st.InputBytes += in.size
	}
	st.OutputFiles = 1
	st.OutputBytes = size
	// The merged file is durable: its inputs are now duplicates.
	for _, in := range group {
		if err := os.Remove(in.name); err != nil && !errors.Is(err, os.ErrNotExist) {
			return st, fmt.Errorf("delete merged input (its rows are now in %s; delete it by hand): %w", name, err)
		}
		st.InputFiles++
	}
	if err := syncDir(part); err != nil {
		return st, err
	}
	return st, nil
}

func lessEvent(a, b *event.Event) int {
	return cmp.Or(cmp.Compare(a.MerchantID, b.MerchantID), cmp.Compare(a.EventTime, b.EventTime))
}

// sortInto writes every row of group to out in (merchant_id, event_time)
// order and returns how many rows it wrote.
func (o CompactOptions) sortInto(ctx context.Context, part string, group []inputFile, out *parquet.GenericWriter[event.Event]) (int64, error) {
	chunk := make([]event.Event, 0, o.SortRows)
	var spill *os.File
	var runs *parquet.GenericWriter[event.Event]
	defer func() {
		if spill != nil {
			spill.Close()
			os.Remove(spill.Name())
		}
	}()
	flushRun := func() error {
		slices.SortFunc(chunk, func(a, b event.Event) int { return lessEvent(&a, &b) })
		if spill == nil {
			f, err := os.CreateTemp(part, ".compact-*"+tmpExt)
			if err != nil {
				return err
			}
			spill = f
			runs = parquet.NewGenericWriter[event.Event](f, Schema,
				parquet.Compression(&snappy.Codec{}), parquet.PageBufferSize(64<<10))
		}
		if _, err := runs.Write(chunk); err != nil {
			return fmt.Errorf("write sorted run: %w", err)
		}
		if err := runs.Flush(); err != nil {
			return fmt.Errorf("write sorted run: %w", err)
		}
		chunk = chunk[:0]
		return nil
	}
	var total int64
	buf := make([]event.Event, readBatch)
	for _, in := range group {
		n, err := readRows(ctx, in.name, buf, func(rows []event.Event) error {
			for len(rows) > 0 {
				k := min(len(rows), cap(chunk)-len(chunk))
				chunk = append(chunk, rows[:k]...)
				rows = rows[k:]
				if len(chunk) == cap(chunk) {
					if err := flushRun(); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		if n != in.rows {
			return 0, fmt.Errorf("%s: read %d rows, its footer says %d", in.name, n, in.rows)
		}
		total += n
	}
	if spill == nil { // everything fitted in memory: one run, no spill
		slices.SortFunc(chunk, func(a, b event.Event) int { return lessEvent(&a, &b) })
		if _, err := out.Write(chunk); err != nil {
			return 0, fmt.Errorf("write parquet: %w", err)
		}
		return total, nil
	}
	if len(chunk) > 0 {
		if err := flushRun(); err != nil {
			return 0, err
		}
	}
	chunk = nil
	if err := runs.Close(); err != nil {
		return 0, fmt.Errorf("write sorted runs: %w", err)
	}
	n, err := mergeRuns(ctx, spill, out)
	if err != nil {
		return 0, err
	}
	if n != total {
		return 0, fmt.Errorf("merged %d rows of %d", n, total)
	}
	return total, nil
}

// mergeRuns merges the sorted row groups of the spill file into out.
func mergeRuns(ctx context.Context, spill *os.File, out *parquet.GenericWriter[event.Event]) (int64, error) {
	fi, err := spill.Stat()
	if err != nil {
		return 0, err
	}
	pf, err := parquet.OpenFile(spill, fi.Size(), parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
	if err != nil {
		return 0, fmt.Errorf("open sorted runs: %w", err)
	}
	h := &runHeap{}
	for _, rg := range pf.RowGroups() {
		c := &runCursor{r: parquet.NewGenericRowGroupReader[event.Event](rg, propertiesTag), buf: make([]event.Event, 256)}
		defer c.r.Close()
		ok, err := c.next()
		if err != nil {
			return 0, err
		}
		if ok {
			h.cs = append(h.cs, c)
		}
	}
	heap.Init(h)
	batch := make([]event.Event, 0, readBatch)
	var n int64
	for h.Len() > 0 {
		c := h.cs[0]
		batch = append(batch, c.buf[c.i])
		c.i++
		ok := true
		if c.i == c.n {
			if ok, err = c.next(); err != nil {
				return n, err
			}
		}
		if ok {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
		if len(batch) == cap(batch) || h.Len() == 0 {
			if err := ctx.Err(); err != nil {
				return n, err
			}
			if _, err := out.Write(batch); err != nil {
				return n, fmt.Errorf("write parquet: %w", err)
			}
			n += int64(len(batch))
			batch = batch[:0]
		}
	}
	return n, nil
}

// runCursor reads one sorted run a buffer at a time.
type runCursor struct {
	r    *parquet.GenericReader[event.Event]
	buf  []event.Event
	i, n int
}

// next refills the buffer; false when the run is exhausted.
func (c *runCursor) next() (bool, error) {
	clear(c.buf)
	n, err := c.r.Read(c.buf)
	c.i, c.n = 0, n
	if n > 0 {
		return true, nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return false, nil
	}
	return false, fmt.Errorf("read sorted run: %w", err)
}

type runHeap struct{ cs []*runCursor }

func (h *runHeap) Len() int { return len(h.cs) }
func (h *runHeap) Less(i, j int) bool {
	return lessEvent(&h.cs[i].buf[h.cs[i].i], &h.cs[j].buf[h.cs[j].i]) < 0
}
func (h *runHeap) Swap(i, j int) { h.cs[i], h.cs[j] = h.cs[j], h.cs[i] }
func (h *runHeap) Push(x any)    { h.cs = append(h.cs, x.(*runCursor)) }
func (h *runHeap) Pop() any {
	c := h.cs[len(h.cs)-1]
	h.cs = h.cs[:len(h.cs)-1]
	return c
}

// readRows streams every row of a data file to fn, len(buf) rows at a
// time, and returns how many.
func readRows(ctx context.Context, name string, buf []event.Event, fn func([]event.Event) error) (int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipBloomFilters(true))
	if err != nil {
		return 0, fmt.Errorf("%s is not a readable Parquet file (move it aside): %w", name, err)
	}
	var total int64
	for _, rg := range pf.RowGroups() {
		r := parquet.NewGenericRowGroupReader[event.Event](rg, propertiesTag)
		for {
			if err := ctx.Err(); err != nil {
				r.Close()
				return total, err
			}
			clear(buf)
			n, err := r.Read(buf)
			if n > 0 {
				if ferr := fn(buf[:n]); ferr != nil {
					r.Close()
					return total, ferr
				}
				total += int64(n)
			}
			if errors.Is(err, io.EOF) || (err == nil && n == 0) {
				break
			}
			if err != nil {
				r.Close()
				return total, fmt.Errorf("read %s: %w", name, err)
			}
		}
		r.Close()
	}
	return total, nil
}

// removeStaleTemps deletes temporary files older than age: leftovers of
// writers or compactions that crashed before their rename.
func removeStaleTemps(part string, age time.Duration) (int, error) {
	entries, err := os.ReadDir(part)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), tmpExt) {
			continue
		}
		info, err := e.Info()
		if err != nil || time.Since(info.ModTime()) < age {
			continue
		}
		if err := os.Remove(filepath.Join(part, e.Name())); err == nil {
			n++
		}
	}
	return n, nil
}
