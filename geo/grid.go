package geo

import (
	"cmp"
	"math"
	"slices"
	"sync/atomic"
	"unsafe"
)

// grid answers most Locate queries without walking the R-tree: the area
// around the line is cut into cells of about 2 km, and each cell lists the
// segments that can be nearest to some point of it. A cell's list is
// worked out the first time a point falls in it (with the R-tree), so
// loading stays fast and cells nobody asks about cost nothing.
//
// Measured on the bundled line (BenchmarkLocate), the grid takes a query
// from ~380 ns through the R-tree to ~140 ns (points up to 30 km off: ~780
// to ~205 ns).
type grid struct {
	minLon, minLat float64
	dLon, dLat     float64 // cell size in degrees
	nLon, nLat     int
	// cells[c] is cell c's list of candidates, made on first use: a
	// pointer to a count (in its seg) followed by the candidates, one
	// allocation, so that a query follows one pointer, not two.
	cells []atomic.Pointer[candidate]
	// far[c] is what Far answers in cell c, made with its candidates (0:
	// not yet), packed in 4 bytes so that most of the array stays in
	// cache where Far is asked a million times: farMade, farClear and
	// farLeft, the stretch from bit 3 and a bound in units of farUnitM
	// (rounded down) from bit farBoundShift.
	far []atomic.Uint32
	// corners[y] is the distance from the centre of a cell of row y to its
	// farthest corner, made on first use (the bits of a float64; 0: not
	// yet): the same for every cell of a row, whose longitude does not
	// change it, and two geodesic inverses a cell on a long line whose
	// cells each hold few points.
	corners []atomic.Uint64
}

// candidate is a segment that can be nearest to some point of a cell, with
// a bound its distance to any point of the cell cannot undercut (the
// approximations of the plane with a few per cent to spare): a cell lists
// them from the lowest bound up, so that Locate stops at the first whose
// bound exceeds the distance of the nearest found so far.
type candidate struct {
	seg   int32
	bound float32 // metres
}

const (
	farMade       = 1 << 0
	farClear      = 1 << 1
	farLeft       = 1 << 2
	farStretches  = 1 << 13 // stretches from 0 to farStretches−1 fit
	farBoundShift = 16
	farUnitM      = 4
)

const (
	gridCellM   = 2000  // cell height; the width is about the same on the ground
	gridMarginM = 60000 // how far around the line the grid reaches
	gridMaxCell = 4 << 20
)

// newGrid lays out a grid around the segments' boxes, or returns nil when
// it would be too big (a line spanning a hemisphere, or reaching within 5°
// of a pole, keeps the R-tree). Its west edge is where the line's
// longitudes begin going round the circle, so a line across the
// antimeridian has a grid as small as anywhere else.
func newGrid(boxes [][2][2]float64) *grid {
	minLat, maxLat := 90.0, -90.0
	for _, b := range boxes {
		minLat, maxLat = math.Min(minLat, b[0][1]), math.Max(maxLat, b[1][1])
	}
	west, width := lonExtent(boxes)
	dLat := gridCellM / 111000.0
	cos := math.Cos(math.Min(math.Max(math.Abs(minLat), math.Abs(maxLat)), 80) * degToRad)
	dLon := gridCellM / (111320.0 * math.Max(cos, math.Cos(80*degToRad)))
	mLat := gridMarginM / 110000.0
	mLon := gridMarginM / (111320.0 * math.Max(cos, math.Cos(80*degToRad)))
	if width+2*mLon >= 360 {
		return nil
	}
	g := &grid{minLon: west - mLon, minLat: minLat - mLat, dLon: dLon, dLat: dLat}
	g.nLon = int(math.Ceil((width + 2*mLon) / dLon))
	g.nLat = int(math.Ceil((maxLat + mLat - g.minLat) / dLat))
	if g.minLat < -85 || maxLat+mLat > 85 || g.nLon <= 0 || g.nLat <= 0 || g.nLon*g.nLat > gridMaxCell {
		return nil
	}
	g.cells = make([]atomic.Pointer[candidate], g.nLon*g.nLat)
	g.far = make([]atomic.Uint32, g.nLon*g.nLat)
	g.corners = make([]atomic.Uint64, g.nLat)
	return g
}

