package bqarchive

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/bigquery/storage/managedwriter"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"google.golang.org/api/iterator"

	"github.com/footfall/footfall/internal/event"
	// The Beam coder of event.Event is registered there.
	_ "github.com/footfall/footfall/pipelines/transforms"
)

func init() {
	register.DoFn2x1[context.Context, event.Event, error](&writeFn{})
	register.DoFn3x1[context.Context, []byte, func(int64), error](&splitFn{})
	register.DoFn3x1[context.Context, int64, func(beam.EventTime, event.Event), error](&queryFn{})
	register.Emitter1[int64]()
	register.Emitter2[beam.EventTime, event.Event]()
}

// Counters visible in the job's metrics (namespace "footfall").
var (
	rowsWritten  = beam.NewCounter("footfall", "bigquery_rows_written")
	appendErrors = beam.NewCounter("footfall", "bigquery_append_errors")
	rowsRead     = beam.NewCounter("footfall", "bigquery_rows_read")
)

// Options name the archive table and tune the writer.
type Options struct {
	Project, Dataset, Table string
	// BatchRows is the most rows one AppendRows request carries (default
	// 500); a bundle's rows are flushed at its end in any case.
	BatchRows int
	// MaxAttempts bounds the tries of one batch before the bundle fails
	// and the runner retries it (default 5).
	MaxAttempts int
}

var (
	projectRE = regexp.MustCompile(`^[a-z][a-z0-9.:-]{3,62}[a-z0-9]$`)
	nameRE    = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
)

