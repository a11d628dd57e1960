package geo_test

// Accuracy of Locate against true geodesic values (SPEC §1: within 0.1 % or
// 1 m, whichever is larger, of GeographicLib's minimum on the WGS 84
// ellipsoid). The reference tables under fixtures/reference/ are made by
// scripts/refvalues from the line fixtures that scripts/makelines writes;
// these tests only read them and need nothing installed.

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tidwall/geodesic"

	"github.com/linewatch/linewatch/geo"
)

const fixtureDir = "../fixtures"

func loadFixtureLine(t *testing.T, name string) *geo.Line {
	t.Helper()
	l, err := geo.LoadFile(filepath.Join(fixtureDir, "lines", name+".geojson"), geo.Options{})
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return l
}

// readTable reads a reference CSV ('#' lines are comments) into rows keyed by
// the header's column names.
func readTable(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comment = '#'
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(recs) < 2 {
		t.Fatalf("%s: no rows", path)
	}
	var rows []map[string]string
	for _, rec := range recs[1:] {
		row := make(map[string]string, len(rec))
		for i, col := range recs[0] {
			row[col] = rec[i]
		}
		rows = append(rows, row)
	}
	return rows
}

func num(t *testing.T, row map[string]string, col string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(row[col], 64)
	if err != nil {
		t.Fatalf("column %s: %v", col, err)
	}
	return v
}

func integer(t *testing.T, row map[string]string, col string) int {
	t.Helper()
	v, err := strconv.Atoi(row[col])
	if err != nil {
		t.Fatalf("column %s: %v", col, err)
	}
	return v
}

// refPoint is one row of a reference table: a probe point and the true answer.
type refPoint struct {
	index            int // row among the table's points, from 0
	kind             string
	lon, lat         float64
	distanceM, km    float64
	side             string // "left" or "right" of the stretch
	stretch, segment int
	beyondEnd        bool
	nearLon, nearLat float64
}

func readReference(t *testing.T, name string) []refPoint {
	t.Helper()
	var pts []refPoint
	for i, row := range readTable(t, filepath.Join(fixtureDir, "reference", name+".csv")) {
		pts = append(pts, refPoint{
			index: i, kind: row["kind"],
			lon: num(t, row, "lon"), lat: num(t, row, "lat"),
			distanceM: num(t, row, "distance_m"), km: num(t, row, "km"),
			side: row["side"], stretch: integer(t, row, "stretch"), segment: integer(t, row, "segment"),
			beyondEnd: row["beyond_end"] == "true",
			nearLon:   num(t, row, "nearest_lon"), nearLat: num(t, row, "nearest_lat"),
		})
	}
	return pts
}

// TestAccuracyReference locates every point of the reference tables and
// compares distance, chainage, side and beyond-end with GeographicLib's values.
func TestAccuracyReference(t *testing.T) {
	for _, name := range []string{"front-2024", "north60", "antimeridian", "polar"} {
		t.Run(name, func(t *testing.T) { checkReference(t, name) })
	}
}

