package pqueue

import (
	"fmt"
	"testing"
)

// naiveQueue is the textbook two-stack queue, kept here only as a baseline:
// it reverses the whole back into the front when the front runs out, which
// is amortised O(1) for ephemeral use but O(n) per operation when an old
// version with an empty front is reused.
type naiveQueue[T any] struct {
	front, back Stack[T]
}

func (q naiveQueue[T]) Enqueue(v T) naiveQueue[T] {
	return naiveQueue[T]{front: q.front, back: q.back.Push(v)}
}

func (q naiveQueue[T]) Dequeue() (v T, rest naiveQueue[T], ok bool) {
	if q.front.IsEmpty() {
		for x := range q.back.All() {
			if stepHook != nil {
				stepHook()
			}
			q.front = q.front.Push(x)
		}
		q.back = Stack[T]{}
	}
	v, q.front, ok = q.front.Pop()
	return v, q, ok
}

// fifo is implemented by Queue[int] and naiveQueue[int], so that one
// benchmark body serves both without boxing.
type fifo[Q any] interface {
	Enqueue(int) Q
	Dequeue() (int, Q, bool)
}

var sink int

// benchFillDrain enqueues n elements and then dequeues them all.
func benchFillDrain[Q fifo[Q]](b *testing.B, n int) {
	b.ReportAllocs()
	for b.Loop() {
		var q Q
		for i := range n {
			q = q.Enqueue(i)
		}
		for range n {
			var v int
			v, q, _ = q.Dequeue()
			sink += v
		}
	}
}

// benchInterleaved keeps n elements queued and does one Enqueue and one
// Dequeue per iteration.
func benchInterleaved[Q fifo[Q]](b *testing.B, n int) {
	var q Q
	for i := range n {
		q = q.Enqueue(i)
	}
	b.ReportAllocs()
	for b.Loop() {
		var v int
		v, q, _ = q.Enqueue(v).Dequeue()
		sink += v
	}
}

// benchPersistent dequeues over and over from one old version: the one
// built by n enqueues, whose naive front is empty.
func benchPersistent[Q fifo[Q]](b *testing.B, n int) {
	var q Q
	for i := range n {
		q = q.Enqueue(i)
	}
	b.ReportAllocs()
	for b.Loop() {
		v, _, _ := q.Dequeue()
		sink += v
	}
}

func BenchmarkQueue(b *testing.B) {
	for _, bm := range []struct {
		name     string
		realtime func(*testing.B, int)
		naive    func(*testing.B, int)
	}{
		{"FillDrain", benchFillDrain[Queue[int]], benchFillDrain[naiveQueue[int]]},
		{"Interleaved", benchInterleaved[Queue[int]], benchInterleaved[naiveQueue[int]]},
		{"PersistentWorstCase", benchPersistent[Queue[int]], benchPersistent[naiveQueue[int]]},
	} {
		for _, n := range []int{1024, 65536} {
			b.Run(fmt.Sprintf("%s/n=%d/realtime", bm.name, n), func(b *testing.B) { bm.realtime(b, n) })
			b.Run(fmt.Sprintf("%s/n=%d/naive", bm.name, n), func(b *testing.B) { bm.naive(b, n) })
		}
	}
}

func BenchmarkStackPushPop(b *testing.B) {
	b.ReportAllocs()
	var s Stack[int]
	for b.Loop() {
		var v int
		v, s, _ = s.Push(1).Pop()
		sink += v
	}
}
