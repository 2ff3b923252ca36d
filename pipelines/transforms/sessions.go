package transforms

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/state"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/timers"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/footfall/footfall/internal/layout"
)

// Session rules (docs/pipeline.md, "Sessions").
const (
	// SessionGap: a visitor's events at least this far apart are in
	// different sessions.
	SessionGap = 30 * time.Minute
	// MaxSessionDuration caps the duration a session contributes to
	// Totals.SessionMillis. A longer session is still one session.
	MaxSessionDuration = time.Hour
)

// Session is one closed session of one visitor: its first and last event
// times (Unix µs) and its number of (non-bot) events.
type Session struct {
	Merchant string
	Start    int64
	End      int64
	Events   int64
}

// Duration is End − Start capped at MaxSessionDuration.
func (s Session) Duration() time.Duration {
	return min(time.Duration(s.End-s.Start)*time.Microsecond, MaxSessionDuration)
}

func init() {
	beam.RegisterCoder(reflect.TypeOf(Session{}), encodeSession, decodeSession)
	register.Function1x2(keyByVisitor)
	register.DoFn6x1[context.Context, state.Provider, timers.Provider, string, Hit, func(beam.EventTime, Session), error](&sessionFn{})
	register.Emitter2[beam.EventTime, Session]()
}

// SessionInputRange is the event-time range a batch job must read to get
// the sessions that start in [from, to) exactly: SessionGap before (to know
// whether an event continues an earlier session) and MaxSessionDuration +
// SessionGap after (to see every event of a session that starts before
// `to` up to the duration cap, and the next one that shows it went on past
// the cap). Run Metrics with Options.From/To = from/to to drop what starts
// outside.
func SessionInputRange(from, to time.Time) (time.Time, time.Time) {
	return from.Add(-SessionGap), to.Add(MaxSessionDuration + SessionGap)
}

// Sessions turns non-bot hits (PCollection<Hit>) into closed sessions
// (PCollection<Session>, each timestamped with its start, in the global
// window). A session is a visitor's (merchant + Hit.Visitor) run of events
// with no gap of SessionGap or more; events with different Hit.SessionID
// values never share a session. Sessions are tracked per visitor in the
// global window by a stateful DoFn with an event-time timer at the latest
// event + SessionGap; a session is emitted once the watermark passes its
// last event + SessionGap (streaming: about 30 minutes after it ends;
// batch: at the end, exact for any input order).
func Sessions(s beam.Scope, hits beam.PCollection) beam.PCollection {
	s = s.Scope("Sessions")
	g := beam.WindowInto(s, window.NewGlobalWindows(), hits)
	keyed := beam.ParDo(s, keyByVisitor, g)
	return beam.ParDo(s, &sessionFn{
		Open:  state.MakeValueState[[]byte]("open"),
		Close: timers.InEventTime("close"),
	}, keyed)
}

func keyByVisitor(h Hit) (string, Hit) { return h.Merchant + "\x00" + h.Visitor, h }

// sessionFn keeps per visitor the open session intervals and the time its
// close timer is set for.
type sessionFn struct {
	Open  state.Value[[]byte] // encodeOpen(openSessions)
	Close timers.EventTime
}

type interval struct {
	ID         string // the client's session id ("" when none)
	Start, End int64  // Unix µs
	Events     int64
}

type openSessions struct {
	CloseAt   int64 // Unix µs the close timer fires at
	Intervals []interval
}

func (fn *sessionFn) ProcessElement(ctx context.Context, sp state.Provider, tp timers.Provider, _ string, h Hit, _ func(beam.EventTime, Session)) error {
	o, err := fn.read(sp)
	if err != nil {
		return err
	}
	o.Intervals = addEvent(o.Intervals, h.SessionID, h.Time)
	return fn.schedule(sp, tp, o)
}