// corner is the distance from the centre of a cell of row y to its
// farthest corner, worked out from the row alone (a cell's west edge at
// longitude 0), so that it is the same whichever cell asks first.
func (g *grid) corner(y int) float64 {
	if b := g.corners[y].Load(); b != 0 {
		return math.Float64frombits(b)
	}
	lat0 := g.minLat + float64(y)*g.dLat
	centre := [2]float64{g.dLon / 2, lat0 + g.dLat/2}
	d := math.Max(Distance(centre, [2]float64{0, lat0}), Distance(centre, [2]float64{0, lat0 + g.dLat}))
	g.corners[y].Store(math.Float64bits(d))
	return d
}

// lonExtent is the shortest arc of longitudes, west edge and width in
// degrees, that holds every box: the circle less the widest gap between
// them. A width of 360 means they go all round.
func lonExtent(boxes [][2][2]float64) (west, width float64) {
	var iv [][2]float64
	for _, b := range boxes {
		lo, hi := b[0][0], b[1][0]
		if hi-lo >= 360 {
			return -180, 360
		}
		if hi > 180 { // across the antimeridian: the part east of it
			iv = append(iv, [2]float64{-180, hi - 360})
			hi = 180
		}
		iv = append(iv, [2]float64{lo, hi})
	}
	slices.SortFunc(iv, func(a, b [2]float64) int {
		switch {
		case a[0] < b[0]:
			return -1
		case a[0] > b[0]:
			return 1
		}
		return 0
	})
	merged := iv[:1]
	for _, v := range iv[1:] {
		if last := &merged[len(merged)-1]; v[0] <= last[1] {
			last[1] = math.Max(last[1], v[1])
		} else {
			merged = append(merged, v)
		}
	}
	gap := -1.0
	for i, v := range merged {
		next := merged[0][0] + 360
		if i+1 < len(merged) {
			next = merged[i+1][0]
		}
		if next-v[1] > gap {
			gap, west = next-v[1], next
		}
	}
	if gap <= 0 {
		return -180, 360
	}
	if west >= 180 {
		west -= 360
	}
	return west, 360 - gap
}

// cell is the index of the cell holding lon, lat, or -1 outside the grid.
func (g *grid) cell(lon, lat float64) int {
	x := lon - g.minLon
	if x < 0 {
		x += 360
	} else if x >= 360 {
		x -= 360
	}
	x /= g.dLon
	y := (lat - g.minLat) / g.dLat
	if !(x >= 0 && y >= 0) || x >= float64(g.nLon) || y >= float64(g.nLat) {
		return -1
	}
	return int(y)*g.nLon + int(x)
}

// candidates lists the segments that can be nearest to a point of cell
// c: those no farther from the cell's centre than the nearest segment is,
// plus the cell's diagonal twice (a point of the cell is at most half a
// diagonal from the centre), with a few per cent to spare. They come by
// their distance from the centre, each with a bound: that distance less
// half the diagonal, as no point of the cell is nearer, less the same few
// per cent, twice.
func (l *Line) candidates(c int) []candidate {
	g := l.grid
	if p := g.cells[c].Load(); p != nil {
		return unsafe.Slice(p, p.seg+1)[1:]
	}
	x, y := c%g.nLon, c/g.nLon
	lon0, lat0 := g.minLon+float64(x)*g.dLon, g.minLat+float64(y)*g.dLat
	clon, clat := lon0+g.dLon/2, lat0+g.dLat/2
	corner := g.corner(y)
	centre := l.locateTree(clon, clat)
	near := centre.DistanceM
	reach := (near+2*corner)*1.03 + 50
	f := newFrame(clon, clat)
	var list []candidate
	l.searchBox(clon, clat, reach, func(i int32) {
		var h hit
		l.consider(&f, int(i), &h)
		if d := f.arc(math.Sqrt(h.rho2)); d <= reach {
			// d and the distances Locate compares may each be 3 % + 50 m
			// off the true ones (as reach allows for).
			b := float32(((d-50)/1.03-corner-50)/1.03 - 1) // float32 may round up a metre
			list = append(list, candidate{i, max(b, 0)})
		}
	})
	slices.SortFunc(list, func(a, b candidate) int {
		return cmp.Or(cmp.Compare(a.bound, b.bound), cmp.Compare(a.seg, b.seg))
	})
	list = slices.CompactFunc(list, func(a, b candidate) bool { return a.seg == b.seg })
	stored := make([]candidate, len(list)+1)
	stored[0].seg = int32(len(list))
	copy(stored[1:], list)
	far := uint32(farMade)
	if k := centre.Stretch; k < farStretches && l.clear(lon0, lat0, y, &f, list, centre) {
		far |= farClear | uint32(k)<<3 | uint32(min(float64(list[0].bound)/farUnitM, 0xffff))<<farBoundShift
		if centre.Left {
			far |= farLeft
		}
	}
	// Far reads far[c] once cells[c] is there.
	g.far[c].Store(far)
	g.cells[c].Store(&stored[0])
	return stored[1:]
}

