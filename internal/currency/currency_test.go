package currency

import "testing"

// TestDigitsAreISO4217 pins the exponents that differ between ISO 4217
// and CLDR (IDR, COP, PKR, HUF, TWD) and the ones that are not 2.
func TestDigitsAreISO4217(t *testing.T) {
	tests := []struct {
		code   string
		want   int32
		wantOK bool
	}{
		{"USD", 2, true}, {"EUR", 2, true},
		{"IDR", 2, true}, {"COP", 2, true}, {"PKR", 2, true}, {"HUF", 2, true}, {"TWD", 2, true},
		{"JPY", 0, true}, {"KRW", 0, true}, {"ISK", 0, true}, {"CLP", 0, true},
		{"BHD", 3, true}, {"KWD", 3, true}, {"JOD", 3, true},
		{"CLF", 4, true}, {"UYW", 4, true},
		{"XAU", 0, false}, // gold: no minor unit in ISO 4217
		{"ZZZ", 0, false}, {"usd", 0, false}, {"", 0, false}, {"USDX", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			got, ok := Digits(tc.code)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("Digits(%q) = %d, %v; want %d, %v", tc.code, got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	if got := Normalize(" usd "); got != "USD" {
		t.Errorf("Normalize = %q, want USD", got)
	}
}
