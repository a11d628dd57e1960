package importer

import (
	"math"
	"strconv"
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
