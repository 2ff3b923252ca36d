package e2e

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/pipelines/io/archive"
	"github.com/footfall/footfall/testing/localstack"
	"github.com/footfall/footfall/testing/truth"
)

// Issue 17: day and week buckets in zones whose offsets are not whole hours
// — Asia/Kolkata (+05:30), Asia/Kathmandu (+05:45) — and across a DST
// change in America/St_Johns (−02:30/−03:30), Australia/Adelaide
// (+09:30/+10:30) and Australia/Lord_Howe (+10:30/+11:00, a 23.5-hour
// day). Ingest refuses events older than 72 h and the last DST changes are
// older, so the events are written straight into the archive, as the
// streaming job would, and the backfill command seals their hours.
func TestTimeZonesAcrossDST(t *testing.T) {
	const m = "tz"
	s := newShop(t, m)
	st := s.st
	limit := time.Now().UTC().Add(-96 * time.Hour) // beyond ingest's window and the sealer's lookback
	type zoneWeek struct {
		loc  *time.Location
		week truth.Bucket
	}
	var weeks []zoneWeek
	for _, name := range []string{"Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns", "Australia/Adelaide", "Australia/Lord_Howe"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		change, ok := lastOffsetChange(loc, limit.Add(-7*24*time.Hour))
		why := "its last offset change, at " + change.Format(time.RFC3339)
		if !ok {
			change, why = limit.Add(-10*24*time.Hour), "no offset change within a year"
		}
		w := truth.BucketOf("week", loc, change)
		weeks = append(weeks, zoneWeek{loc, w})
		t.Logf("%s: the week %s (%s)", name, w, why)
	}
	// UTC ranges to fill and seal: every week, two hours either side,
	// merged where they overlap.
	type span struct{ from, to time.Time }
	var spans []span
	for _, w := range weeks {
		from, to := w.week.Start.UTC().Truncate(time.Hour).Add(-2*time.Hour), w.week.End.UTC().Truncate(time.Hour).Add(3*time.Hour)
		merged := false
		for i := range spans {
			if from.Before(spans[i].to) && spans[i].from.Before(to) {
				spans[i].from, spans[i].to = minTime(from, spans[i].from), maxTime(to, spans[i].to)
				merged = true
			}
		}
		if !merged {
			spans = append(spans, span{from, to})
		}
	}
	w, err := archive.NewWriter(st.ArchiveDir())
	if err != nil {
		t.Fatal(err)
	}
	for i, sp := range spans {
		reqs := truth.Mix(truth.MixOptions{Merchant: m, Seed: uint64(170 + i), Visitors: 500, From: sp.from.Add(time.Hour), To: sp.to.Add(-2 * time.Hour),
			Currencies: []string{"EUR", "EUR", "JPY", "BHD"}, NoCopies: true})
		var evs []event.Event
		for _, r := range reqs {
			for range r.Repeat + 1 {
				for _, msg := range r.Msgs {
					e := truth.Archived(msg, msg.Hit.At.Add(time.Second))
					evs = append(evs, e)
					h := msg.Hit
					h.Received = msg.Hit.At.Add(time.Second)
					s.sent.Hits = append(s.sent.Hits, h)
				}
			}
		}
		if err := w.WriteBatch(context.Background(), evs); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %d events for %s – %s", len(evs), sp.from.Format(time.RFC3339), sp.to.Format(time.RFC3339))
		backfillRange(t, st, sp.from, sp.to)
	}
	for _, zw := range weeks {
		s.eventually(t, time.Minute, zw.loc.String(), truth.Check{Zone: zw.loc, From: zw.week.Start, To: zw.week.End, Intervals: []string{"day", "week"},
			Metrics: truth.AllMetrics, Summary: true, Dimensions: []string{"source", "country"}, Sealed: true})
	}
}

// lastOffsetChange finds the last change of loc's UTC offset before t
// within a year.
func lastOffsetChange(loc *time.Location, t time.Time) (time.Time, bool) {
	t = t.Truncate(time.Hour)
	_, off := t.In(loc).Zone()
	for h := t; h.After(t.Add(-366 * 24 * time.Hour)); h = h.Add(-15 * time.Minute) {
		if _, o := h.In(loc).Zone(); o != off {
			return h.Add(15 * time.Minute), true
		}
	}
	return time.Time{}, false
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// backfillRange runs the backfill command over [from, to) in one chunk.
func backfillRange(t *testing.T, st *localstack.Stack, from, to time.Time) {
	t.Helper()
	r := st.Resources()
	cmd := exec.Command(filepath.Join(binDir, localstack.Sealer), "--source="+st.ArchiveDir(),
		"--bigtable-project="+r.BigtableProject, "--bigtable-instance="+r.BigtableInstance, "--progress=log",
		"--from="+from.Format(time.RFC3339), "--to="+to.Format(time.RFC3339), "--chunk-hours="+strconv.Itoa(int(to.Sub(from).Hours())))
	cmd.Env = append(cmd.Environ(), "BIGTABLE_EMULATOR_HOST="+st.Options().BigtableAddr)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := waitStart(cmd, 5*time.Minute); err != nil {
		t.Fatalf("backfill %s – %s: %v\n%s", from.Format(time.RFC3339), to.Format(time.RFC3339), err, out.String())
	}
	t.Logf("backfill: %s", lastLine(out.String()))
}

func waitStart(cmd *exec.Cmd, limit time.Duration) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	return waitCmd(cmd, limit)
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndexByte(s, '\n')+1:]
}
