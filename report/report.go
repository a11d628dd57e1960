// Package report writes the human-facing report of a detection run: one
// self-contained HTML file that opens from disk in any browser and asks
// nothing of the network.
//
// It shows a map of the agreed line (an SVG drawn here: sectors coloured by
// the worst class seen in them, episodes, violations, a scale bar, a north
// arrow and the parties' names on their sides), a timeline of sectors ×
// time whose cells are shaded by score with the episodes outlined, a table
// of the episodes with each criterion's measured value beside its
// threshold, and the run's summary and policy.
//
// The report shows what detect found; it decides nothing. Its Data comes
// either from a detection result in memory (FromResult) or from detect's
// GeoJSON output read back (Parse): the episode and violation Features
// carry every figure the report needs.
//
//	data := report.FromResult(line, pol, &outcome.Result)
//	data.Summary = report.SummaryOf(&sum)
//	err := report.Write(w, data)
package report

import (
	"encoding/json"
	"fmt"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/internal/num"
	"github.com/linewatch/linewatch/output"
)

// Data is everything a report shows.
type Data struct {
	// Title heads the page; empty means "linewatch report".
	Title string
	// Source names what the episodes were read from (file names), if any.
	Source string
	// Line is the agreed line the run judged against.
	Line *geo.Line
	// Policy is the policy of the run: its windows lay out the timeline.
	Policy detect.Policy
	// PolicySource says where the policy came from: a file name, or empty
	// for the built-in defaults.
	PolicySource string
	// Episodes in output order: by start, lowest sector, party, id.
	Episodes []Episode
	// Violations are the isolated violations and those of the episodes'
	// evidence that are known, by time then id.
	Violations []Violation
	// Summary is the run's account of its records, or nil.
	Summary *Summary
	// FromFile is set by Parse: what the file holds may be less than the
	// run found (no isolated violations without detect --isolated).
	FromFile bool
	// Range is the time range the report shows, for people ("from …
	// until …"), "" for all; LeftOut counts the episodes and violations
	// outside it that Keep left out.
	Range   string
	LeftOut struct{ Episodes, Violations int }
}

// Keep keeps the violations whose time lies from since (included) to
// until (excluded), in microseconds, and the episodes that overlap that
// range; it counts those left out, and names the range (rng) on the page.
func (d *Data) Keep(since, until int64, rng string) {
	d.Range = rng
	eps := d.Episodes[:0]
	for _, e := range d.Episodes {
		if int64(e.End) > since && int64(e.Start) < until {
			eps = append(eps, e)
		} else {
			d.LeftOut.Episodes++
		}
	}
	d.Episodes = eps
	vs := d.Violations[:0]
	for _, v := range d.Violations {
		if v.Time >= since && v.Time < until {
			vs = append(vs, v)
		} else {
			d.LeftOut.Violations++
		}
	}
	d.Violations = vs
}

// Episode is an episode as detect writes it (SPEC §5), with its
// geometry.
type Episode struct {
	output.Episode
	// Coords is the episode's geometry: the line from KmFrom to KmTo (its
	// parts one after the other where it is cut at the antimeridian).
	Coords [][2]float64 `json:"-"`
}

// Violation is a violation as detect writes it: isolated (Episode empty) or
// one of an episode's.
type Violation struct {
	ID      string
	Class   string
	Episode string
	Party   string
	Type    string
	Time    int64 // µs
	Lon     float64
	Lat     float64
	Sector  string
	Km      float64
	DepthM  float64
	Weight  int64 // micro-units
	Track   string
}

// Summary is a run's account (SPEC §5), as detect --summary writes it.
type Summary struct {
	output.Counts
	WallS       float64 `json:"wall_s"`
	RecordsPerS float64 `json:"records_per_s"`
}

// ParseSummary reads a summary as detect --summary writes it.
func ParseSummary(data []byte) (*Summary, error) {
	var s Summary
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("summary: %w", err)
	}
	return &s, nil
}

// SummaryOf is the report's copy of a run's summary.
func SummaryOf(s *output.Summary) *Summary {
	r, err := ParseSummary(s.AppendJSON(nil))
	if err != nil {
		panic("report: output.Summary wrote what it cannot read back: " + err.Error())
	}
	return r
}

// FromResult takes a detection result in memory: every episode, and every
// violation, isolated or in an episode. The figures are those detect's
// GeoJSON output carries, rounded the same way, so that a report made from
// a `detect --isolated --evidence` file equals this one.
func FromResult(line *geo.Line, pol detect.Policy, res *detect.Result) *Data {
	d := &Data{Line: line, Policy: pol}
	for _, e := range res.Episodes {
		d.Episodes = append(d.Episodes, episodeOf(line, pol, e))
		for _, v := range e.Evidence {
			d.Violations = append(d.Violations, violationOf(line, v, e))
		}
	}
	for _, v := range res.Isolated {
		d.Violations = append(d.Violations, violationOf(line, v, nil))
	}
	sortViolations(d.Violations)
	return d
}

func episodeOf(line *geo.Line, pol detect.Policy, e *detect.Episode) Episode {
	x := Episode{Episode: output.EpisodeOf(line, pol, e)}
	for _, part := range output.EpisodeGeometry(line, e) {
		for _, p := range part {
			x.Coords = append(x.Coords, [2]float64{num.Round(p[0], 6), num.Round(p[1], 6)})
		}
	}
	return x
}

func violationOf(line *geo.Line, v *detect.Violation, e *detect.Episode) Violation {
	x := Violation{
		ID: v.ID, Class: detect.Isolated.String(), Party: v.Party, Type: v.Type.String(), Time: v.Time,
		Lon: num.Round(v.Lon, 6), Lat: num.Round(v.Lat, 6), Sector: line.SectorID(v.Sector),
		Km: num.Round(v.Km, 3), DepthM: num.Round(v.DepthM, 3), Weight: v.Weight, Track: v.Track,
	}
	if e != nil {
		x.Class, x.Episode = e.Class.String(), e.ID
	}
	return x
}
