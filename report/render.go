package report

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/internal/num"
	"github.com/linewatch/linewatch/output"
	"github.com/linewatch/linewatch/policy"
)

//go:embed report.html.tmpl
var pageText string

var page = template.Must(template.New("report").Parse(pageText))

// view is what the page template shows.
type view struct {
	Title, Source, Line, PolicySource string
	Period, Range                     string
	LeftOut                           struct{ Episodes, Violations int }
	Map, Timeline                     template.HTML
	Classes                           []classCount
	Episodes                          []episodeRow
	Isolated                          int
	Summary                           *Summary
	Policy                            []policyRow
	PointsDrawn                       int
	PointsCut                         bool
	Outside                           int // violations outside the map's frame, marked at its edge
	Approximate                       int // episodes whose cells are not known one by one
	TimelineNote                      string
	NoIsolated                        bool         // none in a file: maybe written without --isolated
	ClassCSS                          template.CSS // a swatch colour per class
}

type classCount struct {
	Name, Label, Colour string
	Count               int
}

type episodeRow struct {
	ID, Class, Label, Colour, Party string
	Start, End, Span                string
	Sectors, Km                     string
	Violations, Crossings           int
	Incursions, Fire, Buffer        int
	Criteria                        []criterionRow
	Evidence                        int    // ids listed in the alerts
	EvidenceIDs                     string // for a tooltip
	Description                     string
}

type criterionRow struct {
	Name  string
	Holds bool
	Tests []testRow
	// Absent: the output read was written before the criterion existed.
	Absent bool
}

type testRow struct {
	What, Value, Op, Threshold string
	Holds                      bool
}

type policyRow struct{ Key, Value string }

// Write writes the report as one HTML page. It asks nothing of the
// network: styles and the small script that links the views on hover are
// inline, the drawings are SVG.
func Write(w io.Writer, d *Data) error {
	v := &view{
		Title:        d.Title,
		Source:       d.Source,
		Line:         d.Line.Describe(),
		PolicySource: d.PolicySource,
		Summary:      d.Summary,
		Range:        d.Range,
		LeftOut:      d.LeftOut,
	}
	if v.Title == "" {
		v.Title = "linewatch report"
	}
	if v.PolicySource == "" {
		v.PolicySource = "the built-in defaults"
	}
	counts := map[string]int{}
	for _, e := range d.Episodes {
		counts[e.Class]++
	}
	for _, x := range d.Violations {
		if x.Episode == "" {
			v.Isolated++
		}
	}
	for _, c := range []detect.Class{detect.SustainedOffensive, detect.SustainedBombardment, detect.Escalation} {
		v.Classes = append(v.Classes, classCount{c.String(), label(c.String()), output.Style[c].Color, counts[c.String()]})
	}
	v.Classes = append(v.Classes, classCount{"isolated", "isolated violations", output.Style[detect.Isolated].Color, v.Isolated})
	if len(d.Episodes)+len(d.Violations) > 0 {
		lo, hi := int64(1<<62), int64(-1<<62)
		for _, e := range d.Episodes {
			lo, hi = min(lo, int64(e.Start)), max(hi, int64(e.End))
		}
		for _, x := range d.Violations {
			lo, hi = min(lo, x.Time), max(hi, x.Time)
		}
		v.Period = when(lo) + " – " + when(hi)
	}
	for i := range d.Episodes {
		v.Episodes = append(v.Episodes, episodeRowOf(&d.Episodes[i]))
	}
	v.NoIsolated = d.FromFile && v.Isolated == 0
	var css strings.Builder
	for _, c := range []detect.Class{detect.SustainedOffensive, detect.SustainedBombardment, detect.Escalation, detect.Isolated} {
		fmt.Fprintf(&css, ".sw.%s { background: %s; }\n", c, output.Style[c].Color)
	}
	v.ClassCSS = template.CSS(css.String())
	v.Policy = policyRows(d.Policy)
	v.Map = template.HTML(drawMap(d, v))
	v.Timeline = template.HTML(drawTimeline(d, v))
	return page.Execute(w, v)
}

// days is a duration in days for people: "1 day", "6 days", "0.25 days".
func days(us int64) string {
	d := num.Format(float64(us)/86400e6, 2)
	if d == "1" {
		return "1 day"
	}
	return d + " days"
}

func label(class string) string { return strings.ReplaceAll(class, "_", " ") }

