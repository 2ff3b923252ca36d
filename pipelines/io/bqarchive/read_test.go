package bqarchive

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"reflect"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/bigquery/storage/apiv1/storagepb"
	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/footfall/footfall/internal/event"
)

func TestRowRestriction(t *testing.T) {
	from := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	to := from.Add(3 * time.Hour)
	tests := []struct {
		name      string
		merchants []string
		want      string
		wantErr   bool
	}{
		{"all merchants", nil,
			"event_time >= CAST('2026-11-26 10:00:00+00' AS TIMESTAMP) AND event_time < CAST('2026-11-26 13:00:00+00' AS TIMESTAMP)", false},
		{"some merchants", []string{"a", "shop_2"},
			"event_time >= CAST('2026-11-26 10:00:00+00' AS TIMESTAMP) AND event_time < CAST('2026-11-26 13:00:00+00' AS TIMESTAMP) AND merchant_id IN ('a', 'shop_2')", false},
		{"an injection attempt is refused", []string{"a') OR TRUE OR ('"}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RowRestriction(from, to, tc.merchants)
			if (err != nil) != tc.wantErr {
				t.Fatalf("RowRestriction error = %v, want error %v", err, tc.wantErr)
			}
			if got != tc.want {
				t.Errorf("RowRestriction =\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
	if _, err := RowRestriction(to, from, nil); err == nil {
		t.Error("RowRestriction accepted an empty range")
	}
}

// arrowSchema is the Arrow schema BigQuery sends for the archive table:
// TIMESTAMP as timestamp[us, UTC], INTEGER as int64, STRING and JSON as utf8.
func arrowSchema() *arrow.Schema {
	var fields []arrow.Field
	for _, c := range columns {
		var dt arrow.DataType
		switch c.typ {
		case bigquery.TimestampFieldType:
			dt = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
		case bigquery.IntegerFieldType:
			dt = arrow.PrimitiveTypes.Int64
		default:
			dt = arrow.BinaryTypes.String
		}
		fields = append(fields, arrow.Field{Name: c.name, Type: dt, Nullable: !c.required})
	}
	return arrow.NewSchema(fields, nil)
}

// arrowRecord builds a record batch of events; zero optional fields are NULL.
func arrowRecord(t testing.TB, s *arrow.Schema, events []event.Event) arrow.Record {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, s)
	defer b.Release()
	for _, e := range events {
		v := reflect.ValueOf(e)
		for i, c := range columns {
			f := v.Field(c.index)
			if !c.required && f.IsZero() {
				b.Field(i).AppendNull()
				continue
			}
			switch fb := b.Field(i).(type) {
			case *array.TimestampBuilder:
				fb.Append(arrow.Timestamp(f.Int()))
			case *array.Int64Builder:
				fb.Append(f.Int())
			case *array.StringBuilder:
				fb.Append(f.String())
			}
		}
	}
	return b.NewRecord()
}

// ipcMessages returns the serialised schema message and one serialised
// record batch message per record, the way the Storage Read API sends them.
func ipcMessages(t testing.TB, s *arrow.Schema, recs ...arrow.Record) ([]byte, [][]byte) {
	t.Helper()
	const eos = 8 // continuation marker and a zero length
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(s))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	schema := append([]byte(nil), buf.Bytes()[:buf.Len()-eos]...)
	var batches [][]byte
	for _, r := range recs {
		buf.Reset()
		w := ipc.NewWriter(&buf, ipc.WithSchema(s))
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		batches = append(batches, append([]byte(nil), buf.Bytes()[len(schema):buf.Len()-eos]...))
	}
	return schema, batches
}

// fakeRead is an in-process BigQuery Storage Read API: one session whose
// streams each serve some record batches, with offsets and injected
// interruptions.
type fakeRead struct {
	storagepb.UnimplementedBigQueryReadServer
	schema  []byte
	streams map[string][][]byte // stream name → batches
	rows    map[string][]int64  // rows per batch
	// failAfter, when set for a stream, interrupts its first ReadRows
	// with Unavailable after that many batches.
	failAfter map[string]int

	mu       sync.Mutex
	requests []*storagepb.CreateReadSessionRequest
	offsets  map[string][]int64
}

func (f *fakeRead) CreateReadSession(_ context.Context, req *storagepb.CreateReadSessionRequest) (*storagepb.ReadSession, error) {
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.mu.Unlock()
	sess := &storagepb.ReadSession{
		Name:                       "projects/p/locations/us/sessions/s1",
		Table:                      req.GetReadSession().GetTable(),
		DataFormat:                 storagepb.DataFormat_ARROW,
		Schema:                     &storagepb.ReadSession_ArrowSchema{ArrowSchema: &storagepb.ArrowSchema{SerializedSchema: f.schema}},
		EstimatedTotalBytesScanned: 12345,
	}
	for name := range f.streams {
		sess.Streams = append(sess.Streams, &storagepb.ReadStream{Name: name})
	}
	return sess, nil
}

func (f *fakeRead) ReadRows(req *storagepb.ReadRowsRequest, srv storagepb.BigQueryRead_ReadRowsServer) error {
	name := req.GetReadStream()
	f.mu.Lock()
	if f.offsets == nil {
		f.offsets = map[string][]int64{}
	}
	f.offsets[name] = append(f.offsets[name], req.GetOffset())
	failAfter, fail := f.failAfter[name]
	if fail {
		delete(f.failAfter, name)
	}
	f.mu.Unlock()
	var at int64 // rows before the current batch
	sent := 0
	for i, b := range f.streams[name] {
		n := f.rows[name][i]
		if at < req.GetOffset() { // whole batches only, as the fake's offsets fall on batch bounds
			at += n
			continue
		}
		if fail && sent == failAfter {
			return status.Error(codes.Unavailable, "stream interrupted")
		}
		if err := srv.Send(&storagepb.ReadRowsResponse{RowCount: n,
			Rows: &storagepb.ReadRowsResponse_ArrowRecordBatch{ArrowRecordBatch: &storagepb.ArrowRecordBatch{SerializedRecordBatch: b}}}); err != nil {
			return err
		}
		at += n
		sent++
	}
	return nil
}

func startFakeRead(t testing.TB, f *fakeRead) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	storagepb.RegisterBigQueryReadServer(srv, f)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// Read creates one read session with the range's row restriction and the
// event columns, reads every stream (in parallel, through Prism), resumes
// an interrupted stream at its offset, and emits each row once, decoded.
func TestReadThroughStorageReadAPI(t *testing.T) {
	s := arrowSchema()
	base := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	var all []event.Event
	for i := range 9 {
		e := fullEvent()
		e.ID = fmt.Sprintf("e%d", i)
		e.EventTime = base.Add(time.Duration(i) * time.Minute).UnixMicro()
		if i%2 == 0 {
			e.UserID, e.Properties, e.RevenueMinor, e.Currency = "", "", 0, "" // NULLs
		}
		all = append(all, e)
	}
	var recs []arrow.Record
	for i := 0; i < len(all); i += 3 {
		recs = append(recs, arrowRecord(t, s, all[i:i+3]))
	}
	schema, batches := ipcMessages(t, s, recs...)
	f := &fakeRead{schema: schema,
		streams:   map[string][][]byte{"stream-a": batches[:2], "stream-b": batches[2:]},
		rows:      map[string][]int64{"stream-a": {3, 3}, "stream-b": {3}},
		failAfter: map[string]int{"stream-a": 1},
	}
	opts := Options{Project: "my-proj", Dataset: "footfall", Table: "events", Endpoint: startFakeRead(t, f)}

	var want []any
	for _, e := range all {
		want = append(want, describe(beam.EventTime(e.EventTime/1000), e))
	}
	p, sc := beam.NewPipelineWithRoot()
	got := beam.ParDo(sc, describe, Read(sc, opts, base, base.Add(time.Hour), []string{"shop-1"}))
	passert.Equals(sc, got, want...)
	if err := ptest.Run(p); err != nil {
		t.Fatalf("read: %v", err)
	}

	if len(f.requests) != 1 {
		t.Fatalf("%d read sessions created, want 1", len(f.requests))
	}
	req := f.requests[0]
	wantRestriction, _ := RowRestriction(base, base.Add(time.Hour), []string{"shop-1"})
	ro := req.GetReadSession().GetReadOptions()
	if req.GetParent() != "projects/my-proj" || req.GetReadSession().GetTable() != "projects/my-proj/datasets/footfall/tables/events" ||
		req.GetReadSession().GetDataFormat() != storagepb.DataFormat_ARROW || ro.GetRowRestriction() != wantRestriction ||
		!reflect.DeepEqual(ro.GetSelectedFields(), Columns()) || req.GetMaxStreamCount() != 64 {
		t.Errorf("CreateReadSession request = %v", req)
	}
	if got := f.offsets["stream-a"]; !reflect.DeepEqual(got, []int64{0, 3}) {
		t.Errorf("stream-a was read from offsets %v, want [0 3] (resumed after its first batch)", got)
	}
}
