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
// shuffles after Enrich, with a compact binary coder. Visit replaces its
// session-scoped dimensions with its session's (docs/metrics.md).
type Hit struct {
	ID        string
	Merchant  string
	Anon      string // anonymous id (Segment anonymousId, GA4 client_id)
	UserID    string
	Visitor   string // visitor key: Anon, or the Anon it was attached to; "" when unattached
	SessionID string // the client's session id
	Type      string
	Name      string
	TxID      string // transaction id of a purchase
	Currency  string
	Time      int64 // event time, Unix µs
	Receive   int64 // receive time, Unix µs
	// Revenue is what the hit adds to revenue, in minor units at Scale: a
	// purchase's amount, a refund's amount negated, else 0 (Visit zeroes
	// a repeated transaction).
	Revenue int64
	Scale   int8
	Flags   uint8
	enrich.Dims
	Entry string // the session's entry page (set by Visit)
}

// Hit flags.
const (
	flagBot        = 1 << iota // a bot's event: counts only as a bot event
	flagPurchase               // a purchase (docs/metrics.md)
	flagSighting               // not an event: a (user id, anonymous id) pair seen, for Attach
	flagUnattached             // a user-id-only event Attach found no visitor for
)

// Bot reports whether the hit comes from a bot.
func (h *Hit) Bot() bool { return h.Flags&flagBot != 0 }

// Purchase reports whether the hit is a purchase.
func (h *Hit) Purchase() bool { return h.Flags&flagPurchase != 0 }

// View reports whether the hit is a view (page_view or screen_view).
func (h *Hit) View() bool { return h.Name == event.NamePageView || h.Name == event.NameScreenView }

// Sessionless reports whether the hit never belongs to a session:
// identify, group and alias calls, and unattached user-id-only events.
func (h *Hit) Sessionless() bool {
	switch h.Type {
	case event.TypeIdentify, event.TypeGroup, event.TypeAlias:
		return true
	}
	return h.Flags&flagUnattached != 0
}

