package seal

import (
	"context"
	"errors"
	"fmt"
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
