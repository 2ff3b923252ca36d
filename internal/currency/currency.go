// Package currency holds the ISO 4217 minor units (the number of decimal
// digits of a currency's minor unit) that ingest uses to turn amounts into
// integer minor units and the query API uses to format them.
//
// The exponents come from github.com/bojanz/currency, which generates them
// from ISO 4217 list one as SIX publishes it (not from CLDR, which gives
// IDR, COP and PKR 0 digits where ISO 4217 says 2). Every stored amount
// carries its scale (event.Event.RevenueScale), so a later change of this
// table never rescales history: it only affects amounts received after it.
package currency

import (
	"strings"

	"github.com/bojanz/currency"
)

// MaxDigits is the largest ISO 4217 minor unit (CLF and UYW have 4).
const MaxDigits = 4

// Digits returns the ISO 4217 minor unit of the active currency code
// (upper case, e.g. "USD" → 2, "JPY" → 0, "BHD" → 3); ok is false for a
// code that is not an active ISO 4217 currency, or has no minor unit
// (precious metals and the like).
func Digits(code string) (digits int32, ok bool) {
	if len(code) != 3 {
		return 0, false
	}
	d, ok := currency.GetDigits(code)
	if !ok || d > MaxDigits {
		return 0, false
	}
	return int32(d), true
}

// Normalize upper-cases and trims a client-sent currency code ("usd " → "USD").
func Normalize(code string) string { return strings.ToUpper(strings.TrimSpace(code)) }
