package importer

import (
	"bytes"
	"io"
	"strconv"
)

// DefaultMaxRow is the longest row (in bytes, after decoding) a reader
// takes: a quoted field still open this far on is taken for an unbalanced
// quote.
const DefaultMaxRow = 1 << 20

const readChunk = 256 << 10

// csvReader splits CSV text into rows (RFC 4180 as spreadsheets write it):
// a field that starts with a double quote runs to the next lone quote and
// may hold the delimiter, doubled quotes and line breaks; a quote inside an
// unquoted field is an ordinary character; a line may end in CRLF; an empty
// line (or one of spaces only) is no row. A quoted field still open at the
// end of the input, or after maxRow bytes, makes a rejected row of the
// physical line it opened on, and reading goes on at the next line.
//
// It is written here rather than taken from encoding/csv because
// encoding/csv cannot resume after a broken quote: a quoted field that
// never closes swallows the rest of the file into one record (with
// LazyQuotes) or fails at the end of it, while an export with one stray
// quote must lose one row, rejected with its line number and text, and
// keep the others. encoding/csv also gives no row's raw text, which the
// rejects file carries, nor a bound on a row's length.
type csvReader struct {
	r      io.Reader
	delim  byte
	maxRow int

	buf      []byte // unread input is buf[pos:end]
	pos, end int
	eof      bool
	err      error // the read error that ended the input
	line     int   // physical lines consumed

	// The current row: its fields as spans of buf (or of esc, for quoted
	// fields with doubled quotes or CRLF inside), its raw text and first
	// line.
	spans  []span
	fields [][]byte
	esc    []byte
	raw    []byte
	first  int
	nlines int    // physical lines the row spans
	fault  string // why the row is rejected, if it is
}

type span struct {
	a, b  int
	inEsc bool
}

func newCSVReader(r io.Reader, delim byte, maxRow int) *csvReader {
	if maxRow <= 0 {
		maxRow = DefaultMaxRow
	}
	return &csvReader{r: r, delim: delim, maxRow: maxRow, buf: make([]byte, 0, readChunk)}
}

// prime reads until n bytes are buffered or the input ends, and returns
// the buffered bytes (for sniffing), consuming nothing.
func (c *csvReader) prime(n int) []byte {
	for c.end-c.pos < n && c.more() {
	}
	return c.buf[c.pos:c.end]
}

// more reads into the buffer, keeping buf[pos:end], moved to the start. It
// returns false when nothing more can be read.
func (c *csvReader) more() bool {
	if c.eof {
		return false
	}
	if c.pos > 0 {
		c.end = copy(c.buf[:cap(c.buf)], c.buf[c.pos:c.end])
		c.pos = 0
	}
	if cap(c.buf)-c.end < readChunk/2 {
		nb := make([]byte, 0, 2*cap(c.buf)+readChunk)
		c.end = copy(nb[:cap(nb)], c.buf[:c.end])
		c.buf = nb
	}
	c.buf = c.buf[:cap(c.buf)]
	for tries := 0; ; tries++ {
		n, err := c.r.Read(c.buf[c.end:])
		c.end += n
		if err != nil {
			c.eof = true
			if err != io.EOF {
				c.err = err
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
		if tries > 100 {
			c.eof, c.err = true, io.ErrNoProgress
			return false
		}
	}
}

// skipBOM drops a UTF-8 byte-order mark at the start of the input.
func (c *csvReader) skipBOM() {
	if b := c.prime(3); bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}) {
		c.pos += 3
	}
}

// next reads the next row. It returns io.EOF after the last one, or a
// read error. The row's fields, raw text and fault are valid until the
// next call.
func (c *csvReader) next() error {
	for {
		if c.pos == c.end && !c.more() {
			if c.err != nil {
				return c.err
			}
			return io.EOF
		}
		// The row must lie whole in the buffer: find its end, reading more
		// (which may move the buffer) and starting over when it does not.
		nl := bytes.IndexByte(c.buf[c.pos:c.end], '\n')
		if nl < 0 && !c.eof && c.end-c.pos <= c.maxRow {
			c.more()
			continue
		}
		lineEnd := c.end
		if nl >= 0 {
			lineEnd = c.pos + nl
		}
		line := c.buf[c.pos:lineEnd]
		if lineEnd-c.pos > c.maxRow && bytes.IndexByte(line, '"') < 0 {
			c.tooLong(lineEnd, nl >= 0)
			return nil
		}
		if isBlankLine(line) {
			c.consumeLine(lineEnd, nl >= 0)
			continue
		}
		if bytes.IndexByte(line, '"') < 0 {
			c.plainRow(line)
			c.consumeLine(lineEnd, nl >= 0)
			return nil
		}
		if c.quotedRow() {
			return nil
		}
		// quotedRow needs more input; it has consumed nothing.
		c.more()
	}
}

