package num

import (
	"math"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestDurations(t *testing.T) {
	tests := []struct {
		in   string
		d    time.Duration
		back string
	}{
		{"24h", 24 * time.Hour, "24h"},
		{"2d", 48 * time.Hour, "2d"},
		{"-1d", -24 * time.Hour, "-24h"},
		{"-2d", -48 * time.Hour, "-2d"},
		{"7d", 7 * 24 * time.Hour, "7d"},
		{"90m", 90 * time.Minute, "1h30m"},
		{"1h30m", 90 * time.Minute, "1h30m"},
		{"36h", 36 * time.Hour, "36h"},
		{"1.5d", 36 * time.Hour, "36h"},
		{"1d12h", 36 * time.Hour, "36h"},
		{".5d", 12 * time.Hour, "12h"},
		{"2.d", 48 * time.Hour, "2d"},
		{"+6h", 6 * time.Hour, "6h"},
		{"0", 0, "0s"},
		{"0d", 0, "0s"},
		{"1h0m1.5s", time.Hour + 1500*time.Millisecond, "1h1.5s"},
		{"500ms", 500 * time.Millisecond, "500ms"},
		{"1µs", time.Microsecond, "1µs"},
		{"1us", time.Microsecond, "1µs"},
		{"3ns", 3, "3ns"},
		{"106751d", 106751 * 24 * time.Hour, "106751d"},
		{"2562047h47m16.854775807s", math.MaxInt64, "2562047h47m16.854775807s"},
	}
	for _, tc := range tests {
		d, ok := ParseDuration(tc.in)
		if !ok || d != tc.d {
			t.Errorf("ParseDuration(%q) = %v, %v, want %v", tc.in, d, ok, tc.d)
		}
		if got := FormatDuration(tc.d); got != tc.back {
			t.Errorf("FormatDuration(%v) = %q, want %q", tc.d, got, tc.back)
		}
	}
	for _, bad := range []string{"", "d", ".d", "1", "-", "+", "--1h", "+-1h", "1w", "1d2d", "1d-1h", "1d+1h",
		"1h1d", "1..5d", "1.5.d", "x1d", "106752d", "106751d1d", "106751d23h59m59s", "1e3d", " 1d", "1d "} {
		if d, ok := ParseDuration(bad); ok {
			t.Errorf("ParseDuration(%q) = %v, want failure", bad, d)
		}
	}
}

func TestFormatDurationRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		d := time.Duration(rapid.OneOf(
			rapid.Int64(),
			rapid.Int64Range(-1e15, 1e15),
			rapid.Map(rapid.Int64Range(-1000, 1000), func(n int64) int64 { return n * int64(time.Hour) }),
		).Draw(t, "d"))
		s := FormatDuration(d)
		back, ok := ParseDuration(s)
		if !ok || back != d {
			t.Fatalf("FormatDuration(%d) = %q, read back as %d, %v", d, s, back, ok)
		}
	})
}