// Validate reports the first problem with o. Names are checked because the
// table reference is the one part of the query that cannot be a parameter.
func (o Options) Validate() error {
	switch {
	case !projectRE.MatchString(o.Project):
		return fmt.Errorf("bqarchive: project %q is not a valid project id", o.Project)
	case !nameRE.MatchString(o.Dataset):
		return fmt.Errorf("bqarchive: dataset %q must be letters, digits and underscores", o.Dataset)
	case !nameRE.MatchString(o.Table):
		return fmt.Errorf("bqarchive: table %q must be letters, digits and underscores", o.Table)
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.BatchRows <= 0 {
		o.BatchRows = 500
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 5
	}
	return o
}

// EnsureTable creates the archive table (TableMetadata) unless it exists.
// In production Terraform creates it; tests and new environments use this.
func EnsureTable(ctx context.Context, c *bigquery.Client, dataset, table string) error {
	t := c.Dataset(dataset).Table(table)
	if _, err := t.Metadata(ctx); err == nil {
		return nil
	}
	if err := t.Create(ctx, TableMetadata()); err != nil {
		return fmt.Errorf("bqarchive: create table %s.%s: %w", dataset, table, err)
	}
	return nil
}

// Write appends every event of events (PCollection<event.Event>) to the
// archive table with the Storage Write API's default stream. Rows are
// batched per bundle; a batch that fails is retried with backoff, then the
// bundle fails (the runner retries it). Delivery is at least once: a retried
// batch may land twice, and readers deduplicate by (merchant, event id).
func Write(s beam.Scope, opts Options, events beam.PCollection) {
	s = s.Scope("bqarchive.Write")
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	opts = opts.withDefaults()
	beam.ParDo0(s, &writeFn{Project: opts.Project, Dataset: opts.Dataset, Table: opts.Table,
		BatchRows: opts.BatchRows, MaxAttempts: opts.MaxAttempts}, events)
}

type writeFn struct {
	Project, Dataset, Table string
	BatchRows, MaxAttempts  int

	client *managedwriter.Client
	stream *managedwriter.ManagedStream
	codec  *rowCodec
	rows   [][]byte
	bytes  int
}

// maxRequestBytes keeps an AppendRows request under the API's 10 MB limit.
const maxRequestBytes = 8 << 20

func (fn *writeFn) Setup(ctx context.Context) error {
	codec, err := newRowCodec()
	if err != nil {
		return err
	}
	dp, err := codec.descriptor()
	if err != nil {
		return err
	}
	c, err := managedwriter.NewClient(ctx, fn.Project)
	if err != nil {
		return fmt.Errorf("bqarchive: managedwriter.NewClient: %w", err)
	}
	ms, err := c.NewManagedStream(ctx,
		managedwriter.WithDestinationTable(managedwriter.TableParentFromParts(fn.Project, fn.Dataset, fn.Table)),
		managedwriter.WithType(managedwriter.DefaultStream),
		managedwriter.WithSchemaDescriptor(dp),
		managedwriter.EnableWriteRetries(true),
	)
	if err != nil {
		c.Close()
		return fmt.Errorf("bqarchive: open the default stream of %s.%s.%s (does the table exist? see bqarchive.EnsureTable): %w", fn.Project, fn.Dataset, fn.Table, err)
	}
	fn.client, fn.stream, fn.codec = c, ms, codec
	return nil
}

func (fn *writeFn) Teardown() error {
	var errs []error
	if fn.stream != nil {
		errs = append(errs, fn.stream.Close())
	}
	if fn.client != nil {
		errs = append(errs, fn.client.Close())
	}
	return errors.Join(errs...)
}

func (fn *writeFn) StartBundle(context.Context) error {
	fn.rows, fn.bytes = fn.rows[:0], 0
	return nil
}

func (fn *writeFn) ProcessElement(ctx context.Context, e event.Event) error {
	b, err := fn.codec.encode(&e)
	if err != nil {
		return err
	}
	if len(fn.rows) >= fn.BatchRows || fn.bytes+len(b) > maxRequestBytes {
		if err := fn.flush(ctx); err != nil {
			return err
		}
	}
	fn.rows = append(fn.rows, b)
	fn.bytes += len(b)
	return nil
}

func (fn *writeFn) FinishBundle(ctx context.Context) error {
	return fn.flush(ctx)
}

// flush appends the buffered rows, retrying with backoff.
func (fn *writeFn) flush(ctx context.Context) error {
	if len(fn.rows) == 0 {
		return nil
	}
	var err error
	for attempt := range fn.MaxAttempts {
		if attempt > 0 {
			d := min(time.Second<<(attempt-1), 30*time.Second)
			slog.WarnContext(ctx, "bqarchive: append failed; retrying", "err", err, "rows", len(fn.rows), "attempt", attempt+1, "retry_in", d.String())
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
		if err = fn.append(ctx); err == nil {
			rowsWritten.Inc(ctx, int64(len(fn.rows)))
			fn.rows, fn.bytes = fn.rows[:0], 0
			return nil
		}
		appendErrors.Inc(ctx, 1)
	}
	return fmt.Errorf("bqarchive: append %d rows to %s.%s.%s failed %d times: %w", len(fn.rows), fn.Project, fn.Dataset, fn.Table, fn.MaxAttempts, err)
}

func (fn *writeFn) append(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	res, err := fn.stream.AppendRows(cctx, fn.rows)
	if err != nil {
		return err
	}
	resp, err := res.FullResponse(cctx)
	if err != nil {
		return err
	}
	if re := resp.GetRowErrors(); len(re) > 0 {
		return fmt.Errorf("%d rows rejected, first: row %d: %s", len(re), re[0].GetIndex(), re[0].GetMessage())
	}
	return nil
}

// Read is a batch source of the archived events with event time in
// [from, to) and, when merchants is not empty, of those merchants:
// PCollection<event.Event>, each element timestamped with its event time.
// The range is queried one UTC day (one partition) at a time, in parallel
// after a reshuffle. Events are not deduplicated.
func Read(s beam.Scope, opts Options, from, to time.Time, merchants []string) beam.PCollection {
	s = s.Scope("bqarchive.Read")
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	if !from.Before(to) {
		panic(fmt.Sprintf("bqarchive.Read: the time range [%s, %s) is empty", from.Format(time.RFC3339), to.Format(time.RFC3339)))
	}
	days := beam.ParDo(s, &splitFn{FromMicros: from.UnixMicro(), ToMicros: to.UnixMicro()}, beam.Impulse(s))
	days = beam.Reshuffle(s, days)
	return beam.ParDo(s, &queryFn{Project: opts.Project, Dataset: opts.Dataset, Table: opts.Table,
		FromMicros: from.UnixMicro(), ToMicros: to.UnixMicro(), Merchants: merchants}, days)
}

// splitFn emits the start (Unix µs) of every UTC day overlapping the range.
type splitFn struct {
	FromMicros, ToMicros int64
}

func (fn *splitFn) ProcessElement(_ context.Context, _ []byte, emit func(int64)) error {
	to := time.UnixMicro(fn.ToMicros)
	for d := time.UnixMicro(fn.FromMicros).UTC().Truncate(24 * time.Hour); d.Before(to); d = d.Add(24 * time.Hour) {
		emit(d.UnixMicro())
	}
	return nil
}

type queryFn struct {
	Project, Dataset, Table string
	FromMicros, ToMicros    int64
	Merchants               []string

	client *bigquery.Client
}

func (fn *queryFn) Setup(ctx context.Context) error {
	c, err := bigquery.NewClient(ctx, fn.Project)
	if err != nil {
		return fmt.Errorf("bqarchive: bigquery.NewClient: %w", err)
	}
	fn.client = c
	return nil
}

func (fn *queryFn) Teardown() error {
	if fn.client != nil {
		return fn.client.Close()
	}
	return nil
}

// ProcessElement queries one day of the range.
func (fn *queryFn) ProcessElement(ctx context.Context, day int64, emit func(beam.EventTime, event.Event)) error {
	from := time.UnixMicro(max(day, fn.FromMicros)).UTC()
	to := time.UnixMicro(min(day+int64(24*time.Hour/time.Microsecond), fn.ToMicros)).UTC()
	sql, params := buildQuery(Options{Project: fn.Project, Dataset: fn.Dataset, Table: fn.Table}, from, to, fn.Merchants)
	q := fn.client.Query(sql)
	q.Parameters = params
	it, err := q.Read(ctx)
	if err != nil {
		return fmt.Errorf("bqarchive: query %s to %s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	var row eventRow
	n := int64(0)
	for {
		err := it.Next(&row)
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return fmt.Errorf("bqarchive: read rows %s to %s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
		}
		emit(beam.EventTime(row.e.EventTime/1000), row.e)
		n++
	}
	rowsRead.Inc(ctx, n)
	return nil
}

// buildQuery returns the query reading [from, to) and, when merchants is
// not empty, only those merchants. Values are query parameters; the table
// reference, which cannot be one, comes from validated Options.
func buildQuery(o Options, from, to time.Time, merchants []string) (string, []bigquery.QueryParameter) {
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c.name
	}
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT %s\nFROM `%s.%s.%s`\nWHERE event_time >= @from AND event_time < @to", strings.Join(names, ", "), o.Project, o.Dataset, o.Table)
	params := []bigquery.QueryParameter{
		{Name: "from", Value: from.UTC()},
		{Name: "to", Value: to.UTC()},
	}
	if len(merchants) > 0 {
		b.WriteString("\n  AND merchant_id IN UNNEST(@merchants)")
		params = append(params, bigquery.QueryParameter{Name: "merchants", Value: merchants})
	}
	return b.String(), params
}

// ParseTable reads a table reference as PROJECT.DATASET.TABLE or
// PROJECT:DATASET.TABLE (the form Terraform's table_spec output gives) into
// Options with the names set and validated.
func ParseTable(spec string) (Options, error) {
	project, rest, ok := strings.Cut(spec, ":")
	if !ok {
		project, rest, ok = strings.Cut(spec, ".")
	}
	dataset, table, ok2 := strings.Cut(rest, ".")
	if !ok || !ok2 {
		return Options{}, fmt.Errorf("bqarchive: table %q: want PROJECT.DATASET.TABLE", spec)
	}
	o := Options{Project: project, Dataset: dataset, Table: table}
	return o, o.Validate()
}
