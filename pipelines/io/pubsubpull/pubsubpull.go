// Package pubsubpull reads a Pub/Sub subscription into a Beam pipeline on
// runners that have no native Pub/Sub source, such as Prism.
//
// It is an unbounded splittable DoFn: the restriction is an endless offset
// range split into Shards parallel readers, and every call of ProcessElement
// claims one offset, pulls a batch of messages, emits them and asks to be
// resumed. Messages are acknowledged only when the same shard resumes: the
// runner resumes a restriction only after it has committed the bundle that
// emitted them, so an acknowledged message has always been handed on. (Beam's
// bundle finalization would be the textbook mechanism, but it is broken in
// the Go SDK v2.77.0: see docs/pipeline.md.)
//
// With ArchiveDir set, every pulled batch is written durably to the raw
// archive (pipelines/io/archive: decoded events as Parquet, undecodable
// messages as dead letters) before any of it is emitted, so a message is
// durable in the archive before it can be acknowledged. When archiving
// fails nothing is emitted: the batch is handed back to Pub/Sub
// (ModifyAckDeadline 0) and the shard backs off.
//
// With MaxLag set, a shard pulls nothing while the job's fold trails what
// the reader handed on by more than MaxLag (pipelines/internal/lag): the
// excess stays in Pub/Sub, where ingest's back-pressure sees it, instead
// of queueing in the runner's memory without bound. With MaxInFlight set,
// a shard also pulls nothing while more than MaxInFlight elements wait in
// the runner in front of the job's stateful steps (lag.Tracker.Crowded):
// the exact bound on that queue, which MaxLag alone cannot see because
// Prism does not drain it in event-time order.
//
// Prism keeps its state in memory, so a crash can still lose what was
// acknowledged but not yet aggregated; hours are made exact afterwards by
// sealing from the raw archive. On Dataflow use the SDK's pubsubio instead.
package pubsubpull

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/sdf"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/rtrackers/offsetrange"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/pipelines/internal/counters"
	"github.com/footfall/footfall/pipelines/internal/lag"
	"github.com/footfall/footfall/pipelines/io/archive"
)

func init() {
	register.DoFn5x2[context.Context, *wallClockEstimator, *sdf.LockRTracker, []byte, func(beam.EventTime, []byte), sdf.ProcessContinuation, error](&readFn{})
	register.Emitter2[beam.EventTime, []byte]()
}

// Options configure Read.
type Options struct {
	// Project and Subscription name the subscription (short names).
	Project      string
	Subscription string
	// Shards is the number of parallel readers (default 2).
	Shards int
	// MaxBatch bounds the messages one call emits (default 5000).
	MaxBatch int
	// TimeAttribute names the attribute holding the event time (RFC 3339);
	// without it, or when absent, the publish time is used.
	TimeAttribute string
	// WatermarkLag is how far the watermark trails the wall clock (default 5s).
	WatermarkLag time.Duration
	// ArchiveDir, when set, is the raw archive every batch is written to
	// (durably) before it is emitted.
	ArchiveDir string
	// MaxLag, when positive, pauses pulling while lag.Process.Behind()
	// exceeds it (the reader and the fold must share the process: Prism).
	MaxLag time.Duration
	// MaxInFlight, when positive, pauses pulling while more than this many
	// elements wait in front of the job's stateful steps
	// (lag.Process.Crowded; Prism only, like MaxLag).
	MaxInFlight int64
}

// Counters: Beam counters and the process's /metrics (pipelines/internal/counters).
var (
	archivedEvents   = counters.New("archive_events_written", "Prism: events written to the raw archive by the Pub/Sub reader.")
	archivedInvalid  = counters.New("archive_invalid_messages", "Prism: undecodable messages written to the archive's invalid files.")
	archiveFailures  = counters.New("archive_write_errors", "Prism: archive writes that failed (the batch goes back to Pub/Sub).")
	archivedBatchLat = beam.NewDistribution(counters.Namespace, "archive_batch_ms")
	pausedPulls      = counters.New("reader_paused_pulls", "Prism: pulls the Pub/Sub reader skipped because the job was behind by more than --max-lag or had more than --max-in-flight elements queued.")
)

