package geo

import (
	"cmp"
	"math"
	"slices"

	"github.com/paulmach/orb"
	"github.com/tidwall/geodesic"
)

// Crossing is where a movement meets the line.
type Crossing struct {
	Point   orb.Point
	Km      float64
	Sector  int
	Stretch int
}

// crossFastM is the longest pair and segment that Cross may intersect in
// a plane. The central projection there maps each great ellipse (the plane
// section through the Earth's centre and the two ends) to a straight line
// exactly; a geodesic of length s strays from its great ellipse by up to
// ellipseStray·s² m, 7 mm at 10 km, which moves the meeting of two of them
// by that over the sine of the angle between them. Where that could be
// more than crossPlaneM, or the pair or segment is longer, the meeting is
// found on the ellipsoid itself (meetGeodesics).
const (
	crossFastM   = 10000
	crossPlaneM  = 0.01
	ellipseStray = 7e-11 // 6.6e-11 measured: 47.4 m on 850 km at 45°, the worst latitude
)

// Cross finds where the geodesic from a to b first meets the line: the
// meeting nearest a along that geodesic (SPEC §9), whatever its length. ok
// is false when it does not meet it, as happens around the end of a
// stretch.
func (l *Line) Cross(a, b orb.Point) (c Crossing, ok bool) {
	pa, pb := place(a), place(b)
	chord := norm(pb.sub(pa))
	if chord == 0 {
		return Crossing{}, false
	}
	if chord > crossFastM {
		return l.crossLong(a, b)
	}
	pr := newCentral(pa.add(pb))
	A, B := pr.project(pa), pr.project(pb)
	mx, my := B[0]-A[0], B[1]-A[1]
	best := meeting{seg: -1, u: math.Inf(1)}
	var long []int32 // segments too long for the plane
	min, max := pairBox(a, b, chord)
	l.tree.search(min, max, func(_, _ [2]float64, i int32, _ float64) bool {
		sg := &l.segs[i]
		if sg.lengthM > crossFastM {
			long = append(long, i)
			return true
		}
		P, Q := pr.project(sg.a), pr.project(sg.b)
		sx, sy := Q[0]-P[0], Q[1]-P[1]
		den := mx*sy - my*sx
		if den == 0 {
			return true // parallel: touching along is not crossing
		}
		// A + u·m = P + v·s
		wx, wy := P[0]-A[0], P[1]-A[1]
		u := (wx*sy - wy*sx) / den
		v := (wx*my - wy*mx) / den
		// The geodesics stray from their great ellipses by up to errM
		// along each other where they meet at an angle θ.
		sin := math.Abs(den) / math.Sqrt((mx*mx+my*my)*(sx*sx+sy*sy))
		errM := ellipseStray*(chord*chord+sg.lengthM*sg.lengthM)/sin + 1e-3
		du, dv := errM/chord, errM/sg.lengthM
		if u < -du || u > 1+du || v < -dv || v > 1+dv {
			return true
		}
		if errM > crossPlaneM || u < du || u > 1-du || v < dv || v > 1-dv {
			long = append(long, i) // the plane cannot tell: the ellipsoid will
			return true
		}
		if u < best.u || (u == best.u && int(i) < best.seg) {
			// v runs along the projected segment; the chord parameter of
			// the same point is t (the projection is projective).
			hP, hQ := sg.a.dot(pr.m), sg.b.dot(pr.m)
			t := v * hP / (hQ*(1-v) + v*hP)
			x, y := A[0]+u*mx, A[1]+u*my
			lon, lat := surfaceLonLat((pr.unproject(x, y)))
			best = meeting{seg: int(i), u: u, at: orb.Point{lon, lat}, alongM: t * sg.lengthM}
		}
		return true
	})
	for _, i := range long {
		sg := &l.segs[i]
		guess, near := greatEllipsesMeet(pa, pb, sg.a, sg.b)
		if !near {
			continue
		}
		m, ok := l.meetSegment(a, b, int(i), guess)
		if !ok {
			continue
		}
		// Ranked with the others by where it projects along the pair.
		x := pr.project(place(m.at))
		m.u = ((x[0]-A[0])*mx + (x[1]-A[1])*my) / (mx*mx + my*my)
		if m.u < best.u || (m.u == best.u && int(i) < best.seg) {
			best = m
		}
	}
	if best.seg < 0 {
		return Crossing{}, false
	}
	return l.crossing(best), true
}

