package bqarchive

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/bigquery"
	"cloud.google.com/go/bigquery/storage/apiv1/storagepb"
	"cloud.google.com/go/bigquery/storage/managedwriter"
	"cloud.google.com/go/bigquery/storage/managedwriter/adapt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
)

type appendResponse = storagepb.AppendRowsResponse

// appender appends serialised rows to one table (a ManagedStream on its
// default stream; a fake in tests). The response may come with an error:
// rows BigQuery rejected are listed in it (rowErrors).
type appender interface {
	appendRows(ctx context.Context, rows [][]byte) (*appendResponse, error)
	Close() error
}

// rowErrors maps the index of each row a response rejected to the reason.
func rowErrors(resp *appendResponse) map[int64]string {
	if resp == nil || len(resp.GetRowErrors()) == 0 {
		return nil
	}
	out := map[int64]string{}
	for _, re := range resp.GetRowErrors() {
		out[re.GetIndex()] = fmt.Sprintf("%s: %s", re.GetCode(), re.GetMessage())
	}
	return out
}

type streamAppender struct{ ms *managedwriter.ManagedStream }

func (a streamAppender) appendRows(ctx context.Context, rows [][]byte) (*appendResponse, error) {
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	res, err := a.ms.AppendRows(cctx, rows)
	if err != nil {
		return nil, err
	}
	return res.FullResponse(cctx)
}

func (a streamAppender) Close() error { return a.ms.Close() }

// descriptorSource gives the proto descriptor of a table's rows.
type descriptorSource interface {
	descriptor() (*descriptorpb.DescriptorProto, error)
}

// openStream opens the default stream of a table on the shared client.
func openStream(ctx context.Context, c *managedwriter.Client, project, dataset, table string, ds descriptorSource) (appender, error) {
	dp, err := ds.descriptor()
	if err != nil {
		return nil, err
	}
	ms, err := c.NewManagedStream(ctx,
		managedwriter.WithDestinationTable(managedwriter.TableParentFromParts(project, dataset, table)),
		managedwriter.WithType(managedwriter.DefaultStream),
		managedwriter.WithSchemaDescriptor(dp),
		managedwriter.EnableWriteRetries(true),
	)
	if err != nil {
		return nil, fmt.Errorf("bqarchive: open the default stream of %s.%s.%s (does the table exist? Terraform's bigquery module or bqarchive.EnsureTable creates it): %w", project, dataset, table, err)
	}
	return streamAppender{ms}, nil
}

// One Storage Write API client per worker process and project, shared by
// every DoFn instance (a Dataflow worker runs many): each client holds its
// own connections, and BigQuery limits concurrent connections per project.
// With multiplexing, the default-stream writers of all tables share them.
var writeClients = struct {
	sync.Mutex
	by map[string]*sharedWriteClient
}{by: map[string]*sharedWriteClient{}}

type sharedWriteClient struct {
	c    *managedwriter.Client
	refs int
}

// newWriteClient creates a client; tests replace it.
var newWriteClient = func(project string) (*managedwriter.Client, error) {
	// The client keeps the context for its lifetime: not a DoFn's.
	return managedwriter.NewClient(context.Background(), project, managedwriter.WithMultiplexing())
}

// acquireWriteClient returns the process's client for project and a
// release function; the last release closes it.
func acquireWriteClient(project string) (*managedwriter.Client, func() error, error) {
	writeClients.Lock()
	defer writeClients.Unlock()
	s := writeClients.by[project]
	if s == nil {
		c, err := newWriteClient(project)
		if err != nil {
			return nil, nil, fmt.Errorf("bqarchive: managedwriter.NewClient: %w", err)
		}
		s = &sharedWriteClient{c: c}
		writeClients.by[project] = s
	}
	s.refs++
	var once sync.Once
	release := func() error {
		var err error
		once.Do(func() {
			writeClients.Lock()
			defer writeClients.Unlock()
			s.refs--
			if s.refs == 0 {
				delete(writeClients.by, project)
				if s.c != nil {
					err = s.c.Close()
				}
			}
		})
		return err
	}
	return s.c, release, nil
}

