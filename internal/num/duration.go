package num

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"
)

const nsPerDay = int64(24 * time.Hour)

// ParseDuration reads a duration as a policy writes it (SPEC §9): Go's
// syntax (90m, 1h30m, 1.5s, 500ms; see time.ParseDuration) or days, alone
// or leading (7d, 1.5d, 1d12h), with an optional sign. Fractions finer than a nanosecond are
// dropped, as time.ParseDuration drops them.
func ParseDuration(s string) (time.Duration, bool) {
	neg := false
	body := s
	if body != "" && (body[0] == '-' || body[0] == '+') {
		neg = body[0] == '-'
		body = body[1:]
	}
	if body == "" || body[0] == '-' || body[0] == '+' {
		return 0, false
	}
	i := strings.IndexByte(body, 'd')
	if i < 0 {
		d, err := time.ParseDuration(s) // with its sign: -2562047h47m16.854775808s fits
		return d, err == nil
	}
	days, rest := body[:i], body[i+1:]
	ns, ok := daysToNanos(days)
	if !ok {
		return 0, false
	}
	total := uint64(ns)
	if rest != "" {
		if rest[0] == '-' || rest[0] == '+' {
			return 0, false
		}
		r, err := time.ParseDuration(rest)
		if err != nil {
			return 0, false
		}
		total += uint64(r) // both < 2^63: no wrap
	}
	limit := uint64(math.MaxInt64)
	if neg {
		limit++ // -2^63 is a Duration
	}
	if total > limit {
		return 0, false
	}
	if neg {
		return time.Duration(-total), true
	}
	return time.Duration(total), true
}

// daysToNanos reads a decimal number of days (12, 1.5, .5, 2.) exactly and
// returns it in nanoseconds, truncated.
func daysToNanos(s string) (int64, bool) {
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" && frac == "" {
		return 0, false
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, false
			}
		}
	}
	if strings.Count(s, ".") > 1 || len(s) > 64 {
		return 0, false
	}
	// (intPart.frac) × nsPerDay, truncated, in big integers.
	n, _ := new(big.Int).SetString("0"+intPart+frac, 10)
	n.Mul(n, big.NewInt(nsPerDay))
	n.Quo(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(frac))), nil))
	if !n.IsInt64() {
		return 0, false
	}
	return n.Int64(), true
}

// FormatDuration writes a duration the way a policy does: two or more whole
// days as days (7d), otherwise hours, minutes and seconds without zero parts
// (24h, 6h, 1h30m, 36h, 1.5s, 500ms); 0 is 0s. ParseDuration reads it back.
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b []byte
	u := uint64(d)
	if d < 0 {
		b = append(b, '-')
		u = -u
	}
	if u%uint64(nsPerDay) == 0 && u >= 2*uint64(nsPerDay) {
		b = strconv.AppendUint(b, u/uint64(nsPerDay), 10)
		return string(append(b, 'd'))
	}
	if h := u / uint64(time.Hour); h > 0 {
		b = strconv.AppendUint(b, h, 10)
		b = append(b, 'h')
	}
	u %= uint64(time.Hour)
	if m := u / uint64(time.Minute); m > 0 {
		b = strconv.AppendUint(b, m, 10)
		b = append(b, 'm')
	}
	u %= uint64(time.Minute)
	if u > 0 {
		// Under a minute: Go writes it as 1.5s, 500ms, 1µs, 3ns.
		b = append(b, time.Duration(u).String()...)
	}
	return string(b)
}
