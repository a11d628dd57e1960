package geo

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

// ring is a closed stretch around a pole at latitude lat, a vertex every
// step degrees of longitude from lon0, heading east.
func ring(lon0, lat, step float64) string {
	var b strings.Builder
	b.WriteString(`{"type":"LineString","coordinates":[`)
	for i := 0; float64(i)*step <= 360; i++ {
		lon := math.Mod(lon0+float64(i)*step+180, 360) - 180
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "[%g,%g]", lon, lat)
	}
	b.WriteString("]}")
	return b.String()
}

func stretchesJSON(coords ...string) string {
	var fs []string
	for _, c := range coords {
		fs = append(fs, `{"type":"Feature","properties":{"left":"A","right":"B"},"geometry":{"type":"LineString","coordinates":`+c+`}}`)
	}
	return `{"type":"FeatureCollection","features":[` + strings.Join(fs, ",") + `]}`
}

// TestLoadValidation: SPEC §1's rules, across the antimeridian and around
// the poles as anywhere else.
func TestLoadValidation(t *testing.T) {
	tests := []struct {
		name string
		js   string
		err  string // "" when the line is valid
	}{
		{"across the antimeridian", `{"type":"LineString","coordinates":[[179.5,60],[179.9,60],[-179.9,60]]}`, ""},
		{"across the antimeridian westward", `{"type":"LineString","coordinates":[[-179.5,-20],[-179.9,-20.1],[179.9,-20],[179.5,-20.2]]}`, ""},
		{"a vertex on the antimeridian", `{"type":"LineString","coordinates":[[179.5,60],[180,60],[-179.5,60]]}`, ""},
		{"a vertex at -180", `{"type":"LineString","coordinates":[[179.5,60],[-180,60],[-179.5,60]]}`, ""},
		{"stretches meeting at 180 and -180", stretchesJSON(`[[179.5,60],[180,60.1]]`, `[[-180,60.1],[-179.5,60.2]]`), ""},
		{"a ring around the north pole", ring(0, 85, 30), ""},
		{"a ring around the south pole", ring(-175, -80, 10), ""},
		{"a ring around the pole, vertex at 180", ring(0, 89.5, 45), ""},
		{"through the pole", `{"type":"LineString","coordinates":[[10,89.8],[10,90],[-170,89.8]]}`, ""},
		{"a long equatorial stretch", `{"type":"LineString","coordinates":[[0,0],[120,0],[-120,0]]}`, ""},

		{"crossing itself across the antimeridian", `{"type":"LineString","coordinates":[[179.9,60.1],[-179.9,60.1],[-179.9,59.9],[179.95,60.2]]}`,
			"stretch 0 segment 0–1 crosses stretch 0 segment 2–3 at "},
		{"stretches crossing at the antimeridian", stretchesJSON(`[[179.9,59.9],[-179.9,60.1]]`, `[[179.9,60.1],[-179.9,59.9]]`),
			"stretch 0 segment 0–1 crosses stretch 1 segment 0–1 at "},
		{"stretches overlapping across the antimeridian", stretchesJSON(`[[179.9,60],[-179.9,60]]`, `[[-179.9,60],[179.9,60]]`),
			"stretch 0 segment 0–1 overlaps stretch 1 segment 0–1 near "},
		{"a ring closed twice", `{"type":"LineString","coordinates":[[0,85],[120,85],[-120,85],[0,85],[120,85]]}`, "stretch 0 segment 0–1 crosses stretch 0 segment 2–3 at "},
		{"stretch touching another's middle at -180", stretchesJSON(`[[179.5,60],[180,60],[-179.5,60]]`, `[[-180,60],[-180,61]]`),
			"stretch 0 segment 0–1 crosses stretch 1 segment 0–1 at "},

		{"antipodal points", `{"type":"LineString","coordinates":[[10,45],[-170,-45]]}`,
			"stretch 0 segment 0–1 joins nearly antipodal points"},
		{"antipodal on the equator", `{"type":"LineString","coordinates":[[30,48],[0,0],[180,0]]}`,
			"stretch 0 segment 1–2 joins nearly antipodal points"},
		{"nearly antipodal", `{"type":"LineString","coordinates":[[0,0],[179.7,0.1]]}`, "nearly antipodal"},
		{"under a metre", `{"type":"LineString","coordinates":[[30,48],[30.000005,48]]}`,
			"stretch 0 is 0.37 m long: a stretch must be at least 1 m long"},
		{"one point at 180 and -180", `{"type":"LineString","coordinates":[[180,60],[-180,60]]}`,
			"stretch 0 has fewer than 2 distinct points"},
		{"the pole twice", `{"type":"LineString","coordinates":[[0,90],[45,90]]}`,
			"stretch 0 has fewer than 2 distinct points"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(strings.NewReader(tc.js), Options{Left: "A", Right: "B"})
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("rejected: %v", err)
			case tc.err != "" && err == nil:
				t.Fatalf("accepted, want %q", tc.err)
			case tc.err != "" && !strings.Contains(err.Error(), tc.err):
				t.Fatalf("error %q, want %q", err, tc.err)
			}
		})
	}
}

