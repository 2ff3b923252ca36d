package e2e

import (
	"testing"
	"time"

	"github.com/footfall/footfall/testing/truth"
)

// Issue 16, point 4: deduplication by (merchant, event id) across hours,
// within an hour of the earlier copy: a retry whose event time moved
// (sentAt correction, receive-time stamping) into another hour is one
// event, in provisional and sealed values; a retried GA4 request is one
// set of events (ids derived from the request).
func TestDedupAcrossHours(t *testing.T) {
	const m = "dedup"
	s := newShop(t, m)
	// A copy without a timestamp is stamped with the receive time, so its
	// original must be in the previous hour but less than an hour ago:
	// just before this hour began, unless the hour is about to end.
	if now := time.Now().UTC(); now.Minute() >= 58 {
		wait := now.Truncate(time.Hour).Add(time.Hour + 5*time.Second).Sub(now)
		t.Logf("waiting %s for the next hour, so that a receive-time copy is less than an hour after its original", wait.Round(time.Second))
		time.Sleep(wait)
	}
	a := hourA()
	now := time.Now().UTC()
	v := visitor(m, "segment", false, truth.UAChromeWindows, "DE")
	g := visitor(m, "ga4", true, truth.UASafariIPhone, "GB")
	w := visitor(m, "late", false, truth.UAFirefoxMac, "NL")

	// 1. An event 0.1 s before hour A; its copy's corrected time is 5 s
	// into hour A (client clock 5 minutes behind): one event, in A−1.
	first := v.Track(a.Add(-100*time.Millisecond), "signup", truth.Shop+"/", nil)
	copy1 := first
	copy1.Hit.At = a.Add(5 * time.Second)
	copy1.SentAtSkew = 5 * time.Minute
	// 2. The same at the end of hour A, into A+1.
	second := v.Track(a.Add(time.Hour-100*time.Millisecond), "add_to_wishlist", truth.Shop+"/", nil)
	copy2 := second
	copy2.Hit.At = a.Add(time.Hour + 5*time.Second)
	copy2.SentAtSkew = 5 * time.Minute
	// 3. A message retried without a timestamp: now, in this hour; its
	// original was sent for the last second of the previous hour.
	third := w.Track(now.Truncate(time.Hour).Add(-time.Second), "newsletter_signup", truth.Shop+"/", nil)
	copy3 := third
	copy3.NoTimestamp = true
	// 4. Copies more than an hour apart are two events. The copy's
	// corrected time is known to the truth only within the request's
	// latency, so it is a session of its own (more than 30 minutes after
	// the visitor's last event): no duration depends on it.
	far := v.Track(a.Add(minutes(5)), "share", truth.Shop+"/", nil)
	farCopy := far
	farCopy.Hit.At = a.Add(minutes(100))
	farCopy.SentAtSkew = time.Minute
	// 5. A GA4 request retried as is, and a Segment batch retried as is.
	ga4 := truth.GA4(m, g.Page(a.Add(minutes(10)), truth.Shop+"/", "https://www.google.com/"), g.Purchase(a.Add(minutes(12)), truth.Shop+"/done", "25.00", "EUR", "g-1"))
	ga4.Repeat = 1
	batch := truth.Segment(m, v.Page(a.Add(minutes(20)), truth.Shop+"/cart", ""), v.Purchase(a.Add(minutes(21)), truth.Shop+"/done", "35.00", "EUR", "s-1"))
	batch[0].Repeat = 1

	// Originals first, then the copies (as a client retries).
	s.send(t, append(truth.Segment(m, first, second, third, far), ga4, batch[0])...)
	s.send(t, truth.Segment(m, copy1, copy2, copy3, farCopy)...)
	model := s.model(t)
	if n := len(model.Dropped); n != 3+2+2 {
		t.Fatalf("the truth itself is wrong: %d copies dropped, want 7 (three moved copies, a GA4 retry of 2, a batch retry of 2)", n)
	}
	cur := time.Now().UTC().Truncate(time.Hour)
	s.eventually(t, 2*time.Minute, "after streaming", truth.Check{From: a, To: cur.Add(time.Hour), Intervals: []string{"hour"},
		Metrics: truth.EventMetrics, Summary: true, Dimensions: []string{"event"}})
	// Hours A−1 and A can be sealed now; the copies into A+1 and into this
	// hour are checked in provisional values above.
	s.eventually(t, 4*time.Minute, "after sealing", sealed(a.Add(-time.Hour), a.Add(time.Hour)))
}