// meeting is where a pair's geodesic meets segment seg: at, alongM metres
// from the segment's start; u ranks meetings along the pair.
type meeting struct {
	seg    int
	u      float64
	at     orb.Point
	alongM float64
}

func (l *Line) crossing(m meeting) Crossing {
	sg := &l.segs[m.seg]
	km := sg.startKm + math.Min(math.Max(m.alongM, 0), sg.lengthM)/1000
	k := int(sg.stretch)
	return Crossing{Point: m.at, Km: km, Sector: l.SectorAt(k, km), Stretch: k}
}

// pairBox is a lon/lat box around a short geodesic from a to b (chord
// metres long): the ends' box widened by the most such a geodesic bows out
// of it, and a metre.
func pairBox(a, b orb.Point, chord float64) (min, max [2]float64) {
	lonB := b[0]
	if lonB-a[0] > 180 {
		lonB -= 360
	} else if lonB-a[0] < -180 {
		lonB += 360
	}
	min = [2]float64{math.Min(a[0], lonB), math.Min(a[1], b[1])}
	max = [2]float64{math.Max(a[0], lonB), math.Max(a[1], b[1])}
	lat := math.Max(math.Abs(a[1]), math.Abs(b[1]))
	bow := chord*chord/(4*semiMinor)*(1+math.Tan(math.Min(lat, 89)*degToRad)) + 1
	dLat := bow / 110000
	if lat+dLat >= 89.9 {
		return [2]float64{-180, min[1] - dLat}, [2]float64{180, 90}
	}
	dLon := bow / (111000 * math.Cos((lat+dLat)*degToRad))
	return [2]float64{min[0] - dLon, min[1] - dLat}, [2]float64{max[0] + dLon, max[1] + dLat}
}

// crossPieceM is the longest piece of a pair that crossLong intersects at
// once: pieces of up to 45° keep every candidate within reach of one
// central projection.
const crossPieceM = 5000e3

// crossLong is Cross for a pair longer than crossFastM: every segment whose
// box meets the pair geodesic's box is intersected with it on the
// ellipsoid, and the meeting nearest a wins. A pair of thousands of km is
// taken in pieces along its geodesic, nearest a first.
func (l *Line) crossLong(a, b orb.Point) (Crossing, bool) {
	s, azi1, _ := inverse3(a, b)
	n := int(math.Ceil(s / crossPieceM))
	from := a
	for k := 1; k <= n; k++ {
		to := b
		if k < n {
			to, _ = direct(a, azi1, s*float64(k)/float64(n))
		}
		ps, pazi1, pazi2 := inverse3(from, to)
		min, max := segmentBox(from, to, ps, pazi1, pazi2)
		pa, pb := place(from), place(to)
		pr := newCentral(unit(pa).add(unit(pb)))
		A, B := pr.project(pa), pr.project(pb)
		// Most candidates are told apart in the piece's projection; the few
		// left are met on the ellipsoid, nearest the piece's start first,
		// until the next cannot be nearer than the best met.
		type candidate struct {
			seg       int32
			guess     vec
			ang, slop float64 // the guess's angle from the start, and how far off it may be (radians)
		}
		var cands []candidate
		l.tree.search(min, max, func(_, _ [2]float64, i int32, _ float64) bool {
			sg := &l.segs[i]
			h := math.Min(unit(sg.a).dot(pr.m), unit(sg.b).dot(pr.m))
			var c candidate
			var near bool
			if h >= minCentralCos {
				var offM float64
				c.guess, near, offM = planeMeet(&pr, A, B, sg.a, sg.b, ps, sg.lengthM, h)
				c.slop = 2 * offM / semiMinor
			} else {
				c.guess, near = greatEllipsesMeet(pa, pb, sg.a, sg.b)
				c.slop = math.Inf(1)
			}
			if near {
				c.seg, c.ang = i, angle(unit(pa), unit(c.guess))
				cands = append(cands, c)
			}
			return true
		})
		slices.SortFunc(cands, func(x, y candidate) int { return cmp.Compare(x.ang-x.slop, y.ang-y.slop) })
		best := meeting{seg: -1, u: math.Inf(1)}
		bestAng := math.Inf(1)
		for _, c := range cands {
			if c.ang-c.slop > bestAng {
				break
			}
			m, ok := l.meetSegment(from, to, int(c.seg), c.guess)
			if ok && (m.u < best.u || (m.u == best.u && m.seg < best.seg)) {
				best = m
				bestAng = angle(unit(pa), unit(place(m.at)))
			}
		}
		if best.seg >= 0 {
			return l.crossing(best), true
		}
		from = to
	}
	return Crossing{}, false
}

