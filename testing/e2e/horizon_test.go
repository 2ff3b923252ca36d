package e2e

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/footfall/footfall/testing/truth"
)

// An event older than the streaming horizon (3 h) but well within what
// ingest accepts (72 h) is archived, left alone by the streaming job (it
// holds no state that old), and counted once in the sealed value by the
// sealer — also when the client sends it twice, the second time stamped
// with another receive time (issue 22: the sealer deduplicates late
// retries).
func TestEventBeyondTheHorizonIsSealedOnce(t *testing.T) {
	st := startStack(t, "--early-firing=2s")
	h := time.Now().UTC().Truncate(time.Hour).Add(-5 * time.Hour)
	evs := truth.Gen("horizon", 41, 30, h, h.Add(time.Hour))
	for i := range evs {
		evs[i].Bot = false
	}
	send(t, st.IngestURL(), evs)
	time.Sleep(2 * time.Second)
	send(t, st.IngestURL(), evs[:10]) // retries of the first ten, later
	want := truth.Truth(evs, false)
	truth.Eventually(t, 4*time.Minute, "the hour sealed with each event once", func() string {
		return served(t, st.QueryURL(), h, h.Add(time.Hour), want, true)
	})
	// The streaming job saw all 40 messages and left them to the sealer.
	got := pipelineCounter(t, "http://"+st.Options().PipelineMetricsAddr+"/metrics", "footfall_events_beyond_horizon_total")
	if got < 40 {
		t.Errorf("the streaming job counted %d events beyond its horizon, want the 40 messages sent", got)
	}
}

// pipelineCounter reads one counter from a Prometheus text endpoint.
func pipelineCounter(t *testing.T, url, name string) int64 {
	t.Helper()
	var v int64
	truth.Eventually(t, time.Minute, "the pipeline's counter "+name, func() string {
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err.Error()
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == name {
				n, err := strconv.ParseFloat(f[1], 64)
				if err != nil {
					return err.Error()
				}
				v = int64(n)
				if v >= 40 {
					return ""
				}
				return "counter at " + f[1]
			}
		}
		return name + " not served"
	})
	return v
}
