// Package num rounds and writes numbers and times the way linewatch's output
// does (SPEC §9).
//
// Rounding to N decimals works on a number's shortest decimal form — the
// digits strconv.FormatFloat(x, 'f', -1, 64) prints — and rounds half away
// from zero, so 2.675 rounds to 2.68 at 2 decimals even though the double
// nearest 2.675 lies slightly below it, and 0.0000005 rounds to 0.000001 at 6.
// The result is written in its shortest form: trailing zeros and a trailing
// point are dropped ("30", "48.1") and a zero is never negative ("0").
//
// Everything here is exact decimal arithmetic on digit strings: no x*10^N, no
// big.Float. AppendFormat does not allocate.
//
// Times, durations (90m, 7d) and sizes (16MiB) are read and written here
// too, each the one way linewatch's files, flags and output spell them.
package num

import (
	"math"
	"strconv"
)

// maxDigits is the room needed for the shortest digits of any float64
// (at most 17) plus carry; bufLen the room for its 'e' form.
const (
	maxDigits = 24
	bufLen    = 32
)

// decimal is a finite non-zero number as its shortest decimal digits:
// value = ±d[0].d[1]…d[n-1] × 10^exp, with d[0] != '0' and d[n-1] != '0'.
// n == 0 means zero.
type decimal struct {
	d   [maxDigits]byte
	n   int
	exp int
	neg bool
}

// set loads the shortest decimal form of a finite x into dec.
func (dec *decimal) set(x float64) {
	dec.n, dec.exp, dec.neg = 0, 0, false
	if x == 0 {
		return
	}
	var buf [bufLen]byte
	b := strconv.AppendFloat(buf[:0], x, 'e', -1, 64) // [-]d[.ddd]e±dd
	i := 0
	if b[0] == '-' {
		dec.neg = true
		i++
	}
	for ; i < len(b) && b[i] != 'e'; i++ {
		if b[i] != '.' {
			dec.d[dec.n] = b[i]
			dec.n++
		}
	}
	i++ // 'e'
	expNeg := b[i] == '-'
	i++
	e := 0
	for ; i < len(b); i++ {
		e = e*10 + int(b[i]-'0')
	}
	if expNeg {
		e = -e
	}
	dec.exp = e
	dec.trim()
}

// trim drops trailing zero digits; all zeros make zero.
func (dec *decimal) trim() {
	for dec.n > 0 && dec.d[dec.n-1] == '0' {
		dec.n--
	}
	if dec.n == 0 {
		dec.exp, dec.neg = 0, false
	}
}

// round rounds dec half away from zero to the given number of decimals
// (negative decimals round to tens, hundreds, …). It reports whether the
// value changed.
func (dec *decimal) round(decimals int) bool {
	if dec.n == 0 {
		return false
	}
	// Digit i stands for 10^(exp-i); keep those with exp-i >= -decimals.
	keep := dec.exp + decimals + 1
	switch {
	case keep >= dec.n:
		return false
	case keep < 0:
		// The value is below 10^(-decimals-1): less than half a unit.
		dec.n = 0
		dec.trim()
		return true
	case keep == 0:
		// The first digit is the one just below the last kept place.
		if dec.d[0] >= '5' {
			dec.d[0] = '1'
			dec.n = 1
			dec.exp++
		} else {
			dec.n = 0
			dec.trim()
		}
		return true
	}
	up := dec.d[keep] >= '5' // ≥ half a unit: away from zero
	dec.n = keep
	if up {
		i := keep - 1
		for ; i >= 0; i-- {
			if dec.d[i] != '9' {
				dec.d[i]++
				break
			}
			dec.d[i] = '0'
		}
		if i < 0 { // 9…9 carried into a new leading digit
			dec.d[0] = '1'
			dec.n = 1
			dec.exp++
		}
	}
	dec.trim()
	return true
}

