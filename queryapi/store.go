package queryapi

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"cloud.google.com/go/bigtable"

	"github.com/footfall/footfall/internal/layout"
)

// Hour is one merchant-hour's totals as the API serves them.
type Hour struct {
	Start  time.Time
	Sealed bool
	Totals *layout.Totals
}

// BreakdownHour is one merchant-hour's breakdown of one dimension.
type BreakdownHour struct {
	Start     time.Time
	Sealed    bool
	Breakdown *layout.Breakdown
}

// QuarterHour is one merchant-hour's totals per UTC quarter hour, for the
// hours a bucket edge cuts.
type QuarterHour struct {
	Start  time.Time // the hour
	Sealed bool
	Totals *layout.QuarterTotals
}

// QuarterBreakdownHour is one merchant-hour's breakdowns of one dimension
// per UTC quarter hour.
type QuarterBreakdownHour struct {
	Start      time.Time // the hour
	Sealed     bool
	Breakdowns *layout.QuarterBreakdowns
}

// Minute is one merchant-minute's realtime counts.
type Minute struct {
	Start  time.Time
	Totals *layout.Totals
}

// Watermarks say how complete and fresh the stored data is.
type Watermarks struct {
	SealedThrough time.Time // zero: nothing sealed yet
	ProvisionalAt time.Time // zero: no provisional write yet
	// Seals maps the start of each sealed hour (Unix seconds) to the
	// generation of its last full seal (Unix µs; layout.Current), and
	// Changed to when any of its sealed rows last changed, from the meta
	// table's seal records.
	Seals   map[int64]int64
	Changed map[int64]int64
}

// Store is what the query API needs from storage. Every method reads one
// merchant's rows only: its row ranges start with the merchant id.
type Store interface {
	// Hours hands fn the merchant's hourly totals rows of the whole hours
	// in spans (hour-aligned, sorted, disjoint) that have data, in order,
	// each sealed where a sealed value exists, one at a time as they are
	// read in one scan (a long range is never held in memory at once). An
	// error from fn stops the scan and is returned.
	Hours(ctx context.Context, merchant string, spans []Bucket, fn func(Hour) error) error
	// QuarterHours hands fn the merchant's quarter totals rows of hours
	// (sorted) that have data, in order, in one read.
	QuarterHours(ctx context.Context, merchant string, hours []time.Time, fn func(QuarterHour) error) error
	// Breakdowns hands fn the merchant's hourly breakdown rows of dim for
	// the hours in spans, as Hours does. When value is not empty only that
	// value's item and the "other" item are read.
	Breakdowns(ctx context.Context, merchant string, dim layout.Dimension, spans []Bucket, value string, fn func(BreakdownHour) error) error
	// QuarterBreakdowns hands fn the merchant's quarter breakdown rows of
	// dim for hours, as QuarterHours does, value as for Breakdowns.
	QuarterBreakdowns(ctx context.Context, merchant string, dim layout.Dimension, hours []time.Time, value string, fn func(QuarterBreakdownHour) error) error
	// Minutes returns the merchant's realtime minutes in [from, to).
	Minutes(ctx context.Context, merchant string, from, to time.Time) ([]Minute, error)
	// Watermarks reads the freshness marks and the seal records.
	Watermarks(ctx context.Context) (Watermarks, error)
}

// Bigtable reads the layout of internal/layout.
type Bigtable struct {
	client  *bigtable.Client
	metrics *bigtable.Table
	meta    *bigtable.Table
}

var _ Store = (*Bigtable)(nil)

// NewBigtable opens the metrics tables through appProfile ("" for the
// instance's default), honouring BIGTABLE_EMULATOR_HOST.
func NewBigtable(ctx context.Context, project, instance, appProfile string) (*Bigtable, error) {
	c, err := bigtable.NewClientWithConfig(ctx, project, instance, bigtable.ClientConfig{AppProfile: appProfile})
	if err != nil {
		return nil, fmt.Errorf("queryapi.NewBigtable: %w", err)
	}
	return &Bigtable{client: c, metrics: c.Open(layout.TableMetrics), meta: c.Open(layout.TableMeta)}, nil
}

// Close closes the client.
func (b *Bigtable) Close() error { return b.client.Close() }

// Totals and breakdown rows hold only the families p and s (realtime rows
// only r, the meta table only m), so reads name no family filter: the
// filter would cost the server a regular expression per cell (the
// emulator compiles it per cell) and select nothing less.

