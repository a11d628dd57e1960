package batch

import (
	"fmt"
	"math"

	"github.com/linewatch/linewatch/internal/num"
)

// TimeRange keeps the sightings whose time lies from Since (included) to
// Until (excluded), in microseconds since the epoch: detect --since and
// --until. The others are counted as Outside, neither accepted nor
// rejected, so that the records still add up.
type TimeRange struct {
	Since, Until int64
}

// Contains tells whether t lies in the range.
func (r *TimeRange) Contains(t int64) bool { return r == nil || t >= r.Since && t < r.Until }

// String is the range for people: "from 2024-02-01T00:00:00Z until
// 2024-03-01T00:00:00Z", either end left out when open.
func (r *TimeRange) String() string {
	switch {
	case r == nil:
		return ""
	case r.Since == math.MinInt64:
		return "until " + num.FormatTime(r.Until)
	case r.Until == math.MaxInt64:
		return "from " + num.FormatTime(r.Since)
	}
	return "from " + num.FormatTime(r.Since) + " until " + num.FormatTime(r.Until)
}

// ParseTimeRange reads --since and --until, each an RFC 3339 date-time
// (2024-02-01T06:00:00Z) or a date (2024-02-01: its midnight UTC), or
// empty for no bound. It returns nil when both are empty.
func ParseTimeRange(since, until string) (*TimeRange, error) {
	if since == "" && until == "" {
		return nil, nil
	}
	r := &TimeRange{Since: math.MinInt64, Until: math.MaxInt64}
	for _, b := range []struct {
		flag, text string
		to         *int64
	}{{"--since", since, &r.Since}, {"--until", until, &r.Until}} {
		if b.text == "" {
			continue
		}
		s := b.text
		if len(s) == 10 {
			s += "T00:00:00Z"
		}
		t, err := num.ParseTime(s)
		if err != nil {
			return nil, fmt.Errorf("%s %q: want an RFC 3339 date-time (2024-02-01T06:00:00Z) or a date (2024-02-01, midnight UTC)", b.flag, b.text)
		}
		*b.to = t
	}
	if r.Since >= r.Until {
		return nil, fmt.Errorf("--since %s is not before --until %s", since, until)
	}
	return r, nil
}