// schemaCodec encodes rows of a side table (appends, dead letters) as
// proto2 messages derived from its schema, like rowCodec does for events.
type schemaCodec struct {
	md protoreflect.MessageDescriptor
}

func newSchemaCodec(s bigquery.Schema) (*schemaCodec, error) {
	ts, err := adapt.BQSchemaToStorageTableSchema(s)
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
	return &schemaCodec{md: md}, nil
}

func (c *schemaCodec) descriptor() (*descriptorpb.DescriptorProto, error) {
	dp, err := adapt.NormalizeDescriptor(c.md)
	if err != nil {
		return nil, fmt.Errorf("bqarchive: normalise row descriptor: %w", err)
	}
	return dp, nil
}

// encode sets the named columns (unset ones are NULL) and serialises.
func (c *schemaCodec) encode(vals map[string]protoreflect.Value) []byte {
	m := dynamicpb.NewMessage(c.md)
	for name, v := range vals {
		fd := c.md.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			panic("bqarchive: no column " + name)
		}
		m.Set(fd, v)
	}
	b, err := proto.Marshal(m)
	if err != nil {
		panic(fmt.Sprintf("bqarchive: marshal row: %v", err)) // dynamic messages of known fields always marshal
	}
	return b
}

var (
	appendsRowCodec    = sync.OnceValues(func() (*schemaCodec, error) { return newSchemaCodec(AppendsSchema()) })
	deadLetterRowCodec = sync.OnceValues(func() (*schemaCodec, error) { return newSchemaCodec(DeadLettersSchema()) })
)

type appendsCodec struct{}

func (appendsCodec) descriptor() (*descriptorpb.DescriptorProto, error) {
	c, err := appendsRowCodec()
	if err != nil {
		return nil, err
	}
	return c.descriptor()
}

type deadLetterCodec struct{}

func (deadLetterCodec) descriptor() (*descriptorpb.DescriptorProto, error) {
	c, err := deadLetterRowCodec()
	if err != nil {
		return nil, err
	}
	return c.descriptor()
}

// appendsRow is one row of the appends table (times in Unix µs).
type appendsRow struct {
	EventHour, AppendedAt, Rows, MaxReceiveTime int64
}

func encodeAppends(rows []appendsRow) [][]byte {
	c, err := appendsRowCodec()
	if err != nil {
		panic(err) // the schema is a constant: TestSideTableCodecs
	}
	out := make([][]byte, len(rows))
	for i, r := range rows {
		out[i] = c.encode(map[string]protoreflect.Value{
			"event_hour":       protoreflect.ValueOfInt64(r.EventHour),
			"appended_at":      protoreflect.ValueOfInt64(r.AppendedAt),
			"row_count":        protoreflect.ValueOfInt64(r.Rows),
			"max_receive_time": protoreflect.ValueOfInt64(r.MaxReceiveTime),
		})
	}
	return out
}

func encodeDeadLetter(d *DeadLetter) []byte {
	c, err := deadLetterRowCodec()
	if err != nil {
		panic(err) // the schema is a constant: TestSideTableCodecs
	}
	vals := map[string]protoreflect.Value{
		"dead_lettered_at": protoreflect.ValueOfInt64(d.At),
		"stage":            protoreflect.ValueOfString(d.Stage),
		"reason":           protoreflect.ValueOfString(strings.ToValidUTF8(d.Reason, "\uFFFD")),
		"payload":          protoreflect.ValueOfBytes(d.Payload),
	}
	if d.MerchantID != "" {
		vals["merchant_id"] = protoreflect.ValueOfString(strings.ToValidUTF8(d.MerchantID, "\uFFFD"))
	}
	if d.EventID != "" {
		vals["event_id"] = protoreflect.ValueOfString(strings.ToValidUTF8(d.EventID, "\uFFFD"))
	}
	if d.Stage == StageBigQuery {
		vals["archived_without_properties"] = protoreflect.ValueOfBool(d.ArchivedWithoutProperties)
	}
	return c.encode(vals)
}
