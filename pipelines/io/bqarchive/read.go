package bqarchive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"time"

	bqstorage "cloud.google.com/go/bigquery/storage/apiv1"
	"cloud.google.com/go/bigquery/storage/apiv1/storagepb"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/gcperr"
	"github.com/footfall/footfall/pipelines/internal/counters"
)

func init() {
	register.DoFn3x1[context.Context, []byte, func(ReadStream), error](&sessionFn{})
	register.DoFn3x1[context.Context, ReadStream, func(beam.EventTime, event.Event), error](&streamFn{})
	register.Emitter1[ReadStream]()
}

var readBytesEstimated = counters.New("bigquery_read_bytes_estimated", "bytes BigQuery estimated the Storage Read API sessions scan (partition and cluster pruning applied)")

// ReadStream is one stream of a Storage Read API session, with the
// session's serialised Arrow schema (each stream's batches need it).
type ReadStream struct {
	Name   string
	Schema []byte
}

// Read is a batch source of the archived events with event time in
// [from, to) and, when merchants is not empty, of those merchants:
// PCollection<event.Event>, each element timestamped with its event time.
//
// It reads through the BigQuery Storage Read API: when the pipeline runs,
// one read session with a row restriction on event_time (which prunes day
// partitions, and clustered blocks within them) and merchant_id, and only
// the columns of event.Event; its streams are reshuffled so that workers
// read them in parallel, each resuming at its offset after a transient
// error. No query job runs, nothing is staged in a destination table, and
// no result size limit applies. Events are not deduplicated.
func Read(s beam.Scope, opts Options, from, to time.Time, merchants []string) beam.PCollection {
	s = s.Scope("bqarchive.Read")
	if err := opts.Validate(); err != nil {
		panic(err)
	}
	restriction, err := RowRestriction(from, to, merchants)
	if err != nil {
		panic(err)
	}
	opts = opts.withDefaults()
	streams := beam.ParDo(s, &sessionFn{Project: opts.Project, Dataset: opts.Dataset, Table: opts.Table,
		Restriction: restriction, MaxStreams: opts.MaxStreams, Endpoint: opts.Endpoint}, beam.Impulse(s))
	streams = beam.Reshuffle(s, streams)
	return beam.ParDo(s, &streamFn{Endpoint: opts.Endpoint}, streams)
}

// RowRestriction is the Storage Read API filter of a read: event time in
// [from, to) and, when merchants is not empty, merchant_id among them.
// Merchant ids are spliced into the text, so each must be a valid one
// (event.ValidMerchantID: no quotes, no backslashes).
func RowRestriction(from, to time.Time, merchants []string) (string, error) {
	if !from.Before(to) {
		return "", fmt.Errorf("bqarchive.Read: the time range [%s, %s) is empty", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	var b strings.Builder
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05.999999") + "+00" }
	fmt.Fprintf(&b, "event_time >= CAST('%s' AS TIMESTAMP) AND event_time < CAST('%s' AS TIMESTAMP)", ts(from), ts(to))
	if len(merchants) > 0 {
		quoted := make([]string, len(merchants))
		for i, m := range merchants {
			if !event.ValidMerchantID(m) {
				return "", fmt.Errorf("bqarchive.Read: %q is not a merchant id", m)
			}
			quoted[i] = "'" + m + "'"
		}
		fmt.Fprintf(&b, " AND merchant_id IN (%s)", strings.Join(quoted, ", "))
	}
	return b.String(), nil
}

// Columns are the archive columns a read selects: every event.Event field.
func Columns() []string {
	names := make([]string, len(columns))
	for i, c := range columns {
		names[i] = c.name
	}
	return names
}

// newReadClient opens a Storage Read API client (or one on a test endpoint).
func newReadClient(ctx context.Context, endpoint string) (*bqstorage.BigQueryReadClient, error) {
	var opts []option.ClientOption
	if endpoint != "" {
		opts = append(opts, option.WithEndpoint(endpoint), option.WithoutAuthentication(),
			option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())))
	}
	c, err := bqstorage.NewBigQueryReadClient(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("bqarchive: BigQuery Storage Read client: %w", err)
	}
	return c, nil
}

// sessionFn creates the read session and emits its streams.
type sessionFn struct {
	Project, Dataset, Table string
	Restriction             string
	MaxStreams              int
	Endpoint                string
}

func (fn *sessionFn) ProcessElement(ctx context.Context, _ []byte, emit func(ReadStream)) error {
	c, err := newReadClient(ctx, fn.Endpoint)
	if err != nil {
		return err
	}
	defer c.Close()
	table := fmt.Sprintf("projects/%s/datasets/%s/tables/%s", fn.Project, fn.Dataset, fn.Table)
	sess, err := c.CreateReadSession(ctx, &storagepb.CreateReadSessionRequest{
		Parent: "projects/" + fn.Project,
		ReadSession: &storagepb.ReadSession{
			Table:      table,
			DataFormat: storagepb.DataFormat_ARROW,
			ReadOptions: &storagepb.ReadSession_TableReadOptions{
				SelectedFields: Columns(),
				RowRestriction: fn.Restriction,
			},
		},
		MaxStreamCount: int32(fn.MaxStreams),
	})
	if err != nil {
		return fmt.Errorf("bqarchive: create a read session on %s where %s (the worker account needs roles/bigquery.readSessionUser and read access to the table): %w",
			table, fn.Restriction, err)
	}
	readBytesEstimated.Inc(ctx, sess.GetEstimatedTotalBytesScanned())
	slog.InfoContext(ctx, "bqarchive: read session created", "table", table, "restriction", fn.Restriction,
		"streams", len(sess.GetStreams()), "estimated_bytes_scanned", sess.GetEstimatedTotalBytesScanned(),
		"estimated_rows", sess.GetEstimatedRowCount())
	schema := sess.GetArrowSchema().GetSerializedSchema()
	for _, st := range sess.GetStreams() {
		emit(ReadStream{Name: st.GetName(), Schema: schema})
	}
	return nil
}

