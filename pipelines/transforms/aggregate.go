package transforms

import (
	"encoding/binary"
	"fmt"
	"reflect"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/pipelines/internal/beamcoder"
	"github.com/footfall/footfall/pipelines/internal/limits"
)

func init() {
	beam.RegisterCoder(reflect.TypeOf(hourAgg{}), encodeHourAgg, decodeHourAgg)
	register.Function1x2(keyHitByHour)
	register.Combiner3[hourAgg, Hit, hourAgg](&hourFn{})
	register.DoFn4x0[string, hourAgg, func(string, layout.Totals), func(string, layout.Breakdown)](&splitHourFn{})
	register.Emitter2[string, layout.Totals]()
	register.Emitter2[string, layout.Breakdown]()
	register.Function1x2(keyHitByMinute)
	register.Combiner2[layout.Totals, Hit](&minuteFn{})
}

// hourAgg is one merchant-hour's totals and breakdowns (indexed like
// layout.Dimensions) while they are being aggregated.
type hourAgg struct {
	T layout.Totals
	B []layout.Breakdown
}

// HourlyMetrics aggregates hour-windowed hits (PCollection<Hit>) into one
// layout.Totals per merchant and hour (PCollection<KV<string,
// layout.Totals>> keyed by layout.TotalsKey) and its breakdowns by every
// layout.Dimensions (PCollection<KV<string, layout.Breakdown>> keyed by
// layout.BreakdownKey), in one combine. Bots only count as BotEvents.
// Event names beyond maxNames per merchant-hour are summed under
// layout.OtherValue (limits.CapNames); each breakdown keeps its topK
// values by events plus Other. With allDims every merchant-hour gets all
// breakdown rows, empty ones too (a seal must replace stale rows);
// otherwise empty breakdowns are left out.
func HourlyMetrics(s beam.Scope, hits beam.PCollection, maxNames, topK int, allDims bool) (totals, breakdowns beam.PCollection) {
	s = s.Scope("HourlyMetrics")
	keyed := beam.ParDo(s, keyHitByHour, hits)
	aggs := beam.CombinePerKey(s, &hourFn{MaxNames: maxNames, TopK: topK}, keyed)
	return beam.ParDo2(s, &splitHourFn{AllDims: allDims}, aggs)
}

func keyHitByHour(h Hit) (string, Hit) {
	return layout.TotalsKey(h.Merchant, layout.Hour(time.UnixMicro(h.Time))), h
}

type hourFn struct {
	MaxNames int
	TopK     int
}

func (fn *hourFn) CreateAccumulator() hourAgg {
	return hourAgg{B: make([]layout.Breakdown, len(layout.Dimensions))}
}

func (fn *hourFn) AddInput(a hourAgg, h Hit) hourAgg {
	if h.Bot {
		a.T.BotEvents++
		return a
	}
	addHit(&a.T, &h, true)
	vis := []byte(h.Visitor)
	for i, d := range layout.Dimensions {
		b := &a.B[i]
		if b.Values == nil {
			b.Values = map[string]*layout.Item{}
		}
		v := h.Dim(d)
		it := b.Values[v]
		if it == nil {
			it = &layout.Item{Visitors: layout.NewItemSketch()}
			b.Values[v] = it
		}
		it.Events++
		if h.Name == event.NamePageView {
			it.PageViews++
		}
		if h.Revenue != 0 {
			if it.Revenue == nil {
				it.Revenue = map[string]int64{}
			}
			it.Revenue[h.Currency] += h.Revenue
		}
		it.Visitors.Insert(vis)
	}
	return a
}

// addHit counts a non-bot hit into t: events, page views, visitors and,
// when full, names and revenue.
func addHit(t *layout.Totals, h *Hit, full bool) {
	t.Events++
	if h.Name == event.NamePageView {
		t.PageViews++
	}
	if t.Visitors == nil {
		t.Visitors = layout.NewVisitorSketch()
	}
	t.Visitors.Insert([]byte(h.Visitor))
	if !full {
		return
	}
	if t.ByName == nil {
		t.ByName = map[string]int64{}
	}
	t.ByName[h.Name]++
	if h.Revenue != 0 {
		if t.Revenue == nil {
			t.Revenue = map[string]int64{}
		}
		t.Revenue[h.Currency] += h.Revenue
	}
}

