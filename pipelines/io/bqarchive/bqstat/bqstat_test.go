package bqstat

import (
	"context"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"

	"github.com/footfall/footfall/pipelines/io/archive"
	"github.com/footfall/footfall/pipelines/io/bqarchive"
)

// Stats answers per event hour from one query of the appends table,
// pruned to its partitions since the first hour asked, and reuses the
// answer for CacheFor.
func TestStats(t *testing.T) {
	h := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	now := h.Add(5*time.Hour + 7*time.Minute)
	type call struct {
		sql    string
		params map[string]any
	}
	var calls []call
	answer := []hourStatRow{
		{Hour: h, Rows: 10, Newest: h.Add(70 * time.Minute)},
		{Hour: h.Add(2 * time.Hour), Rows: 3, Newest: h.Add(4 * time.Hour)},
	}
	s := &Stats{Options: bqarchive.Options{Project: "my-proj", Dataset: "footfall", Table: "events"}, CacheFor: time.Minute,
		Now: func() time.Time { return now },
		query: func(_ context.Context, sql string, params []bigquery.QueryParameter) ([]hourStatRow, error) {
			m := map[string]any{}
			for _, p := range params {
				m[p.Name] = p.Value
			}
			calls = append(calls, call{sql, m})
			return answer, nil
		}}
	ctx := context.Background()
	tests := []struct {
		hour time.Time
		want archive.HourStat
	}{
		{h, archive.HourStat{Hour: h, Rows: 10, Newest: h.Add(70 * time.Minute)}},
		{h.Add(time.Hour), archive.HourStat{Hour: h.Add(time.Hour)}},
		{h.Add(2*time.Hour + 30*time.Minute), archive.HourStat{Hour: h.Add(2 * time.Hour), Rows: 3, Newest: h.Add(4 * time.Hour)}},
	}
	for _, tc := range tests {
		got, err := s.Stat(ctx, tc.hour)
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("Stat(%s) = %+v, want %+v", tc.hour, got, tc.want)
		}
	}
	if len(calls) != 1 {
		t.Fatalf("%d queries for 3 hours within CacheFor, want 1", len(calls))
	}
	c := calls[0]
	if !strings.Contains(c.sql, "FROM `my-proj.footfall.events_appends`") || !strings.Contains(c.sql, "appended_at >= @since") {
		t.Errorf("query reads the wrong table or prunes no partitions:\n%s", c.sql)
	}
	if c.params["since"] != h.Add(-MaxFutureSkew) || c.params["from"] != h || c.params["to"] != h.Add(7*time.Hour) {
		t.Errorf("query parameters = %v", c.params)
	}
	now = now.Add(2 * time.Minute)
	answer[0].Rows = 11 // a late event arrived
	got, err := s.Stat(ctx, h)
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || got.Rows != 11 {
		t.Errorf("after CacheFor: %d queries, rows %d; want a second query and 11 rows", len(calls), got.Rows)
	}
	if _, err := s.Stat(ctx, h.Add(-time.Hour)); err != nil || len(calls) != 3 {
		t.Errorf("an hour before the cached range must query again (%d queries, %v)", len(calls), err)
	}
}