// clear tells whether every point of the cell of row y whose south-west
// corner is lon0, lat0 lies on the side of its centre and farther from
// the line than the buffer: list is the cell's candidates (lowest bound
// first), f the plane at its centre, located as centre.
//
// Locate takes a point's side from its nearest point: the side of the
// nearest segment's line where the point lies beside the segment, of the
// bisector of two segments where it lies past their common vertex. So the
// cell is clear when it keeps off the line (its lowest bound over the
// buffer, and over clearMinM) and no candidate, in any of those three
// pieces of the plane around it, shows any point of the cell the other
// side — each piece a few half-planes, widened by a margin for the planes
// of the points being at their own places rather than the centre. No
// candidate may end its stretch at a free end, past which there is no
// side.
// Where a cell is not clear, Far does not answer and Locate searches.
func (l *Line) clear(lon0, lat0 float64, y int, f *frame, list []candidate, centre Location) bool {
	// Off the line, as the lowest bound says, and so never on it.
	if len(list) == 0 || centre.BeyondEnd || float64(list[0].bound) <= clearMinM {
		return false
	}
	g := l.grid
	var cell [4][2]float64
	for i, d := range [4][2]float64{{0, 0}, {1, 0}, {1, 1}, {0, 1}} {
		cell[i][0], cell[i][1] = f.plane(ecef(lon0+d[0]*g.dLon, lat0+d[1]*g.dLat))
	}
	dir := func(i int) (float64, float64) {
		sg := &l.segs[i]
		ax, ay := f.plane(sg.a)
		bx, by := f.plane(sg.b)
		return bx - ax, by - ay
	}
	// No point of the cell is farther from the line than this, as Locate
	// reckons distances: a candidate whose bound is farther is never its
	// nearest, and shows it no side.
	farthest := ((centre.DistanceM+g.corner(y))*1.03+50)*1.03 + 50
	for _, cd := range list {
		if float64(cd.bound) > farthest {
			break // and those after
		}
		sg := &l.segs[cd.seg]
		k := int(sg.stretch)
		st := &l.stretches[k]
		if float64(cd.bound) <= st.BufferM || (sg.first && !l.joined[k][0]) || (sg.last && !l.joined[k][1]) {
			return false // within the buffer, or by a free end
		}
		// σ: the sign of the cross product that gives the centre's side.
		var σ float64
		switch centre.Side {
		case st.Left:
			σ = 1
		case st.Right:
			σ = -1
		default:
			return false
		}
		ax, ay := f.plane(sg.a)
		bx, by := f.plane(sg.b)
		dx, dy := bx-ax, by-ay
		// The segments whose directions Locate bisects with this one's at
		// its ends (finish): the one before and after, across a joint or a
		// ring's seam, or none (this one's again).
		before, after := int(cd.seg), int(cd.seg)
		switch {
		case !sg.first:
			before--
		case l.closed[k]:
			before = l.firstSeg[k+1] - 1
		}
		switch {
		case !sg.last, l.joinNext[k]:
			after++
		case l.closed[k]:
			after = l.firstSeg[k]
		}
		px, py := dir(before)
		nx, ny := dir(after)
		n, np, nn := math.Hypot(dx, dy), math.Hypot(px, py), math.Hypot(nx, ny)
		if n == 0 || np == 0 || nn == 0 {
			return false
		}
		dx, dy, px, py, nx, ny = dx/n, dy/n, px/np, py/np, nx/nn, ny/nn
		// The margin: the planes of points a cell apart differ by about a
		// part in 4,000 of the distance from the centre, and by the
		// flattening of the plane, under a part in 10,000 within 60 km.
		m := 50 + 2e-3*math.Max(math.Hypot(ax, ay), math.Hypot(bx, by))
		// A half-plane {P : (P−o)·v ≥ −m}, v a unit vector.
		type half struct{ ox, oy, vx, vy float64 }
		// Beside the segment (0 < t < 1), and on the other side of it.
		beside := [...]half{{ax, ay, dx, dy}, {bx, by, -dx, -dy}, {ax, ay, σ * dy, -σ * dx}}
		// Past a, on the other side of the bisector of the segment before
		// and this one; past b, of this one's and the one after's.
		ux, uy := px+dx, py+dy
		vx, vy := dx+nx, dy+ny
		nu, nv := math.Hypot(ux, uy), math.Hypot(vx, vy)
		if nu < 0.1 || nv < 0.1 {
			return false // a hairpin: its bisector turns on a hair
		}
		pastA := [...]half{{ax, ay, -dx, -dy}, {ax, ay, σ * uy / nu, -σ * ux / nu}}
		pastB := [...]half{{bx, by, dx, dy}, {bx, by, σ * vy / nv, -σ * vx / nv}}
		for _, piece := range [3][]half{beside[:], pastA[:], pastB[:]} {
			// A quadrilateral cut by three half-planes has at most 7
			// corners: two buffers of 8 take the cuts in turn.
			var bufs [2][8][2]float64
			poly := cell[:]
			for i, h := range piece {
				poly = clipHalf(bufs[i%2][:0], poly, h.ox, h.oy, h.vx, h.vy, m)
				if len(poly) == 0 {
					break
				}
			}
			if len(poly) > 0 {
				return false
			}
		}
	}
	return true
}

