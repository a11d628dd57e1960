package detect

import (
	"math"
	"math/big"
	"strconv"
	"testing"

	"pgregory.net/rapid"
)

func TestRoundMicro(t *testing.T) {
	tests := []struct {
		x    float64
		want int64
	}{
		{0, 0},
		{math.Copysign(0, -1), 0},
		{1, 1000000},
		{0.5, 500000},
		{1051.9, 1051900000},
		// x*1e6 misrounds these: 0.0000005*1e6 is 0.49999999999999994 and
		// 1.0000005*1e6 is 1000000.4999999999.
		{0.0000005, 1},
		{-0.0000005, -1},
		{1.0000005, 1000001},
		{-1.0000005, -1000001},
		{0.0000004999, 0},
		{0.0000015, 2},
		{2.0000025, 2000003},
		{0.1 + 0.2, 300000},
		{1e-7, 0},
		{1e-300, 0},
		{9223372036854.775, 9223372036854775000},
		{1e13, math.MaxInt64},
		{-1e13, math.MinInt64},
		{math.Inf(1), math.MaxInt64},
		{math.Inf(-1), math.MinInt64},
		{math.NaN(), 0},
	}
	for _, tc := range tests {
		if got := RoundMicro(tc.x); got != tc.want {
			t.Errorf("RoundMicro(%v) = %d, want %d", tc.x, got, tc.want)
		}
	}
}

func TestWeight(t *testing.T) {
	tests := []struct {
		w, c float64
		want int64
	}{
		{3, 1, 3000000},
		{3, 0.7, 2100000},
		{2, 0.5, 1000000},
		{0.5, 0.000001, 1},       // 0.0000005 → 0.000001
		{0.4999994, 0.000001, 0}, // 0.4999994 → 0.499999; × 0.000001 = 0.000000499999 → 0
		{1, 0.0000005, 1},        // confidence rounds to 0.000001 first
		{1.0000005, 1, 1000001},
		{0, 0.9, 0},
		{0.333333, 0.333333, 111111},      // 0.111110888889
		{0.666667, 0.666667, 444445},      // 0.444444888889
		{0.5, 0.333333, 166667},           // 0.1666665 → away from zero
		{1e6, 1, 1000000 * 1000000},       // the largest weight a policy allows
		{-3, 0.5, -1500000},               // never from a valid policy, but exact
		{-0.5, 0.000001, -1},              // half away from zero, negative
		{1e12, 1e6, math.MaxInt64},        // saturates
		{-1e12, 1e6, math.MinInt64},       //
		{9000000, 1000000, math.MaxInt64}, // 9e18 µ² … over 2^63/1e6? no: 9e12 µ fits
	}
	// The last case fits: 9e6 × 1e6 = 9e12 = 9e18 µ.
	tests[len(tests)-1].want = 9e18
	for _, tc := range tests {
		if got := Weight(tc.w, tc.c); got != tc.want {
			t.Errorf("Weight(%v, %v) = %d, want %d", tc.w, tc.c, got, tc.want)
		}
	}
}

// Weight agrees with big-integer arithmetic on the rounded decimals.
func TestWeightMatchesBigInt(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		w := float64(rapid.Int64Range(0, 1e12).Draw(t, "w")) / math.Pow(10, float64(rapid.IntRange(0, 9).Draw(t, "wp")))
		c := float64(rapid.Int64Range(1, 1e9).Draw(t, "c")) / 1e9
		if rapid.Bool().Draw(t, "neg") {
			w = -w
		}
		a, b := RoundMicro(w), RoundMicro(c)
		p := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
		q, r := new(big.Int).QuoRem(new(big.Int).Abs(p), big.NewInt(1e6), new(big.Int))
		if r.Int64()*2 >= 1e6 {
			q.Add(q, big.NewInt(1))
		}
		if p.Sign() < 0 {
			q.Neg(q)
		}
		if got := Weight(w, c); !q.IsInt64() || got != q.Int64() {
			t.Fatalf("Weight(%v, %v) = %d, want %s", w, c, got, q)
		}
	})
}

func TestMulMicroSaturates(t *testing.T) {
	tests := []struct{ a, b, want int64 }{
		{math.MaxInt64, 1000000, math.MaxInt64},
		{math.MaxInt64, 1000001, math.MaxInt64},
		{math.MinInt64, 1000000, math.MinInt64},
		{math.MinInt64, -1000000, math.MaxInt64},
		{math.MaxInt64, math.MaxInt64, math.MaxInt64},
		{math.MinInt64, math.MinInt64, math.MaxInt64},
		{math.MinInt64, 1, -9223372036855},
		{math.MaxInt64, 1, 9223372036855},
		{0, math.MinInt64, 0},
	}
	for _, tc := range tests {
		if got := MulMicro(tc.a, tc.b); got != tc.want {
			t.Errorf("MulMicro(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestMicroFloat(t *testing.T) {
	for _, v := range []int64{0, 1, -1, 1051900000, 4000000, 1 << 53, 1<<53 + 1, math.MaxInt64, math.MinInt64} {
		want, _ := strconv.ParseFloat(new(big.Rat).SetFrac64(v, 1e6).FloatString(6), 64)
		if got := MicroFloat(v); got != want {
			t.Errorf("MicroFloat(%d) = %v, want %v", v, got, want)
		}
	}
}

// Sums of weights do not depend on the order of addition (the point of
// fixed point).
func TestWeightSumsOrderFree(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		cs := rapid.SliceOfN(rapid.Float64Range(0.000001, 1), 1, 50).Draw(t, "confidences")
		var fwd, back int64
		for i := range cs {
			fwd += Weight(3, cs[i])
			back += Weight(3, cs[len(cs)-1-i])
		}
		if fwd != back {
			t.Fatalf("sums differ: %d and %d", fwd, back)
		}
	})
}
