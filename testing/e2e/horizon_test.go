package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/footfall/footfall/testing/truth"
)

// An event older than the streaming horizon (3 h) but well within what
// ingest accepts (72 h) is archived, left alone by the streaming job (it
// holds no state that old), and counted once in the sealed value by the
// sealer — also when the client sends it twice, the second time with
// another receive time (issue 22: the sealer deduplicates late retries).
func TestEventBeyondTheHorizonIsSealedOnce(t *testing.T) {
	s := newShop(t, "horizon")
	metrics := s.st.Options().PipelineMetricsAddr
	const name = "footfall_events_beyond_horizon_total"
	h := time.Now().UTC().Truncate(time.Hour).Add(-5 * time.Hour)
	// Stories start in the hour's first half and end within it.
	reqs := truth.Mix(truth.MixOptions{Merchant: s.id, Seed: 41, Visitors: 30, From: h, To: h.Add(30 * time.Minute), Spill: 29 * time.Minute})
	before := counter(metrics, name)
	first := s.send(t, reqs...)
	time.Sleep(2 * time.Second)
	retried := s.send(t, reqs[:3]...) // retries of the first requests, later
	if len(retried.Hits) == 0 {
		t.Fatal("no retries acknowledged")
	}
	s.eventually(t, 4*time.Minute, "the hour sealed with each event once", sealed(h, h.Add(time.Hour)))
	// The streaming job saw every message and left it to the sealer.
	want := before + float64(len(first.Hits)+len(retried.Hits))
	truth.Eventually(t, time.Minute, fmt.Sprintf("%s at %.0f or more", name, want), func() string {
		if got := counter(metrics, name); got < want {
			return fmt.Sprintf("%s at %.0f", name, got)
		}
		return ""
	})
}
