package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// Crossing is where a movement meets the line.
type Crossing struct {
	Point   orb.Point
	Km      float64
	Sector  int
	Stretch int
}

// Cross finds where the geodesic from a to b first meets the line (the
// meeting nearest a). ok is false when it does not meet it, as happens
// around the end of a stretch.
func (l *Line) Cross(a, b orb.Point) (c Crossing, ok bool) {
	mid := [2]float64{(a[0] + b[0]) / 2, (a[1] + b[1]) / 2}
	f := newFrame(mid[0], mid[1])
	ax, ay := f.plane(ecef(a[0], a[1]))
	bx, by := f.plane(ecef(b[0], b[1]))
	mx, my := bx-ax, by-ay
	min := [2]float64{math.Min(a[0], b[0]) - 0.01, math.Min(a[1], b[1]) - 0.01}
	max := [2]float64{math.Max(a[0], b[0]) + 0.01, math.Max(a[1], b[1]) + 0.01}
	bestU, bestSeg, bestV := math.Inf(1), -1, 0.0
	l.tree.Search(min, max, func(_, _ [2]float64, i int32) bool {
		sg := &l.segs[i]
		px, py := f.plane(sg.a)
		qx, qy := f.plane(sg.b)
		sx, sy := qx-px, qy-py
		den := mx*sy - my*sx
		if den == 0 {
			return true // parallel: touching along is not crossing
		}
		// a + u·m = p + v·s
		wx, wy := px-ax, py-ay
		u := (wx*sy - wy*sx) / den
		v := (wx*my - wy*mx) / den
		if u < 0 || u > 1 || v < 0 || v > 1 {
			return true
		}
		if u < bestU || (u == bestU && int(i) < bestSeg) {
			bestU, bestSeg, bestV = u, int(i), v
		}
		return true
	})
	if bestSeg < 0 {
		return Crossing{}, false
	}
	sg := &l.segs[bestSeg]
	st := &l.stretches[sg.stretch]
	p, q := st.Coords[sg.index], st.Coords[sg.index+1]
	var pt orb.Point
	if sg.lengthM < 4000 && math.Abs(p[0]-q[0]) < 90 {
		pt = orb.Point{p[0] + bestV*(q[0]-p[0]), p[1] + bestV*(q[1]-p[1])}
	} else {
		lon, lat := geodetic(sg.a.add(sg.b.sub(sg.a).scale(bestV)))
		pt = orb.Point{lon, lat}
	}
	km := sg.startKm + bestV*sg.lengthM/1000
	k := int(sg.stretch)
	return Crossing{Point: pt, Km: km, Sector: l.SectorAt(k, km), Stretch: k}, true
}
