// Package btsink writes metrics rows to Bigtable in the layout of
// internal/layout, with plain row mutations only — never a single-row
// transaction (CheckAndMutateRow, ReadModifyWriteRow), which app profiles
// with multi-cluster routing, or without transactional writes, refuse:
//
//   - Provisional (streaming): each row's whole new content, as the
//     streaming job's fold computed it, overwrites the row's family `p`
//     (layout.OverwriteFamily, timestamped with the row's write time), and
//     realtime minute rows family `r` the same way. Writing the same
//     content twice, or an older content late, changes nothing a reader
//     sees (layout.RowCells), so the runner may re-run a bundle freely.
//   - Sealed (batch): each row's family `s` is replaced whole by one row
//     mutation (layout.ReplaceFamily); `p` is left alone.
//
// Prism fails the whole job on any bundle error and does not retry, so the
// sink retries transient Bigtable errors itself, with capped backoff, for
// as long as the job runs: an unavailable Bigtable stalls the pipeline
// (and Pub/Sub keeps the backlog) instead of losing rows. Errors no retry
// can fix (permission denied, invalid argument, failed precondition, …)
// fail the job at once, loudly.
package btsink

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"cloud.google.com/go/bigtable"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/pipelines/internal/counters"
)

func init() {
	register.DoFn3x1[context.Context, string, layout.RowContent, error](&overwriteFn{})
	register.DoFn3x1[context.Context, string, layout.RowContent, error](&sealedFn{})
}

// Options name the Bigtable instance (the client honours
// BIGTABLE_EMULATOR_HOST, so locally Project and Instance may be anything).
type Options struct {
	Project  string
	Instance string
	// AppProfile is the Bigtable app profile to use ("" : the instance's
	// default profile). Production gives the streaming job, the sealer and
	// the query API one each (docs/deploy.md).
	AppProfile string
	// SealedAt is the generation (Unix µs) WriteSealed stamps on every row
	// it writes; 0 stamps the time of writing.
	SealedAt int64
}

var (
	rowsWritten = counters.New("bigtable_rows_written", "Bigtable rows written (provisional, realtime and sealed).")
	writeErrors = counters.New("bigtable_write_errors", "Bigtable reads or writes that failed with a transient error and were retried.")
)

// batchRows is how many rows one ApplyBulk call writes (each row is still
// its own atomic mutation).
const batchRows = 100

// WriteProvisional writes each row's content (PCollection<KV<string,
// layout.RowContent>>, the streaming job's Outputs.Rows) to its
// provisional family.
func WriteProvisional(s beam.Scope, opts Options, rows beam.PCollection) {
	s = s.Scope("btsink.WriteProvisional")
	beam.ParDo0(s, &overwriteFn{Project: opts.Project, Instance: opts.Instance, AppProfile: opts.AppProfile, Family: layout.FamilyProvisional}, rows)
}

// WriteRealtime writes each realtime minute row's content
// (PCollection<KV<string, layout.RowContent>> keyed by layout.RealtimeKey)
// to its realtime family.
func WriteRealtime(s beam.Scope, opts Options, rows beam.PCollection) {
	s = s.Scope("btsink.WriteRealtime")
	beam.ParDo0(s, &overwriteFn{Project: opts.Project, Instance: opts.Instance, AppProfile: opts.AppProfile, Family: layout.FamilyRealtime}, rows)
}

// conn is a DoFn's Bigtable connection.
type conn struct {
	client   *bigtable.Client
	metrics  *bigtable.Table
	meta     *bigtable.Table
	lastBeat time.Time
}

func (c *conn) open(ctx context.Context, project, instance, appProfile string) error {
	cl, err := bigtable.NewClientWithConfig(ctx, project, instance, bigtable.ClientConfig{AppProfile: appProfile})
	if err != nil {
		return fmt.Errorf("btsink: bigtable.NewClient: %w", err)
	}
	c.client, c.metrics, c.meta = cl, cl.Open(layout.TableMetrics), cl.Open(layout.TableMeta)
	return nil
}

func (c *conn) close() error {
	if c.client != nil {
		return c.client.Close()
	}
	return nil
}

// heartbeat records, at most once a second, that provisional values were
// just written: readers report it as how fresh provisional data is. A
// plain write of the current time: a late one can only make the mark look
// older for a second.
func (c *conn) heartbeat(ctx context.Context) {
	if time.Since(c.lastBeat) < time.Second {
		return
	}
	c.lastBeat = time.Now()
	m := bigtable.NewMutation()
	m.Set(layout.FamilyMeta, layout.ColProvisionalAt, bigtable.Now(), layout.EncodeInt(time.Now().UnixMicro()))
	if err := c.meta.Apply(ctx, layout.MetaWatermarks, m); err != nil {
		slog.WarnContext(ctx, "btsink: heartbeat failed", "err", err)
	}
}