// appendTo writes dec in plain (no exponent) shortest notation.
func (dec *decimal) appendTo(dst []byte) []byte {
	if dec.n == 0 {
		return append(dst, '0')
	}
	if dec.neg {
		dst = append(dst, '-')
	}
	if dec.exp < 0 {
		dst = append(dst, '0', '.')
		for i := -1; i > dec.exp; i-- {
			dst = append(dst, '0')
		}
		return append(dst, dec.d[:dec.n]...)
	}
	intLen := dec.exp + 1
	if dec.n <= intLen {
		dst = append(dst, dec.d[:dec.n]...)
		for i := dec.n; i < intLen; i++ {
			dst = append(dst, '0')
		}
		return dst
	}
	dst = append(dst, dec.d[:intLen]...)
	dst = append(dst, '.')
	return append(dst, dec.d[intLen:dec.n]...)
}

// appendE writes dec as d.ddde±x, which strconv.ParseFloat reads.
func (dec *decimal) appendE(dst []byte) []byte {
	if dec.neg {
		dst = append(dst, '-')
	}
	dst = append(dst, dec.d[0])
	if dec.n > 1 {
		dst = append(dst, '.')
		dst = append(dst, dec.d[1:dec.n]...)
	}
	dst = append(dst, 'e')
	return strconv.AppendInt(dst, int64(dec.exp), 10)
}

// pow10 holds the powers of ten that are exact doubles.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15}

// exactScaled is the fast path: when x is the double nearest n/10^decimals
// for an integer |n| < 10^15, it returns n and true. Then the shortest
// decimal form of x is n×10^-decimals itself, so rounding x to decimals
// changes nothing and n is the exact scaled value.
//
// Why: for |x×10^d| < 10^15 the spacing of doubles near x is under
// 0.22×10^-d, so no two multiples of 10^-d round to the same double, and
// any decimal that rounds to x lies within one spacing of n×10^-d. The
// shortest form S has no more significant digits than n×10^-d (which
// round-trips): if S starts at the same or a higher decimal place its last
// digit is at 10^-d or coarser, so S is a multiple of 10^-d and must be
// n×10^-d; it cannot start a place lower, since with at most 15 digits it
// would lie at least 10^-15×|x| below a power of ten that n×10^-d reaches,
// farther than one spacing (2.2×10^-16×|x|).
func exactScaled(x float64, decimals int) (int64, bool) {
	if decimals < 0 || decimals >= len(pow10) {
		return 0, false
	}
	p := pow10[decimals]
	s := x * p
	if !(math.Abs(s) < 1e15) { // also false for NaN
		return 0, false
	}
	n := math.Round(s)
	if n/p != x { // division is correctly rounded: n/p is the double nearest n×10^-d
		return 0, false
	}
	return int64(n), true
}

// appendScaled writes n×10^-decimals in shortest plain notation.
func appendScaled(dst []byte, n int64, decimals int) []byte {
	if n == 0 {
		return append(dst, '0')
	}
	u := uint64(n)
	if n < 0 {
		dst = append(dst, '-')
		u = -u
	}
	for decimals > 0 && u%10 == 0 {
		u /= 10
		decimals--
	}
	var buf [24]byte
	d := strconv.AppendUint(buf[:0], u, 10)
	if decimals == 0 {
		return append(dst, d...)
	}
	if len(d) <= decimals {
		dst = append(dst, '0', '.')
		for i := len(d); i < decimals; i++ {
			dst = append(dst, '0')
		}
		return append(dst, d...)
	}
	dst = append(dst, d[:len(d)-decimals]...)
	dst = append(dst, '.')
	return append(dst, d[len(d)-decimals:]...)
}

// maxExactInt bounds the integers whose shortest form is their plain
// integer text (every integer below 2^53 is a double; up to 1e15 the
// shortest form never uses fewer digits than the integer itself).
const maxExactInt = 1e15

