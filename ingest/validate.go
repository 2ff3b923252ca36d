package ingest

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	json "github.com/goccy/go-json"
	"golang.org/x/text/currency"
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

// toMinorUnits converts a decimal amount ("19.99") in currency cur into
// integer minor units (1999 for USD, 20 for JPY "19.99" is refused): exact,
// no floating point. Amounts with more decimals than the currency has are
// rounded half away from zero.
func toMinorUnits(amount, cur string) (int64, error) {
	unit, err := currency.ParseISO(cur)
	if err != nil {
		return 0, fmt.Errorf("currency %q is not an ISO 4217 code", cur)
	}
	scale, _ := currency.Standard.Rounding(unit)
	amount = strings.TrimSpace(amount)
	if v, ok := decimalMinorUnits(amount, scale); ok {
		return v, nil
	}
	r, ok := new(big.Rat).SetString(amount)
	if !ok {
		return 0, fmt.Errorf("%q is not a decimal number", amount)
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
	if !q.IsInt64() || q.Int64() > 1e15 || q.Int64() < -1e15 {
		return 0, fmt.Errorf("amount %s is out of range", amount)
	}
	return q.Int64(), nil
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
	if v > 1e15 {
		return 0, false
	}
	if neg {
		v = -v
	}
	return v, true
}
