package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/parquet-go/parquet-go"

	"github.com/footfall/footfall/internal/event"
)

// CompactOptions tune compaction; the zero value uses the defaults.
type CompactOptions struct {
	// MaxRowsPerFile bounds the rows of a compacted file (default
	// 2,000,000). Files already that large are left alone; an hour with
	// more rows than this compacts into several files.
	MaxRowsPerFile int64
	// SortRows is how many rows are sorted in memory at a time (default
	// 100,000); sorted runs spill to temporary files and are merged.
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
		o.SortRows = 100_000
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
func (o CompactOptions) merge(ctx context.Context, w *Writer, part string, group []inputFile) (CompactStats, error) {
	st := CompactStats{}
	name := "part-" + ulid.Make().String() + fileExt
	size, err := writeDurable(w, part, name, func(f *os.File) error {
		sw := parquet.NewSortingWriter[event.Event](f, o.SortRows, writerOptions(
			parquet.MaxRowsPerRowGroup(o.RowsPerRowGroup),
			parquet.SortingWriterConfig(
				parquet.SortingColumns(parquet.Ascending("merchant_id"), parquet.Ascending("event_time")),
				parquet.SortingBuffers(parquet.NewFileBufferPool(part, ".compact-*"+tmpExt)),
			),
		)...)
		buf := make([]event.Event, readBatch)
		for _, in := range group {
			n, err := copyRows(ctx, in.name, buf, sw)
			if err != nil {
				return err
			}
			if n != in.rows {
				return fmt.Errorf("%s: read %d rows, its footer says %d", in.name, n, in.rows)
			}
			st.Rows += n
			st.InputBytes += in.size
		}
		if err := sw.Close(); err != nil {
			return fmt.Errorf("write sorted parquet: %w", err)
		}
		return nil
	})
	if err != nil {
		return CompactStats{}, err
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

// copyRows streams every row of a data file into sw and returns how many.
func copyRows(ctx context.Context, name string, buf []event.Event, sw *parquet.SortingWriter[event.Event]) (int64, error) {
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
				if _, werr := sw.Write(buf[:n]); werr != nil {
					r.Close()
					return total, fmt.Errorf("sort rows of %s: %w", name, werr)
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