// Dim returns the hit's value of a breakdown dimension (DimExit: none; an
// exit page belongs to a session, not to an event).
func (h *Hit) Dim(d layout.Dimension) string {
	switch d {
	case layout.DimEvent:
		return h.Name
	case layout.DimPage:
		return h.Page
	case layout.DimEntry:
		return h.Entry
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

// noneDims are the dimensions of an unattached event: nothing about the
// server that sent it is the visitor's.
var noneDims = enrich.Dims{Page: layout.NoneValue, Source: layout.NoneValue, Medium: layout.NoneValue,
	Campaign: layout.NoneValue, Country: layout.NoneValue, Device: layout.NoneValue, Browser: layout.NoneValue, OS: layout.NoneValue}

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
	h, bot := hitOf(fn.en, &e)
	if bot && fn.InjectBug == BugCountBots {
		h.Flags &^= flagBot
		bot = false
	}
	if bot {
		botEvents.Inc(ctx, 1)
	}
	emit(beam.EventTime(e.EventTime/1000), h)
}

// hitOf reduces an event to a hit.
func hitOf(en *enrich.Enricher, e *event.Event) (Hit, bool) {
	dims, bot := en.Event(e)
	h := Hit{ID: e.ID, Merchant: e.MerchantID, Anon: e.AnonymousID, UserID: e.UserID, Visitor: e.AnonymousID,
		SessionID: e.SessionID, Type: e.Type, Name: e.Name, TxID: e.TransactionID,
		Time: e.EventTime, Receive: e.ReceiveTime, Dims: dims, Entry: dims.Page}
	if bot {
		h.Flags |= flagBot
	}
	if e.IsPurchase() {
		h.Flags |= flagPurchase
	}
	if e.RevenueMinor != 0 && (e.IsPurchase() || e.IsRefund()) && e.RevenueScale >= 0 && e.RevenueScale <= layout.MaxScale {
		h.Currency, h.Scale, h.Revenue = e.Currency, int8(e.RevenueScale), e.RevenueMinor
		if e.IsRefund() && !e.IsPurchase() {
			h.Revenue = -layout.Amount{Minor: e.RevenueMinor}.Abs().Minor
		}
	}
	return h, bot
}

func init() {
	beam.RegisterCoder(reflect.TypeOf(Hit{}), encodeHit, decodeHit)
	beam.RegisterCoder(reflect.TypeOf(hitBatch{}), encodeHitBatch, decodeHitBatch)
	register.DoFn3x0[context.Context, event.Event, func(beam.EventTime, Hit)](&enrichFn{})
	register.Emitter2[beam.EventTime, Hit]()
}

// encodeHit: the strings as uvarint length + bytes, the integers as
// varints, the scale and flags as one byte each.
func encodeHit(h Hit) []byte {
	return appendHit(make([]byte, 0, hitSizeHint(&h)), &h)
}

// hitSizeHint is room enough for most hits' encoding.
func hitSizeHint(h *Hit) int {
	n := 32
	for _, s := range h.strings() {
		n += len(*s) + 2
	}
	return n
}

// appendHit appends encodeHit's encoding of h to b.
func appendHit(b []byte, h *Hit) []byte {
	for _, s := range h.strings() {
		b = binary.AppendUvarint(b, uint64(len(*s)))
		b = append(b, *s...)
	}
	b = binary.AppendVarint(b, h.Time)
	b = binary.AppendVarint(b, h.Receive)
	b = binary.AppendVarint(b, h.Revenue)
	return append(b, byte(h.Scale), h.Flags)
}

var errHitShort = errors.New("transforms: truncated hit")

// decodeHit copies b into one string and slices the hit's strings out of
// it: one allocation a hit rather than one a non-empty field (a batch run
// decodes every event once, after the per-visitor shuffle).
func decodeHit(b []byte) (Hit, error) {
	var h Hit
	all := string(b)
	off := 0
	for _, s := range h.strings() {
		l, n := binary.Uvarint(b[off:])
		if n <= 0 || uint64(len(b)-off-n) < l {
			return Hit{}, errHitShort
		}
		off += n
		*s = all[off : off+int(l)]
		off += int(l)
	}
	b = b[off:]
	for _, p := range []*int64{&h.Time, &h.Receive, &h.Revenue} {
		v, n := binary.Varint(b)
		if n <= 0 {
			return Hit{}, errHitShort
		}
		*p, b = v, b[n:]
	}
	if len(b) != 2 {
		return Hit{}, errHitShort
	}
	h.Scale, h.Flags = int8(b[0]), b[1]
	return h, nil
}

// hitBatch is hits that cross a shuffle as one element (a struct: the
// SDK would code a named slice type as a plain slice, not with its coder).
type hitBatch struct{ Hits []Hit }

// encodeHitBatch: the number of hits, then each as uvarint length +
// encodeHit, encoded into one buffer (each hit once into a reused one, for
// its length).
func encodeHitBatch(hs hitBatch) []byte {
	n := binary.MaxVarintLen64
	for i := range hs.Hits {
		n += hitSizeHint(&hs.Hits[i]) + binary.MaxVarintLen64
	}
	b := binary.AppendUvarint(make([]byte, 0, n), uint64(len(hs.Hits)))
	var e []byte
	for i := range hs.Hits {
		e = appendHit(e[:0], &hs.Hits[i])
		b = binary.AppendUvarint(b, uint64(len(e)))
		b = append(b, e...)
	}
	return b
}

func decodeHitBatch(b []byte) (hitBatch, error) {
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return hitBatch{}, errHitShort
	}
	b = b[k:]
	hs := make([]Hit, 0, n)
	for range n {
		l, k := binary.Uvarint(b)
		if k <= 0 || uint64(len(b)-k) < l {
			return hitBatch{}, errHitShort
		}
		h, err := decodeHit(b[k : k+int(l)])
		if err != nil {
			return hitBatch{}, err
		}
		hs, b = append(hs, h), b[k+int(l):]
	}
	if len(b) != 0 {
		return hitBatch{}, errHitShort
	}
	return hitBatch{hs}, nil
}

func (h *Hit) strings() []*string {
	return []*string{&h.ID, &h.Merchant, &h.Anon, &h.UserID, &h.Visitor, &h.SessionID, &h.Type, &h.Name, &h.TxID, &h.Currency,
		&h.Page, &h.Source, &h.Medium, &h.Campaign, &h.Country, &h.Device, &h.Browser, &h.OS, &h.Entry}
}
