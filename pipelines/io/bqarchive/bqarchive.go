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
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/gcperr"
	"github.com/footfall/footfall/pipelines/internal/counters"
	// The Beam coder of event.Event is registered there.
	_ "github.com/footfall/footfall/pipelines/transforms"
)

func init() {
	register.DoFn2x1[context.Context, event.Event, error](&writeFn{})
	register.DoFn2x1[context.Context, DeadLetter, error](&deadLetterFn{})
	register.DoFn4x0[context.Context, []byte, func(beam.EventTime, event.Event), func(DeadLetter)](&decodeFn{})
	register.Emitter2[beam.EventTime, event.Event]()
	register.Emitter1[DeadLetter]()
}

// Counters, each a Beam counter (namespace footfall; on Dataflow also the
// Cloud Monitoring metric dataflow.googleapis.com/job/user_counter with
// metric_name = the name) and a process counter footfall_<name>_total.
var (
	rowsWritten    = counters.New("bigquery_rows_written", "rows appended to the BigQuery archive table")
	appendErrors   = counters.New("bigquery_append_errors", "BigQuery Storage Write API appends that failed and were retried")
	rowsRejected   = counters.New("bigquery_rows_rejected", "rows BigQuery rejected (dead-lettered; archived again without properties where that was the cause)")
	deadLetters    = counters.New("archive_dead_letters", "messages written to the dead-letter table: undecodable, or rejected by BigQuery")
	eventsArchived = counters.New("archive_events_decoded", "Pub/Sub messages the Dataflow archive step decoded into events")
	rowsRead       = counters.New("bigquery_rows_read", "archive rows read through the BigQuery Storage Read API")
)

// Options name the archive table and tune the writer and the reader.
type Options struct {
	Project, Dataset, Table string
	// BatchRows is the most rows one AppendRows request carries (default
	// 500); a bundle's rows are flushed at its end in any case.
	BatchRows int
	// MaxAttempts bounds the tries of one batch before the bundle fails
	// and the runner retries it (default 5). Permanent errors
	// (gcperr.Permanent: permission denied, table not found, ...) fail the
	// bundle at once, logged as errors.
	MaxAttempts int
	// MaxStreams bounds the parallel streams of one Storage Read API read
	// session (default 64; BigQuery may create fewer).
	MaxStreams int
	// Endpoint, when set, is the host:port of a BigQuery Storage API
	// without TLS or credentials: tests point it at an in-process fake.
	Endpoint string
}

var (
	projectRE = regexp.MustCompile(`^[a-z][a-z0-9.:-]{3,62}[a-z0-9]$`)
	nameRE    = regexp.MustCompile(`^[A-Za-z0-9_]+$`)
)

// Validate reports the first problem with o. Names are checked because
// table references are spliced into query text and row restrictions.
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
	if o.MaxStreams <= 0 {
		o.MaxStreams = 64
	}
	return o
}

// AppendsTable and DeadLettersTable name the side tables.
func (o Options) AppendsTable() string     { return o.Table + AppendsSuffix }
func (o Options) DeadLettersTable() string { return o.Table + DeadLettersSuffix }

// EnsureTable creates the archive table (TableMetadata) and its appends and
// dead-letter tables unless they exist. In production Terraform creates
// them; tests and new environments use this.
func EnsureTable(ctx context.Context, c *bigquery.Client, dataset, table string) error {
	for _, t := range []struct {
		name string
		md   *bigquery.TableMetadata
	}{{table, TableMetadata()}, {table + AppendsSuffix, AppendsTableMetadata()}, {table + DeadLettersSuffix, DeadLettersTableMetadata()}} {
		ref := c.Dataset(dataset).Table(t.name)
		if _, err := ref.Metadata(ctx); err == nil {
			continue
		}
		if err := ref.Create(ctx, t.md); err != nil {
			return fmt.Errorf("bqarchive: create table %s.%s: %w", dataset, t.name, err)
		}
	}
	return nil
}

// DeadLetter is a message the archive could not take as it was.
type DeadLetter struct {
	// Stage is where it failed: StageDecode or StageBigQuery.
	Stage  string
	Reason string
	// Payload is the message body (StageDecode) or the event as JSON
	// (StageBigQuery).
	Payload    []byte
	MerchantID string
	EventID    string
	// ArchivedWithoutProperties is set when the event is in the archive
	// with its properties left out (they were what BigQuery rejected).
	ArchivedWithoutProperties bool
	// At is when it was dead-lettered (Unix µs).
	At int64
}