// Round rounds x half away from zero to the given number of decimals, on
// the shortest decimal form of x, and returns the double nearest the
// result. A zero result is +0. NaN and ±Inf are returned as they are.
func Round(x float64, decimals int) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	if x == 0 {
		return 0
	}
	if decimals >= 0 && x == math.Trunc(x) && math.Abs(x) < maxExactInt {
		return x
	}
	if _, ok := exactScaled(x, decimals); ok {
		return x
	}
	var dec decimal
	dec.set(x)
	if !dec.round(decimals) {
		return x
	}
	if dec.n == 0 {
		return 0
	}
	var buf [bufLen + 8]byte
	f, err := strconv.ParseFloat(string(dec.appendE(buf[:0])), 64)
	if err != nil { // overflow: only when rounding up past MaxFloat64
		return math.Copysign(math.Inf(1), x)
	}
	return f
}

// Format is AppendFormat into a new string.
func Format(x float64, decimals int) string {
	var buf [64]byte
	return string(AppendFormat(buf[:0], x, decimals))
}

// AppendFormat appends x rounded half away from zero to the given number of
// decimals (on its shortest decimal form) and written in shortest plain
// notation: no exponent, no trailing zeros, no trailing point, no "-0".
// NaN and ±Inf, which have no such form, are written "NaN", "+Inf", "-Inf".
// It does not allocate beyond growing dst.
func AppendFormat(dst []byte, x float64, decimals int) []byte {
	if x == 0 {
		return append(dst, '0')
	}
	// Fast path: integers, the commonest value (counts, strengths, whole
	// metres), are written as they are.
	if decimals >= 0 && x == math.Trunc(x) && math.Abs(x) < maxExactInt {
		return strconv.AppendInt(dst, int64(x), 10)
	}
	// Fast path: x has at most the wanted decimals (most scores, weights
	// and coordinates as read).
	if n, ok := exactScaled(x, decimals); ok {
		return appendScaled(dst, n, decimals)
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return strconv.AppendFloat(dst, x, 'g', -1, 64)
	}
	var dec decimal
	dec.set(x)
	dec.round(decimals)
	return dec.appendTo(dst)
}

// ScaledInt returns x rounded half away from zero to the given number of
// decimals, times 10^decimals, as an exact integer: ScaledInt(1.0000005, 6)
// is 1000001. ok is false when x is not finite or the result does not fit
// in an int64.
func ScaledInt(x float64, decimals int) (v int64, ok bool) {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, false
	}
	if x == 0 {
		return 0, true
	}
	if n, ok := exactScaled(x, decimals); ok {
		return n, true
	}
	var dec decimal
	dec.set(x)
	dec.round(decimals)
	if dec.n == 0 {
		return 0, true
	}
	// value × 10^decimals = d[0…n-1] × 10^(exp-(n-1)+decimals); after
	// rounding the power is ≥ 0.
	zeros := dec.exp - (dec.n - 1) + decimals
	if dec.n+zeros > 19 {
		return 0, false
	}
	var u uint64
	for i := 0; i < dec.n; i++ {
		u = u*10 + uint64(dec.d[i]-'0')
	}
	for ; zeros > 0; zeros-- {
		u *= 10
	}
	if dec.neg {
		if u > 1<<63 {
			return 0, false
		}
		return int64(-u), true // -(1<<63) wraps to MinInt64, as it should
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// FormatMicro writes a count of micro-units (millionths) as a decimal in
// shortest form: 1051900000 → "1051.9", -500 → "-0.0005", 3000000 → "3".
func FormatMicro(v int64) string {
	var buf [24]byte
	return string(AppendMicro(buf[:0], v))
}

// AppendMicro appends FormatMicro(v) to dst.
func AppendMicro(dst []byte, v int64) []byte {
	u := uint64(v)
	if v < 0 {
		dst = append(dst, '-')
		u = -u
	}
	dst = strconv.AppendUint(dst, u/1e6, 10)
	frac := u % 1e6
	if frac == 0 {
		return dst
	}
	var f [7]byte
	f[0] = '.'
	for i := 6; i >= 1; i-- {
		f[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := 7
	for f[n-1] == '0' {
		n--
	}
	return append(dst, f[:n]...)
}
