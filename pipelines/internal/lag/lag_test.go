package lag

import (
	"testing"
	"time"
)

func TestBehind(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	tr := New(func() time.Time { return now })
	us := func(d time.Duration) int64 { return now.Add(d).UnixMicro() }
	if got := tr.Behind(); got != 0 {
		t.Fatalf("nothing pulled: Behind = %s, want 0", got)
	}
	tr.Pulled(us(-10 * time.Minute))
	tr.Pulled(us(-4 * time.Minute))
	if got := tr.Behind(); got != 6*time.Minute {
		t.Fatalf("before the first fold: Behind = %s, want 6m (newest pulled past the first)", got)
	}
	tr.Folded(us(-9 * time.Minute))
	tr.Folded(0) // a pane with no hits (sessions only) says nothing
	if got := tr.Behind(); got != 5*time.Minute {
		t.Fatalf("Behind = %s, want 5m", got)
	}
	tr.Folded(us(-30 * time.Minute)) // a late event's pane does not move it back
	tr.Pulled(us(-2 * time.Hour))    // nor does a late event pulled
	if got := tr.Behind(); got != 5*time.Minute {
		t.Fatalf("after late events: Behind = %s, want 5m", got)
	}
	tr.Folded(us(-4 * time.Minute))
	if got := tr.Behind(); got != 0 {
		t.Fatalf("caught up: Behind = %s, want 0", got)
	}
	// An event from a skewed clock an hour ahead counts as now, on both sides.
	tr.Pulled(us(time.Hour))
	if got := tr.Behind(); got != 4*time.Minute {
		t.Fatalf("future event pulled: Behind = %s, want 4m", got)
	}
	tr.Folded(us(time.Hour))
	if got := tr.Behind(); got != 0 {
		t.Fatalf("future event folded: Behind = %s, want 0", got)
	}
}

// A reader holds only while the fold is busy: when the newest event pulled
// never reaches the fold, the job goes idle and the reader goes on.
func TestHoldingNeedsABusyFold(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	tr := New(func() time.Time { return now })
	us := func(d time.Duration) int64 { return now.Add(d).UnixMicro() }
	tr.Pulled(us(-5 * time.Hour)) // beyond the horizon: dropped before the fold
	tr.Pulled(us(-4 * time.Hour))
	if tr.Behind() != time.Hour {
		t.Fatalf("Behind = %s, want 1h", tr.Behind())
	}
	if tr.Holding(time.Minute) {
		t.Fatal("holding although nothing was ever folded")
	}
	tr.Folded(us(-4*time.Hour - 10*time.Minute))
	if !tr.Holding(time.Minute) {
		t.Fatal("not holding 10m behind with a busy fold")
	}
	now = now.Add(FoldIdle)
	if tr.Holding(time.Minute) {
		t.Fatalf("holding %s after the last fold", FoldIdle)
	}
	tr.Folded(0) // a pane of sessions only: the fold is busy again
	if !tr.Holding(time.Minute) {
		t.Fatal("not holding after a pane without hits")
	}
	if tr.Holding(time.Hour) {
		t.Fatal("holding within maxLag")
	}
}

func TestConcurrentMaxima(t *testing.T) {
	tr := New(func() time.Time { return time.Unix(1e6, 0) })
	done := make(chan bool)
	for g := range 4 {
		go func() {
			for i := range 1000 {
				tr.Pulled(int64(g*1000 + i + 1))
			}
			done <- true
		}()
	}
	for range 4 {
		<-done
	}
	if got := tr.pulled.Load(); got != 4000 {
		t.Fatalf("pulled max = %d, want 4000", got)
	}
}

func TestInFlight(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	tr := New(func() time.Time { return now })
	tr.Keyed(250)
	if got := tr.InFlight(); got != 250 {
		t.Fatalf("InFlight = %d, want 250", got)
	}
	if tr.Crowded(100) {
		t.Fatal("crowded before the stateful steps received anything (a job still starting, or a count that drifted)")
	}
	tr.Taken(50)
	if got := tr.InFlight(); got != 200 {
		t.Fatalf("InFlight = %d, want 200", got)
	}
	if !tr.Crowded(100) {
		t.Fatal("not crowded with 200 in flight over a bound of 100 while the steps receive")
	}
	if tr.Crowded(200) {
		t.Fatal("crowded at the bound")
	}
	now = now.Add(FoldIdle)
	if tr.Crowded(100) {
		t.Fatalf("crowded %s after the steps last received: a count that drifted would stop the reader for good", FoldIdle)
	}
	tr.Taken(150)
	if got := tr.InFlight(); got != 50 || tr.Crowded(100) {
		t.Fatalf("InFlight = %d, crowded %v; want 50, not crowded", got, tr.Crowded(100))
	}
	tr.Taken(80) // more taken than keyed (a retried bundle): never negative
	if got := tr.InFlight(); got != 0 {
		t.Fatalf("InFlight = %d, want 0", got)
	}
}

func TestConcurrentInFlight(t *testing.T) {
	tr := New(nil)
	done := make(chan bool)
	for range 4 {
		go func() {
			for range 10000 {
				tr.Keyed(3)
				tr.Taken(3)
			}
			done <- true
		}()
	}
	for range 4 {
		<-done
	}
	if got := tr.InFlight(); got != 0 {
		t.Fatalf("InFlight = %d after every element was taken, want 0", got)
	}
}