// paused is whether the reader last skipped a pull.
var paused atomic.Bool

// pauseLog throttles the pause and resume lines. Under a sustained
// overload the queue hovers at --max-in-flight and the reader pauses and
// resumes every few seconds, so a pause is logged at most once a minute
// (with the pauses since the last line), a resume only after a logged
// pause, and a pause that was not logged is logged once it has lasted
// into the next minute: the last line always tells the state.
var pauseLog struct {
	sync.Mutex
	last   time.Time // the last logged pause
	logged bool      // the current pause was logged
	pauses int       // pauses since the last logged one
}

// Read returns an unbounded PCollection<[]byte> of message bodies, each
// timestamped with its event time.
func Read(s beam.Scope, opts Options) beam.PCollection {
	s = s.Scope("pubsubpull.Read")
	if opts.Project == "" || opts.Subscription == "" {
		panic("pubsubpull.Read: Project and Subscription are required")
	}
	if opts.Shards <= 0 {
		opts.Shards = 2
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 5000
	}
	if opts.WatermarkLag <= 0 {
		opts.WatermarkLag = 5 * time.Second
	}
	imp := beam.Impulse(s)
	return beam.ParDo(s, &readFn{
		Project:       opts.Project,
		Subscription:  opts.Subscription,
		Shards:        opts.Shards,
		MaxBatch:      opts.MaxBatch,
		TimeAttribute: opts.TimeAttribute,
		LagMillis:     opts.WatermarkLag.Milliseconds(),
		ArchiveDir:    opts.ArchiveDir,
		MaxLagMillis:  opts.MaxLag.Milliseconds(),
		MaxInFlight:   opts.MaxInFlight,
	}, imp)
}

// pending holds, per subscription and shard, the ack ids of the last batch
// emitted; they are acknowledged when that shard resumes.
var pending = struct {
	sync.Mutex
	ids map[string][]string
}{ids: map[string][]string{}}

// failures counts, per shard, the consecutive batches that could not be
// archived (for backoff).
var failures = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

// writers shares one archive writer per directory among the shards of a
// process.
var writers = struct {
	sync.Mutex
	w map[string]*archive.Writer
}{w: map[string]*archive.Writer{}}

func sharedWriter(dir string) (*archive.Writer, error) {
	writers.Lock()
	defer writers.Unlock()
	if w, ok := writers.w[dir]; ok {
		return w, nil
	}
	w, err := archive.NewWriter(dir)
	if err != nil {
		return nil, err
	}
	writers.w[dir] = w
	return w, nil
}

type readFn struct {
	Project       string
	Subscription  string
	Shards        int
	MaxBatch      int
	TimeAttribute string
	LagMillis     int64
	ArchiveDir    string
	MaxLagMillis  int64
	MaxInFlight   int64

	client  *pubsub.Client
	subName string
	archive *archive.Writer
}

func (fn *readFn) Setup(ctx context.Context) error {
	c, err := pubsub.NewClient(ctx, fn.Project)
	if err != nil {
		return fmt.Errorf("pubsubpull: pubsub.NewClient: %w", err)
	}
	fn.client = c
	fn.subName = fmt.Sprintf("projects/%s/subscriptions/%s", fn.Project, fn.Subscription)
	if fn.ArchiveDir != "" {
		w, err := sharedWriter(fn.ArchiveDir)
		if err != nil {
			return fmt.Errorf("pubsubpull: open the archive: %w", err)
		}
		fn.archive = w
	}
	return nil
}

func (fn *readFn) Teardown() error {
	if fn.client != nil {
		return fn.client.Close()
	}
	return nil
}

func (fn *readFn) CreateInitialRestriction(_ []byte) offsetrange.Restriction {
	return offsetrange.Restriction{Start: 0, End: math.MaxInt64}
}

