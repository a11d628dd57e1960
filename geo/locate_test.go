package geo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func mustLoad(t testing.TB, js string) *Line {
	t.Helper()
	l, err := Load(strings.NewReader(js), Options{Left: "A", Right: "B"})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLocateEquator(t *testing.T) {
	l := mustLoad(t, `{"type":"LineString","coordinates":[[0,0],[1,0]]}`)
	tests := []struct {
		name     string
		lon, lat float64
		side     string
		beyond   bool
	}{
		{"north of mid is left", 0.5, 0.01, "A", false},
		{"south of mid is right", 0.5, -0.01, "B", false},
		{"1 cm north", 0.5, 0.0000001, "A", false},
		{"1 cm south", 0.5, -0.0000001, "B", false},
		{"past the end, north", 1.01, 0.001, "A", false},
		{"far past the end", 1.2, 0.001, "A", true},
		{"far before the start, south", -0.2, -0.001, "B", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loc := l.Locate(tc.lon, tc.lat)
			if loc.Side != tc.side || loc.BeyondEnd != tc.beyond {
				t.Fatalf("got side %s beyond %v, want %s %v (%+v)", loc.Side, loc.BeyondEnd, tc.side, tc.beyond, loc)
			}
			want := Distance([2]float64{tc.lon, tc.lat}, loc.Nearest)
			if math.Abs(loc.DistanceM-want) > math.Max(0.001, want*1e-4) {
				t.Fatalf("distance %v, want %v", loc.DistanceM, want)
			}
		})
	}
}

// The grid must give the very answer the R-tree gives, for points near and
// far, on every fixture line.
func TestGridAgreesWithTree(t *testing.T) {
	for _, name := range []string{"front-2024", "north60", "hairpin", "two-stretches", "straight", "antimeridian"} {
		l, err := LoadFile("../fixtures/lines/"+name+".geojson", Options{})
		if err != nil {
			t.Fatal(err)
		}
		if l.grid == nil {
			t.Fatalf("%s: no grid", name)
		}
		min, max := l.tree.tr.Bounds()
		r := rand.New(rand.NewPCG(7, uint64(len(name))))
		for i := 0; i < 20000; i++ {
			lon := min[0] - 1 + r.Float64()*(max[0]-min[0]+2)
			lat := min[1] - 1 + r.Float64()*(max[1]-min[1]+2)
			if i%2 == 0 { // half of them close to the line
				p, azi := l.PointAt(r.Float64() * l.LengthKm())
				q := Destination(p, azi+90, (r.Float64()*2-1)*r.Float64()*8000)
				lon, lat = q[0], q[1]
			}
			got, want := l.Locate(lon, lat), l.locateTree(lon, lat)
			if got != want {
				t.Fatalf("%s at %.7f,%.7f: grid %+v, tree %+v", name, lon, lat, got, want)
			}
		}
	}
}

// A row's corner distance, worked out once from the row alone, is the one
// each of its cells would have from its own corners, wherever the grid
// lies (the antimeridian included).
func TestGridCornerIsTheCells(t *testing.T) {
	for _, name := range []string{"front-2024", "north60", "antimeridian"} {
		l, err := LoadFile("../fixtures/lines/"+name+".geojson", Options{})
		if err != nil {
			t.Fatal(err)
		}
		g := l.grid
		for _, y := range []int{0, g.nLat / 2, g.nLat - 1} {
			for _, x := range []int{0, g.nLon / 3, g.nLon - 1} {
				lon0, lat0 := g.minLon+float64(x)*g.dLon, g.minLat+float64(y)*g.dLat
				c := [2]float64{lon0 + g.dLon/2, lat0 + g.dLat/2}
				want := math.Max(Distance(c, [2]float64{lon0, lat0}), Distance(c, [2]float64{lon0, lat0 + g.dLat}))
				if got := g.corner(y); math.Abs(got-want) > 1e-6 {
					t.Errorf("%s cell %d,%d: corner %.9f m, from its own corners %.9f m", name, x, y, got, want)
				}
			}
		}
	}
}

// Far must never contradict Locate: wherever it answers, Locate gives the
// same side, no BeyondEnd, and a distance over the buffer and over its
// bound. It must also answer for most points well off the line, or it
// saves nothing. The lines: every fixture, with and without a buffer wider
// than a cell, and two drawn to trap it: a spiral, whose turns face a
// point between them from opposite sides, and a tight zigzag.
func TestFarAgreesWithLocate(t *testing.T) {
	type line struct {
		name string
		l    *Line
	}
	var lines []line
	for _, name := range []string{"front-2024", "north60", "hairpin", "two-stretches", "straight", "antimeridian"} {
		for _, buf := range []float64{0, 3000} {
			l, err := LoadFile("../fixtures/lines/"+name+".geojson", Options{Left: "A", Right: "B", BufferM: buf})
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, line{fmt.Sprintf("%s, buffer %g m", name, buf), l})
		}
	}
	// A spiral of four turns 4 km apart, drawn outwards.
	var spiral, zigzag []string
	for a := 0.0; a < 8*math.Pi; a += 0.05 {
		r := 2000 + 4000*a/(2*math.Pi)
		spiral = append(spiral, fmt.Sprintf("[%.7f,%.7f]", 30+r*math.Cos(a)/(111320*math.Cos(48*degToRad)), 48+r*math.Sin(a)/111000))
	}
	for i := 0; i < 60; i++ {
		zigzag = append(zigzag, fmt.Sprintf("[%.5f,%.5f]", 30+0.03*float64(i), 48+0.05*float64(i%2)))
	}
	for name, coords := range map[string][]string{"spiral": spiral, "zigzag": zigzag} {
		lines = append(lines, line{name, mustLoad(t, `{"type":"LineString","coordinates":[`+strings.Join(coords, ",")+`]}`)})
	}
	for _, tl := range lines {
		l := tl.l
		min, max := l.tree.tr.Bounds()
		r := rand.New(rand.NewPCG(11, uint64(len(tl.name))))
		answered, offLine := 0, 0
		for i := 0; i < 40000; i++ {
			lon := min[0] - 0.5 + r.Float64()*(max[0]-min[0]+1)
			lat := min[1] - 0.5 + r.Float64()*(max[1]-min[1]+1)
			if i%2 == 0 { // half of them within 20 km of the line
				p, azi := l.PointAt(r.Float64() * l.LengthKm())
				q := Destination(p, azi+90, (r.Float64()*2-1)*20000)
				lon, lat = q[0], q[1]
			}
			loc := l.Locate(lon, lat)
			side, minM, ok := l.Far(lon, lat)
			if loc.DistanceM > loc.BufferM+5000 && !loc.BeyondEnd {
				offLine++
				if ok {
					answered++
				}
			}
			if !ok {
				continue
			}
			if side != loc.Side || loc.BeyondEnd || loc.DistanceM <= loc.BufferM || loc.DistanceM < minM || minM < clearMinM {
				t.Fatalf("%s at %.7f,%.7f: Far says %s, at least %.1f m; Locate %+v", tl.name, lon, lat, side, minM, loc)
			}
		}
		t.Logf("%s: Far answered for %d of %d points over 5 km beyond the buffer", tl.name, answered, offLine)
		if tl.name == "front-2024, buffer 0 m" && answered < offLine*7/10 {
			t.Errorf("%s: Far answered for only %d of %d points over 5 km beyond the buffer", tl.name, answered, offLine)
		}
	}
}