func checkReference(t *testing.T, name string) {
	l := loadFixtureLine(t, name)
	pts := readReference(t, name)
	stretches := l.Stretches()

	var (
		failures                    []string
		maxAbsM, maxRel, maxKmErrM  float64
		worstAbs, worstRel, worstKm = -1, -1, -1
		sideMismatches, beyondMis   int
		distFails, kmFails          int
		segmentDiffers              int
	)
	fail := func(p refPoint, format string, args ...any) {
		failures = append(failures, fmt.Sprintf("%s #%d (%s) at %.10f,%.10f: ", name, p.index, p.kind, p.lon, p.lat)+
			fmt.Sprintf(format, args...))
	}
	for _, p := range pts {
		if p.stretch < 0 || p.stretch >= len(stretches) {
			t.Fatalf("%s #%d: reference stretch %d, the line has %d", name, p.index, p.stretch, len(stretches))
		}
		loc := l.Locate(p.lon, p.lat)

		if p.distanceM <= 50000 {
			errM := math.Abs(loc.DistanceM - p.distanceM)
			if errM > maxAbsM {
				maxAbsM, worstAbs = errM, p.index
			}
			if p.distanceM >= 1 && errM/p.distanceM > maxRel {
				maxRel, worstRel = errM/p.distanceM, p.index
			}
			if allowed := math.Max(1, 0.001*p.distanceM); errM > allowed {
				distFails++
				fail(p, "distance %.4f m, want %.4f m (off by %.4f m, %.4f %%; allowed %.4f m); nearest %.7f,%.7f, want %.7f,%.7f",
					loc.DistanceM, p.distanceM, errM, 100*errM/math.Max(p.distanceM, 1e-9), allowed,
					loc.Nearest[0], loc.Nearest[1], p.nearLon, p.nearLat)
			}
		}

		kmErrM := math.Abs(loc.Km-p.km) * 1000
		kmTolM := math.Max(1, p.km) // 0.1 % of the chainage (1 m per km), or 1 m
		if kmErrM > maxKmErrM {
			maxKmErrM, worstKm = kmErrM, p.index
		}
		if kmErrM > kmTolM {
			kmFails++
			fail(p, "chainage %.7f km, want %.7f km (off by %.3f m; allowed %.3f m); stretch %d segment %d, want %d %d",
				loc.Km, p.km, kmErrM, kmTolM, loc.Stretch, loc.Segment, p.stretch, p.segment)
		}

		if p.distanceM >= 0.001 { // under 1 mm the side is not meaningful
			st := stretches[p.stretch]
			want := st.Right
			if p.side == "left" {
				want = st.Left
			}
			if loc.Side != want || loc.Left != (p.side == "left") {
				sideMismatches++
				fail(p, "side %q (left %v), want %q (%s of stretch %d); distance %.4f m, ref %.4f m; stretch %d segment %d, want %d %d",
					loc.Side, loc.Left, want, p.side, p.stretch, loc.DistanceM, p.distanceM,
					loc.Stretch, loc.Segment, p.stretch, p.segment)
			}
		}

		if loc.BeyondEnd != p.beyondEnd {
			beyondMis++
			fail(p, "beyond_end %v, want %v; distance %.4f m, ref %.4f m; nearest %.7f,%.7f, want %.7f,%.7f",
				loc.BeyondEnd, p.beyondEnd, loc.DistanceM, p.distanceM,
				loc.Nearest[0], loc.Nearest[1], p.nearLon, p.nearLat)
		}

		// Equidistant places make the segment a matter of tie-breaking, so
		// a different one is only counted, not failed.
		if loc.Stretch != p.stretch || loc.Segment != p.segment {
			segmentDiffers++
		}
	}

	t.Logf("%s: %d points; distance: max error %.4f m (#%d), max relative error %.5f %% (#%d, points ≥ 1 m); "+
		"chainage: max error %.4f m (#%d); side mismatches %d; beyond-end mismatches %d; "+
		"nearest segment differs from the reference at %d points",
		name, len(pts), maxAbsM, worstAbs, 100*maxRel, worstRel, maxKmErrM, worstKm,
		sideMismatches, beyondMis, segmentDiffers)
	const show = 60
	for i, f := range failures {
		if i == show {
			t.Errorf("... and %d more", len(failures)-show)
			break
		}
		t.Error(f)
	}
	if len(failures) > 0 {
		t.Errorf("%s: %d distance, %d chainage, %d side, %d beyond-end failures among %d points",
			name, distFails, kmFails, sideMismatches, beyondMis, len(pts))
	}
}

