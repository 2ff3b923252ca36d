package transforms

import (
	"fmt"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/footfall/footfall/internal/layout"
)

func init() {
	register.Function1x1(formatSession)
	register.Function2x1(formatSessionRow)
}

func formatSession(se Session) string {
	return fmt.Sprintf("%s start=%s end=%s events=%d", se.Merchant,
		time.UnixMicro(se.Start).UTC().Format("15:04:05"), time.UnixMicro(se.End).UTC().Format("15:04:05"), se.Events)
}

func formatSessionRow(key string, t layout.Totals) string {
	return fmt.Sprintf("%s sessions=%d bounces=%d session_ms=%d", key, t.Sessions, t.Bounces, t.SessionMillis)
}

// Each case is one visitor (the merchant names the case).
func TestSessionsEdgeCases(t *testing.T) {
	at := func(hms string) int64 {
		d, err := time.Parse("15:04:05", hms)
		if err != nil {
			t.Fatal(err)
		}
		return base.Add(time.Duration(d.Hour())*time.Hour + time.Duration(d.Minute())*time.Minute + time.Duration(d.Second())*time.Second).UnixMicro()
	}
	type ev struct{ sid, at string }
	cases := []struct {
		name   string
		events []ev // in the order they are created (the runner may reorder)
		want   []string
	}{
		{"gap-exactly-30m", []ev{{"", "00:00:00"}, {"", "00:30:00"}},
			[]string{"start=00:00:00 end=00:00:00 events=1", "start=00:30:00 end=00:30:00 events=1"}},
		{"gap-just-under-30m", []ev{{"", "00:00:00"}, {"", "00:29:59"}},
			[]string{"start=00:00:00 end=00:29:59 events=2"}},
		{"out-of-order-bridge", []ev{{"", "00:50:00"}, {"", "00:00:00"}, {"", "00:25:00"}},
			[]string{"start=00:00:00 end=00:50:00 events=3"}},
		{"session-ids-split", []ev{{"a", "00:00:00"}, {"b", "00:05:00"}, {"a", "00:10:00"}},
			[]string{"start=00:00:00 end=00:10:00 events=2", "start=00:05:00 end=00:05:00 events=1"}},
		{"gap-inside-one-id", []ev{{"a", "00:00:00"}, {"a", "00:40:00"}},
			[]string{"start=00:00:00 end=00:00:00 events=1", "start=00:40:00 end=00:40:00 events=1"}},
		{"spans-hours", []ev{{"", "00:50:00"}, {"", "01:19:00"}, {"", "01:45:00"}},
			[]string{"start=00:50:00 end=01:45:00 events=3"}},
		{"longer-than-cap", []ev{{"", "00:00:00"}, {"", "00:20:00"}, {"", "00:40:00"}, {"", "01:00:00"}, {"", "01:20:00"}, {"", "01:40:00"}},
			[]string{"start=00:00:00 end=01:40:00 events=6"}},
	}
	var hits []Hit
	var want []string
	for i, tc := range cases {
		for j, e := range tc.events {
			hits = append(hits, Hit{ID: fmt.Sprint(i, j), Merchant: tc.name, Visitor: "v", SessionID: e.sid, Time: at(e.at), Name: "x"})
		}
		for _, w := range tc.want {
			want = append(want, tc.name+" "+w)
		}
	}
	// The hour each session counts in, its bounces and capped durations.
	wantTotals := []string{
		"gap-exactly-30m#t#2026110100 sessions=2 bounces=2 session_ms=0",
		"gap-just-under-30m#t#2026110100 sessions=1 bounces=0 session_ms=1799000",
		"out-of-order-bridge#t#2026110100 sessions=1 bounces=0 session_ms=3000000",
		"session-ids-split#t#2026110100 sessions=2 bounces=1 session_ms=600000",
		"gap-inside-one-id#t#2026110100 sessions=2 bounces=2 session_ms=0",
		"spans-hours#t#2026110100 sessions=1 bounces=0 session_ms=3300000",
		"longer-than-cap#t#2026110100 sessions=1 bounces=0 session_ms=3600000",
	}

	// The stateful tracker (streaming; here in batch, timers at the end)
	// and the grouping one (batch) give the same sessions.
	variants := []struct {
		name     string
		sessions func(beam.Scope, beam.PCollection) beam.PCollection
		totals   func(beam.Scope, beam.PCollection) beam.PCollection
	}{
		{"stateful", Sessions, func(s beam.Scope, c beam.PCollection) beam.PCollection {
			return SessionTotals(s, Hourly(s, c, WindowOptions{}))
		}},
		{"grouped", SessionsAll, SessionTotals},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			p, s := beam.NewPipelineWithRoot()
			sessions := v.sessions(s, beam.CreateList(s, hits))
			passert.Equals(s, beam.ParDo(s, formatSession, sessions), beam.CreateList(s, want))
			got := beam.WindowInto(s, window.NewGlobalWindows(), beam.ParDo(s, formatSessionRow, v.totals(s, sessions)))
			passert.Equals(s, got, beam.CreateList(s, wantTotals))
			ptest.RunAndValidate(t, p)
		})
	}
}

// Dedup (stateful, here in batch) and DedupAll (grouping) keep exactly one
// copy of each (merchant, event id): the same id at two merchants is two
// events.
func TestDedupVariants(t *testing.T) {
	var hits []Hit
	for i := 0; i < 50; i++ {
		for c := 0; c <= i%3; c++ { // 1, 2 or 3 copies
			for _, m := range []string{"a", "b"} {
				hits = append(hits, Hit{ID: fmt.Sprint("e", i), Merchant: m, Visitor: "v", Time: base.Add(time.Duration(i) * time.Minute).UnixMicro(), Name: "x"})
			}
		}
	}
	for name, dedup := range map[string]func(beam.Scope, beam.PCollection) beam.PCollection{
		"stateful": func(s beam.Scope, c beam.PCollection) beam.PCollection { return Dedup(s, c, time.Hour) },
		"grouped":  DedupAll,
	} {
		t.Run(name, func(t *testing.T) {
			p, s := beam.NewPipelineWithRoot()
			out := beam.WindowInto(s, window.NewGlobalWindows(), dedup(s, beam.CreateList(s, hits)))
			passert.Count(s, out, "deduplicated", 100)
			ptest.RunAndValidate(t, p)
		})
	}
}
