package layout

import (
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/bigtable"
)

// Quarters of an hour. Every UTC offset in use is a whole number of
// quarter hours (+05:45 Nepal, +12:45 Chatham, −03:30 Newfoundland), so
// every IANA zone's local midnight falls on a UTC quarter hour.
const (
	Quarter  = 15 * time.Minute
	Quarters = 4
)

// QuarterOf returns the index (0–3) of the UTC quarter hour holding t.
func QuarterOf(t time.Time) int { return t.UTC().Minute() / 15 }

// QuarterStart returns the start of quarter q of the hour starting at hour.
func QuarterStart(hour time.Time, q int) time.Time { return hour.Add(time.Duration(q) * Quarter) }

// In a quarter row, each quarter's columns are the hourly row's columns
// prefixed by the quarter's digit and a bar ("2|events", "0|v:/home");
// _at and _gen are the row's own, unprefixed.
const quarterSep = "|"

// QuarterTotals are a merchant's totals for each quarter of one hour
// (nil: nothing in that quarter).
type QuarterTotals struct {
	Q          [Quarters]*Totals
	UpdatedAt  int64
	Generation int64
}

// QuarterBreakdowns are a merchant's breakdowns of one dimension for each
// quarter of one hour (nil: nothing in that quarter).
type QuarterBreakdowns struct {
	Q          [Quarters]*Breakdown
	UpdatedAt  int64
	Generation int64
}

func rowStamp(at, gen int64) []Cell {
	return []Cell{{ColUpdatedAt, EncodeInt(at)}, {ColGeneration, EncodeInt(gen)}}
}

// prefixed appends the cells of one quarter, without their _at and _gen.
func prefixed(out []Cell, q int, cells []Cell) []Cell {
	p := fmt.Sprint(q) + quarterSep
	for _, c := range cells {
		if c.Qualifier == ColUpdatedAt || c.Qualifier == ColGeneration {
			continue
		}
		out = append(out, Cell{p + c.Qualifier, c.Value})
	}
	return out
}

// splitQuarters sorts a quarter row's cells by quarter, and reads _at and _gen.
func splitQuarters(cells []Cell) (by [Quarters][]Cell, at, gen int64, err error) {
	for _, c := range cells {
		switch c.Qualifier {
		case ColUpdatedAt:
			at, err = DecodeInt(c.Value)
		case ColGeneration:
			gen, err = DecodeInt(c.Value)
		default:
			d, q, ok := strings.Cut(c.Qualifier, quarterSep)
			if !ok || len(d) != 1 || d[0] < '0' || d[0] >= '0'+Quarters {
				continue // a column from a newer layout: ignore
			}
			i := int(d[0] - '0')
			by[i] = append(by[i], Cell{q, c.Value})
		}
		if err != nil {
			return by, 0, 0, fmt.Errorf("column %s: %w", c.Qualifier, err)
		}
	}
	return by, at, gen, nil
}

// Cells encodes q as the columns of one family of a quarter totals row.
func (q *QuarterTotals) Cells() ([]Cell, error) {
	out := rowStamp(q.UpdatedAt, q.Generation)
	for i, t := range q.Q {
		if t == nil {
			continue
		}
		cells, err := t.Cells()
		if err != nil {
			return nil, err
		}
		out = prefixed(out, i, cells)
	}
	return out, nil
}

// QuarterTotalsFromCells decodes the cells produced by QuarterTotals.Cells.
func QuarterTotalsFromCells(cells []Cell) (*QuarterTotals, error) {
	by, at, gen, err := splitQuarters(cells)
	if err != nil {
		return nil, err
	}
	q := &QuarterTotals{UpdatedAt: at, Generation: gen}
	for i, cs := range by {
		if len(cs) == 0 {
			continue
		}
		if q.Q[i], err = TotalsFromCells(cs); err != nil {
			return nil, fmt.Errorf("quarter %d: %w", i, err)
		}
	}
	return q, nil
}

// DecodeQuarterTotals decodes one family of a quarter totals row; nil when
// the family is empty.
func DecodeQuarterTotals(row bigtable.Row, family string) (*QuarterTotals, error) {
	cells := RowCells(row, family)
	if len(cells) == 0 {
		return nil, nil
	}
	q, err := QuarterTotalsFromCells(cells)
	if err != nil {
		return nil, fmt.Errorf("layout: decode %s: %w", row.Key(), err)
	}
	return q, nil
}

// Cells encodes q as the columns of one family of a quarter breakdown row.
func (q *QuarterBreakdowns) Cells() ([]Cell, error) {
	out := rowStamp(q.UpdatedAt, q.Generation)
	for i, b := range q.Q {
		if b == nil {
			continue
		}
		cells, err := b.Cells()
		if err != nil {
			return nil, err
		}
		out = prefixed(out, i, cells)
	}
	return out, nil
}

// QuarterBreakdownsFromCells decodes the cells produced by
// QuarterBreakdowns.Cells.
func QuarterBreakdownsFromCells(cells []Cell) (*QuarterBreakdowns, error) {
	by, at, gen, err := splitQuarters(cells)
	if err != nil {
		return nil, err
	}
	q := &QuarterBreakdowns{UpdatedAt: at, Generation: gen}
	for i, cs := range by {
		if len(cs) == 0 {
			continue
		}
		if q.Q[i], err = BreakdownFromCells(cs); err != nil {
			return nil, fmt.Errorf("quarter %d: %w", i, err)
		}
	}
	return q, nil
}

// DecodeQuarterBreakdowns decodes one family of a quarter breakdown row;
// nil when the family is empty.
func DecodeQuarterBreakdowns(row bigtable.Row, family string) (*QuarterBreakdowns, error) {
	cells := RowCells(row, family)
	if len(cells) == 0 {
		return nil, nil
	}
	q, err := QuarterBreakdownsFromCells(cells)
	if err != nil {
		return nil, fmt.Errorf("layout: decode %s: %w", row.Key(), err)
	}
	return q, nil
}
