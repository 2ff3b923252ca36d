package transforms

import (
	"context"
	"encoding/binary"
	"errors"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/pipelines/enrich"
)

// Hit is an event reduced to what the metrics need, with its dimensions
// resolved by the enrichment rules. It is what crosses the pipeline's
// shuffles after Enrich, with a compact binary coder.
type Hit struct {
	ID        string
	Merchant  string
	Visitor   string // event.Event.VisitorID
	SessionID string
	Time      int64 // event time, Unix µs
	Name      string
	Bot       bool
	Revenue   int64 // minor units of Currency
	Currency  string
	enrich.Dims
}

// Dim returns the hit's value of a breakdown dimension.
func (h *Hit) Dim(d layout.Dimension) string {
	switch d {
	case layout.DimEvent:
		return h.Name
	case layout.DimPage:
		return h.Page
	case layout.DimSource:
		return h.Source
	case layout.DimMedium:
		return h.Medium
	case layout.DimCampaign:
		return h.Campaign
	case layout.DimCountry:
		return h.Country
	case layout.DimDevice:
		return h.Device
	case layout.DimBrowser:
		return h.Browser
	case layout.DimOS:
		return h.OS
	}
	return layout.NoneValue
}

// Injectable bugs (Options.InjectBug). TEST ONLY: they make the pipeline
// deliberately wrong so that a bug-fix-and-backfill test has something to
// fix.
const (
	// BugCountBots counts bot events as normal events (and not as bots).
	BugCountBots = "count-bots"
)

// Enrich turns events (PCollection<event.Event>) into hits
// (PCollection<Hit>) by the rules of pipelines/enrich, counting bots. Each
// hit is timestamped with its event time, whatever timestamp the source
// gave the event (an archive reader need not set it).
// injectBug is Options.InjectBug (test only; "" in production).
func Enrich(s beam.Scope, events beam.PCollection, injectBug string) beam.PCollection {
	s = s.Scope("Enrich")
	return beam.ParDo(s, &enrichFn{InjectBug: injectBug}, events)
}

type enrichFn struct {
	InjectBug string

	en *enrich.Enricher
}

func (fn *enrichFn) Setup() { fn.en = enrich.New(enrich.DefaultCacheSize) }

func (fn *enrichFn) ProcessElement(ctx context.Context, e event.Event, emit func(beam.EventTime, Hit)) {
	dims, bot := fn.en.Event(&e)
	if bot && fn.InjectBug == BugCountBots {
		bot = false
	}
	if bot {
		botEvents.Inc(ctx, 1)
	}
	h := Hit{ID: e.ID, Merchant: e.MerchantID, Visitor: e.VisitorID(), SessionID: e.SessionID,
		Time: e.EventTime, Name: e.Name, Bot: bot, Dims: dims}
	if e.RevenueMinor != 0 {
		h.Revenue, h.Currency = e.RevenueMinor, e.Currency
	}
	emit(beam.EventTime(e.EventTime/1000), h)
}

func init() {
	beam.RegisterCoder(reflect.TypeOf(Hit{}), encodeHit, decodeHit)
	register.DoFn3x0[context.Context, event.Event, func(beam.EventTime, Hit)](&enrichFn{})
	register.Emitter2[beam.EventTime, Hit]()
}

// encodeHit: the strings as uvarint length + bytes, the integers as
// varints, the bot flag as one byte.
func encodeHit(h Hit) []byte {
	strs := h.strings()
	n := 24
	for _, s := range strs {
		n += len(*s) + 2
	}
	b := make([]byte, 0, n)
	for _, s := range strs {
		b = binary.AppendUvarint(b, uint64(len(*s)))
		b = append(b, *s...)
	}
	b = binary.AppendVarint(b, h.Time)
	b = binary.AppendVarint(b, h.Revenue)
	if h.Bot {
		return append(b, 1)
	}
	return append(b, 0)
}

var errHitShort = errors.New("transforms: truncated hit")

func decodeHit(b []byte) (Hit, error) {
	var h Hit
	for _, s := range h.strings() {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return Hit{}, errHitShort
		}
		*s, b = string(b[n:n+int(l)]), b[n+int(l):]
	}
	var n int
	if h.Time, n = binary.Varint(b); n <= 0 {
		return Hit{}, errHitShort
	}
	b = b[n:]
	if h.Revenue, n = binary.Varint(b); n <= 0 {
		return Hit{}, errHitShort
	}
	b = b[n:]
	if len(b) != 1 {
		return Hit{}, errHitShort
	}
	h.Bot = b[0] == 1
	return h, nil
}

func (h *Hit) strings() []*string {
	return []*string{&h.ID, &h.Merchant, &h.Visitor, &h.SessionID, &h.Name, &h.Currency,
		&h.Page, &h.Source, &h.Medium, &h.Campaign, &h.Country, &h.Device, &h.Browser, &h.OS}
}
