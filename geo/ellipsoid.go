package geo

import (
	"math"

	"github.com/tidwall/geodesic"
)

// WGS 84.
const (
	semiMajor  = 6378137.0
	flattening = 1 / 298.257223563
	e2         = flattening * (2 - flattening) // first eccentricity squared
	semiMinor  = semiMajor * (1 - flattening)
	ep2        = e2 / (1 - e2) // second eccentricity squared
	degToRad   = math.Pi / 180
	radToDeg   = 180 / math.Pi
)

// wgs84 solves the direct and inverse geodesic problems exactly (Karney's
// algorithms): used where a value is computed once, at load time.
var wgs84 = geodesic.WGS84

// vec is a point or a difference in Earth-centred, Earth-fixed metres.
type vec struct{ x, y, z float64 }

func (a vec) sub(b vec) vec       { return vec{a.x - b.x, a.y - b.y, a.z - b.z} }
func (a vec) add(b vec) vec       { return vec{a.x + b.x, a.y + b.y, a.z + b.z} }
func (a vec) scale(s float64) vec { return vec{a.x * s, a.y * s, a.z * s} }
func (a vec) dot(b vec) float64   { return a.x*b.x + a.y*b.y + a.z*b.z }

// ecef places a point on the ellipsoid's surface.
func ecef(lon, lat float64) vec {
	sinLat, cosLat := math.Sincos(lat * degToRad)
	sinLon, cosLon := math.Sincos(lon * degToRad)
	n := semiMajor / math.Sqrt(1-e2*sinLat*sinLat)
	return vec{n * cosLat * cosLon, n * cosLat * sinLon, n * (1 - e2) * sinLat}
}

// geodetic is the inverse of ecef for points at or near the surface
// (Bowring's formula: micrometre-exact within a few km of the surface).
func geodetic(p vec) (lon, lat float64) {
	lon = math.Atan2(p.y, p.x) * radToDeg
	r := math.Hypot(p.x, p.y)
	theta := math.Atan2(p.z*semiMajor, r*semiMinor)
	st, ct := math.Sincos(theta)
	lat = math.Atan2(p.z+ep2*semiMinor*st*st*st, r-e2*semiMajor*ct*ct*ct) * radToDeg
	return lon, lat
}

// frame is the local tangent plane at a point: the point's position and
// unit vectors east and north. Projecting onto it (dropping "up") keeps
// distances from the point to within a few parts in a million out to
// 50 km, and keeps geodesics near the point straight to well under a
// millimetre — the basis of Locate's accuracy.
type frame struct {
	origin      vec
	east, north vec
	radius      float64 // Gaussian mean radius of curvature at the origin
}

func newFrame(lon, lat float64) frame {
	sinLat, cosLat := math.Sincos(lat * degToRad)
	sinLon, cosLon := math.Sincos(lon * degToRad)
	w := 1 - e2*sinLat*sinLat
	n := semiMajor / math.Sqrt(w)
	m := semiMajor * (1 - e2) / (w * math.Sqrt(w))
	return frame{
		origin: vec{n * cosLat * cosLon, n * cosLat * sinLon, n * (1 - e2) * sinLat},
		east:   vec{-sinLon, cosLon, 0},
		north:  vec{-sinLat * cosLon, -sinLat * sinLon, cosLat},
		radius: math.Sqrt(m * n),
	}
}

// plane projects an ECEF point onto the frame: x east, y north, metres.
func (f *frame) plane(p vec) (x, y float64) {
	d := p.sub(f.origin)
	return d.dot(f.east), d.dot(f.north)
}

// arc turns a distance in the tangent plane into the geodesic distance
// along the surface: the plane foreshortens by R·sin(s/R).
func (f *frame) arc(rho float64) float64 {
	q := rho / f.radius
	if q >= 1 {
		return f.radius * math.Pi / 2
	}
	if q < 0.02 { // within ~130 km a series is exact to 1e-15 and cheaper
		q2 := q * q
		return rho * (1 + q2*(1.0/6+q2*(3.0/40+q2*(5.0/112))))
	}
	return f.radius * math.Asin(q)
}

// inverse is the exact geodesic distance (m) and forward azimuth (°) from
// a to b.
func inverse(a, b [2]float64) (s, azi float64) {
	var az2 float64
	wgs84.Inverse(a[1], a[0], b[1], b[0], &s, &azi, &az2)
	return s, azi
}

// direct is the exact point at distance s (m) from a along azimuth azi (°).
func direct(a [2]float64, azi, s float64) (p [2]float64, azi2 float64) {
	var lat, lon float64
	wgs84.Direct(a[1], a[0], azi, s, &lat, &lon, &azi2)
	return [2]float64{lon, lat}, azi2
}

// Distance is the geodesic distance in metres between two lon/lat points on
// the WGS 84 ellipsoid.
func Distance(a, b [2]float64) float64 {
	s, _ := inverse(a, b)
	return s
}

// Destination is the point reached from a by going s metres along the
// geodesic that starts with azimuth azi (degrees clockwise from north).
func Destination(a [2]float64, azi, s float64) [2]float64 {
	p, _ := direct(a, azi, s)
	return p
}
