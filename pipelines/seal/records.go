package seal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"cloud.google.com/go/bigtable"

	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/pipelines/io/archive"
)

// Records reads and writes the meta table's seal records and the old
// values a dry run compares with.
type Records struct {
	client  *bigtable.Client
	meta    *bigtable.Table
	metrics *bigtable.Table
}

// OpenRecords connects to the instance (through appProfile, "" for the
// default) and checks, within timeout, that its tables answer.
func OpenRecords(ctx context.Context, project, instance, appProfile string, timeout time.Duration) (*Records, error) {
	c, err := bigtable.NewClientWithConfig(ctx, project, instance, bigtable.ClientConfig{AppProfile: appProfile})
	if err != nil {
		return nil, fmt.Errorf("seal: connect to Bigtable %s/%s: %w", project, instance, err)
	}
	r := &Records{client: c, meta: c.Open(layout.TableMeta), metrics: c.Open(layout.TableMetrics)}
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := r.meta.ReadRow(pctx, layout.MetaWatermarks); err != nil {
		c.Close()
		return nil, fmt.Errorf("seal: Bigtable %s/%s does not answer (is it running, and BIGTABLE_EMULATOR_HOST right when local?): %w", project, instance, err)
	}
	return r, nil
}

// Close closes the connection.
func (r *Records) Close() error { return r.client.Close() }

// Seals returns the seal records of the hours in [from, to) by hour start.
func (r *Records) Seals(ctx context.Context, from, to time.Time) (map[time.Time]layout.Seal, error) {
	out := map[time.Time]layout.Seal{}
	var derr error
	rng := bigtable.NewRange(layout.SealKey(from), layout.SealKey(to))
	err := r.meta.ReadRows(ctx, rng, func(row bigtable.Row) bool {
		s, err := layout.DecodeSeal(row)
		if err != nil {
			derr = err
			return false
		}
		out[s.Hour] = s
		return true
	}, bigtable.RowFilter(bigtable.LatestNFilter(1)))
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, fmt.Errorf("seal: read seal records: %w", err)
	}
	return out, nil
}

// Record writes an hour's seal record after its rows were written. A full
// run (every merchant) sets sealed_at to its generation, which retires the
// rows it did not write, bumps runs and records what it read (st, when
// known); a merchant-scoped run only moves changed_at, so that caches of
// the hour let go.
func (r *Records) Record(ctx context.Context, hour time.Time, gen int64, full bool, st archive.HourStat, statKnown bool) error {
	m := bigtable.NewMutation()
	ts := bigtable.Now()
	m.Set(layout.FamilyMeta, layout.ColSealChangedAt, ts, layout.EncodeInt(gen))
	if full {
		m.Set(layout.FamilyMeta, layout.ColSealedAt, ts, layout.EncodeInt(gen))
		if statKnown {
			m.Set(layout.FamilyMeta, layout.ColSealedEvents, ts, layout.EncodeInt(st.Rows))
			m.Set(layout.FamilyMeta, layout.ColArchivedAt, ts, layout.EncodeInt(st.Newest.UnixMicro()))
		}
	}
	key := layout.SealKey(hour)
	if err := r.meta.Apply(ctx, key, m); err != nil {
		return fmt.Errorf("seal: write the seal record of %s: %w", hour.Format(time.RFC3339), err)
	}
	if full {
		inc := bigtable.NewReadModifyWrite()
		inc.Increment(layout.FamilyMeta, layout.ColSealRuns, 1)
		if _, err := r.meta.ApplyReadModifyWrite(ctx, key, inc); err != nil {
			return fmt.Errorf("seal: count the run of %s: %w", hour.Format(time.RFC3339), err)
		}
	}
	return nil
}

// SealedThrough returns the watermarks row's sealed_through (zero if unset).
func (r *Records) SealedThrough(ctx context.Context) (time.Time, error) {
	row, err := r.meta.ReadRow(ctx, layout.MetaWatermarks, bigtable.RowFilter(bigtable.ColumnFilter(layout.ColSealedThrough)))
	if err != nil {
		return time.Time{}, fmt.Errorf("seal: read sealed_through: %w", err)
	}
	items := row[layout.FamilyMeta]
	if len(items) == 0 {
		return time.Time{}, nil
	}
	v, err := layout.DecodeInt(items[0].Value) // the newest version
	if err != nil {
		return time.Time{}, fmt.Errorf("seal: sealed_through: %w", err)
	}
	return time.UnixMicro(v).UTC(), nil
}

// SetSealedThrough records that every hour ending by t is sealed.
func (r *Records) SetSealedThrough(ctx context.Context, t time.Time) error {
	m := bigtable.NewMutation()
	m.Set(layout.FamilyMeta, layout.ColSealedThrough, bigtable.Now(), layout.EncodeInt(t.UnixMicro()))
	if err := r.meta.Apply(ctx, layout.MetaWatermarks, m); err != nil {
		return fmt.Errorf("seal: write sealed_through: %w", err)
	}
	return nil
}

// ServedTotals returns what the query API serves for each merchant-hour
// key (layout.TotalsKey) right now: sealed or provisional values by the
// rule of layout.Current, nil where it serves nothing.
func (r *Records) ServedTotals(ctx context.Context, keys []string, seals map[time.Time]layout.Seal) (map[string]*layout.Totals, error) {
	out := map[string]*layout.Totals{}
	if len(keys) == 0 {
		return out, nil
	}
	var derr error
	err := r.metrics.ReadRows(ctx, bigtable.RowList(keys), func(row bigtable.Row) bool {
		k, err := layout.ParseKey(row.Key())
		if err != nil {
			derr = err
			return false
		}
		fam := layout.FamilySealed
		if len(row[fam]) == 0 {
			fam = layout.FamilyProvisional
		}
		t, err := layout.DecodeTotals(row, fam)
		if err != nil {
			derr = err
			return false
		}
		if t != nil && layout.Current(seals[k.Time].SealedAt, fam, t.UpdatedAt) {
			out[row.Key()] = t
		}
		return true
	}, bigtable.RowFilter(bigtable.LatestNFilter(1)))
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, errors.Join(errors.New("seal: read the current totals"), err)
	}
	return out, nil
}

