package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// Location is where a point lies relative to the line.
type Location struct {
	Side      string    // the party on whose side the point lies
	Left      bool      // the point is left of its stretch, walking in coordinate order
	DistanceM float64   // geodesic distance to the nearest point of the line, metres
	Km        float64   // chainage of that nearest point
	Sector    int       // sector index of that nearest point
	Stretch   int       // stretch of that nearest point
	Segment   int       // segment of that nearest point within its stretch
	Nearest   orb.Point // the nearest point of the line
	BeyondEnd bool      // past a free end of the line by more than end_reach_m: no trustworthy side
	BufferM   float64   // buffer half-width at the nearest point
}

// Depth is the signed distance for party p: positive on the other party's
// side, negative on p's own.
func (loc Location) Depth(p string) float64 {
	if loc.Side == p {
		return -loc.DistanceM
	}
	return loc.DistanceM
}

// nearest finds the segment nearest to the origin of f: its index, the
// chord parameter t of the nearest point and the squared distance in the
// plane of f. Equidistant segments: the earlier one wins (segments are
// indexed in stretch order, then segment order).
type hit struct {
	seg   int
	t     float64
	rho2  float64
	x, y  float64 // the nearest point in the plane
	dx    float64 // segment direction in the plane
	dy    float64
	found bool
}

func (l *Line) consider(f *frame, i int, h *hit) bool {
	sg := &l.segs[i]
	ax, ay := f.plane(sg.a)
	bx, by := f.plane(sg.b)
	dx, dy := bx-ax, by-ay
	dd := dx*dx + dy*dy
	var t, qx, qy float64
	if dd > 0 {
		t = -(ax*dx + ay*dy) / dd
	}
	// The ends are taken exactly, so that a vertex shared by two segments
	// gives both the same distance and the tie goes to the earlier one.
	switch {
	case t <= 0:
		t, qx, qy = 0, ax, ay
	case t >= 1:
		t, qx, qy = 1, bx, by
	default:
		qx, qy = ax+t*dx, ay+t*dy
	}
	r2 := qx*qx + qy*qy
	if !h.found || r2 < h.rho2 || (r2 == h.rho2 && i < h.seg) {
		*h = hit{seg: i, t: t, rho2: r2, x: qx, y: qy, dx: dx, dy: dy, found: true}
		return true
	}
	return false
}

// Locate answers where the point lon, lat lies relative to the line.
//
// Near the line (within 60 km) a grid of cells gives the few segments that
// can be nearest; elsewhere it searches the R-tree in a box around the point, widening it
// until the nearest segment found lies within the box, so that nothing
// outside can be nearer; inside, a segment whose box is already farther
// than the best found is skipped without projecting it. A query near the
// line touches a handful of segments.
func (l *Line) Locate(lon, lat float64) Location {
	if l.grid != nil {
		if c := l.grid.cell(lon, lat); c >= 0 {
			f := newFrame(lon, lat)
			var h hit
			near := math.Inf(1) // the nearest found so far, in metres
			for _, cd := range l.candidates(c) {
				if float64(cd.bound) > near {
					break // neither it nor those after can be nearer
				}
				if l.consider(&f, int(cd.seg), &h) {
					near = f.arc(math.Sqrt(h.rho2))
				}
			}
			if h.found {
				return l.finish(&f, &h)
			}
		}
	}
	return l.locateTree(lon, lat)
}

// locateTree is Locate through the R-tree alone.
func (l *Line) locateTree(lon, lat float64) Location {
	f := newFrame(lon, lat)
	var h hit
	reach := 4000.0
	for {
		dLat := reach / 6335439 * radToDeg * 1.05
		top := math.Abs(lat) + dLat
		var min, max [2]float64
		whole := top >= 89 || reach > 1e6
		// Boxes farther than the best hit so far are skipped; the bound
		// compares squared plane distances, which foreshorten true ones by
		// under 2 % this close (the bound keeps 5 % to spare).
		pruning := false
		var cTop float64
		if !whole {
			cTop = math.Cos(top * degToRad)
			dLon := reach / (6378137 * cTop) * radToDeg * 1.05
			min = [2]float64{lon - dLon, lat - dLat}
			max = [2]float64{lon + dLon, lat + dLat}
		}
		visit := func(bmin, bmax [2]float64, i int32, shift float64) bool {
			if pruning && boxLowerBound2(lon+shift, lat, cTop, bmin, bmax) > h.rho2 {
				return true
			}
			if l.consider(&f, int(i), &h) && !whole && h.rho2 <= reach*reach {
				pruning = true
			}
			return true
		}
		if whole {
			l.tree.scan(func(bmin, bmax [2]float64, i int32) bool { return visit(bmin, bmax, i, 0) })
		} else {
			l.tree.search(min, max, visit)
		}
		if !h.found {
			if whole {
				panic("geo: a validated line has segments")
			}
			reach *= 4
			continue
		}
		if d := f.arc(math.Sqrt(h.rho2)); whole || d <= reach {
			break
		} else {
			reach = d * 1.001
		}
	}
	return l.finish(&f, &h)
}

