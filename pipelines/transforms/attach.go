package transforms

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/footfall/footfall/pipelines/enrich"
	"github.com/footfall/footfall/pipelines/internal/lag"
)

func init() {
	register.DoFn5x0[beam.EventTime, Hit, func(beam.EventTime, Hit), func(beam.EventTime, Hit), func(beam.EventTime, Hit)](&splitForAttachFn{})
	register.Function1x2(keyByUser)
	register.DoFn6x1[context.Context, state.Provider, timers.Provider, string, Hit, func(beam.EventTime, Hit), error](&attachFn{})
}

// A server-side event that carries only a user id must not create a
// visitor with the server's country and device (docs/metrics.md): it is
// attached to the anonymous id last seen with its user id, at most
// AttachWindow before it, or else marked unattached (it then counts in
// events and revenue only). Events with an anonymous id need no
// attachment; those that also carry a user id are *sightings* of the pair.

// splitForAttachFn sends hits with an anonymous id on unchanged (direct),
// a small sighting of each (user id, anonymous id) pair, and user-id-only
// hits (orphans) to attachment.
type splitForAttachFn struct{}

func (fn *splitForAttachFn) ProcessElement(t beam.EventTime, h Hit, direct, sightings, orphans func(beam.EventTime, Hit)) {
	isDirect, isSighting := attachRole(&h)
	if !isDirect {
		orphans(t, h)
		return
	}
	direct(t, h)
	if isSighting {
		sightings(t, sightingOf(h))
	}
}

// attachRole says what attachment makes of h: a hit with an anonymous id
// (or a bot's) goes on unchanged (direct), and is also a sighting when it
// carries a user id and is not a bot's; any other hit is an orphan, to be
// attached.
func attachRole(h *Hit) (direct, sighting bool) {
	switch {
	case h.Anon != "":
		return true, h.UserID != "" && !h.Bot()
	case h.Bot():
		return true, false // a bot's event needs no visitor
	}
	return false, false
}

func keyByUser(h Hit) (string, Hit) { return h.Merchant + "\x00" + h.UserID, h }

// attachSorted sorts one user id's sightings and orphans by event time (a
// sighting before an orphan of the same time) and emits every orphan,
// attached to the anonymous id of the latest sighting at most AttachWindow
// before it, or marked unattached.
func attachSorted(hits []Hit, emit func(Hit)) {
	sortHits(hits)
	// Within equal times sortHits orders by receive time and id; put
	// sightings first so "at most AttachWindow before" includes "at the
	// same time".
	for i := 1; i < len(hits); i++ {
		for j := i; j > 0 && hits[j].Time == hits[j-1].Time && hits[j].Flags&flagSighting != 0 && hits[j-1].Flags&flagSighting == 0; j-- {
			hits[j], hits[j-1] = hits[j-1], hits[j]
		}
	}
	var last Hit
	seen := false
	for _, h := range hits {
		if h.Flags&flagSighting != 0 {
			last, seen = h, true
			continue
		}
		attach(&h, last, seen)
		emit(h)
	}
}

// sightingOf is what an identified visitor's event h tells the attach
// step: the user id was seen on this anonymous id at this time, from this
// country and user agent.
func sightingOf(h Hit) Hit {
	return Hit{Merchant: h.Merchant, UserID: h.UserID, Anon: h.Anon, Time: h.Time, Receive: h.Receive, Flags: flagSighting,
		Dims: enrich.Dims{Country: h.Country, Device: h.Device, Browser: h.Browser, OS: h.OS}}
}

// attach gives orphan h the anonymous id of sighting s when s is at most
// AttachWindow before it, with the sighting's country and user agent
// dimensions (a server's are not the visitor's), else marks h unattached.
func attach(h *Hit, s Hit, ok bool) {
	if ok && h.Time >= s.Time && h.Time-s.Time <= AttachWindow.Microseconds() {
		h.Visitor = s.Anon
		h.Country, h.Device, h.Browser, h.OS = s.Country, s.Device, s.Browser, s.OS
		return
	}
	h.Visitor = ""
	h.Flags |= flagUnattached
}

// Attach attaches user-id-only hits for unbounded input (streaming): a
// stateful step keyed by user id keeps the latest sighting and attaches
// each orphan as it arrives (an orphan that arrives before the sighting
// that would attach it stays unattached until sealing). The state is
// cleared AttachWindow after the latest sighting. It returns all hits, in
// the global window.
func Attach(s beam.Scope, hits beam.PCollection) beam.PCollection {
	s = s.Scope("Attach")
	direct, sightings, orphans := beam.ParDo3(s, &splitForAttachFn{}, beam.WindowInto(s, window.NewGlobalWindows(), hits))
	keyed := beam.ParDo(s, keyByUserCounted, beam.Flatten(s, sightings, orphans))
	attached := beam.ParDo(s, &attachFn{
		Last:  state.MakeValueState[[]byte]("sighting"),
		Clear: timers.InEventTime("clear"),
	}, keyed)
	return beam.Flatten(s, direct, attached)
}

type attachFn struct {
	Last  state.Value[[]byte] // encodeHit of the latest sighting
	Clear timers.EventTime
}

func (fn *attachFn) ProcessElement(ctx context.Context, sp state.Provider, tp timers.Provider, _ string, h Hit, emit func(beam.EventTime, Hit)) error {
	lag.Process.Taken(1)
	b, ok, err := fn.Last.Read(sp)
	if err != nil {
		return fmt.Errorf("attach: read state: %w", err)
	}
	var last Hit
	if ok {
		if last, err = decodeHit(b); err != nil {
			return fmt.Errorf("attach: decode state: %w", err)
		}
	}
	if h.Flags&flagSighting == 0 {
		attach(&h, last, ok)
		emit(beam.EventTime(h.Time/1000), h)
		return nil
	}
	if ok && h.Time < last.Time {
		return nil // an older sighting: the newer one stands
	}
	if err := fn.Last.Write(sp, encodeHit(h)); err != nil {
		return fmt.Errorf("attach: write state: %w", err)
	}
	fn.Clear.Set(tp, time.UnixMicro(h.Time).Add(AttachWindow+time.Millisecond))
	return nil
}

func (fn *attachFn) OnTimer(ctx context.Context, sp state.Provider, tp timers.Provider, _ string, _ timers.Context, _ func(beam.EventTime, Hit)) error {
	if err := fn.Last.Clear(sp); err != nil {
		return fmt.Errorf("attach: clear state: %w", err)
	}
	return nil
}
