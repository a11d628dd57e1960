package feed

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

// readBlocks reads s as a pipeline's reader and workers do (Block, split
// by NewLinesSource, and Next where Block cannot), and returns the records
// in order, each with its own copy of Raw.
func readBlocks(t *testing.T, s *Source, max int) []Record {
	t.Helper()
	var out []Record
	for {
		b, line, base, ok := s.Block(max)
		if !ok {
			r, err := s.Next()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatalf("Next: %v", err)
			}
			out = append(out, r.Clone())
			continue
		}
		if len(b) > max {
			t.Fatalf("Block(%d) gave %d bytes", max, len(b))
		}
		if len(b) == 0 || b[len(b)-1] != '\n' {
			t.Fatalf("Block gave %q: not whole lines", b)
		}
		// The Source may reuse b once asked again: split a copy, as the
		// pipeline does.
		ls := NewLinesSource(s.Name(), bytes.Clone(b), line, base, s.MaxRecord)
		readEach(t, ls, func(r Record) { out = append(out, r.Clone()) })
	}
}

func readNext(t *testing.T, s *Source) []Record {
	t.Helper()
	var out []Record
	readEach(t, s, func(r Record) { out = append(out, r.Clone()) })
	return out
}

func sameRecords(t *testing.T, what string, got, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d records, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.File != w.File || g.Line != w.Line || g.Index != w.Index || g.Offset != w.Offset || g.Err != w.Err || !bytes.Equal(g.Raw, w.Raw) {
			t.Fatalf("%s: record %d:\n got  %s:%d #%d @%d %q %q\n want %s:%d #%d @%d %q %q", what, i,
				g.File, g.Line, g.Index, g.Offset, clipQ(g.Raw), g.Err, w.File, w.Line, w.Index, w.Offset, clipQ(w.Raw), w.Err)
		}
	}
}

func clipQ(b []byte) string {
	if len(b) > 60 {
		return string(b[:60]) + "…"
	}
	return string(b)
}

// A file read in blocks gives the records Next gives, to the byte, line
// and offset: whatever the layout (a file not of lines is read by Next
// alone), the block size, the reads' sizes, over-long lines and a last
// line without a newline.
func TestBlockSameRecords(t *testing.T) {
	inputs := map[string]string{}
	for _, tc := range splitTests {
		inputs[tc.name] = tc.in
	}
	r := rand.New(rand.NewPCG(7, 11))
	pieces := []string{f1, f2, "", " \t", "not json", "\x1e" + f1, f1 + "\r", strings.Repeat("y", 700), "\r"}
	for k := range 40 {
		var sb strings.Builder
		if k%7 == 0 {
			sb.WriteString("\ufeff")
		}
		if k%5 == 0 {
			sb.WriteString("\n \n")
		}
		n := r.IntN(200)
		for i := range n {
			sb.WriteString(pieces[r.IntN(len(pieces))])
			if i < n-1 || k%2 == 0 {
				sb.WriteByte('\n')
			}
		}
		inputs[fmt.Sprintf("random %d", k)] = sb.String()
	}
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
	}
	for name, in := range inputs {
		for _, maxRecord := range []int{0, 500} {
			want := func() []Record {
				s := NewSource("f.json", strings.NewReader(in))
				s.MaxRecord = maxRecord
				return readNext(t, s)
			}()
			for rname, wrap := range readers {
				for _, max := range []int{1, 60, 1000, 1 << 20} {
					s := NewSource("f.json", wrap(strings.NewReader(in)))
					s.MaxRecord = maxRecord
					got := readBlocks(t, s, max)
					sameRecords(t, fmt.Sprintf("%s, max record %d, %s reads, blocks of %d", name, maxRecord, rname, max), got, want)
				}
			}
		}
	}
}

// Only a file of lines is handed out in blocks.
func TestBlockOnlyLines(t *testing.T) {
	for _, tc := range splitTests {
		s := NewSource("f", strings.NewReader(tc.in))
		_, _, _, ok := s.Block(1 << 20)
		if ok && tc.format != Lines {
			t.Errorf("%s: a %v file handed out a block", tc.name, tc.format)
		}
	}
	s := NewSource("f", strings.NewReader(f1+"\n"+f2+"\n"))
	if _, _, _, ok := s.Block(1 << 20); !ok {
		t.Errorf("a file of lines handed out no block")
	}
}
