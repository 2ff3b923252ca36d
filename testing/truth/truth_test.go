package truth

import (
	"testing"
	"time"
)

func TestTruthCountsEachIDOnceWithoutCrawlers(t *testing.T) {
	h := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	evs := []Event{
		{ID: "a", At: h.Add(time.Minute), Visitor: "v1", Name: "signup"},
		{ID: "a", At: h.Add(time.Minute), Visitor: "v1", Name: "signup"}, // a retry
		{ID: "b", At: h.Add(2 * time.Minute), Visitor: "v2", Name: "purchase", Cents: 250},
		{ID: "c", At: h.Add(3 * time.Minute), Visitor: "bot", Name: "signup", Bot: true},
		{ID: "d", At: h.Add(61 * time.Minute), Visitor: "v1", Name: "signup"},
	}
	got := Truth(evs, false)
	first := got[h.Format(time.RFC3339)]
	if first == nil || first.Events != 2 || first.Revenue != 250 || len(first.Visitors) != 2 {
		t.Errorf("first hour = %+v, want 2 events, 250 revenue, 2 visitors", first)
	}
	if n, _ := Totals(got); n != 3 {
		t.Errorf("total events = %d, want 3", n)
	}
	if n, _ := Totals(Truth(evs, true)); n != 4 {
		t.Errorf("total events counting crawlers = %d, want 4", n)
	}
}
