package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/footfall/footfall/testing/truth"
)

// Issue 16, point 5: sealed means final. An hour's sessions depend on
// events up to two hours after its start (a session that starts in its
// last minute runs for an hour), so the hour must not be served sealed
// before those have closed; and a late event in hour h−1 that changes
// hour h's sessions must reseal h.
func TestSealedMeansFinal(t *testing.T) {
	const m = "final"
	s := newShop(t, m)

	// 1. The last hour: its sessions can still change (a visitor who
	// started one in it is still browsing), so it must not be sealed yet.
	b := time.Now().UTC().Truncate(time.Hour).Add(-time.Hour)
	early := visitor(m, "still-browsing", false, truth.UAChromeWindows, "DE")
	s.send(t, truth.Segment(m, early.Page(b.Add(minutes(55)), truth.Shop+"/", "https://www.google.com/"))...)
	s.eventually(t, 2*time.Minute, "the last hour's events", streamed(b, b.Add(time.Hour)))
	api := s.api
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Second) {
		if sealedAt, ok := servedSealed(t, api, b); ok && time.Now().Before(b.Add(2*time.Hour)) {
			t.Errorf("hour %s was served sealed at %s, while events until %s can still change its sessions",
				b.Format(time.RFC3339), sealedAt.Format(time.RFC3339), b.Add(2*time.Hour).Format(time.RFC3339))
			break
		}
	}

	// 2. Late data in hour A−1 moves a session out of hour A.
	a := hourA()
	v := visitor(m, "late-start", true, truth.UASafariIPhone, "GB")
	w := visitor(m, "other", false, truth.UAFirefoxMac, "NL")
	s.send(t, requests(m,
		v.Page(a.Add(minutes(10)), truth.Shop+"/products/1", "https://www.google.com/"),
		v.Page(a.Add(minutes(12)), truth.Shop+"/cart", truth.Shop+"/products/1"),
		w.Page(a.Add(minutes(20)), truth.Shop+"/", ""),
	)...)
	s.eventually(t, 4*time.Minute, "hour A sealed", sealed(a, a.Add(time.Hour)))
	before := s.model(t).Totals(m, a, a.Add(time.Hour)).Sessions
	// The visitor's first page view arrives late: 10 minutes before the
	// others, in hour A−1. Its session now starts there.
	s.send(t, requests(m, v.Page(a.Add(-time.Minute), truth.Shop+"/", "https://duckduckgo.com/"))...)
	if after := s.model(t).Totals(m, a, a.Add(time.Hour)).Sessions; after != before-1 {
		t.Fatalf("the truth itself is wrong: hour A has %d sessions after the late event, want %d", after, before-1)
	}
	s.eventually(t, 4*time.Minute, "hours A−1 and A resealed", sealed(a.Add(-time.Hour), a.Add(time.Hour)))
}

// servedSealed reports whether the hour starting at h is served sealed,
// and when it was seen so.
func servedSealed(t *testing.T, api *truth.API, h time.Time) (time.Time, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ok, err := api.HourSealed(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	return time.Now(), ok
}
