package num

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// refFormat is the slow reference: the shortest decimal form of x read as
// an exact rational, rounded half away from zero with big integers.
func refFormat(x float64, decimals int) string {
	q := refScaled(x, decimals)
	neg := q.Sign() < 0
	q.Abs(q)
	s := q.String()
	if decimals < 0 {
		if s != "0" {
			s += strings.Repeat("0", -decimals)
		}
	} else if decimals > 0 {
		if len(s) <= decimals {
			s = strings.Repeat("0", decimals-len(s)+1) + s
		}
		s = s[:len(s)-decimals] + "." + s[len(s)-decimals:]
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	if neg && s != "0" {
		s = "-" + s
	}
	return s
}

// refScaled is round(x, decimals) × 10^decimals as an exact integer.
func refScaled(x float64, decimals int) *big.Int {
	r, ok := new(big.Rat).SetString(strconv.FormatFloat(x, 'f', -1, 64))
	if !ok {
		panic("bad float text")
	}
	p := new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(decimals))), nil))
	if decimals >= 0 {
		r.Mul(r, p)
	} else {
		r.Quo(r, p)
	}
	n := new(big.Int).Abs(r.Num())
	d := r.Denom()
	q, rem := new(big.Int).QuoRem(n, d, new(big.Int))
	if rem.Lsh(rem, 1).Cmp(d) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if r.Sign() < 0 {
		q.Neg(q)
	}
	return q
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

func TestFormat(t *testing.T) {
	maxF := "17976931348623157" + strings.Repeat("0", 292)
	tests := []struct {
		x    float64
		dec  int
		want string
	}{
		{0, 3, "0"},
		{math.Copysign(0, -1), 3, "0"},
		{30, 3, "30"},
		{48.1, 3, "48.1"},
		{48.10000000001, 3, "48.1"},
		{1051.9, 6, "1051.9"},
		{-12.5, 3, "-12.5"},
		// Halves at 6 decimals: 0.0000005 is 4.99999…e-7 as a double, but
		// its shortest form 5e-07 is exactly half.
		{0.0000005, 6, "0.000001"},
		{-0.0000005, 6, "-0.000001"},
		{0.00000049999, 6, "0"},
		{-0.0000004, 6, "0"},
		{1.0000005, 6, "1.000001"},
		{-1.0000005, 6, "-1.000001"},
		{1.0000004999, 6, "1"},
		{0.9999995, 6, "1"},
		{0.0000015, 6, "0.000002"},
		{0.0000025, 6, "0.000003"},
		// 2.675 is 2.67499999… as a double; its shortest form rounds up.
		{2.675, 2, "2.68"},
		{-2.675, 2, "-2.68"},
		{1.005, 2, "1.01"},
		{0.5, 0, "1"},
		{-0.5, 0, "-1"},
		{1.5, 0, "2"},
		{2.5, 0, "3"},
		{-2.5, 0, "-3"},
		{0.49999999999999994, 0, "0"},
		{9.9995, 3, "10"},
		{999.9995, 3, "1000"},
		{-999.9995, 3, "-1000"},
		{0.1 + 0.2, 6, "0.3"},
		{0.30000000000000004, 17, "0.30000000000000004"},
		{123456789.123456789, 6, "123456789.123457"},
		// Small and large.
		{1e-7, 6, "0"},
		{1e-7, 7, "0.0000001"},
		{-1e-7, 6, "0"},
		{5e-7, 6, "0.000001"},
		{4e-7, 6, "0"},
		{1e-300, 6, "0"},
		{5e-324, 6, "0"},
		{1e21, 3, "1000000000000000000000"},
		{-1e21, 6, "-1000000000000000000000"},
		{1e22, 0, "10000000000000000000000"},
		{123456789012345680000, 3, "123456789012345680000"},
		{1e15 + 0.5, 0, "1000000000000001"},
		{4503599627370495.5, 0, "4503599627370496"},
		{9007199254740993, 0, "9007199254740992"},
		{math.MaxFloat64, 3, maxF},
		{-math.MaxFloat64, 0, "-" + maxF},
		{math.SmallestNonzeroFloat64, 324, "0." + strings.Repeat("0", 323) + "5"},
		// Negative decimals round to tens, hundreds, ….
		{123.456, -1, "120"},
		{150, -2, "200"},
		{149, -2, "100"},
		{-150, -2, "-200"},
		{49, -2, "0"},
		{50, -2, "100"},
		{4, -1, "0"},
		{5, -1, "10"},
		// Not numbers.
		{math.NaN(), 3, "NaN"},
		{math.Inf(1), 3, "+Inf"},
		{math.Inf(-1), 3, "-Inf"},
	}
	for _, tc := range tests {
		got := Format(tc.x, tc.dec)
		if got != tc.want {
			t.Errorf("Format(%v, %d) = %q, want %q", tc.x, tc.dec, got, tc.want)
		}
		if !math.IsNaN(tc.x) && !math.IsInf(tc.x, 0) {
			if ref := refFormat(tc.x, tc.dec); ref != tc.want {
				t.Errorf("reference(%v, %d) = %q, want %q", tc.x, tc.dec, ref, tc.want)
			}
		}
		if got := string(AppendFormat([]byte("x="), tc.x, tc.dec)); got != "x="+tc.want {
			t.Errorf("AppendFormat(%v, %d) = %q", tc.x, tc.dec, got)
		}
	}
}

