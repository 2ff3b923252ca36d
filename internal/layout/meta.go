package layout

import "time"

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
	ColSealedAt     = "sealed_at"     // when the hour was last sealed (Unix µs)
	ColSealedEvents = "events"        // archived events the seal read for the hour
	ColSealRuns     = "runs"          // how many times the hour was sealed
	ColArchivedAt   = "last_archived" // newest receive time among them (Unix µs)
)

// SealKey is the meta row recording the sealing of one hour (all merchants):
// "seal#<YYYYMMDDHH>".
func SealKey(hour time.Time) string { return "seal#" + HourKey(hour) }
