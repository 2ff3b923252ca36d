package archive

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/parquet-go/parquet-go"
)

// HourStat summarises one hour's partition: how many rows its data files
// hold (duplicates included) and when the newest of them was written. A
// sealer compares it with what it recorded at the last seal to tell whether
// the hour received events since.
type HourStat struct {
	Hour   time.Time
	Files  int
	Rows   int64
	Newest time.Time // modification time of the newest data file
}

// Stat returns the HourStat of the hour containing hour; an hour without a
// partition has zero files and rows.
func Stat(dir string, hour time.Time) (HourStat, error) {
	hour = hour.UTC().Truncate(time.Hour)
	st := HourStat{Hour: hour}
	names, err := partitionFiles(PartitionDir(dir, hour))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("archive.Stat: %w", err)
	}
	for _, name := range names {
		f, err := os.Open(name)
		if errors.Is(err, os.ErrNotExist) {
			continue // compacted away meanwhile
		}
		if err != nil {
			return st, fmt.Errorf("archive.Stat: %w", err)
		}
		fi, err := f.Stat()
		if err == nil {
			var pf *parquet.File
			pf, err = parquet.OpenFile(f, fi.Size(), parquet.SkipBloomFilters(true), parquet.SkipPageIndex(true))
			if err == nil {
				st.Rows += pf.NumRows()
			}
		}
		f.Close()
		if err != nil {
			return st, fmt.Errorf("archive.Stat: %s: %w", name, err)
		}
		st.Files++
		if fi.ModTime().After(st.Newest) {
			st.Newest = fi.ModTime()
		}
	}
	return st, nil
}

// Hours lists the hours in [from, to) that have a partition, in order.
func Hours(dir string, from, to time.Time) ([]time.Time, error) {
	var out []time.Time
	for h := from.UTC().Truncate(time.Hour); h.Before(to); h = h.Add(time.Hour) {
		if _, err := os.Stat(PartitionDir(dir, h)); err == nil {
			out = append(out, h)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("archive.Hours: %w", err)
		}
	}
	return out, nil
}
