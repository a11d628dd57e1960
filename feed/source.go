package feed

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Record is one record of a feed file as the splitter cut it: the raw text
// of one sighting, not yet decoded.
type Record struct {
	File string // the name given to Open or NewSource
	// Line is the 1-based physical line of the record in a newline-delimited
	// file, its 1-based ordinal in a file split on RS; 0 in a
	// FeatureCollection.
	Line int
	// Index is the 0-based index of the feature in a FeatureCollection; -1
	// in a sequence.
	Index int
	// Raw is the record's text, without RS, trailing CR or byte-order mark.
	// It belongs to the Source and is overwritten by the next call of Next:
	// copy it (Clone) to keep it longer.
	Raw []byte
	// Offset is where Raw starts in the file's text (decompressed): a
	// reader may find the record there again. -1 when Raw is not a piece
	// of the text (the start of the text after a FeatureCollection).
	Offset int64
	// Err, when not empty, is why the splitter itself rejects the record:
	// a syntax error inside a FeatureCollection, text after it, a record
	// longer than the Source's MaxRecord. Such a record is not decoded.
	Err string
}

// Clone returns r with a copy of Raw that it owns.
func (r Record) Clone() Record {
	r.Raw = append([]byte(nil), r.Raw...)
	return r
}

// Format is the layout of a feed file.
type Format int

const (
	// Lines: newline-delimited GeoJSON, one Feature per line; a line may
	// start with RS (RFC 8142 written one record per line).
	Lines Format = iota
	// TextSequence: RFC 8142 GeoJSON text sequence, split on RS.
	TextSequence
	// FeatureCollection: one FeatureCollection, read feature by feature.
	FeatureCollection
)

func (f Format) String() string {
	switch f {
	case TextSequence:
		return "text sequence"
	case FeatureCollection:
		return "FeatureCollection"
	}
	return "lines"
}

// DefaultMaxRecord is the longest record a Source takes by default.
const DefaultMaxRecord = 64 << 20

const (
	rs       = 0x1E
	readSize = 64 << 10
	keepRaw  = 8 << 10 // of a rejected record whose text is not kept whole
)

var bom = []byte{0xEF, 0xBB, 0xBF}

// Source splits a feed file into records (SPEC §2, §9 "Files"). It reads a
// bounded amount ahead, whatever the size of the file: a 10 GB
// FeatureCollection is read feature by feature. A Source is not safe for
// use by several goroutines at once.
type Source struct {
	// MaxRecord is the length in bytes past which a record is rejected
	// (and, in a FeatureCollection, the file ended); set it before the
	// first call of Next. Zero means DefaultMaxRecord.
	MaxRecord int

	name    string
	r       io.Reader
	closers []io.Closer

	buf      []byte // unread input is buf[pos:end]
	pos, end int
	base     int64 // the offset in the input of buf[0]
	eof      bool  // r has no more to give
	err      error // the read error that ended the input, if any

	started  bool
	format   Format
	line     int  // records (lines, RS chunks) taken so far
	scanned  int  // of buf[pos:end], bytes known to hold no separator
	skipping bool // discarding the rest of an over-long record
	index    int  // features taken so far
	fc       fcState
	// fcFeatures: the member being read is "features".
	fcFeatures bool
	tail       []byte
}

// Open opens a feed file; name "-" is standard input. The input is
// decompressed when the name ends in ".gz" or the content starts with the
// gzip magic bytes. Close the Source when done.
func Open(name string) (*Source, error) {
	var f *os.File
	if name == "-" {
		f = os.Stdin
	} else {
		var err error
		if f, err = os.Open(name); err != nil {
			return nil, err
		}
	}
	s, err := OpenReader(name, f)
	if err != nil {
		if f != os.Stdin {
			f.Close()
		}
		return nil, err
	}
	if f != os.Stdin {
		s.closers = append(s.closers, f)
	}
	return s, nil
}

