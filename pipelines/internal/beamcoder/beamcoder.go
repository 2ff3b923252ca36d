// Package beamcoder registers the Beam coders of the contract types that
// cross pipeline stages: event.Event (its JSON encoding), layout.Totals,
// layout.Breakdown and layout.RowContent (their Bigtable cells, packed). Import it for its side
// effect from every package whose DoFns take these types.
package beamcoder

import (
	"encoding/binary"
	"errors"
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

func init() {
	beam.RegisterCoder(reflect.TypeOf(layout.RowContent{}), EncodeRowContent, DecodeRowContent)
}

// EncodeRowContent packs a row's content: the packed cells, then the
// dropped qualifiers as cells without values.
func EncodeRowContent(c layout.RowContent) []byte {
	cells := layout.MarshalCells(c.Cells)
	drops := make([]layout.Cell, len(c.Drop))
	for i, q := range c.Drop {
		drops[i] = layout.Cell{Qualifier: q}
	}
	out := binary.AppendUvarint(nil, uint64(len(cells)))
	out = append(out, cells...)
	return append(out, layout.MarshalCells(drops)...)
}

// DecodeRowContent is the inverse of EncodeRowContent.
func DecodeRowContent(b []byte) (layout.RowContent, error) {
	l, n := binary.Uvarint(b)
	if n <= 0 || uint64(len(b)-n) < l {
		return layout.RowContent{}, errors.New("beamcoder: truncated row content")
	}
	cells, err := layout.UnmarshalCells(b[n : n+int(l)])
	if err != nil {
		return layout.RowContent{}, err
	}
	drops, err := layout.UnmarshalCells(b[n+int(l):])
	if err != nil {
		return layout.RowContent{}, err
	}
	c := layout.RowContent{Cells: cells}
	for _, d := range drops {
		c.Drop = append(c.Drop, d.Qualifier)
	}
	return c, nil
}
