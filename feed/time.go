package feed

// Times are read as SPEC §2 and §9 say: an RFC 3339 date-time with T and a
// zone, or a JSON number of seconds since the Unix epoch; either is
// truncated to microseconds, an epoch number by its decimal text. Times
// outside the years 0000 to 9999 (UTC), which RFC 3339 cannot write, are
// out of range.

import inum "github.com/linewatch/linewatch/internal/num"

const (
	timeOK = iota
	timeMalformed
	timeNoZone
	timeOutOfRange
)

const (
	minSeconds = -62167219200 // 0000-01-01T00:00:00Z
	maxSeconds = 253402300799 // 9999-12-31T23:59:59Z
)

// parseRFC3339 returns the microseconds since the epoch of an RFC 3339
// date-time (RFC 3339 §5.6; t and z may be lower case, a leap second 60 is
// the first second of the next minute).
func parseRFC3339(b []byte) (int64, int) {
	num := func(i, n int) (int, bool) {
		if i+n > len(b) {
			return 0, false
		}
		v := 0
		for _, c := range b[i : i+n] {
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 2)
	day, ok3 := num(8, 2)
	hour, ok4 := num(11, 2)
	min, ok5 := num(14, 2)
	sec, ok6 := num(17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) ||
		b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != 't') || b[13] != ':' || b[16] != ':' {
		return 0, timeMalformed
	}
	if month < 1 || month > 12 || day < 1 || day > inum.DaysIn(year, month) || hour > 23 || min > 59 || sec > 60 {
		return 0, timeMalformed
	}
	i := 19
	var micros int64
	if i < len(b) && b[i] == '.' {
		i++
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if i-start < 6 {
				micros = micros*10 + int64(b[i]-'0')
			}
			i++
		}
		if i == start {
			return 0, timeMalformed
		}
		for k := i - start; k < 6; k++ {
			micros *= 10
		}
	}
	var offset int
	switch {
	case i == len(b):
		return 0, timeNoZone
	case (b[i] == 'Z' || b[i] == 'z') && i+1 == len(b):
	case (b[i] == '+' || b[i] == '-') && i+6 == len(b) && b[i+3] == ':':
		oh, ok1 := num(i+1, 2)
		om, ok2 := num(i+4, 2)
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return 0, timeMalformed
		}
		offset = oh*3600 + om*60
		if b[i] == '-' {
			offset = -offset
		}
	default:
		return 0, timeMalformed
	}
	secs := inum.DaysFrom(int64(year), month, day)*86400 + int64(hour*3600+min*60+sec-offset)
	if secs < minSeconds || secs > maxSeconds {
		return 0, timeOutOfRange
	}
	return secs*1e6 + micros, timeOK
}

// epochMicros returns the microseconds of a JSON number of epoch seconds,
// truncated by its decimal text: towards the past, so a time before 1970
// truncates as its RFC 3339 form does. ok is false out of range.
func epochMicros(b []byte) (int64, bool) {
	neg := false
	if b[0] == '-' {
		neg = true
		b = b[1:]
	}
	// b = digits [. digits] [e [+-] digits]; value = 0.D × 10^point, with D
	// the digits without the point.
	var digits [64]byte
	d := digits[:0]
	nd, point := 0, 0 // digits seen, the decimal point's place among them
	nonzeroDropped := false
	take := func(c byte) {
		if nd < len(digits) {
			d = append(d, c)
		} else if c != '0' {
			// Past the 64th digit: it only matters to truncate a
			// negative time towards the past.
			nonzeroDropped = true
		}
		nd++
	}
	i := 0
	for ; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
		take(b[i])
	}
	point = nd
	if i < len(b) && b[i] == '.' {
		for i++; i < len(b) && b[i] >= '0' && b[i] <= '9'; i++ {
			take(b[i])
		}
	}
	if i < len(b) { // exponent
		i++
		eneg := false
		if b[i] == '+' || b[i] == '-' {
			eneg = b[i] == '-'
			i++
		}
		e := 0
		for ; i < len(b); i++ {
			if e < 1e6 {
				e = e*10 + int(b[i]-'0')
			}
		}
		if eneg {
			e = -e
		}
		point += e
	}
	// Strip leading zeros.
	for len(d) > 0 && d[0] == '0' {
		d = d[1:]
		point--
	}
	if len(d) == 0 && !nonzeroDropped {
		return 0, true
	}
	if point > 13 { // ≥ 1e13 s
		return 0, false
	}
	if point < -7 {
		// All microsecond digits are zero, and something smaller remains.
		point = -7
	}
	// secs = D[0:point], micros = D[point:point+6], rest dropped.
	digit := func(k int) int64 {
		if k < 0 || k >= len(d) {
			return 0
		}
		return int64(d[k] - '0')
	}
	var secs, micros int64
	for k := 0; k < point; k++ {
		secs = secs*10 + digit(k)
	}
	for k := point; k < point+6; k++ {
		micros = micros*10 + digit(k)
	}
	dropped := nonzeroDropped
	for k := max(point+6, 0); k < len(d) && !dropped; k++ {
		dropped = d[k] != '0'
	}
	t := secs*1e6 + micros
	if neg {
		t = -t
		if dropped {
			t-- // towards the past
		}
	}
	if t < minSeconds*1e6 || t > maxSeconds*1e6+999999 {
		return 0, false
	}
	return t, true
}
