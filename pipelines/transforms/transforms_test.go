package transforms

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/graph/window"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/runners/prism"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/internal/layout"
)

func TestMain(m *testing.M) {
	ptest.MainWithDefault(m, "prism")
}

func init() {
	register.Function2x1(formatTotals)
}

func formatTotals(key string, t layout.Totals) string {
	return fmt.Sprintf("%s events=%d pageviews=%d signup=%d", key, t.Events, t.PageViews, t.ByName["signup"])
}

// genEvents returns n encoded events spread over merchants and hours, with a
// few undecodable messages mixed in, and the expected totals lines computed
// directly from the generated values.
func genEvents(t testing.TB, n int) ([][]byte, []string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	type agg struct{ events, pv, signup int }
	want := map[string]*agg{}
	var msgs [][]byte
	for i := 0; i < n; i++ {
		m := fmt.Sprintf("shop-%d", rng.IntN(3))
		ts := base.Add(time.Duration(rng.IntN(5*3600)) * time.Second)
		name := []string{"page_view", "signup", "add_to_cart"}[rng.IntN(3)]
		e := event.Event{ID: fmt.Sprintf("e%d", i), MerchantID: m, Type: event.TypeTrack, Name: name,
			AnonymousID: fmt.Sprintf("v%d", rng.IntN(50)), EventTime: ts.UnixMicro(), ReceiveTime: ts.UnixMicro(), Source: event.SourceSegment}
		b, err := event.Encode(&e)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, b)
		key := fmt.Sprintf("%s#t#%s", m, ts.Format("2006010215"))
		if want[key] == nil {
			want[key] = &agg{}
		}
		a := want[key]
		a.events++
		if name == "page_view" {
			a.pv++
		}
		if name == "signup" {
			a.signup++
		}
	}
	msgs = append(msgs, []byte("not json"), []byte(`{"event_id":"x"}`))
	var lines []string
	for k, a := range want {
		lines = append(lines, fmt.Sprintf("%s events=%d pageviews=%d signup=%d", k, a.events, a.pv, a.signup))
	}
	return msgs, lines
}

func TestHourlyTotalsBatch(t *testing.T) {
	msgs, want := genEvents(t, 2000)
	p, s := beam.NewPipelineWithRoot()
	in := beam.CreateList(s, msgs)
	events := Decode(s, in)
	totals := HourlyTotals(s, Hourly(s, events, WindowOptions{}))
	got := beam.WindowInto(s, window.NewGlobalWindows(), beam.ParDo(s, formatTotals, totals))
	passert.Equals(s, got, beam.CreateList(s, want))
	ptest.RunAndValidate(t, p)
}