func isBlankLine(b []byte) bool {
	for _, ch := range b {
		if ch != ' ' && ch != '\r' {
			return false
		}
	}
	return true
}

// consumeLine moves past the physical line that ends at lineEnd.
func (c *csvReader) consumeLine(lineEnd int, hasNL bool) {
	c.pos = lineEnd
	if hasNL {
		c.pos++
	}
	c.line++
}

// startRow resets the row state.
func (c *csvReader) startRow() {
	c.spans = c.spans[:0]
	c.esc = c.esc[:0]
	c.fault = ""
	c.first = c.line + 1
	c.nlines = 1
}

// plainRow splits a line without quotes.
func (c *csvReader) plainRow(line []byte) {
	c.startRow()
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	c.raw = line
	base := c.pos // where line starts in buf
	off := 0
	for {
		i := bytes.IndexByte(line[off:], c.delim)
		if i < 0 {
			c.spans = append(c.spans, span{a: base + off, b: base + len(line)})
			break
		}
		c.spans = append(c.spans, span{a: base + off, b: base + off + i})
		off += i + 1
	}
	c.materialize()
}

// quotedRow parses a row that holds a quote, character by character. It
// returns false, having consumed nothing, when the row does not end within
// the buffer and the input goes on.
func (c *csvReader) quotedRow() bool {
	c.startRow()
	b := c.buf[c.pos:c.end]
	i := 0
	lines := 1
	for {
		if i < len(b) && b[i] == '"' {
			// A quoted field: to the next lone quote.
			i++
			start := len(c.esc)
			for {
				j := bytes.IndexByte(b[i:], '"')
				if j < 0 {
					if c.eof {
						c.unclosed()
						return true
					}
					return c.wait(len(b))
				}
				lines += bytes.Count(b[i:i+j], []byte{'\n'})
				c.esc = appendFieldText(c.esc, b[i:i+j])
				i += j + 1
				if i == len(b) && !c.eof {
					return c.wait(len(b)) // is the next byte a quote?
				}
				if i < len(b) && b[i] == '"' { // a doubled quote
					c.esc = append(c.esc, '"')
					i++
					continue
				}
				break
			}
			c.spans = append(c.spans, span{a: start, b: len(c.esc), inEsc: true})
			// After the closing quote: the delimiter or the line's end
			// (spaces and a CR before it are dropped); other text rejects
			// the row.
			k := i
			for k < len(b) && b[k] != c.delim && b[k] != '\n' {
				k++
			}
			if k == len(b) && !c.eof {
				return c.wait(len(b))
			}
			if stray := bytes.Trim(b[i:k], " \r"); len(stray) > 0 && c.fault == "" {
				c.fault = "text after the closing quote of field " + strconv.Itoa(len(c.spans)) + ": " + clipText(stray)
			}
			i = k
		} else {
			k := i
			for k < len(b) && b[k] != c.delim && b[k] != '\n' {
				k++
			}
			if k == len(b) && !c.eof {
				return c.wait(len(b))
			}
			end := k
			if end > i && b[end-1] == '\r' && (k == len(b) || b[k] == '\n') {
				end--
			}
			c.spans = append(c.spans, span{a: c.pos + i, b: c.pos + end})
			i = k
		}
		if i > c.maxRow {
			c.tooLongQuoted()
			return true
		}
		if i < len(b) && b[i] == c.delim {
			i++
			continue
		}
		// The row ends here: at a line break or at the end of the input.
		rawEnd := i
		if rawEnd > 0 && b[rawEnd-1] == '\r' {
			rawEnd--
		}
		c.raw = b[:rawEnd]
		c.nlines = lines
		if i < len(b) { // b[i] == '\n'
			i++
		}
		c.pos += i
		c.line += lines
		c.materialize()
		return true
	}
}

// wait is what quotedRow returns when the row goes on past the n bytes
// buffered: false (read more), or true when the row is too long already,
// having made it a rejected row.
func (c *csvReader) wait(n int) bool {
	if n > c.maxRow {
		c.tooLongQuoted()
		return true
	}
	return false
}