// The seal lease (meta row LeaseRow) serialises every run that writes
// sealed rows — the sealer's passes and backfills, merchant-scoped or not
// — so that two runs never write the same hours at once: a generation is
// taken only under the lease, so a later writer always carries a later
// generation (a merchant-scoped backfill beside the sealer would otherwise
// stamp its rows with a generation older than the seal record, and the
// hour would serve nothing). The lease is a row with its holder and expiry,
// taken and renewed with conditional mutations (single-row transactions:
// the sealer's app profile allows them, docs/deploy.md); a holder that dies
// loses it at expiry.
const (
	LeaseRow        = "lease#seal"
	colLeaseHolder  = "holder"
	colLeaseExpires = "expires"
)

// Lease is a held seal lease.
type Lease struct {
	r      *Records
	holder string
	ttl    time.Duration
	stop   chan struct{}
	done   chan struct{}
}

// liveLease matches a lease row whose expiry is in the future.
func liveLease(now time.Time) bigtable.Filter {
	return bigtable.ChainFilters(bigtable.FamilyFilter("^"+layout.FamilyMeta+"$"),
		bigtable.ColumnFilter("^"+colLeaseExpires+"$"), bigtable.LatestNFilter(1),
		bigtable.ValueRangeFilter(layout.EncodeInt(now.UnixMicro()), nil))
}

// heldBy matches a lease row whose holder is holder.
func heldBy(holder string) bigtable.Filter {
	return bigtable.ChainFilters(bigtable.FamilyFilter("^"+layout.FamilyMeta+"$"),
		bigtable.ColumnFilter("^"+colLeaseHolder+"$"), bigtable.LatestNFilter(1),
		bigtable.ValueFilter("^"+regexpQuote(holder)+"$"))
}

func leaseMutation(holder string, expires time.Time) *bigtable.Mutation {
	m := bigtable.NewMutation()
	ts := bigtable.Now()
	m.Set(layout.FamilyMeta, colLeaseHolder, ts, []byte(holder))
	m.Set(layout.FamilyMeta, colLeaseExpires, ts, layout.EncodeInt(expires.UnixMicro()))
	return m
}

// AcquireLease waits until it holds the seal lease (logging, every
// minute, who holds it meanwhile), then keeps renewing it every ttl/3
// until Release. holder names this run in the row (host, pid, purpose).
func (r *Records) AcquireLease(ctx context.Context, holder string, ttl time.Duration, log func(msg string, args ...any)) (*Lease, error) {
	lastLog := time.Time{}
	for {
		now := time.Now()
		var held bool
		// Set the lease only if no live one exists.
		cond := bigtable.NewCondMutation(liveLease(now), nil, leaseMutation(holder, now.Add(ttl)))
		if err := r.meta.Apply(ctx, LeaseRow, cond, bigtable.GetCondMutationResult(&held)); err != nil {
			return nil, fmt.Errorf("seal: take the seal lease: %w", err)
		}
		if !held {
			l := &Lease{r: r, holder: holder, ttl: ttl, stop: make(chan struct{}), done: make(chan struct{})}
			go l.renew()
			return l, nil
		}
		if log != nil && time.Since(lastLog) >= time.Minute {
			lastLog = time.Now()
			who, until := r.leaseHolder(ctx)
			log("waiting for the seal lease: another seal or backfill is writing sealed values", "holder", who, "expires", until)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("seal: waiting for the seal lease: %w", ctx.Err())
		case <-time.After(2 * time.Second):
		}
	}
}

func (r *Records) leaseHolder(ctx context.Context) (string, time.Time) {
	row, err := r.meta.ReadRow(ctx, LeaseRow, bigtable.RowFilter(bigtable.LatestNFilter(1)))
	if err != nil {
		return "?", time.Time{}
	}
	var holder string
	var until time.Time
	for _, it := range row[layout.FamilyMeta] {
		switch strings.TrimPrefix(it.Column, layout.FamilyMeta+":") {
		case colLeaseHolder:
			holder = string(it.Value)
		case colLeaseExpires:
			if v, err := layout.DecodeInt(it.Value); err == nil {
				until = time.UnixMicro(v).UTC()
			}
		}
	}
	return holder, until
}

func (l *Lease) renew() {
	defer close(l.done)
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), l.ttl/3)
			cond := bigtable.NewCondMutation(heldBy(l.holder), leaseMutation(l.holder, time.Now().Add(l.ttl)), nil)
			if err := l.r.meta.Apply(ctx, LeaseRow, cond); err != nil {
				slog.Warn("seal: renewing the seal lease failed; retrying", "err", err)
			}
			cancel()
		}
	}
}

// Release gives the lease up (only if this run still holds it).
func (l *Lease) Release(ctx context.Context) error {
	close(l.stop)
	<-l.done
	del := bigtable.NewMutation()
	del.DeleteRow()
	if err := l.r.meta.Apply(ctx, LeaseRow, bigtable.NewCondMutation(heldBy(l.holder), del, nil)); err != nil {
		return fmt.Errorf("seal: release the seal lease: %w", err)
	}
	return nil
}

func regexpQuote(s string) string { return regexp.QuoteMeta(s) }
