// Package bqarchive is the production raw-event archive: a BigQuery table
// partitioned by day on event_time and clustered by event_time, with one
// column per event.Event field (the same names as the Parquet archive), and
// two small tables beside it: <table>_appends, one row per successful
// append saying which event hour received how many rows and when (what the
// sealer's Stat reads to learn which hours changed), and
// <table>_dead_letters, the messages that did not decode and the rows
// BigQuery rejected, each with its reason and raw payload.
//
// Archive (Dataflow) decodes the Pub/Sub messages, appends every event
// through the BigQuery Storage Write API (default stream, at-least-once; the
// pipelines deduplicate by (merchant, event id)) and dead-letters what it
// cannot archive. Read is a Beam batch source over an event-time range and
// optional merchants through the BigQuery Storage Read API (parallel
// streams, a row restriction that prunes partitions and clustered blocks).
// bqstat summarises an hour from the appends table. Schema derives the table
// schema from event.Event's parquet tags. docs/archive.md explains the
// choices.
package bqarchive

import (
	"fmt"
	"reflect"
	"strings"
	"time"

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

// PartitionField and ClusterFields are how the table is laid out: one
// partition per UTC day of event time (hourly partitions would hit
// BigQuery's 10,000 partitions per table after 416 days, and the archive is
// kept for years), clustered by event time, so that reading one hour —
// what every seal does — reads about that hour's blocks, not its day.
// Clustering by merchant would serve merchant-scoped backfills instead,
// which are rare; they read their hours whole and keep only their
// merchants' rows.
const PartitionField = "event_time"

// ClusterFields are the archive table's clustering columns, in order.
var ClusterFields = []string{"event_time"}

// TableMetadata is the archive table as Terraform declares it: Schema,
// daily partitions on event_time (a partition filter is required) and
// clustering by event_time.
func TableMetadata() *bigquery.TableMetadata {
	return &bigquery.TableMetadata{
		Schema:                 Schema(),
		TimePartitioning:       &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: PartitionField},
		Clustering:             &bigquery.Clustering{Fields: append([]string(nil), ClusterFields...)},
		RequirePartitionFilter: true,
		Description:            "footfall raw events (event.Event); written by the streaming job, read by the seal and backfill jobs",
	}
}

// The side tables live in the archive's dataset, named after it.
const (
	AppendsSuffix     = "_appends"
	DeadLettersSuffix = "_dead_letters"
)

// AppendsRetention is how long the appends table keeps a day partition.
// The sealer looks back 96 hours (seal.DefaultSchedule.Lookback); an hour
// whose appends rows had expired would look changed (0 rows) to it, so
// this must stay well above the lookback (a contract test checks it).
const AppendsRetention = 14 * 24 * time.Hour

// AppendsSchema is the appends table: one row per event hour of each
// successful append to the archive table.
func AppendsSchema() bigquery.Schema {
	return bigquery.Schema{
		{Name: "event_hour", Type: bigquery.TimestampFieldType, Required: true, Description: "UTC hour of the rows' event time"},
		{Name: "appended_at", Type: bigquery.TimestampFieldType, Required: true, Description: "when the append succeeded (writer's clock)"},
		{Name: "row_count", Type: bigquery.IntegerFieldType, Required: true, Description: "rows of that hour the append wrote"},
		{Name: "max_receive_time", Type: bigquery.TimestampFieldType, Required: true, Description: "the latest receive_time among them"},
	}
}

// AppendsTableMetadata is the appends table as Terraform declares it:
// daily partitions on appended_at kept AppendsRetention, clustered by
// event_hour.
func AppendsTableMetadata() *bigquery.TableMetadata {
	return &bigquery.TableMetadata{
		Schema:                 AppendsSchema(),
		TimePartitioning:       &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: "appended_at", Expiration: AppendsRetention},
		Clustering:             &bigquery.Clustering{Fields: []string{"event_hour"}},
		RequirePartitionFilter: true,
		Description:            "footfall: one row per event hour of each append to the archive (what the sealer reads to find hours that changed)",
	}
}

// DeadLettersSchema is the dead-letter table: what could not be archived.
func DeadLettersSchema() bigquery.Schema {
	return bigquery.Schema{
		{Name: "dead_lettered_at", Type: bigquery.TimestampFieldType, Required: true},
		{Name: "stage", Type: bigquery.StringFieldType, Required: true, Description: "decode: the message is not an event; bigquery: BigQuery rejected the row"},
		{Name: "reason", Type: bigquery.StringFieldType, Required: true},
		{Name: "payload", Type: bigquery.BytesFieldType, Required: true, Description: "the Pub/Sub message body as received"},
		{Name: "merchant_id", Type: bigquery.StringFieldType},
		{Name: "event_id", Type: bigquery.StringFieldType},
		{Name: "archived_without_properties", Type: bigquery.BooleanFieldType, Description: "the event is in the archive with properties NULL"},
	}
}

// DeadLettersTableMetadata is the dead-letter table as Terraform declares
// it: daily partitions on dead_lettered_at.
func DeadLettersTableMetadata() *bigquery.TableMetadata {
	return &bigquery.TableMetadata{
		Schema:           DeadLettersSchema(),
		TimePartitioning: &bigquery.TimePartitioning{Type: bigquery.DayPartitioningType, Field: "dead_lettered_at"},
		Description:      "footfall: messages the streaming job could not archive (undecodable, or rejected by BigQuery), with the reason and the raw payload",
	}
}
