package soak

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/footfall/footfall/testing/truth"
)

// The compact tally computes the same ground truth as truth.Truth, and
// counts an event acknowledged twice (a retried batch) once.
func TestTallyMatchesTruth(t *testing.T) {
	from := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	evs := truth.Gen("x", 3, 5000, from, from.Add(3*time.Hour))
	for i := range evs {
		evs[i].ID = fmt.Sprintf("soak1-%d", i) // the soak's numbered ids
	}
	marker := truth.Event{ID: "soak1-m1", At: from, Visitor: "marker", Name: markerName}
	tl := newTally("soak1")
	tl.add(evs[:3000])
	tl.add(evs[2000:]) // 1,000 acknowledged twice
	tl.add([]truth.Event{marker})
	want := truth.Truth(append(evs, marker), false)
	if !reflect.DeepEqual(tl.hours, want) {
		t.Errorf("tally hours differ from truth.Truth:\n got %v\nwant %v", summary(tl.hours), summary(want))
	}
	if tl.acked != int64(len(evs)) {
		t.Errorf("acked = %d, want %d", tl.acked, len(evs))
	}
	for _, i := range []int{0, 4999} {
		if !tl.isAcked(i) {
			t.Errorf("event %d not marked acknowledged", i)
		}
	}
	if tl.isAcked(5000) || tl.isAcked(1<<20) {
		t.Error("an event never sent is marked acknowledged")
	}
}

func summary(hs map[string]*truth.Hour) string {
	s := ""
	for k, h := range hs {
		s += fmt.Sprintf("%s: %d events, %d revenue, %d visitors; ", k, h.Events, h.Revenue, len(h.Visitors))
	}
	return s
}
