package seal

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/footfall/footfall/internal/event"
	"github.com/footfall/footfall/pipelines/io/archive"
	"github.com/footfall/footfall/pipelines/transforms"
)

// BenchmarkSpillByVisitor measures the sealer's visitor split (the passes
// over the archive and the spill writes) of one merchant's hour, compacted
// as the archive writer leaves it: alone (sealbench's 16 M-event hour at a
// smaller size), and with the same traffic in the hours before and after
// it that the hour's input range reads (a busy day):
//
//	go test -run XXX -bench SpillByVisitor -benchtime 1x ./pipelines/seal/
func BenchmarkSpillByVisitor(b *testing.B) {
	const perHour, visitors, shards = 300_000, 20_000, 8
	job := Job{From: h0, To: h0.Add(time.Hour)}
	inFrom, inTo := transforms.InputRange(job.From, job.To)
	for _, bc := range []struct {
		name     string
		from, to time.Time
	}{
		{"hour", job.From, job.To},
		{"hour-and-margins", inFrom, inTo},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := context.Background()
			dir := b.TempDir()
			w, err := archive.NewWriter(dir)
			if err != nil {
				b.Fatal(err)
			}
			r := rand.New(rand.NewPCG(1, 2))
			n := perHour * int(bc.to.Sub(bc.from)/time.Hour)
			var inHour int64
			buf := make([]event.Event, 0, 5000)
			for i := range n {
				t := bc.from.Add(time.Duration(r.Int64N(int64(bc.to.Sub(bc.from))))).Truncate(time.Millisecond)
				if !t.Before(job.From) && t.Before(job.To) {
					inHour++
				}
				buf = append(buf, event.Event{ID: fmt.Sprintf("b%d", i), MerchantID: "m0", Type: event.TypePage,
					Name: event.NamePageView, AnonymousID: fmt.Sprintf("v%d", r.IntN(visitors)), EventTime: t.UnixMicro(),
					ReceiveTime: t.UnixMicro(), PageURL: "https://shop.example.com/products/1", Source: event.SourceSegment,
					UserAgent: human, Country: "DE", Referrer: "https://www.google.com/"})
				if len(buf) == cap(buf) || i == n-1 {
					if err := w.WriteBatch(ctx, buf); err != nil {
						b.Fatal(err)
					}
					buf = buf[:0]
				}
			}
			for h := bc.from; h.Before(bc.to); h = h.Add(time.Hour) {
				if _, err := archive.Compact(ctx, dir, h); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			var kept int64
			for range b.N {
				_, kept, err = spillByVisitor(ctx, dir, job, shards, b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				if kept < inHour || kept > int64(n) {
					b.Fatalf("kept %d events, want the hour's %d and at most the %d read", kept, inHour, n)
				}
			}
			b.ReportMetric(float64(kept*int64(b.N))/b.Elapsed().Seconds(), "kept/s")
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "read/s")
		})
	}
}
