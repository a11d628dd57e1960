package importer

import (
	"errors"
	"fmt"
	"github.com/linewatch/linewatch/detect"
	inum "github.com/linewatch/linewatch/internal/num"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// Times are microseconds since the Unix epoch, as linewatch keeps them,
// within the range of a sighting's time (SPEC §2: the years 1000–8999).
const (
	minMicros  = detect.MinTime
	maxMicros  = detect.MaxTime
	minSeconds = minMicros / 1e6       // 1000-01-01T00:00:00Z
	maxSeconds = (maxMicros+1)/1e6 - 1 // 8999-12-31T23:59:59Z
	dayMicros  = 86400 * 1e6
)

// timeReader reads the text of a time column.
type timeReader struct {
	layouts []string // Go layouts; none: ISO 8601 / RFC 3339
	unit    int64    // for epoch numbers: microseconds per unit; 0: not epoch
	loc     *time.Location
	// per layout: it has a zone; it has no time of day
	zoned, dateOnly []bool
}

// Time faults.
var (
	errNoZone     = errors.New("no zone")
	errMalformed  = errors.New("malformed")
	errOutOfRange = errors.New("out of range")
)

func newTimeReader(format string, loc *time.Location) (*timeReader, error) {
	tr := &timeReader{loc: loc}
	switch strings.TrimSpace(format) {
	case "":
		return tr, nil
	case "unix":
		tr.unit = 1e6
		return tr, nil
	case "unixms":
		tr.unit = 1e3
		return tr, nil
	}
	for _, l := range strings.Split(format, "|") {
		if strings.TrimSpace(l) == "" {
			return nil, fmt.Errorf("--time-format %q: an empty layout", format)
		}
		if strings.Contains(l, "MST") {
			return nil, fmt.Errorf("--time-format %q: layout %q has a zone abbreviation (MST), which Go reads as UTC when it does not know it (CEST, EEST): write the offset (-07:00, -0700 or -07) or give --tz", format, l)
		}
		// A layout has a zone when a time written in another zone reads
		// back in it; it has a time of day when 13:47 reads back. The
		// zone is a whole number of hours, which an hour-only offset
		// (-07, as GDAL writes +00) writes too.
		const probeZone = 5 * 3600
		ref := time.Date(2001, 2, 3, 13, 47, 59, 0, time.FixedZone("", probeZone))
		back, err := time.Parse(l, ref.Format(l))
		if err != nil {
			return nil, fmt.Errorf("--time-format %q: layout %q does not read what it writes (%v); layouts are Go's, written with the reference time 2006-01-02 15:04:05 -07:00", format, l, err)
		}
		if back.Year() != 2001 || back.Month() != 2 || back.Day() != 3 {
			return nil, fmt.Errorf("--time-format %q: layout %q lacks the year, month or day (write it with the reference time 2006-01-02 15:04:05 -07:00)", format, l)
		}
		_, off := back.Zone()
		tr.layouts = append(tr.layouts, l)
		tr.zoned = append(tr.zoned, off == probeZone)
		tr.dateOnly = append(tr.dateOnly, back.Hour() == 0 && back.Minute() == 0)
	}
	return tr, nil
}

// read parses a time. For a date without a time of day it returns the
// start of that day and dateOnly.
func (tr *timeReader) read(b []byte) (t int64, dateOnly bool, err error) {
	switch {
	case tr.unit != 0:
		f, ok := parseNumber(b, false)
		if !ok {
			return 0, false, errMalformed
		}
		v := f * float64(tr.unit)
		if !(v >= -1e18 && v <= 1e18) { // NaN too; int64 holds ±9.2e18
			return 0, false, errOutOfRange
		}
		if t := int64(v); t >= minMicros && t <= maxMicros {
			return t, false, nil
		}
		return 0, false, errOutOfRange
	case tr.layouts == nil:
		return tr.readISO(b)
	}
	s := unsafe.String(unsafe.SliceData(b), len(b))
	var firstErr error
	for i, l := range tr.layouts {
		if !tr.zoned[i] && tr.loc == nil {
			// Check the form first, so that a malformed value is not
			// reported as zoneless.
			if _, err := time.Parse(l, s); err == nil || tr.dateOnly[i] && stripMidnight(s) != s {
				firstErr = errNoZone
			}
			continue
		}
		loc := tr.loc
		if loc == nil {
			loc = time.UTC
		}
		v, err := time.ParseInLocation(l, s, loc)
		if err != nil && tr.dateOnly[i] {
			if m := stripMidnight(s); m != s {
				v, err = time.ParseInLocation(l, m, loc)
			}
		}
		if err != nil {
			continue
		}
		return fromTime(v, tr.dateOnly[i])
	}
	if firstErr != nil {
		return 0, false, firstErr
	}
	return 0, false, errMalformed
}

// stripMidnight removes a midnight time of day after a date, as
// spreadsheets write it ("2015-01-20 00:00:00.000").
func stripMidnight(s string) string {
	for _, suf := range []string{" 00:00:00.000", " 00:00:00", " 00:00", "T00:00:00Z", "T00:00:00", "T00:00:00.000Z", "T00:00:00.000", " 0:00:00", " 0:00",
		" 00:00:00+00", " 00:00:00+00:00", " 00:00:00Z", "T00:00:00+00:00"} { // GDAL's, with its zone
		if strings.HasSuffix(s, suf) {
			return s[:len(s)-len(suf)]
		}
	}
	return s
}

func fromTime(v time.Time, dateOnly bool) (int64, bool, error) {
	sec := v.Unix()
	if sec < minSeconds || sec > maxSeconds {
		return 0, false, errOutOfRange
	}
	return sec*1e6 + int64(v.Nanosecond()/1000), dateOnly, nil
}

// readISO reads YYYY-MM-DD, optionally followed by T (or t, or a space)
// and hh:mm[:ss[.fraction]] and a zone: Z, ±hh:mm, ±hhmm or ±hh. RFC 3339
// date-times are among these, and GDAL's form (ogr2ogr -f CSV), which
// writes the date YYYY/MM/DD: 2014/01/22 00:00:00+00.
func (tr *timeReader) readISO(b []byte) (int64, bool, error) {
	num := func(i, n int) (int, bool) {
		if i+n > len(b) {
			return 0, false
		}
		return inum.Digits(b[i : i+n])
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 2)
	day, ok3 := num(8, 2)
	if !(ok1 && ok2 && ok3) || !(b[4] == '-' || b[4] == '/') || b[7] != b[4] || month < 1 || month > 12 || day < 1 || day > inum.DaysIn(year, month) {
		return 0, false, errMalformed
	}
	days := inum.DaysFrom(int64(year), month, day)
	if len(b) == 10 {
		if tr.loc == nil {
			return 0, false, errNoZone
		}
		return tr.local(year, month, day, 0, 0, 0, 0, true)
	}
	if c := b[10]; c != 'T' && c != 't' && c != ' ' {
		return 0, false, errMalformed
	}
	hour, ok4 := num(11, 2)
	min, ok5 := num(14, 2)
	if !(ok4 && ok5) || b[13] != ':' || hour > 23 || min > 59 {
		return 0, false, errMalformed
	}
	i := 16
	sec := 0
	if i < len(b) && b[i] == ':' {
		var ok bool
		if sec, ok = num(17, 2); !ok || sec > 60 {
			return 0, false, errMalformed
		}
		i = 19
	}
	var micros int64
	if i < len(b) && (b[i] == '.' || b[i] == ',') && i+1 < len(b) && b[i+1] >= '0' && b[i+1] <= '9' {
		i++
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if i-start < 6 {
				micros = micros*10 + int64(b[i]-'0')
			}
			i++
		}
		for n := i - start; n < 6; n++ {
			micros *= 10
		}
	}
	if i == len(b) {
		if tr.loc == nil {
			return 0, false, errNoZone
		}
		return tr.local(year, month, day, hour, min, sec, micros, false)
	}
	var off int64
	switch b[i] {
	case 'Z', 'z':
		i++
	case '+', '-':
		oh, ok := num(i+1, 2)
		if !ok || oh > 23 {
			return 0, false, errMalformed
		}
		j := i + 3
		om := 0
		if j < len(b) && b[j] == ':' {
			j++
		}
		if j < len(b) {
			if om, ok = num(j, 2); !ok || om > 59 {
				return 0, false, errMalformed
			}
			j += 2
		}
		off = int64(oh*3600 + om*60)
		if b[i] == '-' {
			off = -off
		}
		i = j
	default:
		return 0, false, errMalformed
	}
	if i != len(b) {
		return 0, false, errMalformed
	}
	t := (days*86400+int64(hour*3600+min*60+sec)-off)*1e6 + micros
	if t < minMicros || t > maxMicros {
		return 0, false, errOutOfRange
	}
	return t, false, nil
}

