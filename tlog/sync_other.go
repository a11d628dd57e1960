//go:build !linux

package tlog

// syncFS: no file-system-wide sync here; the caller syncs each file.
func syncFS(string) (bool, error) { return false, nil }
