// Package archive is the local raw-event archive: every decoded event as a
// row of a Parquet file, partitioned Hive-style by event-time date and hour,
//
//	<dir>/dt=YYYY-MM-DD/hour=HH/part-<ulid>.parquet
//
// so DuckDB, BigQuery and Spark read it as it is. Messages that do not
// decode go to a dead-letter area, <dir>/_invalid/dt=YYYY-MM-DD/part-<ulid>.jsonl.
//
// A Writer makes each batch durable before it returns (temp file, fsync,
// rename, fsync of the directory), so a caller that acknowledges a Pub/Sub
// message only after WriteBatch returned never acknowledges an event the
// archive could lose. Compact merges a closed hour's small files into a few
// sorted ones; Scan and Read (a Beam batch source) read an hour range back.
// docs/archive.md describes the layout and the crash behaviour.
package archive

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	json "github.com/goccy/go-json"
	"github.com/oklog/ulid/v2"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/footfall/footfall/internal/event"
)

// Names of the archive's files and directories.
const (
	// InvalidDir is the dead-letter area under the archive root. Its leading
	// underscore makes Hive-style readers skip it.
	InvalidDir = "_invalid"
	// fileExt is the extension of data files; tmpExt marks files being written.
	fileExt = ".parquet"
	tmpExt  = ".tmp"
)

// propertiesTag replaces event.Event's `parquet:"properties,optional,json"`
// tag when the archive writes and reads Parquet: parquet-go (v0.30–v0.32)
// panics writing an optional JSON-annotated string column (it raises the
// definition level twice). The column is stored as an optional STRING
// holding the same JSON text; TestUpstreamOptionalJSON notices a fix.
var propertiesTag = parquet.StructTag(`parquet:"properties,optional"`, "Properties")

// Schema is the Parquet schema of the archive's data files: event.Event's
// parquet tags, with properties stored as an optional string.
var Schema = parquet.SchemaOf(event.Event{}, propertiesTag)

// PartitionDir returns the directory holding the events of the UTC hour
// that contains t: <dir>/dt=YYYY-MM-DD/hour=HH.
func PartitionDir(dir string, t time.Time) string {
	t = t.UTC()
	return filepath.Join(dir, "dt="+t.Format("2006-01-02"), "hour="+t.Format("15"))
}

// Stats counts what a Writer has made durable since it was opened.
type Stats struct {
	Events       int64 // events written
	Files        int64 // data files written
	Bytes        int64 // bytes of data files written
	Invalid      int64 // dead-lettered messages
	InvalidFiles int64 // dead-letter files written
}

// Writer appends batches to an archive directory. It is safe for concurrent
// use: every batch writes its own uniquely named files.
type Writer struct {
	dir string
	// scratch: a temporary archive (NewScratchWriter).
	scratch bool

	// synced holds directories whose entry in their parent is known to be
	// durable, so new partitions fsync their parents once.
	synced sync.Map // string → struct{}

	events, files, bytes, invalid, invalidFiles atomic.Int64
}

// NewWriter opens the archive rooted at dir, creating it if needed.
func NewWriter(dir string) (*Writer, error) { return openWriter("archive.NewWriter", dir, false) }

// NewScratchWriter opens a temporary archive rooted at dir, such as the
// sealer's visitor spill, which lives only as long as the run that reads
// it: its files are not fsynced (a crash ends the run, and the next run
// writes the spill again) and its pages are compressed at zstd's fastest
// level. Readers read it as any archive.
func NewScratchWriter(dir string) (*Writer, error) {
	return openWriter("archive.NewScratchWriter", dir, true)
}

