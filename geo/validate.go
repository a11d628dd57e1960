package geo

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/twpayne/go-geom"
	"github.com/twpayne/go-geom/xy/lineintersection"
	"github.com/twpayne/go-geom/xy/lineintersector"
)

// canon is the one spelling of a place: longitude -180 is 180, and a pole
// has longitude 0. Two positions are the same place exactly when their
// canonical spellings are equal.
func canon(p orb.Point) orb.Point {
	switch {
	case p[1] == 90 || p[1] == -90:
		return orb.Point{0, p[1]}
	case p[0] == -180:
		return orb.Point{180, p[1]}
	}
	return p
}

// samePlace tells whether two positions are one place on the ellipsoid.
func samePlace(p, q orb.Point) bool { return canon(p) == canon(q) }

// place is a position as an ECEF point, computed from its canonical
// spelling so that one place always gives bit for bit the same vector.
func place(p orb.Point) vec {
	c := canon(p)
	if c[1] == 90 || c[1] == -90 {
		return vec{0, 0, math.Copysign(semiMinor, c[1])}
	}
	return ecef(c[0], c[1])
}

// minStretchM is the shortest stretch SPEC §1 accepts.
const minStretchM = 1.0

// antipodalCos bounds how nearly opposite two consecutive vertices may be
// (as seen from the Earth's centre): within 1° of the antipode the
// geodesic between them is not unique (or barely so), and no side of it
// can be trusted.
var antipodalCos = -math.Cos(1 * degToRad)

// validate checks SPEC §1's rules and drops repeated consecutive vertices
// (the same place spelt twice, such as 180 and -180, is repeated).
func validate(stretches []Stretch) error {
	parties := [2]string{stretches[0].Left, stretches[0].Right}
	for k := range stretches {
		st := &stretches[k]
		name := stretchName(k, st)
		if !(st.Left == parties[0] && st.Right == parties[1]) && !(st.Left == parties[1] && st.Right == parties[0]) {
			return fmt.Errorf("%s names parties %s/%s, but the line's are %s/%s", name, st.Left, st.Right, parties[0], parties[1])
		}
		dedup := st.Coords[:0:0]
		for i, p := range st.Coords {
			if math.IsNaN(p[0]) || math.IsInf(p[0], 0) || p[0] < -180 || p[0] > 180 {
				return fmt.Errorf("%s coordinate %d: longitude out of range: %v", name, i, p[0])
			}
			if math.IsNaN(p[1]) || math.IsInf(p[1], 0) || p[1] < -90 || p[1] > 90 {
				return fmt.Errorf("%s coordinate %d: latitude out of range: %v", name, i, p[1])
			}
			if len(dedup) == 0 || !samePlace(dedup[len(dedup)-1], p) {
				dedup = append(dedup, p)
			}
		}
		if len(dedup) < 2 {
			return fmt.Errorf("%s has fewer than 2 distinct points", name)
		}
		st.Coords = dedup
		chord := 0.0
		for i := 0; i+1 < len(dedup); i++ {
			a, b := place(dedup[i]), place(dedup[i+1])
			if unit(a).dot(unit(b)) < antipodalCos {
				return fmt.Errorf("%s segment %d–%d joins nearly antipodal points (%v, %v and %v, %v): the geodesic between them is not unique; add vertices in between",
					name, i, i+1, dedup[i][0], dedup[i][1], dedup[i+1][0], dedup[i+1][1])
			}
			chord += norm(b.sub(a))
		}
		// A geodesic is never shorter than its chord; they differ by
		// parts in 10¹⁴ under a metre.
		if chord < 2*minStretchM {
			length := 0.0
			for i := 0; i+1 < len(dedup); i++ {
				s, _ := inverse(dedup[i], dedup[i+1])
				length += s
			}
			if length < minStretchM {
				return fmt.Errorf("%s is %.2f m long: a stretch must be at least %g m long", name, length, minStretchM)
			}
		}
	}
	return checkCrossings(stretches)
}

func stretchName(k int, st *Stretch) string {
	if st.Name != "" {
		return fmt.Sprintf("stretch %d (%q)", k, st.Name)
	}
	return fmt.Sprintf("stretch %d", k)
}