func (fn *readFn) SplitRestriction(_ []byte, r offsetrange.Restriction) []offsetrange.Restriction {
	return r.EvenSplits(int64(fn.Shards))
}

func (fn *readFn) RestrictionSize(_ []byte, r offsetrange.Restriction) float64 {
	return r.Size()
}

func (fn *readFn) CreateTracker(r offsetrange.Restriction) *sdf.LockRTracker {
	return sdf.NewLockRTracker(&endlessTracker{Tracker: offsetrange.NewTracker(r)})
}

// TruncateRestriction is called when a job drains: there is nothing left to do.
func (fn *readFn) TruncateRestriction(rt *sdf.LockRTracker, _ []byte) offsetrange.Restriction {
	start := rt.GetRestriction().(offsetrange.Restriction).Start
	return offsetrange.Restriction{Start: start, End: start}
}

func (fn *readFn) InitialWatermarkEstimatorState(_ beam.EventTime, _ offsetrange.Restriction, _ []byte) int64 {
	return time.Now().Add(-time.Duration(fn.LagMillis) * time.Millisecond).UnixMilli()
}

func (fn *readFn) CreateWatermarkEstimator(ms int64) *wallClockEstimator {
	return &wallClockEstimator{ms: ms}
}

func (fn *readFn) WatermarkEstimatorState(we *wallClockEstimator) int64 { return we.ms }

// shardKey identifies a reader shard by the first offset of its split, which
// stays fixed across resumes, hence the shard's end offset.
func (fn *readFn) shardKey(r offsetrange.Restriction) string {
	return fmt.Sprintf("%s/%d", fn.subName, r.End)
}

func (fn *readFn) ProcessElement(ctx context.Context, we *wallClockEstimator, rt *sdf.LockRTracker, _ []byte, emit func(beam.EventTime, []byte)) (sdf.ProcessContinuation, error) {
	r := rt.GetRestriction().(offsetrange.Restriction)
	key := fn.shardKey(r)

	// The runner resumed this shard, so the previous batch is committed.
	if err := fn.ackPending(ctx, key); err != nil {
		slog.WarnContext(ctx, "pubsubpull: acknowledge failed; messages will be redelivered", "err", err)
	}
	if !rt.TryClaim(r.Start) {
		return sdf.StopProcessing(), nil
	}
	if fn.behind(ctx) {
		// Leave the messages in Pub/Sub and keep the watermark: they are
		// still to come.
		pausedPulls.Inc(ctx, 1)
		return sdf.ResumeProcessingIn(500 * time.Millisecond), nil
	}

	msgs, ackIDs, err := fn.pull(ctx)
	if err != nil {
		// A transient error: back off and try again from the next offset.
		slog.WarnContext(ctx, "pubsubpull: pull failed; retrying", "err", err)
		we.advance(fn.LagMillis)
		return sdf.ResumeProcessingIn(time.Second), nil
	}
	if fn.archive != nil && len(msgs) > 0 {
		if err := fn.archiveBatch(ctx, msgs); err != nil {
			// Emit nothing, hand the batch back and keep the watermark:
			// the messages are still to come.
			archiveFailures.Inc(ctx, 1)
			delay := fn.backoff(key)
			slog.ErrorContext(ctx, "pubsubpull: archiving a batch failed; nothing was emitted, the batch goes back to Pub/Sub for redelivery; fix the archive directory",
				"err", err, "archive_dir", fn.ArchiveDir, "messages", len(msgs), "retry_in", delay.String())
			if err := fn.nack(ctx, ackIDs); err != nil {
				slog.WarnContext(ctx, "pubsubpull: handing the batch back failed; it is redelivered after the ack deadline", "err", err)
			}
			return sdf.ResumeProcessingIn(delay), nil
		}
		failures.Lock()
		delete(failures.n, key)
		failures.Unlock()
	}
	var newest int64
	for _, m := range msgs {
		t := fn.eventTime(m)
		newest = max(newest, t.UnixMicro())
		emit(beam.EventTime(t.UnixMilli()), m.Data)
	}
	if newest > 0 {
		lag.Process.Pulled(newest)
	}
	pending.Lock()
	pending.ids[key] = ackIDs
	pending.Unlock()

	we.advance(fn.LagMillis)
	if len(msgs) == 0 {
		return sdf.ResumeProcessingIn(200 * time.Millisecond), nil
	}
	return sdf.ResumeProcessingIn(0), nil
}

