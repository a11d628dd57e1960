package tlog

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// syncFS syncs the whole file system holding dir (syncfs(2)): one call,
// however many files were written, where an fsync of each would cost a
// disk flush apiece.
func syncFS(dir string) (bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return true, err
	}
	defer f.Close()
	if err := unix.Syncfs(int(f.Fd())); err != nil {
		return true, fmt.Errorf("syncfs %s: %w", dir, err)
	}
	return true, nil
}
