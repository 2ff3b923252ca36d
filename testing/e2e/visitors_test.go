package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/footfall/footfall/testing/truth"
)

// Issue 16, point 8: visitors are distinct over any range — a week never
// shows fewer than a day inside it — and a breakdown's total agrees with
// the summary (within the sketches' error). Events yesterday and today,
// many visitors on both days.
func TestVisitorsAreDistinctOverRanges(t *testing.T) {
	const m = "visitors"
	s := newShop(t, m)
	a := hourA()
	y := a.Add(-24 * time.Hour)
	today := truth.Mix(truth.MixOptions{Merchant: m, Seed: 80, Visitors: 300, From: a, To: a.Add(minutes(50)), NoCopies: true})
	// Yesterday: the same visitors (same seed) a day earlier, and others.
	yesterday := truth.Mix(truth.MixOptions{Merchant: m, Seed: 80, Visitors: 300, From: y, To: y.Add(minutes(50)), NoCopies: true})
	for i := range yesterday { // other message ids, so they are other events
		for j := range yesterday[i].Msgs {
			if !yesterday[i].Msgs[j].GA4 {
				yesterday[i].Msgs[j].Hit.ID += "-y"
			}
		}
	}
	others := truth.Mix(truth.MixOptions{Merchant: m + "-others", Seed: 81, Visitors: 200, From: y, To: y.Add(minutes(50)), NoCopies: true})
	for i := range others {
		others[i].Merchant = m
		for j := range others[i].Msgs {
			others[i].Msgs[j].Hit.Merchant = m
		}
	}
	s.sendLenient(t, today...)
	s.sendLenient(t, yesterday...)
	s.sendLenient(t, others...)

	// Both hours sealed and exact first.
	s.eventually(t, 4*time.Minute, "hours sealed", truth.Check{From: y, To: y.Add(time.Hour), Intervals: []string{"hour"}, Metrics: truth.EventMetrics, Sealed: true})
	s.eventually(t, 4*time.Minute, "hours sealed", truth.Check{From: a, To: a.Add(time.Hour), Intervals: []string{"hour"}, Metrics: truth.EventMetrics, Sealed: true})
	// Days and the week, against the truth.
	week := truth.BucketOf("week", time.UTC, a)
	from, to := week.Start, week.End
	if d := y.Truncate(24 * time.Hour); d.Before(from) {
		from = d // yesterday was in the previous week
	}
	s.eventually(t, time.Minute, "days and weeks", truth.Check{From: from, To: to, Intervals: []string{"day", "week"}, Metrics: []string{"visitors", "events"}})
	// The breakdown totals and the summary of the two days agree.
	days := truth.Check{From: y.Truncate(24 * time.Hour), To: a.Truncate(24 * time.Hour).Add(24 * time.Hour), Metrics: []string{"visitors"}, Summary: true, Dimensions: []string{"event", "page", "source", "country", "device"}}
	s.eventually(t, time.Minute, "breakdown totals and summary", days)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if d := s.api.VisitorsAgree(ctx, days); d != "" {
		t.Error(d)
	}
}
