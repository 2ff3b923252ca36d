package queryapi

import (
	"encoding/binary"
	"math"
	"math/bits"
	"sync"

	"github.com/axiomhq/hyperloglog"
)

// Visitor counts are estimated here, not with Sketch.Estimate, for three
// reasons:
//
//   - Consistency. The library estimates a sparse sketch by linear counting
//     at precision 25 and a dense one with LogLog-Beta at its own
//     precision; the two disagree by up to the dense sketch's error, so a
//     week (merged densely) could show fewer visitors than a day inside it
//     (merged sparsely). Here every sketch is estimated from its registers
//     at its own precision, sparse or dense, with one estimator that never
//     decreases when a register grows: a bucket never shows fewer visitors
//     than any bucket inside it.
//   - Safety. Estimate compacts a sparse sketch (writes to it); sketches in
//     the cache are shared by concurrent requests. This estimator only
//     reads the sketch's binary encoding.
//   - Speed. Estimate computes math.Pow per register (0.4 ms for a dense
//     precision-14 sketch); this builds a histogram of the registers
//     (about 10 µs) and needs a few dozen floating-point operations.
//
// The estimator is Ertl's improved raw estimator ("New cardinality
// estimation algorithms for HyperLogLog sketches", 2017, algorithm 6),
// which is unbiased over the whole range without empirical constants. It
// reads the library's binary encoding (version 2, documented in
// Sketch.UnmarshalBinary: 64-bit hashes, sparse precision 25); an encoding
// it does not know falls back to Estimate on a private copy.

// sparsePrecision is the library's sparse precision (pp in its encoding).
const sparsePrecision = 25

// sketchInfo is what estimating a sketch tells: its estimate and about how
// many bytes it holds in memory (for the cache's weigher).
type sketchInfo struct {
	count int64
	bytes int
}

var encBuf = sync.Pool{New: func() any { b := make([]byte, 0, 1<<14+64); return &b }}

// regScratch holds per-precision register arrays for decoding sparse
// sketches; every array is returned to the pool zeroed.
var regScratch [19]sync.Pool

// estimateSketch estimates sk's distinct count without modifying it.
func estimateSketch(sk *hyperloglog.Sketch) sketchInfo {
	return estimateUnion([]*hyperloglog.Sketch{sk})
}

// estimateUnion estimates the distinct count of the union of sks (nil
// entries are empty) without modifying or merging them: registers are the
// largest of the sketches' registers, as if they had been merged. All must
// have one precision. bytes is the sum of their sizes.
func estimateUnion(sks []*hyperloglog.Sketch) sketchInfo {
	bp := encBuf.Get().(*[]byte)
	defer encBuf.Put(bp)
	var acc regAcc
	defer acc.release()
	size := 0
	for _, sk := range sks {
		if sk == nil {
			continue
		}
		data, err := sk.AppendBinary((*bp)[:0])
		if err != nil {
			continue // precision 0: an empty zero-value sketch
		}
		*bp = data[:0]
		size += len(data)
		if len(data) > 3 && data[3] == 1 {
			size += len(data) // the sparse set in memory is a hash set, about twice its encoding
		}
		if !acc.add(data) {
			return fallbackUnion(sks, size)
		}
	}
	if acc.regs == nil {
		return sketchInfo{bytes: size}
	}
	return sketchInfo{count: acc.estimate(), bytes: size}
}

// fallbackUnion merges private copies with the library and estimates
// them: for an encoding this code does not know.
func fallbackUnion(sks []*hyperloglog.Sketch, size int) sketchInfo {
	var u *hyperloglog.Sketch
	for _, sk := range sks {
		switch {
		case sk == nil:
		case u == nil:
			u = sk.Clone()
		default:
			if err := u.Merge(sk); err != nil {
				return sketchInfo{bytes: size}
			}
		}
	}
	if u == nil {
		return sketchInfo{bytes: size}
	}
	return sketchInfo{count: int64(u.Estimate()), bytes: size}
}

// regAcc holds the largest register values seen at one precision, in a
// pooled array that is returned zeroed.
type regAcc struct {
	p       uint8
	regs    []uint8
	pooled  *[]uint8
	touched []uint32 // registers set by sparse keys (when not full)
	full    bool     // a dense sketch was added: every register may be set
	dirty   bool     // registers may be set
}

