package bqarchive

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/bigquery"
	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/oklog/ulid/v2"

	"github.com/footfall/footfall/internal/event"
)

func init() {
	register.Function2x1(describe)
}

func describe(t beam.EventTime, e event.Event) string {
	return fmt.Sprintf("%s/%s t=%d ts=%d props=%s rev=%d%s ua=%s", e.MerchantID, e.ID, e.EventTime, t.Milliseconds(), e.Properties, e.RevenueMinor, e.Currency, e.UserAgent)
}

// TestLive writes events to a real BigQuery table with Write and reads a
// range and a merchant back with Read. It runs only when
// FOOTFALL_BQ_PROJECT and FOOTFALL_BQ_DATASET are set (with application
// default credentials); FOOTFALL_BQ_TABLE names the table, else a
// throwaway table is created and deleted.
func TestLive(t *testing.T) {
	project, dataset := os.Getenv("FOOTFALL_BQ_PROJECT"), os.Getenv("FOOTFALL_BQ_DATASET")
	if project == "" || dataset == "" {
		t.Skip("set FOOTFALL_BQ_PROJECT and FOOTFALL_BQ_DATASET (and credentials) to run against BigQuery")
	}
	ctx := context.Background()
	c, err := bigquery.NewClient(ctx, project)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	table := os.Getenv("FOOTFALL_BQ_TABLE")
	if table == "" {
		table = "events_test_" + strings.ToLower(ulid.Make().String())
		defer c.Dataset(dataset).Table(table).Delete(ctx)
	}
	if err := EnsureTable(ctx, c, dataset, table); err != nil {
		t.Fatal(err)
	}
	opts := Options{Project: project, Dataset: dataset, Table: table, BatchRows: 100}

	// Unique merchants per run, so a shared table does not disturb the check.
	run := strings.ToLower(ulid.Make().String())
	base := time.Now().UTC().Truncate(time.Hour).Add(-48 * time.Hour)
	var events []event.Event
	for i := range 600 {
		e := fullEvent()
		e.ID = fmt.Sprintf("live-%d", i)
		e.MerchantID = fmt.Sprintf("live-%s-%d", run, i%3)
		e.EventTime = base.Add(time.Duration(i) * 5 * time.Minute).UnixMicro() // 50 h
		e.ReceiveTime = e.EventTime + 1000
		if i%2 == 0 {
			e.UserID, e.Properties, e.RevenueMinor, e.Currency = "", "", 0, ""
		}
		events = append(events, e)
	}

	p, s := beam.NewPipelineWithRoot()
	Write(s, opts, beam.CreateList(s, events))
	if err := ptest.Run(p); err != nil {
		t.Fatalf("write: %v", err)
	}

	from, to := base.Add(10*time.Hour), base.Add(40*time.Hour)
	merchants := []string{fmt.Sprintf("live-%s-1", run)}
	var want []any
	for _, e := range events {
		if e.EventTime >= from.UnixMicro() && e.EventTime < to.UnixMicro() && e.MerchantID == merchants[0] {
			want = append(want, describe(beam.EventTime(e.EventTime/1000), e))
		}
	}
	p, s = beam.NewPipelineWithRoot()
	got := beam.ParDo(s, describe, Read(s, opts, from, to, merchants))
	passert.Equals(s, got, want...)
	if err := ptest.Run(p); err != nil {
		t.Fatalf("read: %v", err)
	}
}