// clipHalf appends to out the convex polygon poly cut to the half-plane of
// the points P with (P−o)·v ≥ −m.
func clipHalf(out, poly [][2]float64, ox, oy, vx, vy, m float64) [][2]float64 {
	k := func(p [2]float64) float64 { return (p[0]-ox)*vx + (p[1]-oy)*vy + m }
	for i, p := range poly {
		q := poly[(i+1)%len(poly)]
		kp, kq := k(p), k(q)
		if kp >= 0 {
			out = append(out, p)
		}
		if (kp >= 0) != (kq >= 0) {
			t := kp / (kp - kq)
			out = append(out, [2]float64{p[0] + t*(q[0]-p[0]), p[1] + t*(q[1]-p[1])})
		}
	}
	return out
}

// clearMinM is the least distance from the line at which a cell is
// taken to be clear of it, whatever the buffer.
const clearMinM = 100

// Far tells, for most points well away from the line, the party on whose
// side the point lies without locating it: ok is true when it lies in a
// cell of the grid that is wholly on that side, farther from the line
// than the buffer there and than minM, and beside the line rather than past
// an end; Locate would give the point that side, BeyondEnd false and a
// DistanceM over BufferM and over minM. Otherwise ok is false and only
// Locate can tell.
func (l *Line) Far(lon, lat float64) (side string, minM float64, ok bool) {
	if l.grid == nil {
		return "", 0, false
	}
	c := l.grid.cell(lon, lat)
	if c < 0 {
		return "", 0, false
	}
	far := l.grid.far[c].Load()
	if far == 0 {
		l.candidates(c)
		far = l.grid.far[c].Load()
	}
	if far&farClear == 0 {
		return "", 0, false
	}
	st := &l.stretches[far>>3&(farStretches-1)]
	minM = float64(far>>farBoundShift) * farUnitM
	if far&farLeft != 0 {
		return st.Left, minM, true
	}
	return st.Right, minM, true
}

// searchBox calls fn with every segment whose box meets the lon/lat box
// reaching reach metres around the point (some perhaps twice).
func (l *Line) searchBox(lon, lat, reach float64, fn func(int32)) {
	dLat := reach / 6335439 * radToDeg * 1.05
	top := math.Abs(lat) + dLat
	if top >= 89 {
		l.tree.scan(func(_, _ [2]float64, i int32) bool { fn(i); return true })
		return
	}
	dLon := reach / (6378137 * math.Cos(top*degToRad)) * radToDeg * 1.05
	l.tree.search([2]float64{lon - dLon, lat - dLat}, [2]float64{lon + dLon, lat + dLat},
		func(_, _ [2]float64, i int32, _ float64) bool { fn(i); return true })
}
