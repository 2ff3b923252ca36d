package pqueue

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

// op is one queue operation in a table-driven test.
type op struct {
	enqueue bool
	v       int
}

func enq(v int) op { return op{enqueue: true, v: v} }

var deq = op{}

// apply runs ops on q and returns the final queue, the values dequeued and
// how many dequeues reported an empty queue.
func apply(tb testing.TB, q Queue[int], ops []op) (Queue[int], []int, int) {
	tb.Helper()
	var out []int
	failed := 0
	for _, o := range ops {
		if o.enqueue {
			q = q.Enqueue(o.v)
			continue
		}
		v, rest, ok := q.Dequeue()
		if !ok {
			failed++
			if !rest.IsEmpty() || v != 0 {
				tb.Fatalf("Dequeue on empty queue = (%d, len %d, false), want (0, empty, false)", v, rest.Len())
			}
		} else {
			out = append(out, v)
		}
		q = rest
	}
	return q, out, failed
}

// contents drains q by repeated Dequeue (which leaves q itself unchanged).
func contents[T any](tb testing.TB, q Queue[T]) []T {
	tb.Helper()
	var got []T
	for {
		v, rest, ok := q.Dequeue()
		if !ok {
			return got
		}
		got = append(got, v)
		q = rest
	}
}

// checkQueue fails tb unless every view of q agrees with want.
func checkQueue[T comparable](tb testing.TB, q Queue[T], want []T) {
	tb.Helper()
	if got := q.Len(); got != len(want) {
		tb.Fatalf("Len() = %d, want %d", got, len(want))
	}
	if got := q.IsEmpty(); got != (len(want) == 0) {
		tb.Fatalf("IsEmpty() = %v, want %v", got, len(want) == 0)
	}
	gotHead, gotOK := q.Head()
	var wantHead T
	if len(want) > 0 {
		wantHead = want[0]
	}
	if gotHead != wantHead || gotOK != (len(want) > 0) {
		tb.Fatalf("Head() = (%v, %v), want (%v, %v)", gotHead, gotOK, wantHead, len(want) > 0)
	}
	if got := contents(tb, q); !slices.Equal(got, want) {
		tb.Fatalf("Dequeue order = %v, want %v", got, want)
	}
	if got := slices.Collect(q.All()); !slices.Equal(got, want) {
		tb.Fatalf("All() = %v, want %v", got, want)
	}
	checkInvariants(tb, q)
}

// checkInvariants checks the real-time queue's length invariants without
// forcing any lazy cell.
func checkInvariants[T any](tb testing.TB, q Queue[T]) {
	tb.Helper()
	if q.back.Len() > q.front.Len() {
		tb.Fatalf("back.Len() = %d > front.Len() = %d", q.back.Len(), q.front.Len())
	}
	if (q.sched == nil) != (q.front.Len() == q.back.Len()) {
		tb.Fatalf("sched nil = %v, but front.Len() = %d, back.Len() = %d",
			q.sched == nil, q.front.Len(), q.back.Len())
	}
}

// fill returns the empty queue with 0, 1, ..., n-1 enqueued.
func fill(n int) Queue[int] {
	var q Queue[int]
	for i := range n {
		q = q.Enqueue(i)
	}
	return q
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func TestQueue(t *testing.T) {
	tests := []struct {
		name       string
		ops        []op
		wantOut    []int // values returned by successful dequeues
		wantFailed int   // dequeues that reported an empty queue
		want       []int // final contents
	}{
		{name: "zero value", want: nil},
		{name: "dequeue empty", ops: []op{deq, deq}, wantFailed: 2},
		{name: "one element", ops: []op{enq(7)}, want: []int{7}},
		{name: "enqueue then dequeue", ops: []op{enq(1), deq}, wantOut: []int{1}},
		{name: "fifo order", ops: []op{enq(1), enq(2), enq(3)}, want: []int{1, 2, 3}},
		{
			name:    "enqueue three dequeue three",
			ops:     []op{enq(1), enq(2), enq(3), deq, deq, deq},
			wantOut: []int{1, 2, 3},
		},
		{
			name:    "interleaved",
			ops:     []op{enq(1), enq(2), deq, enq(3), enq(4), deq, enq(5)},
			wantOut: []int{1, 2},
			want:    []int{3, 4, 5},
		},
		{
			name:       "drain past empty then reuse",
			ops:        []op{enq(1), deq, deq, enq(2), enq(3)},
			wantOut:    []int{1},
			wantFailed: 1,
			want:       []int{2, 3},
		},
		{
			name: "across several rotations",
			ops: []op{
				enq(0), enq(1), enq(2), enq(3), enq(4), enq(5), enq(6), enq(7),
				deq, deq, deq, enq(8), enq(9), deq,
			},
			wantOut: []int{0, 1, 2, 3},
			want:    []int{4, 5, 6, 7, 8, 9},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, gotOut, gotFailed := apply(t, Queue[int]{}, tc.ops)
			if !slices.Equal(gotOut, tc.wantOut) {
				t.Errorf("dequeued %v, want %v", gotOut, tc.wantOut)
			}
			if gotFailed != tc.wantFailed {
				t.Errorf("%d failed dequeues, want %d", gotFailed, tc.wantFailed)
			}
			checkQueue(t, got, tc.want)
		})
	}
}

