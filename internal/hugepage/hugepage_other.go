//go:build !(linux && (amd64 || arm64))

package hugepage

// Heap does nothing here: huge pages are a Linux matter.
func Heap() (stop func()) { return func() {} }
