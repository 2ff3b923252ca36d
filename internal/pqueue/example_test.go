package pqueue_test

import (
	"fmt"
	"slices"

	"github.com/footfall/footfall/internal/pqueue"
)

// Every operation returns a new queue; earlier versions stay usable.
func Example() {
	var empty pqueue.Queue[string] // the zero value is an empty queue
	q1 := empty.Enqueue("a").Enqueue("b")
	q2 := q1.Enqueue("c")

	head, rest, _ := q2.Dequeue()
	fmt.Println(head, slices.Collect(rest.All()))

	// q1 and q2 are unchanged.
	fmt.Println(slices.Collect(q1.All()), slices.Collect(q2.All()))

	_, _, ok := empty.Dequeue()
	fmt.Println(ok, empty.Len())
	// Output:
	// a [b c]
	// [a b] [a b c]
	// false 0
}

func ExampleQueue_Dequeue() {
	var q pqueue.Queue[int]
	for i := range 3 {
		q = q.Enqueue(i * 10)
	}
	for {
		v, rest, ok := q.Dequeue()
		if !ok {
			break
		}
		fmt.Println(v)
		q = rest
	}
	// Output:
	// 0
	// 10
	// 20
}

func ExampleStack() {
	s := pqueue.Stack[string]{}.Push("x").Push("y")
	top, below, _ := s.Pop()
	fmt.Println(top, below.Len(), s.Len())
	// Output:
	// y 1 2
}
