// Package bqstat tells the sealer, per event hour, how many rows the
// BigQuery archive received and when the last arrived, from the archive's
// appends table (pipelines/io/bqarchive writes a row there after every
// successful append). It runs where the sealer runs, with a query job; it
// is a package of its own so that the streaming job, which only writes the
// archive, links no BigQuery query client (terraform/contract ties each
// binary's calls to its account's roles).
package bqstat

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"cloud.google.com/go/bigquery"
	"google.golang.org/api/iterator"

	"github.com/footfall/footfall/pipelines/io/archive"
	"github.com/footfall/footfall/pipelines/io/bqarchive"
)

// Stats answers, per event hour, how many rows the archive received and
// when the last of them was appended, from the appends table (Write adds a
// row there after every successful append, so a row there means its
// archive rows are readable). One query covers every hour from the one
// asked to the present and is reused for CacheFor; it reads only the
// appends table's partitions since that hour (a few MB a day at 5 billion
// events a day), never the archive itself.
//
// A stale answer is safe: rows are only ever added, so a stale count is
// low, and a seal recorded with a low count is simply redone at the next
// pass (docs/reprocessing.md).
type Stats struct {
	bqarchive.Options
	// CacheFor is how long one query's answer is reused (default 1 minute).
	CacheFor time.Duration
	// Now is the clock (tests).
	Now func() time.Time
	// query runs the SQL (tests replace it).
	query func(ctx context.Context, sql string, params []bigquery.QueryParameter) ([]hourStatRow, error)

	mu       sync.Mutex
	client   *bigquery.Client
	at       time.Time
	from, to time.Time
	hours    map[time.Time]archive.HourStat
}

type hourStatRow struct {
	Hour   time.Time `bigquery:"event_hour"`
	Rows   int64     `bigquery:"row_count"`
	Newest time.Time `bigquery:"newest"`
}

// MaxFutureSkew bounds how early an event can be appended before its
// hour starts (ingest's MAX_FUTURE_SKEW is 10 minutes); the query scans
// the appends partitions from that much before the first hour asked.
const MaxFutureSkew = time.Hour

// Query is the SQL of a Stats query over event hours [@from, @to).
func Query(o bqarchive.Options) string {
	return fmt.Sprintf("SELECT event_hour, SUM(row_count) AS row_count, MAX(appended_at) AS newest\n"+
		"FROM `%s.%s.%s`\n"+
		"WHERE appended_at >= @since AND event_hour >= @from AND event_hour < @to\n"+
		"GROUP BY event_hour", o.Project, o.Dataset, o.AppendsTable())
}

// Stat returns the HourStat of the hour containing hour (zero rows when
// nothing was appended for it).
func (s *Stats) Stat(ctx context.Context, hour time.Time) (archive.HourStat, error) {
	hour = hour.UTC().Truncate(time.Hour)
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	cacheFor := s.CacheFor
	if cacheFor <= 0 {
		cacheFor = time.Minute
	}
	if s.hours == nil || now().Sub(s.at) > cacheFor || hour.Before(s.from) || !hour.Before(s.to) {
		from, to := hour, now().UTC().Truncate(time.Hour).Add(2*time.Hour)
		if !from.Before(to) {
			to = from.Add(time.Hour)
		}
		rows, err := s.run(ctx, Query(s.Options), []bigquery.QueryParameter{
			{Name: "since", Value: from.Add(-MaxFutureSkew)},
			{Name: "from", Value: from},
			{Name: "to", Value: to},
		})
		if err != nil {
			return archive.HourStat{}, fmt.Errorf("bqarchive: what the archive holds for [%s, %s) (the sealer's account needs roles/bigquery.jobUser and read access to %s): %w",
				from.Format(time.RFC3339), to.Format(time.RFC3339), s.AppendsTable(), err)
		}
		s.hours = map[time.Time]archive.HourStat{}
		for _, r := range rows {
			h := r.Hour.UTC()
			s.hours[h] = archive.HourStat{Hour: h, Rows: r.Rows, Newest: r.Newest.UTC()}
		}
		s.at, s.from, s.to = now(), from, to
	}
	st, ok := s.hours[hour]
	if !ok {
		st = archive.HourStat{Hour: hour}
	}
	return st, nil
}

func (s *Stats) run(ctx context.Context, sql string, params []bigquery.QueryParameter) ([]hourStatRow, error) {
	if s.query != nil {
		return s.query(ctx, sql, params)
	}
	if s.client == nil {
		c, err := bigquery.NewClient(ctx, s.Project)
		if err != nil {
			return nil, fmt.Errorf("bigquery.NewClient: %w", err)
		}
		s.client = c
	}
	q := s.client.Query(sql)
	q.Parameters = params
	it, err := q.Read(ctx)
	if err != nil {
		return nil, err
	}
	var out []hourStatRow
	for {
		var r hourStatRow
		err := it.Next(&r)
		if errors.Is(err, iterator.Done) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
}

// Close releases the BigQuery client.
func (s *Stats) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client != nil {
		err := s.client.Close()
		s.client = nil
		return err
	}
	return nil
}
