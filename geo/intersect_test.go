package geo

import (
	"fmt"
	"math"
	"testing"

	"github.com/paulmach/orb"
)

// TestCrossLongGrazing: pairs of up to 850 km crossing the line at a
// grazing angle meet it where their geodesic does, not where a plane
// tangent somewhere would put it (SPEC §9). Each pair is built along a
// geodesic through a known point of the line, so the answer is known.
func TestCrossLongGrazing(t *testing.T) {
	l, err := LoadFile("../fixtures/lines/straight.geojson", Options{SectorKm: 5})
	if err != nil {
		t.Fatal(err)
	}
	c := l.stretches[0].Coords
	for _, tc := range []struct {
		seg        int     // segment of the line the pair crosses
		frac       float64 // where along it
		angle      float64 // between the pair and the line, degrees
		lengthM    float64
		beforeFrac float64 // share of the pair before the line
	}{
		{6, 0.5, 2, 850e3, 0.5},
		{6, 0.5, -2, 850e3, 0.5},
		{3, 0.1, 1, 600e3, 0.3},
		{9, 0.8, 5, 300e3, 0.7},
		{1, 0.5, 30, 850e3, 0.5},
		{6, 0.5, 90, 2000e3, 0.5},
		{6, 0.25, 10, 9000, 0.5},  // short pair, plane enough but for the angle
		{6, 0.25, 60, 5000, 0.5},  // the usual kind
		{6, 0.25, 0.5, 5000, 0.5}, // grazing: the plane cannot tell
	} {
		t.Run(fmt.Sprintf("%.0f km at %g°", tc.lengthM/1000, tc.angle), func(t *testing.T) {
			s, azi := inverse(c[tc.seg], c[tc.seg+1])
			x, aziX := direct(c[tc.seg], azi, tc.frac*s)
			a, _ := direct(x, aziX+tc.angle+180, tc.lengthM*tc.beforeFrac)
			b, _ := direct(x, aziX+tc.angle, tc.lengthM*(1-tc.beforeFrac))
			cr, ok := l.Cross(orb.Point(a), orb.Point(b))
			if !ok {
				t.Fatal("no crossing")
			}
			km := (l.segs[tc.seg].startKm*1000 + tc.frac*s) / 1000
			if d := Distance(cr.Point, x); d > 0.01 || math.Abs(cr.Km-km)*1000 > 0.01 || cr.Sector != l.SectorAt(0, km) {
				t.Errorf("crossing at %v (%.3f m from the true one), km %.6f sector %d; want %v, km %.6f sector %d",
					cr.Point, d, cr.Km, cr.Sector, x, km, l.SectorAt(0, km))
			}
		})
	}
}

// TestCrossAntimeridian: a pair across the antimeridian meets a line
// across it where their geodesics meet.
func TestCrossAntimeridian(t *testing.T) {
	l := mustLoad(t, `{"type":"LineString","coordinates":[[179.5,60],[179.9,60],[-179.9,60],[-179.5,60]]}`)
	c := l.stretches[0].Coords
	s, azi := inverse(c[1], c[2])
	for _, frac := range []float64{0.2, 0.5, 0.8} {
		x, aziX := direct(c[1], azi, frac*s)
		for _, length := range []float64{4000, 50e3, 500e3} {
			a, _ := direct(x, aziX+70+180, length/2)
			b, _ := direct(x, aziX+70, length/2)
			cr, ok := l.Cross(orb.Point(a), orb.Point(b))
			km := (l.segs[1].startKm*1000 + frac*s) / 1000
			if !ok || Distance(cr.Point, x) > 0.01 || math.Abs(cr.Km-km)*1000 > 0.01 {
				t.Errorf("%.0f km pair across %v: %+v %v, want %v km %.6f", length/1000, x, cr, ok, x, km)
			}
		}
	}
}
