package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/footfall/footfall/testing/localstack"
	"github.com/footfall/footfall/testing/truth"
)

// Issue 16, point 1: revenue is purchases (GA4 purchase, Segment Order
// Completed) minus refunds (GA4 refund, Segment Order Refunded), a
// transaction once; values on other events (view_item, add_to_cart,
// begin_checkout, Checkout Started, Product Added) never count; an
// unparseable or too large amount drops only that field, with a warning;
// the largest amounts add up exactly. Exact after streaming and after
// sealing.
func TestRevenueIsPurchasesMinusRefunds(t *testing.T) {
	s := newShop(t, "revenue")
	a := hourA()
	at := func(min float64) time.Time { return a.Add(minutes(min)) }
	const m = "revenue"

	g := visitor(m, "ga4-buyer", true, truth.UAChromeWindows, "DE")
	seg := visitor(m, "segment-buyer", false, truth.UASafariIPhone, "GB")
	bad := visitor(m, "typo", false, truth.UAFirefoxMac, "NL")
	badGA4 := visitor(m, "typo-ga4", true, truth.UAChromeAndroid, "JP")
	productAdded := seg.Valued(at(11), "Product Added", truth.Shop+"/products/1", "45.00", "EUR", "")
	productAdded.AmountKey = "total" // ingest reads total like revenue
	msgs := []truth.Msg{
		g.Page(at(1), truth.Shop+"/products/2", "https://www.google.com/"),
		g.Valued(at(2), "view_item", truth.Shop+"/products/2", "30.00", "EUR", ""),
		g.Valued(at(3), "add_to_cart", truth.Shop+"/products/2", "30.00", "EUR", ""),
		g.Valued(at(4), "begin_checkout", truth.Shop+"/checkout", "30.00", "EUR", ""),
		g.Purchase(at(5), truth.Shop+"/checkout/done", "30.00", "EUR", "ga4-order-1"),
		g.Purchase(at(5.5), truth.Shop+"/checkout/done", "30.00", "EUR", "ga4-order-1"), // fired twice: one transaction
		g.Refund(at(20), "10.00", "EUR", "ga4-order-1"),

		seg.Page(at(10), truth.Shop+"/products/1", ""),
		productAdded,
		seg.Valued(at(12), "Checkout Started", truth.Shop+"/checkout", "45.00", "EUR", ""),
		seg.Purchase(at(13), truth.Shop+"/checkout/done", "45.00", "EUR", "seg-order-1"),
		seg.Purchase(at(13.2), truth.Shop+"/checkout/done", "45.00", "EUR", "seg-order-1"), // another messageId, same order
		seg.Refund(at(30), "5.00", "EUR", "seg-order-1"),

		bad.Purchase(at(15), truth.Shop+"/checkout/done", "12,50", "EUR", "typo-1"),
		badGA4.Purchase(at(16), truth.Shop+"/checkout/done", "abc", "EUR", "typo-2"),
	}
	// The largest amounts ingest keeps (event.MaxRevenueMinor: 100 million
	// of them sum without overflow) add up exactly; a larger one is dropped
	// with a warning.
	for i := range 20 {
		rich := visitor(m, fmt.Sprintf("rich-%d", i), false, truth.UAChromeWindows, "US")
		for j := range 5 {
			msgs = append(msgs, rich.Purchase(at(40+float64(j)), truth.Shop+"/checkout/done", "922337203.68", "USD", ""))
		}
	}
	msgs = append(msgs, visitor(m, "too-rich", true, truth.UAFirefoxMac, "US").Purchase(at(50), truth.Shop+"/checkout/done", "922337203.69", "USD", "huge-1"))
	sent := s.send(t, requests(m, msgs...)...)
	if len(sent.Warnings) < 3 {
		t.Errorf("ingest's answers carry %d warnings, want one each for 12,50, abc and 922337203.69: %q", len(sent.Warnings), sent.Warnings)
	}
	model := s.model(t)
	tot := model.Totals(m, a, a.Add(time.Hour))
	if eur, usd := tot.Revenue["EUR"], tot.Revenue["USD"]; eur == nil || eur.Decimal() != "60.00" || usd == nil || usd.Decimal() != "92233720368.00" {
		t.Fatalf("the truth itself is wrong: revenue %v, want 60.00 EUR and 92233720368.00 USD", tot.Revenue)
	}
	s.eventually(t, 2*time.Minute, "after streaming", streamed(a, nextHour()))
	s.eventually(t, 4*time.Minute, "after sealing", sealed(a, a.Add(time.Hour)))
}

// Issue 16, point 1: event names a merchant configures (purchase_events
// in its keys, docs/keys.md) count as purchases.
func TestRevenueCountsConfiguredPurchaseEvents(t *testing.T) {
	const m = "subscriptions"
	dir := t.TempDir()
	kf, err := keyFile(dir, []string{m}, map[string]map[string]any{m: {"purchase_events": []string{"subscription_renewed"}}})
	if err != nil {
		t.Fatal(err)
	}
	st := startStackWith(t, func(o *localstack.Options) {
		o.PipelineArgs = []string{"--early-firing=2s"}
		o.SealEvery, o.SealGrace = 2*time.Second, time.Second
		o.Env = []string{"KEYS_FILE=" + kf}
	})
	s := shopOn(st, m, m+"-read", keysOf(m))
	s.cfg = truth.Config{PurchaseEvents: map[string][]string{m: {"subscription_renewed"}}}
	a := hourA()
	srv := &truth.Visitor{Merchant: m, User: "u1", UA: truth.UAServerSDK}
	web := visitor(m, "web", false, truth.UAChromeWindows, "DE")
	s.send(t, requests(m,
		web.Page(a.Add(minutes(1)), truth.Shop+"/account", ""),
		web.Identify(a.Add(minutes(2)), "u1"),
		srv.Valued(a.Add(minutes(5)), "subscription_renewed", "", "9.99", "EUR", "sub-1"),
		srv.Valued(a.Add(minutes(6)), "trial_started", "", "0.50", "EUR", ""), // not configured: no revenue
	)...)
	if r := s.model(t).Totals(m, a, a.Add(time.Hour)).Revenue["EUR"]; r == nil || r.Decimal() != "9.99" {
		t.Fatalf("the truth itself is wrong: %v", r)
	}
	s.eventually(t, 2*time.Minute, "after streaming", streamed(a, nextHour()))
	s.eventually(t, 4*time.Minute, "after sealing", sealed(a, a.Add(time.Hour)))
}
