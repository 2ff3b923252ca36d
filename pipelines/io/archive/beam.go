package archive

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/pipelines/internal/counters"
	// The Beam coder of event.Event (event.Encode/event.Decode) is
	// registered there; the archive's PCollections use the same one.
	_ "github.com/footfall/footfall/pipelines/transforms"
)

func init() {
	register.DoFn3x1[context.Context, []byte, func(string), error](&listFn{})
	register.DoFn3x1[context.Context, string, func(beam.EventTime, event.Event), error](&readFileFn{})
	register.Emitter1[string]()
	register.Emitter2[beam.EventTime, event.Event]()
}

// Counters of the batch job (pipelines/internal/counters: Beam metrics
// and live process counters).
var (
	archiveFiles  = counters.New("archive_files_read", "Archive data files read by batch jobs.")
	archiveEvents = counters.New("archive_events_read", "Archived events read by batch jobs (in range, duplicates included).")
)

// Read is a batch source of the archived events with event time in
// [from, to) and, when merchants is not empty, of those merchants:
// PCollection<event.Event>, each element timestamped with its event time.
//
// The files are listed when the pipeline runs, not when it is built; each
// file is one element after a reshuffle, so the runner reads files in
// parallel. Events are not deduplicated (see Scan).
func Read(s beam.Scope, dir string, from, to time.Time, merchants []string) beam.PCollection {
	s = s.Scope("archive.Read")
	q := Query{From: from, To: to, Merchants: merchants}
	if dir == "" {
		panic("archive.Read: the archive directory is required")
	}
	if err := q.Validate(); err != nil {
		panic(fmt.Sprintf("archive.Read: %v", err))
	}
	files := beam.ParDo(s, &listFn{Dir: dir, FromMicros: from.UnixMicro(), ToMicros: to.UnixMicro()}, beam.Impulse(s))
	files = beam.Reshuffle(s, files)
	return beam.ParDo(s, &readFileFn{FromMicros: from.UnixMicro(), ToMicros: to.UnixMicro(), Merchants: merchants}, files)
}

// listFn emits the data files of the hours overlapping the range.
type listFn struct {
	Dir                  string
	FromMicros, ToMicros int64
}

func (fn *listFn) ProcessElement(ctx context.Context, _ []byte, emit func(string)) error {
	files, err := Files(fn.Dir, time.UnixMicro(fn.FromMicros), time.UnixMicro(fn.ToMicros))
	if err != nil {
		return err
	}
	for _, f := range files {
		emit(f)
	}
	return nil
}

// readFileFn emits the matching events of one data file.
type readFileFn struct {
	FromMicros, ToMicros int64
	Merchants            []string
}

func (fn *readFileFn) ProcessElement(ctx context.Context, name string, emit func(beam.EventTime, event.Event)) error {
	q := Query{From: time.UnixMicro(fn.FromMicros), To: time.UnixMicro(fn.ToMicros), Merchants: fn.Merchants}
	n := int64(0)
	err := ReadFile(ctx, name, q, func(e *event.Event) error {
		emit(beam.EventTime(e.EventTime/1000), *e)
		n++
		return nil
	})
	archiveFiles.Inc(ctx, 1)
	archiveEvents.Inc(ctx, n)
	return err
}
