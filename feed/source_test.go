package feed

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/linewatch/linewatch/detect"
)

// rec is a record as a test expects it.
type rec struct {
	line, index int
	raw, err    string
}

func readAll(t testing.TB, s *Source) []rec {
	t.Helper()
	var out []rec
	readEach(t, s, func(r Record) { out = append(out, rec{r.Line, r.Index, string(r.Raw), r.Err}) })
	return out
}

// readEach calls fn with each record of s, before the next is read.
func readEach(t testing.TB, s *Source, fn func(Record)) {
	t.Helper()
	for {
		r, err := s.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if r.File != s.Name() {
			t.Fatalf("record of %q from %q", r.File, s.Name())
		}
		fn(r)
	}
}

const (
	f1 = `{"type":"Feature","id":1}`
	f2 = `{"type":"Feature","id":2,"properties":{"a":[1,{"b":"}]"}]}}`
)

var splitTests = []struct {
	name   string
	in     string
	format Format
	want   []rec
}{
	{"empty", "", Lines, nil},
	{"only blank", "\n \r\n\t\n", Lines, nil},
	{"lines", f1 + "\n" + f2 + "\n", Lines, []rec{{1, -1, f1, ""}, {2, -1, f2, ""}}},
	{"lines: BOM, CRLF, blank lines, no final newline", "\ufeff" + f1 + "\r\n\r\n  \n" + f2, Lines,
		[]rec{{1, -1, f1, ""}, {4, -1, f2, ""}}},
	{"lines: a leading RS per line", f1 + "\n\n\x1e" + f2 + "\n", Lines, []rec{{1, -1, f1, ""}, {3, -1, f2, ""}}},
	{"lines: bad lines are records", f1 + "\nnot json\n{\"type\":\"FeatureCollection\",\"features\":[]}\n", Lines,
		[]rec{{1, -1, f1, ""}, {2, -1, "not json", ""}, {3, -1, `{"type":"FeatureCollection","features":[]}`, ""}}},
	{"lines: a pretty-printed Feature is a line each", "{\n \"type\": \"Feature\"\n}\n", Lines,
		[]rec{{1, -1, "{", ""}, {2, -1, ` "type": "Feature"`, ""}, {3, -1, "}", ""}}},
	{"text sequence", "\x1e" + f1 + "\n\x1e" + f2 + "\r\n", TextSequence, []rec{{1, -1, f1, ""}, {2, -1, f2, ""}}},
	{"text sequence: BOM, empty records, records over lines", "\ufeff\x1e\x1e" + f1 + "\x1e \n\x1e{\n\"type\":\"Feature\"}\n", TextSequence,
		[]rec{{2, -1, f1, ""}, {4, -1, "{\n\"type\":\"Feature\"}", ""}}},
	{"FeatureCollection", `{"type":"FeatureCollection","features":[` + f1 + `,` + f2 + `]}`, FeatureCollection,
		[]rec{{0, 0, f1, ""}, {0, 1, f2, ""}}},
	{"FeatureCollection: pretty, BOM, other members, features first", "\ufeff \n{\"features\" : [\n  " + f1 + " ,\n\t" + f2 +
		"\n ],\n \"bbox\": [1,2,3,4], \"type\": \"FeatureCollection\"\n}\n\n", FeatureCollection,
		[]rec{{0, 0, f1, ""}, {0, 1, f2, ""}}},
	{"FeatureCollection: members before features", `{"name":"x","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}},"type":"FeatureCollection","features":[` + f1 + `]}`,
		FeatureCollection, []rec{{0, 0, f1, ""}}},
	{"FeatureCollection: empty", `{"type":"FeatureCollection","features":[]}`, FeatureCollection, nil},
	{"FeatureCollection: no features", `{"type":"FeatureCollection"}`, FeatureCollection, nil},
	{"FeatureCollection: anything as a feature", `{"type":"FeatureCollection","features":[1,"x",null,[],{}]}`, FeatureCollection,
		[]rec{{0, 0, "1", ""}, {0, 1, `"x"`, ""}, {0, 2, "null", ""}, {0, 3, "[]", ""}, {0, 4, "{}", ""}}},
	{"FeatureCollection: features not an array", `{"type":"FeatureCollection","features":{"a":1}}`, FeatureCollection,
		[]rec{{0, 0, `{"a":1}`, `FeatureCollection features must be an array, got {"a":1}`}}},
	{"FeatureCollection: syntax error in a feature ends the file", `{"type":"FeatureCollection","features":[` + f1 + `,{"type":"Feature","id":NaN},` + f2 + `]}`,
		FeatureCollection, []rec{{0, 0, f1, ""}, {0, 1, `{"type":"Feature","id":N`, "invalid JSON: NaN and Infinity are not JSON numbers at offset 23"}}},
	{"FeatureCollection: missing comma", `{"type":"FeatureCollection","features":[` + f1 + ` ` + f2 + `]}`,
		FeatureCollection, []rec{{0, 0, f1, ""}, {0, 1, `{`, "invalid JSON: unexpected character '{' in FeatureCollection features (want ',' or ']') at offset 0"}}},
	{"FeatureCollection: truncated", `{"type":"FeatureCollection","features":[` + f1 + `,{"type":"Feat`,
		FeatureCollection, []rec{{0, 0, f1, ""}, {0, 1, `{"type":"Feat`, "invalid JSON: unexpected end of input in string"}}},
	{"FeatureCollection: truncated after a comma", `{"type":"FeatureCollection","features":[` + f1 + `, `,
		FeatureCollection, []rec{{0, 0, f1, ""}, {0, 1, ``, "invalid JSON: unexpected end of input in FeatureCollection"}}},
	{"FeatureCollection: truncated after the array", `{"type":"FeatureCollection","features":[` + f1 + `]`,
		FeatureCollection, []rec{{0, 0, f1, ""}, {0, 1, ``, "invalid JSON: unexpected end of input in FeatureCollection"}}},
	{"FeatureCollection: invalid UTF-8 is left to Decode", "{\"type\":\"FeatureCollection\",\"features\":[{\"a\":\"\xff\"}," + f1 + "]}",
		FeatureCollection, []rec{{0, 0, "{\"a\":\"\xff\"}", ""}, {0, 1, f1, ""}}},
	{"FeatureCollection: text after it", `{"type":"FeatureCollection","features":[` + f1 + "]}\n\n" + f2 + "\n" + f1 + "\n\n",
		FeatureCollection, []rec{{0, 0, f1, ""}, {0, 1, f2 + "\n" + f1, "text after the FeatureCollection"}}},
	{"a Feature first is a sequence", f1 + "\n" + `{"type":"FeatureCollection","features":[]}` + "\n", Lines,
		[]rec{{1, -1, f1, ""}, {2, -1, `{"type":"FeatureCollection","features":[]}`, ""}}},
}

