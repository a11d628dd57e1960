package feed

import (
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/linewatch/linewatch/internal/jsontext"
)

// maxDepth bounds the nesting of arrays and objects in one record. GeoJSON
// needs four levels; properties may nest a little more.
const maxDepth = 256

// syntaxError is a JSON syntax error at a byte offset of the text.
type syntaxError struct {
	msg string
	off int
	// eof is true when the text ended before the value did: a caller reading
	// a stream may fetch more bytes and try again.
	eof bool
	// long is true when a record splitter gave up on a value longer than
	// it takes.
	long bool
}

func (e *syntaxError) Error() string {
	if e.eof {
		return e.msg
	}
	return e.msg + " at offset " + strconv.Itoa(e.off)
}

const (
	swarOnes = 0x0101010101010101
	swarHigh = 0x8080808080808080
)

// strPlain marks the bytes that a string holds as they are: not the quote,
// not the backslash, not a control character, not the start of a multi-byte
// UTF-8 sequence.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanner checks JSON text (RFC 8259) and walks it. In strict mode it also
// rejects what RFC 7493 (I-JSON) forbids and linewatch cannot carry: invalid
// UTF-8, lone surrogate escapes, and numbers too large for a double. The
// record splitter uses lax mode: it only needs the syntax to find where a
// feature ends, and leaves those checks to Decode, so that one bad byte in a
// string rejects one record rather than ending a FeatureCollection.
type scanner struct {
	b   []byte
	i   int
	lax bool
}

func (s *scanner) fail(msg string) *syntaxError {
	return &syntaxError{msg: msg, off: s.i}
}

func (s *scanner) end(what string) *syntaxError {
	return &syntaxError{msg: "unexpected end of input in " + what, off: s.i, eof: true}
}

// ws skips white space.
func (s *scanner) ws() {
	if i := s.i; i < len(s.b) && s.b[i] > ' ' {
		return // the common case in compact JSON
	}
	s.wsSlow()
}

func (s *scanner) wsSlow() {
	b, i := s.b, s.i
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	s.i = i
}

func (s *scanner) unexpected(what string) *syntaxError {
	if s.i >= len(s.b) {
		return s.end(what)
	}
	c := s.b[s.i]
	switch {
	case c == 'N' || c == 'I' || (c == '-' && s.i+1 < len(s.b) && s.b[s.i+1] == 'I'):
		return s.fail("NaN and Infinity are not JSON numbers")
	case c < 0x20 || c >= 0x7f:
		return s.fail("unexpected byte 0x" + strconv.FormatUint(uint64(c), 16) + " in " + what)
	}
	return s.fail("unexpected character " + strconv.QuoteRune(rune(c)) + " in " + what)
}

// value checks the value at s.i and moves past it.
func (s *scanner) value(depth int) error {
	if s.i >= len(s.b) {
		return s.end("value")
	}
	switch c := s.b[s.i]; c {
	case '{':
		return s.object(depth + 1)
	case '[':
		return s.array(depth + 1)
	case '"':
		_, _, _, err := s.str()
		return err
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	default:
		if c == '-' || c >= '0' && c <= '9' {
			return s.num()
		}
		return s.unexpected("value")
	}
}

func (s *scanner) literal(lit string) error {
	for k := 0; k < len(lit); k++ {
		if s.i+k >= len(s.b) {
			s.i += k
			return s.end("literal")
		}
		if s.b[s.i+k] != lit[k] {
			s.i += k
			return s.unexpected("literal " + lit)
		}
	}
	s.i += len(lit)
	return nil
}

func (s *scanner) object(depth int) error {
	if depth > maxDepth {
		if s.lax {
			return s.nested()
		}
		return s.fail("nesting too deep")
	}
	s.i++ // {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return s.unexpected("object (want a key)")
		}
		if _, _, _, err := s.str(); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return s.unexpected("object (want ':' after a key)")
		}
		s.i++
		s.ws()
		if err := s.value(depth); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.end("object")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
		case '}':
			s.i++
			return nil
		default:
			return s.unexpected("object (want ',' or '}')")
		}
	}
}