// TestAccuracyLengths compares line and stretch lengths and chainages with
// the geodesic lengths in fixtures/reference/lengths.csv.
func TestAccuracyLengths(t *testing.T) {
	rows := readTable(t, filepath.Join(fixtureDir, "reference", "lengths.csv"))
	byLine := map[string][]map[string]string{}
	var order []string
	for _, row := range rows {
		if _, ok := byLine[row["line"]]; !ok {
			order = append(order, row["line"])
		}
		byLine[row["line"]] = append(byLine[row["line"]], row)
	}
	within := func(got, want float64) bool { // 0.1 %, or 1 m
		return math.Abs(got-want) <= math.Max(0.001, 0.001*math.Abs(want))
	}
	for _, name := range order {
		t.Run(name, func(t *testing.T) {
			l := loadFixtureLine(t, name)
			stretches := l.Stretches()
			maxRel := 0.0
			rel := func(got, want float64) {
				if want != 0 {
					maxRel = math.Max(maxRel, math.Abs(got-want)/want)
				}
			}
			for _, row := range byLine[name] {
				want := num(t, row, "length_km")
				if row["stretch"] == "all" {
					rel(l.LengthKm(), want)
					if !within(l.LengthKm(), want) {
						t.Errorf("length %.7f km, want %.7f km (off by %.3f m)", l.LengthKm(), want, 1000*(l.LengthKm()-want))
					}
					continue
				}
				k := integer(t, row, "stretch")
				if k >= len(stretches) {
					t.Fatalf("stretch %d: the line has %d", k, len(stretches))
				}
				st := stretches[k]
				if st.Name != row["name"] {
					t.Errorf("stretch %d: name %q, want %q", k, st.Name, row["name"])
				}
				from, to := num(t, row, "km_from"), num(t, row, "km_to")
				rel(st.KmTo-st.KmFrom, want)
				if !within(st.KmTo-st.KmFrom, want) {
					t.Errorf("stretch %d %q: length %.7f km, want %.7f km", k, st.Name, st.KmTo-st.KmFrom, want)
				}
				if !within(st.KmFrom, from) || !within(st.KmTo, to) {
					t.Errorf("stretch %d %q: chainage %.7f–%.7f km, want %.7f–%.7f km", k, st.Name, st.KmFrom, st.KmTo, from, to)
				}
			}
			t.Logf("%s: max relative length error %.2e", name, maxRel)
		})
	}
}

// direct is the point s metres from lon, lat along the geodesic with initial
// azimuth azi (degrees clockwise from north), on WGS 84.
func direct(lon, lat, azi, s float64) (float64, float64) {
	var lat2, lon2 float64
	geodesic.WGS84.Direct(lat, lon, azi, s, &lat2, &lon2, nil)
	return lon2, lat2
}

// inverse is the distance between two points and the geodesic's azimuth at
// each end.
func inverse(lon1, lat1, lon2, lat2 float64) (s, azi1, azi2 float64) {
	geodesic.WGS84.Inverse(lat1, lon1, lat2, lon2, &s, &azi1, &azi2)
	return s, azi1, azi2
}

type sideCase struct {
	name     string
	lon, lat float64
	side     string  // party expected
	beyond   bool    // expected BeyondEnd
	distM    float64 // expected distance when > 0 (checked to 0.1 % or 1 m)
}

func checkSides(t *testing.T, l *geo.Line, cases []sideCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			loc := l.Locate(tc.lon, tc.lat)
			if loc.Side != tc.side || loc.BeyondEnd != tc.beyond {
				t.Errorf("at %.10f,%.10f: side %q beyond_end %v, want %q %v (distance %.4f m, km %.6f, stretch %d segment %d, nearest %.8f,%.8f)",
					tc.lon, tc.lat, loc.Side, loc.BeyondEnd, tc.side, tc.beyond,
					loc.DistanceM, loc.Km, loc.Stretch, loc.Segment, loc.Nearest[0], loc.Nearest[1])
			}
			if tc.distM > 0 && math.Abs(loc.DistanceM-tc.distM) > math.Max(1, 0.001*tc.distM) {
				t.Errorf("at %.10f,%.10f: distance %.4f m, want %.4f m", tc.lon, tc.lat, loc.DistanceM, tc.distM)
			}
		})
	}
}

