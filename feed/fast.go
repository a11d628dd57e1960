package feed

import (
	"encoding/binary"
	"math/bits"
)

// parseFast finds the values of d.f as parse does, for records in the
// common form: strings of printable ASCII without escapes, numbers
// without exponents, nesting no deeper than fastDepth. Of any other record,
// valid or not, it says false, having found nothing reliable, and parse
// reads it: what parseFast accepts, parse accepts alike (a test holds
// them to it). It saves the scanner's general cases, the calls and the
// stores of its position, on each of a record's few dozen tokens.
func (d *Decoder) parseFast(b []byte) bool {
	d.f = fields{}
	i := fastWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return false
	}
	i, ok := d.fastObject(b, i, objTop)
	if !ok {
		return false
	}
	return fastWS(b, i) == len(b)
}

// fastDepth bounds the nesting parseFast reads.
const fastDepth = 32

// fastWS skips white space from b[i].
func fastWS(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// fastStr returns the index just past the string at b[i] == '"', and
// false if it holds a byte that needs more than a look (a backslash, a
// control character, a byte over 0x7F) or is not closed.
func fastStr(b []byte, i int) (int, bool) {
	i++
	for ; i+8 <= len(b); i += 8 {
		// As in scanner.str: the first byte flagged is the first that
		// needs a look.
		x := binary.LittleEndian.Uint64(b[i:])
		q, bs := x^(swarOnes*'"'), x^(swarOnes*'\\')
		if m := (x | (x - swarOnes*0x20) | (q - swarOnes) | (bs - swarOnes)) & swarHigh; m != 0 {
			i += bits.TrailingZeros64(m) >> 3
			return i + 1, b[i] == '"'
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' {
			return i + 1, true
		} else if !strPlain[c] {
			return 0, false
		}
	}
	return 0, false
}

// fastObject reads the object at b[i] == '{', recording the members that
// fields names, and returns the index just past it.
//
// It and fastValue read a key and a separator with the same few lines
// each: the Go compiler inlines no function that reads them (fastStr
// loops), and a call for each of a record's dozen members costs 4 % of
// Decode for a key, 13 % with the separator (BenchmarkDecodeGenerated).
func (d *Decoder) fastObject(b []byte, i, which int) (int, bool) {
	i = fastWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	depth := which + 1
	if which == objProperties {
		depth = 2
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, false
		}
		ke, ok := fastStr(b, i)
		if !ok {
			return 0, false
		}
		key := b[i+1 : ke-1]
		i = fastWS(b, ke)
		if i >= len(b) || b[i] != ':' {
			return 0, false
		}
		i = fastWS(b, i+1)
		if i >= len(b) {
			return 0, false
		}
		sp, sub := d.member(which, key)
		start := i
		switch c := b[i]; {
		case c == '{' && sub >= 0:
			i, ok = d.fastObject(b, i, sub)
		case c == '"':
			i, ok = fastStr(b, i)
		default:
			i, ok = fastValue(b, i, depth)
		}
		if !ok {
			return 0, false
		}
		if sp != nil {
			*sp = span{start, i, false}
		}
		i = fastWS(b, i)
		if i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case ',':
			i = fastWS(b, i+1)
		case '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// fastValue reads the value at b[i], an element at nesting depth, and
// returns the index just past it.
func fastValue(b []byte, i, depth int) (int, bool) {
	switch c := b[i]; c {
	case '"':
		return fastStr(b, i)
	case '{', '[':
		if depth >= fastDepth {
			return 0, false
		}
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = fastWS(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1, true
		}
		for {
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return 0, false
				}
				var ok bool
				if i, ok = fastStr(b, i); !ok {
					return 0, false
				}
				i = fastWS(b, i)
				if i >= len(b) || b[i] != ':' {
					return 0, false
				}
				i = fastWS(b, i+1)
			}
			if i >= len(b) {
				return 0, false
			}
			var ok bool
			if i, ok = fastValue(b, i, depth+1); !ok {
				return 0, false
			}
			i = fastWS(b, i)
			if i >= len(b) {
				return 0, false
			}
			switch b[i] {
			case ',':
				i = fastWS(b, i+1)
			case closer:
				return i + 1, true
			default:
				return 0, false
			}
		}
	case 't':
		return fastLiteral(b, i, "true")
	case 'f':
		return fastLiteral(b, i, "false")
	case 'n':
		return fastLiteral(b, i, "null")
	}
	return fastNum(b, i)
}

func fastLiteral(b []byte, i int, lit string) (int, bool) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return 0, false
	}
	return i + len(lit), true
}

// fastNum reads a number without exponent (RFC 8259 grammar otherwise): a
// number of over 300 digits, which may be too large for a double, is left
// to the scanner with those that have an exponent.
func fastNum(b []byte, i int) (int, bool) {
	start := i
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return 0, false
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		i++
		i = digitsEnd(b, i)
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		d := i
		i = digitsEnd(b, i)
		if i == d {
			return 0, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') || i-start > 300 {
		return 0, false
	}
	return i, true
}

// fastFloat reads the number at b[i] as parseFloatExact does, as it moves
// past it: its end, its value, and false for a number parseFloatExact
// cannot read (an exponent, over 15 digits) or no number.
func fastFloat(b []byte, i int) (int, float64, bool) {
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	if i >= len(b) {
		return 0, 0, false
	}
	var mant uint64
	d := i
	switch c := b[i]; {
	case c == '0':
		i++
	case c >= '1' && c <= '9':
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			mant = mant*10 + uint64(b[i]-'0')
			i++
		}
	default:
		return 0, 0, false
	}
	nd, frac := i-d, 0
	if i < len(b) && b[i] == '.' {
		i++
		f := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			mant = mant*10 + uint64(b[i]-'0')
			i++
		}
		if frac = i - f; frac == 0 {
			return 0, 0, false
		}
		nd += frac
	}
	if nd > 15 || i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		return 0, 0, false
	}
	x := float64(mant) / pow10[frac]
	if neg {
		x = -x
	}
	return i, x, true
}