func episodeRowOf(e *Episode) episodeRow {
	c, _ := classOf(e.Class)
	r := episodeRow{
		ID: e.ID, Class: e.Class, Label: label(e.Class), Colour: output.Style[c].Color, Party: e.Party,
		Start: when(int64(e.Start)), End: when(int64(e.End)),
		Span:       days(int64(e.End)-int64(e.Start)) + ", " + plural(e.HotWindows, "hot window"),
		Km:         num.Format(e.KmFrom, 3) + "–" + num.Format(e.KmTo, 3),
		Violations: e.Violations, Crossings: e.Crossings,
		Incursions: e.Incursions, Fire: e.Fire, Buffer: e.Buffer,
		Evidence: len(e.Evidence), EvidenceIDs: strings.Join(e.Evidence, " "),
		Description: e.Description,
	}
	r.Sectors = e.Sectors[0]
	if len(e.Sectors) > 1 {
		r.Sectors += "–" + e.Sectors[len(e.Sectors)-1]
	}
	s, dl, su := &e.Criteria.Significant, &e.Criteria.Deliberate, &e.Criteria.Sustained
	ge := func(what string, v, t float64, dec int) testRow {
		return testRow{what, num.Format(v, dec), "≥", num.Format(t, dec), v >= t}
	}
	r.Criteria = []criterionRow{
		{Name: "significant", Holds: s.Holds, Tests: []testRow{
			ge("score", s.Score, s.MinScore, 6), ge("depth m", s.MaxDepthM, s.MinDepthM, 3), ge("strength", s.Strength, s.MinStrength, 6)}},
		{Name: "deliberate", Holds: dl.Holds, Tests: []testRow{
			ge("ground", float64(dl.Ground), float64(dl.MinGround), 0), ge("tracks", float64(dl.Tracks), float64(dl.MinTracks), 0)}},
		{Name: "sustained", Holds: su.Holds, Tests: []testRow{
			ge("hot windows", float64(su.HotWindows), float64(su.MinHotWindows), 0)}},
	}
	if co := e.Criteria.Corroborated; co != nil {
		r.Criteria = append(r.Criteria, criterionRow{Name: "corroborated", Holds: co.Holds, Tests: []testRow{
			ge("affiliations", float64(co.Affiliations), float64(co.MinAffiliations), 0),
			{"neutral violations", strconv.Itoa(co.Neutral), ">", "0", co.Neutral > 0}}})
	} else {
		r.Criteria = append(r.Criteria, criterionRow{Name: "corroborated", Absent: true})
	}
	return r
}

// episodeTip is an episode's tooltip: id, class, dates, place, criteria.
func episodeTip(e *Episode) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s — %s\n%s, %s to %s\n", e.ID, label(e.Class), e.Party, when(int64(e.Start)), when(int64(e.End)))
	fmt.Fprintf(&sb, "sectors %s, km %s–%s\n", strings.Join(e.Sectors, " "), num.Format(e.KmFrom, 3), num.Format(e.KmTo, 3))
	fmt.Fprintf(&sb, "%s: %d crossings, %d incursions, %d fire, %d buffer\n", plural(e.Violations, "violation"), e.Crossings, e.Incursions, e.Fire, e.Buffer)
	for _, c := range episodeRowOf(e).Criteria {
		if c.Absent {
			continue
		}
		mark := "no"
		if c.Holds {
			mark = "yes"
		}
		fmt.Fprintf(&sb, "%s: %s (", c.Name, mark)
		for i, t := range c.Tests {
			if i > 0 {
				sb.WriteString("; ")
			}
			fmt.Fprintf(&sb, "%s %s %s %s", t.What, t.Value, t.Op, t.Threshold)
		}
		sb.WriteString(")\n")
	}
	return strings.TrimSuffix(sb.String(), "\n")
}

func violationTip(x *Violation) string {
	s := fmt.Sprintf("%s by %s (%s), %s\nsector %s, km %s, depth %s m, weight %s",
		x.Type, x.Party, x.ID, when(x.Time), x.Sector, num.Format(x.Km, 3), num.Format(x.DepthM, 3), num.FormatMicro(x.Weight))
	if x.Track != "" {
		s += ", track " + x.Track
	}
	if x.Episode != "" {
		return s + "\n" + label(x.Class) + " " + x.Episode
	}
	return s + "\nisolated"
}

// policyRows lists the policy in SPEC §7 order.
func policyRows(p detect.Policy) []policyRow {
	m := policy.Map(p)
	var rows []policyRow
	for _, k := range policy.Keys() {
		val, ok := m[k]
		if !ok {
			continue
		}
		rows = append(rows, policyRow{k, plain(val)})
	}
	return rows
}

func plain(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case map[string]any:
		var parts []string
		for _, t := range detect.WeightTypes {
			if w, ok := x[t]; ok {
				parts = append(parts, t+" "+plain(w))
			}
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprint(v)
}
