package detect

// queue is a priority queue for items that mostly come in order, as a
// stream's records do. An item no less than the last of the run goes at
// the run's end, a slice; the few others into a binary heap. Pop takes the
// lesser of the run's first and the heap's: the order a heap alone gives,
// for a fraction of its work, since most pushes and pops touch only the
// ends of the run. less must be a strict order; items equal under it come
// out in either order. (container/heap would box every item in an
// interface on the engine's hot path; TestQueueIsAHeap holds this queue
// to its order.)
type queue[T any] struct {
	less func(a, b T) bool
	run  []T // sorted, from head on
	head int
	heap []T
}

func newQueue[T any](less func(a, b T) bool) queue[T] { return queue[T]{less: less} }

// Len is the number of items queued.
func (q *queue[T]) Len() int { return len(q.run) - q.head + len(q.heap) }

// Peek is the least item; the queue must not be empty.
func (q *queue[T]) Peek() T {
	if q.fromHeap() {
		return q.heap[0]
	}
	return q.run[q.head]
}

// fromHeap tells that the least item is the heap's.
func (q *queue[T]) fromHeap() bool {
	return len(q.heap) > 0 && (q.head == len(q.run) || q.less(q.heap[0], q.run[q.head]))
}

// Push adds an item.
func (q *queue[T]) Push(x T) {
	if q.head == len(q.run) || !q.less(x, q.run[len(q.run)-1]) {
		if q.head == len(q.run) {
			q.run, q.head = q.run[:0], 0
		} else if q.head >= 1024 && q.head >= len(q.run)/2 {
			// Half the slice is what was popped: move the rest down
			// rather than let the slice grow for ever.
			n := copy(q.run, q.run[q.head:])
			clear(q.run[n:])
			q.run, q.head = q.run[:n], 0
		}
		q.run = append(q.run, x)
		return
	}
	q.heap = append(q.heap, x)
	for i := len(q.heap) - 1; i > 0; {
		p := (i - 1) / 2
		if !q.less(q.heap[i], q.heap[p]) {
			break
		}
		q.heap[i], q.heap[p] = q.heap[p], q.heap[i]
		i = p
	}
}

// Pop removes and returns the least item; the queue must not be empty.
func (q *queue[T]) Pop() T {
	var zero T
	if !q.fromHeap() {
		x := q.run[q.head]
		q.run[q.head] = zero
		q.head++
		return x
	}
	h := q.heap
	x := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h[n] = zero
	h = h[:n]
	for i := 0; ; {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && q.less(h[r], h[l]) {
			m = r
		}
		if !q.less(h[m], h[i]) {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	q.heap = h
	return x
}

// All calls fn with every item, in no particular order.
func (q *queue[T]) All(fn func(T)) {
	for _, x := range q.run[q.head:] {
		fn(x)
	}
	for _, x := range q.heap {
		fn(x)
	}
}