// add takes the registers of one version-2 encoding; false when it is not
// one this code knows or its precision differs.
func (a *regAcc) add(data []byte) bool {
	if len(data) < 8 || data[0] != 2 || data[1] < 4 || data[1] > 18 || data[3] > 1 {
		return false
	}
	p := data[1]
	if a.regs == nil {
		a.p = p
		a.pooled, _ = regScratch[p].Get().(*[]uint8)
		if a.pooled == nil {
			r := make([]uint8, 1<<p)
			a.pooled = &r
		}
		a.regs = *a.pooled
	} else if p != a.p {
		return false
	}
	m := 1 << p
	maxR := uint8(65 - int(p))
	regs := a.regs
	a.dirty = true
	if data[3] == 0 {
		in := data[8:]
		if len(in) != m {
			return false
		}
		for i, r := range in {
			if r > regs[i] {
				if r > maxR {
					return false
				}
				regs[i] = r
			}
		}
		a.full = true
		return true
	}
	// Sparse: the tmp set's keys, then the compressed list's sorted keys
	// as varint deltas. Registers are the largest rho per index.
	keys := binary.BigEndian.Uint32(data[4:8])
	rest := data[8:]
	if uint64(len(rest)) < 4*uint64(keys)+12 {
		return false
	}
	ok := true
	set := func(k uint32) {
		i, r := decodeSparse(k, p)
		if r > maxR {
			ok = false
			return
		}
		if r > regs[i] {
			if regs[i] == 0 && !a.full {
				a.touched = append(a.touched, i)
			}
			regs[i] = r
		}
	}
	for j := uint32(0); j < keys; j++ {
		set(binary.BigEndian.Uint32(rest[4*j:]))
	}
	rest = rest[4*keys:]
	count := binary.BigEndian.Uint32(rest[0:4])
	stream := rest[12:]
	if uint64(len(stream)) != uint64(binary.BigEndian.Uint32(rest[8:12])) {
		return false
	}
	var key uint32
	for j := uint32(0); j < count && ok; j++ {
		d, n := binary.Uvarint(stream)
		if n <= 0 || d > math.MaxUint32 {
			return false
		}
		stream = stream[n:]
		key += uint32(d)
		set(key)
	}
	return ok
}

// estimate is the estimate of the registers held; it zeroes them.
func (a *regAcc) estimate() int64 {
	var hist [66]int
	m := 1 << a.p
	if a.full {
		for i, r := range a.regs {
			hist[r]++
			a.regs[i] = 0
		}
	} else {
		for _, i := range a.touched {
			hist[a.regs[i]]++
			a.regs[i] = 0
		}
		hist[0] = m - len(a.touched)
	}
	a.touched = a.touched[:0]
	a.full, a.dirty = false, false
	return ertl(&hist, a.p)
}

// release returns the register array to its pool, zeroed.
func (a *regAcc) release() {
	if a.regs == nil {
		return
	}
	if a.dirty {
		clear(a.regs)
	}
	regScratch[a.p].Put(a.pooled)
	a.regs = nil
}

// decodeSparse returns the register index at precision p and the register
// value of a sparse key (the library's decodeHash with pp = 25).
func decodeSparse(k uint32, p uint8) (uint32, uint8) {
	const pp = sparsePrecision
	var r uint8
	if k&1 == 1 {
		r = uint8((k>>1)&0x3f) + pp - p
	} else {
		r = uint8(bits.LeadingZeros64(uint64(k<<(32-pp+p-1))) - 31)
	}
	var i uint32
	if k&1 == 1 {
		i = (k >> (32 - p)) & (1<<p - 1)
	} else {
		i = (k >> (pp - p + 1)) & (1<<p - 1)
	}
	return i, r
}

// ertl is the improved raw estimate from the histogram of register values
// (hist[0] empty registers, …, hist[q+1] registers at the largest value).
// Raising any register never lowers it: an empty register taken to r
// lowers m·σ(C0/m) by at least 1 and adds 2^-r ≤ 1/2 to the sum, and a
// register raised from a ≥ 1 to b replaces 2^-a by 2^-b. The sum of the
// middle terms is computed exactly in integers, so rounding cannot undo
// that either.
func ertl(hist *[66]int, p uint8) int64 {
	m := float64(uint64(1) << p)
	q := 64 - int(p)
	if hist[0] == 1<<p {
		return 0
	}
	// Σ_{k=1..q} C_k·2^(q-k) < m·2^(q-1) = 2^63 fits in a uint64.
	var s uint64
	for k := 1; k <= q; k++ {
		s += uint64(hist[k]) << uint(q-k)
	}
	z := m*tau(1-float64(hist[q+1])/m) + float64(s)
	z = math.Ldexp(z, -q)
	z += m * sigma(float64(hist[0])/m)
	const alphaInf = 0.5 / math.Ln2
	return int64(alphaInf*m*m/z + 0.5)
}

func sigma(x float64) float64 {
	if x == 1 {
		return math.Inf(1)
	}
	y, z := 1.0, x
	for {
		x *= x
		prev := z
		z += x * y
		y += y
		if z == prev {
			return z
		}
	}
}

func tau(x float64) float64 {
	if x == 0 || x == 1 {
		return 0
	}
	y, z := 1.0, 1-x
	for {
		x = math.Sqrt(x)
		prev := z
		y *= 0.5
		z -= (1 - x) * (1 - x) * y
		if z == prev {
			return z / 3
		}
	}
}
