package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	json "github.com/goccy/go-json"

	"github.com/footfall/footfall/internal/keys"
	"github.com/footfall/footfall/testing/localstack"
)

// ev is one event a scenario sends, with what the ground truth needs.
type ev struct {
	id      string
	at      time.Time
	visitor string
	name    string
	cents   int64
	bot     bool
}

const crawlerUA = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"

// genEvs makes n events spread over [from, to): about one in ten from a
// crawler, a quarter of them purchases.
func genEvs(seed uint64, n int, from, to time.Time) []ev {
	rng := rand.New(rand.NewPCG(seed, 5))
	out := make([]ev, n)
	for i := range out {
		e := ev{id: fmt.Sprintf("seal-%d-%d", seed, i), at: from.Add(time.Duration(rng.Int64N(int64(to.Sub(from))))).Truncate(time.Millisecond),
			visitor: fmt.Sprintf("visitor-%d", rng.IntN(80)), name: "signup", bot: rng.IntN(10) == 0}
		if rng.IntN(4) == 0 {
			e.name, e.cents = "purchase", int64(100+rng.IntN(9000))
		}
		out[i] = e
	}
	return out
}

// send posts events in batches of 50 and fails on anything but a 200.
func send(t *testing.T, base string, evs []ev) {
	t.Helper()
	for off := 0; off < len(evs); off += 50 {
		var batch []map[string]any
		for _, e := range evs[off:min(off+50, len(evs))] {
			m := map[string]any{"type": "track", "event": e.name, "anonymousId": e.visitor, "messageId": e.id,
				"timestamp": e.at.Format(time.RFC3339Nano)}
			if e.cents > 0 {
				m["properties"] = map[string]any{"revenue": fmt.Sprintf("%d.%02d", e.cents/100, e.cents%100), "currency": Currency}
			}
			if e.bot {
				m["context"] = map[string]any{"userAgent": crawlerUA}
			}
			batch = append(batch, m)
		}
		postBatch(t, base, map[string]any{"batch": batch})
	}
}

// hourWant is the ground truth of one hour.
type hourWant struct {
	events, revenue int64
	visitors        map[string]bool
}

// truthOf computes each hour's expected metrics from the events sent
// (each id once; crawlers excluded).
func truthOf(evs []ev) map[string]*hourWant {
	seen := map[string]bool{}
	out := map[string]*hourWant{}
	for _, e := range evs {
		if seen[e.id] || e.bot {
			continue
		}
		seen[e.id] = true
		h := e.at.Truncate(time.Hour).Format(time.RFC3339)
		if out[h] == nil {
			out[h] = &hourWant{visitors: map[string]bool{}}
		}
		out[h].events++
		out[h].revenue += e.cents
		out[h].visitors[e.visitor] = true
	}
	return out
}

