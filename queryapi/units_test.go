package queryapi

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/footfall/footfall/internal/layout"
)

// Amounts are rendered at the scale they were stored with (ingest took it
// from ISO 4217), not looked up again.
func TestMoney(t *testing.T) {
	tests := []struct {
		a    layout.Amount
		want Money
	}{
		{layout.Amount{Minor: 12345, Scale: 2}, Money{12345, 2, "123.45"}},
		{layout.Amount{Minor: 5, Scale: 2}, Money{5, 2, "0.05"}},
		{layout.Amount{Minor: -5, Scale: 2}, Money{-5, 2, "-0.05"}},
		{layout.Amount{Minor: 500, Scale: 0}, Money{500, 0, "500"}},
		{layout.Amount{Minor: 1234, Scale: 3}, Money{1234, 3, "1.234"}},
		{layout.Amount{Minor: 0, Scale: 2}, Money{0, 2, "0.00"}},
	}
	for _, tc := range tests {
		if got := money(tc.a); got != tc.want {
			t.Errorf("money(%+v) = %+v, want %+v", tc.a, got, tc.want)
		}
	}
	// A change across scales is taken at the larger one.
	got := change(Revenue{"USD": money(layout.Amount{Minor: 1990, Scale: 2})}, Revenue{"USD": money(layout.Amount{Minor: 9, Scale: 0})})
	if rc := got.(map[string]RevenueChange)["USD"]; rc.Absolute != (Money{1090, 2, "10.90"}) || rc.Percent == nil || *rc.Percent != 121.11 {
		t.Errorf("change 19.90 vs 9 = %+v", rc)
	}
}

// Day buckets tile time without gaps or overlaps, start at local
// midnight (or the first instant of the date where midnight is skipped)
// and last 23 to 25 hours in whole quarter hours (Lord Howe: 23.5, 24.5).
func TestDayBucketsTile(t *testing.T) {
	for _, tz := range []string{"UTC", "America/New_York", "Europe/London", "Asia/Tokyo", "America/Santiago", "America/Havana", "Australia/Sydney", "Pacific/Apia",
		"Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns", "Australia/Adelaide", "Australia/Lord_Howe", "Pacific/Chatham", "Australia/Eucla"} {
		t.Run(tz, func(t *testing.T) {
			loc, err := time.LoadLocation(tz)
			if err != nil {
				t.Skipf("zone data: %v", err)
			}
			from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			bs, err := buckets(from, from.AddDate(1, 0, 0), IntervalDay, loc, 1000)
			if err != nil {
				t.Fatal(err)
			}
			for i, b := range bs {
				if i > 0 && !b.Start.Equal(bs[i-1].End) {
					t.Fatalf("gap or overlap before %s", b.Start)
				}
				if d := b.End.Sub(b.Start); d < 23*time.Hour || d > 25*time.Hour || d%layout.Quarter != 0 {
					t.Errorf("day %s lasts %s", b.Start.In(loc), b.End.Sub(b.Start))
				}
				if l := b.Start.In(loc); l.Minute() != 0 || l.Hour() > 1 {
					t.Errorf("day starts at %s local", l)
				}
			}
		})
	}
}

func TestIntervals(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		interval    Interval
		from, to    time.Time
		wantN       int
		wantFirst   string
		wantLastEnd string
	}{
		{IntervalWeek, time.Date(2026, 3, 4, 12, 0, 0, 0, ny), time.Date(2026, 3, 10, 0, 0, 0, 0, ny), 2, "2026-03-02T00:00:00-05:00", "2026-03-16T00:00:00-04:00"},
		{IntervalMonth, time.Date(2026, 2, 15, 0, 0, 0, 0, ny), time.Date(2026, 4, 1, 0, 0, 0, 0, ny), 2, "2026-02-01T00:00:00-05:00", "2026-04-01T00:00:00-04:00"},
		{IntervalHour, time.Date(2026, 3, 8, 0, 30, 0, 0, ny), time.Date(2026, 3, 8, 4, 0, 0, 0, ny), 3, "2026-03-08T00:00:00-05:00", "2026-03-08T04:00:00-04:00"},
	}
	for _, tc := range tests {
		t.Run(string(tc.interval), func(t *testing.T) {
			bs, err := buckets(tc.from.UTC(), tc.to.UTC(), tc.interval, ny, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(bs) != tc.wantN || bs[0].Start.In(ny).Format(time.RFC3339) != tc.wantFirst || bs[len(bs)-1].End.In(ny).Format(time.RFC3339) != tc.wantLastEnd {
				t.Errorf("%d buckets from %s to %s; want %d from %s to %s", len(bs), bs[0].Start.In(ny).Format(time.RFC3339), bs[len(bs)-1].End.In(ny).Format(time.RFC3339), tc.wantN, tc.wantFirst, tc.wantLastEnd)
			}
		})
	}
}