// TestAccuracySidesHairpin: the hairpin runs east along arm 1 for 20 km to
// the tip at 30.3 E 49 N, turns right by 170 degrees and runs back along arm 2
// (azimuth 260) for 20 km. Left is A, right is B. Because the turn is to the
// right, the narrow wedge between the arms (bearings 260–270 from the tip) is
// on the right of both arms; everything around the outside is on the left.
func TestAccuracySidesHairpin(t *testing.T) {
	l := loadFixtureLine(t, "hairpin")
	c := l.Stretches()[0].Coords
	tip := c[10]
	if len(c) != 21 || tip[0] != 30.3 || tip[1] != 49 {
		t.Fatalf("hairpin fixture changed: %d vertices, tip %v", len(c), tip)
	}
	_, _, in := inverse(c[9][0], c[9][1], tip[0], tip[1])    // arriving at the tip: ~90
	_, out, _ := inverse(tip[0], tip[1], c[11][0], c[11][1]) // leaving the tip: ~260
	wedge := out + 5                                         // halfway between arm 2 and arm 1 (reversed)
	at := func(azi, s float64) (float64, float64) { return direct(tip[0], tip[1], azi, s) }

	var cases []sideCase
	add := func(name string, lon, lat float64, side string, distM float64) {
		cases = append(cases, sideCase{name: name, lon: lon, lat: lat, side: side, distM: distM})
	}
	lon, lat := at(wedge, 1)
	// 1 m into the wedge: 8.7 cm from each arm, on the inside of the turn.
	add("inside the tip, 1 m", lon, lat, "B", 0)
	lon, lat = at(wedge, 200)
	// The nearest points are on the arms (200·sin 5° = 17 m away), not the tip.
	add("inside the tip, 200 m", lon, lat, "B", 200*math.Sin(5*math.Pi/180))
	lon, lat = at(wedge, 5000)
	// Arms 870 m apart here; equidistant from both, right of both.
	add("inside, 5 km from the tip", lon, lat, "B", 0)
	lon, lat = at(out+8, 15000)
	// Between the arms, nearer arm 1: south of an eastward arm is its right.
	add("between the arms, nearer arm 1", lon, lat, "B", 0)
	lon, lat = at(out+2, 15000)
	// Between the arms, nearer arm 2: north of a westward arm is its right.
	add("between the arms, nearer arm 2", lon, lat, "B", 0)
	lon, lat = at(in-5, 10)
	// Straight past the tip: the tip is nearest; the bisector of the arms'
	// directions (90 and 260) points at 175, and the point lies left of it.
	add("beyond the tip, 10 m", lon, lat, "A", 10)
	lon, lat = at(in-5, 1000)
	add("beyond the tip, 1 km", lon, lat, "A", 1000)
	lon, lat = at(30, 3000)
	// North-east of the tip, ahead of arm 1 and outside the turn.
	add("north-east of the tip", lon, lat, "A", 3000)
	lon, lat = at(140, 3000)
	// South-east of the tip, outside the turn; the tip is still nearest
	// (120 degrees from arm 2's direction).
	add("south-east of the tip", lon, lat, "A", 3000)
	lon, lat = direct(c[5][0], c[5][1], 0, 300)
	// North of arm 1, which runs east: left.
	add("outside arm 1", lon, lat, "A", 300)
	lon, lat = direct(c[15][0], c[15][1], out-90, 300)
	// South of arm 2, which runs west: left.
	add("outside arm 2", lon, lat, "A", 300)
	checkSides(t, l, cases)
}

// TestAccuracySidesStraight: the straight line runs east along 48 N from
// 30 E to 31.3 E, vertices every 0.1 degree; left is A (north), right is B
// (south). Its segments are geodesics, which bow about 1.2 m north of the
// parallel between vertices.
func TestAccuracySidesStraight(t *testing.T) {
	l := loadFixtureLine(t, "straight")
	c := l.Stretches()[0].Coords
	if len(c) != 14 || c[0][0] != 30 || c[13][0] != 31.3 {
		t.Fatalf("straight fixture changed: %v", c)
	}
	// The middle of segment 6 (30.6 E to 30.7 E), on the geodesic, and the
	// line's direction there.
	s, azi1, _ := inverse(c[6][0], c[6][1], c[7][0], c[7][1])
	var midLat, midLon, midAzi float64
	geodesic.WGS84.Direct(c[6][1], c[6][0], azi1, s/2, &midLat, &midLon, &midAzi)
	// Directions of the ends extended: backwards from the start, onwards
	// from the end.
	_, startAzi, _ := inverse(c[0][0], c[0][1], c[1][0], c[1][1])
	west := startAzi + 180
	_, _, east := inverse(c[12][0], c[12][1], c[13][0], c[13][1])

	var cases []sideCase
	add := func(name string, lon, lat float64, side string, beyond bool, distM float64) {
		cases = append(cases, sideCase{name: name, lon: lon, lat: lat, side: side, beyond: beyond, distM: distM})
	}
	lon, lat := direct(midLon, midLat, midAzi-90, 0.01)
	// 1 cm north of the geodesic's middle: left of an eastward line.
	add("1 cm north of mid-segment", lon, lat, "A", false, 0.01)
	lon, lat = direct(midLon, midLat, midAzi+90, 0.01)
	// 1 cm south: right.
	add("1 cm south of mid-segment", lon, lat, "B", false, 0.01)
	// On the parallel halfway between two vertices: the geodesic segment
	// passes ~1.2 m north of it, so the point is south of the line (a
	// straight segment in lon/lat degrees would put it on the line).
	add("on the parallel, mid-segment", 30.65, 48, "B", false, 0)
	add("on the parallel, 0.5 m north, mid-segment", 30.65, 48.0000045, "B", false, 0)
	lon, lat = direct(c[0][0], c[0][1], west+10, 2000)
	// Past the west end, north of the extended first segment (walking
	// east, north is left); within end_reach, so not beyond the end.
	add("past the west end, north, 2 km", lon, lat, "A", false, 2000)
	lon, lat = direct(c[0][0], c[0][1], west-10, 8000)
	// Past the west end, south; 8 km is beyond end_reach (5 km).
	add("past the west end, south, 8 km", lon, lat, "B", true, 8000)
	lon, lat = direct(c[13][0], c[13][1], east-10, 8000)
	// Past the east end, north of the extended last segment: left, beyond.
	add("past the east end, north, 8 km", lon, lat, "A", true, 8000)
	lon, lat = direct(c[13][0], c[13][1], east+10, 2000)
	// Past the east end, south: right, within reach.
	add("past the east end, south, 2 km", lon, lat, "B", false, 2000)
	lon, lat = direct(c[13][0], c[13][1], east+30, 4900)
	// Just inside end_reach (4.9 km): judged.
	add("past the east end, 4.9 km", lon, lat, "B", false, 4900)
	lon, lat = direct(c[13][0], c[13][1], east-30, 5100)
	// Just beyond end_reach (5.1 km).
	add("past the east end, 5.1 km", lon, lat, "A", true, 5100)
	checkSides(t, l, cases)
}

