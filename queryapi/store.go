package queryapi

import (
	"context"
	"fmt"
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

// Watermarks say how complete and fresh the stored data is.
type Watermarks struct {
	SealedThrough time.Time // zero: nothing sealed yet
	ProvisionalAt time.Time // zero: no provisional write yet
}

// Store is what the query API needs from storage.
type Store interface {
	// Hours returns the merchant's hours in [from, to) that have data, in
	// order, each sealed where a sealed value exists.
	Hours(ctx context.Context, merchant string, from, to time.Time) ([]Hour, error)
	Watermarks(ctx context.Context) (Watermarks, error)
}

// Bigtable reads the layout of internal/layout.
type Bigtable struct {
	client  *bigtable.Client
	metrics *bigtable.Table
	meta    *bigtable.Table
}

var _ Store = (*Bigtable)(nil)

// NewBigtable opens the metrics tables (honouring BIGTABLE_EMULATOR_HOST).
func NewBigtable(ctx context.Context, project, instance string) (*Bigtable, error) {
	c, err := bigtable.NewClient(ctx, project, instance)
	if err != nil {
		return nil, fmt.Errorf("queryapi.NewBigtable: %w", err)
	}
	return &Bigtable{client: c, metrics: c.Open(layout.TableMetrics), meta: c.Open(layout.TableMeta)}, nil
}

// Close closes the client.
func (b *Bigtable) Close() error { return b.client.Close() }

// Hours scans the merchant's totals rows for [from, to).
func (b *Bigtable) Hours(ctx context.Context, merchant string, from, to time.Time) ([]Hour, error) {
	var out []Hour
	var derr error
	err := b.metrics.ReadRows(ctx, layout.TotalsRange(merchant, from, to), func(r bigtable.Row) bool {
		k, err := layout.ParseKey(r.Key())
		if err != nil || k.Merchant != merchant {
			derr = fmt.Errorf("unexpected row %q in merchant range", r.Key())
			return false
		}
		h := Hour{Start: k.Time}
		if h.Totals, err = layout.DecodeTotals(r, layout.FamilySealed); err != nil {
			derr = err
			return false
		}
		h.Sealed = h.Totals != nil
		if !h.Sealed {
			if h.Totals, err = layout.DecodeTotals(r, layout.FamilyProvisional); err != nil {
				derr = err
				return false
			}
		}
		if h.Totals != nil {
			out = append(out, h)
		}
		return true
	}, bigtable.RowFilter(bigtable.FamilyFilter("^["+layout.FamilySealed+layout.FamilyProvisional+"]$")))
	if err != nil {
		return nil, fmt.Errorf("read totals of %s: %w", merchant, err)
	}
	return out, derr
}

// Watermarks reads the meta row.
func (b *Bigtable) Watermarks(ctx context.Context) (Watermarks, error) {
	r, err := b.meta.ReadRow(ctx, layout.MetaWatermarks)
	if err != nil {
		return Watermarks{}, fmt.Errorf("read watermarks: %w", err)
	}
	var w Watermarks
	for _, it := range r[layout.FamilyMeta] {
		v, err := layout.DecodeInt(it.Value)
		if err != nil {
			continue
		}
		switch it.Column {
		case layout.FamilyMeta + ":" + layout.ColSealedThrough:
			w.SealedThrough = time.UnixMicro(v).UTC()
		case layout.FamilyMeta + ":" + layout.ColProvisionalAt:
			w.ProvisionalAt = time.UnixMicro(v).UTC()
		}
	}
	return w, nil
}
