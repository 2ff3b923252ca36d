package bqschema

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/footfall/footfall/internal/event"
)

var update = flag.Bool("update", false, "rewrite terraform/modules/bigquery/events_schema.json from the event contract")

// schemaFile is the Terraform copy of the archive table's schema, relative to
// this package's directory.
var schemaFile = filepath.Join("..", "..", "..", "terraform", "modules", "bigquery", "events_schema.json")

func TestBigQuerySchemaFileMatchesContract(t *testing.T) {
	want, err := EventsJSON()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(schemaFile, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatalf("reading the Terraform schema: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("terraform/modules/bigquery/events_schema.json differs from internal/event.Event.\n"+
			"Regenerate it from the repository root:\n"+
			"\tgo run ./internal/event/cmd/bqschema > terraform/modules/bigquery/events_schema.json\n"+
			"(or: go test ./internal/event/bqschema -update)\ngot:\n%s\nwant:\n%s", got, want)
	}
}

func TestEventsCoversEveryField(t *testing.T) {
	fields, err := Events()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(fields), reflect.TypeFor[event.Event]().NumField(); got != want {
		t.Errorf("Events() has %d columns, event.Event has %d fields", got, want)
	}
	byName := map[string]Field{}
	for _, f := range fields {
		if _, dup := byName[f.Name]; dup {
			t.Errorf("column %q appears twice", f.Name)
		}
		byName[f.Name] = f
	}
	// The table is partitioned on event_time and clustered on merchant_id
	// (terraform/modules/bigquery): both must exist and be REQUIRED.
	for name, want := range map[string]Field{
		event.AttrEventTime:  {Name: event.AttrEventTime, Type: TypeTimestamp, Mode: ModeRequired},
		event.AttrMerchantID: {Name: event.AttrMerchantID, Type: TypeString, Mode: ModeRequired},
		event.AttrEventID:    {Name: event.AttrEventID, Type: TypeString, Mode: ModeRequired},
	} {
		if got := byName[name]; got != want {
			t.Errorf("column %s = %+v, want %+v", name, got, want)
		}
	}
}

func TestFromStruct(t *testing.T) {
	type ok struct {
		ID       string  `parquet:"id"`
		Note     string  `parquet:"note,optional"`
		At       int64   `parquet:"at,timestamp(microsecond)"`
		Count    int64   `parquet:"count,optional"`
		Ratio    float64 `parquet:"ratio"`
		Flag     bool    `parquet:"flag,optional"`
		Props    string  `parquet:"props,optional,json"`
		Skipped  string  `parquet:"-"`
		internal string
	}
	type badKind struct {
		Tags []string `parquet:"tags"`
	}
	type badTimestamp struct {
		At string `parquet:"at,timestamp(millisecond)"`
	}
	type untagged struct {
		ID string
	}
	_ = ok{}.internal

	tests := []struct {
		name    string
		in      any
		want    []Field
		wantErr bool
	}{
		{
			name: "every supported mapping",
			in:   ok{},
			want: []Field{
				{"id", TypeString, ModeRequired},
				{"note", TypeString, ModeNullable},
				{"at", TypeTimestamp, ModeRequired},
				{"count", TypeInteger, ModeNullable},
				{"ratio", TypeFloat, ModeRequired},
				{"flag", TypeBoolean, ModeNullable},
				{"props", TypeJSON, ModeNullable},
			},
		},
		{name: "slice", in: badKind{}, wantErr: true},
		{name: "timestamp on a string", in: badTimestamp{}, wantErr: true},
		{name: "no parquet tag", in: untagged{}, wantErr: true},
		{name: "not a struct", in: 42, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromStruct(tc.in)
			if tc.wantErr {
				if !errors.Is(err, ErrUnsupported) {
					t.Fatalf("FromStruct() error = %v, want ErrUnsupported", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("FromStruct() =\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}
