package detect

import (
	"container/heap"
	"math/rand/v2"
	"slices"
	"testing"
)

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// A queue pops what a heap pops, whatever the order of pushes and pops:
// mostly in order with some late (a stream's records), reversed, random.
func TestQueueIsAHeap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	feeds := map[string]func(i int) int{
		"in order, some late": func(i int) int {
			if r.IntN(20) == 0 {
				return i - r.IntN(500)
			}
			return i
		},
		"reversed": func(i int) int { return -i },
		"random":   func(int) int { return r.IntN(1000) },
	}
	for name, next := range feeds {
		q := newQueue(func(a, b int) bool { return a < b })
		var h intHeap
		var got, want []int
		for i := 0; i < 20000; i++ {
			x := next(i)
			q.Push(x)
			heap.Push(&h, x)
			// Pop now and then, as a watermark moving on does, down to
			// a random level.
			if r.IntN(50) == 0 {
				level := h[0] + r.IntN(300)
				for h.Len() > 0 && h[0] < level {
					want = append(want, heap.Pop(&h).(int))
					if q.Len() == 0 || q.Peek() >= level {
						t.Fatalf("%s: the queue's least is not the heap's", name)
					}
					got = append(got, q.Pop())
				}
			}
			if q.Len() != h.Len() {
				t.Fatalf("%s: %d queued, the heap %d", name, q.Len(), h.Len())
			}
		}
		var rest []int
		q.All(func(x int) { rest = append(rest, x) })
		slices.Sort(rest)
		for h.Len() > 0 {
			want = append(want, heap.Pop(&h).(int))
		}
		got = append(got, rest...)
		if !slices.Equal(got, want) {
			t.Fatalf("%s: the queue gives another order than a heap", name)
		}
	}
}