func (s *scanner) array(depth int) error {
	if depth > maxDepth {
		if s.lax {
			return s.nested()
		}
		return s.fail("nesting too deep")
	}
	s.i++ // [
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for {
		if err := s.value(depth); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return s.end("array")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
		case ']':
			s.i++
			return nil
		default:
			return s.unexpected("array (want ',' or ']')")
		}
	}
}

// nested checks the syntax of the object or array at s.i as object and
// array do, at any depth, without recursion: the record splitter needs to
// find where a feature nested deeper than maxDepth ends, so that it is
// one record (which Decode rejects) and the features after it are read.
// Its stack holds one byte per level, within the record's length.
func (s *scanner) nested() error {
	var stack []byte // the open brackets, '{' or '['
	for {
		// At a value.
		s.ws()
		if s.i >= len(s.b) {
			return s.end("value")
		}
		switch c := s.b[s.i]; c {
		case '{', '[':
			s.i++
			s.ws()
			closer := byte('}')
			if c == '[' {
				closer = ']'
			}
			if s.i >= len(s.b) || s.b[s.i] != closer {
				stack = append(stack, c)
				if c == '{' {
					if err := s.key(); err != nil {
						return err
					}
				}
				continue
			}
			s.i++
		default:
			if err := s.value(0); err != nil { // a scalar
				return err
			}
		}
		// After a value: close what it ends, up to the next one.
		for {
			if len(stack) == 0 {
				return nil
			}
			top := stack[len(stack)-1]
			what, closer := "object", byte('}')
			if top == '[' {
				what, closer = "array", ']'
			}
			s.ws()
			if s.i >= len(s.b) {
				return s.end(what)
			}
			if c := s.b[s.i]; c == closer {
				s.i++
				stack = stack[:len(stack)-1]
				continue
			} else if c != ',' {
				return s.unexpected(what + " (want ',' or '" + string(closer) + "')")
			}
			s.i++
			s.ws()
			if top == '{' {
				if err := s.key(); err != nil {
					return err
				}
			}
			break
		}
	}
}

// key checks an object's key and the colon after it, and moves past them
// and the white space that follows.
func (s *scanner) key() error {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return s.unexpected("object (want a key)")
	}
	if _, _, _, err := s.str(); err != nil {
		return err
	}
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != ':' {
		return s.unexpected("object (want ':' after a key)")
	}
	s.i++
	return nil
}

// str checks the string at s.i (which is '"') and moves past it. It returns
// the bounds of its content, without quotes, and whether it has escapes.
func (s *scanner) str() (start, stop int, esc bool, err error) {
	b := s.b
	i := s.i + 1
	start = i
	for {
		// Eight bytes at a time while none needs a look: a quote, a
		// backslash, a control character or a non-ASCII byte.
		found := false
		for i+8 <= len(b) {
			// A byte's high bit is set in m when the byte is a quote
			// ((q-1) wraps), a backslash ((bs-1) wraps), below 0x20
			// (x-0x20 wraps) or over 0x7F (x's own high bit). A wrap
			// borrows from the byte above, so bytes above the first one
			// flagged may be flagged wrongly, never bytes below: the first
			// is the first that needs a look.
			x := binary.LittleEndian.Uint64(b[i:])
			q, bs := x^(swarOnes*'"'), x^(swarOnes*'\\')
			m := (x | (x - swarOnes*0x20) | (q - swarOnes) | (bs - swarOnes)) & swarHigh
			if m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				if b[i] == '"' {
					s.i = i + 1
					return start, i, esc, nil
				}
				found = true
				break
			}
			i += 8
		}
		if !found {
			for i < len(b) && strPlain[b[i]] {
				i++
			}
		}
		if i >= len(b) {
			s.i = i
			return 0, 0, false, s.end("string")
		}
		switch c := b[i]; {
		case c == '"':
			s.i = i + 1
			return start, i, esc, nil
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				s.i = i + 1
				return 0, 0, false, s.end("string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				r, ok := jsontext.Hex4(b, i+2)
				if !ok {
					s.i = i
					if i+6 > len(b) {
						return 0, 0, false, s.end("string")
					}
					return 0, 0, false, s.fail("invalid \\u escape in string")
				}
				i += 6
				if !s.lax && r >= 0xD800 && r < 0xE000 {
					lo, ok := rune(0), false
					if r < 0xDC00 && i+1 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
						lo, ok = jsontext.Hex4(b, i+2)
						ok = ok && lo >= 0xDC00 && lo < 0xE000
					}
					if !ok {
						s.i = i - 6
						return 0, 0, false, s.fail("lone surrogate \\u" + strconv.FormatInt(int64(r), 16) + " in string")
					}
					i += 6
				}
			default:
				s.i = i
				return 0, 0, false, s.fail("invalid escape in string")
			}
		case c < 0x20:
			s.i = i
			return 0, 0, false, s.fail("control character in string")
		default: // a byte >= 0x80
			if s.lax {
				i++
				continue
			}
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 {
				s.i = i
				if !utf8.FullRune(b[i:]) {
					return 0, 0, false, s.end("string")
				}
				return 0, 0, false, s.fail("invalid UTF-8 in string")
			}
			i += n
		}
	}
}

