package truth

import (
	"context"
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

func TestDiffCountsLostAndDuplicatedPerHour(t *testing.T) {
	want := map[string]*Hour{
		"2026-11-26T10:00:00Z": {Events: 10},
		"2026-11-26T11:00:00Z": {Events: 5},
		"2026-11-26T12:00:00Z": {Events: 7}, // not served at all
	}
	tests := []struct {
		name                string
		points              []Point
		counted, lost, dups int64
	}{
		{"exact", []Point{{Start: "2026-11-26T10:00:00Z", Events: 10}, {Start: "2026-11-26T11:00:00Z", Events: 5}, {Start: "2026-11-26T12:00:00Z", Events: 7}}, 22, 0, 0},
		{"one hour short, one over", []Point{{Start: "2026-11-26T10:00:00Z", Events: 8}, {Start: "2026-11-26T11:00:00Z", Events: 6}, {Start: "2026-11-26T12:00:00Z", Events: 7}}, 21, 2, 1},
		{"an unexpected hour", []Point{{Start: "2026-11-26T09:00:00Z", Events: 3}, {Start: "2026-11-26T10:00:00Z", Events: 10}, {Start: "2026-11-26T11:00:00Z", Events: 5}}, 18, 7, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, l, d := Diff(tc.points, want)
			if c != tc.counted || l != tc.lost || d != tc.dups {
				t.Errorf("Diff = counted %d, lost %d, duplicated %d; want %d, %d, %d", c, l, d, tc.counted, tc.lost, tc.dups)
			}
		})
	}
}

func TestTallyEqualsTruthInAnyChunking(t *testing.T) {
	h := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	evs := Gen("tally", 3, 500, h, h.Add(3*time.Hour))
	evs = append(evs, evs[10:40]...) // retries
	want := Truth(evs, false)
	tl := NewTally(false)
	for off := 0; off < len(evs); off += 37 {
		tl.Add(evs[off:min(off+37, len(evs))]...)
	}
	got := tl.Hours()
	if len(got) != len(want) {
		t.Fatalf("%d hours, want %d", len(got), len(want))
	}
	for k, w := range want {
		g := got[k]
		if g == nil || g.Events != w.Events || g.Revenue != w.Revenue || len(g.Visitors) != len(w.Visitors) {
			t.Errorf("hour %s = %+v, want %+v", k, g, w)
		}
	}
}

// Within stops retrying once its context is done (an interrupted soak
// writes its files at once instead of waiting out the sealer's limit), and
// still returns the last difference it saw.
func TestWithinStopsWhenTheContextIsDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	diff := Within(ctx, time.Hour, func() string { calls++; return "still 3 events short" })
	if calls != 1 || diff != "still 3 events short" {
		t.Errorf("Within on a done context checked %d times and returned %q; want once, the difference", calls, diff)
	}
	calls = 0
	if diff := Within(context.Background(), time.Hour, func() string { calls++; return map[bool]string{true: "", false: "x"}[calls == 3] }); diff != "" || calls != 3 {
		t.Errorf("Within returned %q after %d checks; want a match at the third", diff, calls)
	}
}