// Hour buckets are local hours, from one instant the local clock shows a
// whole hour to the next: in India they start at UTC half hours; on Lord
// Howe, whose clocks move by 30 minutes, the hour of the change lasts 90
// minutes (April: 02:00 becomes 01:30; October: 02:00 becomes 02:30, so
// no 02:00 is shown). Where clocks move by a whole hour, every bucket is
// an hour long, as before (a New York fall-back night has two 1 AMs).
func TestLocalHourBuckets(t *testing.T) {
	for _, tc := range []struct {
		tz       string
		from, to time.Time
		want     []string // bucket lengths
	}{
		{"Asia/Kolkata", time.Date(2026, 3, 1, 4, 0, 0, 0, time.UTC), time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC), []string{"1h0m0s", "1h0m0s", "1h0m0s"}},
		{"Australia/Lord_Howe", time.Date(2026, 4, 4, 13, 0, 0, 0, time.UTC), time.Date(2026, 4, 4, 17, 0, 0, 0, time.UTC), []string{"1h0m0s", "1h30m0s", "1h0m0s", "1h0m0s"}},
		{"Australia/Lord_Howe", time.Date(2026, 10, 3, 14, 0, 0, 0, time.UTC), time.Date(2026, 10, 3, 17, 0, 0, 0, time.UTC), []string{"1h0m0s", "1h30m0s", "1h0m0s"}},
		{"America/New_York", time.Date(2026, 11, 1, 4, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC), []string{"1h0m0s", "1h0m0s", "1h0m0s", "1h0m0s"}},
	} {
		loc, _ := time.LoadLocation(tc.tz)
		bs, err := buckets(tc.from, tc.to, IntervalHour, loc, 100)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for i, b := range bs {
			got = append(got, b.End.Sub(b.Start).String())
			if l := b.Start.In(loc); l.Minute() != 0 {
				t.Errorf("%s: bucket %d starts at %s", tc.tz, i, l.Format(time.RFC3339))
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s from %s: buckets of %v, want %v", tc.tz, tc.from.In(loc).Format(time.RFC3339), got, tc.want)
		}
	}
}

// Every zone is served now, over a year that includes its DST changes —
// the zones refused while metrics were stored per UTC hour first; only an
// offset that is no whole number of quarter hours is refused.
func TestEveryZoneIsServed(t *testing.T) {
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tz := range []string{"Asia/Kolkata", "Asia/Calcutta", "Asia/Tehran", "Asia/Kabul", "Asia/Yangon", "Asia/Kathmandu", "Asia/Colombo",
		"Australia/Adelaide", "Australia/Darwin", "Australia/Eucla", "Australia/Lord_Howe", "America/St_Johns",
		"Pacific/Marquesas", "Pacific/Chatham", "UTC", "America/New_York", "Europe/London", "Asia/Tokyo", "Pacific/Auckland"} {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			t.Fatalf("%s: %v", tz, err)
		}
		if err := checkQuarterHours(loc, from, to); err != nil {
			t.Errorf("%s is refused over 2026: %v", tz, err)
		}
	}
	// Liberia kept -00:44:30 until 1972.
	mon, _ := time.LoadLocation("Africa/Monrovia")
	err := checkQuarterHours(mon, time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1971, 2, 1, 0, 0, 0, 0, time.UTC))
	if err == nil || !strings.Contains(err.Error(), "-00:44:30") {
		t.Errorf("Africa/Monrovia in 1971: %v, want a refusal naming -00:44:30", err)
	}
}

// A span's fingerprint changes when a seal record of one of its hours
// changes or appears, and only then.
func TestFingerprint(t *testing.T) {
	h := func(i int) int64 { return h0.Add(time.Duration(i) * time.Hour).Unix() }
	base := map[int64]int64{h(0): 10, h(1): 11, h(5): 15}
	span := func(st *state) uint64 { return st.fingerprint(h0, h0.Add(3*time.Hour)) }
	want := span(newState(Watermarks{Changed: base}, h0))
	for _, tc := range []struct {
		name    string
		changed map[int64]int64
		same    bool
	}{
		{"unchanged", map[int64]int64{h(0): 10, h(1): 11, h(5): 15}, true},
		{"an hour after the span re-sealed", map[int64]int64{h(0): 10, h(1): 11, h(5): 99}, true},
		{"an hour before the span sealed", map[int64]int64{h(-1): 1, h(0): 10, h(1): 11, h(5): 15}, true},
		{"an hour of the span re-sealed", map[int64]int64{h(0): 10, h(1): 12, h(5): 15}, false},
		{"an hour of the span sealed for the first time", map[int64]int64{h(0): 10, h(1): 11, h(2): 1, h(5): 15}, false},
	} {
		if got := span(newState(Watermarks{Changed: tc.changed}, h0)); (got == want) != tc.same {
			t.Errorf("%s: fingerprint %x, before %x; want same = %v", tc.name, got, want, tc.same)
		}
	}
	if a, b := newState(Watermarks{Changed: base}, h0).fingerprint(h0, h0.Add(2*time.Hour)), want; a == b {
		t.Error("spans of different lengths share a fingerprint")
	}
}
