package truth

import (
	"fmt"
	"time"
)

// Bucket is one time-series bucket, [Start, End).
type Bucket struct{ Start, End time.Time }

func (b Bucket) String() string {
	return b.Start.Format(time.RFC3339) + "/" + b.End.Format(time.RFC3339)
}

// BucketOf is the bucket of interval (hour, day, week, month) in loc that
// holds t: days, weeks (from Monday) and months run from local midnight
// to local midnight, so a day lasts 23 to 25 hours across a DST change;
// hours are local clock hours (in a +05:30 zone they start at :30 UTC).
func BucketOf(interval string, loc *time.Location, t time.Time) Bucket {
	l := t.In(loc)
	y, mo, d := l.Date()
	switch interval {
	case "hour":
		start := hourStart(t, loc)
		return Bucket{start, hourStart(start.Add(time.Hour+time.Minute), loc)}
	case "day":
		return Bucket{time.Date(y, mo, d, 0, 0, 0, 0, loc), time.Date(y, mo, d+1, 0, 0, 0, 0, loc)}
	case "week":
		back := (int(l.Weekday()) + 6) % 7 // days since Monday
		return Bucket{time.Date(y, mo, d-back, 0, 0, 0, 0, loc), time.Date(y, mo, d-back+7, 0, 0, 0, 0, loc)}
	case "month":
		return Bucket{time.Date(y, mo, 1, 0, 0, 0, 0, loc), time.Date(y, mo+1, 1, 0, 0, 0, 0, loc)}
	}
	panic(fmt.Sprintf("truth: unknown interval %q", interval))
}

// Buckets are the buckets of interval in loc covering [from, to): from
// moves back to the start of its bucket, to forward to the end of its
// bucket (as /v1/timeseries does).
func Buckets(interval string, loc *time.Location, from, to time.Time) []Bucket {
	var out []Bucket
	for b := BucketOf(interval, loc, from); b.Start.Before(to); b = BucketOf(interval, loc, b.End) {
		out = append(out, b)
	}
	return out
}

// hourStart is the start of the local clock hour that holds t.
func hourStart(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return t.Add(-time.Duration(l.Minute())*time.Minute - time.Duration(l.Second())*time.Second - time.Duration(l.Nanosecond()))
}