// OpenReader returns a Source reading the records of r, named name,
// decompressed as Open decompresses a file: when name ends in ".gz" or r
// starts with the gzip magic bytes. Closing the Source does not close r.
func OpenReader(name string, r io.Reader) (*Source, error) {
	br := bufio.NewReaderSize(r, readSize)
	magic, err := br.Peek(2)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if !strings.HasSuffix(name, ".gz") && !(len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
		return NewSource(name, br), nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	s := NewSource(name, zr)
	s.closers = append(s.closers, zr)
	return s, nil
}

// NewSource returns a Source reading the records of r, named name in its
// records. It does not decompress r.
func NewSource(name string, r io.Reader) *Source {
	return &Source{name: name, r: r}
}

// NewBytesSource returns a Source reading the records of b, named name in
// its records, where b lies: the records' Raw are slices of b, valid as
// long as b is and unchanged by the Source, and nothing is copied. It is
// for input already in memory — a request's body, a message — which
// NewSource over a bytes.Reader would copy into a buffer of its own.
func NewBytesSource(name string, b []byte) *Source {
	return &Source{name: name, buf: b[:len(b):len(b)], end: len(b), eof: true}
}

// NewLinesSource returns a Source reading b, whole lines of a file of
// lines that Block handed out, where they lie: its records are those Next
// would have returned of them (line numbers from line + 1, offsets from
// base, named name), split on another goroutine than the one reading.
func NewLinesSource(name string, b []byte, line int, base int64, maxRecord int) *Source {
	s := NewBytesSource(name, b)
	s.MaxRecord, s.started, s.format, s.line, s.base = maxRecord, true, Lines, line, base
	return s
}

// Block returns the next whole lines of a file of lines, up to max bytes,
// without splitting them, for NewLinesSource to split elsewhere: b is
// valid until the next call, line is the number of lines before b and base
// the offset of b in the input. It returns ok false, taking nothing, when
// Next must be called instead: the file is not of lines, a record longer
// than max or being skipped is next, or the input ends in a line without
// a newline.
func (s *Source) Block(max int) (b []byte, line int, base int64, ok bool) {
	if !s.started {
		s.start()
	}
	if s.format != Lines || s.skipping {
		return nil, 0, 0, false
	}
	for s.end-s.pos < max && s.more() {
	}
	b = s.buf[s.pos:min(s.end, s.pos+max)]
	i := bytes.LastIndexByte(b, '\n')
	if i < 0 {
		return nil, 0, 0, false
	}
	b = b[: i+1 : i+1]
	line, base = s.line, s.base+int64(s.pos)
	s.pos += i + 1
	s.scanned = 0
	s.line += bytes.Count(b, []byte{'\n'})
	return b, line, base, true
}

// Name returns the name of the Source's file.
func (s *Source) Name() string { return s.name }

// Close closes the file Open opened (not standard input).
func (s *Source) Close() error {
	var first error
	for _, c := range s.closers {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	s.closers = nil
	return first
}

// Format returns the layout of the file, reading its start to tell it if
// Next was not called yet.
func (s *Source) Format() (Format, error) {
	if !s.started {
		s.start()
	}
	if s.err != nil && s.pos == s.end {
		return s.format, s.err
	}
	return s.format, nil
}

// Next returns the next record, or io.EOF after the last one. Another error
// is a read error (a broken gzip stream, a failing disk): the file cannot
// be read further.
func (s *Source) Next() (Record, error) {
	if !s.started {
		s.start()
	}
	var r Record
	var err error
	if s.format == FeatureCollection {
		r, err = s.nextFeature()
	} else {
		r, err = s.nextChunk()
	}
	r.Offset = s.offsetOf(r.Raw)
	// Capped, so that appending to a record cannot write over the next
	// one (of a NewBytesSource, the caller's own input).
	r.Raw = r.Raw[:len(r.Raw):len(r.Raw)]
	return r, err
}

// offsetOf is the offset in the input of raw, a piece of the buffer, or -1.
func (s *Source) offsetOf(raw []byte) int64 {
	k := cap(s.buf) - cap(raw)
	if len(raw) == 0 || k < 0 || &s.buf[:cap(s.buf)][k] != &raw[0] {
		return -1
	}
	return s.base + int64(k)
}

func (s *Source) maxRecord() int {
	if s.MaxRecord > 0 {
		return s.MaxRecord
	}
	return DefaultMaxRecord
}

// more reads into the buffer, keeping buf[pos:end] (moved to the start of
// the buffer). It returns false when nothing more can be read.
func (s *Source) more() bool {
	if s.eof {
		return false
	}
	if s.pos > 0 {
		s.base += int64(s.pos)
		s.end = copy(s.buf, s.buf[s.pos:s.end])
		s.pos = 0
	}
	if len(s.buf)-s.end < readSize/2 {
		nb := make([]byte, max(2*len(s.buf), 2*readSize))
		s.end = copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	for tries := 0; ; tries++ {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if err != nil {
			s.eof = true
			if err != io.EOF {
				s.err = err
			}
			return n > 0
		}
		if n > 0 {
			return true
		}
		if tries > 100 {
			s.eof, s.err = true, io.ErrNoProgress
			return false
		}
	}
}

// moreTo reads until buf[pos:end] holds n bytes or the input ends.
func (s *Source) moreTo(n int) bool {
	got := false
	for s.end-s.pos < n && s.more() {
		got = true
	}
	return got
}

// wsAt skips white space from offset off of the unread input, keeping it;
// it returns the offset of the next byte, and false at the end of input or
// past MaxRecord bytes of unread input, so that what it holds is bounded.
func (s *Source) wsAt(off int) (int, bool) {
	for {
		for s.pos+off < s.end {
			switch s.buf[s.pos+off] {
			case ' ', '\t', '\n', '\r':
				off++
			default:
				return off, true
			}
		}
		if off > s.maxRecord() || !s.more() {
			return off, false
		}
	}
}

// skipWS discards the white space at the start of the unread input, reading
// as needed, in bounded memory; it returns false at the end of input.
func (s *Source) skipWS() bool {
	for {
		for s.pos < s.end {
			switch s.buf[s.pos] {
			case ' ', '\t', '\n', '\r':
				s.pos++
			default:
				return true
			}
		}
		if !s.more() {
			return false
		}
	}
}

// skipBlankLines discards the lines of white space at the start of the
// unread input, counting them, in bounded memory. The white space of the
// line it stops in is kept (it is part of that line's record), up to
// MaxRecord bytes: past that the line is over-long anyway.
func (s *Source) skipBlankLines() {
	from := 0 // the blank space of the current line already scanned: never scanned again
	for {
		b := s.buf[s.pos:s.end]
		i, cut, lines := from, 0, 0
	scan:
		for ; i < len(b); i++ {
			switch b[i] {
			case '\n':
				cut, lines = i+1, lines+1
			case ' ', '\t', '\r':
			default:
				break scan
			}
		}
		s.pos += cut
		s.line += lines
		from = i - cut
		if i < len(b) || s.end-s.pos > s.maxRecord() || !s.more() {
			return
		}
	}
}

// valueAt checks the syntax of the JSON value at offset off of the unread
// input, reading more as needed, and returns the offset of its end.
func (s *Source) valueAt(off int) (int, *syntaxError) {
	for {
		sc := scanner{b: s.buf[s.pos:s.end], i: off, lax: true}
		err := sc.value(1)
		if err == nil && (sc.i < len(sc.b) || s.eof) {
			if sc.i-off > s.maxRecord() {
				return 0, s.longError(off)
			}
			return sc.i, nil
		}
		var se *syntaxError
		if err != nil {
			se = err.(*syntaxError)
			if !se.eof || s.eof {
				return 0, se
			}
		}
		if s.end-s.pos-off > s.maxRecord() {
			return 0, s.longError(off)
		}
		// Read at least as much again, so that a long value is checked a
		// logarithmic number of times, not once per read.
		s.moreTo(2 * (s.end - s.pos))
	}
}

// longError is the error of a value at off longer than MaxRecord.
func (s *Source) longError(off int) *syntaxError {
	return &syntaxError{msg: "record longer than " + strconv.Itoa(s.maxRecord()) + " bytes",
		off: off + min(keepRaw, s.maxRecord()) - 1, long: true}
}

// start tells the format of the file (SPEC §9 "Files"). It looks at a
// bounded prefix: leading blank lines, which are no records in any format,
// are dropped as they are read (and counted), and a FeatureCollection must
// say so within MaxRecord bytes after them — like a record, or the file is
// read as lines.
func (s *Source) start() {
	s.started = true
	s.moreTo(len(bom))
	if bytes.HasPrefix(s.buf[s.pos:s.end], bom) {
		s.pos += len(bom)
	}
	if s.pos == s.end && !s.more() {
		return
	}
	if s.buf[s.pos] == rs {
		s.format = TextSequence
		s.pos++
		return
	}
	s.skipBlankLines()
	if s.isFeatureCollection() {
		s.format = FeatureCollection
	}
}

// isFeatureCollection reads the top-level members of the first JSON text,
// if it is an object, until one tells: "type" with the value
// "FeatureCollection" does, another type does not, and so does "features"
// (a writer that sorts keys puts it before "type"). It consumes nothing.
func (s *Source) isFeatureCollection() bool {
	off, ok := s.wsAt(0)
	if !ok || s.buf[s.pos+off] != '{' {
		return false
	}
	off++
	for {
		if off > s.maxRecord() {
			return false
		}
		var ok bool
		if off, ok = s.wsAt(off); !ok || s.buf[s.pos+off] != '"' {
			return false
		}
		kend, err := s.valueAt(off)
		if err != nil {
			return false
		}
		key := string(unescape(nil, s.buf[s.pos+off+1:s.pos+kend-1]))
		if off, ok = s.wsAt(kend); !ok || s.buf[s.pos+off] != ':' {
			return false
		}
		if off, ok = s.wsAt(off + 1); !ok {
			return false
		}
		if key == "features" {
			return true
		}
		vend, err := s.valueAt(off)
		if err != nil {
			return false
		}
		if key == "type" {
			return string(s.buf[s.pos+off:s.pos+vend]) == `"FeatureCollection"`
		}
		if off, ok = s.wsAt(vend); !ok || s.buf[s.pos+off] != ',' {
			return false
		}
		off++
	}
}

// nextChunk returns the next record of a file split on newlines or RS.
func (s *Source) nextChunk() (Record, error) {
	sep := byte('\n')
	if s.format == TextSequence {
		sep = rs
	}
	for {
		if s.format == TextSequence && s.scanned == 0 && !s.skipping {
			// A run of RS bytes is a run of empty chunks: no records, but
			// each counts as a line (SPEC §9).
			for s.pos < s.end && s.buf[s.pos] == rs {
				s.pos++
				s.line++
			}
		}
		var chunk []byte
		i := bytes.IndexByte(s.buf[s.pos+s.scanned:s.end], sep)
		if i < 0 {
			s.scanned = s.end - s.pos
			if s.skipping {
				s.pos, s.scanned = s.end, 0
			}
			if !s.eof {
				if s.scanned > s.maxRecord() && !s.skipping {
					// Take the line's number now; its end is discarded
					// when read.
					s.skipping = true
					r := s.tooLong(s.buf[s.pos:s.end])
					r.Line++
					return r, nil
				}
				s.more()
				continue
			}
			if s.pos == s.end {
				if s.err != nil {
					return Record{}, fmt.Errorf("read %s: %w", s.name, s.err)
				}
				return Record{}, io.EOF
			}
			if s.err != nil { // a truncated last record: report the error
				s.pos, s.scanned = s.end, 0
				continue
			}
			chunk = s.buf[s.pos:s.end]
			s.pos, s.scanned = s.end, 0
		} else {
			chunk = s.buf[s.pos : s.pos+s.scanned+i]
			s.pos += s.scanned + i + 1
			s.scanned = 0
		}
		s.line++
		if s.skipping {
			s.skipping = false
			continue
		}
		if len(chunk) > s.maxRecord() {
			return s.tooLong(chunk), nil
		}
		if s.format == TextSequence {
			chunk = bytes.TrimRight(chunk, " \t\r\n")
		} else {
			if len(chunk) > 0 && chunk[len(chunk)-1] == '\r' {
				chunk = chunk[:len(chunk)-1]
			}
			if len(chunk) > 0 && chunk[0] == rs {
				chunk = chunk[1:]
			}
		}
		if isBlank(chunk) {
			continue
		}
		return Record{File: s.name, Line: s.line, Index: -1, Raw: chunk}, nil
	}
}

// tooLong returns the record of a line or RS chunk longer than MaxRecord:
// rejected, with only its start kept.
func (s *Source) tooLong(chunk []byte) Record {
	return Record{File: s.name, Line: s.line, Index: -1,
		Raw: chunk[:min(keepRaw, s.maxRecord())],
		Err: "record longer than " + strconv.Itoa(s.maxRecord()) + " bytes"}
}

// isBlank tells whether b holds only JSON white space.
func isBlank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}

// fcState is where a FeatureCollection's reader stands. Each state
// starts at a token: the white space before it is discarded as it is
// read, so that no amount of it is held.
type fcState int

const (
	fcStart        fcState = iota // before the opening brace
	fcFirstMember                 // after it: a key or '}'
	fcMember                      // after ',': a key
	fcColon                       // after a key: ':'
	fcValue                       // after ':': the member's value
	fcAfterMember                 // ',' or '}'
	fcFirstFeature                // after '[': a feature or ']'
	fcAfterFeature                // ',' or ']'
	fcNextFeature                 // after ',': a feature
	fcTrailing                    // after the closing brace
	fcDone
)

// nextFeature returns the next record of a FeatureCollection.
func (s *Source) nextFeature() (Record, error) {
	for {
		ok := false
		if s.fc != fcDone {
			ok = s.skipWS()
		}
		if !ok && s.fc != fcTrailing && s.fc != fcDone {
			return s.fcEnd(0)
		}
		var c byte
		if ok {
			c = s.buf[s.pos]
		}
		switch s.fc {
		case fcDone:
			if s.err != nil {
				return Record{}, fmt.Errorf("read %s: %w", s.name, s.err)
			}
			return Record{}, io.EOF

		case fcStart: // isFeatureCollection saw the brace
			s.pos++
			s.fc = fcFirstMember

		case fcFirstMember, fcMember:
			if c == '}' && s.fc == fcFirstMember {
				s.pos++
				s.fc = fcTrailing
				continue
			}
			if c != '"' {
				return s.fcError(0, s.unexpectedAt(0, "FeatureCollection (want a key)"))
			}
			kend, err := s.valueAt(0)
			if err != nil {
				return s.fcError(0, err)
			}
			s.fcFeatures = string(unescape(nil, s.buf[s.pos+1:s.pos+kend-1])) == "features"
			s.pos += kend
			s.fc = fcColon

		case fcColon:
			if c != ':' {
				return s.fcError(0, s.unexpectedAt(0, "FeatureCollection (want ':' after a key)"))
			}
			s.pos++
			s.fc = fcValue

		case fcValue:
			if s.fcFeatures && c == '[' {
				s.pos++
				s.fc = fcFirstFeature
				continue
			}
			vend, err := s.valueAt(0)
			if err != nil {
				return s.fcError(0, err)
			}
			raw := s.buf[s.pos : s.pos+vend]
			s.pos += vend
			s.fc = fcAfterMember
			if s.fcFeatures {
				r := Record{File: s.name, Index: s.index, Raw: raw,
					Err: "FeatureCollection features must be an array, got " + clip(raw)}
				s.index++
				return r, nil
			}

		case fcAfterMember:
			switch c {
			case ',':
				s.pos++
				s.fc = fcMember
			case '}':
				s.pos++
				s.fc = fcTrailing
			default:
				return s.fcError(0, s.unexpectedAt(0, "FeatureCollection (want ',' or '}')"))
			}

		case fcFirstFeature, fcAfterFeature, fcNextFeature:
			if c == ']' && s.fc != fcNextFeature {
				s.pos++
				s.fc = fcAfterMember
				continue
			}
			if s.fc == fcAfterFeature {
				if c != ',' {
					return s.fcError(0, s.unexpectedAt(0, "FeatureCollection features (want ',' or ']')"))
				}
				s.pos++
				s.fc = fcNextFeature
				continue
			}
			end, err := s.valueAt(0)
			if err != nil {
				return s.fcError(0, err)
			}
			r := Record{File: s.name, Index: s.index, Raw: s.buf[s.pos : s.pos+end]}
			s.pos += end
			s.index++
			s.fc = fcAfterFeature
			return r, nil

		case fcTrailing:
			if !ok {
				s.fc = fcDone
				continue
			}
			// Keep the start of the text, read the rest to its end.
			s.tail = append(s.tail[:0], s.buf[s.pos:s.end][:min(s.end-s.pos, keepRaw)]...)
			s.pos = s.end
			for len(s.tail) < keepRaw && s.more() {
				s.tail = append(s.tail, s.buf[s.pos:s.end][:min(s.end-s.pos, keepRaw-len(s.tail))]...)
				s.pos = s.end
			}
			for s.more() {
				s.pos = s.end
			}
			s.fc = fcDone
			return Record{File: s.name, Index: s.index, Raw: bytes.TrimRight(s.tail, " \t\r\n"),
				Err: "text after the FeatureCollection"}, nil
		}
	}
}

// fcEnd handles the end of input inside a FeatureCollection.
func (s *Source) fcEnd(off int) (Record, error) {
	if s.err != nil {
		s.fc = fcDone
		return Record{}, fmt.Errorf("read %s: %w", s.name, s.err)
	}
	return s.fcError(off, &syntaxError{msg: "unexpected end of input in FeatureCollection", off: off, eof: true})
}

// unexpectedAt describes the unexpected byte at offset off.
func (s *Source) unexpectedAt(off int, what string) *syntaxError {
	sc := scanner{b: s.buf[s.pos:s.end], i: off}
	return sc.unexpected(what)
}

// fcError returns the record that a syntax error in a FeatureCollection
// makes, and ends the file: the text from off to just past the error.
func (s *Source) fcError(off int, err *syntaxError) (Record, error) {
	if err.eof && s.err != nil {
		return s.fcEnd(off)
	}
	stop := min(max(err.off+1, off), s.end-s.pos)
	raw := s.buf[s.pos+off : s.pos+stop]
	msg := "invalid JSON: " + err.msg
	switch {
	case err.long:
		msg = err.msg
	case !err.eof:
		msg += " at offset " + strconv.Itoa(err.off-off)
	}
	r := Record{File: s.name, Index: s.index, Raw: raw, Err: msg}
	s.fc = fcDone
	s.pos = s.end
	return r, nil
}