func (fn *hourFn) MergeAccumulators(a, b hourAgg) hourAgg {
	must(a.T.Merge(&b.T))
	for i := range a.B {
		must(a.B[i].Merge(&b.B[i]))
	}
	return a
}

func (fn *hourFn) ExtractOutput(a hourAgg) hourAgg {
	a.T.ByName = limits.CapNames(a.T.ByName, fn.MaxNames)
	for i := range a.B {
		must(a.B[i].Truncate(fn.TopK))
	}
	return a
}

// must panics on a sketch merge error: sketches of one precision always
// merge, so an error is a programming error.
func must(err error) {
	if err != nil {
		panic(fmt.Sprintf("transforms: %v", err))
	}
}

type splitHourFn struct {
	AllDims bool
}

func (fn *splitHourFn) ProcessElement(key string, a hourAgg, totals func(string, layout.Totals), breakdowns func(string, layout.Breakdown)) {
	totals(key, a.T)
	k, err := layout.ParseKey(key)
	if err != nil {
		panic(err) // keyHitByHour made it
	}
	for i, d := range layout.Dimensions {
		b := a.B[i]
		if !fn.AllDims && len(b.Values) == 0 && b.Other.Events == 0 {
			continue
		}
		if b.Values == nil {
			b.Values = map[string]*layout.Item{}
		}
		breakdowns(layout.BreakdownKey(k.Merchant, d, k.Time), b)
	}
}

// MinuteTotals aggregates non-bot hits (PCollection<Hit>, in triggered
// windows) into per-merchant, per-UTC-minute Totals holding events, page
// views and visitors, keyed by layout.RealtimeKey: the realtime rows.
func MinuteTotals(s beam.Scope, hits beam.PCollection) beam.PCollection {
	s = s.Scope("MinuteTotals")
	keyed := beam.ParDo(s, keyHitByMinute, hits)
	return beam.CombinePerKey(s, &minuteFn{}, keyed)
}

func keyHitByMinute(h Hit) (string, Hit) {
	return layout.RealtimeKey(h.Merchant, time.UnixMicro(h.Time).UTC().Truncate(time.Minute)), h
}

type minuteFn struct{}

func (minuteFn) CreateAccumulator() layout.Totals { return layout.Totals{} }

func (minuteFn) AddInput(t layout.Totals, h Hit) layout.Totals {
	addHit(&t, &h, false)
	return t
}

func (minuteFn) MergeAccumulators(a, b layout.Totals) layout.Totals {
	must(a.Merge(&b))
	return a
}

func (minuteFn) ExtractOutput(t layout.Totals) layout.Totals { return t }

// encodeHourAgg: the totals, then each breakdown, each as a uvarint length
// and its packed cells.
func encodeHourAgg(a hourAgg) ([]byte, error) {
	t, err := beamcoder.EncodeTotals(a.T)
	if err != nil {
		return nil, err
	}
	out := binary.AppendUvarint(nil, uint64(len(t)))
	out = append(out, t...)
	for _, b := range a.B {
		enc, err := beamcoder.EncodeBreakdown(b)
		if err != nil {
			return nil, err
		}
		out = binary.AppendUvarint(out, uint64(len(enc)))
		out = append(out, enc...)
	}
	return out, nil
}

func decodeHourAgg(p []byte) (hourAgg, error) {
	next := func() ([]byte, error) {
		l, n := binary.Uvarint(p)
		if n <= 0 || uint64(len(p)-n) < l {
			return nil, errShortState
		}
		part := p[n : n+int(l)]
		p = p[n+int(l):]
		return part, nil
	}
	part, err := next()
	if err != nil {
		return hourAgg{}, err
	}
	var a hourAgg
	if a.T, err = beamcoder.DecodeTotals(part); err != nil {
		return hourAgg{}, err
	}
	for len(p) > 0 {
		if part, err = next(); err != nil {
			return hourAgg{}, err
		}
		b, err := beamcoder.DecodeBreakdown(part)
		if err != nil {
			return hourAgg{}, err
		}
		a.B = append(a.B, b)
	}
	if len(a.B) != len(layout.Dimensions) {
		return hourAgg{}, fmt.Errorf("transforms: hour aggregate has %d breakdowns, want %d", len(a.B), len(layout.Dimensions))
	}
	return a, nil
}