func openWriter(name, dir string, scratch bool) (*Writer, error) {
	if dir == "" {
		return nil, fmt.Errorf("%s: the archive directory is required", name)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	w := &Writer{dir: abs, scratch: scratch}
	if err := w.mkdirDurable(abs); err != nil {
		return nil, fmt.Errorf("%s: create %s (check the path and its permissions): %w", name, abs, err)
	}
	return w, nil
}

// Dir returns the archive's root directory.
func (w *Writer) Dir() string { return w.dir }

// Stats returns what the Writer has written so far.
func (w *Writer) Stats() Stats {
	return Stats{
		Events:       w.events.Load(),
		Files:        w.files.Load(),
		Bytes:        w.bytes.Load(),
		Invalid:      w.invalid.Load(),
		InvalidFiles: w.invalidFiles.Load(),
	}
}

// WriteBatch writes events to the archive, one new file per event hour, and
// returns once every file is durable (written, fsynced, renamed into place
// and its directory fsynced). On error some hours of the batch may be
// durable and others not; writing the batch again only duplicates events,
// which readers deduplicate by (merchant, event id).
func (w *Writer) WriteBatch(ctx context.Context, events []event.Event) error {
	if len(events) == 0 {
		return nil
	}
	byHour := map[int64][]event.Event{}
	var hours []int64
	first := hourOf(events[0].EventTime)
	if !slices.ContainsFunc(events, func(e event.Event) bool { return hourOf(e.EventTime) != first }) {
		byHour[first], hours = events, []int64{first} // the usual case: no copy
	} else {
		for _, e := range events {
			h := hourOf(e.EventTime)
			if _, ok := byHour[h]; !ok {
				hours = append(hours, h)
			}
			byHour[h] = append(byHour[h], e)
		}
	}
	for _, h := range hours {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("archive: write batch: %w", err)
		}
		part := PartitionDir(w.dir, time.UnixMicro(h))
		n, err := w.writeParquet(part, byHour[h])
		if err != nil {
			return fmt.Errorf("archive: write %d events to %s: %w", len(byHour[h]), part, err)
		}
		w.events.Add(int64(len(byHour[h])))
		w.files.Add(1)
		w.bytes.Add(n)
	}
	return nil
}

// hourOf returns the start of the UTC hour of a Unix-microsecond time.
func hourOf(us int64) int64 {
	const hour = int64(time.Hour / time.Microsecond)
	h := us - us%hour
	if us < 0 && us%hour != 0 {
		h -= hour
	}
	return h
}

// codec compresses data pages; scratchCodec a scratch archive's. They are
// shared: their pools of zstd encoders (several MB each) are reused across
// files instead of rebuilt per file.
var (
	codec        = &zstd.Codec{Level: zstd.SpeedDefault}
	scratchCodec = &zstd.Codec{Level: zstd.SpeedFastest}
)

// writerOptions are the options of every data file: zstd pages and the
// archive schema.
func writerOptions(extra ...parquet.WriterOption) []parquet.WriterOption {
	return append([]parquet.WriterOption{
		Schema,
		parquet.Compression(codec),
		parquet.CreatedBy("footfall archive", "", ""),
	}, extra...)
}

// writeParquet writes rows as one new file in dir and returns its size.
func (w *Writer) writeParquet(dir string, rows []event.Event) (int64, error) {
	return writeDurable(w, dir, "part-"+ulid.Make().String()+fileExt, func(f *os.File) error {
		opts := writerOptions()
		if w.scratch {
			opts = writerOptions(parquet.Compression(scratchCodec))
		}
		pw := parquet.NewGenericWriter[event.Event](f, opts...)
		if _, err := pw.Write(rows); err != nil {
			return fmt.Errorf("encode parquet: %w", err)
		}
		if err := pw.Close(); err != nil {
			return fmt.Errorf("encode parquet: %w", err)
		}
		return nil
	})
}

// writeDurable creates dir (durably), writes a temporary file in it with
// fill, fsyncs it, renames it to name and fsyncs dir. It returns the file's
// size. The temporary name ends in .tmp, which no reader picks up. A
// scratch archive skips the fsyncs.
func writeDurable(w *Writer, dir, name string, fill func(*os.File) error) (size int64, err error) {
	if err := w.mkdirDurable(dir); err != nil {
		return 0, err
	}
	final := filepath.Join(dir, name)
	tmp := filepath.Join(dir, "."+name+tmpExt)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrNotExist) {
		// The directory was removed since it was created (retention,
		// an operator): forget it and its parents, create them again.
		for d := dir; d != w.dir && d != filepath.Dir(d); d = filepath.Dir(d) {
			w.synced.Delete(d)
		}
		if err := w.mkdirDurable(dir); err != nil {
			return 0, err
		}
		f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	}
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := fill(f); err != nil {
		return 0, err
	}
	if !w.scratch {
		if err := f.Sync(); err != nil {
			return 0, fmt.Errorf("fsync %s: %w", tmp, err)
		}
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if err := f.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, final); err != nil {
		return 0, err
	}
	if w.scratch {
		return st.Size(), nil
	}
	if err := syncDir(dir); err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// mkdirDurable creates dir and any missing parents and fsyncs the parent of