func TestStack(t *testing.T) {
	tests := []struct {
		name string
		push []string
		pops int
		want []string // top to bottom
	}{
		{name: "zero value"},
		{name: "pop empty", pops: 3},
		{name: "push", push: []string{"a", "b", "c"}, want: []string{"c", "b", "a"}},
		{name: "push and pop", push: []string{"a", "b", "c"}, pops: 2, want: []string{"a"}},
		{name: "pop past empty", push: []string{"a"}, pops: 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s Stack[string]
			for _, v := range tc.push {
				s = s.Push(v)
			}
			for range tc.pops {
				_, s, _ = s.Pop()
			}
			if got := slices.Collect(s.All()); !slices.Equal(got, tc.want) {
				t.Errorf("All() = %q, want %q", got, tc.want)
			}
			if got := s.Len(); got != len(tc.want) {
				t.Errorf("Len() = %d, want %d", got, len(tc.want))
			}
			if got := s.IsEmpty(); got != (len(tc.want) == 0) {
				t.Errorf("IsEmpty() = %v, want %v", got, len(tc.want) == 0)
			}
			gotTop, gotOK := s.Peek()
			wantTop := ""
			if len(tc.want) > 0 {
				wantTop = tc.want[0]
			}
			if gotTop != wantTop || gotOK != (len(tc.want) > 0) {
				t.Errorf("Peek() = (%q, %v), want (%q, %v)", gotTop, gotOK, wantTop, len(tc.want) > 0)
			}
			v, rest, ok := s.Pop()
			if v != wantTop || ok != (len(tc.want) > 0) || rest.Len() != max(len(tc.want)-1, 0) {
				t.Errorf("Pop() = (%q, len %d, %v), want (%q, len %d, %v)",
					v, rest.Len(), ok, wantTop, max(len(tc.want)-1, 0), len(tc.want) > 0)
			}
		})
	}
}

func TestOldVersionsUnchanged(t *testing.T) {
	t.Run("queue", func(t *testing.T) {
		var empty Queue[int]
		q1 := empty.Enqueue(1)
		q2 := q1.Enqueue(2)
		q3 := q2.Enqueue(3) // starts a rotation
		_, q4, _ := q3.Dequeue()
		q5 := q4.Enqueue(4)
		q5b := q4.Enqueue(40) // a branch from the same version
		_, q6, _ := q5.Dequeue()
		_, q6b, _ := q3.Dequeue() // an old version dequeued again

		checkQueue(t, empty, nil)
		checkQueue(t, q1, []int{1})
		checkQueue(t, q2, []int{1, 2})
		checkQueue(t, q3, []int{1, 2, 3})
		checkQueue(t, q4, []int{2, 3})
		checkQueue(t, q5, []int{2, 3, 4})
		checkQueue(t, q5b, []int{2, 3, 40})
		checkQueue(t, q6, []int{3, 4})
		checkQueue(t, q6b, []int{2, 3})
	})
	t.Run("stack", func(t *testing.T) {
		s1 := Stack[int]{}.Push(1)
		s2 := s1.Push(2)
		_, s3, _ := s2.Pop()
		s4 := s3.Push(3)
		for _, tc := range []struct {
			name string
			s    Stack[int]
			want []int
		}{
			{"s1", s1, []int{1}},
			{"s2", s2, []int{2, 1}},
			{"s3", s3, []int{1}},
			{"s4", s4, []int{3, 1}},
		} {
			if got := slices.Collect(tc.s.All()); !slices.Equal(got, tc.want) {
				t.Errorf("%s.All() = %v, want %v", tc.name, got, tc.want)
			}
		}
	})
}

// TestQueueModel applies random operations to randomly chosen versions,
// old ones included, and checks every result against a slice model. It also
// checks that no operation does more than maxSteps rotation steps.
func TestQueueModel(t *testing.T) {
	steps := countSteps(t)
	type version struct {
		q     Queue[int]
		model []int
	}
	rng := rand.New(rand.NewPCG(9, 9))
	versions := []version{{}}
	next := 0
	for i := range 20000 {
		// Mostly extend the latest version, but often go back to an old one.
		base := versions[len(versions)-1]
		if rng.IntN(3) == 0 {
			base = versions[rng.IntN(len(versions))]
		}
		var nv version
		*steps = 0
		if rng.IntN(100) < 55 {
			nv = version{base.q.Enqueue(next), append(slices.Clone(base.model), next)}
			next++
		} else {
			v, rest, ok := base.q.Dequeue()
			if ok != (len(base.model) > 0) {
				t.Fatalf("op %d: Dequeue ok = %v, want %v", i, ok, len(base.model) > 0)
			}
			if ok && v != base.model[0] {
				t.Fatalf("op %d: Dequeue = %d, want %d", i, v, base.model[0])
			}
			nv = version{rest, slices.Clone(base.model[min(1, len(base.model)):])}
		}
		if *steps > maxSteps {
			t.Fatalf("op %d did %d rotation steps, want <= %d", i, *steps, maxSteps)
		}
		checkInvariants(t, nv.q)
		if rng.IntN(10) == 0 { // checking forces cells; leave most versions lazy
			checkQueue(t, nv.q, nv.model)
		}
		versions = append(versions, nv)
	}
	for _, v := range versions {
		checkQueue(t, v.q, v.model)
	}
}