// Stretches that meet where one ends at 180 and the next starts at -180
// are joined there: the line goes on through the point, which is not a
// free end.
func TestJoinAcrossTheAntimeridian(t *testing.T) {
	l := mustLoad(t, stretchesJSON(`[[179.5,60],[180,60.1]]`, `[[-180,60.1],[-179.5,60.2]]`))
	if !l.joinNext[0] || !l.joined[0][1] || !l.joined[1][0] {
		t.Fatalf("joinNext %v joined %v: the stretches are not joined", l.joinNext, l.joined)
	}
	// 20 km past the joint, square to the line: judged, not beyond an end.
	p, azi := l.PointAt(l.stretches[0].KmTo)
	q := Destination(p, azi-90, 20000)
	if loc := l.Locate(q[0], q[1]); loc.BeyondEnd || loc.Side != "A" || math.Abs(loc.DistanceM-20000) > 20 {
		t.Errorf("20 km north of the joint: %+v", loc)
	}
}

// TestAntimeridianLocate: sides, distances and chainage where a segment
// crosses the antimeridian are those of the geodesic, as anywhere else.
func TestAntimeridianLocate(t *testing.T) {
	for _, js := range []string{
		`{"type":"LineString","coordinates":[[179.5,60],[179.9,60],[-179.9,60]]}`,
		`{"type":"LineString","coordinates":[[-179.9,60],[179.9,60],[179.5,60]]}`, // the same, walked west
	} {
		l := mustLoad(t, js)
		c := l.stretches[0].Coords
		westward := c[0][0] < 0
		seg, _ := inverse(c[0], c[1])
		s12, azi := inverse(c[1], c[2])
		if westward {
			seg, _ = inverse(c[1], c[2])
			s12, azi = inverse(c[0], c[1])
		}
		if math.Abs(l.LengthKm()*1000-(seg+s12)) > 1e-6 {
			t.Errorf("length %.6f km, want %.6f", l.LengthKm(), (seg+s12)/1000)
		}
		// Points along the crossing segment, 10 m to 40 km either side.
		for _, frac := range []float64{0.01, 0.3, 0.5, 0.7, 0.99} {
			for _, d := range []float64{10, 1000, 40000} {
				for _, left := range []bool{true, false} {
					start := c[1]
					if westward {
						start = c[0]
					}
					on, aziOn := direct(start, azi, frac*s12)
					turn := 90.0
					if left {
						turn = -90
					}
					q, _ := direct(on, aziOn+turn, d)
					loc := l.Locate(q[0], q[1])
					want := "B"
					if left {
						want = "A"
					}
					km := (seg + frac*s12) / 1000
					if westward {
						km = frac * s12 / 1000
					}
					// Locate's plane keeps a few parts in a million out to 50 km.
					if loc.Side != want || math.Abs(loc.DistanceM-d) > math.Max(0.01, d*1e-6) || math.Abs(loc.Km-km)*1000 > 0.01+d*1e-5 {
						t.Errorf("%s: %.0f m %s of %.2f of the segment (%.7f, %.7f): side %s, %.4f m, km %.6f; want %s, %.0f m, km %.6f",
							js, d, map[bool]string{true: "left", false: "right"}[left], frac, q[0], q[1], loc.Side, loc.DistanceM, loc.Km, want, d, km)
					}
					if got, tree := l.Locate(q[0], q[1]), l.locateTree(q[0], q[1]); got != tree {
						t.Errorf("grid %+v, tree %+v", got, tree)
					}
				}
			}
		}
	}
}

