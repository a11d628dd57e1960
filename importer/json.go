package importer

import (
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// numberShape tells whether b is a decimal number, [+-]digits[.digits]
// [e[+-]digits] (digits on at least one side of the point), and whether it
// is also a JSON number as it stands. With comma, a decimal comma stands
// for the point.
func numberShape(b []byte, comma bool) (ok, isJSON bool) {
	i := 0
	isJSON = true
	if i < len(b) && (b[i] == '-' || b[i] == '+') {
		if b[i] == '+' {
			isJSON = false
		}
		i++
	}
	intStart := i
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	intDigits := i - intStart
	if intDigits > 1 && b[intStart] == '0' {
		isJSON = false
	}
	fracDigits := 0
	if i < len(b) && (b[i] == '.' || comma && b[i] == ',') {
		if b[i] == ',' {
			isJSON = false
		}
		i++
		fs := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		fracDigits = i - fs
		if fracDigits == 0 || intDigits == 0 {
			isJSON = false
		}
	}
	if intDigits == 0 && fracDigits == 0 {
		return false, false
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		es := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		if i == es {
			return false, false
		}
	}
	return i == len(b), isJSON && i == len(b)
}

// parseNumber reads a decimal number (see numberShape); it must be finite.
func parseNumber(b []byte, comma bool) (float64, bool) {
	ok, _ := numberShape(b, comma)
	if !ok {
		return 0, false
	}
	return parseShaped(b)
}

func parseShaped(b []byte) (float64, bool) {
	var tmp [64]byte
	if i := indexByte(b, ','); i >= 0 {
		if len(b) > len(tmp) {
			b = append([]byte(nil), b...)
		} else {
			b = append(tmp[:0], b...)
		}
		b[i] = '.'
	}
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), len(b)), 64)
	if err != nil && !(f == 0 && !math.IsInf(f, 0)) || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f + 0, true // -0 is 0
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// appendNumber appends the number text b, shaped as numberShape says,
// read as f: as it stands when it is a JSON number, else f's shortest
// form.
func appendNumber(dst, b []byte, f float64, isJSON bool) []byte {
	if isJSON {
		return append(dst, b...)
	}
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		return strconv.AppendFloat(dst, f, 'e', -1, 64)
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64)
}

const hexDigits = "0123456789abcdef"

// safeJSON marks the bytes that go into a JSON string as they are.
var safeJSON = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// appendString appends s, valid UTF-8, as a JSON string.
func appendString(dst, s []byte) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if safeJSON[c] {
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"':
			dst = append(dst, '\\', '"')
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
		}
		start = i + 1
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendStringLossy is appendString for text that may not be UTF-8:
// invalid bytes become U+FFFD.
func appendStringLossy(dst, s []byte) []byte {
	if utf8.Valid(s) {
		return appendString(dst, s)
	}
	var b []byte
	for len(s) > 0 {
		r, n := utf8.DecodeRune(s)
		if r == utf8.RuneError && n == 1 {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, s[:n]...)
		}
		s = s[n:]
	}
	return appendString(dst, b)
}
