package e2e

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/footfall/footfall/testing/truth"
)

// Issue 16, point 8: visitors are distinct over any range — a week never
// shows fewer than a day inside it, a range over two days counts a
// returning visitor once — and a breakdown's total agrees with the
// summary. Plain traffic (Segment and GA4 page views and custom events of
// anonymous visitors) yesterday and today, half the visitors on both days,
// so that only visitors are in question.
func TestVisitorsAreDistinctOverRanges(t *testing.T) {
	const m = "visitors"
	s := newShop(t, m)
	a := hourA()
	y := a.Add(-24 * time.Hour)
	plain := func(day time.Time, from, to int) []truth.Request {
		var reqs []truth.Request
		var seg []truth.Msg
		for i := from; i < to; i++ {
			v := visitor(m, fmt.Sprintf("v%d", i), i%3 == 0, []string{truth.UAChromeWindows, truth.UASafariIPhone, truth.UAFirefoxMac}[i%3], []string{"DE", "GB", "JP", ""}[i%4])
			at := day.Add(time.Duration(i%50)*time.Minute + time.Duration(i)*time.Second)
			msgs := []truth.Msg{v.Page(at, truth.Shop+[]string{"/", "/products/1", "/cart"}[i%3], []string{"", "https://www.google.com/", "https://t.co/x"}[i%3]),
				v.Track(at.Add(30*time.Second), "signup", truth.Shop+"/", nil)}
			if v.GA4 {
				reqs = append(reqs, truth.GA4(m, msgs...))
			} else {
				seg = append(seg, msgs...)
			}
		}
		return append(reqs, truth.Segment(m, seg...)...)
	}
	s.send(t, plain(y, 0, 300)...)   // yesterday: visitors 0–299
	s.send(t, plain(a, 150, 450)...) // today: 150–449, half of them back
	tot := s.model(t).Totals(m, y, a.Add(time.Hour))
	if len(tot.Visitors) != 450 {
		t.Fatalf("the truth itself is wrong: %d visitors over both days, want 450", len(tot.Visitors))
	}
	// Both hours sealed and exact first.
	hourly := func(h time.Time) truth.Check {
		return truth.Check{From: h, To: h.Add(time.Hour), Intervals: []string{"hour"}, Metrics: []string{"visitors"}, Sealed: true}
	}
	s.eventually(t, 4*time.Minute, "yesterday's hour sealed", hourly(y))
	s.eventually(t, 4*time.Minute, "today's hour sealed", hourly(a))
	// Days and the week (or weeks), against the truth.
	week := truth.BucketOf("week", time.UTC, a)
	from, to := week.Start, week.End
	if d := y.Truncate(24 * time.Hour); d.Before(from) {
		from = d // yesterday was in the previous week
	}
	s.eventually(t, time.Minute, "days and weeks", truth.Check{From: from, To: to, Intervals: []string{"day", "week"}, Metrics: []string{"visitors", "events"}})
	// The breakdown totals and the summary of the two days.
	days := truth.Check{From: y.Truncate(24 * time.Hour), To: a.Truncate(24 * time.Hour).Add(24 * time.Hour), Metrics: []string{"visitors"}, Summary: true,
		Dimensions: []string{"event", "page", "source", "country", "device"}}
	s.eventually(t, time.Minute, "breakdown totals and summary", days)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if d := s.api.VisitorsAgree(ctx, days); d != "" {
		t.Error(d)
	}
}