func TestRound(t *testing.T) {
	tests := []struct {
		x    float64
		dec  int
		want float64
	}{
		{2.675, 2, 2.68},
		{-2.675, 2, -2.68},
		{1.0000005, 6, 1.000001},
		{0.0000005, 6, 0.000001},
		{0.0000004, 6, 0},
		{-0.0000004, 6, 0},
		{48.1, 3, 48.1},
		{30, 3, 30},
		{1e21, 3, 1e21},
		{1e-7, 6, 0},
		{9.9995, 3, 10},
		{150, -2, 200},
		{math.MaxFloat64, -308, math.Inf(1)},
		{-math.MaxFloat64, -308, math.Inf(-1)},
	}
	for _, tc := range tests {
		got := Round(tc.x, tc.dec)
		if got != tc.want || math.Signbit(got) != math.Signbit(tc.want) {
			t.Errorf("Round(%v, %d) = %v, want %v", tc.x, tc.dec, got, tc.want)
		}
	}
	if got := Round(math.Copysign(0, -1), 3); math.Signbit(got) {
		t.Errorf("Round(-0) = -0, want +0")
	}
	if got := Round(math.NaN(), 3); !math.IsNaN(got) {
		t.Errorf("Round(NaN) = %v", got)
	}
}

func TestScaledInt(t *testing.T) {
	tests := []struct {
		x    float64
		dec  int
		want int64
		ok   bool
	}{
		{1.0000005, 6, 1000001, true},
		{0.0000005, 6, 1, true},
		{-0.0000005, 6, -1, true},
		{0.0000004, 6, 0, true},
		{1051.9, 6, 1051900000, true},
		{3, 6, 3000000, true},
		{0, 6, 0, true},
		{2.675, 2, 268, true},
		{150, -2, 2, true},
		{9223372036854.775, 6, 9223372036854775000, true},
		{9223372036854.777, 6, 0, false},
		{-9223372036854775808, 0, 0, false}, // shortest form -9223372036854776000
		{-9223372036854.775, 6, -9223372036854775000, true},
		{9223372036854775807, 0, 0, false}, // the double is 2^63
		{1e300, 6, 0, false},
		{math.NaN(), 6, 0, false},
		{math.Inf(-1), 6, 0, false},
	}
	for _, tc := range tests {
		got, ok := ScaledInt(tc.x, tc.dec)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ScaledInt(%v, %d) = %d, %v, want %d, %v", tc.x, tc.dec, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFormatMicro(t *testing.T) {
	tests := []struct {
		v    int64
		want string
	}{
		{0, "0"},
		{1051900000, "1051.9"},
		{3000000, "3"},
		{500, "0.0005"},
		{1, "0.000001"},
		{-1, "-0.000001"},
		{-2500000, "-2.5"},
		{123456789, "123.456789"},
		{math.MaxInt64, "9223372036854.775807"},
		{math.MinInt64, "-9223372036854.775808"},
	}
	for _, tc := range tests {
		if got := FormatMicro(tc.v); got != tc.want {
			t.Errorf("FormatMicro(%d) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

// genFloat draws doubles of every kind that matters: decimal texts with a 5
// just past the rounding place (the halves), short decimals, integers, and
// arbitrary bit patterns.
func genFloat() *rapid.Generator[float64] {
	return rapid.OneOf(
		rapid.Custom(func(t *rapid.T) float64 {
			// d…d.d…d5 × 10^e: an exact half at some number of decimals.
			ip := rapid.StringMatching(`[0-9]{1,9}`).Draw(t, "int")
			fp := rapid.StringMatching(`[0-9]{0,8}`).Draw(t, "frac")
			e := rapid.IntRange(-12, 12).Draw(t, "exp")
			s := ip + "." + fp + "5e" + strconv.Itoa(e)
			if rapid.Bool().Draw(t, "neg") {
				s = "-" + s
			}
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("ParseFloat(%q): %v", s, err)
			}
			return f
		}),
		rapid.Custom(func(t *rapid.T) float64 {
			return float64(rapid.Int64Range(-1e6, 1e6).Draw(t, "n")) /
				math.Pow(10, float64(rapid.IntRange(0, 9).Draw(t, "p")))
		}),
		rapid.Custom(func(t *rapid.T) float64 {
			return float64(rapid.Int64().Draw(t, "i"))
		}),
		rapid.Custom(func(t *rapid.T) float64 {
			f := math.Float64frombits(rapid.Uint64().Draw(t, "bits"))
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return 1.5
			}
			return f
		}),
		rapid.Float64(),
	)
}

func TestAppendFormatMatchesReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		x := genFloat().Draw(t, "x")
		dec := rapid.IntRange(-6, 20).Draw(t, "decimals")
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return
		}
		want := refFormat(x, dec)
		if got := string(AppendFormat(nil, x, dec)); got != want {
			t.Fatalf("AppendFormat(%v, %d) = %q, reference %q", x, dec, got, want)
		}
		// Round gives the double nearest the rounded decimal.
		wantF, _ := strconv.ParseFloat(want, 64)
		if got := Round(x, dec); got != wantF && !(math.IsInf(got, 0) && math.IsInf(wantF, 0)) {
			t.Fatalf("Round(%v, %d) = %v, want %v", x, dec, got, wantF)
		}
		// ScaledInt agrees where it fits.
		if dec >= 0 {
			ref := refScaled(x, dec)
			got, ok := ScaledInt(x, dec)
			if ref.IsInt64() != ok || (ok && got != ref.Int64()) {
				t.Fatalf("ScaledInt(%v, %d) = %d, %v, reference %s", x, dec, got, ok, ref)
			}
		}
	})
}