// streamFn reads one stream to its end.
type streamFn struct {
	Endpoint string

	client *bqstorage.BigQueryReadClient
}

func (fn *streamFn) Setup(ctx context.Context) error {
	c, err := newReadClient(ctx, fn.Endpoint)
	if err != nil {
		return err
	}
	fn.client = c
	return nil
}

func (fn *streamFn) Teardown() error {
	if fn.client != nil {
		return fn.client.Close()
	}
	return nil
}

// maxResumes bounds how often a stream is reopened after a transient error.
const maxResumes = 10

func (fn *streamFn) ProcessElement(ctx context.Context, st ReadStream, emit func(beam.EventTime, event.Event)) error {
	dec, err := newArrowDecoder(st.Schema)
	if err != nil {
		return err
	}
	var offset int64
	for resumes := 0; ; resumes++ {
		n, err := fn.readFrom(ctx, st.Name, offset, dec, emit)
		offset += n
		rowsRead.Inc(ctx, n)
		if err == nil {
			return nil
		}
		if gcperr.Permanent(err) || resumes >= maxResumes || ctx.Err() != nil {
			return fmt.Errorf("bqarchive: read stream %s at row %d: %w", st.Name, offset, err)
		}
		slog.WarnContext(ctx, "bqarchive: read stream interrupted; resuming", "stream", st.Name, "offset", offset, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(resumes+1) * time.Second):
		}
	}
}

// readFrom reads a stream from offset until it ends (nil) or fails,
// returning the rows emitted.
func (fn *streamFn) readFrom(ctx context.Context, name string, offset int64, dec *arrowDecoder, emit func(beam.EventTime, event.Event)) (int64, error) {
	rs, err := fn.client.ReadRows(ctx, &storagepb.ReadRowsRequest{ReadStream: name, Offset: offset})
	if err != nil {
		return 0, err
	}
	var n int64
	for {
		resp, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		batch := resp.GetArrowRecordBatch().GetSerializedRecordBatch()
		if len(batch) == 0 {
			continue
		}
		events, err := dec.decode(batch)
		if err != nil {
			return n, status.Error(codes.InvalidArgument, err.Error())
		}
		for _, e := range events {
			emit(beam.EventTime(e.EventTime/1000), e)
		}
		n += int64(len(events))
	}
}

// arrowDecoder turns the Arrow record batches of a session into events, by
// column name (TIMESTAMP as Unix µs, NULL as the zero value).
type arrowDecoder struct {
	schemaBytes []byte
	schema      *arrow.Schema
}

func newArrowDecoder(serializedSchema []byte) (*arrowDecoder, error) {
	r, err := ipc.NewReader(bytes.NewReader(serializedSchema))
	if err != nil {
		return nil, fmt.Errorf("bqarchive: read session's Arrow schema: %w", err)
	}
	defer r.Release()
	return &arrowDecoder{schemaBytes: serializedSchema, schema: r.Schema()}, nil
}

func (d *arrowDecoder) decode(batch []byte) ([]event.Event, error) {
	r, err := ipc.NewReader(io.MultiReader(bytes.NewReader(d.schemaBytes), bytes.NewReader(batch)), ipc.WithSchema(d.schema))
	if err != nil {
		return nil, fmt.Errorf("bqarchive: Arrow record batch: %w", err)
	}
	defer r.Release()
	var out []event.Event
	for r.Next() {
		rec := r.Record()
		base := len(out)
		out = append(out, make([]event.Event, rec.NumRows())...)
		for ci, f := range rec.Schema().Fields() {
			c, ok := byName[f.Name]
			if !ok {
				continue
			}
			if err := setColumn(out[base:], c, rec.Column(ci)); err != nil {
				return nil, err
			}
		}
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("bqarchive: Arrow record batch: %w", err)
	}
	return out, nil
}

// setColumn copies one Arrow column into the events' field.
func setColumn(events []event.Event, c column, col arrow.Array) error {
	for i := range events {
		if col.IsNull(i) {
			continue
		}
		f := reflect.ValueOf(&events[i]).Elem().Field(c.index)
		switch a := col.(type) {
		case *array.Timestamp:
			unit := a.DataType().(*arrow.TimestampType).Unit
			f.SetInt(a.Value(i).ToTime(unit).UnixMicro())
		case *array.Int64:
			f.SetInt(a.Value(i))
		case *array.String:
			f.SetString(a.Value(i))
		case *array.LargeString:
			f.SetString(a.Value(i))
		default:
			return fmt.Errorf("bqarchive: column %s: unexpected Arrow type %s", c.name, col.DataType())
		}
	}
	return nil
}