func (fn *sessionFn) OnTimer(ctx context.Context, sp state.Provider, tp timers.Provider, key string, _ timers.Context, emit func(beam.EventTime, Session)) error {
	o, err := fn.read(sp)
	if err != nil {
		return err
	}
	merchant, _, _ := strings.Cut(key, "\x00")
	gap := SessionGap.Microseconds()
	keep := o.Intervals[:0]
	for _, iv := range o.Intervals {
		if iv.End+gap > o.CloseAt {
			keep = append(keep, iv) // an event arrived after the timer was set
			continue
		}
		sessionsClosed.Inc(ctx, 1)
		emit(beam.EventTime(iv.Start/1000), Session{Merchant: merchant, Start: iv.Start, End: iv.End, Events: iv.Events})
	}
	o.Intervals = keep
	if len(keep) == 0 {
		if err := fn.Open.Clear(sp); err != nil {
			return fmt.Errorf("sessions: clear state: %w", err)
		}
		return nil
	}
	return fn.schedule(sp, tp, o)
}

// schedule stores o and sets the close timer at the latest end + gap
// (rounded up to the millisecond, the timers' resolution), holding the
// output watermark at the earliest open start so that the sessions emitted
// later, timestamped with their start, are never behind it.
//
// A re-set timer always moves by at least a millisecond: Prism v2.77
// miscounts watermark holds when a timer is re-set to the same firing time
// with a different hold (an out-of-order event moves the earliest start
// but not the latest end) and then panics ("negative watermark hold
// count"). Firing a millisecond later changes nothing else.
func (fn *sessionFn) schedule(sp state.Provider, tp timers.Provider, o openSessions) error {
	latest, earliest := o.Intervals[0].End, o.Intervals[0].Start
	for _, iv := range o.Intervals[1:] {
		latest, earliest = max(latest, iv.End), min(earliest, iv.Start)
	}
	closeMs := (latest + SessionGap.Microseconds() + 999) / 1000
	if prev := o.CloseAt / 1000; prev != 0 && closeMs <= prev {
		closeMs = prev + 1
	}
	o.CloseAt = closeMs * 1000
	fn.Close.Set(tp, time.UnixMilli(closeMs), timers.WithOutputTimestamp(time.UnixMilli(earliest/1000)))
	if err := fn.Open.Write(sp, encodeOpen(o)); err != nil {
		return fmt.Errorf("sessions: write state: %w", err)
	}
	return nil
}

func (fn *sessionFn) read(sp state.Provider) (openSessions, error) {
	b, ok, err := fn.Open.Read(sp)
	if err != nil {
		return openSessions{}, fmt.Errorf("sessions: read state: %w", err)
	}
	if !ok {
		return openSessions{}, nil
	}
	return decodeOpen(b)
}

// addEvent adds an event of session id at time t (µs): it merges every
// interval of the same id that the event is within SessionGap of (it may
// bridge two) into one. Intervals of one id are always at least SessionGap
// apart, so the result does not depend on the order events arrive in.
func addEvent(ivs []interval, id string, t int64) []interval {
	gap := SessionGap.Microseconds()
	merged := interval{ID: id, Start: t, End: t, Events: 1}
	out := make([]interval, 0, len(ivs)+1)
	for _, iv := range ivs {
		if iv.ID == id && iv.Start-t < gap && t-iv.End < gap {
			merged.Start, merged.End = min(merged.Start, iv.Start), max(merged.End, iv.End)
			merged.Events += iv.Events
			continue
		}
		out = append(out, iv)
	}
	return append(out, merged)
}

// SessionTotals aggregates sessions (PCollection<Session>, windowed hourly)
// into Totals holding only Sessions, Bounces and SessionMillis, keyed by
// the totals row key of the hour each session started in.
func SessionTotals(s beam.Scope, sessions beam.PCollection) beam.PCollection {
	s = s.Scope("SessionTotals")
	keyed := beam.ParDo(s, keySessionByHour, sessions)
	return beam.CombinePerKey(s, &sessionTotalsFn{}, keyed)
}

func keySessionByHour(se Session) (string, Session) {
	return layout.TotalsKey(se.Merchant, layout.Hour(time.UnixMicro(se.Start))), se
}

type sessionTotalsFn struct{}

func (sessionTotalsFn) CreateAccumulator() layout.Totals { return layout.Totals{} }