// TestAccuracyCrossings compares Cross with the meetings in
// fixtures/reference/crossings.csv: pairs from 200 m to 1000 km long, at
// angles from grazing to square, whose geodesic meets the line once,
// several times or not at all; the reference is the meeting nearest the
// pair's first position, found on the ellipsoid with GeographicLib (SPEC
// §9). The crossing point must be within 1 cm of it, its chainage within
// 1 cm, on the same segment.
func TestAccuracyCrossings(t *testing.T) {
	rows := readTable(t, filepath.Join(fixtureDir, "reference", "crossings.csv"))
	lines := map[string]*geo.Line{}
	var maxErrM, maxKmErrM float64
	multi := 0
	for i, row := range rows {
		name := row["line"]
		l := lines[name]
		if l == nil {
			l = loadFixtureLine(t, name)
			lines[name] = l
		}
		a := [2]float64{num(t, row, "a_lon"), num(t, row, "a_lat")}
		b := [2]float64{num(t, row, "b_lon"), num(t, row, "b_lat")}
		c, ok := l.Cross(a, b)
		meets := integer(t, row, "meets")
		what := fmt.Sprintf("%s #%d (%.3f km pair %v → %v, meets the line %d times)", name, i, num(t, row, "pair_km"), a, b, meets)
		if ok != (meets > 0) {
			t.Errorf("%s: Cross ok %v (%+v)", what, ok, c)
			continue
		}
		if !ok {
			continue
		}
		if meets > 1 {
			multi++
		}
		want := [2]float64{num(t, row, "lon"), num(t, row, "lat")}
		errM := geo.Distance(c.Point, want)
		kmErrM := math.Abs(c.Km-num(t, row, "km")) * 1000
		maxErrM, maxKmErrM = math.Max(maxErrM, errM), math.Max(maxKmErrM, kmErrM)
		stretch, seg := integer(t, row, "stretch"), integer(t, row, "segment")
		if errM > 0.01 || kmErrM > 0.01 || c.Stretch != stretch || l.SectorAt(stretch, num(t, row, "km")) != c.Sector {
			t.Errorf("%s: at %.10f, %.10f km %.7f stretch %d sector %d; want %.10f, %.10f km %.7f stretch %d segment %d (%.3f m and %.3f m of chainage off)",
				what, c.Point[0], c.Point[1], c.Km, c.Stretch, c.Sector, want[0], want[1], num(t, row, "km"), stretch, seg, errM, kmErrM)
		}
	}
	t.Logf("%d pairs (%d meeting the line more than once): crossing point within %.4f m, chainage within %.4f m",
		len(rows), multi, maxErrM, maxKmErrM)
}