func TestSource(t *testing.T) {
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
	}
	sources := map[string]func(string) *Source{
		// In memory, read where it lies.
		"bytes": func(in string) *Source { return NewBytesSource("f.json", []byte(in)) },
	}
	for rname, wrap := range readers {
		sources[rname] = func(in string) *Source { return NewSource("f.json", wrap(strings.NewReader(in))) }
	}
	for _, tc := range splitTests {
		for rname, open := range sources {
			t.Run(tc.name+"/"+rname, func(t *testing.T) {
				s := open(tc.in)
				got := readAll(t, s)
				if len(got) != len(tc.want) {
					t.Fatalf("got %d records %+v, want %d %+v", len(got), got, len(tc.want), tc.want)
				}
				for i := range got {
					if got[i] != tc.want[i] {
						t.Errorf("record %d:\n got  %+v\n want %+v", i, got[i], tc.want[i])
					}
				}
				if f, _ := s.Format(); f != tc.format {
					t.Errorf("format %v, want %v", f, tc.format)
				}
				if _, err := s.Next(); err != io.EOF {
					t.Errorf("Next after the end: %v", err)
				}
			})
		}
	}
}

func TestSourceLongRecords(t *testing.T) {
	long := `{"type":"Feature","properties":{"pad":"` + strings.Repeat("x", 300<<10) + `"}}`
	in := f1 + "\n" + long + "\n" + f2 + "\n"
	got := readAll(t, NewSource("f", strings.NewReader(in)))
	if len(got) != 3 || got[1].raw != long || got[2].raw != f2 || got[2].line != 3 {
		t.Fatalf("long line lost: %d records", len(got))
	}
	fc := `{"type":"FeatureCollection","features":[` + f1 + "," + long + "," + f2 + "]}"
	got = readAll(t, NewSource("f", iotest.HalfReader(strings.NewReader(fc))))
	if len(got) != 3 || got[1].raw != long || got[2].raw != f2 || got[2].index != 2 {
		t.Fatalf("long feature lost: %d records", len(got))
	}

	// Past MaxRecord: one rejected record; a sequence goes on, a
	// FeatureCollection ends.
	// The same in memory (NewBytesSource), where the whole input is there
	// to see.
	for _, inMemory := range []bool{false, true} {
		open := func(text string) *Source {
			if inMemory {
				return NewBytesSource("f", []byte(text))
			}
			return NewSource("f", strings.NewReader(text))
		}
		s := open(in)
		s.MaxRecord = 100 << 10
		got = readAll(t, s)
		if len(got) != 3 || got[1].err != "record longer than 102400 bytes" || got[1].line != 2 || len(got[1].raw) != keepRaw ||
			got[2].raw != f2 || got[2].line != 3 {
			t.Fatalf("over-long line (in memory %v): %d records, %+v", inMemory, len(got), got[1].err)
		}
		s = open(fc)
		s.MaxRecord = 100 << 10
		got = readAll(t, s)
		if len(got) != 2 || got[1].index != 1 || got[1].err != "record longer than 102400 bytes" || len(got[1].raw) != keepRaw {
			t.Fatalf("over-long feature (in memory %v): %d records, %q", inMemory, len(got), got[len(got)-1].err)
		}
	}
}

