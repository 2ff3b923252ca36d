package pqueue

import (
	"iter"
	"sync"
)

// Stack is an immutable last-in, first-out stack. The zero value is an empty
// stack. Push and Pop return new stacks that share structure with the
// receiver; the receiver itself never changes. Every operation is O(1).
type Stack[T any] struct {
	top *node[T]
	n   int
}

// node is one cell of a singly linked list. A node built by Push is strict:
// next is set once, before the node is published. A node built by a queue
// rotation is lazy: next is computed on first use by rot and memoised (see
// rotate in queue.go). Stacks only ever see strict nodes unless they are the
// front of a Queue.
type node[T any] struct {
	val  T
	next *node[T]     // valid if rot is nil, or after rot.once has run
	rot  *rotation[T] // nil for strict nodes
}

// rotation is the suspended rest of a rotated front: the list
// rotate(f, r, a), computed at most once.
type rotation[T any] struct {
	once    sync.Once
	f, r, a *node[T]
}

// tail returns the node after n, forcing and memoising it if it is lazy.
// sync.Once makes concurrent first calls safe: exactly one goroutine computes
// the tail and the others wait for it and then see the result.
func (n *node[T]) tail() *node[T] {
	if s := n.rot; s != nil {
		s.once.Do(func() {
			n.next = rotate(s.f.tail(), s.r.next, &node[T]{val: s.r.val, next: s.a})
			s.f, s.r, s.a = nil, nil, nil // let the consumed inputs be collected
		})
	}
	return n.next
}

// Push returns s with v on top.
func (s Stack[T]) Push(v T) Stack[T] {
	return Stack[T]{top: &node[T]{val: v, next: s.top}, n: s.n + 1}
}

// Peek returns the top element. ok is false if s is empty.
func (s Stack[T]) Peek() (v T, ok bool) {
	if s.top == nil {
		return v, false
	}
	return s.top.val, true
}

// Pop returns the top element and the stack below it. If s is empty it
// returns the zero T, s and ok == false.
func (s Stack[T]) Pop() (v T, rest Stack[T], ok bool) {
	if s.top == nil {
		return v, s, false
	}
	return s.top.val, Stack[T]{top: s.top.tail(), n: s.n - 1}, true
}

// IsEmpty reports whether s has no elements.
func (s Stack[T]) IsEmpty() bool { return s.top == nil }

// Len returns the number of elements in s.
func (s Stack[T]) Len() int { return s.n }

// All yields the elements of s from top to bottom.
func (s Stack[T]) All() iter.Seq[T] {
	return func(yield func(T) bool) {
		for n := s.top; n != nil; n = n.tail() {
			if !yield(n.val) {
				return
			}
		}
	}
}