// behind says whether the job trails its reader by more than MaxLag
// while its fold is busy (lag.Tracker.Holding), or has more than
// MaxInFlight elements queued in front of its stateful steps
// (lag.Tracker.Crowded), logging when that starts and ends.
func (fn *readFn) behind(ctx context.Context) bool {
	limit := time.Duration(fn.MaxLagMillis) * time.Millisecond
	holding := fn.MaxLagMillis > 0 && lag.Process.Holding(limit)
	crowded := fn.MaxInFlight > 0 && lag.Process.Crowded(fn.MaxInFlight)
	on := holding || crowded
	if was := paused.Swap(on); on || was {
		fn.report(ctx, on, on != was, limit)
	}
	return on
}

// report logs a pause or a resume (pauseLog).
func (fn *readFn) report(ctx context.Context, on, changed bool, limit time.Duration) {
	pauseLog.Lock()
	defer pauseLog.Unlock()
	by := lag.Process.Behind().Round(time.Second).String()
	inFlight := lag.Process.InFlight()
	switch {
	case on:
		if changed {
			pauseLog.pauses++
		}
		if now := time.Now(); !pauseLog.logged && now.Sub(pauseLog.last) >= time.Minute {
			slog.WarnContext(ctx, "pubsubpull: the job is behind its reader; pulling paused until it catches up (the backlog stays in Pub/Sub, where ingest's back-pressure sees it)",
				"behind", by, "max_lag", limit.String(), "in_flight", inFlight, "max_in_flight", fn.MaxInFlight, "pauses", pauseLog.pauses)
			pauseLog.last, pauseLog.logged, pauseLog.pauses = now, true, 0
		}
	case changed && pauseLog.logged:
		slog.InfoContext(ctx, "pubsubpull: the job caught up; pulling again", "behind", by, "in_flight", inFlight)
		pauseLog.logged = false
	}
}

// archiveBatch decodes every message and writes the events, and the
// messages that do not decode, durably to the archive.
func (fn *readFn) archiveBatch(ctx context.Context, msgs []*pubsubpb.PubsubMessage) error {
	start := time.Now()
	events := make([]event.Event, 0, len(msgs))
	var invalid []archive.Invalid
	for _, m := range msgs {
		e, err := event.Decode(m.Data)
		if err != nil {
			invalid = append(invalid, archive.Invalid{
				Data:        m.Data,
				Attributes:  m.Attributes,
				MessageID:   m.MessageId,
				PublishTime: m.GetPublishTime().AsTime(),
				ReceiveTime: start,
				Reason:      err.Error(),
			})
			continue
		}
		events = append(events, e)
	}
	if err := fn.archive.WriteBatch(ctx, events); err != nil {
		return err
	}
	if err := fn.archive.WriteInvalid(ctx, invalid); err != nil {
		return err
	}
	archivedEvents.Inc(ctx, int64(len(events)))
	archivedInvalid.Inc(ctx, int64(len(invalid)))
	archivedBatchLat.Update(ctx, time.Since(start).Milliseconds())
	return nil
}

// backoff returns how long a shard waits after its latest archive failure:
// 1 s doubling to 30 s.
func (fn *readFn) backoff(key string) time.Duration {
	failures.Lock()
	defer failures.Unlock()
	n := failures.n[key]
	failures.n[key] = n + 1
	return min(time.Second<<min(n, 5), 30*time.Second)
}