// Dead-letter stages.
const (
	StageDecode   = "decode"
	StageBigQuery = "bigquery"
)

// Archive is the Dataflow edge of the streaming job: it decodes the
// Pub/Sub message bodies (PCollection<[]byte>), appends every event to the
// archive table (Write), writes the messages that do not decode to the
// dead-letter table, and returns the events (PCollection<event.Event>,
// timestamped with their event time) for the metrics. Nothing is dropped
// silently: an event either reaches the archive or the dead-letter table
// (and the counter archive_dead_letters, which an alert watches).
func Archive(s beam.Scope, opts Options, msgs beam.PCollection) beam.PCollection {
	s = s.Scope("bqarchive.Archive")
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	events, dead := beam.ParDo2(s, &decodeFn{}, msgs)
	Write(s, opts, events)
	opts = opts.withDefaults()
	beam.ParDo0(s.Scope("DeadLetters"), &deadLetterFn{Project: opts.Project, Dataset: opts.Dataset, Table: opts.DeadLettersTable(),
		MaxAttempts: opts.MaxAttempts}, dead)
	return events
}

type decodeFn struct{}

func (fn *decodeFn) ProcessElement(ctx context.Context, b []byte, emit func(beam.EventTime, event.Event), dead func(DeadLetter)) {
	e, err := event.Decode(b)
	if err != nil {
		deadLetters.Inc(ctx, 1)
		dead(DeadLetter{Stage: StageDecode, Reason: err.Error(), Payload: b, At: time.Now().UnixMicro()})
		return
	}
	eventsArchived.Inc(ctx, 1)
	emit(beam.EventTime(e.EventTime/1000), e)
}

// Write appends every event of events (PCollection<event.Event>) to the
// archive table with the Storage Write API's default stream, and after
// each successful append one row per event hour to the appends table.
// Rows are batched per bundle; a batch that fails is retried with backoff,
// then the bundle fails (the runner retries it). Rows BigQuery rejects are
// taken out of the batch and dead-lettered, and appended again without
// their properties, the one free-form column (JSON nested too deep, a
// number out of range), so the rest of the batch — other merchants'
// events — proceeds. Delivery is at least once: a retried batch may land
// twice, and readers deduplicate by (merchant, event id).
func Write(s beam.Scope, opts Options, events beam.PCollection) {
	s = s.Scope("bqarchive.Write")
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	opts = opts.withDefaults()
	beam.ParDo0(s, &writeFn{Project: opts.Project, Dataset: opts.Dataset, Table: opts.Table,
		BatchRows: opts.BatchRows, MaxAttempts: opts.MaxAttempts}, events)
}

// pendingRow is one buffered event and its encoded row.
type pendingRow struct {
	e   event.Event
	row []byte
	// stripped is set on the copy appended again without properties.
	stripped bool
}

type writeFn struct {
	Project, Dataset, Table string
	BatchRows, MaxAttempts  int

	release                      func() error
	events, appends, deadLetters appender
	codec                        *rowCodec
	pending                      []pendingRow
	bytes                        int
	now                          func() time.Time
}

// maxRequestBytes keeps an AppendRows request under the API's 10 MB limit.
const maxRequestBytes = 8 << 20

func (fn *writeFn) Setup(ctx context.Context) error {
	codec, err := newRowCodec()
	if err != nil {
		return err
	}
	c, release, err := acquireWriteClient(fn.Project)
	if err != nil {
		return err
	}
	fn.release = release
	open := func(table string, md descriptorSource) (appender, error) {
		return openStream(ctx, c, fn.Project, fn.Dataset, table, md)
	}
	if fn.events, err = open(fn.Table, codec); err == nil {
		if fn.appends, err = open(fn.Table+AppendsSuffix, appendsCodec{}); err == nil {
			fn.deadLetters, err = open(fn.Table+DeadLettersSuffix, deadLetterCodec{})
		}
	}
	if err != nil {
		fn.Teardown()
		return err
	}
	fn.codec, fn.now = codec, time.Now
	return nil
}

func (fn *writeFn) Teardown() error {
	var errs []error
	for _, a := range []appender{fn.events, fn.appends, fn.deadLetters} {
		if a != nil {
			errs = append(errs, a.Close())
		}
	}
	if fn.release != nil {
		errs = append(errs, fn.release())
		fn.release = nil
	}
	return errors.Join(errs...)
}