// served compares the query API's hourly series over [from, to) with want;
// sealed requires every hour to be served sealed. It returns "" on a match.
func served(t *testing.T, base string, from, to time.Time, want map[string]*hourWant, sealed bool) string {
	t.Helper()
	q := url.Values{"metrics": {"events,visitors,revenue"}, "interval": {"hour"}, "from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}}
	req, _ := http.NewRequest(http.MethodGet, base+"/v1/timeseries?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+keys.DemoReadKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var out struct {
		Points []struct {
			Start    string  `json:"start"`
			Sealed   bool    `json:"sealed"`
			Events   float64 `json:"events"`
			Visitors float64 `json:"visitors"`
			Revenue  map[string]struct {
				Minor int64 `json:"minor"`
			} `json:"revenue"`
		} `json:"points"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		return fmt.Sprintf("status %d, %v", resp.StatusCode, err)
	}
	for _, p := range out.Points {
		w := want[p.Start]
		if w == nil {
			w = &hourWant{}
		}
		switch {
		case sealed && !p.Sealed:
			return fmt.Sprintf("hour %s not sealed yet", p.Start)
		case int64(p.Events) != w.events:
			return fmt.Sprintf("hour %s: %v events, want %d", p.Start, p.Events, w.events)
		case p.Revenue[Currency].Minor != w.revenue:
			return fmt.Sprintf("hour %s: revenue %d, want %d", p.Start, p.Revenue[Currency].Minor, w.revenue)
		case math.Abs(p.Visitors-float64(len(w.visitors))) > 0.02*float64(len(w.visitors)):
			return fmt.Sprintf("hour %s: %v visitors, want %d", p.Start, p.Visitors, len(w.visitors))
		}
	}
	return ""
}

// eventually retries check until it returns "" or limit passes.
func eventually(t *testing.T, limit time.Duration, what string, check func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		diff := check()
		if diff == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: never happened within %s; last difference: %s", what, limit, diff)
		}
		time.Sleep(time.Second)
	}
}

// Closed hours seal by themselves, exactly, even when the streaming job is
// killed (SIGKILL) in the middle of the hour's events and restarted: its
// provisional counts may then count redelivered events twice, the sealed
// ones may not.
func TestSealAfterCrashIsExact(t *testing.T) {
	st := startStackWith(t, func(o *localstack.Options) {
		o.PipelineArgs = []string{"--early-firing=2s"}
		o.SealEvery, o.SealGrace = 2*time.Second, time.Second
	})
	// Two closed hours, so that the sealer seals them while they receive
	// events and again once they stop.
	h := time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour)
	evs := genEvs(11, 1200, h, h.Add(2*time.Hour))
	// kill waits until the job has counted some of what was sent, then
	// kills it mid-stream and waits for the stack to restart it.
	kill := func() {
		t.Helper()
		restarts := st.Restarts(localstack.Pipeline)
		eventually(t, time.Minute, "the streaming job counting events", func() string {
			if served(t, st.QueryURL(), h, h.Add(2*time.Hour), truthOf(nil), false) == "" {
				return "nothing counted yet"
			}
			return ""
		})
		if err := st.Kill(localstack.Pipeline); err != nil {
			t.Fatal(err)
		}
		eventually(t, time.Minute, "the streaming job restarted", func() string {
			if st.Restarts(localstack.Pipeline) == restarts {
				return "not restarted"
			}
			return ""
		})
	}
	send(t, st.IngestURL(), evs[:600])
	kill()
	send(t, st.IngestURL(), evs[600:900])
	// A client retries a batch it already sent: the same ids again.
	send(t, st.IngestURL(), evs[550:650])
	kill()
	send(t, st.IngestURL(), evs[900:])
	want := truthOf(evs)
	eventually(t, 4*time.Minute, "sealed hours equal to the ground truth", func() string {
		return served(t, st.QueryURL(), h, h.Add(2*time.Hour), want, true)
	})
	if n := st.Restarts(localstack.Pipeline); n < 2 {
		t.Errorf("the streaming job restarted %d times, want 2", n)
	}
}

// The bug-fix scenario: the streaming job runs with a deliberate bug
// (crawlers counted as visitors), the numbers are wrong; a backfill of the
// range with the correct logic makes them exact. A dry run first shows the
// change and writes nothing.
func TestBackfillFixesABug(t *testing.T) {
	st := startStackWith(t, func(o *localstack.Options) {
		o.PipelineArgs = []string{"--early-firing=2s", "--inject-bug=count-bots"}
		o.SealGrace = 12 * time.Hour // the sealer leaves these hours to the backfill
	})
	h := time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)
	evs := genEvs(12, 600, h, h.Add(2*time.Hour))
	send(t, st.IngestURL(), evs)
	want := truthOf(evs)
	wrong := truthOf(nil)
	for _, e := range evs { // what the bug counts: crawlers too
		k := e.at.Truncate(time.Hour).Format(time.RFC3339)
		if wrong[k] == nil {
			wrong[k] = &hourWant{visitors: map[string]bool{}}
		}
		wrong[k].events++
		wrong[k].revenue += e.cents
		wrong[k].visitors[e.visitor] = true
	}
	eventually(t, 2*time.Minute, "the buggy streaming counts", func() string {
		return served(t, st.QueryURL(), h, h.Add(2*time.Hour), wrong, false)
	})

	backfill := func(args ...string) string {
		t.Helper()
		r := st.Resources()
		cmd := exec.Command(filepath.Join(binDir, localstack.Sealer), append([]string{
			"--source=" + st.ArchiveDir(), "--bigtable-project=" + r.BigtableProject, "--bigtable-instance=" + r.BigtableInstance,
			"--from=" + h.Format(time.RFC3339), "--to=" + h.Add(2*time.Hour).Format(time.RFC3339), "--progress=log"}, args...)...)
		cmd.Env = append(cmd.Environ(), "BIGTABLE_EMULATOR_HOST="+st.Options().BigtableAddr)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		go func() { <-ctx.Done(); cmd.Process.Kill() }()
		if err := cmd.Run(); err != nil {
			t.Fatalf("backfill %v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	out := backfill("--dry-run")
	if !strings.Contains(out, "would change") || !strings.Contains(out, "→") {
		t.Errorf("dry run output does not show old → new values:\n%s", out)
	}
	if diff := served(t, st.QueryURL(), h, h.Add(2*time.Hour), wrong, false); diff != "" {
		t.Errorf("after the dry run the served numbers changed: %s", diff)
	}
	out = backfill()
	if !strings.Contains(out, "2 of 2 hours sealed") {
		t.Errorf("backfill summary:\n%s", out)
	}
	eventually(t, 30*time.Second, "exact numbers after the backfill", func() string {
		return served(t, st.QueryURL(), h, h.Add(2*time.Hour), want, false)
	})
	// A rerun changes nothing.
	if out = backfill(); !strings.Contains(out, " 0 rows changed") {
		t.Errorf("rerun summary should report no changed row:\n%s", out)
	}
}