// readHourly scans rng and hands each row's preferred family (sealed, else
// provisional) to fn, checking that every row is the merchant's.
func (b *Bigtable) readHourly(ctx context.Context, merchant, kind string, rows bigtable.RowSet, fn func(k layout.Key, r bigtable.Row, family string) error, opts ...bigtable.ReadOption) error {
	var derr error
	err := b.metrics.ReadRows(ctx, rows, func(r bigtable.Row) bool {
		k, err := layout.ParseKey(r.Key())
		if err != nil || k.Merchant != merchant || k.Kind != kind {
			derr = fmt.Errorf("unexpected row %q in the range of merchant %s", r.Key(), merchant)
			return false
		}
		fam := layout.FamilySealed
		if len(r[fam]) == 0 {
			fam = layout.FamilyProvisional
		}
		if len(r[fam]) == 0 {
			return true
		}
		if derr = fn(k, r, fam); derr != nil {
			return false
		}
		return true
	}, opts...)
	if err != nil {
		return err
	}
	return derr
}

// Hours scans the merchant's totals rows of spans in one read.
func (b *Bigtable) Hours(ctx context.Context, merchant string, spans []Bucket, fn func(Hour) error) error {
	rows := make(bigtable.RowRangeList, len(spans))
	for i, sp := range spans {
		rows[i] = layout.TotalsRange(merchant, sp.Start, sp.End)
	}
	err := b.readHourly(ctx, merchant, layout.KindTotals, rows,
		func(k layout.Key, r bigtable.Row, fam string) error {
			t, err := layout.DecodeTotals(r, fam)
			if err != nil {
				return err
			}
			return fn(Hour{Start: k.Time, Sealed: fam == layout.FamilySealed, Totals: t})
		})
	if err != nil {
		return fmt.Errorf("read totals of %s: %w", merchant, err)
	}
	return nil
}

// QuarterHours reads the merchant's quarter totals rows of hours.
func (b *Bigtable) QuarterHours(ctx context.Context, merchant string, hours []time.Time, fn func(QuarterHour) error) error {
	rows := make(bigtable.RowList, len(hours))
	for i, h := range hours {
		rows[i] = layout.QuarterTotalsKey(merchant, h)
	}
	err := b.readHourly(ctx, merchant, layout.KindQuarterTotals, rows,
		func(k layout.Key, r bigtable.Row, fam string) error {
			q, err := layout.DecodeQuarterTotals(r, fam)
			if err != nil {
				return err
			}
			return fn(QuarterHour{Start: k.Time, Sealed: fam == layout.FamilySealed, Totals: q})
		})
	if err != nil {
		return fmt.Errorf("read quarter totals of %s: %w", merchant, err)
	}
	return nil
}

// valueFilter reads only one value's item, the "other" item and _at, of
// an hourly row (quarter: false) or of each quarter of a quarter row.
func valueFilter(value string, quarter bool) bigtable.ReadOption {
	prefix := ""
	if quarter {
		prefix = `[0-3]\|`
	}
	cols := "^(" + prefix + "(" + regexp.QuoteMeta(layout.ColValuePrefix+value) + "|" + layout.ColOther + ")|" + layout.ColUpdatedAt + ")$"
	return bigtable.RowFilter(bigtable.ColumnFilter(cols))
}

// Breakdowns scans the merchant's breakdown rows of dim for spans in one read.
func (b *Bigtable) Breakdowns(ctx context.Context, merchant string, dim layout.Dimension, spans []Bucket, value string, fn func(BreakdownHour) error) error {
	var opts []bigtable.ReadOption
	if value != "" {
		opts = append(opts, valueFilter(value, false))
	}
	rows := make(bigtable.RowRangeList, len(spans))
	for i, sp := range spans {
		rows[i] = layout.BreakdownRange(merchant, dim, sp.Start, sp.End)
	}
	err := b.readHourly(ctx, merchant, layout.KindBreakdown, rows,
		func(k layout.Key, r bigtable.Row, fam string) error {
			if k.Dim != dim {
				return fmt.Errorf("unexpected row %q in the %s range", r.Key(), dim)
			}
			bd, err := layout.DecodeBreakdown(r, fam)
			if err != nil {
				return err
			}
			return fn(BreakdownHour{Start: k.Time, Sealed: fam == layout.FamilySealed, Breakdown: bd})
		}, opts...)
	if err != nil {
		return fmt.Errorf("read %s breakdowns of %s: %w", dim, merchant, err)
	}
	return nil
}