// local returns the time of a civil date and time in tr.loc.
func (tr *timeReader) local(year, month, day, hour, min, sec int, micros int64, dateOnly bool) (int64, bool, error) {
	if tr.loc == time.UTC {
		t := (inum.DaysFrom(int64(year), month, day)*86400+int64(hour*3600+min*60+sec))*1e6 + micros
		if t < minMicros || t > maxMicros {
			return 0, false, errOutOfRange
		}
		return t, dateOnly, nil
	}
	return fromTime(time.Date(year, time.Month(month), day, hour, min, sec, int(micros)*1000, tr.loc), dateOnly)
}

// dayEnd returns the start of the day after the day that starts at t, in
// tr.loc (23 or 25 hours later across a change of clocks).
func (tr *timeReader) dayEnd(t int64) int64 {
	if tr.loc == nil || tr.loc == time.UTC {
		return t + dayMicros
	}
	v := time.UnixMicro(t).In(tr.loc)
	return time.Date(v.Year(), v.Month(), v.Day()+1, 0, 0, 0, 0, tr.loc).UnixMicro()
}

// civilFromDays is the inverse of inum.DaysFrom.
func civilFromDays(z int64) (y, m, d int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	yy := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	m = int(mp + 3)
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		yy++
	}
	return int(yy), m, d
}

