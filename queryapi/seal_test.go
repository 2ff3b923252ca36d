package queryapi

import (
	"fmt"
	"testing"
	"time"

	"github.com/footfall/footfall/internal/layout"
)

// A seal of an hour replaces every merchant's values in it: rows the seal
// wrote (stamped with its generation) are served; provisional rows and
// sealed rows of an earlier seal are not, so a merchant the seal found no
// events for shows nothing for that hour, in every endpoint.
func TestSealSupersedesRowsItDidNotWrite(t *testing.T) {
	f := newFixture(t)
	h := h0.Add(3 * time.Hour)
	g := h0.Add(5 * time.Hour).UnixMicro()
	// Before any seal: provisional values are served.
	f.put(t, "shop-a", h, layout.FamilyProvisional, &layout.Totals{Events: 7})
	f.put(t, "shop-b", h, layout.FamilyProvisional, &layout.Totals{Events: 9})
	f.putBreakdown(t, "shop-b", layout.DimCountry, h, layout.FamilyProvisional,
		&layout.Breakdown{Values: map[string]*layout.Item{"JP": {Events: 9}}})
	u := "/v1/timeseries?metrics=events&interval=hour&from=2026-11-01T03:00:00Z&to=2026-11-01T04:00:00Z"
	events := func(key, url string) float64 {
		t.Helper()
		return num(points(t, f.ok(t, key, url))[0]["events"])
	}
	if a, b := events("ra", u), events("rb", u); a != 7 || b != 9 {
		t.Fatalf("before the seal: a=%v b=%v, want 7 and 9", a, b)
	}

	// The seal finds 5 events of shop-a and none of shop-b; shop-a's old
	// sealed breakdown (an earlier seal) is superseded as well.
	f.put(t, "shop-a", h, layout.FamilySealed, &layout.Totals{Events: 5, UpdatedAt: g})
	f.putBreakdown(t, "shop-a", layout.DimCountry, h, layout.FamilySealed,
		&layout.Breakdown{Values: map[string]*layout.Item{"FR": {Events: 3}}, UpdatedAt: g - 1})
	f.sealRecord(t, h, time.UnixMicro(g))
	if a, b := events("ra", u), events("rb", u); a != 5 || b != 0 {
		t.Errorf("after the seal: a=%v b=%v, want 5 and 0", a, b)
	}
	jp := u + "&filters=country==JP"
	if b := events("rb", jp); b != 0 {
		t.Errorf("shop-b filtered on JP after the seal = %v, want 0", b)
	}
	bd := f.ok(t, "ra", "/v1/breakdown?dimension=country&metrics=events&from=2026-11-01T03:00:00Z&to=2026-11-01T04:00:00Z")
	if rows, _ := bd["rows"].([]any); len(rows) != 0 {
		t.Errorf("shop-a's country breakdown after the seal = %v, want no rows (the FR row is from an earlier seal)", rows)
	}
	bb := f.ok(t, "rb", "/v1/breakdown?dimension=country&metrics=events&from=2026-11-01T03:00:00Z&to=2026-11-01T04:00:00Z")
	if rows, _ := bb["rows"].([]any); len(rows) != 0 {
		t.Errorf("shop-b's country breakdown after the seal = %v, want no rows", rows)
	}

	// A merchant-scoped backfill later writes shop-b's hour with a newer
	// stamp: it is served.
	f.put(t, "shop-b", h, layout.FamilySealed, &layout.Totals{Events: 4, UpdatedAt: g + 10})
	if b := events("rb", u); b != 4 {
		t.Errorf("after a merchant-scoped backfill: b=%v, want 4", b)
	}
}

// A breakdown is ranked by the first requested metric (page views or
// visitors), else by events.
func TestBreakdownRankedByFirstMetric(t *testing.T) {
	f := newFixture(t)
	h := h0.Add(3 * time.Hour)
	f.putBreakdown(t, "shop-a", layout.DimPage, h, layout.FamilyProvisional, &layout.Breakdown{Values: map[string]*layout.Item{
		"(none)": {Events: 50},
		"/a":     {Events: 10, PageViews: 10},
		"/b":     {Events: 20, PageViews: 20},
	}})
	order := func(metrics string) []string {
		t.Helper()
		body := f.ok(t, "ra", "/v1/breakdown?dimension=page&metrics="+metrics+"&from=2026-11-01T03:00:00Z&to=2026-11-01T04:00:00Z")
		var out []string
		for _, r := range body["rows"].([]any) {
			out = append(out, r.(map[string]any)["value"].(string))
		}
		return out
	}
	if got := order("pageviews"); fmt.Sprint(got) != "[/b /a (none)]" {
		t.Errorf("ranked by page views: %v", got)
	}
	if got := order("events,pageviews"); fmt.Sprint(got) != "[(none) /b /a]" {
		t.Errorf("ranked by events: %v", got)
	}
}
