// Package bqarchive is the production raw-event archive: a BigQuery table
// partitioned by day on event_time and clustered by merchant_id, with one
// column per event.Event field (the same names as the Parquet archive).
//
// Write is a Beam sink that appends events through the BigQuery Storage
// Write API (default stream, at-least-once; the pipelines deduplicate by
// (merchant, event id)). Read is a Beam batch source over an event-time
// range and optional merchants, with a parameterised query that prunes
// partitions. Schema derives the table schema from event.Event's parquet
// tags. docs/archive.md explains the choices.
package bqarchive

import (
	"fmt"
	"reflect"
	"strings"

	"cloud.google.com/go/bigquery"

	"github.com/footfall/footfall/internal/event"
)

// column is one event.Event field as a BigQuery column.
type column struct {
	index    int // field index in event.Event
	name     string
	typ      bigquery.FieldType
	required bool
}

// columns lists event.Event's fields in declaration order, from their
// parquet tags: int64 with timestamp(...) is TIMESTAMP, other int64 and
// int32 are INTEGER, string is STRING, or JSON with the json option; every column is
// REQUIRED unless tagged optional.
var columns = func() []column {
	t := reflect.TypeOf(event.Event{})
	var out []column
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("parquet")
		if tag == "" || tag == "-" {
			continue
		}
		parts := strings.Split(tag, ",")
		c := column{index: i, name: parts[0], required: true}
		if c.name == "" {
			c.name = f.Name
		}
		opts := map[string]bool{}
		for _, o := range parts[1:] {
			if name, _, ok := strings.Cut(o, "("); ok {
				o = name
			}
			opts[o] = true
		}
		c.required = !opts["optional"]
		switch {
		case f.Type.Kind() == reflect.Int64 && opts["timestamp"]:
			c.typ = bigquery.TimestampFieldType
		case f.Type.Kind() == reflect.Int64 || f.Type.Kind() == reflect.Int32:
			c.typ = bigquery.IntegerFieldType
		case f.Type.Kind() == reflect.String && opts["json"]:
			c.typ = bigquery.JSONFieldType
		case f.Type.Kind() == reflect.String:
			c.typ = bigquery.StringFieldType
		default:
			panic(fmt.Sprintf("bqarchive: event.Event.%s has type %s, which has no BigQuery mapping here", f.Name, f.Type))
		}
		out = append(out, c)
	}
	return out
}()

// Schema returns the BigQuery schema of the archive table, derived from
// event.Event's parquet tags.
func Schema() bigquery.Schema {
	s := make(bigquery.Schema, len(columns))
	for i, c := range columns {
		s[i] = &bigquery.FieldSchema{Name: c.name, Type: c.typ, Required: c.required}
	}
	return s
}

// PartitionField and ClusterField are how the table is laid out: one
// partition per UTC day of event time, clustered by merchant.
const (
	PartitionField = "event_time"
	ClusterField   = "merchant_id"
)

// TableMetadata is the archive table as Terraform declares it: Schema,
// daily partitions on event_time (a partition filter is required) and
// clustering by merchant_id.
func TableMetadata() *bigquery.TableMetadata {
	return &bigquery.TableMetadata{
		Schema:                 Schema(),
		TimePartitioning:       &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: PartitionField},
		Clustering:             &bigquery.Clustering{Fields: []string{ClusterField}},
		RequirePartitionFilter: true,
		Description:            "footfall raw events (event.Event); written by the streaming job, read by the seal and backfill jobs",
	}
}
