package batch

import (
	"bytes"
	"strings"
	"testing"
)

// countingReaderAt is a file in memory that adds up the bytes each ReadAt
// asks for, whatever it returns.
type countingReaderAt struct {
	data  []byte
	asked int
}

func (c *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	c.asked += len(p)
	r := bytes.NewReader(c.data)
	return r.ReadAt(p, off)
}

func TestLineAt(t *testing.T) {
	long := strings.Repeat("x", 3<<20)
	text := "first\r\n" + long + "\nshort\n" + "last, no newline"
	offs := map[string]int64{
		"first":            0,
		long:               7,
		"short":            int64(7 + len(long) + 1),
		"last, no newline": int64(7 + len(long) + 1 + 6),
	}
	f := &countingReaderAt{data: []byte(text)}
	var buf []byte
	for _, want := range []string{"first", long, "short", "last, no newline"} {
		f.asked = 0
		var err error
		buf, err = lineAt(f, offs[want], buf)
		if err != nil {
			t.Fatal(err)
		}
		if string(buf) != want {
			t.Fatalf("line at %d: got %d bytes %.20q…, want %d bytes %.20q…", offs[want], len(buf), buf, len(want), want)
		}
		// A short line is read in one small read, even with buf grown by
		// the long one before it: a read asks for what it gets back.
		if len(want) < 100 && f.asked > 512 {
			t.Errorf("line %q: asked for %d bytes, want at most 512", want, f.asked)
		}
		if len(want) > 100 && f.asked > 4*len(want) {
			t.Errorf("long line: asked for %d bytes for %d", f.asked, len(want))
		}
	}
}
