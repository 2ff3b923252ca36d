package queryapi

import (
	"context"
	"slices"
	"time"

	"github.com/footfall/footfall/internal/layout"
)

// state is a snapshot of the watermarks and seal records, shared by the
// requests of FreshnessTTL.
type state struct {
	Watermarks
	readAt time.Time
	// changedHours are the hours (Unix s) with a seal record, sorted, and
	// changedSums[i] the sum of mix(hour, changed) over changedHours[:i]:
	// the fingerprint of any span is two binary searches.
	changedHours []int64
	changedSums  []uint64
}

func newState(w Watermarks, at time.Time) *state {
	st := &state{Watermarks: w, readAt: at}
	st.changedHours = make([]int64, 0, len(w.Changed))
	for h := range w.Changed {
		st.changedHours = append(st.changedHours, h)
	}
	slices.Sort(st.changedHours)
	st.changedSums = make([]uint64, len(st.changedHours)+1)
	for i, h := range st.changedHours {
		st.changedSums[i+1] = st.changedSums[i] + mix(uint64(h), uint64(w.Changed[h]))
	}
	return st
}

// mix hashes two values into one (splitmix64's finaliser over a combination).
func mix(a, b uint64) uint64 {
	x := a*0x9e3779b97f4a7c15 ^ b
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// sealed reports whether every hour before end is sealed.
func (st *state) sealed(end time.Time) bool {
	return !st.SealedThrough.IsZero() && !end.After(st.SealedThrough)
}

// fingerprint identifies the seal state of the hours in [start, end): it
// changes when any of them is re-sealed (its seal record's changed_at or
// sealed_at moves) or gets its first seal record.
func (st *state) fingerprint(start, end time.Time) uint64 {
	// A seal record covers its whole hour: a span cutting an hour depends
	// on it too.
	i, _ := slices.BinarySearch(st.changedHours, start.Truncate(time.Hour).Unix())
	j, _ := slices.BinarySearch(st.changedHours, end.Add(time.Hour-1).Truncate(time.Hour).Unix())
	return mix(st.changedSums[j]-st.changedSums[i], uint64(end.Unix()))
}

// current reports whether a row read for the hour starting at hour (sealed
// or provisional, written at at) is to be served: a seal of the hour
// supersedes every row it did not write (layout.Current).
func (st *state) current(hour time.Time, sealed bool, at int64) bool {
	fam := layout.FamilyProvisional
	if sealed {
		fam = layout.FamilySealed
	}
	return layout.Current(st.Seals[hour.Unix()], fam, at)
}

// freshState returns the current snapshot. It is read from the meta
// table at most once per FreshnessTTL; once older than that, it is still
// served (for up to 10×FreshnessTTL) while one background read refreshes
// it, so that no request waits for the refresh.
func (s *Server) freshState(ctx context.Context) (*state, error) {
	s.stateMu.Lock()
	cur := s.state
	s.stateMu.Unlock()
	ttl := s.cfg.FreshnessTTL
	if cur != nil {
		age := s.now().Sub(cur.readAt)
		if age < ttl {
			return cur, nil
		}
		if age < 10*ttl {
			s.flight.DoChan("\x00state", func() (any, error) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				return s.readState(ctx)
			})
			return cur, nil
		}
	}
	v, err, _ := s.flight.Do("\x00state", func() (any, error) { return s.readState(ctx) })
	if err != nil {
		return nil, err
	}
	return v.(*state), nil
}

func (s *Server) readState(ctx context.Context) (*state, error) {
	w, err := s.store.Watermarks(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "reading watermarks failed", "err", err)
		return nil, err
	}
	st := newState(w, s.now())
	s.stateMu.Lock()
	s.state = st
	s.stateMu.Unlock()
	return st, nil
}