// every directory it created, so that the new entries survive a crash.
func (w *Writer) mkdirDurable(dir string) error {
	if _, ok := w.synced.Load(dir); ok {
		return nil
	}
	if w.scratch {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		w.synced.Store(dir, struct{}{})
		return nil
	}
	st, err := os.Stat(dir)
	switch {
	case err == nil && !st.IsDir():
		return fmt.Errorf("%s exists and is not a directory", dir)
	case err == nil:
		// It exists; its own entry may not be durable yet if another
		// writer just created it, so fsync the parent anyway (once).
	case errors.Is(err, os.ErrNotExist):
		parent := filepath.Dir(dir)
		if parent != dir {
			if err := w.mkdirDurable(parent); err != nil {
				return err
			}
		}
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
	default:
		return err
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := syncDir(parent); err != nil {
			return err
		}
	}
	w.synced.Store(dir, struct{}{})
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	return nil
}

// Invalid is a message that did not decode into an event.
type Invalid struct {
	Data        []byte
	Attributes  map[string]string
	MessageID   string
	PublishTime time.Time
	ReceiveTime time.Time
	// Reason is why it was rejected (the decode error).
	Reason string
}

// deadLetter is one line of a dead-letter file.
type deadLetter struct {
	DataBase64  string            `json:"data_base64"`
	Attributes  map[string]string `json:"attributes,omitempty"`
	MessageID   string            `json:"message_id,omitempty"`
	PublishTime string            `json:"publish_time,omitempty"`
	ReceiveTime string            `json:"receive_time"`
	Reason      string            `json:"reason"`
}

// InvalidDirFor returns the dead-letter directory of the UTC date of t.
func InvalidDirFor(dir string, t time.Time) string {
	return filepath.Join(dir, InvalidDir, "dt="+t.UTC().Format("2006-01-02"))
}

// WriteInvalid writes undecodable messages to the dead-letter area, one
// JSON line each (body base64, attributes, receive time, reason), one new
// file per receive date, and returns once they are durable.
func (w *Writer) WriteInvalid(ctx context.Context, msgs []Invalid) error {
	if len(msgs) == 0 {
		return nil
	}
	byDay := map[string][]Invalid{}
	var days []string
	for _, m := range msgs {
		d := InvalidDirFor(w.dir, m.ReceiveTime)
		if _, ok := byDay[d]; !ok {
			days = append(days, d)
		}
		byDay[d] = append(byDay[d], m)
	}
	for _, d := range days {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("archive: write dead letters: %w", err)
		}
		_, err := writeDurable(w, d, "part-"+ulid.Make().String()+".jsonl", func(f *os.File) error {
			enc := json.NewEncoder(f)
			for _, m := range byDay[d] {
				if err := enc.Encode(deadLetter{
					DataBase64:  base64.StdEncoding.EncodeToString(m.Data),
					Attributes:  m.Attributes,
					MessageID:   m.MessageID,
					PublishTime: formatTime(m.PublishTime),
					ReceiveTime: m.ReceiveTime.UTC().Format(time.RFC3339Nano),
					Reason:      m.Reason,
				}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("archive: write %d dead letters to %s: %w", len(byDay[d]), d, err)
		}
		w.invalid.Add(int64(len(byDay[d])))
		w.invalidFiles.Add(1)
	}
	return nil
}

// ReadInvalid returns every dead letter of the archive at dir, oldest file
// first (for tests and for operators replaying them).
func ReadInvalid(dir string) ([]Invalid, error) {
	files, err := filepath.Glob(filepath.Join(dir, InvalidDir, "dt=*", "part-*.jsonl"))
	if err != nil {
		return nil, fmt.Errorf("archive.ReadInvalid: %w", err)
	}
	var out []Invalid
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("archive.ReadInvalid: %w", err)
		}
		dec := json.NewDecoder(f)
		for dec.More() {
			var dl deadLetter
			if err := dec.Decode(&dl); err != nil {
				f.Close()
				return nil, fmt.Errorf("archive.ReadInvalid: %s is corrupt: %w", name, err)
			}
			data, err := base64.StdEncoding.DecodeString(dl.DataBase64)
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("archive.ReadInvalid: %s: data_base64: %w", name, err)
			}
			rt, _ := time.Parse(time.RFC3339Nano, dl.ReceiveTime)
			var pt time.Time
			if dl.PublishTime != "" {
				pt, _ = time.Parse(time.RFC3339Nano, dl.PublishTime)
			}
			out = append(out, Invalid{Data: data, Attributes: dl.Attributes, MessageID: dl.MessageID, PublishTime: pt, ReceiveTime: rt, Reason: dl.Reason})
		}
		f.Close()
	}
	return out, nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
