package ingest

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/footfall/footfall/internal/currency"
	"github.com/footfall/footfall/internal/event"
)

// validator holds the limits every message is checked against.
type validator struct {
	maxMessageBytes int
	maxAge          time.Duration
	maxFuture       time.Duration
}

// jsonErrorField names the field a JSON decoding error is about ("" for the
// whole message).
func jsonErrorField(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return te.Field
	}
	return ""
}

// jsonErrorMessage says in plain words what is wrong.
func jsonErrorMessage(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("must be %s, got %s", jsonKind(te.Type.Kind().String()), te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("malformed JSON at byte %d: %s", se.Offset, se.Error())
	}
	if errors.Is(err, errNotFlexString) {
		return errNotFlexString.Error()
	}
	return "malformed JSON: " + err.Error()
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "struct", "map":
		return "an object"
	case "slice", "array":
		return "an array"
	case "bool":
		return "a boolean"
	default:
		return "a number"
	}
}

// maxAmountLen bounds the text of an amount ("19.99", "1.5e3"), and
// maxAmountExponent its exponent, before any arithmetic: an amount such as
// "1e999999" would otherwise be expanded to a million digits first.
const (
	maxAmountLen      = 32
	maxAmountExponent = 30
)

// toMinorUnits converts a decimal amount ("19.99") in currency cur into
// integer minor units at the currency's ISO 4217 scale (1999 at scale 2 for
// USD; 20 at scale 0 for JPY "19.5"): exact, no floating point. Amounts with
// more decimals than the currency has are rounded half away from zero.
// |minor| must not exceed event.MaxRevenueMinor, so sums cannot overflow.
// The error says why the amount is unusable.
func toMinorUnits(amount, cur string) (minor int64, scale int32, err error) {
	scale, ok := currency.Digits(cur)
	if !ok {
		return 0, 0, fmt.Errorf("currency %s is not an active ISO 4217 code", quote(cur))
	}
	amount = strings.TrimSpace(amount)
	if len(amount) > maxAmountLen {
		return 0, 0, fmt.Errorf("amount is %d characters; the limit is %d", len(amount), maxAmountLen)
	}
	if v, ok := decimalMinorUnits(amount, int(scale)); ok {
		return v, scale, nil
	}
	if ok, expOK := plainDecimal(amount); !expOK {
		return 0, 0, fmt.Errorf("%s has an exponent beyond ±%d", quote(amount), maxAmountExponent)
	} else if !ok {
		return 0, 0, fmt.Errorf("%s is not a decimal number", quote(amount))
	}
	r, ok := new(big.Rat).SetString(amount) // bounded: ≤ 32 characters, |exponent| ≤ 30
	if !ok {
		return 0, 0, fmt.Errorf("%s is not a decimal number", quote(amount))
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	// Round half away from zero.
	num, den := new(big.Int).Set(r.Num()), r.Denom()
	neg := num.Sign() < 0
	num.Abs(num)
	q, m := new(big.Int).QuoRem(num, den, new(big.Int))
	if new(big.Int).Mul(m, big.NewInt(2)).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if neg {
		q.Neg(q)
	}
	if !q.IsInt64() || q.Int64() > event.MaxRevenueMinor || q.Int64() < -event.MaxRevenueMinor {
		return 0, 0, fmt.Errorf("amount %s is out of range (at most %d minor units)", amount, int64(event.MaxRevenueMinor))
	}
	return q.Int64(), scale, nil
}

// plainDecimal reports whether s is [+-]digits[.digits][(e|E)[+-]digits]
// with an exponent of at most maxAmountExponent in magnitude (expOK false
// when the exponent is larger): the only syntax big.Rat is given, so that
// it never expands a huge power of ten or parses fractions ("1/3") or hex.
func plainDecimal(s string) (ok, expOK bool) {
	i, n := 0, len(s)
	if i < n && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for ; i < n && s[i] >= '0' && s[i] <= '9'; i++ {
		digits++
	}
	if i < n && s[i] == '.' {
		for i++; i < n && s[i] >= '0' && s[i] <= '9'; i++ {
			digits++
		}
	}
	if digits == 0 {
		return false, true
	}
	if i < n && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < n && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp, expDigits := 0, 0
		for ; i < n && s[i] >= '0' && s[i] <= '9'; i++ {
			exp = exp*10 + int(s[i]-'0')
			if expDigits++; exp > maxAmountExponent {
				return false, false
			}
		}
		if expDigits == 0 {
			return false, true
		}
	}
	return i == n, true
}

// decimalMinorUnits is toMinorUnits' fast path for plain decimals
// ("-12.345", at most 15 integer digits): integer arithmetic, rounding half
// away from zero. ok is false for anything else (exponents, huge values),
// which the exact big.Rat path handles.
func decimalMinorUnits(s string, scale int) (int64, bool) {
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" && frac == "" || len(intPart) > 15 || scale > 3 {
		return 0, false
	}
	var v int64
	for i := 0; i < len(intPart); i++ {
		c := intPart[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	for i := 0; i < len(frac); i++ {
		if c := frac[i]; c < '0' || c > '9' {
			return 0, false
		}
	}
	for i := 0; i < scale; i++ {
		v *= 10
		if i < len(frac) {
			v += int64(frac[i] - '0')
		}
	}
	if len(frac) > scale && frac[scale] >= '5' {
		v++ // half away from zero: the first dropped digit decides
	}
	if v > event.MaxRevenueMinor {
		return 0, false // the exact path reports it out of range
	}
	if neg {
		v = -v
	}
	return v, true
}
