package bqarchive

import (
	"fmt"
	"reflect"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/bigquery/storage/managedwriter/adapt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/footfall/footfall/internal/event"
)

// rowCodec turns events into Storage Write API rows: proto2 messages whose
// descriptor is derived from Schema by the client's adapt package
// (TIMESTAMP as int64 microseconds, JSON as string).
type rowCodec struct {
	md     protoreflect.MessageDescriptor
	fields []protoreflect.FieldDescriptor // parallel to columns
}

func newRowCodec() (*rowCodec, error) {
	ts, err := adapt.BQSchemaToStorageTableSchema(Schema())
	if err != nil {
		return nil, fmt.Errorf("bqarchive: convert schema: %w", err)
	}
	d, err := adapt.StorageSchemaToProto2Descriptor(ts, "root")
	if err != nil {
		return nil, fmt.Errorf("bqarchive: build row descriptor: %w", err)
	}
	md, ok := d.(protoreflect.MessageDescriptor)
	if !ok {
		return nil, fmt.Errorf("bqarchive: row descriptor is a %T, not a message", d)
	}
	c := &rowCodec{md: md}
	for _, col := range columns {
		fd := md.Fields().ByName(protoreflect.Name(col.name))
		if fd == nil {
			return nil, fmt.Errorf("bqarchive: row descriptor lacks column %s", col.name)
		}
		c.fields = append(c.fields, fd)
	}
	return c, nil
}

// descriptor is the normalised descriptor the stream is opened with.
func (c *rowCodec) descriptor() (*descriptorpb.DescriptorProto, error) {
	dp, err := adapt.NormalizeDescriptor(c.md)
	if err != nil {
		return nil, fmt.Errorf("bqarchive: normalise row descriptor: %w", err)
	}
	return dp, nil
}

// encode returns e as a serialised row. Optional columns with a zero value
// are left unset (NULL), as the Parquet archive stores them.
func (c *rowCodec) encode(e *event.Event) ([]byte, error) {
	m := dynamicpb.NewMessage(c.md)
	v := reflect.ValueOf(e).Elem()
	for i, col := range columns {
		f := v.Field(col.index)
		if !col.required && f.IsZero() {
			continue
		}
		switch f.Kind() {
		case reflect.Int64, reflect.Int32:
			m.Set(c.fields[i], protoreflect.ValueOfInt64(f.Int()))
		case reflect.String:
			m.Set(c.fields[i], protoreflect.ValueOfString(f.String()))
		}
	}
	b, err := proto.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("bqarchive: encode event %s/%s: %w", e.MerchantID, e.ID, err)
	}
	return b, nil
}

// decode parses a serialised row back into an event (the inverse of
// encode; used by tests and for checking rows).
func (c *rowCodec) decode(b []byte) (event.Event, error) {
	m := dynamicpb.NewMessage(c.md)
	if err := proto.Unmarshal(b, m); err != nil {
		return event.Event{}, fmt.Errorf("bqarchive: decode row: %w", err)
	}
	var e event.Event
	v := reflect.ValueOf(&e).Elem()
	for i, col := range columns {
		if !m.Has(c.fields[i]) {
			continue
		}
		f := v.Field(col.index)
		switch f.Kind() {
		case reflect.Int64, reflect.Int32:
			f.SetInt(m.Get(c.fields[i]).Int())
		case reflect.String:
			f.SetString(m.Get(c.fields[i]).String())
		}
	}
	return e, nil
}

// eventRow loads a query result row into an event by column name
// (bigquery.ValueLoader). TIMESTAMP values become Unix microseconds; NULL
// leaves the zero value.
type eventRow struct {
	e event.Event
}

var byName = func() map[string]column {
	m := map[string]column{}
	for _, c := range columns {
		m[c.name] = c
	}
	return m
}()

func (r *eventRow) Load(vals []bigquery.Value, s bigquery.Schema) error {
	r.e = event.Event{}
	v := reflect.ValueOf(&r.e).Elem()
	for i, fs := range s {
		c, ok := byName[fs.Name]
		if !ok || vals[i] == nil {
			continue
		}
		f := v.Field(c.index)
		switch x := vals[i].(type) {
		case time.Time:
			if f.Kind() == reflect.Int64 {
				f.SetInt(x.UnixMicro())
				continue
			}
		case int64:
			if f.Kind() == reflect.Int64 || f.Kind() == reflect.Int32 {
				f.SetInt(x)
				continue
			}
		case string:
			if f.Kind() == reflect.String {
				f.SetString(x)
				continue
			}
		}
		return fmt.Errorf("bqarchive: column %s: unexpected value %T", fs.Name, vals[i])
	}
	return nil
}
