package ingest

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"
)

func TestToMinorUnits(t *testing.T) {
	tests := []struct {
		amount, cur string
		want        int64
		wantErr     bool
	}{
		{"19.99", "USD", 1999, false},
		{"0.1", "USD", 10, false},
		{"1234", "JPY", 1234, false},
		{"19.5", "JPY", 20, false},
		{"1.2345", "BHD", 1235, false},
		{"-5.25", "EUR", -525, false},
		{"-0.005", "EUR", -1, false},
		{"0.005", "USD", 1, false},
		{"0.0049", "USD", 0, false},
		{".5", "USD", 50, false},
		{"7.", "USD", 700, false},
		{"+3", "USD", 300, false},
		{"1e3", "USD", 100000, false},
		{" 2.50 ", "USD", 250, false},
		{"abc", "USD", 0, true},
		{"", "USD", 0, true},
		{".", "USD", 0, true},
		{"1..2", "USD", 0, true},
		{"1", "ZZZ", 0, true},
		{"1e30", "USD", 0, true},
		{"99999999999999999", "USD", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.amount+tc.cur, func(t *testing.T) {
			got, err := toMinorUnits(tc.amount, tc.cur)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("toMinorUnits(%q, %q) = %d, %v; want %d, error %v", tc.amount, tc.cur, got, err, tc.want, tc.wantErr)
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
		if !ok {
			t.Fatalf("fast path refused %q", s)
		}
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
		if got != q.Int64() {
			t.Fatalf("%q at scale %d: fast path %d, exact %d", s, scale, got, q.Int64())
		}
	}
}
