package importer

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Encoding is the character encoding of a CSV file.
type Encoding int

const (
	// UTF8 is the default; a file that starts with a UTF-16 byte-order
	// mark is read as UTF-16 all the same.
	UTF8 Encoding = iota
	// Latin1 is ISO 8859-1: every byte is the code point of its value.
	Latin1
	// Windows1252 is Latin-1 with printable characters (€, curly quotes,
	// dashes) in 0x80–0x9F, what spreadsheets on Windows write as "ANSI".
	Windows1252
	// UTF16 is UTF-16 with a byte-order mark (little-endian without one),
	// what spreadsheets write as "Unicode text".
	UTF16
	UTF16LE
	UTF16BE
)

// ParseEncoding reads an encoding's name: utf-8, latin-1 (iso-8859-1),
// windows-1252 (cp1252), utf-16, utf-16le, utf-16be; case and the dashes
// do not matter.
func ParseEncoding(name string) (Encoding, error) {
	n := strings.NewReplacer("-", "", "_", "", " ", "").Replace(strings.ToLower(name))
	switch n {
	case "", "utf8":
		return UTF8, nil
	case "latin1", "iso88591", "l1":
		return Latin1, nil
	case "windows1252", "cp1252", "win1252", "ansi":
		return Windows1252, nil
	case "utf16", "unicode":
		return UTF16, nil
	case "utf16le":
		return UTF16LE, nil
	case "utf16be":
		return UTF16BE, nil
	}
	return 0, fmt.Errorf("unknown encoding %q (want utf-8, latin-1, windows-1252 or utf-16)", name)
}

func (e Encoding) String() string {
	return [...]string{"utf-8", "latin-1", "windows-1252", "utf-16", "utf-16le", "utf-16be"}[e]
}

// decoder returns r decoded to UTF-8.
func decoder(r io.Reader, e Encoding) io.Reader {
	br := bufio.NewReaderSize(r, 64<<10)
	if e == UTF8 || e == UTF16 {
		if b, _ := br.Peek(2); len(b) == 2 {
			switch {
			case b[0] == 0xFF && b[1] == 0xFE:
				br.Discard(2)
				return &utf16Reader{r: br, le: true}
			case b[0] == 0xFE && b[1] == 0xFF:
				br.Discard(2)
				return &utf16Reader{r: br}
			}
		}
	}
	switch e {
	case Latin1:
		return &byteTableReader{r: br}
	case Windows1252:
		return &byteTableReader{r: br, cp1252: true}
	case UTF16, UTF16LE:
		return &utf16Reader{r: br, le: true}
	case UTF16BE:
		return &utf16Reader{r: br}
	}
	return br
}

// cp1252 holds the characters of Windows-1252 at 0x80–0x9F; the five
// bytes it leaves undefined stay the C1 controls Latin-1 has there.
var cp1252 = [32]rune{
	0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
	0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
}

// byteTableReader decodes a single-byte encoding.
type byteTableReader struct {
	r      io.Reader
	cp1252 bool
	in     []byte
	buf    []byte // backs out
	out    []byte // decoded, not yet returned
}

func (t *byteTableReader) Read(p []byte) (int, error) {
	if len(t.out) == 0 {
		if t.in == nil {
			t.in = make([]byte, 32<<10)
		}
		n, err := t.r.Read(t.in)
		t.out = t.buf[:0]
		for _, b := range t.in[:n] {
			switch {
			case b < 0x80:
				t.out = append(t.out, b)
			case t.cp1252 && b < 0xA0:
				t.out = utf8.AppendRune(t.out, cp1252[b-0x80])
			default:
				t.out = utf8.AppendRune(t.out, rune(b))
			}
		}
		t.buf = t.out[:0]
		if len(t.out) == 0 {
			return 0, err
		}
	}
	n := copy(p, t.out)
	t.out = t.out[n:]
	return n, nil
}

// utf16Reader decodes UTF-16; an unpaired surrogate becomes U+FFFD.
type utf16Reader struct {
	r   *bufio.Reader
	le  bool
	hi  rune   // a high surrogate waiting for its pair
	buf []byte // backs out
	out []byte
	err error
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	for len(u.out) == 0 {
		if u.err != nil {
			if u.hi != 0 {
				u.out = utf8.AppendRune(u.out, utf8.RuneError)
				u.hi = 0
				continue
			}
			return 0, u.err
		}
		u.out = u.buf[:0]
		for i := 0; i < 8192; i++ {
			var b [2]byte
			if _, err := io.ReadFull(u.r, b[:]); err != nil {
				if err == io.ErrUnexpectedEOF {
					u.out = utf8.AppendRune(u.out, utf8.RuneError) // an odd last byte
					err = io.EOF
				}
				u.err = err
				break
			}
			c := rune(b[0])<<8 | rune(b[1])
			if u.le {
				c = rune(b[1])<<8 | rune(b[0])
			}
			switch {
			case u.hi != 0 && utf16.IsSurrogate(c) && c >= 0xDC00:
				u.out = utf8.AppendRune(u.out, utf16.DecodeRune(u.hi, c))
				u.hi = 0
				continue
			case u.hi != 0:
				u.out = utf8.AppendRune(u.out, utf8.RuneError)
				u.hi = 0
			}
			switch {
			case c >= 0xD800 && c < 0xDC00:
				u.hi = c
			case utf16.IsSurrogate(c):
				u.out = utf8.AppendRune(u.out, utf8.RuneError)
			default:
				u.out = utf8.AppendRune(u.out, c)
			}
			if u.r.Buffered() < 2 && len(u.out) > 0 {
				break
			}
		}
		u.buf = u.out[:0]
	}
	n := copy(p, u.out)
	u.out = u.out[n:]
	return n, nil
}
