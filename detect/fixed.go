package detect

import (
	"math"
	"math/bits"
	"strconv"

	"github.com/linewatch/linewatch/internal/num"
)

// Scores are kept in fixed point (SPEC §4, §9): int64 micro-units, a
// millionth each, so that no sum depends on the order of addition.
// 1 micro-unit is 0.000001; a score of 1051.9 is 1051900000.

// microUnits is the number of micro-units in one.
const microUnits = 1_000_000

// RoundMicro rounds x to 6 decimals, half away from zero, and returns it in
// micro-units. It rounds x's shortest decimal form (what
// strconv.FormatFloat(x, 'f', -1, 64) prints) with decimal arithmetic, so
// RoundMicro(0.0000005) is 1 and RoundMicro(1.0000005) is 1000001, where
// math.Round(x*1e6) gives 0 and 1000000. NaN is 0; values beyond the int64
// range (|x| > 9223372036854.775807) saturate.
func RoundMicro(x float64) int64 {
	if v, ok := num.ScaledInt(x, 6); ok {
		return v
	}
	switch {
	case math.IsNaN(x):
		return 0
	case x > 0:
		return math.MaxInt64
	default:
		return math.MinInt64
	}
}

// Weight is the weight of a violation in micro-units: the type's weight and
// the sighting's confidence, each rounded to 6 decimals, multiplied exactly
// and rounded half away from zero to 6 decimals (SPEC §4). Weight(3, 0.7)
// is 2100000; Weight(0.5, 0.000001) is 1 (0.0000005 rounds up). The product
// is formed in 128 bits, so any inputs are exact; a result beyond the int64
// range saturates.
func Weight(typeWeight, confidence float64) int64 {
	return MulMicro(RoundMicro(typeWeight), RoundMicro(confidence))
}

// MulMicro multiplies two micro-unit values and rounds the product half away
// from zero to micro-units: (a × b) / 10^6. It saturates beyond the int64
// range.
func MulMicro(a, b int64) int64 {
	neg := (a < 0) != (b < 0)
	ua, ub := absU64(a), absU64(b)
	hi, lo := bits.Mul64(ua, ub)
	if hi >= microUnits { // the quotient would not fit in 64 bits
		return saturate(neg)
	}
	q, r := bits.Div64(hi, lo, microUnits)
	if r >= microUnits/2 { // half away from zero
		q++
	}
	if neg {
		if q > 1<<63 {
			return math.MinInt64
		}
		return int64(-q)
	}
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(q)
}

func absU64(v int64) uint64 {
	if v < 0 {
		return -uint64(v)
	}
	return uint64(v)
}

func saturate(neg bool) int64 {
	if neg {
		return math.MinInt64
	}
	return math.MaxInt64
}

// MicroFloat returns a micro-unit value as the double nearest its decimal
// value (for encoders that take a float64): MicroFloat(1051900000) is 1051.9.
func MicroFloat(v int64) float64 {
	if v > -(1<<53) && v < 1<<53 {
		// Both operands are exact, and IEEE division rounds correctly.
		return float64(v) / microUnits
	}
	f, _ := strconv.ParseFloat(num.FormatMicro(v), 64)
	return f
}
