package report_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linewatch/linewatch/batch"
	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/output"
	"github.com/linewatch/linewatch/report"
)

const (
	frontLine = "../fixtures/lines/front-2024.geojson"
	quarter   = "../fixtures/sightings/front-2024-q1.ndjson.gz"
)

// The bundled quarter, detected once: 5 episodes of every class and 191
// isolated violations.
var bundled = sync.OnceValues(func() (*run, error) {
	pol := detect.DefaultPolicy()
	line, err := geo.LoadFile(frontLine, pol.LineOptions())
	if err != nil {
		return nil, err
	}
	out, err := batch.Run(batch.Config{Judge: detect.NewJudge(line, pol)}, []string{quarter})
	if err != nil {
		return nil, err
	}
	return &run{line, pol, out}, nil
})

type run struct {
	line *geo.Line
	pol  detect.Policy
	out  *batch.Outcome
}

func bundledRun(t *testing.T) *run {
	t.Helper()
	r, err := bundled()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// alerts is the detect output of the run as a file holds it.
func (r *run) alerts(t *testing.T, opt output.Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := output.Write(&b, r.line, r.pol, &r.out.Result, opt); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func render(t *testing.T, d *report.Data) string {
	t.Helper()
	var b bytes.Buffer
	if err := report.Write(&b, d); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// svgOf is the SVG element with the id, checked to be well-formed XML.
func svgOf(t *testing.T, page, id string) string {
	t.Helper()
	i := strings.Index(page, `<svg id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no svg#%s", id)
	}
	j := strings.Index(page[i:], "</svg>")
	s := page[i : i+j+len("</svg>")]
	dec := xml.NewDecoder(strings.NewReader(s))
	for {
		if _, err := dec.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("svg#%s is not well-formed: %v", id, err)
		}
	}
	return s
}

func TestReportFromDetectOutput(t *testing.T) {
	r := bundledRun(t)
	res := &r.out.Result
	data := r.alerts(t, output.Options{Format: output.GeoJSON, Isolated: true})
	d, err := report.Parse(data, r.line, r.pol)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Episodes) != len(res.Episodes) || len(d.Violations) != len(res.Isolated) {
		t.Fatalf("parsed %d episodes and %d violations, want %d and %d", len(d.Episodes), len(d.Violations), len(res.Episodes), len(res.Isolated))
	}
	page := render(t, d)
	m := svgOf(t, page, "map")
	svgOf(t, page, "timeline")

	// One path per episode on the map, one table row per episode.
	if n := strings.Count(m, `<path d="`) - len(r.line.Sectors()) - 1; n != len(res.Episodes) {
		t.Errorf("map has %d paths besides the sectors' and the north arrow's, want one per episode: %d", n, len(res.Episodes))
	}
	if n := strings.Count(m, `class="episode `); n != len(res.Episodes) {
		t.Errorf("map has %d episode paths, want %d", n, len(res.Episodes))
	}
	if n := strings.Count(page, `<tr class="episode"`); n != len(res.Episodes) {
		t.Errorf("table has %d episode rows, want %d", n, len(res.Episodes))
	}
	if n := strings.Count(m, `<circle cx=`); n != len(res.Isolated) {
		t.Errorf("map has %d violation markers, want %d isolated", n, len(res.Isolated))
	}
	for _, e := range res.Episodes {
		if !strings.Contains(m, `data-ep="`+e.ID+`"`) {
			t.Errorf("episode %s is not on the map", e.ID)
		}
		// Each episode's sectors take its class's colour, unless a worse
		// episode shares them.
		if !strings.Contains(m, `stroke="`+output.Style[e.Class].Color+`"`) {
			t.Errorf("no sector or episode in %s's colour", e.Class)
		}
	}
	// Without its violations, each episode is hatched on the timeline.
	if n := strings.Count(page, `class="ep-area"`); n != len(res.Episodes) {
		t.Errorf("%d hatched episodes, want %d (their cells are not in the alerts)", n, len(res.Episodes))
	}
	for _, want := range []string{"scalebar", `class="north"`, `class="party"`, "<title>", "ep-outline", "sustained_offensive", "sustained_bombardment", "escalation", "isolated"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page has no %q", want)
		}
	}
	selfContained(t, page)
}

// selfContained checks that a page asks nothing of the network.
func selfContained(t *testing.T, page string) {
	t.Helper()
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") || strings.Contains(page, "//www.") {
		t.Error("the page holds a URL")
	}
	for _, m := range regexp.MustCompile(`(?i)\b(src|href|xlink:href|action|poster|srcset)\s*=\s*["']?([^"'\s>]*)`).FindAllStringSubmatch(page, -1) {
		if v := m[2]; !strings.HasPrefix(v, "#") && !strings.HasPrefix(v, "data:") {
			t.Errorf("%s=%q reaches out of the page", m[1], v)
		}
	}
	for _, bad := range []string{"@import", "<iframe", "<img", "<object", "<embed", "fetch(", "XMLHttpRequest", "@font-face"} {
		if strings.Contains(page, bad) {
			t.Errorf("the page has %q", bad)
		}
	}
	for _, m := range regexp.MustCompile(`url\(([^)]*)\)`).FindAllStringSubmatch(page, -1) {
		if !strings.HasPrefix(m[1], "#") {
			t.Errorf("url(%s) reaches out of the page", m[1])
		}
	}
	if !strings.Contains(page, `http-equiv="Content-Security-Policy" content="default-src 'none';`) {
		t.Error("no Content-Security-Policy forbidding requests")
	}
}

// A report made in memory equals the one made from the GeoJSON of the
// same run with every violation in it: the file carries all the report
// needs, and the report recomputes nothing.
func TestReportFromFileEqualsInMemory(t *testing.T) {
	r := bundledRun(t)
	data := r.alerts(t, output.Options{Format: output.GeoJSON, Isolated: true, Evidence: true})
	fromFile, err := report.Parse(data, r.line, r.pol)
	if err != nil {
		t.Fatal(err)
	}
	inMemory := report.FromResult(r.line, r.pol, &r.out.Result)
	a, b := render(t, fromFile), render(t, inMemory)
	if a != b {
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		t.Fatalf("the reports differ at byte %d:\nfile:   %q\nmemory: %q", i, a[max(0, i-80):min(len(a), i+80)], b[max(0, i-80):min(len(b), i+80)])
	}
	if strings.Contains(a, `class="ep-area"`) {
		t.Error("an episode is hatched though all its violations are known")
	}
	// The same as a sequence of Features.
	seq := r.alerts(t, output.Options{Format: output.GeoJSONSeq, Isolated: true, Evidence: true})
	fromSeq, err := report.Parse(seq, r.line, r.pol)
	if err != nil {
		t.Fatal(err)
	}
	if render(t, fromSeq) != a {
		t.Error("the report of a GeoJSONSeq file differs from that of the FeatureCollection")
	}
	// And the same bytes every time.
	if render(t, inMemory) != b {
		t.Error("two renderings differ")
	}
	// Timeline cells: a rect per (sector, window) with a violation.
	cells := map[[2]int64]bool{}
	for _, e := range r.out.Result.Episodes {
		for _, v := range e.Evidence {
			cells[[2]int64{int64(v.Sector), r.pol.WindowOf(v.Time)}] = true
		}
	}
	for _, v := range r.out.Result.Isolated {
		cells[[2]int64{int64(v.Sector), r.pol.WindowOf(v.Time)}] = true
	}
	tl := svgOf(t, a, "timeline")
	if n := strings.Count(tl, `<rect class="cell`); n != len(cells) {
		t.Errorf("%d timeline cells, want %d", n, len(cells))
	}
	hot := 0
	for _, e := range r.out.Result.Episodes {
		hot += len(e.Cells)
	}
	if n := strings.Count(tl, `<rect class="cell hot"`); n != hot {
		t.Errorf("%d hot cells, want %d", n, hot)
	}
}

func TestReportSummaryAndPolicy(t *testing.T) {
	r := bundledRun(t)
	d := report.FromResult(r.line, r.pol, &r.out.Result)
	page := render(t, d)
	if !strings.Contains(page, "No run summary was given") {
		t.Error("no note of the missing summary")
	}
	k := r.out.Counts
	sum := output.Summary{Records: feed.Counts{Read: k.Read, Accepted: k.Accepted, Rejected: k.Rejected, Duplicate: k.Duplicate},
		Result: &r.out.Result, WallS: 0.25}
	d.Summary = report.SummaryOf(&sum)
	d.PolicySource = "strict.yaml"
	d.Title = "Q1 <review>"
	page = render(t, d)
	for _, want := range []string{"<td>records read</td><td class=\"num\">45741</td>", "<td class=\"num\">475</td>",
		"From strict.yaml.", "<td>hot_score</td><td>4</td>", "<td>window</td><td>24h</td>",
		"crossing 3, incursion 2, fire 1, buffer 0.5", "<title>Q1 &lt;review&gt;</title>"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page has no %q", want)
		}
	}
	if _, err := report.ParseSummary([]byte("{")); err == nil {
		t.Error("a broken summary was read")
	}
}

