//go:build linux && (amd64 || arm64)

package hugepage

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// TestHeapAdvised: while Heap runs, heap memory mapped after it started
// (an object bigger than the reserve grows the heap) comes to be advised
// for huge pages, which the kernel shows as the "hg" flag of its mapping.
func TestHeapAdvised(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil {
		t.Skip("no transparent huge pages in this kernel")
	}
	stop := Heap()
	defer stop()
	b := make([]byte, 2*reserve)
	addr := uintptr(unsafe.Pointer(&b[len(b)-1]))
	deadline := time.Now().Add(5 * time.Second)
	for {
		flags, err := vmFlags(addr)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(" "+flags+" ", " hg ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the heap at %#x is not advised for huge pages: VmFlags %q", addr, flags)
		}
		time.Sleep(time.Millisecond)
	}
	b[0] = 1 // keeps b alive until here
}

// vmFlags is the VmFlags line of the mapping that holds addr.
func vmFlags(addr uintptr) (string, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x", &lo, &hi); n == 2 && strings.Contains(line, " ") {
			in = lo <= addr && addr < hi
			continue
		}
		if in && strings.HasPrefix(line, "VmFlags:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmFlags:")), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("no mapping holds %#x", addr)
}