func (fn *writeFn) StartBundle(context.Context) error {
	fn.pending, fn.bytes = fn.pending[:0], 0
	return nil
}

func (fn *writeFn) ProcessElement(ctx context.Context, e event.Event) error {
	b, err := fn.codec.encode(&e)
	if err != nil {
		return err
	}
	if len(fn.pending) >= fn.BatchRows || fn.bytes+len(b) > maxRequestBytes {
		if err := fn.flush(ctx); err != nil {
			return err
		}
	}
	fn.pending = append(fn.pending, pendingRow{e: e, row: b})
	fn.bytes += len(b)
	return nil
}

func (fn *writeFn) FinishBundle(ctx context.Context) error {
	return fn.flush(ctx)
}

// flush appends the buffered rows (retrying with backoff, taking rejected
// rows out), then records the append in the appends table, then writes the
// rejected rows' dead letters. The appends rows follow the archive rows:
// whoever sees an appends row can read the rows it counts.
func (fn *writeFn) flush(ctx context.Context) error {
	if len(fn.pending) == 0 {
		return nil
	}
	var dead []DeadLetter
	batch := fn.pending
	failures := 0
	for {
		rows := make([][]byte, len(batch))
		for i, p := range batch {
			rows[i] = p.row
		}
		resp, err := fn.events.appendRows(ctx, rows)
		if rejected := rowErrors(resp); len(rejected) > 0 {
			// BigQuery wrote none of the batch. Take the rejected rows out
			// and send the rest again at once: this is not a failure.
			var keep []pendingRow
			for i, p := range batch {
				reason, bad := rejected[int64(i)]
				if !bad {
					keep = append(keep, p)
					continue
				}
				rowsRejected.Inc(ctx, 1)
				if p.stripped {
					// Rejected even without properties: only the dead letter
					// written for the original remains.
					slog.ErrorContext(ctx, "bqarchive: BigQuery rejected an event even without its properties; it is only in the dead-letter table",
						"merchant_id", p.e.MerchantID, "event_id", p.e.ID, "reason", reason)
					for j := range dead {
						if dead[j].MerchantID == p.e.MerchantID && dead[j].EventID == p.e.ID {
							dead[j].ArchivedWithoutProperties = false
						}
					}
					continue
				}
				payload, _ := event.Encode(&p.e)
				dl := DeadLetter{Stage: StageBigQuery, Reason: reason, Payload: payload, MerchantID: p.e.MerchantID, EventID: p.e.ID,
					At: fn.now().UnixMicro()}
				if p.e.Properties != "" {
					stripped := p.e
					stripped.Properties = ""
					b, err := fn.codec.encode(&stripped)
					if err != nil {
						return err
					}
					keep = append(keep, pendingRow{e: stripped, row: b, stripped: true})
					dl.ArchivedWithoutProperties = true
				}
				dead = append(dead, dl)
			}
			batch = keep
			if len(batch) == 0 {
				break
			}
			continue
		}
		if err == nil {
			rowsWritten.Inc(ctx, int64(len(batch)))
			break
		}
		appendErrors.Inc(ctx, 1)
		failures++
		if gcperr.Permanent(err) || failures >= fn.MaxAttempts {
			slog.ErrorContext(ctx, "bqarchive: append to the archive failed; failing the bundle (Dataflow retries it)", "err", err,
				"rows", len(batch), "attempts", failures, "permanent", gcperr.Permanent(err))
			return fmt.Errorf("bqarchive: append %d rows to %s.%s.%s failed (%d attempts): %w", len(batch), fn.Project, fn.Dataset, fn.Table, failures, err)
		}
		d := min(time.Second<<(failures-1), 30*time.Second)
		slog.WarnContext(ctx, "bqarchive: append failed; retrying", "err", err, "rows", len(batch), "attempt", failures+1, "retry_in", d.String())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
	}
	if len(batch) > 0 {
		if err := fn.appendAll(ctx, fn.appends, encodeAppends(summarise(batch, fn.now())), fn.Table+AppendsSuffix); err != nil {
			return err
		}
	}
	if len(dead) > 0 {
		rows := make([][]byte, len(dead))
		for i := range dead {
			rows[i] = encodeDeadLetter(&dead[i])
		}
		if err := fn.appendAll(ctx, fn.deadLetters, rows, fn.Table+DeadLettersSuffix); err != nil {
			return err
		}
		deadLetters.Inc(ctx, int64(len(dead)))
	}
	fn.pending, fn.bytes = fn.pending[:0], 0
	return nil
}

