package importer

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
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
	// The five bytes it leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D)
	// read as U+FFFD.
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

// decoder returns r decoded to UTF-8 by golang.org/x/text. A UTF-16
// byte-order mark wins over UTF8 and UTF16 (and is dropped); invalid
// UTF-16 (an unpaired surrogate, an odd last byte) becomes U+FFFD.
// UTF-8 is passed on as it is: the CSV reader names a field with invalid
// UTF-8 in its reason.
func decoder(r io.Reader, e Encoding) io.Reader {
	br := bufio.NewReaderSize(r, 64<<10)
	var enc encoding.Encoding
	switch e {
	case UTF8:
		if b, _ := br.Peek(2); len(b) == 2 && (b[0] == 0xFF && b[1] == 0xFE || b[0] == 0xFE && b[1] == 0xFF) {
			enc = unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM)
		}
	case Latin1:
		enc = charmap.ISO8859_1
	case Windows1252:
		enc = charmap.Windows1252
	case UTF16:
		enc = unicode.UTF16(unicode.LittleEndian, unicode.UseBOM)
	case UTF16LE:
		enc = unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)
	case UTF16BE:
		enc = unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)
	}
	if enc == nil {
		return br
	}
	return transform.NewReader(br, enc.NewDecoder())
}
