package bqarchive

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/footfall/footfall/internal/event"
)

func TestMain(m *testing.M) { ptest.MainWithDefault(m, "prism") }

// The table has one column per event field, typed and moded as docs/event.md
// says (written out here by hand, not derived).
func TestSchema(t *testing.T) {
	type col struct {
		typ      bigquery.FieldType
		required bool
	}
	want := map[string]col{
		"event_id": {bigquery.StringFieldType, true}, "merchant_id": {bigquery.StringFieldType, true},
		"type": {bigquery.StringFieldType, true}, "name": {bigquery.StringFieldType, true},
		"anonymous_id": {bigquery.StringFieldType, false}, "user_id": {bigquery.StringFieldType, false},
		"session_id": {bigquery.StringFieldType, false},
		"event_time": {bigquery.TimestampFieldType, true}, "receive_time": {bigquery.TimestampFieldType, true},
		"page_url": {bigquery.StringFieldType, false}, "page_path": {bigquery.StringFieldType, false},
		"page_title": {bigquery.StringFieldType, false}, "referrer": {bigquery.StringFieldType, false},
		"utm_source": {bigquery.StringFieldType, false}, "utm_medium": {bigquery.StringFieldType, false},
		"utm_campaign": {bigquery.StringFieldType, false}, "utm_term": {bigquery.StringFieldType, false},
		"utm_content": {bigquery.StringFieldType, false}, "user_agent": {bigquery.StringFieldType, false},
		"country": {bigquery.StringFieldType, false}, "properties": {bigquery.JSONFieldType, false},
		"revenue_minor": {bigquery.IntegerFieldType, false}, "currency": {bigquery.StringFieldType, false},
		"revenue_scale": {bigquery.IntegerFieldType, false}, "transaction_id": {bigquery.StringFieldType, false},
		"commerce": {bigquery.StringFieldType, false},
		"source":   {bigquery.StringFieldType, true},
	}
	s := Schema()
	if got := reflect.TypeOf(event.Event{}).NumField(); len(s) != got {
		t.Errorf("schema has %d columns, event.Event has %d fields", len(s), got)
	}
	seen := map[string]bool{}
	for _, f := range s {
		seen[f.Name] = true
		w, ok := want[f.Name]
		if !ok {
			t.Errorf("unexpected column %s", f.Name)
			continue
		}
		if f.Type != w.typ || f.Required != w.required {
			t.Errorf("column %s = %s required=%v, want %s required=%v", f.Name, f.Type, f.Required, w.typ, w.required)
		}
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("column %s missing", name)
		}
	}
	md := TableMetadata()
	if md.TimePartitioning == nil || md.TimePartitioning.Field != "event_time" || md.TimePartitioning.Type != bigquery.DayPartitioningType {
		t.Errorf("partitioning = %+v, want daily on event_time", md.TimePartitioning)
	}
	if md.Clustering == nil || !reflect.DeepEqual(md.Clustering.Fields, []string{"merchant_id"}) {
		t.Errorf("clustering = %+v, want merchant_id", md.Clustering)
	}
}

func fullEvent() event.Event {
	t := time.Date(2026, 11, 26, 15, 4, 5, 123456000, time.UTC)
	return event.Event{
		ID: "01JABC", MerchantID: "shop-1", Type: event.TypePage, Name: event.NamePageView,
		AnonymousID: "anon", UserID: "user", SessionID: "sess",
		EventTime: t.UnixMicro(), ReceiveTime: t.Add(time.Second).UnixMicro(),
		PageURL: "https://shop.example/a?b=c", PagePath: "/a", PageTitle: "A ü", Referrer: "https://r.example/",
		UTMSource: "s", UTMMedium: "m", UTMCampaign: "c", UTMTerm: "t", UTMContent: "x",
		UserAgent: "Mozilla/5.0", Country: "DE", Properties: `{"k":[1,2,{"z":null}]}`,
		RevenueMinor: 1999, Currency: "USD", RevenueScale: 2, TransactionID: "o-1", Commerce: event.CommercePurchase,
		Source: event.SourceSegment,
	}
}

func TestRowRoundTrip(t *testing.T) {
	c, err := newRowCodec()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.descriptor(); err != nil {
		t.Fatal(err)
	}
	minimal := event.Event{ID: "e", MerchantID: "m", Type: event.TypeTrack, Name: "n", AnonymousID: "a",
		EventTime: 1, ReceiveTime: 2, Source: event.SourceGA4}
	tests := []struct {
		name      string
		e         event.Event
		wantUnset []string // columns that must be NULL
	}{
		{"every field", fullEvent(), nil},
		{"optional fields empty", minimal, []string{"user_id", "session_id", "page_url", "properties", "revenue_minor", "currency", "country"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := c.encode(&tc.e)
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.e {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, tc.e)
			}
			m := dynamicpb.NewMessage(c.md)
			if err := proto.Unmarshal(b, m); err != nil {
				t.Fatal(err)
			}
			for _, name := range tc.wantUnset {
				if m.Has(c.md.Fields().ByName(protoreflect.Name(name))) {
					t.Errorf("column %s is set, want NULL", name)
				}
			}
			if got := m.Get(c.md.Fields().ByName("event_time")).Int(); got != tc.e.EventTime {
				t.Errorf("event_time on the wire = %d, want %d (TIMESTAMP as Unix µs)", got, tc.e.EventTime)
			}
		})
	}
}