func TestFormatMicroMatchesFormat(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := rapid.Int64().Draw(t, "v")
		want := new(big.Rat).SetFrac(big.NewInt(v), big.NewInt(1e6)).FloatString(6)
		want = strings.TrimSuffix(strings.TrimRight(want, "0"), ".")
		if got := FormatMicro(v); got != want {
			t.Fatalf("FormatMicro(%d) = %q, want %q", v, got, want)
		}
	})
}

func TestAppendFormatAllocs(t *testing.T) {
	buf := make([]byte, 0, 64)
	xs := []float64{0, 3, 48.1, -2.675, 1e21, 0.0000005, 1.0000005, 123456.789012, math.MaxFloat64, 5e-324}
	for _, x := range xs {
		if n := testing.AllocsPerRun(100, func() { buf = AppendFormat(buf[:0], x, 6) }); n != 0 {
			t.Errorf("AppendFormat(%v) allocates %v times", x, n)
		}
	}
	if n := testing.AllocsPerRun(100, func() { buf = AppendTime(buf[:0], 1704448800123000) }); n != 0 {
		t.Errorf("AppendTime allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { buf = AppendMicro(buf[:0], -1051900000) }); n != 0 {
		t.Errorf("AppendMicro allocates %v times", n)
	}
}

func BenchmarkAppendFormat(b *testing.B) {
	cases := []struct {
		name string
		x    float64
		dec  int
	}{
		{"int", 88, 6},
		{"coord", 36.123456789, 6},
		{"metres", 9870.234567, 3},
		{"score", 1051.9, 6},
		{"tiny", 0.0000005, 6},
		{"huge", 1e21, 3},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			buf := make([]byte, 0, 64)
			b.ReportAllocs()
			for b.Loop() {
				buf = AppendFormat(buf[:0], c.x, c.dec)
			}
		})
	}
}

func BenchmarkAppendTime(b *testing.B) {
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendTime(buf[:0], 1704448800123000)
	}
}

// slowFormat is AppendFormat without its fast paths.
func slowFormat(x float64, decimals int) string {
	var dec decimal
	dec.set(x)
	dec.round(decimals)
	return string(dec.appendTo(nil))
}

// The fast path must agree with the digit-string path wherever it fires,
// in particular for long integers n and just below powers of ten.
func TestFastPathAgreesWithSlowPath(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		k := rapid.IntRange(0, 15).Draw(t, "decimals")
		var n int64
		switch rapid.IntRange(0, 2).Draw(t, "shape") {
		case 0:
			n = rapid.Int64Range(-1e15+1, 1e15-1).Draw(t, "n")
		case 1: // 10^j - m: runs of nines
			j := rapid.IntRange(1, 15).Draw(t, "j")
			n = int64(pow10[j]) - rapid.Int64Range(0, 1000).Draw(t, "m")
		default: // 10^j + m
			j := rapid.IntRange(1, 14).Draw(t, "j")
			n = int64(pow10[j]) + rapid.Int64Range(-1000, 1000).Draw(t, "m")
		}
		x := float64(n) / pow10[k]
		if rapid.Bool().Draw(t, "nudge") {
			x = math.Nextafter(x, math.Inf(int(rapid.IntRange(0, 1).Draw(t, "dir")*2-1)))
		}
		if x == 0 {
			return
		}
		want := slowFormat(x, k)
		if got, ok := exactScaled(x, k); ok {
			if s := string(appendScaled(nil, got, k)); s != want {
				t.Fatalf("fast path for %v at %d: %q, digit path %q", x, k, s, want)
			}
			if ref := refFormat(x, k); ref != want {
				t.Fatalf("digit path for %v at %d: %q, reference %q", x, k, want, ref)
			}
		}
	})
}
