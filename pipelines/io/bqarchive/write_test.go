package bqarchive

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery/storage/apiv1/storagepb"
	"cloud.google.com/go/bigquery/storage/managedwriter"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/footfall/footfall/internal/event"
)

// fakeAppender records appended rows. reject says which rows BigQuery
// refuses (by decoded event); errs are returned by the next calls.
type fakeAppender struct {
	reject func(row []byte) (string, bool)
	errs   []error
	calls  int
	rows   [][]byte // every row written
}

func (f *fakeAppender) appendRows(_ context.Context, rows [][]byte) (*appendResponse, error) {
	f.calls++
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return nil, err
	}
	resp := &storagepb.AppendRowsResponse{}
	if f.reject != nil {
		for i, r := range rows {
			if msg, bad := f.reject(r); bad {
				resp.RowErrors = append(resp.RowErrors, &storagepb.RowError{Index: int64(i), Code: storagepb.RowError_FIELDS_ERROR, Message: msg})
			}
		}
	}
	if len(resp.RowErrors) > 0 {
		// Like BigQuery: a request with a rejected row writes nothing.
		return resp, status.Error(codes.InvalidArgument, "rows rejected")
	}
	f.rows = append(f.rows, rows...)
	return resp, nil
}

func (f *fakeAppender) Close() error { return nil }

func newTestWriteFn(t *testing.T, events, appends, dead *fakeAppender) *writeFn {
	t.Helper()
	codec, err := newRowCodec()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	return &writeFn{Project: "p-123", Dataset: "d", Table: "events", BatchRows: 500, MaxAttempts: 3,
		events: events, appends: appends, deadLetters: dead, codec: codec, now: func() time.Time { return now }}
}

