package layout

import (
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/bigtable"
)

// Rows and columns of TableMeta (family FamilyMeta). Every value is an
// EncodeInt integer.
const (
	// MetaWatermarks is the row holding the system's freshness marks.
	MetaWatermarks = "watermarks"
	// ColProvisionalAt: when the streaming job last wrote provisional
	// values (Unix µs). Readers report it as how fresh provisional data is.
	ColProvisionalAt = "provisional_at"
	// ColSealedThrough: every hour that ends at or before this instant
	// (Unix µs) has been sealed for all merchants.
	ColSealedThrough = "sealed_through"

	// Columns of a seal row (SealKey).
	ColSealedAt      = "sealed_at"     // generation of the last full seal of the hour (Unix µs): see Current
	ColSealedEvents  = "events"        // archived events (rows, duplicates included) the seal read for the hour
	ColSealRuns      = "runs"          // how many times the hour was sealed (all merchants)
	ColArchivedAt    = "last_archived" // newest archive write the seal saw for the hour (Unix µs)
	ColSealChangedAt = "changed_at"    // last time any sealed row of the hour was replaced, merchant-scoped runs included (Unix µs)
)

// SealPrefix starts every seal row key.
const SealPrefix = "seal#"

// SealKey is the meta row recording the sealing of one hour (all merchants):
// "seal#<YYYYMMDDHH>".
func SealKey(hour time.Time) string { return SealPrefix + HourKey(hour) }

// ParseSealKey returns the hour of a seal row key.
func ParseSealKey(key string) (time.Time, error) {
	ts, ok := strings.CutPrefix(key, SealPrefix)
	if !ok {
		return time.Time{}, fmt.Errorf("%w: %q is not a seal row", ErrBadKey, key)
	}
	t, err := time.Parse(hourLayout, ts)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %q: %w", ErrBadKey, key, err)
	}
	return t.UTC(), nil
}

// Seal is one hour's seal record (a row of TableMeta keyed by SealKey).
type Seal struct {
	Hour       time.Time
	SealedAt   int64 // ColSealedAt; 0: never sealed for all merchants
	ChangedAt  int64 // ColSealChangedAt
	Events     int64 // ColSealedEvents
	Runs       int64 // ColSealRuns
	ArchivedAt int64 // ColArchivedAt
}

// DecodeSeal reads a seal row. Where a column has several versions (not
// yet garbage-collected), the newest, which Bigtable returns first, wins.
func DecodeSeal(r bigtable.Row) (Seal, error) {
	h, err := ParseSealKey(r.Key())
	if err != nil {
		return Seal{}, err
	}
	s := Seal{Hour: h}
	seen := map[string]bool{}
	for _, it := range r[FamilyMeta] {
		if seen[it.Column] {
			continue
		}
		seen[it.Column] = true
		v, err := DecodeInt(it.Value)
		if err != nil {
			return Seal{}, fmt.Errorf("layout: seal row %s column %s: %w", r.Key(), it.Column, err)
		}
		switch strings.TrimPrefix(it.Column, FamilyMeta+":") {
		case ColSealedAt:
			s.SealedAt = v
		case ColSealChangedAt:
			s.ChangedAt = v
		case ColSealedEvents:
			s.Events = v
		case ColSealRuns:
			s.Runs = v
		case ColArchivedAt:
			s.ArchivedAt = v
		}
	}
	return s, nil
}

// Current reports whether a metrics row's value is the one to serve, given
// the family it was read from (FamilySealed when the row has sealed cells,
// else FamilyProvisional), that family's _at column, and the hour's
// ColSealedAt (0 when the hour has never been sealed for all merchants).
//
// An hour that was never sealed serves its sealed values where a
// merchant-scoped backfill wrote them and its provisional values
// elsewhere. Once an hour is sealed at generation G, every row that seal
// recomputed carries _at = G (or later, from a later merchant-scoped run);
// anything else — provisional values, sealed values of an earlier seal —
// belongs to a merchant the seal found no events for, so it is not served
// and the merchant has no data in that hour. This is how one seal replaces
// the hour of every merchant without knowing which merchants had rows.
func Current(hourSealedAt int64, family string, at int64) bool {
	if hourSealedAt == 0 {
		return true
	}
	return family == FamilySealed && at >= hourSealedAt
}
