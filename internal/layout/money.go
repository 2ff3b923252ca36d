package layout

import (
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strconv"
)

// Amount is a sum of money in minor units at a scale: Minor × 10^−Scale
// units of its currency (1990 at scale 2 is 19.90). The scale travels with
// the amount, so stored history never depends on a currency table: the
// scale is whatever ingest used when it accepted the event (ISO 4217).
type Amount struct {
	Minor int64
	Scale int8
}

// MaxScale bounds a scale: 10^18 is the largest power of ten in an int64.
const MaxScale = 18

// Decimal renders a as a decimal string: {1990 2} → "19.90",
// {-5 2} → "-0.05", {500 0} → "500".
func (a Amount) Decimal() string {
	neg := a.Minor < 0
	u := uint64(a.Minor)
	if neg {
		u = -u
	}
	s := strconv.FormatUint(u, 10)
	if n := int(a.Scale); n > 0 {
		for len(s) <= n {
			s = "0" + s
		}
		s = s[:len(s)-n] + "." + s[len(s)-n:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// Rescale returns a at scale s (s ≥ a.Scale), saturating at the int64
// bounds. A lower s returns a unchanged: amounts are never rounded.
func (a Amount) Rescale(s int8) Amount {
	for a.Scale < s {
		a.Minor = mulSat(a.Minor, 10)
		a.Scale++
	}
	return a
}

// Plus returns a + b at the larger of their scales, saturating at the
// int64 bounds: a sum never wraps.
func (a Amount) Plus(b Amount) Amount {
	s := max(a.Scale, b.Scale)
	a, b = a.Rescale(s), b.Rescale(s)
	return Amount{Minor: addSat(a.Minor, b.Minor), Scale: s}
}

// Neg returns −a (saturating: −MinInt64 is MaxInt64).
func (a Amount) Neg() Amount {
	if a.Minor == math.MinInt64 {
		return Amount{Minor: math.MaxInt64, Scale: a.Scale}
	}
	return Amount{Minor: -a.Minor, Scale: a.Scale}
}

// AddSat adds two counts, saturating at the int64 bounds.
func AddSat(a, b int64) int64 { return addSat(a, b) }

func addSat(a, b int64) int64 {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return math.MaxInt64
	case a < 0 && b < 0 && s >= 0:
		return math.MinInt64
	}
	return s
}

func mulSat(a, k int64) int64 {
	switch {
	case a > math.MaxInt64/k:
		return math.MaxInt64
	case a < math.MinInt64/k:
		return math.MinInt64
	}
	return a * k
}

// Money maps ISO 4217 codes to amounts.
type Money map[string]Amount

// Add returns m with a added to code (m is allocated when nil).
func (m Money) Add(code string, a Amount) Money {
	if m == nil {
		m = Money{}
	}
	cur, ok := m[code]
	if !ok {
		m[code] = a
		return m
	}
	m[code] = cur.Plus(a)
	return m
}

// Merge returns dst with every amount of src added (dst is allocated when
// nil and src is not empty).
func (m Money) Merge(src Money) Money {
	for code, a := range src {
		m = m.Add(code, a)
	}
	return m
}

// Codes returns the currency codes of m, sorted.
func (m Money) Codes() []string {
	out := make([]string, 0, len(m))
	for c := range m {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// EncodeAmount encodes an amount as a cell value: the minor units as 8
// bytes big-endian two's complement (EncodeInt), then one byte of scale.
func EncodeAmount(a Amount) []byte {
	return append(EncodeInt(a.Minor), byte(a.Scale))
}

// DecodeAmount is the inverse of EncodeAmount.
func DecodeAmount(b []byte) (Amount, error) {
	if len(b) != 9 || b[8] > MaxScale {
		return Amount{}, fmt.Errorf("layout: amount cell has %d bytes, want 8 and a scale of at most %d", len(b), MaxScale)
	}
	return Amount{Minor: int64(binary.BigEndian.Uint64(b[:8])), Scale: int8(b[8])}, nil
}

// Abs returns |a| (saturating: |MinInt64| is MaxInt64).
func (a Amount) Abs() Amount {
	if a.Minor < 0 {
		return a.Neg()
	}
	return a
}
