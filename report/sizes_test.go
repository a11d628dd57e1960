package report_test

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/output"
	"github.com/linewatch/linewatch/report"
)

// straightLine is a line along latitude 48° from 30° E, vertices every
// 0.05°, long enough for n sectors of sectorKm.
func straightLine(t *testing.T, n int, sectorKm float64) *geo.Line {
	t.Helper()
	deg := float64(n)*sectorKm/74.6 + 0.01 // a degree of longitude at 48° is about 74.6 km
	var sb strings.Builder
	sb.WriteString(`{"type":"LineString","coordinates":[`)
	steps := int(deg/0.05) + 1
	for i := 0; i <= steps; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, "[%.6f,48]", 30+deg*float64(i)/float64(steps))
	}
	sb.WriteString("]}")
	l, err := geo.Load(strings.NewReader(sb.String()), geo.Options{Left: "A", Right: "B", SectorKm: sectorKm})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(l.Sectors()); got < n || got > n+n/50+1 {
		t.Fatalf("line of %d sectors, want %d", got, n)
	}
	return l
}

// sizedData is a report of violations in windows windows, spread over
// the line's sectors, with two adjacent episodes.
func sizedData(line *geo.Line, pol detect.Policy, windows int) *report.Data {
	d := &report.Data{Line: line, Policy: pol}
	secs := line.Sectors()
	day := pol.WindowMicros()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	for w := 0; w < windows; w++ {
		s := secs[w%len(secs)]
		d.Violations = append(d.Violations, report.Violation{
			ID: fmt.Sprintf("v%d", w), Class: "isolated", Party: "A", Type: "incursion",
			Time: t0 + int64(w)*day + day/2, Lon: 30.01, Lat: 48.01, Sector: s.ID, Km: s.KmFrom, DepthM: 100, Weight: 1e6,
		})
	}
	for i, class := range []string{"sustained_offensive", "escalation"} {
		e := report.Episode{Episode: output.Episode{ID: fmt.Sprintf("E%d", i), Class: class, Party: "A",
			Start: output.Instant(t0 + int64(i)*day), End: output.Instant(t0 + int64(i+1)*day), Sectors: []string{secs[0].ID}, Violations: 1}}
		e.Criteria.Significant.Holds = true
		d.Episodes = append(d.Episodes, e)
	}
	return d
}

// The report draws lines of a handful of sectors and of a thousand, over
// one window and over thousands.
func TestReportSizes(t *testing.T) {
	pol := detect.DefaultPolicy()
	front, err := geo.LoadFile(frontLine, geo.Options{SectorKm: 100})
	if err != nil {
		t.Fatal(err)
	}
	lines := []struct {
		name string
		line *geo.Line
	}{
		{"3 sectors", straightLine(t, 3, 10)},
		{"12 sectors", straightLine(t, 12, 10)},
		{"1000 sectors", straightLine(t, 1000, 1)},
		{"front-2024 at 100 km", front},
	}
	for _, l := range lines {
		for _, windows := range []int{1, 1500, 5000} {
			t.Run(fmt.Sprintf("%s, %d windows", l.name, windows), func(t *testing.T) {
				page := render(t, sizedData(l.line, pol, windows))
				m := svgOf(t, page, "map")
				tl := svgOf(t, page, "timeline")
				if !strings.Contains(tl, l.line.Sectors()[0].ID) {
					t.Errorf("the timeline names no sector")
				}
				if !strings.Contains(m, `class="sector-label"`) {
					t.Errorf("the map names no sector")
				}
			})
		}
	}
}

