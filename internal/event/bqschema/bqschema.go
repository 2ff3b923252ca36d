// Package bqschema derives the BigQuery schema of the raw-event archive table
// from the event contract: the parquet tags of event.Event. The Parquet
// archive (local) and the BigQuery table (production) thereby store the same
// fields under the same names.
//
// terraform/modules/bigquery/events_schema.json is this package's output; a
// test fails when the two differ. Regenerate the file with
//
//	go run ./internal/event/cmd/bqschema > terraform/modules/bigquery/events_schema.json
//
// BigQuery can add NULLABLE columns to an existing table but not REQUIRED
// ones, so a field added to event.Event later must be tagged `optional`.
package bqschema

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/footfall/footfall/internal/event"
)

// Field is one column of a BigQuery table schema, in the JSON form that
// `bq mk --schema` and Terraform's google_bigquery_table.schema accept.
type Field struct {
	Name string `json:"name"`
	Type string `json:"type"`
	Mode string `json:"mode"`
}

// BigQuery column types and modes used here.
const (
	TypeString    = "STRING"
	TypeInteger   = "INTEGER"
	TypeFloat     = "FLOAT"
	TypeBoolean   = "BOOLEAN"
	TypeTimestamp = "TIMESTAMP"
	TypeJSON      = "JSON"

	ModeRequired = "REQUIRED"
	ModeNullable = "NULLABLE"
)

// ErrUnsupported is wrapped when a struct field has no BigQuery mapping here.
var ErrUnsupported = errors.New("bqschema: unsupported field")

// Events returns the schema of the events archive table.
func Events() ([]Field, error) {
	return FromStruct(event.Event{})
}

// EventsJSON returns Events as the indented JSON written to
// terraform/modules/bigquery/events_schema.json (with a final newline).
func EventsJSON() ([]byte, error) {
	fields, err := Events()
	if err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(fields, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("bqschema.EventsJSON: %w", err)
	}
	return append(b, '\n'), nil
}

// FromStruct maps the exported fields of the struct v, in declaration order,
// to BigQuery columns named by their parquet tags:
//
//   - int64 tagged timestamp(...) → TIMESTAMP (the value is Unix time in the
//     tag's unit; the archive writer converts it)
//   - int, int32, int64 → INTEGER; float32, float64 → FLOAT; bool → BOOLEAN
//   - string tagged json → JSON; other strings → STRING
//   - the optional tag option → NULLABLE, otherwise REQUIRED
//
// Fields tagged parquet:"-" are skipped.
func FromStruct(v any) ([]Field, error) {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("bqschema.FromStruct: %w: want a struct, got %T", ErrUnsupported, v)
	}
	var fields []Field
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag, ok := sf.Tag.Lookup("parquet")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if !ok || name == "" {
			return nil, fmt.Errorf("bqschema.FromStruct: %w: %s has no parquet name", ErrUnsupported, sf.Name)
		}
		options := map[string]bool{}
		timestamp := false
		for _, o := range strings.Split(opts, ",") {
			if strings.HasPrefix(o, "timestamp") {
				timestamp = true
			}
			options[o] = true
		}
		typ, err := columnType(sf.Type.Kind(), timestamp, options["json"])
		if err != nil {
			return nil, fmt.Errorf("bqschema.FromStruct: %s: %w", sf.Name, err)
		}
		mode := ModeRequired
		if options["optional"] {
			mode = ModeNullable
		}
		fields = append(fields, Field{Name: name, Type: typ, Mode: mode})
	}
	return fields, nil
}

func columnType(k reflect.Kind, timestamp, jsonText bool) (string, error) {
	switch {
	case timestamp && k == reflect.Int64:
		return TypeTimestamp, nil
	case timestamp:
		return "", fmt.Errorf("%w: timestamp on %s (want int64)", ErrUnsupported, k)
	case jsonText && k == reflect.String:
		return TypeJSON, nil
	case jsonText:
		return "", fmt.Errorf("%w: json on %s (want string)", ErrUnsupported, k)
	}
	switch k {
	case reflect.String:
		return TypeString, nil
	case reflect.Int, reflect.Int32, reflect.Int64:
		return TypeInteger, nil
	case reflect.Float32, reflect.Float64:
		return TypeFloat, nil
	case reflect.Bool:
		return TypeBoolean, nil
	}
	return "", fmt.Errorf("%w: kind %s", ErrUnsupported, k)
}
