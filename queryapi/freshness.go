package queryapi

import (
	"context"
	"encoding/binary"
	"hash/fnv"
	"time"

	"github.com/footfall/footfall/internal/layout"
)

// state is a snapshot of the watermarks and seal records, shared by the
// requests of FreshnessTTL.
type state struct {
	Watermarks
	readAt time.Time
}

// sealed reports whether every hour before end is sealed.
func (st *state) sealed(end time.Time) bool {
	return !st.SealedThrough.IsZero() && !end.After(st.SealedThrough)
}

// fingerprint identifies the seal state of the hours in [start, end): it
// changes when any of them is re-sealed (its seal record's changed_at or
// sealed_at moves).
func (st *state) fingerprint(start, end time.Time) uint64 {
	h := fnv.New64a()
	var b [8]byte
	for t := start.Unix(); t < end.Unix(); t += 3600 {
		binary.LittleEndian.PutUint64(b[:], uint64(st.Changed[t]))
		h.Write(b[:])
	}
	binary.LittleEndian.PutUint64(b[:], uint64(end.Unix()))
	h.Write(b[:])
	return h.Sum64()
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
	st := &state{Watermarks: w, readAt: s.now()}
	s.stateMu.Lock()
	s.state = st
	s.stateMu.Unlock()
	return st, nil
}
