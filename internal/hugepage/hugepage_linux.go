//go:build linux && (amd64 || arm64)

package hugepage

import (
	"runtime"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// heapSpan is how far the heap is advised from the arena of its first
// object: the Go heap on 64-bit Linux grows upward, contiguously, from an
// arena aligned to 64 MiB, and 4 GiB holds what the largest batch run
// uses. Another mapping the span happens to hold is only advised, never
// changed.
const (
	arenaAlign = 64 << 20
	heapSpan   = 4 << 30
)

// every is how often the advice is given again: memory the runtime maps
// as the heap grows comes without it, and only the 2 MiB stretches of it
// that nothing touched before the advice can get huge pages.
const every = time.Millisecond

// reserve is how much heap Heap maps ahead and advises before anything
// touches it. The runtime maps the heap in pieces of 4 MiB as it grows and
// at once lays out spans in each, so advice after the fact came too late
// for about half of a run's heap.
const reserve = 64 << 20

// heapBase is where the heap begins, once found.
var (
	heapBase uintptr
	once     sync.Once
	// anchor is on the heap (a package's variable points to it) and large
	// (a page span of its own, not a tiny allocation): its address tells
	// where the heap begins.
	anchor *[64 << 10]byte
)

// advise advises the heap's address range. ENOMEM (holes in the range)
// and EINVAL (no THP in the kernel) are expected: the advice is applied
// to what it can be.
func advise() {
	unix.Syscall(unix.SYS_MADVISE, heapBase, heapSpan, unix.MADV_HUGEPAGE)
}

// Heap advises the Go heap's address range MADV_HUGEPAGE, and again every
// millisecond, until stop is called. The first call maps reserve bytes of
// heap ahead and runs one garbage collection, on a heap that is then
// small.
func Heap() (stop func()) {
	once.Do(func() {
		anchor = new([64 << 10]byte)
		ahead := make([]byte, reserve) // fresh from the system: not touched
		heapBase = min(uintptr(unsafe.Pointer(anchor)), uintptr(unsafe.Pointer(unsafe.SliceData(ahead)))) &^ (arenaAlign - 1)
		advise()
		// Freed, the reserve stays mapped for the heap to use; collected
		// now, it sets no pace for the collector (a 64 MiB object alive at
		// the next collection would let the heap grow to twice that
		// first).
		runtime.KeepAlive(ahead)
		runtime.GC()
	})
	advise()
	done := make(chan struct{})
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				advise()
			}
		}
	}()
	return func() {
		close(done)
		<-ended
	}
}
