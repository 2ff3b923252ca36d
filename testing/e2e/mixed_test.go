package e2e

import (
	"testing"
	"time"

	"github.com/footfall/footfall/testing/truth"
)

// Realistic mixed traffic (truth.Mix: Segment and GA4, every source, app
// screens, e-commerce under both naming schemes, server events, bots,
// retries, several currencies) against every metric and dimension of
// docs/metrics.md: the event metrics after streaming, everything once
// sealed.
func TestMixedTrafficMatchesTheGroundTruth(t *testing.T) {
	const m = "mix"
	s := newShop(t, m)
	a := hourA()
	s.send(t, truth.Mix(truth.MixOptions{Merchant: m, Seed: 16, Visitors: 250, From: a, To: a.Add(minutes(50))})...)
	tot := s.model(t).Totals(m, a, a.Add(time.Hour))
	t.Logf("hour %s: %d events, %d page views, %d visitors, %d sessions, %d bounces, %d engaged, revenue %v",
		a.Format(time.RFC3339), tot.Events, tot.PageViews, len(tot.Visitors), tot.Sessions, tot.Bounces, tot.Engaged, tot.Revenue)
	s.eventually(t, 2*time.Minute, "after streaming", streamed(a, nextHour()))
	s.eventually(t, 4*time.Minute, "after sealing", sealed(a, a.Add(time.Hour)))
}