// appendTime appends t as RFC 3339 in UTC with Z, the fraction of a second
// without trailing zeros.
func appendTime(dst []byte, t int64) []byte {
	sec := t / 1e6
	us := t % 1e6
	if us < 0 {
		us += 1e6
		sec--
	}
	days := sec / 86400
	rem := sec % 86400
	if rem < 0 {
		rem += 86400
		days--
	}
	y, m, d := civilFromDays(days)
	dst = append4(dst, y)
	dst = append(dst, '-')
	dst = append2(dst, m)
	dst = append(dst, '-')
	dst = append2(dst, d)
	dst = append(dst, 'T')
	dst = append2(dst, int(rem/3600))
	dst = append(dst, ':')
	dst = append2(dst, int(rem/60%60))
	dst = append(dst, ':')
	dst = append2(dst, int(rem%60))
	if us != 0 {
		dst = append(dst, '.')
		n := 6
		for us%10 == 0 {
			us /= 10
			n--
		}
		var digits [6]byte
		for i := n - 1; i >= 0; i-- {
			digits[i] = byte('0' + us%10)
			us /= 10
		}
		dst = append(dst, digits[:n]...)
	}
	return append(dst, 'Z')
}

func append2(dst []byte, v int) []byte { return append(dst, byte('0'+v/10), byte('0'+v%10)) }

func append4(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/1000), byte('0'+v/100%10), byte('0'+v/10%10), byte('0'+v%10))
}

// appendSeconds appends a duration in microseconds as seconds, shortest.
func appendSeconds(dst []byte, us int64) []byte {
	if us%1e6 == 0 {
		return strconv.AppendInt(dst, us/1e6, 10)
	}
	return strconv.AppendFloat(dst, float64(us)/1e6, 'f', -1, 64)
}

// ParseZone reads a --tz value: an IANA zone name (Europe/Kyiv), UTC or Z,
// or a fixed offset ±hh:mm.
func ParseZone(name string) (*time.Location, error) {
	switch name {
	case "":
		return nil, nil
	case "UTC", "utc", "Z", "z", "GMT":
		return time.UTC, nil
	}
	if name[0] == '+' || name[0] == '-' {
		var h, m int
		if n, _ := fmt.Sscanf(name[1:], "%d:%d", &h, &m); n >= 1 && h <= 23 && m <= 59 && m >= 0 && h >= 0 {
			off := h*3600 + m*60
			if name[0] == '-' {
				off = -off
			}
			if off == 0 {
				return time.UTC, nil
			}
			return time.FixedZone(name, off), nil
		}
		return nil, fmt.Errorf("--tz %q: want an IANA zone name (Europe/Kyiv), UTC, or an offset such as +02:00", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("--tz %q: %v", name, err)
	}
	return loc, nil
}
