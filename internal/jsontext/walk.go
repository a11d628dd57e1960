package jsontext

import (
	"unicode/utf8"
)

// IsSpace tells whether c is JSON white space.
func IsSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// SkipSpace returns the index of the first byte at or after i that is not
// JSON white space (len(b) if none is).
func SkipSpace(b []byte, i int) int {
	for i < len(b) && IsSpace(b[i]) {
		i++
	}
	return i
}

// SkipString returns the index just past the string whose opening quote
// is b[i], or -1 if it does not end.
func SkipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// SkipValue returns the index just past the value that starts at b[i] (no
// white space before it), or -1 where it cannot be found. It checks what
// finding the end takes — strings end, brackets balance — and trusts the
// rest of the syntax (commas, colons, numbers, which bracket closes
// which), which the text's checker or writer vouches for. A number or
// literal is the bytes up to the next delimiter. Nested arrays and
// objects are walked by counting brackets, never by recursion.
func SkipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return SkipString(b, i)
	case '{', '[':
		return skipNested(b, i)
	}
	return skipScalar(b, i)
}

// skipScalar moves past a number or a literal.
func skipScalar(b []byte, i int) int {
	j := i
	for j < len(b) {
		switch b[j] {
		case ',', '}', ']', ':', '"', '{', '[', ' ', '\t', '\n', '\r':
			if j == i {
				return -1
			}
			return j
		}
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// skipNested moves past the array or object at b[i].
func skipNested(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"': // to its closing quote
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return i + 1
			}
		}
	}
	return -1
}

// Member is one member of an object in a JSON text: the bounds of its key,
// quotes included, and of its value.
type Member struct {
	KeyA, KeyB int
	ValA, ValB int
}

// Key is the member's key as it is written, quotes and escapes included.
func (m Member) Key(b []byte) []byte { return b[m.KeyA:m.KeyB] }

// Value is the member's value as it is written.
func (m Member) Value(b []byte) []byte { return b[m.ValA:m.ValB] }

// KeyIs tells whether the member's key is name, escapes decoded.
func (m Member) KeyIs(b []byte, name string) bool { return KeyIs(b[m.KeyA:m.KeyB], name) }

// KeyIs tells whether the JSON string key (quotes included) is name,
// escapes decoded.
func KeyIs(key []byte, name string) bool {
	if len(key) < 2 {
		return false
	}
	k := key[1 : len(key)-1]
	for _, c := range k {
		if c == '\\' {
			var buf [64]byte
			return string(Unescape(buf[:0], k)) == name
		}
	}
	return string(k) == name
}

// Members calls f with each member of the object whose opening brace is
// b[i], in order, and returns the index just past its closing brace; -1
// where the text is not JSON (f has then been called for the members
// before that point).
func Members(b []byte, i int, f func(m Member)) int {
	if i >= len(b) || b[i] != '{' {
		return -1
	}
	i = SkipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return -1
		}
		var m Member
		m.KeyA = i
		if m.KeyB = SkipString(b, i); m.KeyB < 0 {
			return -1
		}
		i = SkipSpace(b, m.KeyB)
		if i >= len(b) || b[i] != ':' {
			return -1
		}
		m.ValA = SkipSpace(b, i+1)
		if m.ValB = SkipValue(b, m.ValA); m.ValB < 0 {
			return -1
		}
		f(m)
		var end bool
		if i, end = next(b, m.ValB, '}'); end {
			return i
		}
	}
}

// Elements calls f with the bounds of each element of the array whose
// opening bracket is b[i], in order, and returns the index just past its
// closing bracket; -1 where the text is not JSON.
func Elements(b []byte, i int, f func(a, z int)) int {
	if i >= len(b) || b[i] != '[' {
		return -1
	}
	i = SkipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1
	}
	for {
		z := SkipValue(b, i)
		if z < 0 {
			return -1
		}
		f(i, z)
		var end bool
		if i, end = next(b, z, ']'); end {
			return i
		}
	}
}

// next moves from the end of a member or element at b[i] past the comma
// to the next one, or past closer to the end of the object or array (end
// true, i past closer, or -1 where the text is not JSON).
func next(b []byte, i int, closer byte) (int, bool) {
	if i = SkipSpace(b, i); i >= len(b) {
		return -1, true
	}
	switch b[i] {
	case ',':
		return SkipSpace(b, i+1), false
	case closer:
		return i + 1, true
	}
	return -1, true
}

// Unescape appends the content of a JSON string (without its quotes) to
// dst with its escapes decoded. A lone surrogate escape becomes U+FFFD, as
// do escapes that are not JSON's.
func Unescape(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		c := b[i]
		if c != '\\' {
			j := i + 1
			for j < len(b) && b[j] != '\\' {
				j++
			}
			dst = append(dst, b[i:j]...)
			i = j
			continue
		}
		if i+1 >= len(b) {
			return utf8.AppendRune(dst, utf8.RuneError)
		}
		switch b[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := Hex4(b, i+2)
			if !ok {
				dst = utf8.AppendRune(dst, utf8.RuneError)
				i += 2
				continue
			}
			i += 6
			if r >= 0xD800 && r < 0xDC00 && i+5 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
				if lo, ok := Hex4(b, i+2); ok && lo >= 0xDC00 && lo < 0xE000 {
					r = (r-0xD800)<<10 | (lo - 0xDC00) + 0x10000
					i += 6
				}
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // " \ /
			dst = append(dst, b[i+1])
		}
		i += 2
	}
	return dst
}

// Hex4 reads the four hex digits of a \u escape at b[i:i+4].
func Hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// Clip returns b for a message, cut to about 64 bytes on a character
// boundary ("…" marks the cut).
func Clip(b []byte) string {
	const max = 64
	if len(b) <= max {
		return string(b)
	}
	n := max
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return string(b[:n]) + "…"
}

// Get returns the value of the member key of the object obj (the last, if
// the key is repeated, as feed's decoder takes it), or nil if obj is no
// object or has no such member.
func Get(obj []byte, key string) []byte {
	var v []byte
	Members(obj, 0, func(m Member) {
		if m.KeyIs(obj, key) {
			v = m.Value(obj)
		}
	})
	return v
}

// Values returns the elements of the array a, nil if a is no array.
func Values(a []byte) [][]byte {
	var out [][]byte
	Elements(a, 0, func(x, z int) { out = append(out, a[x:z]) })
	return out
}

// String returns the content of the string v, escapes decoded; false if
// v is no string.
func String(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	c := v[1 : len(v)-1]
	for _, b := range c {
		if b == '\\' {
			return string(Unescape(nil, c)), true
		}
	}
	return string(c), true
}
