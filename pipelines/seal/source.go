package seal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/footfall/footfall/pipelines/io/archive"
	"github.com/footfall/footfall/pipelines/io/bqarchive"
	"github.com/footfall/footfall/pipelines/io/bqarchive/bqstat"
)

// Source is where a job reads archived events from.
type Source interface {
	// Read is the batch source of the events with event time in
	// [from, to) of the merchants (all when empty): PCollection<event.Event>.
	Read(s beam.Scope, from, to time.Time, merchants []string) beam.PCollection
	// Check reports, before anything runs, whether the source is readable.
	Check(ctx context.Context) error
	// Stat summarises what the archive holds for the hour; ok is false when
	// the source cannot tell cheaply (the sealer then reseals by schedule
	// only).
	Stat(ctx context.Context, hour time.Time) (st archive.HourStat, ok bool, err error)
	// Prepare readies an hour for sealing (compacts a local archive's
	// small files). Only the sealer calls it: one compactor per archive.
	Prepare(ctx context.Context, hour time.Time) error
	// Dataflow reports whether the source can be read on Dataflow.
	Dataflow() bool
	String() string
}

// ParseSource reads --source: a local Parquet archive directory, or
// bq:PROJECT.DATASET.TABLE for the BigQuery archive table.
func ParseSource(spec string) (Source, error) {
	if spec == "" {
		return nil, errors.New("seal: --source is required: a local archive directory (e.g. data/archive) or bq:PROJECT.DATASET.TABLE")
	}
	if t, ok := strings.CutPrefix(spec, "bq:"); ok {
		o, err := bqarchive.ParseTable(t)
		if err != nil {
			return nil, fmt.Errorf("seal: --source %s: %w", spec, err)
		}
		return BigQuery{Options: o, stats: &bqstat.Stats{Options: o}}, nil
	}
	return Dir(spec), nil
}

// Dir is a local Parquet archive (pipelines/io/archive).
type Dir string

func (d Dir) Read(s beam.Scope, from, to time.Time, merchants []string) beam.PCollection {
	return archive.Read(s, string(d), from, to, merchants)
}

func (d Dir) Check(context.Context) error {
	st, err := os.Stat(string(d))
	if err != nil {
		return fmt.Errorf("seal: cannot read the archive %s (is --source the streaming job's --archive-dir?): %w", string(d), err)
	}
	if !st.IsDir() {
		return fmt.Errorf("seal: the archive %s is not a directory", string(d))
	}
	if _, err := os.ReadDir(string(d)); err != nil {
		return fmt.Errorf("seal: cannot list the archive %s: %w", string(d), err)
	}
	return nil
}

func (d Dir) Stat(_ context.Context, hour time.Time) (archive.HourStat, bool, error) {
	st, err := archive.Stat(string(d), hour)
	return st, err == nil, err
}

func (d Dir) Prepare(ctx context.Context, hour time.Time) error {
	_, err := archive.Compact(ctx, string(d), hour)
	return err
}

func (d Dir) Dataflow() bool { return false }

func (d Dir) String() string { return string(d) }

// BigQuery is the BigQuery archive table (pipelines/io/bqarchive). Its
// Stat reads the appends table beside it (bqstat.Stats).
type BigQuery struct {
	bqarchive.Options
	stats *bqstat.Stats
}

func (b BigQuery) Read(s beam.Scope, from, to time.Time, merchants []string) beam.PCollection {
	return bqarchive.Read(s, b.Options, from, to, merchants)
}

// Check validates the names; whether the table is readable shows when the
// job's read session is created (the credentials are the workers').
func (b BigQuery) Check(context.Context) error { return b.Options.Validate() }

func (b BigQuery) Stat(ctx context.Context, hour time.Time) (archive.HourStat, bool, error) {
	if b.stats == nil {
		return archive.HourStat{}, false, nil
	}
	st, err := b.stats.Stat(ctx, hour)
	return st, err == nil, err
}

func (b BigQuery) Prepare(context.Context, time.Time) error { return nil }

func (b BigQuery) Dataflow() bool { return true }

func (b BigQuery) String() string {
	return fmt.Sprintf("bq:%s.%s.%s", b.Project, b.Dataset, b.Table)
}
