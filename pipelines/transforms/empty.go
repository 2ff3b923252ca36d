package transforms

import (
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/footfall/footfall/internal/layout"
)

func init() {
	register.Function2x2(markHasData)
	register.Function1x2(markWanted)
	register.DoFn4x1[string, func(*bool) bool, func(string, layout.Totals), func(string, layout.Breakdown), error](&emptyHourFn{})
}

// WithEmptyHours makes batch outputs cover every merchant-hour in hours
// (PCollection<string> of layout.TotalsKey, e.g. every hour the range
// being sealed had rows for): an hour without totals in out gets a zero
// Totals row and an empty row for every breakdown dimension, so that
// btsink.WriteSealed replaces stale sealed values of an hour that no
// longer has events (after a bug fix). The result is in the global window.
func WithEmptyHours(s beam.Scope, out Outputs, hours beam.PCollection) Outputs {
	s = s.Scope("WithEmptyHours")
	global := func(c beam.PCollection) beam.PCollection { return beam.WindowInto(s, window.NewGlobalWindows(), c) }
	totals, breakdowns := global(out.Totals), global(out.Breakdowns)
	marks := beam.Flatten(s, beam.ParDo(s, markHasData, totals), beam.ParDo(s, markWanted, global(hours)))
	zeroT, emptyB := beam.ParDo2(s, &emptyHourFn{}, beam.GroupByKey(s, marks))
	return Outputs{
		Totals:     beam.Flatten(s, totals, zeroT),
		Breakdowns: beam.Flatten(s, breakdowns, emptyB),
		Realtime:   out.Realtime,
	}
}

func markHasData(key string, _ layout.Totals) (string, bool) { return key, true }

func markWanted(key string) (string, bool) { return key, false }

type emptyHourFn struct{}

func (fn *emptyHourFn) ProcessElement(key string, marks func(*bool) bool, totals func(string, layout.Totals), breakdowns func(string, layout.Breakdown)) error {
	var has bool
	for m := false; marks(&m); {
		has = has || m
	}
	if has {
		return nil
	}
	k, err := layout.ParseKey(key)
	if err == nil && k.Kind != layout.KindTotals {
		err = layout.ErrBadKey
	}
	if err != nil {
		return fmt.Errorf("transforms: WithEmptyHours: %q is not a totals row key: %w", key, err)
	}
	totals(key, layout.Totals{})
	for _, d := range layout.Dimensions {
		breakdowns(layout.BreakdownKey(k.Merchant, d, k.Time), layout.Breakdown{Values: map[string]*layout.Item{}})
	}
	return nil
}
