// Package pqueue provides an immutable (persistent) FIFO queue, [Queue],
// built on two immutable LIFO stacks, [Stack].
//
// Every operation returns a new value and leaves the receiver unchanged, so
// each earlier version stays valid and can be used again; versions share
// structure instead of copying. The zero Queue and the zero Stack are empty
// and ready to use. Element values are copied as-is: if T contains pointers,
// the data they point to is not protected.
//
// # Why not the textbook two-stack queue
//
// The textbook functional queue keeps a front stack (oldest element on top)
// and a back stack (newest on top). Enqueue pushes onto the back; Dequeue pops
// the front, and when the front is empty it first reverses the whole back into
// a new front. Each element is reversed once, so n operations cost O(n) in
// total: amortised O(1) per operation.
//
// That argument assumes each version is used once (ephemeral use). With
// persistence it fails: take a version q whose front is empty and whose back
// holds n elements. Every q.Dequeue() reverses the same n elements again,
// because the reversal made by one call is not shared with the next, so k
// dequeues from q cost O(k·n): O(n) per operation. The PersistentWorstCase
// benchmark shows this for the naive queue kept in the tests.
//
// # Real-time queue
//
// Queue is Okasaki's real-time queue (C. Okasaki, Purely Functional Data
// Structures, 1998, section 7.2). It rotates early and lazily: as soon as the
// back becomes longer than the front, the front is replaced by a lazy list
// equal to front ++ reverse(back). Each cell of that list is computed on first
// use in O(1) and memoised, so the work is done once and shared by all
// versions. Each queue also carries a schedule, a pointer into its front, and
// every operation forces one more cell of it; this finishes a rotation before
// the next one can start. An operation therefore does at most a constant
// number of rotation steps (two) whichever version it is applied to: every
// operation is worst-case O(1), with or without persistence.
//
// The alternative, Okasaki's banker's queue (a lazy reversal memoised on
// first use), keeps the amortised O(1) bound under persistence, but a single
// operation can still force a whole O(n) reversal. The real-time queue needs
// the same ingredient (memoised lazy cells) and a few more lines, and bounds
// every operation, giving predictable latency; that is why it was chosen.
// The price is a constant factor: for single-threaded use it is about three
// times slower than the textbook queue and allocates about twice as much
// (see docs/benchmarks.md).
//
// # Concurrency
//
// Stacks and queues may be shared between goroutines without locks. Their
// observable contents never change; the only internal writes are the one-time
// memoisation of lazy cells, each guarded by a [sync.Once], so goroutines that
// force the same cell concurrently compute it once and all see the result.
package pqueue

import "iter"

// Queue is an immutable first-in, first-out queue. The zero value is an
// empty queue. All operations are worst-case O(1), except All.
type Queue[T any] struct {
	// Invariants: back.Len() <= front.Len(), so the front is empty only if
	// the queue is; sched is a suffix of front of length
	// front.Len() - back.Len(); every cell of front before sched has been
	// forced. So when sched runs out, all of front is forced and a new
	// rotation never has to wait for an old one.
	front Stack[T] // oldest element on top; cells may be lazy
	back  Stack[T] // newest element on top; strict
	sched *node[T] // next front cell to force
}

// stepHook, if set, is called once per rotation step. Tests use it to count
// the work done by each operation.
var stepHook func()

// rotate returns the list f ++ reverse(r) ++ a, given len(r) == len(f)+1.
// Only the first cell is built now; the rest is a memoised suspension
// (see node.tail), so each call is O(1).
func rotate[T any](f, r, a *node[T]) *node[T] {
	if stepHook != nil {
		stepHook()
	}
	if f == nil { // r has exactly one element
		return &node[T]{val: r.val, next: a}
	}
	// One allocation for the cell and its suspension.
	c := &struct {
		n node[T]
		r rotation[T]
	}{n: node[T]{val: f.val}, r: rotation[T]{f: f, r: r, a: a}}
	c.n.rot = &c.r
	return &c.n
}

// exec restores the invariants after an operation has shortened the front or
// lengthened the back by one: it forces one scheduled cell or, once the
// schedule is exhausted (back is then one longer than front), starts a new
// rotation.
func exec[T any](front, back Stack[T], sched *node[T]) Queue[T] {
	if sched != nil {
		return Queue[T]{front: front, back: back, sched: sched.tail()}
	}
	f := Stack[T]{top: rotate(front.top, back.top, nil), n: front.n + back.n}
	return Queue[T]{front: f, sched: f.top}
}

// Enqueue returns q with v added at the back.
func (q Queue[T]) Enqueue(v T) Queue[T] {
	return exec(q.front, q.back.Push(v), q.sched)
}

// Dequeue returns the element at the front of q and the queue without it.
// If q is empty it returns the zero T, q and ok == false.
func (q Queue[T]) Dequeue() (v T, rest Queue[T], ok bool) {
	v, front, ok := q.front.Pop()
	if !ok {
		return v, q, false
	}
	return v, exec(front, q.back, q.sched), true
}

// Head returns the element at the front of q without removing it. ok is
// false if q is empty.
func (q Queue[T]) Head() (v T, ok bool) { return q.front.Peek() }

// IsEmpty reports whether q has no elements.
func (q Queue[T]) IsEmpty() bool { return q.front.IsEmpty() }

// Len returns the number of elements in q.
func (q Queue[T]) Len() int { return q.front.Len() + q.back.Len() }

// All yields the elements of q from front to back. It takes O(n) time and
// O(q.Len()/2) temporary space for the back.
func (q Queue[T]) All() iter.Seq[T] {
	return func(yield func(T) bool) {
		for v := range q.front.All() {
			if !yield(v) {
				return
			}
		}
		back := make([]T, 0, q.back.Len())
		for v := range q.back.All() {
			back = append(back, v)
		}
		for i := len(back) - 1; i >= 0; i-- {
			if !yield(back[i]) {
				return
			}
		}
	}
}