// Query rows load into events the way the client hands them over
// (TIMESTAMP as time.Time, JSON as string, NULL as nil).
func TestEventRowLoad(t *testing.T) {
	want := fullEvent()
	s := Schema()
	vals := make([]bigquery.Value, len(s))
	ev := reflect.ValueOf(want)
	for i, f := range s {
		c := byName[f.Name]
		switch f.Type {
		case bigquery.TimestampFieldType:
			vals[i] = time.UnixMicro(ev.Field(c.index).Int()).UTC()
		case bigquery.IntegerFieldType:
			vals[i] = ev.Field(c.index).Int()
		default:
			vals[i] = ev.Field(c.index).String()
		}
	}
	var r eventRow
	if err := r.Load(vals, s); err != nil {
		t.Fatal(err)
	}
	if r.e != want {
		t.Errorf("loaded\n %+v\nwant %+v", r.e, want)
	}
	for i := range vals {
		if !s[i].Required {
			vals[i] = nil
		}
	}
	if err := r.Load(vals, s); err != nil {
		t.Fatal(err)
	}
	if r.e.UserID != "" || r.e.RevenueMinor != 0 || r.e.ID != want.ID {
		t.Errorf("NULLs loaded as %+v", r.e)
	}
	bad := slicesClone(vals)
	bad[0] = 42.0
	if err := r.Load(bad, s); err == nil || !strings.Contains(err.Error(), s[0].Name) {
		t.Errorf("Load of a float into %s: err = %v, want one naming the column", s[0].Name, err)
	}
}

func slicesClone(v []bigquery.Value) []bigquery.Value { return append([]bigquery.Value(nil), v...) }

func TestBuildQuery(t *testing.T) {
	o := Options{Project: "my-proj", Dataset: "footfall", Table: "events"}
	from := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	to := from.Add(3 * time.Hour)
	cols := "event_id, merchant_id, type, name, anonymous_id, user_id, session_id, event_time, receive_time, " +
		"page_url, page_path, page_title, referrer, utm_source, utm_medium, utm_campaign, utm_term, utm_content, " +
		"user_agent, country, properties, revenue_minor, currency, revenue_scale, transaction_id, commerce, source"
	tests := []struct {
		name       string
		merchants  []string
		wantSQL    string
		wantParams []bigquery.QueryParameter
	}{
		{"all merchants", nil,
			"SELECT " + cols + "\nFROM `my-proj.footfall.events`\nWHERE event_time >= @from AND event_time < @to",
			[]bigquery.QueryParameter{{Name: "from", Value: from}, {Name: "to", Value: to}}},
		{"some merchants", []string{"a", "b'; DROP TABLE x; --"},
			"SELECT " + cols + "\nFROM `my-proj.footfall.events`\nWHERE event_time >= @from AND event_time < @to\n  AND merchant_id IN UNNEST(@merchants)",
			[]bigquery.QueryParameter{{Name: "from", Value: from}, {Name: "to", Value: to},
				{Name: "merchants", Value: []string{"a", "b'; DROP TABLE x; --"}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sql, params := buildQuery(o, from, to, tc.merchants)
			if sql != tc.wantSQL {
				t.Errorf("sql =\n%s\nwant\n%s", sql, tc.wantSQL)
			}
			if !reflect.DeepEqual(params, tc.wantParams) {
				t.Errorf("params = %#v\nwant %#v", params, tc.wantParams)
			}
		})
	}
}

func TestOptionsValidate(t *testing.T) {
	tests := []struct {
		o       Options
		wantErr string
	}{
		{Options{Project: "my-proj", Dataset: "footfall", Table: "events"}, ""},
		{Options{Project: "", Dataset: "footfall", Table: "events"}, "project"},
		{Options{Project: "my-proj", Dataset: "foot`fall", Table: "events"}, "dataset"},
		{Options{Project: "my-proj", Dataset: "footfall", Table: "events` WHERE 1=1 --"}, "table"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%+v", tc.o), func(t *testing.T) {
			err := tc.o.Validate()
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("Validate() = %v, want error mentioning %q", err, tc.wantErr)
			}
		})
	}
}
