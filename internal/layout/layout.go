// Package layout is the contract between the pipelines, which write metrics
// to Bigtable, and the query API, which reads them: table and family names,
// row keys, column qualifiers and cell encodings. docs/bigtable.md describes
// it; terraform/modules/bigtable declares the same tables and families.
//
// One row holds one merchant's metrics for one UTC hour (the totals row) or
// one dimension's breakdown for that hour; a quarter row holds the same for
// each of the hour's four UTC quarter hours, so that a bucket edge at any
// IANA zone's local midnight (always a whole quarter hour in UTC) is
// served exactly. Every row carries two families with the same columns:
// provisional values written by the streaming job and sealed values
// written by the batch job from the archive. Readers prefer the sealed
// family; the streaming job never writes it.
package layout

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/bigtable"
)

// Tables and column families.
const (
	TableMetrics = "metrics"
	TableMeta    = "meta"

	// FamilyProvisional holds values the streaming job merges pane by pane.
	FamilyProvisional = "p"
	// FamilySealed holds values recomputed from the archive and replaced whole.
	FamilySealed = "s"
	// FamilyRealtime holds per-minute counts for the realtime view; its
	// garbage-collection policy drops them after RealtimeRetention.
	FamilyRealtime = "r"
	// FamilyMeta holds pipeline bookkeeping in TableMeta.
	FamilyMeta = "m"
)

// RealtimeRetention is the age after which realtime minute cells are
// garbage-collected (the GC policy of FamilyRealtime).
const RealtimeRetention = 3 * time.Hour

// Families lists each table's column families and their garbage-collection
// policies, for creating tables (locally) and checking Terraform.
func Families() map[string]map[string]bigtable.GCPolicy {
	return map[string]map[string]bigtable.GCPolicy{
		TableMetrics: {
			FamilyProvisional: bigtable.MaxVersionsPolicy(1),
			FamilySealed:      bigtable.MaxVersionsPolicy(1),
			FamilyRealtime:    bigtable.UnionPolicy(bigtable.MaxVersionsPolicy(1), bigtable.MaxAgePolicy(RealtimeRetention)),
		},
		TableMeta: {
			FamilyMeta: bigtable.MaxVersionsPolicy(1),
		},
	}
}

// Row kinds: the second field of a metrics row key.
const (
	KindTotals           = "t"
	KindBreakdown        = "b"
	KindQuarterTotals    = "tq"
	KindQuarterBreakdown = "bq"
	KindRealtime         = "r"
)

const (
	sep        = "#"
	hourLayout = "2006010215"
	minLayout  = "200601021504"
)

// Hour truncates t to the start of its UTC hour: metrics are bucketed by
// event time in UTC hours.
func Hour(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }

// HourKey formats the start of an hour as it appears in row keys.
func HourKey(hour time.Time) string { return hour.UTC().Format(hourLayout) }

// TotalsKey is the row key of a merchant's totals for the hour starting at hour:
// "<merchant>#t#<YYYYMMDDHH>". The merchant leads so that one merchant's rows
// are contiguous and writes spread over merchants; time never leads a key.
func TotalsKey(merchant string, hour time.Time) string {
	return merchant + sep + KindTotals + sep + HourKey(hour)
}

// BreakdownKey is the row key of a merchant's breakdown by dim for an hour:
// "<merchant>#b#<dim>#<YYYYMMDDHH>".
func BreakdownKey(merchant string, dim Dimension, hour time.Time) string {
	return merchant + sep + KindBreakdown + sep + string(dim) + sep + HourKey(hour)
}

// QuarterTotalsKey is the row key of a merchant's totals for each quarter
// of the hour starting at hour: "<merchant>#tq#<YYYYMMDDHH>".
func QuarterTotalsKey(merchant string, hour time.Time) string {
	return merchant + sep + KindQuarterTotals + sep + HourKey(hour)
}

// QuarterBreakdownKey is the row key of a merchant's breakdown by dim for
// each quarter of an hour: "<merchant>#bq#<dim>#<YYYYMMDDHH>".
func QuarterBreakdownKey(merchant string, dim Dimension, hour time.Time) string {
	return merchant + sep + KindQuarterBreakdown + sep + string(dim) + sep + HourKey(hour)
}

