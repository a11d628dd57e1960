// Package hugepage asks Linux to back the Go heap with transparent huge
// pages while a batch run lasts.
//
// A batch run fills tens of megabytes of new heap in under a second, and
// the first touch of each 4 KiB page is a page fault. Where faults are
// dear, as in a virtual machine, they add up: about 10 µs each on the
// 2-core machine linewatch is benchmarked on, some 16,000 of them in a run
// of a million records, a tenth of its CPU time, where a 2 MiB huge page
// costs one fault. The Go runtime leaves the choice to the system's THP
// mode, and its usual default, madvise, gives huge pages only to memory
// that asks for them: Heap asks for the heap's.
//
// It is advice. Where the system turns huge pages off, or is not Linux,
// nothing changes; what a run computes never depends on it.
package hugepage
