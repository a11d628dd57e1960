package num

import (
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestFormatTime(t *testing.T) {
	jan5 := time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC).UnixMicro()
	tests := []struct {
		us   int64
		want string
	}{
		{0, "1970-01-01T00:00:00Z"},
		{jan5, "2024-01-05T00:00:00Z"},
		{jan5 + 10*3600e6 + 100000, "2024-01-05T10:00:00.1Z"},
		{jan5 + 123456, "2024-01-05T00:00:00.123456Z"},
		{jan5 + 1, "2024-01-05T00:00:00.000001Z"},
		{-1, "1969-12-31T23:59:59.999999Z"},
		{-1e6, "1969-12-31T23:59:59Z"},
		{345600e6, "1970-01-05T00:00:00Z"},
		{time.Date(2000, 2, 29, 23, 59, 59, 0, time.UTC).UnixMicro(), "2000-02-29T23:59:59Z"},
		{MinTime, "0000-01-01T00:00:00Z"},
		{MaxTime, "9999-12-31T23:59:59.999999Z"},
	}
	for _, tc := range tests {
		if got := FormatTime(tc.us); got != tc.want {
			t.Errorf("FormatTime(%d) = %q, want %q", tc.us, got, tc.want)
		}
	}
}

func TestFormatTimeMatchesTime(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		us := rapid.OneOf(
			rapid.Int64Range(MinTime, MaxTime),
			rapid.Int64Range(-10*365*86400e6, 100*365*86400e6),
		).Draw(t, "us")
		want := time.UnixMicro(us).UTC().Format("2006-01-02T15:04:05.999999Z07:00")
		got := FormatTime(us)
		if got != want {
			t.Fatalf("FormatTime(%d) = %q, want %q", us, got, want)
		}
		back, err := ParseTime(got)
		if err != nil || back != us {
			t.Fatalf("ParseTime(%q) = %d, %v, want %d", got, back, err, us)
		}
	})
}

func TestParseTime(t *testing.T) {
	jan5 := time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC).UnixMicro()
	tests := []struct {
		s    string
		want int64
		err  error
	}{
		{"2024-01-05T00:00:00Z", jan5, nil},
		{"2024-01-05t00:00:00z", jan5, nil},
		{"2024-01-05T02:00:00+02:00", jan5, nil},
		{"2024-01-04T22:30:00-01:30", jan5, nil},
		{"2024-01-05T10:00:00.1Z", jan5 + 36000e6 + 100000, nil},
		{"2024-01-05T00:00:00.123456789Z", jan5 + 123456, nil},
		{"2024-01-05T00:00:00.0000009Z", jan5, nil},
		{"1969-12-31T23:59:59.9999985Z", -2, nil},
		{"1970-01-01T00:00:00Z", 0, nil},
		{"1970-01-05T00:00:00Z", 345600e6, nil},
		{"0000-01-01T00:00:00Z", MinTime, nil},
		{"9999-12-31T23:59:59.9999999Z", MaxTime, nil},
		{"2000-02-29T00:00:00Z", time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC).UnixMicro(), nil},
		{"0000-01-01T00:00:00+00:01", 0, ErrTimeRange},
		{"9999-12-31T23:59:59-00:01", 0, ErrTimeRange},
		{"1900-02-29T00:00:00Z", 0, ErrTimeSyntax},
		{"2024-02-30T00:00:00Z", 0, ErrTimeSyntax},
		{"2024-13-01T00:00:00Z", 0, ErrTimeSyntax},
		{"2024-01-05T24:00:00Z", 0, ErrTimeSyntax},
		{"2024-01-05T23:60:00Z", 0, ErrTimeSyntax},
		{"2016-12-31T23:59:60Z", 0, ErrTimeSyntax},
		{"2024-01-05 00:00:00Z", 0, ErrTimeSyntax},
		{"2024-01-05T00:00:00", 0, ErrTimeSyntax},
		{"2024-01-05T00:00:00.Z", 0, ErrTimeSyntax},
		{"2024-01-05T00:00:00+0200", 0, ErrTimeSyntax},
		{"2024-01-05T00:00:00+24:00", 0, ErrTimeSyntax},
		{"2024-01-05T00:00Z", 0, ErrTimeSyntax},
		{"2024-01-05", 0, ErrTimeSyntax},
		{"+024-01-05T00:00:00Z", 0, ErrTimeSyntax},
		{"2024-01-05T00:00:00ZZ", 0, ErrTimeSyntax},
		{"", 0, ErrTimeSyntax},
	}
	for _, tc := range tests {
		got, err := ParseTime(tc.s)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("ParseTime(%q) = %d, %v, want %d, %v", tc.s, got, err, tc.want, tc.err)
		}
	}
}