// maxSteps bounds the rotation steps of one operation: Dequeue may force the
// front's first cell and one scheduled cell; Enqueue forces one scheduled
// cell or starts one rotation.
const maxSteps = 2

// countSteps installs stepHook for the duration of the test and returns the
// counter it increments. Tests using it must not run in parallel.
func countSteps(tb testing.TB) *int {
	tb.Helper()
	n := new(int)
	stepHook = func() { *n++ }
	tb.Cleanup(func() { stepHook = nil })
	return n
}

// TestPersistentWorstCase reuses one old version many times, the pattern that
// makes the textbook two-stack queue do O(n) work per operation, and checks
// that each operation still does a constant number of rotation steps.
func TestPersistentWorstCase(t *testing.T) {
	steps := countSteps(t)
	for _, n := range []int{1, 2, 3, 4, 7, 8, 100, 1023, 1024, 5000} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			var q Queue[int]
			for i := range n {
				*steps = 0
				q = q.Enqueue(i)
				if *steps > maxSteps {
					t.Fatalf("Enqueue #%d did %d steps, want <= %d", i, *steps, maxSteps)
				}
			}
			// Dequeue from the same old version again and again.
			for i := range 1000 {
				*steps = 0
				v, _, ok := q.Dequeue()
				if !ok || v != 0 {
					t.Fatalf("Dequeue #%d = (%d, %v), want (0, true)", i, v, ok)
				}
				if *steps > maxSteps {
					t.Fatalf("Dequeue #%d from the old version did %d steps, want <= %d", i, *steps, maxSteps)
				}
			}
			// Drain the same old version completely several times.
			for range 3 {
				total := 0
				p := q
				for range n {
					*steps = 0
					_, p, _ = p.Dequeue()
					if *steps > maxSteps {
						t.Fatalf("Dequeue while draining did %d steps, want <= %d", *steps, maxSteps)
					}
					total += *steps
				}
				if total > maxSteps*n {
					t.Fatalf("draining %d elements took %d steps, want <= %d", n, total, maxSteps*n)
				}
			}
		})
	}
	// The same pattern really is adversarial for the naive queue: each
	// dequeue from an old version with an empty front reverses all n.
	t.Run("naive", func(t *testing.T) {
		const n = 1000
		var q naiveQueue[int]
		for i := range n {
			q = q.Enqueue(i)
		}
		*steps = 0
		for range 10 {
			q.Dequeue()
		}
		if want := 10 * n; *steps != want {
			t.Fatalf("naive: 10 dequeues did %d steps, want %d", *steps, want)
		}
	})
}

// TestConcurrentReaders shares versions whose lazy front is entirely
// unforced between goroutines that all force it at once. Run with -race.
func TestConcurrentReaders(t *testing.T) {
	const n = 1023 // 2^k-1 enqueues end with a fresh, unforced rotation
	want := seq(n)
	for round := range 20 {
		shared := fill(n)
		var wg sync.WaitGroup
		for g := range 16 {
			wg.Go(func() {
				var got []int
				switch g % 4 {
				case 0: // drain by Dequeue
					for q := shared; ; {
						v, rest, ok := q.Dequeue()
						if !ok {
							break
						}
						got = append(got, v)
						q = rest
					}
				case 1: // iterate
					got = slices.Collect(shared.All())
				case 2: // extend, then drain the extension
					q := shared.Enqueue(-g)
					for v := range q.All() {
						got = append(got, v)
					}
					if last := got[len(got)-1]; last != -g {
						t.Errorf("round %d goroutine %d: last = %d, want %d", round, g, last, -g)
					}
					got = got[:len(got)-1]
				case 3: // peek and dequeue a few times from the shared version
					for range 100 {
						if v, ok := shared.Head(); !ok || v != 0 {
							t.Errorf("round %d goroutine %d: Head() = (%d, %v), want (0, true)", round, g, v, ok)
						}
						if v, _, ok := shared.Dequeue(); !ok || v != 0 {
							t.Errorf("round %d goroutine %d: Dequeue() = %d, %v, want (0, true)", round, g, v, ok)
						}
					}
					got = want
				}
				if !slices.Equal(got, want) {
					t.Errorf("round %d goroutine %d: got %d elements, want 0..%d in order", round, g, len(got), n-1)
				}
			})
		}
		wg.Wait()
		checkQueue(t, shared, want)
	}
}