func (sessionTotalsFn) AddInput(t layout.Totals, se Session) layout.Totals {
	t.Sessions++
	if se.Events == 1 {
		t.Bounces++
	}
	t.SessionMillis += se.Duration().Milliseconds()
	return t
}

func (sessionTotalsFn) MergeAccumulators(a, b layout.Totals) layout.Totals {
	a.Sessions += b.Sessions
	a.Bounces += b.Bounces
	a.SessionMillis += b.SessionMillis
	return a
}

func (sessionTotalsFn) ExtractOutput(t layout.Totals) layout.Totals { return t }

func init() {
	register.Function1x2(keySessionByHour)
	register.Combiner2[layout.Totals, Session](&sessionTotalsFn{})
}

var errShortState = errors.New("transforms: truncated encoding")

func encodeOpen(o openSessions) []byte {
	b := binary.AppendVarint(nil, o.CloseAt)
	for _, iv := range o.Intervals {
		b = binary.AppendUvarint(b, uint64(len(iv.ID)))
		b = append(b, iv.ID...)
		b = binary.AppendVarint(b, iv.Start)
		b = binary.AppendVarint(b, iv.End)
		b = binary.AppendVarint(b, iv.Events)
	}
	return b
}

func decodeOpen(b []byte) (openSessions, error) {
	var o openSessions
	var n int
	if o.CloseAt, n = binary.Varint(b); n <= 0 {
		return o, errShortState
	}
	b = b[n:]
	for len(b) > 0 {
		var iv interval
		l, n := binary.Uvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return o, errShortState
		}
		iv.ID, b = string(b[n:n+int(l)]), b[n+int(l):]
		for _, p := range []*int64{&iv.Start, &iv.End, &iv.Events} {
			if *p, n = binary.Varint(b); n <= 0 {
				return o, errShortState
			}
			b = b[n:]
		}
		o.Intervals = append(o.Intervals, iv)
	}
	return o, nil
}

func encodeSession(se Session) []byte {
	b := binary.AppendUvarint(nil, uint64(len(se.Merchant)))
	b = append(b, se.Merchant...)
	b = binary.AppendVarint(b, se.Start)
	b = binary.AppendVarint(b, se.End)
	return binary.AppendVarint(b, se.Events)
}

func decodeSession(b []byte) (Session, error) {
	var se Session
	l, n := binary.Uvarint(b)
	if n <= 0 || uint64(len(b)-n) < l {
		return se, errShortState
	}
	se.Merchant, b = string(b[n:n+int(l)]), b[n+int(l):]
	for _, p := range []*int64{&se.Start, &se.End, &se.Events} {
		if *p, n = binary.Varint(b); n <= 0 {
			return se, errShortState
		}
		b = b[n:]
	}
	return se, nil
}

// SessionsAll is Sessions for bounded input (batch): it groups each
// visitor's hits and splits them into sessions in memory, with exactly the
// same rules (addEvent), without the per-event state round trips of the
// stateful tracker. The sessions are in the global window with the
// grouping's timestamp: aggregate them with SessionTotals directly (its
// key carries the start hour), not through hourly windows.
func SessionsAll(s beam.Scope, hits beam.PCollection) beam.PCollection {
	s = s.Scope("SessionsAll")
	keyed := beam.ParDo(s, keyByVisitor, beam.WindowInto(s, window.NewGlobalWindows(), hits))
	return beam.ParDo(s, visitorSessions, beam.GroupByKey(s, keyed))
}

func visitorSessions(ctx context.Context, key string, hits func(*Hit) bool, emit func(Session)) {
	merchant, _, _ := strings.Cut(key, "\x00")
	var ivs []interval
	var h Hit
	for hits(&h) {
		ivs = addEvent(ivs, h.SessionID, h.Time)
	}
	for _, iv := range ivs {
		sessionsClosed.Inc(ctx, 1)
		emit(Session{Merchant: merchant, Start: iv.Start, End: iv.End, Events: iv.Events})
	}
}

func init() {
	register.Function4x0(visitorSessions)
}