// overwriteFn writes whole rows to one family with plain mutations
// (layout.OverwriteFamily), timestamped with each row's _at.
type overwriteFn struct {
	Project    string
	Instance   string
	AppProfile string
	Family     string

	c    conn
	keys []string
	muts []*bigtable.Mutation
}

func (fn *overwriteFn) Setup(ctx context.Context) error {
	return fn.c.open(ctx, fn.Project, fn.Instance, fn.AppProfile)
}

func (fn *overwriteFn) Teardown() error { return fn.c.close() }

func (fn *overwriteFn) ProcessElement(ctx context.Context, key string, rc layout.RowContent) error {
	at := rc.UpdatedAt()
	if at <= 0 {
		return fmt.Errorf("btsink: row %s has no write time (_at): the transforms stamp every row", key)
	}
	ts := bigtable.Timestamp(at).TruncateToMilliseconds()
	fn.keys = append(fn.keys, key)
	fn.muts = append(fn.muts, layout.OverwriteFamily(fn.Family, rc.Cells, rc.Drop, ts))
	if len(fn.keys) >= batchRows {
		return fn.flush(ctx)
	}
	return nil
}

func (fn *overwriteFn) FinishBundle(ctx context.Context) error { return fn.flush(ctx) }

func (fn *overwriteFn) flush(ctx context.Context) error {
	keys, muts := fn.keys, fn.muts
	fn.keys, fn.muts = nil, nil
	if err := applyBulk(ctx, fn.c.metrics, fmt.Sprintf("write %s", fn.Family), keys, muts); err != nil {
		return err
	}
	if fn.Family == layout.FamilyProvisional && len(keys) > 0 {
		fn.c.heartbeat(ctx)
	}
	return nil
}

// applyBulk applies row mutations, retrying the rows that failed with a
// transient error until they succeed or ctx ends.
func applyBulk(ctx context.Context, tbl *bigtable.Table, what string, keys []string, muts []*bigtable.Mutation) error {
	if len(keys) == 0 {
		return nil
	}
	return retry(ctx, fmt.Sprintf("%s: %d rows from %s", what, len(keys), keys[0]), func() error {
		errs, err := tbl.ApplyBulk(ctx, keys, muts)
		if err != nil {
			return err
		}
		var failedKeys []string
		var failedMuts []*bigtable.Mutation
		var failed error
		for i, e := range errs {
			if e != nil {
				failedKeys, failedMuts = append(failedKeys, keys[i]), append(failedMuts, muts[i])
				failed = errors.Join(failed, fmt.Errorf("row %s: %w", keys[i], e))
			}
		}
		rowsWritten.Inc(ctx, int64(len(keys)-len(failedKeys)))
		keys, muts = failedKeys, failedMuts // the next attempt retries only those
		return failed
	})
}

// Permanent reports whether err is one no retry can fix: the request
// itself or the caller's rights are wrong (permission denied, an app
// profile that refuses the call, a missing table, a malformed mutation).
func Permanent(err error) bool {
	var perm *permanentError
	if errors.As(err, &perm) {
		return true
	}
	// errors.Join of per-row errors: permanent if any row's error is.
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if Permanent(e) {
				return true
			}
		}
		return false
	}
	st, ok := status.FromError(unwrapAll(err))
	if !ok {
		return false
	}
	switch st.Code() {
	case codes.PermissionDenied, codes.Unauthenticated, codes.InvalidArgument, codes.FailedPrecondition,
		codes.NotFound, codes.Unimplemented, codes.OutOfRange:
		return true
	}
	return false
}

// unwrapAll returns the innermost error of a chain of single wraps.
func unwrapAll(err error) error {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			return err
		}
		err = u
	}
}

// permanentError is a failure retrying cannot fix (a row that does not
// decode): the job fails instead of retrying forever.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// retry runs op until it succeeds, fails permanently (Permanent) or ctx
// ends; transient errors back off from 100 ms to 10 s.
func retry(ctx context.Context, what string, op func() error) error {
	backoff := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil {
			return nil
		}
		if Permanent(err) {
			slog.ErrorContext(ctx, "btsink: write failed and cannot succeed by retrying: fix the cause (app profile, IAM role, table, request) and restart the job",
				"what", what, "err", err)
			return fmt.Errorf("btsink: %s: %w", what, err)
		}
		writeErrors.Inc(ctx, 1)
		if attempt == 1 || attempt%10 == 0 {
			slog.WarnContext(ctx, "btsink: write failed; retrying", "what", what, "attempt", attempt, "err", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("btsink: %s: giving up: %w (last error: %w)", what, ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}