// digitsEnd is the index of the first byte from b[i] on that is not a
// decimal digit.
func digitsEnd(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// num checks the number at s.i and moves past it.
func (s *scanner) num() error {
	b := s.b
	start := s.i
	i := s.i
	if b[i] == '-' {
		i++
	}
	if i >= len(b) {
		s.i = i
		return s.end("number")
	}
	switch c := b[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		i++
		i = digitsEnd(b, i)
	default:
		s.i = i
		if c == 'I' {
			s.i = start // -Infinity
		}
		return s.unexpected("number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		i = digitsEnd(b, i)
		if i == d {
			s.i = i
			return s.unexpected("number (want a digit after '.')")
		}
	}
	exp := false
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		exp = true
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		i = digitsEnd(b, i)
		if i == d {
			s.i = i
			return s.unexpected("number (want a digit in the exponent)")
		}
	}
	s.i = i
	// Without an exponent, only a number of over 308 digits overflows.
	if !s.lax && (exp || i-start > 300) {
		if _, ok := parseFloat(b[start:i]); !ok {
			s.i = start
			return s.fail("number too large for a double: " + clip(b[start:i]))
		}
	}
	return nil
}

// parseFloat parses a JSON number already checked by the scanner; ok is
// false when it is too large for a double (a number too small for one is 0,
// as IEEE 754 rounds it).
func parseFloat(b []byte) (float64, bool) {
	if f, ok := parseFloatExact(b); ok {
		return f, true
	}
	f, _ := strconv.ParseFloat(bstr(b), 64)
	return f, !math.IsInf(f, 0)
}

var pow10 = [...]float64{1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// parseFloatExact parses the common numbers, of at most 15 digits and no
// exponent, exactly: the digits make an integer below 2^53 and the divisor
// a power of ten below 2^53, both exact doubles, and IEEE 754 division
// rounds their quotient correctly. ok is false for the others.
func parseFloatExact(b []byte) (float64, bool) {
	i, neg := 0, false
	if len(b) > 0 && b[0] == '-' {
		i, neg = 1, true
	}
	var mant uint64
	nd, frac, dot := 0, 0, false
	for ; i < len(b); i++ {
		c := b[i]
		switch {
		case c >= '0' && c <= '9':
			mant = mant*10 + uint64(c-'0')
			nd++
			if dot {
				frac++
			}
		case c == '.':
			dot = true
		default:
			return 0, false
		}
	}
	if nd == 0 || nd > 15 {
		return 0, false
	}
	f := float64(mant) / pow10[frac]
	if neg {
		f = -f
	}
	return f, true
}

// bstr views b as a string without copying; the string must not outlive b
// nor be kept while b changes.
func bstr(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// clip and unescape are jsontext's Clip and Unescape (the text given to
// unescape is already checked by the scanner).
func clip(b []byte) string { return jsontext.Clip(b) }

func unescape(dst, b []byte) []byte { return jsontext.Unescape(dst, b) }
