package batch

// SameBatch turns on or off the settling of duplicates within a batch
// (twins) until the function it returns is called: off, every duplicate
// is read again and settled when the input ends.
func SameBatch(on bool) (restore func()) {
	old := sameBatch
	sameBatch = on
	return func() { sameBatch = old }
}