// RealtimeKey is the row key of a merchant's counts for one UTC minute:
// "<merchant>#r#<YYYYMMDDHHMM>".
func RealtimeKey(merchant string, minute time.Time) string {
	return merchant + sep + KindRealtime + sep + minute.UTC().Format(minLayout)
}

// TotalsRange covers the totals rows of the hours in [from, to).
func TotalsRange(merchant string, from, to time.Time) bigtable.RowRange {
	return bigtable.NewRange(TotalsKey(merchant, Hour(from)), TotalsKey(merchant, ceilHour(to)))
}

// BreakdownRange covers the breakdown rows of dim for the hours in [from, to).
func BreakdownRange(merchant string, dim Dimension, from, to time.Time) bigtable.RowRange {
	return bigtable.NewRange(BreakdownKey(merchant, dim, Hour(from)), BreakdownKey(merchant, dim, ceilHour(to)))
}

// QuarterTotalsRange covers the quarter totals rows of the hours in
// [from, to) (rounded outwards to whole hours).
func QuarterTotalsRange(merchant string, from, to time.Time) bigtable.RowRange {
	return bigtable.NewRange(QuarterTotalsKey(merchant, Hour(from)), QuarterTotalsKey(merchant, ceilHour(to)))
}

// QuarterBreakdownRange covers the quarter breakdown rows of dim for the
// hours in [from, to) (rounded outwards to whole hours).
func QuarterBreakdownRange(merchant string, dim Dimension, from, to time.Time) bigtable.RowRange {
	return bigtable.NewRange(QuarterBreakdownKey(merchant, dim, Hour(from)), QuarterBreakdownKey(merchant, dim, ceilHour(to)))
}

// RealtimeRange covers the realtime rows of the minutes in [from, to).
func RealtimeRange(merchant string, from, to time.Time) bigtable.RowRange {
	return bigtable.NewRange(RealtimeKey(merchant, from.Truncate(time.Minute)), RealtimeKey(merchant, to.Truncate(time.Minute)))
}

// MerchantPrefix covers every metrics row of one merchant.
func MerchantPrefix(merchant string) bigtable.RowRange {
	return bigtable.PrefixRange(merchant + sep)
}

func ceilHour(t time.Time) time.Time {
	h := Hour(t)
	if h.Before(t) {
		h = h.Add(time.Hour)
	}
	return h
}

// Key is a parsed metrics row key.
type Key struct {
	Merchant string
	Kind     string
	Dim      Dimension // KindBreakdown and KindQuarterBreakdown only
	Time     time.Time // the hour (or minute for KindRealtime), UTC
}

// ErrBadKey is returned for a row key this package did not produce.
var ErrBadKey = errors.New("layout: malformed row key")

// ParseKey parses a metrics row key.
func ParseKey(key string) (Key, error) {
	parts := strings.Split(key, sep)
	var k Key
	var ts, tl string
	switch {
	case len(parts) == 3 && parts[1] == KindTotals:
		k = Key{Merchant: parts[0], Kind: KindTotals}
		ts, tl = parts[2], hourLayout
	case len(parts) == 3 && parts[1] == KindQuarterTotals:
		k = Key{Merchant: parts[0], Kind: KindQuarterTotals}
		ts, tl = parts[2], hourLayout
	case len(parts) == 4 && parts[1] == KindQuarterBreakdown:
		k = Key{Merchant: parts[0], Kind: KindQuarterBreakdown, Dim: Dimension(parts[2])}
		ts, tl = parts[3], hourLayout
	case len(parts) == 3 && parts[1] == KindRealtime:
		k = Key{Merchant: parts[0], Kind: KindRealtime}
		ts, tl = parts[2], minLayout
	case len(parts) == 4 && parts[1] == KindBreakdown:
		k = Key{Merchant: parts[0], Kind: KindBreakdown, Dim: Dimension(parts[2])}
		ts, tl = parts[3], hourLayout
	default:
		return Key{}, fmt.Errorf("%w: %q", ErrBadKey, key)
	}
	t, err := time.Parse(tl, ts)
	if err != nil {
		return Key{}, fmt.Errorf("%w: %q: %w", ErrBadKey, key, err)
	}
	k.Time = t.UTC()
	return k, nil
}
