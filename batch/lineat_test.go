package batch

import (
	"bytes"
	"strings"
	"testing"
)

// countingReaderAt is a file in memory that counts its reads and the
// bytes they ask for, whatever they get.
type countingReaderAt struct {
	data         []byte
	reads, asked int
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.reads++
	c.asked += len(p)
	return bytes.NewReader(c.data).ReadAt(p, off)
}

func TestLineReader(t *testing.T) {
	long := strings.Repeat("x", 3<<20)
	// The filler keeps "short" out of what the reads of the long line
	// brought; it is not read itself.
	filler := strings.Repeat("y", 5<<20)
	lines := []string{"first\r", long, filler, "short", "next to it", "", "last, no newline"}
	text := strings.Join(lines, "\n")
	var offs []int64
	off := int64(0)
	for _, l := range lines {
		offs = append(offs, off)
		off += int64(len(l)) + 1
	}
	f := &countingReaderAt{data: []byte(text)}
	r := lineReader{f: f}
	for k, want := range lines {
		if want == filler {
			continue
		}
		want = strings.TrimSuffix(want, "\r")
		f.reads, f.asked = 0, 0
		got, err := r.line(offs[k])
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Fatalf("line at %d: got %d bytes %.20q…, want %d bytes %.20q…", offs[k], len(got), got, len(want), want)
		}
		switch {
		case want == "next to it" || want == "":
			// Brought by the read of the line before it.
			if f.reads != 0 {
				t.Errorf("line %q: %d reads, want none", want, f.reads)
			}
		case len(want) < 100:
			// One small read, even with the window grown by the long
			// line before: a read asks for what it gets back.
			if f.reads != 1 || f.asked > 1024 {
				t.Errorf("line %q: %d reads asking for %d bytes, want one of at most 1024", want, f.reads, f.asked)
			}
		case f.asked > 4*len(want):
			t.Errorf("long line: asked for %d bytes for %d", f.asked, len(want))
		}
	}
}