// appendAll appends rows to a side table, retrying transient failures.
// Their rows cannot be rejected (no free-form columns): a rejection is a
// bug and fails the bundle.
func (fn *writeFn) appendAll(ctx context.Context, a appender, rows [][]byte, table string) error {
	return appendWithRetry(ctx, a, rows, fn.MaxAttempts, fmt.Sprintf("%s.%s.%s", fn.Project, fn.Dataset, table))
}

func appendWithRetry(ctx context.Context, a appender, rows [][]byte, maxAttempts int, table string) error {
	var err error
	for attempt := range maxAttempts {
		if attempt > 0 {
			d := min(time.Second<<(attempt-1), 30*time.Second)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(d):
			}
		}
		var resp = (*appendResponse)(nil)
		resp, err = a.appendRows(ctx, rows)
		if rej := rowErrors(resp); len(rej) > 0 {
			return fmt.Errorf("bqarchive: %s rejected %d of %d rows (a bug in the row encoding): %v", table, len(rej), len(rows), rej)
		}
		if err == nil {
			return nil
		}
		appendErrors.Inc(ctx, 1)
		if gcperr.Permanent(err) {
			break
		}
	}
	slog.ErrorContext(ctx, "bqarchive: append failed; failing the bundle (Dataflow retries it)", "table", table, "rows", len(rows), "err", err)
	return fmt.Errorf("bqarchive: append %d rows to %s: %w", len(rows), table, err)
}

// summarise groups a successful append's rows by event hour.
func summarise(batch []pendingRow, at time.Time) []appendsRow {
	by := map[int64]*appendsRow{}
	var order []int64
	for _, p := range batch {
		h := time.UnixMicro(p.e.EventTime).UTC().Truncate(time.Hour).UnixMicro()
		r, ok := by[h]
		if !ok {
			r = &appendsRow{EventHour: h, AppendedAt: at.UnixMicro()}
			by[h] = r
			order = append(order, h)
		}
		r.Rows++
		r.MaxReceiveTime = max(r.MaxReceiveTime, p.e.ReceiveTime)
	}
	out := make([]appendsRow, 0, len(order))
	for _, h := range order {
		out = append(out, *by[h])
	}
	return out
}

// deadLetterFn appends dead letters to the dead-letter table.
type deadLetterFn struct {
	Project, Dataset, Table string
	MaxAttempts             int

	release func() error
	stream  appender
	rows    [][]byte
}

func (fn *deadLetterFn) Setup(ctx context.Context) error {
	c, release, err := acquireWriteClient(fn.Project)
	if err != nil {
		return err
	}
	fn.release = release
	if fn.stream, err = openStream(ctx, c, fn.Project, fn.Dataset, fn.Table, deadLetterCodec{}); err != nil {
		fn.Teardown()
		return err
	}
	return nil
}

func (fn *deadLetterFn) Teardown() error {
	var errs []error
	if fn.stream != nil {
		errs = append(errs, fn.stream.Close())
	}
	if fn.release != nil {
		errs = append(errs, fn.release())
		fn.release = nil
	}
	return errors.Join(errs...)
}

func (fn *deadLetterFn) StartBundle(context.Context) error {
	fn.rows = fn.rows[:0]
	return nil
}

func (fn *deadLetterFn) ProcessElement(ctx context.Context, d DeadLetter) error {
	slog.WarnContext(ctx, "bqarchive: message dead-lettered", "stage", d.Stage, "reason", d.Reason, "bytes", len(d.Payload))
	fn.rows = append(fn.rows, encodeDeadLetter(&d))
	if len(fn.rows) >= 500 {
		return fn.FinishBundle(ctx)
	}
	return nil
}

func (fn *deadLetterFn) FinishBundle(ctx context.Context) error {
	if len(fn.rows) == 0 {
		return nil
	}
	if err := appendWithRetry(ctx, fn.stream, fn.rows, fn.MaxAttempts, fmt.Sprintf("%s.%s.%s", fn.Project, fn.Dataset, fn.Table)); err != nil {
		return err
	}
	fn.rows = fn.rows[:0]
	return nil
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