func TestParseEpoch(t *testing.T) {
	tests := []struct {
		s    string
		want int64
		err  error
	}{
		{"0", 0, nil},
		{"-0", 0, nil},
		{"0.0", 0, nil},
		{"1714521600", 1714521600e6, nil},
		{"1714521600.1", 1714521600100000, nil},
		{"1714521600.1234569", 1714521600123456, nil},
		{"1.7145216e9", 1714521600e6, nil},
		{"17145216E2", 1714521600e6, nil},
		{"1714521600123e-3", 1714521600123000, nil},
		{"0.000001", 1, nil},
		{"-0.000001", -1, nil},
		{"-0.0000015", -2, nil},
		{"-1.5", -1500000, nil},
		{"1e-7", 0, nil},
		{"-1e-7", -1, nil},
		{"0e400", 0, nil},
		{"1e-400", 0, nil},
		{"345600", 345600e6, nil},
		{"0.00000000000000000000000000000000000000000000000001", 0, nil},
		{"-62167219200", MinTime, nil},
		{"253402300799.999999", MaxTime, nil},
		{"253402300799.9999999", MaxTime, nil},
		{"-62167219200.000001", 0, ErrTimeRange},
		{"253402300800", 0, ErrTimeRange},
		{"1e400", 0, ErrTimeRange},
		{"99999999999999999999999999999999999999999999999", 0, ErrTimeRange},
		{"01", 0, ErrEpoch},
		{"1.", 0, ErrEpoch},
		{".5", 0, ErrEpoch},
		{"+1", 0, ErrEpoch},
		{"1e", 0, ErrEpoch},
		{"1e+", 0, ErrEpoch},
		{"-", 0, ErrEpoch},
		{"", 0, ErrEpoch},
		{"NaN", 0, ErrEpoch},
		{"Infinity", 0, ErrEpoch},
		{"0x10", 0, ErrEpoch},
		{"1_000", 0, ErrEpoch},
		{"1 ", 0, ErrEpoch},
	}
	for _, tc := range tests {
		got, err := ParseEpoch(tc.s)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("ParseEpoch(%q) = %d, %v, want %d, %v", tc.s, got, err, tc.want, tc.err)
		}
	}
}

// ParseEpoch is floor(value × 10^6) of the exact decimal text.
func TestParseEpochMatchesReference(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.StringMatching(`-?(0|[1-9][0-9]{0,11})(\.[0-9]{1,12})?([eE][+-]?[0-9]{1,2})?`).Draw(t, "s")
		r, ok := new(big.Rat).SetString(strings.ToLower(s))
		if !ok {
			t.Fatalf("big.Rat cannot read %q", s)
		}
		r.Mul(r, big.NewRat(1e6, 1))
		q := new(big.Int).Div(r.Num(), r.Denom()) // Euclidean: floor for a positive divisor
		got, err := ParseEpoch(s)
		inRange := q.IsInt64() && q.Int64() >= MinTime && q.Int64() <= MaxTime
		if !inRange {
			if !errors.Is(err, ErrTimeRange) {
				t.Fatalf("ParseEpoch(%q) = %d, %v, want a range error", s, got, err)
			}
			return
		}
		if err != nil || got != q.Int64() {
			t.Fatalf("ParseEpoch(%q) = %d, %v, want %s", s, got, err, q)
		}
	})
}

func FuzzParseTime(f *testing.F) {
	f.Add("2024-01-05T10:00:00.1Z")
	f.Add("1969-12-31T23:59:59.9999985-01:30")
	f.Fuzz(func(t *testing.T, s string) {
		us, err := ParseTime(s)
		if err != nil {
			return
		}
		if us < MinTime || us > MaxTime {
			t.Fatalf("ParseTime(%q) = %d out of range", s, us)
		}
		tt, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			// time.Parse is stricter about some fraction forms; a zone it
			// accepts must agree.
			return
		}
		if got := time.UnixMicro(us); got.After(tt) || tt.Sub(got) >= time.Microsecond {
			t.Fatalf("ParseTime(%q) = %v, time.Parse %v", s, got, tt)
		}
	})
}