// attrOf returns the number in attribute name of an SVG element's markup.
func attrOf(t *testing.T, el, name string) float64 {
	t.Helper()
	m := regexp.MustCompile(` ` + name + `="([-0-9.]+)"`).FindStringSubmatch(el)
	if m == nil {
		t.Fatalf("no %s in %s", name, el)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The timeline's labels stay inside the drawing and apart from each other,
// and the outlines of adjacent episodes do not overlap.
func TestTimelineLayout(t *testing.T) {
	pol := detect.DefaultPolicy()
	for _, windows := range []int{1, 10, 95, 300, 1500, 3000} {
		t.Run(fmt.Sprint(windows), func(t *testing.T) {
			d := sizedData(straightLine(t, 30, 10), pol, windows)
			tl := svgOf(t, render(t, d), "timeline")
			width := attrOf(t, tl[:strings.Index(tl, ">")], "width")
			lastRight := -1.0
			for _, m := range regexp.MustCompile(`<text [^>]*y="22" class="tick-label"[^>]*>([^<]*)</text>`).FindAllStringSubmatch(tl, -1) {
				x := attrOf(t, m[0], "x")
				w := 5.5 * float64(utf8.RuneCountInString(m[1])) // at least this wide
				left := x
				if strings.Contains(m[0], `text-anchor="end"`) {
					left = x - w
				}
				if left+w > width || left < 0 {
					t.Errorf("label %q at %v–%v runs off the drawing (0–%v)", m[1], left, left+w, width)
				}
				if left < lastRight {
					t.Errorf("label %q at %v overlaps the label before, which ends at %v", m[1], left, lastRight)
				}
				lastRight = left + w
			}
			if lastRight < 0 {
				t.Fatal("no time label")
			}
			var boxes [][4]float64
			for _, el := range regexp.MustCompile(`<rect class="ep-outline"[^>]*>`).FindAllString(tl, -1) {
				x, y := attrOf(t, el, "x"), attrOf(t, el, "y")
				// The stroke is 2 px wide, centred on the rectangle's edge.
				boxes = append(boxes, [4]float64{x - 1, y - 1, x + attrOf(t, el, "width") + 1, y + attrOf(t, el, "height") + 1})
			}
			if len(boxes) != 2 {
				t.Fatalf("%d episode outlines, want 2", len(boxes))
			}
			a, b := boxes[0], boxes[1]
			if windows > 1200 {
				return // the two days share a column
			}
			if a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3] {
				t.Errorf("the outlines of adjacent episodes overlap: %v and %v", a, b)
			}
		})
	}
}

// One far outlier does not squeeze the line into a corner of the map: the
// map frames the line and the bulk of the violations, and marks the
// points outside at its edge with their count.
func TestMapFramesTheBulk(t *testing.T) {
	pol := detect.DefaultPolicy()
	line := straightLine(t, 30, 10) // 300 km along 48° N from 30° E
	d := sizedData(line, pol, 40)
	far := d.Violations[3]
	far.ID, far.Lon, far.Lat = "far", 30.5, 53.2 // 579 km north
	d.Violations = append(d.Violations, far)
	m := svgOf(t, render(t, d), "map")
	w, h := attrOf(t, m[:strings.Index(m, ">")], "width"), attrOf(t, m[:strings.Index(m, ">")], "height")
	xmin, xmax := math.Inf(1), math.Inf(-1)
	for _, p := range regexp.MustCompile(`<path d="([^"]*)" class="sector `).FindAllStringSubmatch(m, -1) {
		for _, xy := range regexp.MustCompile(`[ML]([-0-9.]+),`).FindAllStringSubmatch(p[1], -1) {
			x, _ := strconv.ParseFloat(xy[1], 64)
			xmin, xmax = math.Min(xmin, x), math.Max(xmax, x)
		}
	}
	if xmax-xmin < 0.7*w {
		t.Errorf("the line takes %v of the map's %v px across, want most of it", xmax-xmin, w)
	}
	out := regexp.MustCompile(`(?s)<g class="outside"[^>]*>.*?</g>`).FindAllString(m, -1)
	if len(out) != 1 {
		t.Fatalf("%d marks of points outside the map, want 1:\n%s", len(out), m)
	}
	if !strings.Contains(out[0], ">1</text>") || !strings.Contains(out[0], "far") {
		t.Errorf("the mark does not count the point or name it: %s", out[0])
	}
	x, y := attrOf(t, out[0], "data-x"), attrOf(t, out[0], "data-y")
	if x < 0 || x > w || y < 0 || y > h/4 {
		t.Errorf("the mark of a point far north is at %v, %v, not at the top edge of %v × %v", x, y, w, h)
	}
	// Without the outlier, nothing is outside.
	d.Violations = d.Violations[:len(d.Violations)-1]
	if m := svgOf(t, render(t, d), "map"); strings.Contains(m, `class="outside"`) {
		t.Errorf("a mark of points outside the map, with none outside")
	}
}
