package feed

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/linewatch/linewatch/internal/jsontext"
)

// The splitter's check of values nested deeper than maxDepth, which does
// not recurse, says what the recursive check says of shallower ones:
// where a value ends, or the same error at the same offset.
func TestNestedMatchesRecursive(t *testing.T) {
	for _, in := range []string{
		`{}`, `[]`, `[1,2,[3,{"a":[]}]]`, `{"a" : { "b" : [ true , false , null ] } , "c":"d\"}"}`,
		`{"a":1} trailing`, `[[[]]]]`,
		`[1,]`, `{"a":1,}`, `{"a" 1}`, `{1:2}`, `[1 2]`, `{"a":1 "b":2}`, `[`, `{`, `{"a"`, `{"a":`, `[1,`,
		`[{"a":[1,2}]`, `{"a":[1,2]]`, `[NaN]`, `["\x01"]`, `[tru]`, `[-]`, `{"a":"unterminated]`,
	} {
		rec := scanner{b: []byte(in), lax: true}
		recErr := rec.value(0)
		nest := scanner{b: []byte(in), lax: true}
		nestErr := nest.nested()
		if fmt.Sprint(recErr) != fmt.Sprint(nestErr) || rec.i != nest.i {
			t.Errorf("%s:\n recursive %v at %d\n nested    %v at %d", in, recErr, rec.i, nestErr, nest.i)
		}
	}
}

// TestStrAsByteByByte: the string scanner, which looks at eight bytes at a
// time, ends a string where a byte-by-byte reading of RFC 8259 and I-JSON
// does, or fails where it fails, for strings made of the bytes that need
// a look at every place of an eight-byte word.
func TestStrAsByteByByte(t *testing.T) {
	alphabet := []string{"a", `"`, `\`, `\"`, `\\`, `\u00e9`, `\ud800`, "\x1f", "\x00", "\x7f", "\x80", "é", "\xff", " ", "~", "!", "#", "]"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		var b strings.Builder
		b.WriteByte('"')
		for range r.IntN(20) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		if r.IntN(4) > 0 {
			b.WriteByte('"')
		}
		in := b.String()
		for _, lax := range []bool{false, true} {
			s := scanner{b: []byte(in), lax: lax}
			_, stop, esc, err := s.str()
			wantStop, wantEsc, wantOK := strByteByByte([]byte(in), lax)
			if (err == nil) != wantOK || err == nil && (stop != wantStop || esc != wantEsc) {
				t.Fatalf("%q (lax %v): stop %d esc %v err %v; byte by byte: stop %d esc %v ok %v", in, lax, stop, esc, err, wantStop, wantEsc, wantOK)
			}
		}
	}
}

// strByteByByte reads the string at b[0] == '"' one byte at a time.
func strByteByByte(b []byte, lax bool) (stop int, esc, ok bool) {
	for i := 1; i < len(b); {
		c := b[i]
		switch {
		case c == '"':
			return i, esc, true
		case c < 0x20:
			return 0, false, false
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				return 0, false, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				r, ok := jsontext.Hex4(b, i+2)
				if !ok {
					return 0, false, false
				}
				i += 6
				if !lax && r >= 0xD800 && r < 0xE000 {
					lo, ok := jsontext.Hex4(b, i+2)
					if r >= 0xDC00 || i+1 >= len(b) || b[i] != '\\' || b[i+1] != 'u' || !ok || lo < 0xDC00 || lo >= 0xE000 {
						return 0, false, false
					}
					i += 6
				}
			default:
				return 0, false, false
			}
		case c < 0x80 || lax:
			i++
		default:
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 {
				return 0, false, false
			}
			i += n
		}
	}
	return 0, false, false
}
