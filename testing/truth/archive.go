package truth

import (
	"math/big"
	"net/url"
	"strings"
	"time"

	json "github.com/goccy/go-json"

	"github.com/footfall/footfall/internal/event"
)

// Archived is the event ingest publishes for a message (docs/ingest.md,
// "How messages map onto events"), received at receive: what a test
// writes straight into the archive for hours ingest no longer accepts.
// Amounts are converted at the truth's ISO 4217 scale, which the event
// carries (revenue_scale); one that cannot be parsed or is too large is
// left out, as ingest drops it.
func Archived(m Msg, receive time.Time) event.Event {
	h := m.Hit
	e := event.Event{ID: h.ID, MerchantID: h.Merchant, Type: h.Type, Name: h.Name, AnonymousID: h.Anon, UserID: h.User,
		SessionID: h.Session, EventTime: h.At.UnixMicro(), ReceiveTime: receive.UnixMicro(), PageURL: h.URL, PagePath: h.Path,
		Referrer: h.Referrer, UserAgent: h.UA, Country: h.Country, Source: event.SourceSegment}
	var props map[string]any
	if m.GA4 {
		e.Source, props = event.SourceGA4, m.ga4Params()
	} else {
		msg := m.segmentJSON(receive)
		props, _ = msg["properties"].(map[string]any)
		if t, ok := msg["traits"].(map[string]any); ok && props == nil {
			props = t
		}
		if h.Type == "screen" {
			e.PageTitle, _ = props["name"].(string)
		}
	}
	if len(props) > 0 {
		b, _ := json.Marshal(props)
		e.Properties = string(b)
	}
	if h.URL != "" {
		if e.PagePath == "" { // ingest derives it from the URL, decoded
			p := urlPath(h.URL)
			if i := strings.IndexAny(p, "?#"); i >= 0 {
				p = p[:i]
			}
			if d, err := url.PathUnescape(p); err == nil {
				e.PagePath = d
			}
		}
		if u, err := url.Parse(h.URL); err == nil {
			q := u.Query()
			e.UTMSource, e.UTMMedium, e.UTMCampaign = q.Get("utm_source"), q.Get("utm_medium"), q.Get("utm_campaign")
			e.UTMTerm, e.UTMContent = q.Get("utm_term"), q.Get("utm_content")
		}
	}
	if h.Amount != "" {
		cur := h.Currency
		if cur == "" {
			cur = "USD"
		}
		if minor, ok := MinorUnits(h.Amount, Currencies[cur]); ok && minor.CmpAbs(big.NewInt(MaxAmountMinor)) <= 0 {
			e.RevenueMinor, e.Currency, e.RevenueScale = minor.Int64(), cur, int32(Currencies[cur])
		}
	}
	e.TransactionID = h.TxID
	return e
}
