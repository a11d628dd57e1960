package output

import (
	"fmt"
	"io"
	"strings"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/internal/num"
)

// Counts is a summary without its timings (SPEC §5): what a summary file
// is read back into, and what a scenario expects a run to report.
type Counts struct {
	Records    feed.Counts `json:"records"`
	Violations struct {
		Crossing  int64 `json:"crossing"`
		Incursion int64 `json:"incursion"`
		Fire      int64 `json:"fire"`
		Buffer    int64 `json:"buffer"`
	} `json:"violations"`
	Episodes struct {
		SustainedOffensive   int64 `json:"sustained_offensive"`
		SustainedBombardment int64 `json:"sustained_bombardment"`
		Escalation           int64 `json:"escalation"`
	} `json:"episodes"`
	Isolated int64 `json:"isolated"`
}

// Counts is the summary without its timings.
func (s *Summary) Counts() Counts {
	c := Counts{Records: s.Records, Isolated: int64(len(s.Result.Isolated))}
	t := s.Result.ByType
	c.Violations.Crossing, c.Violations.Incursion = int64(t[detect.Crossing]), int64(t[detect.Incursion])
	c.Violations.Fire, c.Violations.Buffer = int64(t[detect.FireType]), int64(t[detect.Buffer])
	k := s.Result.Classes
	c.Episodes.SustainedOffensive = int64(k[detect.SustainedOffensive])
	c.Episodes.SustainedBombardment = int64(k[detect.SustainedBombardment])
	c.Episodes.Escalation = int64(k[detect.Escalation])
	return c
}

// Summary is the account of a run (SPEC §5).
type Summary struct {
	// Records account for every record read; Outside is written only
	// for a run with a time range.
	Records feed.Counts
	Result  *detect.Result
	WallS   float64
	// Range is the run's time range for people ("from … until …"), ""
	// for none; with one, records.outside is written.
	Range string
}

// AppendJSON appends the summary in the shape of SPEC §5.
func (s *Summary) AppendJSON(b []byte) []byte {
	r := s.Records
	b = fmt.Appendf(b, `{"records":{"read":%d,"accepted":%d,"rejected":%d,"duplicate":%d,"late":%d,"unattributed":%d,"beyond_end":%d`,
		r.Read, r.Accepted, r.Rejected, r.Duplicate, r.Late, r.Unattributed, r.BeyondEnd)
	if s.Range != "" {
		b = fmt.Appendf(b, `,"outside":%d`, r.Outside)
	}
	b = append(b, "},"...)
	t := s.Result.ByType
	b = fmt.Appendf(b, `"violations":{"crossing":%d,"incursion":%d,"fire":%d,"buffer":%d},`,
		t[detect.Crossing], t[detect.Incursion], t[detect.FireType], t[detect.Buffer])
	c := s.Result.Classes
	b = fmt.Appendf(b, `"episodes":{"sustained_offensive":%d,"sustained_bombardment":%d,"escalation":%d},`,
		c[detect.SustainedOffensive], c[detect.SustainedBombardment], c[detect.Escalation])
	b = fmt.Appendf(b, `"isolated":%d,"wall_s":`, len(s.Result.Isolated))
	b = num.AppendFormat(b, s.WallS, 3)
	b = append(b, `,"records_per_s":`...)
	rate := 0.0
	if s.WallS > 0 {
		rate = float64(r.Read) / s.WallS
	}
	b = num.AppendFormat(b, rate, 1)
	return append(b, "}\n"...)
}

// WriteText writes the summary in words, for standard error.
func (s *Summary) WriteText(w io.Writer) error {
	r := s.Records
	t := s.Result.ByType
	c := s.Result.Classes
	var sb strings.Builder
	fmt.Fprintf(&sb, "records: %d read, %d accepted (%d unattributed, %d beyond a free end), %d rejected, %d duplicate, %d late",
		r.Read, r.Accepted, r.Unattributed, r.BeyondEnd, r.Rejected, r.Duplicate, r.Late)
	if s.Range != "" {
		fmt.Fprintf(&sb, ", %d outside the time range (%s)", r.Outside, s.Range)
	}
	sb.WriteString("\n")
	fmt.Fprintf(&sb, "violations: %d crossing, %d incursion, %d fire, %d buffer; %d isolated\n",
		t[detect.Crossing], t[detect.Incursion], t[detect.FireType], t[detect.Buffer], len(s.Result.Isolated))
	fmt.Fprintf(&sb, "episodes: %d sustained offensive, %d sustained bombardment, %d escalation\n",
		c[detect.SustainedOffensive], c[detect.SustainedBombardment], c[detect.Escalation])
	rate := 0.0
	if s.WallS > 0 {
		rate = float64(r.Read) / s.WallS
	}
	fmt.Fprintf(&sb, "time: %s s, %s records/s\n", num.Format(s.WallS, 3), num.Format(rate, 1))
	_, err := io.WriteString(w, sb.String())
	return err
}
