package transforms

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/footfall/footfall/internal/layout"
	"github.com/footfall/footfall/pipelines/enrich"
)

func init() {
	register.Function2x1(formatBreakdownSize)
}

func formatBreakdownSize(key string, b layout.Breakdown) string {
	return fmt.Sprintf("%s %d", key, len(b.Values))
}

// A seal of two hours where only one has events still writes both: the
// empty hour gets a zero totals row and nine empty breakdown rows.
func TestWithEmptyHours(t *testing.T) {
	h10, h11 := base.Add(10*time.Hour), base.Add(11*time.Hour)
	msgs := [][]byte{encoded(t, "a", h10.Add(time.Minute)), encoded(t, "b", h10.Add(2*time.Minute))}
	p, s := beam.NewPipelineWithRoot()
	out := Metrics(s, beam.CreateList(s, msgs), Options{})
	hours := beam.Create(s, layout.TotalsKey("shop", h10), layout.TotalsKey("shop", h11))
	out = WithEmptyHours(s, out, hours)
	passert.Equals(s, beam.ParDo(s, formatEvents, out.Totals), "shop#t#2026110110 events=2 visitors=2", "shop#t#2026110111 events=0 visitors=0")
	var want []any
	for _, d := range layout.Dimensions {
		// Both events share every dimension value; the empty hour has none.
		want = append(want, layout.BreakdownKey("shop", d, h10)+" 1", layout.BreakdownKey("shop", d, h11)+" 0")
	}
	passert.Equals(s, beam.ParDo(s, formatBreakdownSize, out.Breakdowns), want...)
	ptest.RunAndValidate(t, p)
}

func TestHitCoderRoundTrip(t *testing.T) {
	in := Hit{ID: "e1", Merchant: "m", Visitor: "v", SessionID: "s", Time: 1234567, Name: "purchase", Bot: true,
		Revenue: -250, Currency: "EUR", Dims: enrich.Dims{Page: "/p", Source: "google", Medium: "organic", Campaign: "(none)",
			Country: "DE", Device: "mobile", Browser: "Safari", OS: "iOS"}}
	got, err := decodeHit(encodeHit(in))
	if err != nil || !reflect.DeepEqual(got, in) {
		t.Errorf("decodeHit(encodeHit(%+v)) = %+v, %v", in, got, err)
	}
	if _, err := decodeHit(encodeHit(in)[:10]); err == nil {
		t.Error("a truncated hit decoded")
	}
}