// boxLowerBound2 is a squared plane distance (m²) that no point of the
// lon/lat box nearer than the search reach can undercut. c is the cosine of
// the latitude nearest the pole within that reach.
func boxLowerBound2(lon, lat, c float64, min, max [2]float64) float64 {
	var dLon, dLat float64
	if lon < min[0] {
		dLon = min[0] - lon
	} else if lon > max[0] {
		dLon = lon - max[0]
	}
	if lat < min[1] {
		dLat = min[1] - lat
	} else if lat > max[1] {
		dLat = lat - max[1]
	}
	x := dLon * c * (6378137 * degToRad)
	y := dLat * (6335439 * degToRad)
	return 0.95 * 0.95 * (x*x + y*y)
}

func (l *Line) finish(f *frame, h *hit) Location {
	sg := &l.segs[h.seg]
	k := int(sg.stretch)
	st := &l.stretches[k]
	loc := Location{
		DistanceM: f.arc(math.Sqrt(h.rho2)),
		Km:        sg.startKm + h.t*sg.lengthM/1000,
		Stretch:   k,
		Segment:   int(sg.index),
		BufferM:   st.BufferM,
	}
	// The point relative to the nearest point is −q; its side is the sign
	// of the cross product of the direction with it.
	dirx, diry := h.dx, h.dy
	switch {
	case h.t == 1 && !sg.last:
		dirx, diry = l.bisector(f, h, h.seg+1)
	case h.t == 0 && !sg.first:
		// Only when the earlier segment was not among the candidates.
		p := &l.segs[h.seg-1]
		ax, ay := f.plane(p.a)
		bx, by := f.plane(p.b)
		dirx, diry = unitSum(bx-ax, by-ay, h.dx, h.dy)
	case h.t == 1 && sg.last && l.joinNext[k]:
		dirx, diry = l.bisector(f, h, h.seg+1)
	case h.t == 0 && sg.first && l.closed[k]:
		// The ring goes on through its first point from its last segment.
		p := &l.segs[l.firstSeg[k+1]-1]
		ax, ay := f.plane(p.a)
		bx, by := f.plane(p.b)
		dirx, diry = unitSum(bx-ax, by-ay, h.dx, h.dy)
	case h.t == 1 && sg.last && l.closed[k]:
		dirx, diry = l.bisector(f, h, l.firstSeg[k])
	}
	cross := dirx*(-h.y) - diry*(-h.x)
	loc.Left = cross > 0
	if loc.Left {
		loc.Side = st.Left
	} else {
		loc.Side = st.Right
	}
	if h.rho2 == 0 {
		// On the line: on no one's side. Right is as good as left, but the
		// distance 0 makes the depth 0 for both parties.
		loc.Left = false
		loc.Side = st.Right
	}
	// Beyond a free end: the nearest point is the end of a stretch that
	// touches no other, and the point lies past it.
	switch {
	case h.t == 0 && sg.first && !l.joined[k][0], h.t == 1 && sg.last && !l.joined[k][1]:
		loc.BeyondEnd = loc.DistanceM > l.endReachM && pastEnd(h)
	}
	loc.Sector = l.SectorAt(k, loc.Km)
	a, b := st.Coords[sg.index], st.Coords[sg.index+1]
	switch {
	case h.t == 0:
		loc.Nearest = a
	case h.t == 1:
		loc.Nearest = b
	case sg.lengthM < 4000 && math.Abs(a[0]-b[0]) < 90:
		// On a short segment the geodesic strays from a straight line in
		// lon/lat by under half a metre: interpolating is exact enough for
		// a nearest point and saves the conversion from ECEF.
		loc.Nearest = orb.Point{a[0] + h.t*(b[0]-a[0]), a[1] + h.t*(b[1]-a[1])}
	default:
		lon, lat := geodetic(sg.a.add(sg.b.sub(sg.a).scale(h.t)))
		loc.Nearest = orb.Point{lon, lat}
	}
	return loc
}

// pastEnd tells that the point lies beyond the segment's end, not beside it.
func pastEnd(h *hit) bool {
	along := -(h.x*h.dx + h.y*h.dy) // (P − Q)·d with P at the origin
	if h.t == 0 {
		return along < 0
	}
	return along > 0
}

// bisector is the bisector of the directions of h's segment and segment
// next, for a point whose nearest point is the vertex between them. At a
// hairpin the two directions cancel; the point then lies on the outer side
// of the turn.
func (l *Line) bisector(f *frame, h *hit, next int) (float64, float64) {
	n := &l.segs[next]
	ax, ay := f.plane(n.a)
	bx, by := f.plane(n.b)
	return unitSum(h.dx, h.dy, bx-ax, by-ay)
}

func unitSum(x1, y1, x2, y2 float64) (float64, float64) {
	n1 := math.Hypot(x1, y1)
	n2 := math.Hypot(x2, y2)
	if n1 == 0 || n2 == 0 {
		return x1 + x2, y1 + y2
	}
	sx, sy := x1/n1+x2/n2, y1/n1+y2/n2
	if math.Hypot(sx, sy) < 1e-9 {
		// A full reversal, which validation refuses (the line would
		// overlap itself): the first segment's direction decides.
		return x1 / n1, y1 / n1
	}
	return sx, sy
}