func decodeRows(t *testing.T, codec *rowCodec, rows [][]byte) []event.Event {
	t.Helper()
	var out []event.Event
	for _, r := range rows {
		e, err := codec.decode(r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func decodeSide(t *testing.T, codec func() (*schemaCodec, error), rows [][]byte) []map[string]any {
	t.Helper()
	c, err := codec()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, r := range rows {
		m := dynamicpb.NewMessage(c.md)
		if err := proto.Unmarshal(r, m); err != nil {
			t.Fatal(err)
		}
		row := map[string]any{}
		fields := c.md.Fields()
		for i := range fields.Len() {
			fd := fields.Get(i)
			if m.Has(fd) {
				row[string(fd.Name())] = m.Get(fd).Interface()
			}
		}
		out = append(out, row)
	}
	return out
}

// One row BigQuery rejects (its properties are JSON nested too deep) no
// longer fails the batch: the other merchants' rows are archived, the
// rejected event is archived without its properties and dead-lettered
// with the reason and its payload, and the appends table counts what was
// written.
func TestFlushDeadLettersRejectedRows(t *testing.T) {
	codec, _ := newRowCodec()
	deep := strings.Repeat("[", 600) + strings.Repeat("]", 600)
	events := &fakeAppender{reject: func(row []byte) (string, bool) {
		e, _ := codec.decode(row)
		if strings.HasPrefix(e.Properties, "[[[") {
			return "JSON nesting depth exceeds 500", true
		}
		return "", false
	}}
	appends, dead := &fakeAppender{}, &fakeAppender{}
	fn := newTestWriteFn(t, events, appends, dead)
	ctx := context.Background()
	hour := time.Date(2026, 11, 26, 11, 0, 0, 0, time.UTC)
	var in []event.Event
	for i, m := range []string{"shop-a", "shop-b", "shop-c"} {
		e := fullEvent()
		e.MerchantID, e.ID = m, fmt.Sprintf("e%d", i)
		e.EventTime = hour.Add(time.Duration(i) * time.Minute).UnixMicro()
		e.ReceiveTime = e.EventTime + int64(i+1)*1e6
		if m == "shop-b" {
			e.Properties = deep
		}
		in = append(in, e)
	}
	for _, e := range in {
		if err := fn.ProcessElement(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := fn.FinishBundle(ctx); err != nil {
		t.Fatalf("FinishBundle: %v (one rejected row must not fail the batch)", err)
	}

	got := decodeRows(t, codec, events.rows)
	stripped := in[1]
	stripped.Properties = ""
	want := []event.Event{in[0], stripped, in[2]}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("archived rows:\n got %+v\nwant %+v", got, want)
	}

	dl := decodeSide(t, deadLetterRowCodec, dead.rows)
	if len(dl) != 1 {
		t.Fatalf("%d dead letters, want 1: %v", len(dl), dl)
	}
	payload, _ := event.Encode(&in[1])
	if dl[0]["stage"] != StageBigQuery || !strings.Contains(dl[0]["reason"].(string), "nesting depth") ||
		string(dl[0]["payload"].([]byte)) != string(payload) || dl[0]["merchant_id"] != "shop-b" || dl[0]["event_id"] != "e1" ||
		dl[0]["archived_without_properties"] != true {
		t.Errorf("dead letter = %v", dl[0])
	}

	ap := decodeSide(t, appendsRowCodec, appends.rows)
	if len(ap) != 1 || ap[0]["row_count"] != int64(3) || ap[0]["event_hour"] != hour.UnixMicro() ||
		ap[0]["max_receive_time"] != in[2].ReceiveTime {
		t.Errorf("appends rows = %v, want one row: hour %d, 3 rows, max receive time %d", ap, hour.UnixMicro(), in[2].ReceiveTime)
	}
}

// A transient failure is retried; a permanent one (the writer lacks the
// permission) fails the bundle at once instead of retrying for ever.
func TestFlushRetriesTransientFailsPermanent(t *testing.T) {
	tests := []struct {
		name      string
		errs      []error
		wantErr   bool
		wantCalls int
	}{
		{"transient then success", []error{status.Error(codes.Unavailable, "try again")}, false, 2},
		{"permanent", []error{status.Error(codes.PermissionDenied, "bigquery.tables.updateData denied")}, true, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			events := &fakeAppender{errs: tc.errs}
			fn := newTestWriteFn(t, events, &fakeAppender{}, &fakeAppender{})
			ctx := context.Background()
			if err := fn.ProcessElement(ctx, fullEvent()); err != nil {
				t.Fatal(err)
			}
			err := fn.FinishBundle(ctx)
			if (err != nil) != tc.wantErr || events.calls != tc.wantCalls {
				t.Errorf("FinishBundle = %v after %d calls; want error %v after %d calls", err, events.calls, tc.wantErr, tc.wantCalls)
			}
		})
	}
}

// The appends rows summarise a write per event hour.
func TestSummarise(t *testing.T) {
	h := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	at := h.Add(3 * time.Hour)
	mk := func(eventMin, recvMin int) pendingRow {
		return pendingRow{e: event.Event{EventTime: h.Add(time.Duration(eventMin) * time.Minute).UnixMicro(),
			ReceiveTime: h.Add(time.Duration(recvMin) * time.Minute).UnixMicro()}}
	}
	got := summarise([]pendingRow{mk(5, 100), mk(70, 71), mk(59, 120), mk(61, 62)}, at)
	want := []appendsRow{
		{EventHour: h.UnixMicro(), AppendedAt: at.UnixMicro(), Rows: 2, MaxReceiveTime: h.Add(120 * time.Minute).UnixMicro()},
		{EventHour: h.Add(time.Hour).UnixMicro(), AppendedAt: at.UnixMicro(), Rows: 2, MaxReceiveTime: h.Add(71 * time.Minute).UnixMicro()},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("summarise =\n %+v\nwant %+v", got, want)
	}
}

// Messages that are not events are dead-lettered with their raw payload
// instead of being dropped; events go on, timestamped with event time.
func TestDecodeDeadLettersUndecodable(t *testing.T) {
	good := fullEvent()
	body, _ := event.Encode(&good)
	var events []event.Event
	var times []beam.EventTime
	var dead []DeadLetter
	fn := &decodeFn{}
	for _, b := range [][]byte{body, []byte("not json"), []byte(`{"event_id":"x"}`)} {
		fn.ProcessElement(context.Background(), b, func(t beam.EventTime, e event.Event) {
			times, events = append(times, t), append(events, e)
		}, func(d DeadLetter) { dead = append(dead, d) })
	}
	if len(events) != 1 || events[0] != good || times[0] != beam.EventTime(good.EventTime/1000) {
		t.Errorf("events = %+v at %v, want the one good event at its event time", events, times)
	}
	if len(dead) != 2 || string(dead[0].Payload) != "not json" || dead[0].Stage != StageDecode || dead[0].Reason == "" ||
		string(dead[1].Payload) != `{"event_id":"x"}` {
		t.Errorf("dead letters = %+v", dead)
	}
}

// Every DoFn instance of a worker process shares one Storage Write
// client per project; the last release closes it.
func TestWriteClientSharedPerProcess(t *testing.T) {
	created := 0
	orig := newWriteClient
	newWriteClient = func(string) (*managedwriter.Client, error) { created++; return nil, nil }
	defer func() { newWriteClient = orig }()
	_, rel1, err := acquireWriteClient("p-1")
	if err != nil {
		t.Fatal(err)
	}
	_, rel2, _ := acquireWriteClient("p-1")
	_, rel3, _ := acquireWriteClient("p-2")
	if created != 2 {
		t.Errorf("%d clients for 3 DoFn instances in 2 projects, want 2", created)
	}
	rel1()
	rel1() // releasing twice is harmless
	if _, ok := writeClients.by["p-1"]; !ok {
		t.Error("the client was closed while a DoFn still uses it")
	}
	rel2()
	rel3()
	if len(writeClients.by) != 0 {
		t.Errorf("clients left after every release: %v", writeClients.by)
	}
}

func TestSideTableCodecs(t *testing.T) {
	for name, c := range map[string]func() (*schemaCodec, error){"appends": appendsRowCodec, "dead letters": deadLetterRowCodec} {
		codec, err := c()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := codec.descriptor(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	d := DeadLetter{Stage: StageDecode, Reason: "bad \xff byte", Payload: []byte{0xff, 0}, At: 1}
	row := decodeSide(t, deadLetterRowCodec, [][]byte{encodeDeadLetter(&d)})[0]
	if row["reason"] != "bad \uFFFD byte" || !reflect.DeepEqual(row["payload"], []byte{0xff, 0}) {
		t.Errorf("dead letter row = %v (reason must be valid UTF-8, payload kept as bytes)", row)
	}
	if _, set := row["archived_without_properties"]; set {
		t.Error("archived_without_properties is set on a decode dead letter")
	}
}
