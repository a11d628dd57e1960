package feed

import (
	"errors"
	"github.com/linewatch/linewatch/internal/jsontext"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Canonical returns the RFC 8785 (JSON Canonicalization Scheme) form of the
// JSON text raw: no white space, object members sorted by their keys' UTF-16
// code units, strings and numbers written the one way ECMAScript writes them.
//
// raw must be I-JSON: valid UTF-8, no lone surrogate escapes, every number
// representable as a double (NaN and Infinity are not JSON). Where an object
// repeats a key, the last member wins, as it does in Decode.
func Canonical(raw []byte) ([]byte, error) {
	return AppendCanonical(nil, raw)
}

// AppendCanonical appends the RFC 8785 form of raw to dst (see Canonical).
func AppendCanonical(dst, raw []byte) ([]byte, error) {
	var c canonicalizer
	return c.append(dst, raw)
}

// canonicalizer holds the scratch space of Canonical; its zero value is
// ready, and reusing one saves allocations.
type canonicalizer struct {
	mem  []member // members of the objects being written, innermost last
	keys []byte   // their decoded keys
}

type member struct {
	k0, k1 int // key: keys[k0:k1]
	v0, v1 int // value: the raw text [v0:v1]
}

func (c *canonicalizer) append(dst, raw []byte) ([]byte, error) {
	if err := CheckJSON(raw); err != nil {
		return dst, err
	}
	dst, _ = c.valueAt(dst, raw, jsontext.SkipSpace(raw, 0))
	return dst, nil
}

// CheckJSON returns why raw is not one JSON text of I-JSON (RFC 7493) —
// valid UTF-8, no lone surrogate escapes, every number representable as a
// double, nesting at most 256 deep — or nil if it is one.
func CheckJSON(raw []byte) error {
	s := scanner{b: raw}
	s.ws()
	if err := s.value(0); err != nil {
		return errors.New("invalid JSON: " + err.Error())
	}
	s.ws()
	if s.i != len(raw) {
		return errors.New("invalid JSON: " + s.unexpected("text after the value").Error())
	}
	return nil
}

// walker moves through JSON text already checked by a scanner.
type walker struct {
	b []byte
	i int
}

func (w *walker) ws() { w.i = jsontext.SkipSpace(w.b, w.i) }

// skip moves past the value at w.i.
func (w *walker) skip() { w.i = jsontext.SkipValue(w.b, w.i) }

// value appends the canonical form of the value at w.i and moves past it.
func (c *canonicalizer) value(dst []byte, w *walker) []byte {
	dst, w.i = c.valueAt(dst, w.b, w.i)
	return dst
}

// valueAt appends the canonical form of the value at b[i], checked by a
// scanner (which bounds its nesting, and so this recursion), and returns
// the index just past it.
func (c *canonicalizer) valueAt(dst, b []byte, i int) ([]byte, int) {
	switch b[i] {
	case '{':
		return c.object(dst, b, i)
	case '[':
		dst = append(dst, '[')
		i = jsontext.SkipSpace(b, i+1)
		for n := 0; b[i] != ']'; n++ {
			if n > 0 {
				dst = append(dst, ',')
			}
			dst, i = c.valueAt(dst, b, i)
			if i = jsontext.SkipSpace(b, i); b[i] == ',' {
				i = jsontext.SkipSpace(b, i+1)
			}
		}
		return append(dst, ']'), i + 1
	case '"':
		z := jsontext.SkipString(b, i)
		k0 := len(c.keys)
		c.keys = unescape(c.keys, b[i+1:z-1])
		dst = jsontext.AppendString(dst, c.keys[k0:])
		c.keys = c.keys[:k0]
		return dst, z
	case 't', 'n':
		return append(dst, b[i:i+4]...), i + 4
	case 'f':
		return append(dst, "false"...), i + 5
	default:
		z := jsontext.SkipValue(b, i)
		if num := b[i:z]; isES6(num) {
			return append(dst, num...), z
		}
		f, _ := parseFloat(b[i:z])
		return appendES6(dst, f), z
	}
}

// object appends the canonical form of the object at b[a] and returns the
// index just past it.
func (c *canonicalizer) object(dst, b []byte, a int) ([]byte, int) {
	base, kbase := len(c.mem), len(c.keys)
	end := jsontext.Members(b, a, func(m jsontext.Member) {
		k0 := len(c.keys)
		c.keys = unescape(c.keys, b[m.KeyA+1:m.KeyB-1])
		c.mem = append(c.mem, member{k0, len(c.keys), m.ValA, m.ValB})
	})
	c.sortMembers(base)
	dst = append(dst, '{')
	first := true
	for k := base; k < len(c.mem); k++ {
		m := c.mem[k]
		key := c.keys[m.k0:m.k1]
		if k+1 < len(c.mem) {
			if n := c.mem[k+1]; string(c.keys[n.k0:n.k1]) == string(key) {
				continue // a repeated key: the last member wins
			}
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = jsontext.AppendString(dst, key)
		dst = append(dst, ':')
		dst, _ = c.valueAt(dst, b, m.v0)
	}
	c.mem = c.mem[:base]
	c.keys = c.keys[:kbase]
	return append(dst, '}'), end
}

// sortMembers sorts c.mem[base:] by key, stably (so that the last of
// repeated keys stays last).
func (c *canonicalizer) sortMembers(base int) {
	ms := c.mem[base:]
	if len(ms) > 16 {
		slices.SortStableFunc(ms, func(x, y member) int {
			return compareUTF16(c.keys[x.k0:x.k1], c.keys[y.k0:y.k1])
		})
		return
	}
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && compareUTF16(c.keys[ms[j].k0:ms[j].k1], c.keys[ms[j-1].k0:ms[j-1].k1]) < 0; j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

// compareUTF16 compares two UTF-8 strings by their UTF-16 code units, as
// RFC 8785 sorts keys.
func compareUTF16(a, b []byte) int {
	for len(a) > 0 && len(b) > 0 {
		if a[0] < utf8.RuneSelf && b[0] < utf8.RuneSelf {
			if a[0] != b[0] {
				return int(a[0]) - int(b[0])
			}
			a, b = a[1:], b[1:]
			continue
		}
		ra, na := utf8.DecodeRune(a)
		rb, nb := utf8.DecodeRune(b)
		if ra != rb {
			ua, ub := utf16First(ra), utf16First(rb)
			if ua != ub {
				return int(ua) - int(ub)
			}
			return int(ra) - int(rb) // same high surrogate: the low ones order as the runes
		}
		a, b = a[na:], b[nb:]
	}
	return len(a) - len(b)
}

// utf16First is the first UTF-16 code unit of r.
func utf16First(r rune) rune {
	if r < 0x10000 {
		return r
	}
	return 0xD800 + (r-0x10000)>>10
}

// isES6 tells whether the JSON number b is written as appendES6 would
// write it, so that it may be copied as it is: no exponent, no superfluous
// zero, not -0, at most 15 significant digits (so that they are the
// shortest that read back as the same double, the only ones of their
// length that do), and not below 1e-6.
func isES6(b []byte) bool {
	i := 0
	if len(b) > 0 && b[0] == '-' {
		i = 1
	}
	if i >= len(b) {
		return false
	}
	digits := 0
	if b[i] == '0' {
		i++
		if i == len(b) {
			return i == 1 // "0", not "-0"
		}
		if b[i] != '.' {
			return false
		}
		i++
		zeros := 0
		for i < len(b) && b[i] == '0' {
			zeros++
			i++
		}
		if zeros > 5 || i == len(b) {
			return false // below 1e-6, or 0.000
		}
	} else {
		if b[i] < '1' || b[i] > '9' {
			return false
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			digits++
		}
		if i == len(b) {
			return digits <= 15
		}
		if b[i] != '.' {
			return false
		}
		i++
	}
	for k := i; k < len(b); k++ {
		if b[k] < '0' || b[k] > '9' {
			return false
		}
		digits++
	}
	return digits <= 15 && b[len(b)-1] != '0' && b[len(b)-1] != '.'
}

// appendES6 appends f as ECMAScript's Number.prototype.toString writes it,
// which is RFC 8785's number form: the shortest digits that read back as f,
// in plain notation from 1e-6 up to 1e21 and in exponent notation outside.
// f must be finite.
func appendES6(dst []byte, f float64) []byte {
	if f == 0 {
		return append(dst, '0') // and -0
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		panic("feed: appendES6 of a non-finite number")
	}
	if f < 0 {
		dst = append(dst, '-')
		f = -f
	}
	var buf [32]byte
	e := strconv.AppendFloat(buf[:0], f, 'e', -1, 64) // d.ddde±xx
	p := 0
	for e[p] != 'e' {
		p++
	}
	exp := 0
	for _, c := range e[p+2:] { // after 'e' and its sign
		exp = exp*10 + int(c-'0')
	}
	if e[p+1] == '-' {
		exp = -exp
	}
	var dig [24]byte
	digits := append(dig[:0], e[0])
	if p > 1 {
		digits = append(digits, e[2:p]...)
	}
	k, n := len(digits), exp+1 // f = 0.digits × 10^n
	switch {
	case k <= n && n <= 21:
		dst = append(dst, digits...)
		for ; k < n; k++ {
			dst = append(dst, '0')
		}
	case 0 < n && n <= 21:
		dst = append(dst, digits[:n]...)
		dst = append(dst, '.')
		dst = append(dst, digits[n:]...)
	case -6 < n && n <= 0:
		dst = append(dst, '0', '.')
		for ; n < 0; n++ {
			dst = append(dst, '0')
		}
		dst = append(dst, digits...)
	default:
		dst = append(dst, digits[0])
		if k > 1 {
			dst = append(dst, '.')
			dst = append(dst, digits[1:]...)
		}
		dst = append(dst, 'e')
		if n-1 >= 0 {
			dst = append(dst, '+')
		}
		dst = strconv.AppendInt(dst, int64(n-1), 10)
	}
	return dst
}