// nack makes messages available for redelivery now.
func (fn *readFn) nack(ctx context.Context, ids []string) error {
	for len(ids) > 0 {
		n := min(1000, len(ids))
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := fn.client.SubscriptionAdminClient.ModifyAckDeadline(cctx, &pubsubpb.ModifyAckDeadlineRequest{
			Subscription:       fn.subName,
			AckIds:             ids[:n],
			AckDeadlineSeconds: 0,
		})
		cancel()
		if err != nil {
			return fmt.Errorf("modify ack deadline of %d messages: %w", len(ids), err)
		}
		ids = ids[n:]
	}
	return nil
}

func (fn *readFn) eventTime(m *pubsubpb.PubsubMessage) time.Time {
	if fn.TimeAttribute != "" {
		if v, ok := m.Attributes[fn.TimeAttribute]; ok {
			if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
				return t
			}
		}
	}
	return m.GetPublishTime().AsTime()
}

// pull gathers up to MaxBatch messages, returning early when the
// subscription has nothing more to give.
func (fn *readFn) pull(ctx context.Context) ([]*pubsubpb.PubsubMessage, []string, error) {
	var msgs []*pubsubpb.PubsubMessage
	var ids []string
	deadline := time.Now().Add(500 * time.Millisecond)
	for len(msgs) < fn.MaxBatch && time.Now().Before(deadline) {
		n := min(1000, fn.MaxBatch-len(msgs))
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		resp, err := fn.client.SubscriptionAdminClient.Pull(cctx, &pubsubpb.PullRequest{
			Subscription: fn.subName,
			MaxMessages:  int32(n),
			//lint:ignore SA1019 the emulator otherwise holds an empty pull for 500 ms; the reader paces itself.
			ReturnImmediately: true,
		})
		cancel()
		if err != nil {
			if len(msgs) > 0 {
				break // hand on what we have; the error will recur on the next call
			}
			return nil, nil, fmt.Errorf("pull %s: %w", fn.subName, err)
		}
		for _, rm := range resp.ReceivedMessages {
			msgs = append(msgs, rm.Message)
			ids = append(ids, rm.AckId)
		}
		if len(resp.ReceivedMessages) < n {
			break
		}
	}
	return msgs, ids, nil
}

func (fn *readFn) ackPending(ctx context.Context, key string) error {
	pending.Lock()
	ids := pending.ids[key]
	delete(pending.ids, key)
	pending.Unlock()
	for len(ids) > 0 {
		n := min(1000, len(ids))
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := fn.client.SubscriptionAdminClient.Acknowledge(cctx, &pubsubpb.AcknowledgeRequest{
			Subscription: fn.subName,
			AckIds:       ids[:n],
		})
		cancel()
		if err != nil {
			return fmt.Errorf("acknowledge %d messages: %w", len(ids), err)
		}
		ids = ids[n:]
	}
	return nil
}

// endlessTracker is an offset tracker that is unbounded and refuses dynamic
// splits: a reader shard cannot hand half of an endless stream to another
// worker. A split at fraction 0 is a self-checkpoint and passes through.
type endlessTracker struct {
	*offsetrange.Tracker
}

func (t *endlessTracker) TrySplit(fraction float64) (primary, residual any, err error) {
	if fraction > 0 {
		return t.GetRestriction(), nil, nil
	}
	return t.Tracker.TrySplit(fraction)
}

func (t *endlessTracker) IsBounded() bool { return false }

// wallClockEstimator holds the watermark (Unix milliseconds). The reader
// advances it to the wall clock minus a lag after every pull: events that
// arrive older than that are late and are handled by allowed lateness.
type wallClockEstimator struct {
	ms int64
}

func (e *wallClockEstimator) CurrentWatermark() time.Time { return time.UnixMilli(e.ms) }

func (e *wallClockEstimator) advance(lagMillis int64) {
	if t := time.Now().UnixMilli() - lagMillis; t > e.ms {
		e.ms = t
	}
}
