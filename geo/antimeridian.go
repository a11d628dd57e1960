package geo

import (
	"math"

	"github.com/paulmach/orb"
	"github.com/tidwall/geodesic"
)

// SplitAntimeridian cuts a piece of the line (consecutive positions joined
// by geodesics, as Substring gives it) where it crosses the antimeridian,
// so that no part's longitudes jump from 180 to -180: RFC 7946 §3.1.9 asks
// for it, and map tools (QGIS, Leaflet, MapLibre, kepler.gl, geojson.io)
// draw such a jump as a line across the whole map. Each cut ends one part
// at longitude 180 (or -180) and starts the next at the same latitude on
// the other side: where the geodesic meets the antimeridian. A piece that
// does not cross it comes back whole, as its one part.
func SplitAntimeridian(ls orb.LineString) orb.MultiLineString {
	if !CrossesAntimeridian(ls) {
		return orb.MultiLineString{ls}
	}
	var out orb.MultiLineString
	part := orb.LineString{}
	add := func(p orb.Point) {
		if len(part) == 0 || part[len(part)-1] != p {
			part = append(part, p)
		}
	}
	end := func() {
		if len(part) >= 2 {
			out = append(out, part)
		}
		part = orb.LineString{}
	}
	for i, p := range ls {
		if i > 0 {
			a := ls[i-1]
			if d := p[0] - a[0]; d > 180 || d < -180 {
				lat := antimeridianLat(a, p)
				side := math.Copysign(180, a[0]) // a's side of the antimeridian
				add(orb.Point{side, lat})
				end()
				add(orb.Point{-side, lat})
			}
		}
		add(p)
	}
	end()
	if len(out) == 0 { // a piece shorter than its rounding: keep it whole
		out = append(out, ls)
	}
	return out
}

// CrossesAntimeridian tells whether a piece of the line (as Substring
// gives it) crosses the antimeridian: whether the longitudes of two
// consecutive positions jump by more than 180°.
func CrossesAntimeridian(ls orb.LineString) bool {
	for i := 1; i < len(ls); i++ {
		if d := ls[i][0] - ls[i-1][0]; d > 180 || d < -180 {
			return true
		}
	}
	return false
}

// antimeridianLat is the latitude where the geodesic from a to b, whose
// longitudes lie on either side of the antimeridian, meets it: bisection
// on the distance along the geodesic, to well under a micrometre.
func antimeridianLat(a, b orb.Point) float64 {
	switch {
	case math.Abs(a[0]) == 180:
		return a[1]
	case math.Abs(b[0]) == 180:
		return b[1]
	}
	line := wgs84.InverseLine(a[1], a[0], b[1], b[0], geodesic.Latitude|geodesic.Longitude|geodesic.DistanceIn)
	// Longitudes unrolled from a's: the meeting is where they reach ±180.
	target := math.Copysign(180, a[0])
	lo, hi := 0.0, line.S13()
	var lat, lon float64
	for range 60 {
		mid := (lo + hi) / 2
		line.GenPosition(geodesic.LongUnroll, mid, &lat, &lon, nil, nil, nil, nil, nil, nil)
		if (lon-target)*math.Copysign(1, target) < 0 { // not there yet
			lo = mid
		} else {
			hi = mid
		}
	}
	line.GenPosition(geodesic.NoFlags, (lo+hi)/2, &lat, &lon, nil, nil, nil, nil, nil, nil)
	return lat
}