// TestPolarRing: a closed stretch around the north pole, walked east, has
// the pole on its left.
func TestPolarRing(t *testing.T) {
	l := mustLoad(t, ring(0, 85, 2))
	for _, p := range []orb.Point{{0, 90}, {5, 85.2}, {-175, 87}, {180, 86}, {-180, 85.5}, {95, 89.99}} {
		if loc := l.Locate(p[0], p[1]); loc.Side != "A" || loc.BeyondEnd {
			t.Errorf("%v: %+v, want side A", p, loc)
		}
	}
	for _, p := range []orb.Point{{0, 84.9}, {5, 84.9}, {-175, 80}, {180, 84}, {-180, 84.99}} {
		if loc := l.Locate(p[0], p[1]); loc.Side != "B" || loc.BeyondEnd {
			t.Errorf("%v: %+v, want side B", p, loc)
		}
	}
	// The pole is as far from every segment's middle: the geodesics bow
	// poleward, so nearer than 5° of latitude.
	loc := l.Locate(0, 90)
	mid, _ := l.PointAt(l.LengthKm() / 360)
	if want := Distance(orb.Point{0, 90}, mid); math.Abs(loc.DistanceM-want) > 0.001*want {
		t.Errorf("the pole is %.3f m from the ring, want %.3f", loc.DistanceM, want)
	}
}

// TestValidateManyStretches: validating a line of many stretches finds the
// fault wherever it is, however many stretches touch end to end.
func TestValidateManyStretches(t *testing.T) {
	const n = 3000
	var cs []string
	for i := 0; i < n; i++ {
		a, b := 20+float64(i)*0.01, 20+float64(i+1)*0.01
		cs = append(cs, fmt.Sprintf("[[%g,%g],[%g,%g]]", a, 48+0.001*float64(i%2), b, 48+0.001*float64((i+1)%2)))
	}
	if _, err := Load(strings.NewReader(stretchesJSON(cs...)), Options{}); err != nil {
		t.Fatalf("valid line rejected: %v", err)
	}
	// The last stretch turns back across the first.
	cs = append(cs, fmt.Sprintf("[[%g,%g],[20.005,47.99]]", 20+float64(n)*0.01, 48+0.001*float64(n%2)))
	_, err := Load(strings.NewReader(stretchesJSON(cs...)), Options{})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("crosses stretch %d segment 0–1", n)) {
		t.Fatalf("err %v, want stretch %d crossing", err, n)
	}
}

func TestSplitAntimeridian(t *testing.T) {
	l := mustLoad(t, `{"type":"LineString","coordinates":[[179.5,60],[179.9,60],[-179.9,60],[-179.5,60.2],[-179.8,60.4],[179.8,60.4]]}`)
	whole := l.Substring(0, 0, l.LengthKm())
	parts := SplitAntimeridian(whole)
	if len(parts) != 3 {
		t.Fatalf("%d parts, want 3: %v", len(parts), parts)
	}
	for i, part := range parts {
		for j := 1; j < len(part); j++ {
			if d := part[j][0] - part[j-1][0]; d > 180 || d < -180 {
				t.Errorf("part %d jumps from %v to %v", i, part[j-1], part[j])
			}
		}
	}
	// Each cut is where the segment's geodesic meets the antimeridian: on
	// the line, 0 m from it.
	for i := 0; i+1 < len(parts); i++ {
		end, start := parts[i][len(parts[i])-1], parts[i+1][0]
		if math.Abs(end[0]) != 180 || end[0] != -start[0] || end[1] != start[1] {
			t.Errorf("cut %d: part ends at %v, the next starts at %v", i, end, start)
		}
		if loc := l.Locate(end[0], end[1]); loc.DistanceM > 1e-6 {
			t.Errorf("cut %d at %v is %.9f m from the line", i, end, loc.DistanceM)
		}
	}
	// The geodesic bows poleward: the first cut lies ~4 m north of 60°.
	if lat := parts[0][len(parts[0])-1][1]; !(lat > 60.00003 && lat < 60.00005) {
		t.Errorf("first cut at latitude %.9f", lat)
	}
	// A piece that does not cross stays whole; one that starts on the
	// antimeridian is not cut there.
	for _, ls := range []orb.LineString{{{30, 48}, {31, 48}}, {{180, 60}, {179.5, 60}}, {{-180, 60}, {-179.5, 60}}} {
		if got := SplitAntimeridian(ls); len(got) != 1 || len(got[0]) != 2 {
			t.Errorf("%v split into %v", ls, got)
		}
	}
	if got := SplitAntimeridian(orb.LineString{{-180, 60}, {179.5, 60}}); len(got) != 1 || got[0][0] != (orb.Point{180, 60}) {
		t.Errorf("starting at -180 going west: %v", got)
	}
}
