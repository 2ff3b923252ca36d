package ingest

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/footfall/footfall/internal/event"
)

func TestToMinorUnits(t *testing.T) {
	tests := []struct {
		amount, cur string
		want        int64
		wantScale   int32
		wantErr     string // substring; "" = no error
	}{
		{"19.99", "USD", 1999, 2, ""},
		{"0.1", "USD", 10, 2, ""},
		{"1234", "JPY", 1234, 0, ""},
		{"19.5", "JPY", 20, 0, ""},
		{"1.2345", "BHD", 1235, 3, ""},
		{"-5.25", "EUR", -525, 2, ""},
		{"-0.005", "EUR", -1, 2, ""},
		{"0.005", "USD", 1, 2, ""},
		{"0.0049", "USD", 0, 2, ""},
		{".5", "USD", 50, 2, ""},
		{"7.", "USD", 700, 2, ""},
		{"+3", "USD", 300, 2, ""},
		{"1e3", "USD", 100000, 2, ""},
		{"1.5E+2", "USD", 15000, 2, ""},
		{"25e-1", "JPY", 3, 0, ""},
		{" 2.50 ", "USD", 250, 2, ""},
		// ISO 4217 minor units, not CLDR's (which give IDR, COP, PKR 0 digits).
		{"19.99", "IDR", 1999, 2, ""},
		{"19.99", "COP", 1999, 2, ""},
		{"19.99", "PKR", 1999, 2, ""},
		{"1.23456", "CLF", 12346, 4, ""},
		{"5", "KRW", 5, 0, ""},
		// The largest amount a sum of 100 million cannot overflow with.
		{"922337203.68", "USD", 92233720368, 2, ""},
		{"-922337203.68", "USD", -92233720368, 2, ""},
		{"922337203.69", "USD", 0, 0, "out of range"},
		{"92233720369", "JPY", 0, 0, "out of range"},
		{"abc", "USD", 0, 0, "not a decimal"},
		{"", "USD", 0, 0, "not a decimal"},
		{".", "USD", 0, 0, "not a decimal"},
		{"1..2", "USD", 0, 0, "not a decimal"},
		{"1/3", "USD", 0, 0, "not a decimal"},
		{"0x10", "USD", 0, 0, "not a decimal"},
		{"1e", "USD", 0, 0, "not a decimal"},
		{"1", "ZZZ", 0, 0, "ISO 4217"},
		{"1", "XAU", 0, 0, "ISO 4217"},
		{"1e30", "USD", 0, 0, "out of range"},
		{"1e-30", "USD", 0, 2, ""},
		{"99999999999999999", "USD", 0, 0, "out of range"},
		// Bounded before any arithmetic: no power of ten is ever expanded.
		{"1e31", "USD", 0, 0, "exponent beyond"},
		{"1e999999", "USD", 0, 0, "exponent beyond"},
		{"1e-999999", "USD", 0, 0, "exponent beyond"},
		{"1e0000000000000000000000000000005", "USD", 0, 0, "characters"},
		{strings.Repeat("9", 33), "USD", 0, 0, "characters"},
	}
	for _, tc := range tests {
		t.Run(tc.amount+tc.cur, func(t *testing.T) {
			got, scale, err := toMinorUnits(tc.amount, tc.cur)
			if tc.wantErr == "" {
				if err != nil || got != tc.want || scale != tc.wantScale {
					t.Errorf("toMinorUnits(%q, %q) = %d, scale %d, %v; want %d, scale %d", tc.amount, tc.cur, got, scale, err, tc.want, tc.wantScale)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("toMinorUnits(%q, %q) = %d, %v; want an error containing %q", tc.amount, tc.cur, got, err, tc.wantErr)
			}
		})
	}
}

// TestDecimalFastPathMatchesExact compares the integer fast path with exact
// rational arithmetic on random decimals.
func TestDecimalFastPathMatchesExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 20000; i++ {
		s := fmt.Sprintf("%d.%0*d", rng.Int64N(1e9), 1+rng.IntN(6), rng.Int64N(1e6))
		if rng.IntN(2) == 0 {
			s = "-" + s
		}
		scale := rng.IntN(4)
		got, ok := decimalMinorUnits(s, scale)
		r, _ := new(big.Rat).SetString(s)
		r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
		num := new(big.Int).Abs(r.Num())
		q, m := new(big.Int).QuoRem(num, r.Denom(), new(big.Int))
		if new(big.Int).Mul(m, big.NewInt(2)).Cmp(r.Denom()) >= 0 {
			q.Add(q, big.NewInt(1))
		}
		if r.Sign() < 0 {
			q.Neg(q)
		}
		// Amounts beyond event.MaxRevenueMinor are left to the exact path,
		// which refuses them.
		if beyond := q.CmpAbs(big.NewInt(event.MaxRevenueMinor)) > 0; beyond {
			if ok {
				t.Fatalf("%q at scale %d: fast path accepted %d, beyond the bound", s, scale, got)
			}
			continue
		}
		if !ok {
			t.Fatalf("fast path refused %q", s)
		}
		if got != q.Int64() {
			t.Fatalf("%q at scale %d: fast path %d, exact %d", s, scale, got, q.Int64())
		}
	}
}
