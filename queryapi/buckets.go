package queryapi

import (
	"fmt"
	"time"

	"github.com/footfall/footfall/internal/layout"
)

// Interval is the length of a time-series bucket.
type Interval string

// The intervals. Day, week (ISO, starting Monday) and month boundaries are
// local midnights in the request's time zone.
const (
	IntervalHour  Interval = "hour"
	IntervalDay   Interval = "day"
	IntervalWeek  Interval = "week"
	IntervalMonth Interval = "month"
)

func parseInterval(s string) (Interval, error) {
	switch i := Interval(s); i {
	case IntervalHour, IntervalDay, IntervalWeek, IntervalMonth:
		return i, nil
	}
	return "", badRequest("interval %q is not supported; use hour, day, week or month", s)
}

// Bucket is a half-open span of time [Start, End). Its ends are whole UTC
// quarter hours: metrics are stored by UTC hour and quarter hour, and every
// UTC offset served is a whole number of quarter hours, so local midnights
// and local hours are too.
type Bucket struct {
	Start, End time.Time
}

// floor returns the start of the bucket of interval i (in loc) containing t.
func floor(t time.Time, i Interval, loc *time.Location) time.Time {
	l := t.In(loc)
	switch i {
	case IntervalHour:
		return localHour(t, loc)
	case IntervalDay:
		return localMidnight(l.Year(), l.Month(), l.Day(), loc)
	case IntervalWeek:
		wd := (int(l.Weekday()) + 6) % 7 // Monday = 0
		return localMidnight(l.Year(), l.Month(), l.Day()-wd, loc)
	default:
		return localMidnight(l.Year(), l.Month(), 1, loc)
	}
}

// next returns the start of the bucket after the one starting at start.
func next(start time.Time, i Interval, loc *time.Location) time.Time {
	l := start.In(loc)
	switch i {
	case IntervalHour:
		return nextLocalHour(start, loc)
	case IntervalDay:
		return localMidnight(l.Year(), l.Month(), l.Day()+1, loc)
	case IntervalWeek:
		return localMidnight(l.Year(), l.Month(), l.Day()+7, loc)
	default:
		return localMidnight(l.Year(), l.Month()+1, 1, loc)
	}
}

// localMidnight is the first instant of the local date (y, m, d) in loc. Where
// a zone skips midnight (DST starting at 00:00), the day starts at the first
// instant that exists on that date.
func localMidnight(y int, m time.Month, d int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	want := time.Date(y, m, d, 0, 0, 0, 0, time.UTC) // normalised date
	for i := 0; i < 8; i++ {
		l := t.In(loc)
		if time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC).Before(want) {
			t = t.Add(layout.Quarter) // Date chose the previous day's side of a gap
			continue
		}
		break
	}
	return t.UTC()
}

// localHour is the start of the local hour holding t: the last UTC quarter
// hour at or before t at which the local clock showed a whole hour. Where a
// DST change moves the clock by 30 minutes (Lord Howe), the hour of the
// change lasts 90 minutes, as a local day lasts 23 or 25 hours elsewhere;
// where it moves by an hour, every local hour lasts an hour.
func localHour(t time.Time, loc *time.Location) time.Time {
	q := t.UTC().Truncate(layout.Quarter)
	for i := 0; i < 8 && q.In(loc).Minute() != 0; i++ {
		q = q.Add(-layout.Quarter)
	}
	return q
}

// nextLocalHour is the start of the local hour after the one starting at start.
func nextLocalHour(start time.Time, loc *time.Location) time.Time {
	q := start.Add(layout.Quarter)
	for i := 0; i < 8 && q.In(loc).Minute() != 0; i++ {
		q = q.Add(layout.Quarter)
	}
	return q
}

// buckets splits [from, to) into whole buckets of interval i in loc: from
// is moved back to the start of its bucket and to forward to the end of
// its bucket. It refuses more than maxPoints buckets.
func buckets(from, to time.Time, i Interval, loc *time.Location, maxPoints int) ([]Bucket, error) {
	var out []Bucket
	for s := floor(from, i, loc); s.Before(to); {
		e := next(s, i, loc)
		out = append(out, Bucket{s, e})
		if len(out) > maxPoints {
			return nil, badRequest("%s to %s by %s is more than %d points, the limit: use a longer interval or a shorter range",
				from.In(loc).Format(time.RFC3339), to.In(loc).Format(time.RFC3339), i, maxPoints)
		}
		s = e
	}
	return out, nil
}

// checkQuarterHours refuses a zone whose UTC offset is not a whole number
// of quarter hours at some instant of [from, to): metrics are stored per
// UTC quarter hour at the finest, so a bucket edge must fall on one. Every
// offset in use today is (+05:30, +05:45, -03:30, +12:45); a few zones had
// others in the 1970s (Africa/Monrovia, -00:44:30 until 1972).
func checkQuarterHours(loc *time.Location, from, to time.Time) error {
	t := from
	for i := 0; t.Before(to) && i < 10000; i++ {
		l := t.In(loc)
		name, off := l.Zone()
		if off%int(layout.Quarter/time.Second) != 0 {
			return badRequest("time zone %s is UTC%s (%s) at %s; metrics are stored per UTC quarter hour, so only offsets that are a whole number of quarter hours can be served: ask for a range after %s changed its offset, or use UTC",
				loc, formatOffset(off), name, l.Format(time.RFC3339), loc)
		}
		_, end := l.ZoneBounds()
		if end.IsZero() || !end.After(t) {
			break
		}
		t = end
	}
	return nil
}

func formatOffset(sec int) string {
	sign := '+'
	if sec < 0 {
		sign, sec = '-', -sec
	}
	if sec%60 != 0 {
		return fmt.Sprintf("%c%02d:%02d:%02d", sign, sec/3600, sec%3600/60, sec%60)
	}
	return fmt.Sprintf("%c%02d:%02d", sign, sec/3600, sec%3600/60)
}
