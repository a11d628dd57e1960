package report

import (
	"testing"
	"time"
)

func TestTimeTicks(t *testing.T) {
	day := func(s string) int64 {
		tm, err := time.Parse("2006-01-02", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm.UnixMicro()
	}
	cases := []struct {
		from, to    string
		first, last string
		n           int
	}{
		{"2024-01-01", "2024-01-03", "Jan 1 00:00", "Jan 3 00:00", 9},                     // 6-hourly
		{"2024-01-01", "2024-01-11", "Jan 1", "Jan 11", 11},                               // daily
		{"2024-01-01", "2024-02-15", "Jan 1", "Feb 12", 7},                                // Mondays
		{"2024-01-01", "2024-03-31", "Jan 2024", "Mar 2024", 3},                           // months
		{"2023-11-15", "2025-06-01", "Nov 2023", "Apr 2025", 7},                           // quarters, the first one partial
		{"2010-01-01", "2024-12-31", "2010", "2024", 8},                                   // years
		{"2014-03-01", "2017-06-01", "2014", "2017", 4},                                   // years, three and a bit
		{"2014-03-01", "2018-06-01", "2014", "2018", 5},                                   // years, the first one partial
		{"2014-01-22", "2022-02-23", "2014", "2022", 5},                                   // every other year, the first one partial
		{"2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", "Jan 1 00:00", "Jan 1 00:00", 1}, // an instant
	}
	for _, c := range cases {
		var from, to int64
		if len(c.from) > 10 {
			a, _ := time.Parse(time.RFC3339, c.from)
			b, _ := time.Parse(time.RFC3339, c.to)
			from, to = a.UnixMicro(), b.UnixMicro()
		} else {
			from, to = day(c.from), day(c.to)
		}
		ticks := timeTicks(from, to)
		if len(ticks) != c.n || ticks[0].label != c.first || ticks[len(ticks)-1].label != c.last {
			t.Errorf("%s to %s: %d ticks %v, want %d from %s to %s", c.from, c.to, len(ticks), ticks, c.n, c.first, c.last)
		}
		for i, tk := range ticks {
			if tk.t < from || tk.t > to || (i > 0 && tk.t <= ticks[i-1].t) {
				t.Errorf("%s to %s: tick %v out of order or range", c.from, c.to, tk)
			}
		}
	}
}

func TestHelpers(t *testing.T) {
	for x, want := range map[float64]float64{0.3: 0.5, 1: 1, 1.2: 2, 4: 5, 7: 10, 120: 200, 0: 1} {
		if got := niceStep(x); got != want {
			t.Errorf("niceStep(%v) = %v, want %v", x, got, want)
		}
	}
	if ramp(0) != "#deebf7" || ramp(1) != "#08306b" || ramp(-1) != ramp(0) || ramp(2) != ramp(1) {
		t.Errorf("ramp ends: %s %s", ramp(0), ramp(1))
	}
	if got := when(time.Date(2024, 1, 15, 0, 0, 0, 0, time.UTC).UnixMicro()); got != "2024-01-15" {
		t.Errorf("when(midnight) = %q", got)
	}
	if got := when(time.Date(2024, 1, 15, 6, 30, 0, 0, time.UTC).UnixMicro()); got != "2024-01-15 06:30:00 UTC" {
		t.Errorf("when(06:30) = %q", got)
	}
	if got := f(12.345); got != "12.3" {
		t.Errorf("f(12.345) = %q", got)
	}
}
