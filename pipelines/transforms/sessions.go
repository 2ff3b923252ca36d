package transforms

import (
	"encoding/binary"
	"errors"
	"reflect"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/pipelines/enrich"
)

// The rules of docs/metrics.md that bound what an hour depends on.
const (
	// SessionGap: a visitor's events at least this far apart are in
	// different sessions.
	SessionGap = 30 * time.Minute
	// LongRun: a visitor active without a SessionGap pause for this long
	// or longer gets a new session at each full UTC hour (a session lasts
	// at most 2 × LongRun). Measured from the start of the run, not of the
	// session, so that where sessions start depends on a bounded stretch
	// of history (docs/metrics.md).
	LongRun = time.Hour
	// MaxSessionLength bounds a session's duration: a run's first session
	// lasts until the first full hour after LongRun.
	MaxSessionLength = 2 * LongRun
	// DedupWindow: a copy of an event (same merchant and id) is dropped
	// when another copy has an earlier event time at most this much
	// earlier; likewise a purchase's revenue when the visitor's previous
	// purchase of the same transaction id is at most this much earlier.
	DedupWindow = time.Hour
	// AttachWindow: a user-id-only event is attached to the anonymous id
	// last seen with its user id at most this much earlier.
	AttachWindow = 30 * time.Minute
	// EngagedAfter: a session lasting at least this long is engaged.
	EngagedAfter = 10 * time.Second
	// MaxOpenSessions bounds the sessions (client session ids) one
	// visitor has open at once; opening one more closes the one idle the
	// longest.
	MaxOpenSessions = 16
	// MaxRecentIDs bounds the event ids (and transaction ids) the
	// streaming job remembers per visitor for deduplication.
	MaxRecentIDs = 4096
)

// lookBack is how far before an hour its values can depend on events:
// whether a run has lasted LongRun at the hour's start (LongRun +
// SessionGap), and for each of those events an earlier copy (DedupWindow)
// and the anonymous id of a user-id-only event (AttachWindow).
const lookBack = LongRun + SessionGap + DedupWindow + AttachWindow

// InputRange is the event-time range a batch job must read to compute the
// hours [from, to) exactly: lookBack before it, and LongRun after it (the
// rest of a session that starts just before `to` ends at the latest at the
// full hour LongRun later). Run MetricsFromEvents with Options.From/To =
// from/to to drop what falls outside [from, to).
func InputRange(from, to time.Time) (time.Time, time.Time) {
	return from.Add(-lookBack), to.Add(LongRun)
}

// DependentHours returns the hours whose values an event at t can change:
// every hour H whose InputRange(H, H+1h) contains t. When the archive gets
// a late event, all of them must be sealed again.
func DependentHours(t time.Time) []time.Time {
	var out []time.Time
	for h := layout.Hour(t.Add(-LongRun - time.Hour)); !h.After(t.Add(lookBack)); h = h.Add(time.Hour) {
		from, to := InputRange(h, h.Add(time.Hour))
		if !t.Before(from) && t.Before(to) {
			out = append(out, h)
		}
	}
	return out
}

// SettledAfter is how long after an hour ends its values stop depending
// on events that have not happened yet: a session that starts in its last
// moment can run until the full hour LongRun later. Sealing an hour
// earlier would seal a value that still changes without any late data.
const SettledAfter = LongRun

// Session is one closed session of one visitor (docs/metrics.md).
type Session struct {
	Merchant     string
	Visitor      string
	Start, End   int64 // first and last event time, Unix µs
	Events       int64
	Views        int64
	Interactions int64
	Purchase     bool
	// Dims holds the session-scoped values of its first event (Page is
	// unused); Entry and Exit its first and last page.
	enrich.Dims
	Entry, Exit string
}

// Bounce reports whether the session bounced: one event, a view.
func (se *Session) Bounce() bool { return se.Events == 1 && se.Views == 1 }

// Engaged reports whether the session is engaged: at least EngagedAfter
// long, or two views or more, or a purchase.
func (se *Session) Engaged() bool {
	return se.Duration() >= EngagedAfter || se.Views >= 2 || se.Purchase
}

// Duration is End − Start (never more than MaxSessionLength).
func (se *Session) Duration() time.Duration {
	return min(time.Duration(se.End-se.Start)*time.Microsecond, MaxSessionLength)
}

// Dim returns the session's value of a session-scoped dimension.
func (se *Session) Dim(d layout.Dimension) string {
	switch d {
	case layout.DimEntry:
		return se.Entry
	case layout.DimExit:
		return se.Exit
	case layout.DimSource:
		return se.Source
	case layout.DimMedium:
		return se.Medium
	case layout.DimCampaign:
		return se.Campaign
	case layout.DimCountry:
		return se.Country
	case layout.DimDevice:
		return se.Device
	case layout.DimBrowser:
		return se.Browser
	case layout.DimOS:
		return se.OS
	}
	return layout.NoneValue
}

func init() {
	beam.RegisterCoder(reflect.TypeOf(Session{}), encodeSession, decodeSession)
}

var errShortState = errors.New("transforms: truncated encoding")

func (se *Session) strings() []*string {
	return []*string{&se.Merchant, &se.Visitor, &se.Source, &se.Medium, &se.Campaign, &se.Country, &se.Device, &se.Browser, &se.OS, &se.Entry, &se.Exit}
}

func encodeSession(se Session) []byte {
	var b []byte
	for _, s := range se.strings() {
		b = binary.AppendUvarint(b, uint64(len(*s)))
		b = append(b, *s...)
	}
	for _, v := range []int64{se.Start, se.End, se.Events, se.Views, se.Interactions} {
		b = binary.AppendVarint(b, v)
	}
	if se.Purchase {
		return append(b, 1)
	}
	return append(b, 0)
}

func decodeSession(b []byte) (Session, error) {
	var se Session
	for _, s := range se.strings() {
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return se, errShortState
		}
		*s, b = string(b[n:n+int(l)]), b[n+int(l):]
	}
	for _, p := range []*int64{&se.Start, &se.End, &se.Events, &se.Views, &se.Interactions} {
		v, n := binary.Varint(b)
		if n <= 0 {
			return se, errShortState
		}
		*p, b = v, b[n:]
	}
	if len(b) != 1 {
		return se, errShortState
	}
	se.Purchase = b[0] == 1
	return se, nil
}
