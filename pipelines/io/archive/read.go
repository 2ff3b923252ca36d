package archive

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"

	"github.com/footfall/footfall/internal/event"
)

// Query selects events: event time in [From, To) and, when Merchants is not
// empty, one of those merchants.
type Query struct {
	From, To  time.Time
	Merchants []string
}

// Validate reports whether q is usable.
func (q Query) Validate() error {
	if q.From.IsZero() || q.To.IsZero() || !q.From.Before(q.To) {
		return fmt.Errorf("archive: the time range [%s, %s) is empty; from must be before to", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))
	}
	return nil
}

// filter is a Query compiled for row checks.
type filter struct {
	from, to  int64 // Unix µs
	merchants map[string]bool
	lo, hi    string // smallest and largest merchant asked for
}

func (q Query) filter() filter {
	f := filter{from: q.From.UnixMicro(), to: q.To.UnixMicro()}
	if len(q.Merchants) > 0 {
		f.merchants = map[string]bool{}
		for _, m := range q.Merchants {
			f.merchants[m] = true
		}
		ms := slices.Sorted(slices.Values(q.Merchants))
		f.lo, f.hi = ms[0], ms[len(ms)-1]
	}
	return f
}

func (f *filter) match(e *event.Event) bool {
	return e.EventTime >= f.from && e.EventTime < f.to && (f.merchants == nil || f.merchants[e.MerchantID])
}

// Files lists the data files of the hours that overlap [from, to), in
// partition order and, within an hour, in name (creation) order. Hours with
// no directory have no events. It fails when dir is not an archive
// directory.
func Files(dir string, from, to time.Time) ([]string, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("archive.Files: cannot read the archive at %s (is --archive-dir right?): %w", dir, err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("archive.Files: %s is not a directory", dir)
	}
	first := from.UTC().Truncate(time.Hour)
	days, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("archive.Files: %w", err)
	}
	var out []string
	for _, d := range days {
		day, ok := strings.CutPrefix(d.Name(), "dt=")
		if !ok || !d.IsDir() {
			continue
		}
		dt, err := time.Parse("2006-01-02", day)
		if err != nil || !dt.Before(to) || !dt.Add(24*time.Hour).After(first) {
			continue
		}
		hours, err := os.ReadDir(filepath.Join(dir, d.Name()))
		if err != nil {
			return nil, fmt.Errorf("archive.Files: %w", err)
		}
		for _, h := range hours {
			hh, ok := strings.CutPrefix(h.Name(), "hour=")
			if !ok || !h.IsDir() {
				continue
			}
			ht, err := time.Parse("2006-01-02 15", day+" "+hh)
			if err != nil || ht.Before(first) || !ht.Before(to) {
				continue
			}
			names, err := partitionFiles(filepath.Join(dir, d.Name(), h.Name()))
			if err != nil {
				return nil, fmt.Errorf("archive.Files: %w", err)
			}
			out = append(out, names...)
		}
	}
	return out, nil
}

// partitionFiles lists the data files of one partition directory, sorted.
func partitionFiles(part string) ([]string, error) {
	entries, err := os.ReadDir(part)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if n := e.Name(); e.Type().IsRegular() && strings.HasSuffix(n, fileExt) && !strings.HasPrefix(n, ".") {
			out = append(out, filepath.Join(part, n))
		}
	}
	sort.Strings(out)
	return out, nil
}

// Scan calls fn for every archived event matching q, file by file and row
// group by row group, so memory stays bounded whatever the range. Events
// are not deduplicated: an event written twice (a redelivered message, a
// compaction interrupted by a crash) is seen twice.
func Scan(ctx context.Context, dir string, q Query, fn func(*event.Event) error) error {
	if err := q.Validate(); err != nil {
		return err
	}
	files, err := Files(dir, q.From, q.To)
	if err != nil {
		return err
	}
	for _, name := range files {
		if err := ReadFile(ctx, name, q, fn); err != nil {
			return err
		}
	}
	return nil
}

// readBatch is how many rows ReadFile decodes at a time.
const readBatch = 512

// ReadFile calls fn for every event of one data file that matches q. It
// skips row groups whose statistics exclude q and decodes the rest
// readBatch rows at a time. Errors name the file.
func ReadFile(ctx context.Context, name string, q Query, fn func(*event.Event) error) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("archive: open %s (was the hour compacted while being read? run again): %w", name, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("archive: %s: %w", name, err)
	}
	pf, err := parquet.OpenFile(f, st.Size(), parquet.SkipBloomFilters(true))
	if err != nil {
		return fmt.Errorf("archive: %s is not a readable Parquet file (move it aside and reseal the hour from another copy): %w", name, err)
	}
	flt := q.filter()
	cols := columnIndexes(pf.Schema())
	buf := make([]event.Event, readBatch)
	for i, rg := range pf.RowGroups() {
		if !mayMatch(pf.Metadata().RowGroups[i].Columns, cols, &flt) {
			continue
		}
		if err := readRowGroup(ctx, rg, &flt, buf, fn); err != nil {
			return fmt.Errorf("archive: read %s row group %d: %w", name, i, err)
		}
	}
	return nil
}

func readRowGroup(ctx context.Context, rg parquet.RowGroup, flt *filter, buf []event.Event, fn func(*event.Event) error) error {
	r := parquet.NewGenericRowGroupReader[event.Event](rg, propertiesTag)
	defer r.Close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		clear(buf)
		n, err := r.Read(buf)
		for i := range buf[:n] {
			if flt.match(&buf[i]) {
				if err := fn(&buf[i]); err != nil {
					return err
				}
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
	}
}

// statCols are the leaf column indexes used to prune row groups.
type statCols struct{ eventTime, merchant int }

func columnIndexes(s *parquet.Schema) statCols {
	c := statCols{eventTime: -1, merchant: -1}
	for i, path := range s.Columns() {
		switch strings.Join(path, ".") {
		case "event_time":
			c.eventTime = i
		case "merchant_id":
			c.merchant = i
		}
	}
	return c
}

// mayMatch reports whether a row group's column statistics leave room for
// rows matching flt. Missing statistics never exclude a row group.
func mayMatch(chunks []format.ColumnChunk, cols statCols, flt *filter) bool {
	if cols.eventTime >= 0 && cols.eventTime < len(chunks) {
		st := chunks[cols.eventTime].MetaData.Statistics
		if len(st.MinValue) == 8 && len(st.MaxValue) == 8 {
			lo := int64(binary.LittleEndian.Uint64(st.MinValue))
			hi := int64(binary.LittleEndian.Uint64(st.MaxValue))
			if hi < flt.from || lo >= flt.to {
				return false
			}
		}
	}
	if flt.merchants != nil && cols.merchant >= 0 && cols.merchant < len(chunks) {
		st := chunks[cols.merchant].MetaData.Statistics
		if st.MinValue != nil && st.MaxValue != nil {
			if string(st.MaxValue) < flt.lo || string(st.MinValue) > flt.hi {
				return false
			}
		}
	}
	return true
}