// appendFieldText appends quoted text, a CRLF inside it read as LF.
func appendFieldText(dst, b []byte) []byte {
	for {
		i := bytes.Index(b, []byte("\r\n"))
		if i < 0 {
			return append(dst, b...)
		}
		dst = append(dst, b[:i]...)
		b = b[i+1:]
	}
}

// unclosed rejects the physical line where a quoted field opened and never
// closed, and goes on at the next line.
func (c *csvReader) unclosed() {
	c.lineFault("a quoted field is not closed before the end of the input")
}

func (c *csvReader) tooLongQuoted() {
	c.lineFault("row longer than " + strconv.Itoa(c.maxRow) + " bytes (a quoted field not closed?)")
}

// lineFault makes the current physical line a rejected row.
func (c *csvReader) lineFault(reason string) {
	c.startRow()
	nl := bytes.IndexByte(c.buf[c.pos:c.end], '\n')
	lineEnd, hasNL := c.end, false
	if nl >= 0 {
		lineEnd, hasNL = c.pos+nl, true
	}
	raw := c.buf[c.pos:lineEnd]
	if n := len(raw); n > 0 && raw[n-1] == '\r' {
		raw = raw[:n-1]
	}
	c.raw = raw
	c.fault = reason
	c.fields = c.fields[:0]
	c.consumeLine(lineEnd, hasNL)
}

// tooLong rejects a line longer than maxRow without quotes; the rest of it
// is skipped.
func (c *csvReader) tooLong(lineEnd int, hasNL bool) {
	c.startRow()
	c.raw = c.buf[c.pos:min(lineEnd, c.pos+4096)]
	c.fault = "row longer than " + strconv.Itoa(c.maxRow) + " bytes"
	c.fields = c.fields[:0]
	if hasNL {
		c.consumeLine(lineEnd, true)
		return
	}
	// Skip to the end of the line, reading as needed; keep the start of
	// the row's text for the rejects file.
	c.raw = append([]byte(nil), c.raw...)
	c.pos = c.end
	for {
		if !c.more() {
			c.line++
			return
		}
		if nl := bytes.IndexByte(c.buf[c.pos:c.end], '\n'); nl >= 0 {
			c.pos += nl + 1
			c.line++
			return
		}
		c.pos = c.end
	}
}

// materialize turns the spans into fields.
func (c *csvReader) materialize() {
	c.fields = c.fields[:0]
	for _, s := range c.spans {
		if s.inEsc {
			c.fields = append(c.fields, c.esc[s.a:s.b:s.b])
		} else {
			c.fields = append(c.fields, c.buf[s.a:s.b:s.b])
		}
	}
}

// clipText returns a short quoted rendering of b for a message.
func clipText(b []byte) string {
	const n = 40
	if len(b) > n {
		return strconv.Quote(string(b[:n])) + "…"
	}
	return strconv.Quote(string(b))
}

// sniffDelimiter guesses the delimiter from the start of the input: of
// comma, semicolon, tab and bar, the one that splits the header into at
// least two fields and the most following rows into as many; then the one
// with more fields; then that order. It returns 0 when none does.
func sniffDelimiter(sample []byte) byte {
	// Drop a last line that may be cut short.
	if !bytes.HasSuffix(sample, []byte{'\n'}) {
		if i := bytes.LastIndexByte(sample, '\n'); i >= 0 {
			sample = sample[:i+1]
		}
	}
	best, bestMatch, bestFields := byte(0), -1, 0
	for _, d := range []byte{',', ';', '\t', '|'} {
		r := newCSVReader(bytes.NewReader(sample), d, len(sample)+1)
		r.skipBOM()
		header := -1
		match, rows := 0, 0
		for rows < 50 {
			if err := r.next(); err != nil {
				break
			}
			if r.fault != "" {
				rows++
				continue
			}
			if header < 0 {
				header = len(r.fields)
				continue
			}
			rows++
			if len(r.fields) == header {
				match++
			}
		}
		if header < 2 {
			continue
		}
		// Rows that split like the header, per mille (a header alone: all).
		score := 1000
		if rows > 0 {
			score = match * 1000 / rows
		}
		if score > bestMatch || score == bestMatch && header > bestFields {
			best, bestMatch, bestFields = d, score, header
		}
	}
	return best
}