func norm(v vec) float64   { return math.Sqrt(v.dot(v)) }
func unit(v vec) vec       { return v.scale(1 / norm(v)) }
func cross(a, b vec) vec   { return vec{a.y*b.z - a.z*b.y, a.z*b.x - a.x*b.z, a.x*b.y - a.y*b.x} }
func (a vec) isZero() bool { return a.x == 0 && a.y == 0 && a.z == 0 }

// angle is the angle between two directions, radians.
func angle(u, v vec) float64 { return math.Atan2(norm(cross(u, v)), u.dot(v)) }

// checkCrossings rejects stretches that cross or overlap each other or
// themselves; they may touch only end to end.
//
// Pairs of segments whose boxes meet (an R-tree finds them, so the work
// grows as n log n with the number of segments) are intersected in a
// central projection from the Earth's centre onto the plane tangent near
// them: it maps each segment's great ellipse (the plane section through
// the centre and both ends) to a straight line, exactly, whatever the
// longitudes or the nearness of a pole, so go-geom's robust planar
// intersector decides. The great ellipse strays from the geodesic by
// millimetres on segments of a few km (16 cm on 50 km), which only
// matters to segments that nearly touch.
func checkCrossings(stretches []Stretch) error {
	type seg struct {
		k, i     int
		a, b     vec // ECEF ends
		min, max [2]float64
	}
	var segs []seg
	for k, st := range stretches {
		for i := 0; i+1 < len(st.Coords); i++ {
			a, b := st.Coords[i], st.Coords[i+1]
			s, azi1, azi2 := inverse3(a, b)
			min, max := segmentBox(a, b, s, azi1, azi2)
			segs = append(segs, seg{k: k, i: i, a: place(a), b: place(b), min: min, max: max})
		}
	}
	var tr boxTree[int32]
	for j := range segs {
		tr.insert(segs[j].min, segs[j].max, int32(j))
	}
	seen := make([]int32, len(segs)) // seen[o] == j+1: the pair j, o is done
	for j := range segs {
		s1 := &segs[j]
		var err error
		tr.search(s1.min, s1.max, func(_, _ [2]float64, o int32, _ float64) bool {
			if int(o) <= j || seen[o] == int32(j+1) {
				return true
			}
			seen[o] = int32(j + 1)
			s2 := &segs[o]
			err = checkPair(stretches, s1.k, s1.i, s2.k, s2.i, s1.a, s1.b, s2.a, s2.b)
			return err == nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// checkPair tells whether segment i of stretch k and segment j of stretch
// m (a, b and c, d: their ends) meet where SPEC §1 does not allow.
func checkPair(stretches []Stretch, k, i, m, j int, a, b, c, d vec) error {
	typ, at, ends := intersectArcs(a, b, c, d, 0)
	if typ == lineintersection.NoIntersection {
		return nil
	}
	n1, n2 := stretchName(k, &stretches[k]), stretchName(m, &stretches[m])
	lon, lat := surfaceLonLat((at))
	if typ == lineintersection.CollinearIntersection {
		return fmt.Errorf("%s segment %d–%d overlaps %s segment %d–%d near %.6f, %.6f", n1, i, i+1, n2, j, j+1, lon, lat)
	}
	// The ends of each segment the meeting point is (bit 0: first, bit 1:
	// second), and whether each is an end of its stretch.
	last1, last2 := len(stretches[k].Coords)-2, len(stretches[m].Coords)-2
	stretchEnd := func(ends, i, last int) bool { return ends&1 != 0 && i == 0 || ends&2 != 0 && i == last }
	switch {
	case k == m && j == i+1 && ends[0]&2 != 0 && ends[1]&1 != 0:
		return nil // consecutive segments share their vertex
	case k != m && stretchEnd(ends[0], i, last1) && stretchEnd(ends[1], j, last2):
		return nil // stretches touching end to end
	case k == m && last1 > 1 && i == 0 && j == last1 && ends[0]&1 != 0 && ends[1]&2 != 0:
		return nil // a closed stretch touches itself end to end
	}
	return fmt.Errorf("%s segment %d–%d crosses %s segment %d–%d at %.6f, %.6f", n1, i, i+1, n2, j, j+1, lon, lat)
}

// surfaceLonLat is the longitude and latitude of the point of the
// ellipsoid's surface in direction v from its centre. On the surface the
// geodetic latitude has a closed form: tan φ = z / ((1 − e²)·√(x² + y²)).
func surfaceLonLat(v vec) (lon, lat float64) {
	return math.Atan2(v.y, v.x) * radToDeg, math.Atan2(v.z, (1-e2)*math.Sqrt(v.x*v.x+v.y*v.y)) * radToDeg
}

// central is a central projection from the Earth's centre onto a plane
// tangent to the unit sphere at direction m: great ellipses become
// straight lines. It holds for directions within 90° of m.
type central struct{ m, e, n vec }

func newCentral(m vec) central {
	m = unit(m)
	e := cross(vec{0, 0, 1}, m)
	if norm(e) < 1e-9 { // at a pole any east will do
		e = vec{0, 1, 0}
	}
	e = unit(e)
	return central{m: m, e: e, n: cross(m, e)}
}

func (c *central) project(p vec) [2]float64 {
	h := p.dot(c.m)
	return [2]float64{p.dot(c.e) / h, p.dot(c.n) / h}
}

func (c *central) unproject(x, y float64) vec {
	return c.m.add(c.e.scale(x)).add(c.n.scale(y))
}

// minCentralCos keeps the points of a central projection within 78° of
// its centre, where it stretches distances by at most 25.
const minCentralCos = 0.2

// intersectArcs intersects the great-ellipse arcs ab and cd: how they meet,
// where (a direction from the Earth's centre), and for each arc which of
// its ends the meeting point is exactly (bit 0: its first, bit 1: its
// second), for a point intersection. Arcs too long for one projection are
// halved until they fit.
func intersectArcs(a, b, c, d vec, depth int) (lineintersection.Type, vec, [2]int) {
	ua, ub, uc, ud := unit(a), unit(b), unit(c), unit(d)
	// Arcs whose circumscribed caps on the unit sphere are apart do not
	// meet: this keeps the halving below to the parts that may.
	if angle(unit(ua.add(ub)), unit(uc.add(ud))) > (angle(ua, ub)+angle(uc, ud))/2+1e-9 {
		return lineintersection.NoIntersection, vec{}, [2]int{}
	}
	sum := ua.add(ub).add(uc).add(ud)
	if !sum.isZero() && depth < 60 {
		m := unit(sum)
		if ua.dot(m) < minCentralCos || ub.dot(m) < minCentralCos || uc.dot(m) < minCentralCos || ud.dot(m) < minCentralCos {
			// Halve the longer arc; its halves lie on the same great
			// ellipse, so the answer is the same.
			if ua.dot(ub) < uc.dot(ud) {
				h := ua.add(ub)
				for i, half := range [2][2]vec{{a, h}, {h, b}} {
					typ, at, ends := intersectArcs(half[0], half[1], c, d, depth+1)
					if typ != lineintersection.NoIntersection {
						ends[0] &^= 2 - i // the midpoint is no end
						return typ, at, ends
					}
				}
			} else {
				h := uc.add(ud)
				for i, half := range [2][2]vec{{c, h}, {h, d}} {
					typ, at, ends := intersectArcs(a, b, half[0], half[1], depth+1)
					if typ != lineintersection.NoIntersection {
						ends[1] &^= 2 - i
						return typ, at, ends
					}
				}
			}
			return lineintersection.NoIntersection, vec{}, [2]int{}
		}
	}
	if sum.isZero() {
		sum = ua
	}
	pr := newCentral(sum)
	coord := func(p vec) geom.Coord { q := pr.project(p); return geom.Coord{q[0], q[1]} }
	pa, pb, pc, pd := coord(a), coord(b), coord(c), coord(d)
	res := lineintersector.LineIntersectsLine(lineintersector.RobustLineIntersector{}, pa, pb, pc, pd)
	if !res.HasIntersection() {
		return lineintersection.NoIntersection, vec{}, [2]int{}
	}
	p := res.Intersection()[0]
	var ends [2]int
	if res.Type() == lineintersection.PointIntersection {
		eq := func(q geom.Coord) bool { return p[0] == q[0] && p[1] == q[1] }
		for bit, q := range [2]geom.Coord{pa, pb} {
			if eq(q) {
				ends[0] |= 1 << bit
			}
		}
		for bit, q := range [2]geom.Coord{pc, pd} {
			if eq(q) {
				ends[1] |= 1 << bit
			}
		}
	}
	return res.Type(), pr.unproject(p[0], p[1]), ends
}