// meetSegment intersects the geodesic from a to b with segment i on the
// ellipsoid, starting from guess (a direction from the Earth's centre);
// u of the result is the distance from a along the geodesic.
func (l *Line) meetSegment(a, b orb.Point, i int, guess vec) (meeting, bool) {
	sg := &l.segs[i]
	st := &l.stretches[sg.stretch]
	p, q := st.Coords[sg.index], st.Coords[sg.index+1]
	x, ok := meetGeodesics(a, b, p, q, guess)
	if !ok {
		return meeting{}, false
	}
	su, _ := inverse(a, x)
	sv, _ := inverse(p, x)
	return meeting{seg: i, u: su, at: x, alongM: sv}, true
}

// meetGeodesics is where the geodesic segments ab and pq meet, found by
// Karney's method (Algorithms for geodesics, 2013, §8) from a guess (a
// direction from the Earth's centre): project the four ends with the
// ellipsoidal gnomonic projection centred on the guess, intersect the two
// straight lines there, take the result back to the ellipsoid as the next
// guess. Geodesics through the centre are straight in that projection, so
// the meeting point is a fixed point, and the iteration converges to it
// quickly. ok is false when the segments do not meet (or meet only beyond
// an end).
func meetGeodesics(a, b, p, q orb.Point, guess vec) (x orb.Point, ok bool) {
	lon, lat := surfaceLonLat((guess))
	x = orb.Point{lon, lat}
	for it := 0; it < 50; it++ {
		var g [4][2]float64
		for k, e := range [4]orb.Point{a, b, p, q} {
			var good bool
			if g[k][0], g[k][1], good = gnomonicForward(x, e); !good {
				return orb.Point{}, false
			}
		}
		ax, ay, bx, by := g[0][0], g[0][1], g[1][0], g[1][1]
		px, py, qx, qy := g[2][0], g[2][1], g[3][0], g[3][1]
		mx, my, sx, sy := bx-ax, by-ay, qx-px, qy-py
		den := mx*sy - my*sx
		if den == 0 {
			return orb.Point{}, false
		}
		u := ((px-ax)*sy - (py-ay)*sx) / den
		cx, cy := ax+u*mx, ay+u*my
		if math.Hypot(cx, cy) < 1e-6 {
			// x is the meeting point (to a micrometre): both geodesics
			// pass through the origin. It lies on each segment when the
			// segment's ends are on either side of it.
			const tol = 1e-6
			within := func(x1, y1, x2, y2 float64) bool {
				return x1*x2+y1*y2 <= 0 || math.Hypot(x1, y1) < tol || math.Hypot(x2, y2) < tol
			}
			return x, within(ax, ay, bx, by) && within(px, py, qx, qy)
		}
		x = gnomonicReverse(x, cx, cy)
	}
	return orb.Point{}, false
}

// gnomonicForward projects e with the ellipsoidal gnomonic projection
// centred on c (GeographicLib's Gnomonic): x, y in metres; ok is false
// for a point the projection cannot reach (beyond the centre's horizon).
func gnomonicForward(c, e orb.Point) (x, y float64, ok bool) {
	var s12, azi1, azi2, m12, M12, M21 float64
	wgs84.GenInverse(c[1], c[0], e[1], e[0], &s12, &azi1, &azi2, &m12, &M12, &M21, nil)
	if M12 <= 0 {
		return 0, 0, false
	}
	rho := m12 / M12
	sin, cos := math.Sincos(azi1 * degToRad)
	return rho * sin, rho * cos, true
}

// gnomonicEps stops Newton's method in gnomonicReverse (GeographicLib's
// value): one more step follows, which squares the error.
var gnomonicEps = 0.01 * math.Sqrt(0x1p-52)