// QuarterBreakdowns reads the merchant's quarter breakdown rows of dim for hours.
func (b *Bigtable) QuarterBreakdowns(ctx context.Context, merchant string, dim layout.Dimension, hours []time.Time, value string, fn func(QuarterBreakdownHour) error) error {
	var opts []bigtable.ReadOption
	if value != "" {
		opts = append(opts, valueFilter(value, true))
	}
	rows := make(bigtable.RowList, len(hours))
	for i, h := range hours {
		rows[i] = layout.QuarterBreakdownKey(merchant, dim, h)
	}
	err := b.readHourly(ctx, merchant, layout.KindQuarterBreakdown, rows,
		func(k layout.Key, r bigtable.Row, fam string) error {
			if k.Dim != dim {
				return fmt.Errorf("unexpected row %q among the %s quarter rows", r.Key(), dim)
			}
			q, err := layout.DecodeQuarterBreakdowns(r, fam)
			if err != nil {
				return err
			}
			return fn(QuarterBreakdownHour{Start: k.Time, Sealed: fam == layout.FamilySealed, Breakdowns: q})
		}, opts...)
	if err != nil {
		return fmt.Errorf("read %s quarter breakdowns of %s: %w", dim, merchant, err)
	}
	return nil
}

// Minutes scans the merchant's realtime rows for [from, to).
func (b *Bigtable) Minutes(ctx context.Context, merchant string, from, to time.Time) ([]Minute, error) {
	var out []Minute
	var derr error
	err := b.metrics.ReadRows(ctx, layout.RealtimeRange(merchant, from, to), func(r bigtable.Row) bool {
		k, err := layout.ParseKey(r.Key())
		if err != nil || k.Merchant != merchant || k.Kind != layout.KindRealtime {
			derr = fmt.Errorf("unexpected row %q in the realtime range of merchant %s", r.Key(), merchant)
			return false
		}
		t, err := layout.DecodeTotals(r, layout.FamilyRealtime)
		if err != nil {
			derr = err
			return false
		}
		if t != nil {
			out = append(out, Minute{Start: k.Time, Totals: t})
		}
		return true
	})
	if err == nil {
		err = derr
	}
	if err != nil {
		return nil, fmt.Errorf("read realtime rows of %s: %w", merchant, err)
	}
	return out, nil
}

// Watermarks reads the watermarks row and every seal record in one scan.
func (b *Bigtable) Watermarks(ctx context.Context) (Watermarks, error) {
	w := Watermarks{Seals: map[int64]int64{}, Changed: map[int64]int64{}}
	rows := bigtable.RowRangeList{bigtable.PrefixRange(layout.MetaWatermarks), bigtable.PrefixRange(layout.SealPrefix)}
	col := func(r bigtable.Row, name string) (int64, bool) {
		for _, it := range r[layout.FamilyMeta] {
			if it.Column == layout.FamilyMeta+":"+name {
				v, err := layout.DecodeInt(it.Value)
				return v, err == nil
			}
		}
		return 0, false
	}
	err := b.meta.ReadRows(ctx, rows, func(r bigtable.Row) bool {
		switch {
		case r.Key() == layout.MetaWatermarks:
			if v, ok := col(r, layout.ColSealedThrough); ok && v > 0 {
				w.SealedThrough = time.UnixMicro(v).UTC()
			}
			if v, ok := col(r, layout.ColProvisionalAt); ok && v > 0 {
				w.ProvisionalAt = time.UnixMicro(v).UTC()
			}
		case strings.HasPrefix(r.Key(), layout.SealPrefix):
			rec, err := layout.DecodeSeal(r)
			if err != nil {
				return true // not a seal record this version knows
			}
			if rec.SealedAt > 0 {
				w.Seals[rec.Hour.Unix()] = rec.SealedAt
			}
			if c := max(rec.SealedAt, rec.ChangedAt); c > 0 {
				w.Changed[rec.Hour.Unix()] = c
			}
		}
		return true
	})
	if err != nil {
		return Watermarks{}, fmt.Errorf("read watermarks: %w", err)
	}
	return w, nil
}