func TestParseRefusesAnotherRun(t *testing.T) {
	r := bundledRun(t)
	data := r.alerts(t, output.Options{Format: output.GeoJSON, Isolated: true})

	other := r.pol
	other.SectorKm = 5
	line5, err := geo.LoadFile(frontLine, geo.Options{SectorKm: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := report.Parse(data, line5, other); err == nil || !strings.Contains(err.Error(), "sector_km") {
		t.Errorf("5 km sectors: %v", err)
	}
	strict := r.pol
	strict.SignificantScoreMicro = detect.RoundMicro(50)
	if _, err := report.Parse(data, r.line, strict); err == nil || !strings.Contains(err.Error(), "--policy") {
		t.Errorf("another significant_score: %v", err)
	}
	weekly := r.pol
	weekly.Window = 7 * 24 * time.Hour
	if _, err := report.Parse(data, r.line, weekly); err == nil || !strings.Contains(err.Error(), "window") {
		t.Errorf("weekly windows: %v", err)
	}
	for _, bad := range []string{"", "[1,2]", `{"type":"Point","coordinates":[1,2]}`, `{"type":"FeatureCollection","features":[]}`, "not json\n"} {
		if _, err := report.Parse([]byte(bad), r.line, r.pol); err == nil {
			t.Errorf("%q was read as alerts", bad)
		}
	}
}

// Streaming alerts: each episode at its last alert, without those another
// alert replaced.
func TestParseStreamAlerts(t *testing.T) {
	r := bundledRun(t)
	seq := r.alerts(t, output.Options{Format: output.GeoJSONSeq})
	var lines []string
	for _, ln := range strings.Split(strings.TrimSpace(string(seq)), "\n") {
		var f map[string]any
		if err := json.Unmarshal([]byte(ln), &f); err != nil {
			t.Fatal(err)
		}
		p := f["properties"].(map[string]any)
		id := p["id"].(string)
		// An earlier alert of another id that this one replaces, then an
		// update of this one with a smaller figure, then the last.
		early := clone(t, f)
		early["properties"].(map[string]any)["id"] = id + "-early"
		early["properties"].(map[string]any)["status"] = "opened"
		upd := clone(t, f)
		upd["properties"].(map[string]any)["violations"] = 1
		upd["properties"].(map[string]any)["status"] = "updated"
		upd["properties"].(map[string]any)["replaces"] = []string{id + "-early"}
		last := clone(t, f)
		last["properties"].(map[string]any)["status"] = "closed"
		for _, x := range []map[string]any{early, upd, last} {
			b, _ := json.Marshal(x)
			lines = append(lines, string(b))
		}
	}
	d, err := report.Parse([]byte(strings.Join(lines, "\n")+"\n"), r.line, r.pol)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Episodes) != len(r.out.Result.Episodes) {
		t.Fatalf("%d episodes, want %d", len(d.Episodes), len(r.out.Result.Episodes))
	}
	for i, e := range d.Episodes {
		want := r.out.Result.Episodes[i]
		if e.ID != want.ID || e.Violations != want.Violations {
			t.Errorf("episode %d: %s with %d violations, want %s with %d", i, e.ID, e.Violations, want.ID, want.Violations)
		}
	}
}

func clone(t *testing.T, f map[string]any) map[string]any {
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// A run without any violation still makes a page: the line, no episode.
func TestReportOfNothing(t *testing.T) {
	r := bundledRun(t)
	page := render(t, &report.Data{Line: r.line, Policy: r.pol})
	m := svgOf(t, page, "map")
	if n := strings.Count(m, `class="sector none"`); n != len(r.line.Sectors()) {
		t.Errorf("%d blank sectors, want all %d", n, len(r.line.Sectors()))
	}
	for _, want := range []string{"No episode", "No violation to show"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page has no %q", want)
		}
	}
	selfContained(t, page)
}

// With corroboration asked of two parties and every observer of one, the
// report shows each episode uncorroborated, beside its unchanged class;
// read with another corroboration threshold, the output is refused.
func TestReportShowsCorroboration(t *testing.T) {
	pol := detect.DefaultPolicy()
	pol.CorroborationMinAffiliations = 2
	aff := map[string]string{}
	for i := 1; i <= 40; i++ {
		aff[fmt.Sprintf("obs-%02d", i)] = "UA"
	}
	pol.Affiliations = detect.NewAffiliations(aff)
	line, err := geo.LoadFile(frontLine, pol.LineOptions())
	if err != nil {
		t.Fatal(err)
	}
	out, err := batch.Run(batch.Config{Judge: detect.NewJudge(line, pol)}, []string{quarter})
	if err != nil {
		t.Fatal(err)
	}
	base := bundledRun(t)
	if len(out.Result.Episodes) != len(base.out.Result.Episodes) {
		t.Fatalf("%d episodes, %d without corroboration", len(out.Result.Episodes), len(base.out.Result.Episodes))
	}
	for i, e := range out.Result.Episodes {
		if e.Corroborated || e.Class != base.out.Result.Episodes[i].Class {
			t.Fatalf("%s: corroborated %v, class %v (was %v)", e.ID, e.Corroborated, e.Class, base.out.Result.Episodes[i].Class)
		}
	}
	var b bytes.Buffer
	if err := output.Write(&b, line, pol, &out.Result, output.Options{Format: output.GeoJSON}); err != nil {
		t.Fatal(err)
	}
	d, err := report.Parse(b.Bytes(), line, pol)
	if err != nil {
		t.Fatal(err)
	}
	page := render(t, d)
	if n := strings.Count(page, "not corroborated: 1 affiliation, no neutral source"); n < len(out.Result.Episodes) {
		t.Errorf("%d episodes say they are not corroborated, want %d", n, len(out.Result.Episodes))
	}
	if !strings.Contains(page, "<th>Corroborated</th>") || !strings.Contains(page, "affiliations 1 ≥ 2") {
		t.Error("the episodes table shows no corroboration")
	}
	if _, err := report.Parse(b.Bytes(), line, detect.DefaultPolicy()); err == nil || !strings.Contains(err.Error(), "--policy") {
		t.Errorf("another corroboration threshold: %v", err)
	}
}
