package archive

import (
	"context"
	"fmt"
	"testing"
)

// BenchmarkWriteBatch measures durable batch writes (encode, fsync, rename,
// directory fsync) of batches of one hour, as the Pub/Sub reader makes them.
func BenchmarkWriteBatch(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			events := genEvents(b, 30, n, 1, 50)
			w, err := NewWriter(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if err := w.WriteBatch(context.Background(), events); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			st := w.Stats()
			secs := b.Elapsed().Seconds()
			b.ReportMetric(float64(st.Events)/secs, "events/s")
			b.ReportMetric(float64(st.Bytes)/secs/1e6, "file-MB/s")
			b.ReportMetric(float64(st.Bytes)/float64(st.Events), "file-B/event")
		})
	}
}
