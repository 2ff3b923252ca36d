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
	// Clustered by event time: a seal reads one hour, and should read about
	// that hour's blocks rather than its whole day partition.
	if md.Clustering == nil || !reflect.DeepEqual(md.Clustering.Fields, []string{"event_time"}) {
		t.Errorf("clustering = %+v, want event_time", md.Clustering)
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
