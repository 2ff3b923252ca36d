// Package beamcoder registers the Beam coders of the contract types that
// cross pipeline stages: event.Event (its JSON encoding), layout.Totals and
// layout.Breakdown (their Bigtable cells, packed). Import it for its side
// effect from every package whose DoFns take these types.
package beamcoder

import (
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/layout"
)

func init() {
	beam.RegisterCoder(reflect.TypeOf(event.Event{}), encodeEvent, decodeEvent)
	beam.RegisterCoder(reflect.TypeOf(layout.Totals{}), EncodeTotals, DecodeTotals)
	beam.RegisterCoder(reflect.TypeOf(layout.Breakdown{}), EncodeBreakdown, DecodeBreakdown)
}

func encodeEvent(e event.Event) ([]byte, error) { return event.Encode(&e) }

func decodeEvent(b []byte) (event.Event, error) { return event.Decode(b) }

// EncodeTotals packs t's cells.
func EncodeTotals(t layout.Totals) ([]byte, error) {
	cells, err := t.Cells()
	if err != nil {
		return nil, err
	}
	return layout.MarshalCells(cells), nil
}

// DecodeTotals is the inverse of EncodeTotals.
func DecodeTotals(b []byte) (layout.Totals, error) {
	cells, err := layout.UnmarshalCells(b)
	if err != nil {
		return layout.Totals{}, err
	}
	t, err := layout.TotalsFromCells(cells)
	if err != nil {
		return layout.Totals{}, err
	}
	return *t, nil
}

// EncodeBreakdown packs b's cells.
func EncodeBreakdown(b layout.Breakdown) ([]byte, error) {
	cells, err := b.Cells()
	if err != nil {
		return nil, err
	}
	return layout.MarshalCells(cells), nil
}

// DecodeBreakdown is the inverse of EncodeBreakdown.
func DecodeBreakdown(p []byte) (layout.Breakdown, error) {
	cells, err := layout.UnmarshalCells(p)
	if err != nil {
		return layout.Breakdown{}, err
	}
	b, err := layout.BreakdownFromCells(cells)
	if err != nil {
		return layout.Breakdown{}, err
	}
	return *b, nil
}
