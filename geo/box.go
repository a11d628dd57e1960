package geo

import (
	"math"

	"github.com/paulmach/orb"
	"github.com/tidwall/rtree"
)

// Boxes in longitude and latitude, for the R-trees. A box that crosses the
// antimeridian is kept unbroken, its longitudes running past 180 (a
// segment from 179.9 to -179.9 has the box 179.9 to 180.1); searches look
// at each box and at it shifted by 360°.

// inverse3 is the geodesic distance from a to b and its azimuths at a and
// (forward) at b.
func inverse3(a, b orb.Point) (s, azi1, azi2 float64) {
	wgs84.Inverse(a[1], a[0], b[1], b[0], &s, &azi1, &azi2)
	return s, azi1, azi2
}

// segmentBox is a lon/lat box holding the whole geodesic from a to b, of
// length s and azimuths azi1 at a and azi2 at b, and the great ellipse
// between them (the chord that Locate and validation work with): along a
// geodesic the longitude changes one way only, by at most 180°, and the
// latitude peaks only where the azimuth is ±90°. The box's west edge lies
// in [-180, 180); its east edge may run past 180. A box that reaches a
// pole spans every longitude.
func segmentBox(a, b orb.Point, s, azi1, azi2 float64) (min, max [2]float64) {
	lonA, dLon := a[0], b[0]-a[0]
	switch {
	case dLon > 180:
		dLon -= 360
	case dLon < -180:
		dLon += 360
	}
	min[0], max[0] = lonA, lonA+dLon
	if dLon < 0 {
		min[0], max[0] = lonA+dLon, lonA
	}
	min[1], max[1] = math.Min(a[1], b[1]), math.Max(a[1], b[1])
	cos1, cos2 := math.Cos(azi1*degToRad), math.Cos(azi2*degToRad)
	switch {
	case cos1 > 0 && cos2 < 0: // heads north, then south: a northern vertex
		max[1] = math.Max(max[1], vertexLat(a[1], azi1))
	case cos1 < 0 && cos2 > 0:
		min[1] = math.Min(min[1], -vertexLat(a[1], azi1))
	}
	// The great ellipse strays from the geodesic by up to ~7e-11·s² m
	// (16 cm on 50 km); keep twice that, and a metre, to spare.
	pad := 1 + 1.5e-10*s*s
	dLat := pad / 110000 // degrees
	min[1] -= dLat
	max[1] += dLat
	top := math.Max(math.Abs(min[1]), math.Abs(max[1]))
	if top >= 89.9 || max[0]-min[0] >= 179.9 || math.Abs(dLon) == 180 {
		return [2]float64{-180, math.Max(min[1], -90)}, [2]float64{180, math.Min(max[1], 90)}
	}
	pLon := pad / (111000 * math.Cos(top*degToRad))
	min[0] -= pLon
	max[0] += pLon
	if min[0] < -180 {
		min[0] += 360
		max[0] += 360
	} else if min[0] >= 180 {
		min[0] -= 360
		max[0] -= 360
	}
	return min, max
}

// vertexLat is the highest latitude (absolute) that the geodesic leaving
// latitude lat at azimuth azi reaches (Clairaut: the cosine of the reduced
// latitude times the sine of the azimuth is constant along it).
func vertexLat(lat, azi float64) float64 {
	beta := math.Atan((1 - flattening) * math.Tan(lat*degToRad))
	sinAlpha0 := math.Abs(math.Sin(azi*degToRad) * math.Cos(beta))
	beta0 := math.Acos(math.Min(1, sinAlpha0))
	return math.Atan(math.Tan(beta0)/(1-flattening)) * radToDeg
}

// boxTree is an R-tree of lon/lat boxes whose longitudes are taken round
// the circle.
type boxTree[T any] struct {
	tr     rtree.RTreeG[T]
	maxLon float64 // the east edge furthest east: past 180 if a box crosses the antimeridian
}

// insert adds a box as segmentBox makes them: west edge in [-180, 180).
func (t *boxTree[T]) insert(min, max [2]float64, v T) {
	if t.tr.Len() == 0 || max[0] > t.maxLon {
		t.maxLon = max[0]
	}
	t.tr.Insert(min, max, v)
}

// scan calls fn with every box.
func (t *boxTree[T]) scan(fn func(bmin, bmax [2]float64, v T) bool) { t.tr.Scan(fn) }

// search calls fn with every box that meets the box min, max, its
// longitudes taken round the circle, and shift: what was added to the
// query's longitudes to meet it (0, 360 or -360), so that the box and the
// query compare as bmin, bmax and the query's longitudes plus shift. A box
// may come twice.
func (t *boxTree[T]) search(min, max [2]float64, fn func(bmin, bmax [2]float64, v T, shift float64) bool) {
	if max[0]-min[0] >= 360 {
		t.tr.Scan(func(bmin, bmax [2]float64, v T) bool { return fn(bmin, bmax, v, 0) })
		return
	}
	// Move the query so that its west edge lies in [-180, 180).
	base := 0.0
	if min[0] < -180 || min[0] >= 180 {
		base = -360 * math.Floor((min[0]+180)/360)
	}
	goOn := true
	for _, shift := range [3]float64{base, base - 360, base + 360} {
		lo, hi := min[0]+shift, max[0]+shift
		// Boxes have west edges in [-180, 180) and east edges up to maxLon.
		if !goOn || hi < -180 || lo > t.maxLon {
			continue
		}
		t.tr.Search([2]float64{lo, min[1]}, [2]float64{hi, max[1]}, func(bmin, bmax [2]float64, v T) bool {
			goOn = fn(bmin, bmax, v, shift)
			return goOn
		})
	}
}
