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
	r, ok := new(big.Rat).SetString(strings.TrimSpace(amount))
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
