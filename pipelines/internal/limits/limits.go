// Package limits bounds what one Bigtable row holds, the same way in the
// transforms (per pane or hour) and in the provisional sink (after each
// merge).
package limits

import (
	"sort"

	"github.com/footfall/footfall/internal/layout"
)

// Defaults for Options of the transforms and the sink.
const (
	// DefaultMaxNames is how many distinct event names a merchant-hour
	// keeps; the rest are summed under layout.OtherValue.
	DefaultMaxNames = 500
	// DefaultTopK is how many values a breakdown row keeps; the rest are
	// summed into its Other item.
	DefaultTopK = 100
)

// CapNames keeps the max names with the most events (ties broken by name,
// so the result is deterministic) and sums the rest under
// layout.OtherValue. It returns names itself when it is within the bound
// (max <= 0 means no bound).
func CapNames(names map[string]int64, max int) map[string]int64 {
	if max <= 0 || len(names) <= max {
		return names
	}
	keys := make([]string, 0, len(names))
	for k := range names {
		if k != layout.OtherValue {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if names[keys[i]] != names[keys[j]] {
			return names[keys[i]] > names[keys[j]]
		}
		return keys[i] < keys[j]
	})
	out := make(map[string]int64, max+1)
	other := names[layout.OtherValue]
	for i, k := range keys {
		if i < max {
			out[k] = names[k]
		} else {
			other += names[k]
		}
	}
	if other > 0 {
		out[layout.OtherValue] = other
	}
	return out
}
