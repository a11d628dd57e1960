package num

import (
	"errors"
	"strconv"
	"time"
)

// Times are int64 microseconds since the Unix epoch, UTC. The range that
// RFC 3339 can write, years 0000 to 9999, is the range ParseTime and
// ParseEpoch accept.
const (
	MinTime    int64 = -62167219200 * 1e6   // 0000-01-01T00:00:00Z
	MaxTime    int64 = 253402300800*1e6 - 1 // 9999-12-31T23:59:59.999999Z
	daysTo1970       = 719468               // days from 0000-03-01 to 1970-01-01
	usPerDay         = 86400 * 1e6
)

// Errors of ParseTime and ParseEpoch.
var (
	ErrTimeSyntax = errors.New("not an RFC 3339 date-time with T and a zone (Z or ±hh:mm)")
	ErrTimeRange  = errors.New("time out of range (years 0000 to 9999)")
	// ErrTimeNoZone is ParseRFC3339's error for a date-time that is whole
	// but for its zone; ParseTime reports it as ErrTimeSyntax.
	ErrTimeNoZone = errors.New("an RFC 3339 date-time without a zone")
	ErrEpoch      = errors.New("not a number of seconds since the epoch")
)

// FormatTime writes a time in microseconds since the epoch as RFC 3339 UTC
// with Z, the fraction's trailing zeros trimmed: 2024-01-05T00:00:00Z,
// 2024-01-05T10:00:00.1Z. Times outside years 0000–9999 are written with
// their year as it is (more digits, or a sign), which RFC 3339 cannot read.
func FormatTime(us int64) string {
	var buf [40]byte
	return string(AppendTime(buf[:0], us))
}

// AppendTime appends FormatTime(us) to dst without allocating.
func AppendTime(dst []byte, us int64) []byte {
	days := floorDiv(us, usPerDay)
	rem := us - days*usPerDay // 0 ≤ rem < a day
	y, m, d := civil(days)
	if y < 0 {
		dst = append(dst, '-')
		y = -y
	}
	if y > 9999 {
		dst = strconv.AppendInt(dst, y/10000, 10)
		y %= 10000
	}
	dst = append4(dst, int(y))
	dst = append(dst, '-')
	dst = append2(dst, m)
	dst = append(dst, '-')
	dst = append2(dst, d)
	dst = append(dst, 'T')
	sec := int(rem / 1e6)
	frac := int(rem % 1e6)
	dst = append2(dst, sec/3600)
	dst = append(dst, ':')
	dst = append2(dst, sec/60%60)
	dst = append(dst, ':')
	dst = append2(dst, sec%60)
	if frac != 0 {
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
		dst = append(dst, f[:n]...)
	}
	return append(dst, 'Z')
}

func append2(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/10), byte('0'+v%10))
}

func append4(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (H. Hinnant's algorithm).
func civil(days int64) (y int64, m, d int) {
	z := days + daysTo1970
	era := floorDiv(z, 146097)
	doe := z - era*146097                                  // [0, 146096]
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365 // [0, 399]
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100) // [0, 365]
	mp := (5*doy + 2) / 153                  // [0, 11], March first
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
		y++
	}
	return y, m, d
}

