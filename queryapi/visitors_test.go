package queryapi

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/axiomhq/hyperloglog"
)

func sketchOf(t testing.TB, p uint8, sparse bool, ids ...uint64) *hyperloglog.Sketch {
	t.Helper()
	sk, err := hyperloglog.NewSketch(p, sparse)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		sk.Insert(fmt.Appendf(nil, "visitor-%d", id))
	}
	return sk
}

func ids(from, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = uint64(from + i)
	}
	return out
}

// The estimate is the same for a sketch and its dense copy (one estimator
// for both representations), close to the truth, and exact for the few
// visitors of a small hour.
func TestEstimateSparseAndDenseAgree(t *testing.T) {
	for _, p := range []uint8{12, 14} {
		for _, n := range []int{0, 1, 2, 3, 10, 50, 200, 1000, 5000, 20000, 200000} {
			t.Run(fmt.Sprintf("p%d/n%d", p, n), func(t *testing.T) {
				sparse := sketchOf(t, p, true, ids(0, n)...)
				dense := sketchOf(t, p, false, ids(0, n)...)
				gs, gd := estimateSketch(sparse).count, estimateSketch(dense).count
				if gs != gd {
					t.Errorf("sparse estimate %d, dense %d: want equal", gs, gd)
				}
				stderr := 1.04 / math.Sqrt(float64(uint64(1)<<p))
				if d := math.Abs(float64(gd - int64(n))); d > math.Max(0.5, 4*stderr*float64(n)) {
					t.Errorf("estimate %d for %d visitors", gd, n)
				}
				if n <= 50 && gd != int64(n) {
					t.Errorf("estimate %d for %d visitors, want exact for few visitors", gd, n)
				}
			})
		}
	}
}

// Merging never lowers an estimate: a week never shows fewer visitors than
// a day inside it, whatever representations the two were merged in.
func TestEstimateNeverDecreasesUnderMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range 300 {
		p := []uint8{12, 14}[i%2]
		a := sketchOf(t, p, rng.IntN(2) == 0, ids(rng.IntN(100000), rng.IntN(30000))...)
		b := sketchOf(t, p, rng.IntN(2) == 0, ids(rng.IntN(100000), rng.IntN(30000))...)
		ea, eb := estimateSketch(a).count, estimateSketch(b).count
		union, err := hyperloglog.NewSketch(p, rng.IntN(2) == 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := union.Merge(a); err != nil {
			t.Fatal(err)
		}
		if err := union.Merge(b); err != nil {
			t.Fatal(err)
		}
		if eu := estimateSketch(union).count; eu < max(ea, eb) {
			t.Fatalf("case %d: union %d < max(%d, %d)", i, eu, ea, eb)
		}
	}
}

// Estimating reads a sketch and never changes it: cached sketches are
// shared by concurrent requests. (Sketch.Estimate compacts a sparse
// sketch, which changes its encoding.)
func TestEstimateDoesNotModifyTheSketch(t *testing.T) {
	a := sketchOf(t, 14, true, ids(0, 300)...)
	b := sketchOf(t, 14, true, ids(200, 300)...)
	if err := a.Merge(b); err != nil {
		t.Fatal(err)
	}
	before, _ := a.MarshalBinary()
	estimateSketch(a)
	after, _ := a.MarshalBinary()
	if string(before) != string(after) {
		t.Fatal("estimateSketch changed the sketch's encoding")
	}
	// The library's own Estimate would have.
	a.Estimate()
	if again, _ := a.MarshalBinary(); string(again) == string(before) {
		t.Log("note: Sketch.Estimate left this sketch unchanged")
	}
}

func BenchmarkEstimate(b *testing.B) {
	for _, tc := range []struct {
		name   string
		sparse bool
		n      int
	}{{"sparse100", true, 100}, {"sparse3000", true, 3000}, {"dense", false, 100000}} {
		sk := sketchOf(b, 14, tc.sparse, ids(0, tc.n)...)
		b.Run(tc.name+"/ours", func(b *testing.B) {
			for b.Loop() {
				estimateSketch(sk)
			}
		})
		b.Run(tc.name+"/library", func(b *testing.B) {
			for b.Loop() {
				sk.Clone().Estimate()
			}
		})
	}
}

// The estimate of a union of sketches, sparse and dense mixed, equals the
// estimate of the merged sketch, without merging them.
func TestEstimateUnionIsTheMergedEstimate(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for i := range 50 {
		p := []uint8{12, 14}[i%2]
		var sks []*hyperloglog.Sketch
		merged, _ := hyperloglog.NewSketch(p, true)
		for range 1 + rng.IntN(6) {
			sk := sketchOf(t, p, rng.IntN(3) > 0, ids(rng.IntN(50000), rng.IntN(8000))...)
			sks = append(sks, sk, nil)
			if err := merged.Merge(sk); err != nil {
				t.Fatal(err)
			}
		}
		if got, want := estimateUnion(sks).count, estimateSketch(merged).count; got != want {
			t.Errorf("case %d: union of %d sketches %d, merged %d", i, len(sks)/2, got, want)
		}
	}
	if got := estimateUnion(nil).count; got != 0 {
		t.Errorf("empty union: %d", got)
	}
}