// gnomonicReverse is the point that projects to x, y with the gnomonic
// projection centred on c: Newton's method on the distance along the
// geodesic from c, as GeographicLib's Gnomonic::Reverse does.
func gnomonicReverse(c orb.Point, x, y float64) orb.Point {
	azi := math.Atan2(x, y) * radToDeg
	rho := math.Hypot(x, y)
	s := semiMajor * math.Atan(rho/semiMajor)
	little := rho <= semiMajor
	if !little {
		rho = 1 / rho
	}
	line := wgs84.LineInit(c[1], c[0], azi, geodesic.Latitude|geodesic.Longitude|geodesic.DistanceIn|geodesic.ReducedLength|geodesic.GeodesicScale)
	var lat, lon, m, M float64
	for count, trip := 0, false; count < 10; count++ {
		line.GenPosition(geodesic.NoFlags, s, &lat, &lon, nil, nil, &m, &M, nil, nil)
		if trip {
			break
		}
		var ds float64
		if little {
			ds = (m - rho*M) * M
		} else {
			ds = (rho*m - M) * m
		}
		s -= ds
		if !(math.Abs(ds) >= gnomonicEps*semiMajor) {
			trip = true
		}
	}
	return orb.Point{lon, lat}
}

// greatEllipsesMeet is where the great ellipses of the arcs ab and cd
// (ECEF ends) meet, as a direction from the Earth's centre, and whether
// they may meet as geodesics (see planeMeet). The arcs must lie within 78°
// of their middle (crossPieceM sees to it).
func greatEllipsesMeet(a, b, c, d vec) (vec, bool) {
	pr := newCentral(unit(a).add(unit(b)).add(unit(c)).add(unit(d)))
	h := math.Min(math.Min(unit(a).dot(pr.m), unit(b).dot(pr.m)), math.Min(unit(c).dot(pr.m), unit(d).dot(pr.m)))
	if !(h >= minCentralCos) {
		return vec{}, false
	}
	x, near, _ := planeMeet(&pr, pr.project(a), pr.project(b), c, d, norm(b.sub(a)), norm(d.sub(c)), h)
	return x, near
}

// planeMeet is where the great ellipses of the arc whose ends project to
// A and B and the arc cd meet, as a direction from the Earth's centre, and
// whether each arc's ends lie on either side of the other's ellipse, or
// near enough to it that the geodesics may still meet: within twice the
// most a geodesic of either length (l1, l2) strays from its great ellipse,
// and a metre. h bounds the cosines of the ends' angles from the
// projection's centre. offM bounds how far the geodesics' meeting may lie
// from the great ellipses', metres.
func planeMeet(pr *central, A, B [2]float64, c, d vec, l1, l2, h float64) (at vec, near bool, offM float64) {
	C, D := pr.project(c), pr.project(d)
	// The projection stretches the ground by up to 1/h² here; its unit is
	// the Earth's radius.
	margin := (1 + 2*ellipseStray*(l1*l1+l2*l2)) / (semiMinor * h * h)
	side := func(p, q, r [2]float64) float64 { // signed distance of r from the line pq
		dx, dy := q[0]-p[0], q[1]-p[1]
		return (dx*(r[1]-p[1]) - dy*(r[0]-p[0])) / math.Hypot(dx, dy)
	}
	apart := func(s1, s2 float64) bool { return s1 > margin && s2 > margin || s1 < -margin && s2 < -margin }
	if apart(side(A, B, C), side(A, B, D)) || apart(side(C, D, A), side(C, D, B)) {
		return vec{}, false, 0
	}
	mx, my, sx, sy := B[0]-A[0], B[1]-A[1], D[0]-C[0], D[1]-C[1]
	den := mx*sy - my*sx
	if den == 0 {
		return vec{}, false, 0
	}
	u := ((C[0]-A[0])*sy - (C[1]-A[1])*sx) / den
	sin := math.Abs(den) / math.Sqrt((mx*mx+my*my)*(sx*sx+sy*sy))
	offM = (2*ellipseStray*(l1*l1+l2*l2)+1)/(sin*h*h) + 1
	return pr.unproject(A[0]+u*mx, A[1]+u*my), true, offM
}