// DaysFrom converts a proleptic Gregorian date to days since 1970-01-01.
func DaysFrom(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mm := int64(m)
	if mm > 2 {
		mm -= 3
	} else {
		mm += 9
	}
	doy := (153*mm+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - daysTo1970
}

// DaysIn is the number of days of month m of year y.
func DaysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// ParseTime reads an RFC 3339 date-time with T (or t) and a zone (Z, z or
// ±hh:mm), with an optional fraction of any length, and returns it in
// microseconds since the epoch, the fraction truncated (toward the past) to
// microseconds. Leap seconds (:60) are refused.
func ParseTime(s string) (int64, error) {
	us, err := ParseRFC3339(s, false)
	if err == ErrTimeNoZone {
		err = ErrTimeSyntax
	}
	return us, err
}

// ParseRFC3339 is ParseTime for text or bytes, with a choice: leapSecond
// reads :60 as the first second of the next minute (a sighting's clock may
// have written one) instead of refusing it. A date-time that lacks only
// its zone is ErrTimeNoZone, so that a reader can say so.
func ParseRFC3339[T ~string | ~[]byte](s T, leapSecond bool) (int64, error) {
	// 2006-01-02T15:04:05 is the shortest form, less its zone.
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
		s[13] != ':' || s[16] != ':' {
		return 0, ErrTimeSyntax
	}
	year, ok1 := Digits(s[0:4])
	month, ok2 := Digits(s[5:7])
	day, ok3 := Digits(s[8:10])
	hour, ok4 := Digits(s[11:13])
	minute, ok5 := Digits(s[14:16])
	sec, ok6 := Digits(s[17:19])
	maxSec := 59
	if leapSecond {
		maxSec = 60
	}
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) ||
		month < 1 || month > 12 || day < 1 || day > DaysIn(year, month) ||
		hour > 23 || minute > 59 || sec > maxSec {
		return 0, ErrTimeSyntax
	}
	rest := s[19:]
	var frac int64
	if len(rest) > 0 && rest[0] == '.' {
		i := 1
		scale := int64(100000)
		for ; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
			frac += int64(rest[i]-'0') * scale
			scale /= 10
		}
		if i == 1 {
			return 0, ErrTimeSyntax
		}
		rest = rest[i:]
	}
	var offset int64 // seconds east of UTC
	switch {
	case len(rest) == 0:
		return 0, ErrTimeNoZone
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, ok1 := Digits(rest[1:3])
		om, ok2 := Digits(rest[4:6])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, ErrTimeSyntax
		}
		offset = int64(oh*3600 + om*60)
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return 0, ErrTimeSyntax
	}
	secs := DaysFrom(int64(year), month, day)*86400 + int64(hour*3600+minute*60+sec) - offset
	us := secs*1e6 + frac
	if us < MinTime || us > MaxTime {
		return 0, ErrTimeRange
	}
	return us, nil
}

// Digits reads a fixed-width run of ASCII digits.
func Digits[T ~string | ~[]byte](s T) (int, bool) {
	v := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// ParseEpoch reads a JSON number of seconds since the Unix epoch by its
// decimal text (so 1714521600.1 is exactly .1 s) and returns it in
// microseconds, truncated toward the past: -0.0000015 is -2 µs, the same
// instant as 1969-12-31T23:59:59.9999985Z read by ParseTime.
func ParseEpoch[T ~string | ~[]byte](s T) (int64, error) {
	i := 0
	neg := false
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	// Digits of the integer and fraction parts, leading zeros dropped;
	// more than 40 significant digits cannot matter, but any non-zero digit
	// beyond them still makes the value inexact, which sticky records.
	var mant [40]byte
	n := 0
	sticky := false
	scale := 0 // value = mant × 10^(scale + exp)
	intStart := i
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n == 0 && s[i] == '0' {
			continue
		}
		if n < len(mant) {
			mant[n] = s[i]
			n++
		} else {
			scale++
			sticky = sticky || s[i] != '0'
		}
	}
	intLen := i - intStart
	if intLen == 0 || (intLen > 1 && s[intStart] == '0') {
		return 0, ErrEpoch
	}
	if i < len(s) && s[i] == '.' {
		i++
		fracStart := i
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if n == 0 && s[i] == '0' {
				scale--
				continue
			}
			if n < len(mant) {
				mant[n] = s[i]
				n++
				scale--
			} else {
				sticky = sticky || s[i] != '0'
			}
		}
		if i == fracStart {
			return 0, ErrEpoch
		}
	}
	exp := 0
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		expStart := i
		for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
			if exp < 100000 {
				exp = exp*10 + int(s[i]-'0')
			}
		}
		if i == expStart {
			return 0, ErrEpoch
		}
		if eneg {
			exp = -exp
		}
	}
	if i != len(s) {
		return 0, ErrEpoch
	}
	if n == 0 {
		return 0, nil
	}
	// Microseconds: mant × 10^(scale+exp+6).
	p := scale + exp + 6
	if n+p > 19 {
		return 0, ErrTimeRange
	}
	var u uint64
	keep := n
	if p < 0 {
		keep = n + p // digits at or above the microsecond
		if keep < 0 {
			keep = 0
		}
		for j := keep; j < n; j++ {
			sticky = sticky || mant[j] != '0'
		}
	}
	for j := 0; j < keep; j++ {
		u = u*10 + uint64(mant[j]-'0')
	}
	for ; p > 0; p-- {
		u *= 10
	}
	if u > 1<<62 {
		return 0, ErrTimeRange
	}
	v := int64(u)
	if neg {
		v = -v
		if sticky {
			v-- // truncate toward the past
		}
	}
	if v < MinTime || v > MaxTime {
		return 0, ErrTimeRange
	}
	return v, nil
}

// Time converts microseconds since the epoch to a time.Time in UTC.
func Time(us int64) time.Time {
	return time.UnixMicro(us).UTC()
}
