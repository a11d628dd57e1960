package report_test

import (
	"bytes"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/output"
	"github.com/linewatch/linewatch/report"
	"github.com/paulmach/orb"
)

// A line across the antimeridian, 179.5° E to 179.5° W along 60° N, with
// an episode of B's incursions on both sides of ±180 and an isolated one.
func antimeridianRun(t *testing.T) (*geo.Line, detect.Policy, *detect.Result) {
	t.Helper()
	line, err := geo.Load(strings.NewReader(`{"type":"LineString","coordinates":[[179.5,60],[179.9,60],[-179.9,60],[-179.5,60]]}`),
		geo.Options{Left: "A", Right: "B"})
	if err != nil {
		t.Fatal(err)
	}
	pol := detect.DefaultPolicy()
	judge := detect.NewJudge(line, pol)
	var viols []*detect.Violation
	for i, lon := range []float64{179.95, -179.97, 179.99, -179.6} {
		s := detect.Sighting{ID: string(rune('a' + i)), Time: (19844*86400 + int64(i)*3600) * 1e6, Side: "B", Kind: detect.Ground,
			Strength: 1, Confidence: 1, Shape: detect.Point, Coords: []orb.Point{{lon, 60.02}}}
		p := judge.Prepare(&s, uint64(i+1))
		if p.Violation == nil {
			t.Fatalf("sighting %s is no violation", s.ID)
		}
		viols = append(viols, p.Violation)
	}
	res := detect.Aggregate(line, pol, viols)
	if len(res.Episodes) != 1 || len(res.Isolated) != 1 {
		t.Fatalf("%d episodes, %d isolated; want 1 and 1", len(res.Episodes), len(res.Isolated))
	}
	return line, pol, &res
}

// The map of a line across the antimeridian draws it where it lies, as
// one piece around ±180: no sector, episode or graticule line runs across
// the whole map, the line fills the map's width as any other does, the
// violations on either side are on the map, and the graticule labels its
// meridians as longitudes (175°W, not 185°E). The report read from the
// detect output (the episode a MultiLineString cut at ±180) draws the
// same map as the one made in memory.
func TestMapAcrossTheAntimeridian(t *testing.T) {
	line, pol, res := antimeridianRun(t)
	mem := render(t, report.FromResult(line, pol, res))
	var alerts bytes.Buffer
	if err := output.Write(&alerts, line, pol, res, output.Options{Format: output.GeoJSON, Isolated: true, Evidence: true}); err != nil {
		t.Fatal(err)
	}
	d, err := report.Parse(alerts.Bytes(), line, pol)
	if err != nil {
		t.Fatal(err)
	}
	file := render(t, d)
	m := svgOf(t, mem, "map")
	if fm := svgOf(t, file, "map"); fm != m {
		t.Errorf("the map from the file differs from the map made in memory")
	}
	w := attrOf(t, m[:strings.Index(m, ">")], "width")
	xmin, xmax := math.Inf(1), math.Inf(-1)
	paths := regexp.MustCompile(`<path d="([^"]*)" class="(sector|episode) `).FindAllStringSubmatch(m, -1)
	episodes := 0
	for _, p := range paths {
		if p[2] == "episode" {
			episodes++
		}
		prev := math.NaN()
		for _, xy := range regexp.MustCompile(`[ML]([-0-9.]+),`).FindAllStringSubmatch(p[1], -1) {
			x, _ := strconv.ParseFloat(xy[1], 64)
			if math.Abs(x-prev) > w/4 {
				t.Errorf("a %s path jumps from x %v to %v across the map: %s", p[2], prev, x, p[1])
			}
			prev = x
			xmin, xmax = math.Min(xmin, x), math.Max(xmax, x)
		}
	}
	if episodes != 1 {
		t.Errorf("%d episode paths, want 1", episodes)
	}
	if xmax-xmin < 0.7*w {
		t.Errorf("the line takes %v of the map's %v px across, want most of it", xmax-xmin, w)
	}
	for _, c := range regexp.MustCompile(`<circle cx="([-0-9.]+)" cy="([-0-9.]+)" r="[0-9.]+" class="violation`).FindAllStringSubmatch(m, -1) {
		if x, _ := strconv.ParseFloat(c[1], 64); x < 0 || x > w {
			t.Errorf("a violation drawn off the map at x %v", x)
		}
	}
	if strings.Contains(m, `class="outside"`) {
		t.Errorf("violations beside the line are marked as outside the map")
	}
	for _, l := range regexp.MustCompile(`class="grat-label">([0-9.]+)°[EW]<`).FindAllStringSubmatch(m, -1) {
		if v, _ := strconv.ParseFloat(l[1], 64); v > 180 {
			t.Errorf("graticule label %s°", l[1])
		}
	}
}

// A ring around the pole is drawn as a band, sector after sector without a
// jump, and the graticule names each meridian once, although the map is
// wider than the world.
func TestMapOfAPolarRing(t *testing.T) {
	var coords []string
	for lon := 0; lon <= 360; lon += 10 {
		coords = append(coords, "["+strconv.Itoa((lon+180)%360-180)+",88.5]")
	}
	line, err := geo.Load(strings.NewReader(`{"type":"LineString","coordinates":[`+strings.Join(coords, ",")+`]}`),
		geo.Options{Left: "N", Right: "S"})
	if err != nil {
		t.Fatal(err)
	}
	m := svgOf(t, render(t, report.FromResult(line, detect.DefaultPolicy(), &detect.Result{})), "map")
	w := attrOf(t, m[:strings.Index(m, ">")], "width")
	for _, p := range regexp.MustCompile(`<path d="([^"]*)" class="sector `).FindAllStringSubmatch(m, -1) {
		prev := math.NaN()
		for _, xy := range regexp.MustCompile(`[ML]([-0-9.]+),`).FindAllStringSubmatch(p[1], -1) {
			x, _ := strconv.ParseFloat(xy[1], 64)
			if math.Abs(x-prev) > w/4 {
				t.Errorf("a sector path jumps from x %v to %v: %s", prev, x, p[1])
			}
			prev = x
		}
	}
	seen := map[string]bool{}
	for _, l := range regexp.MustCompile(`class="grat-label">([^<]*°[EW])<`).FindAllStringSubmatch(m, -1) {
		if seen[l[1]] {
			t.Errorf("meridian %s labelled twice", l[1])
		}
		seen[l[1]] = true
	}
}