// TestSourceBoundedMemory reads a large FeatureCollection from a stream
// that never holds it whole, and checks the Source's buffer stays small.
func TestSourceBoundedMemory(t *testing.T) {
	const n = 200000
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte(`{"type":"FeatureCollection","features":[`))
		for i := 0; i < n; i++ {
			if i > 0 {
				pw.Write([]byte(","))
			}
			pw.Write([]byte(typical))
		}
		pw.Write([]byte("]}"))
		pw.Close()
	}()
	s := NewSource("big", pr)
	count := 0
	for {
		r, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil || r.Err != "" || r.Index != count || string(r.Raw) != typical {
			t.Fatalf("record %d: %v %q", count, err, r.Err)
		}
		count++
	}
	if count != n {
		t.Fatalf("%d features, want %d", count, n)
	}
	if len(s.buf) > 1<<20 {
		t.Errorf("buffer grew to %d bytes for %d MB of input", len(s.buf), n*len(typical)>>20)
	}
}

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	body := "\x1e" + f1 + "\n\x1e" + f2 + "\n"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(body))
	zw.Close()
	files := map[string][]byte{
		"plain.geojsons": []byte(body),
		"named.gz":       gz.Bytes(),
		"magic.geojsons": gz.Bytes(),
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, content, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Open(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := readAll(t, s)
		if len(got) != 2 || got[0].raw != f1 || got[1].raw != f2 || got[1].line != 2 {
			t.Errorf("%s: got %+v", name, got)
		}
		if err := s.Close(); err != nil {
			t.Errorf("%s: Close: %v", name, err)
		}
	}

	if _, err := Open(filepath.Join(dir, "absent.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("absent file: %v", err)
	}
	notGzip := filepath.Join(dir, "not.gz")
	os.WriteFile(notGzip, []byte(f1), 0o644)
	if _, err := Open(notGzip); err == nil {
		t.Errorf("a .gz file that is not gzip opened")
	}
	truncated := filepath.Join(dir, "truncated.gz")
	os.WriteFile(truncated, gz.Bytes()[:len(gz.Bytes())-10], 0o644)
	s, err := Open(truncated)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for {
		_, err := s.Next()
		if err == io.EOF {
			t.Fatal("a truncated gzip stream read to its end without error")
		}
		if err != nil {
			break
		}
	}
}

// blankThen reads n bytes of white space (the pattern repeated; n a
// multiple of its length) and then tail, without holding the white space
// anywhere.
type blankThen struct {
	pattern string
	n       int
	tail    io.Reader
	block   []byte
	off     int
}

func (b *blankThen) Read(p []byte) (int, error) {
	if b.n == 0 {
		return b.tail.Read(p)
	}
	if b.block == nil {
		b.block = bytes.Repeat([]byte(b.pattern), (64<<10)/len(b.pattern))
	}
	k := copy(p[:min(len(p), b.n)], b.block[b.off:])
	b.off = (b.off + k) % len(b.block)
	b.n -= k
	return k, nil
}

// White space — before the first record, between a FeatureCollection's
// tokens, after it — is skipped in bounded memory: telling the format of
// a file looks at a bounded prefix of it, and a file of 8 MiB of newlines
// is no reason to hold them.
func TestSourceWhiteSpaceBoundedMemory(t *testing.T) {
	const blank = 8 << 20
	ws := func(pattern string) io.Reader {
		return &blankThen{pattern: pattern, n: 2 << 20, tail: strings.NewReader("")}
	}
	cases := []struct {
		name   string
		in     func() io.Reader
		format Format
		want   []rec
	}{
		{"lines after blank lines",
			func() io.Reader {
				return &blankThen{pattern: "\n", n: blank, tail: strings.NewReader(f1 + "\n\n" + f2 + "\n")}
			},
			Lines, []rec{{blank + 1, -1, f1, ""}, {blank + 3, -1, f2, ""}}},
		{"lines after blank lines with spaces and CRs",
			func() io.Reader {
				return &blankThen{pattern: " \t\r\n", n: blank, tail: strings.NewReader("  " + f1 + "\n")}
			},
			Lines, []rec{{blank/4 + 1, -1, "  " + f1, ""}}},
		{"a FeatureCollection after blank lines",
			func() io.Reader {
				return &blankThen{pattern: "\r\n", n: blank,
					tail: strings.NewReader(`{"type":"FeatureCollection","features":[` + f1 + "," + f2 + "]}")}
			},
			FeatureCollection, []rec{{0, 0, f1, ""}, {0, 1, f2, ""}}},
		{"a FeatureCollection with white space between its tokens",
			func() io.Reader {
				// Before the format is told, the white space inside
				// the first members is held (up to MaxRecord bytes:
				// TestSourceSniffIsBounded); after, none is.
				parts := []string{`{"type":"FeatureCollection"`, `,`, `"bbox"`, `:`, `[1,2,3,4]`, `,`,
					`"features"`, `:`, `[`, f1, `,`, f2, `]`, `}`, ``}
				var rs []io.Reader
				for _, p := range parts {
					rs = append(rs, strings.NewReader(p), ws("\n "))
				}
				return io.MultiReader(rs...)
			},
			FeatureCollection, []rec{{0, 0, f1, ""}, {0, 1, f2, ""}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSource("blank", tc.in())
			got := readAll(t, s)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d records %+v, want %+v", len(got), got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("record %d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
			if f, _ := s.Format(); f != tc.format {
				t.Errorf("format %v, want %v", f, tc.format)
			}
			if len(s.buf) > 1<<20 {
				t.Errorf("the buffer grew to %d bytes for white space", len(s.buf))
			}
		})
	}
}

// What the format is told from is bounded: a file whose first JSON text
// does not say it is a FeatureCollection within MaxRecord bytes (white
// space included, past leading blank lines) is read as lines, as a record
// that long would be rejected; nothing it holds is lost.
func TestSourceSniffIsBounded(t *testing.T) {
	in := "{" + strings.Repeat(" ", 200<<10) + `"type":"FeatureCollection","features":[` + f1 + "]}\n" + f2 + "\n"
	s := NewSource("f", strings.NewReader(in))
	s.MaxRecord = 100 << 10
	got := readAll(t, s)
	if f, _ := s.Format(); f != Lines {
		t.Fatalf("format %v, want lines", f)
	}
	if len(got) != 2 || got[0].err != "record longer than 102400 bytes" || got[1].raw != f2 || got[1].line != 2 {
		t.Fatalf("records %+v", got)
	}
	if len(s.buf) > 1<<20 {
		t.Errorf("the buffer grew to %d bytes", len(s.buf))
	}
}

// A feature nested deeper than Decode takes is one record, rejected by
// Decode; the features after it are read as ever. Every record is
// accounted for, however deep (the splitter does not recurse).
func TestSourceDeepFeature(t *testing.T) {
	for _, depth := range []int{maxDepth + 1, 300, 100000} {
		deep := `{"type":"Feature","properties":{"x":` + strings.Repeat(`[{"a":`, depth/2) + `1` + strings.Repeat(`}]`, depth/2) + `}}`
		var b strings.Builder
		b.WriteString(`{"type":"FeatureCollection","bbox":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `,"features":[` + f1 + ",\n" + deep)
		const after = 1000
		for range after {
			b.WriteString(",\n" + f2)
		}
		b.WriteString("]}\n")
		got := readAll(t, NewSource("deep", strings.NewReader(b.String())))
		if len(got) != 2+after {
			t.Fatalf("depth %d: %d records, want %d", depth, len(got), 2+after)
		}
		if got[1].raw != deep || got[1].err != "" || got[1].index != 1 {
			t.Fatalf("depth %d: the deep feature is %+.80v", depth, got[1])
		}
		for i, r := range got[2:] {
			if r.raw != f2 || r.index != i+2 {
				t.Fatalf("depth %d: record %d is %+v", depth, i+2, r)
			}
		}
		var s detect.Sighting
		err := Decode([]byte(deep), &s)
		if depth > maxDepth-2 && (err == nil || !strings.HasPrefix(err.Error(), "invalid JSON: nesting too deep")) {
			t.Errorf("depth %d: Decode: %v, want nesting too deep", depth, err)
		}
	}
	// Broken as well as deep: a syntax error, which ends the file.
	in := `{"type":"FeatureCollection","features":[` + f1 + `,` + strings.Repeat("[", 1000) + `,` + f2 + `]}`
	got := readAll(t, NewSource("deep", strings.NewReader(in)))
	if len(got) != 2 || !strings.HasPrefix(got[1].err, "invalid JSON: unexpected character ','") {
		t.Fatalf("a broken deep feature: %+.200v", got)
	}
	// SPEC §9: its text from its start to where reading stopped.
	if want := strings.Repeat("[", 1000) + ","; got[1].raw != want {
		t.Errorf("the broken feature's text is %.80q…, want %.80q…", got[1].raw, want)
	}
}

// TestRecordOffset: a record's Offset is where its Raw stands in the
// file's text, whatever the format, the line ends and the reads.
func TestRecordOffset(t *testing.T) {
	const f = `{"type":"Feature","properties":{"n":%d},"geometry":null}`
	var lines, crlf, rsSeq, fc bytes.Buffer
	fc.WriteString("\ufeff{\"type\":\"FeatureCollection\",\"features\":[\n")
	for i := range 3000 {
		rec := fmt.Sprintf(f, i) + strings.Repeat(" ", i%7)
		fmt.Fprintf(&lines, "%s\n", rec)
		if i%5 == 0 {
			lines.WriteString("\n")
		}
		fmt.Fprintf(&crlf, "\x1e%s\r\n", rec)
		fmt.Fprintf(&rsSeq, "\x1e%s\n", rec)
		if i > 0 {
			fc.WriteString(",\n  ")
		}
		fc.WriteString(rec)
	}
	fc.WriteString("\n]}\n")
	for name, text := range map[string][]byte{"lines": lines.Bytes(), "crlf": crlf.Bytes(), "rs": rsSeq.Bytes(), "fc": fc.Bytes()} {
		for _, inMemory := range []bool{false, true} {
			s := NewSource(name, iotest.HalfReader(bytes.NewReader(text)))
			if inMemory {
				s = NewBytesSource(name, text)
			}
			n := 0
			readEach(t, s, func(rec Record) {
				if rec.Offset < 0 || !bytes.Equal(text[rec.Offset:int(rec.Offset)+len(rec.Raw)], rec.Raw) {
					t.Fatalf("%s (in memory %v): record %d at offset %d: %q is not there", name, inMemory, n, rec.Offset, rec.Raw)
				}
				if inMemory && &text[rec.Offset] != &rec.Raw[0] {
					t.Fatalf("%s: record %d was copied, not read in place", name, n)
				}
				n++
			})
			if n != 3000 {
				t.Fatalf("%s (in memory %v): %d records", name, inMemory, n)
			}
		}
	}
}

// Runs of RS bytes (empty chunks, each a line) and a line of blank space
// longer than MaxRecord are read as they were before they were read
// fast: the same records, line numbers and rejects.
func TestSourceRunsOfBlankAndRS(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		max  int
		want []rec
	}{
		{"RS runs", "\x1e\x1e\x1e" + f1 + "\x1e\x1e" + f2 + "\n\x1e\x1e", 0,
			[]rec{{3, -1, f1, ""}, {5, -1, f2, ""}}},
		{"RS runs then a long chunk", "\x1e\x1e" + strings.Repeat("\x1e", 5000) + strings.Repeat(" ", 3000) + "\x1e" + f1, 1000,
			[]rec{{5002, -1, strings.Repeat(" ", 1000)[:min(keepRaw, 1000)], "record longer than 1000 bytes"}, {5003, -1, f1, ""}}},
		{"blank lines and a long blank line", "  \n\r\n" + strings.Repeat(" \r", 2000) + "\n" + f1 + "\n", 1000,
			[]rec{{3, -1, strings.Repeat(" \r", 500)[:min(keepRaw, 1000)], "record longer than 1000 bytes"}, {4, -1, f1, ""}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewSource("f", iotest.OneByteReader(strings.NewReader(tc.in)))
			s.MaxRecord = tc.max
			got := readAll(t, s)
			if len(got) != len(tc.want) {
				t.Fatalf("got %d records %+v, want %+v", len(got), got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("record %d: got %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}
