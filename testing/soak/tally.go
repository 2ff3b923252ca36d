package soak

import (
	"strconv"
	"strings"
	"time"

	"github.com/footfall/footfall/testing/truth"
)

// tally is a run's ground truth, kept small for runs of tens of millions
// of events: one bit per generated event (acknowledged or not) and, per
// hour, the events, revenue and visitors under truth's rules (each id
// once, crawlers excluded). Markers, whose ids are not numbered, are
// counted as they come: each is acknowledged once.
type tally struct {
	prefix string
	bits   []uint64
	acked  int64 // distinct generated events acknowledged
	hours  map[string]*truth.Hour
}

func newTally(prefix string) *tally {
	return &tally{prefix: prefix, hours: map[string]*truth.Hour{}}
}

// number returns the sequence number of a generated event id
// ("<prefix>-<n>").
func (t *tally) number(id string) (int, bool) {
	rest, ok := strings.CutPrefix(id, t.prefix+"-")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	return i, err == nil && i >= 0
}

// n is one past the highest event number the tally can hold.
func (t *tally) n() int { return 64 * len(t.bits) }

func (t *tally) isAcked(i int) bool {
	return i/64 < len(t.bits) && t.bits[i/64]&(1<<(i%64)) != 0
}

// add counts acknowledged events.
func (t *tally) add(evs []truth.Event) {
	for _, e := range evs {
		if i, ok := t.number(e.ID); ok {
			for len(t.bits) <= i/64 {
				t.bits = append(t.bits, 0)
			}
			if t.isAcked(i) {
				continue
			}
			t.bits[i/64] |= 1 << (i % 64)
			t.acked++
		}
		if e.Bot {
			continue
		}
		key := e.At.UTC().Truncate(time.Hour).Format(time.RFC3339)
		h := t.hours[key]
		if h == nil {
			h = &truth.Hour{Visitors: map[string]bool{}}
			t.hours[key] = h
		}
		h.Events++
		h.Revenue += e.Cents
		h.Visitors[e.Visitor] = true
	}
}
