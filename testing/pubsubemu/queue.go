package pubsubemu

import (
	"container/heap"
	"time"

	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
)

// entry is one message in one subscription, from publish until it is
// acknowledged.
type entry struct {
	msg       *pubsubpb.PubsubMessage // nil once acknowledged
	published int64                   // publish time, Unix ns
	seq       uint64                  // position in the subscription, in publish order
	delivery  uint32                  // deliveries so far; the current one is in its ack id
	// deadline is when the current lease expires (zero: not leased).
	deadline time.Time
	acked    bool
}

// fifo is a queue of entries in chunks: memory is given back chunk by chunk
// as the head moves, so a queue that drains holds nothing.
type fifo struct {
	head, tail *chunk
	hi, ti     int // next slot to pop in head, next slot to fill in tail
	n          int
}

const chunkLen = 512

type chunk struct {
	items [chunkLen]*entry
	next  *chunk
}

func (q *fifo) push(e *entry) {
	if q.tail == nil || q.ti == chunkLen {
		c := &chunk{}
		if q.tail == nil {
			q.head, q.hi = c, 0
		} else {
			q.tail.next = c
		}
		q.tail, q.ti = c, 0
	}
	q.tail.items[q.ti] = e
	q.ti++
	q.n++
}

// peek returns the oldest entry (nil when empty).
func (q *fifo) peek() *entry {
	if q.n == 0 {
		return nil
	}
	return q.head.items[q.hi]
}

func (q *fifo) pop() *entry {
	if q.n == 0 {
		return nil
	}
	e := q.head.items[q.hi]
	q.head.items[q.hi] = nil
	q.hi++
	q.n--
	if q.n == 0 {
		q.head, q.tail, q.hi, q.ti = nil, nil, 0, 0
	} else if q.hi == chunkLen {
		q.head, q.hi = q.head.next, 0
	}
	return e
}

// lease is a deadline in the lease heap. A lease is stale (skipped when it
// surfaces) once its entry was acknowledged, handed back, extended or
// delivered again.
type lease struct {
	deadline time.Time
	e        *entry
	delivery uint32
}

func (l lease) current() bool {
	return !l.e.acked && l.e.delivery == l.delivery && l.e.deadline.Equal(l.deadline)
}

// leaseHeap orders leases by deadline (container/heap).
type leaseHeap []lease

func (h leaseHeap) Len() int           { return len(h) }
func (h leaseHeap) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h leaseHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *leaseHeap) Push(x any)        { *h = append(*h, x.(lease)) }
func (h *leaseHeap) Pop() any {
	old := *h
	l := old[len(old)-1]
	old[len(old)-1] = lease{}
	*h = old[:len(old)-1]
	return l
}

// expired pops the leases due at now and returns the entries whose
// current lease they were.
func (h *leaseHeap) expired(now time.Time, out []*entry) []*entry {
	for h.Len() > 0 && !(*h)[0].deadline.After(now) {
		l := heap.Pop(h).(lease)
		if l.current() {
			out = append(out, l.e)
		}
	}
	return out
}
