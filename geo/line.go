// Package geo holds the agreed ceasefire line: loading and validating it,
// and answering, for any point, on whose side it lies, how far from the
// line it is in metres on the WGS 84 ellipsoid, where along the line it
// projects (chainage) and in which sector.
//
// A line may cross the antimeridian and circle a pole: nothing here works
// in longitude and latitude as if they were a plane. Lengths, distances and
// meetings are computed on the ellipsoid (Karney's geodesic algorithms) or
// in planes tangent to it near the point in question; longitudes and
// latitudes serve only to find candidates in an R-tree, as boxes that may
// run past 180.
//
// It knows nothing of sightings, forces or time.
package geo

import (
	"fmt"
	"math"

	"github.com/paulmach/orb"
)

// Options complete what a line file leaves out.
type Options struct {
	Left, Right string    // parties of a bare geometry, and of every feature without left/right properties
	BufferM     float64   // buffer half-width where the line gives none
	SectorKm    float64   // sector length; 0 means 10
	EndReachM   float64   // how far past a free end positions are still judged; 0 means 5000, negative means 0
	Select      Selection // the features of a FeatureCollection that make the line; zero: all
}

func (o Options) sectorKm() float64 {
	if o.SectorKm > 0 {
		return o.SectorKm
	}
	return 10
}

func (o Options) endReachM() float64 {
	switch {
	case o.EndReachM == 0:
		return 5000
	case o.EndReachM < 0:
		return 0
	}
	return o.EndReachM
}

// Stretch is one LineString of the line, walked in coordinate order.
type Stretch struct {
	Name        string
	Left, Right string  // the parties whose sides lie left and right
	BufferM     float64 // demilitarised zone half-width on each side
	Coords      orb.LineString
	KmFrom      float64 // chainage of its first point
	KmTo        float64 // chainage of its last point
	// FirstSector and LastSector are the indexes of its sectors.
	FirstSector, LastSector int
}

// Sector is a piece of sector_km of chainage within one stretch.
type Sector struct {
	ID          string // S000, S001, …
	Index       int
	Stretch     int
	StretchName string
	KmFrom      float64
	KmTo        float64
}

// LengthKm is the sector's length along the line.
func (s Sector) LengthKm() float64 { return s.KmTo - s.KmFrom }

// segment is the geodesic between two consecutive vertices of a stretch.
type segment struct {
	a, b    vec     // ECEF ends
	startKm float64 // chainage of a
	lengthM float64 // geodesic length
	azimuth float64 // forward azimuth at a, degrees
	stretch int32
	index   int32 // within the stretch: joins vertex index and index+1
	first   bool  // first segment of its stretch
	last    bool  // last segment of its stretch
}

// Line is a validated agreed line with its segment index. It is safe for
// concurrent use.
type Line struct {
	stretches []Stretch
	sectors   []Sector
	segs      []segment
	tree      boxTree[int32]
	grid      *grid
	firstSeg  []int // firstSeg[k]: index of stretch k's first segment; one more for the end
	parties   [2]string
	sectorKm  float64
	endReachM float64
	idWidth   int
	// joinNext[k] tells that stretch k's last point is stretch k+1's first,
	// so the line goes on through it; joined[k][0|1] tell that stretch k's
	// start / end touches another stretch (is not a free end).
	joinNext []bool
	joined   [][2]bool
	// closed[k] tells that stretch k ends where it starts (a ring): the
	// line goes on through that point from its last segment to its first.
	closed []bool
}

// Parties are the two parties of the line: the left and right of its
// first stretch.
func (l *Line) Parties() [2]string { return l.parties }

// Stretches returns the line's stretches in file order.
func (l *Line) Stretches() []Stretch { return l.stretches }

// Sectors returns the sector layout in index order.
func (l *Line) Sectors() []Sector { return l.sectors }

// SectorKm is the nominal sector length.
func (l *Line) SectorKm() float64 { return l.sectorKm }

// LengthKm is the chainage of the line's last point.
func (l *Line) LengthKm() float64 {
	return l.stretches[len(l.stretches)-1].KmTo
}

// Other returns the party opposite p, or "" if p is not a party of the line.
func (l *Line) Other(p string) string {
	switch p {
	case l.parties[0]:
		return l.parties[1]
	case l.parties[1]:
		return l.parties[0]
	}
	return ""
}

// SectorID formats a sector index the way the line numbers its sectors.
func (l *Line) SectorID(i int) string {
	return fmt.Sprintf("S%0*d", l.idWidth, i)
}

// SectorAt is the sector holding chainage km on stretch k.
func (l *Line) SectorAt(k int, km float64) int {
	st := &l.stretches[k]
	i := st.FirstSector + int(math.Floor((km-st.KmFrom)/l.sectorKm))
	if i < st.FirstSector {
		i = st.FirstSector
	}
	if i > st.LastSector {
		i = st.LastSector
	}
	return i
}

// build computes segments, chainage, sectors and the index of validated
// stretches.
func build(stretches []Stretch, opt Options) *Line {
	l := &Line{
		stretches: stretches,
		sectorKm:  opt.sectorKm(),
		endReachM: opt.endReachM(),
		parties:   [2]string{stretches[0].Left, stretches[0].Right},
		firstSeg:  make([]int, len(stretches)+1),
	}
	km := 0.0
	var boxes [][2][2]float64
	for k := range stretches {
		st := &l.stretches[k]
		st.KmFrom = km
		l.firstSeg[k] = len(l.segs)
		for i := 0; i+1 < len(st.Coords); i++ {
			a, b := st.Coords[i], st.Coords[i+1]
			s, azi1, azi2 := inverse3(a, b)
			min, max := segmentBox(a, b, s, azi1, azi2)
			boxes = append(boxes, [2][2]float64{min, max})
			l.segs = append(l.segs, segment{
				a:       place(a),
				b:       place(b),
				startKm: km,
				lengthM: s,
				azimuth: azi1,
				stretch: int32(k),
				index:   int32(i),
				first:   i == 0,
				last:    i+2 == len(st.Coords),
			})
			km += s / 1000
		}
		st.KmTo = km
	}
	l.firstSeg[len(stretches)] = len(l.segs)
	// Sectors: each stretch starts a new one; numbers run on.
	n := 0
	for k := range l.stretches {
		st := &l.stretches[k]
		st.FirstSector = n
		for from := st.KmFrom; ; {
			to := math.Min(from+l.sectorKm, st.KmTo)
			l.sectors = append(l.sectors, Sector{Index: n, Stretch: k, StretchName: st.Name, KmFrom: from, KmTo: to})
			n++
			// The boundary is computed from the stretch start, not by
			// accumulation, so SectorAt and the layout agree exactly.
			next := st.KmFrom + float64(n-st.FirstSector)*l.sectorKm
			if next >= st.KmTo {
				break
			}
			from = next
		}
		st.LastSector = n - 1
	}
	l.idWidth = max(3, len(fmt.Sprint(n-1)))
	for i := range l.sectors {
		l.sectors[i].ID = l.SectorID(i)
	}
	// Joints between stretches: the ends of all stretches by place, so
	// that finding them takes time in proportion to their number.
	l.joinNext = make([]bool, len(stretches))
	l.joined = make([][2]bool, len(stretches))
	l.closed = make([]bool, len(stretches))
	ends := make(map[orb.Point][]int, 2*len(stretches)) // place → stretch indexes, one per end there
	for k := range stretches {
		c := stretches[k].Coords
		ends[canon(c[0])] = append(ends[canon(c[0])], k)
		ends[canon(c[len(c)-1])] = append(ends[canon(c[len(c)-1])], k)
	}
	for k := range stretches {
		c := stretches[k].Coords
		for e, p := range [2]orb.Point{c[0], c[len(c)-1]} {
			for _, j := range ends[canon(p)] {
				if j != k {
					l.joined[k][e] = true
				}
			}
		}
		if k+1 < len(stretches) && samePlace(c[len(c)-1], stretches[k+1].Coords[0]) {
			l.joinNext[k] = true
		}
		if samePlace(c[0], c[len(c)-1]) {
			l.closed[k] = true
			l.joined[k] = [2]bool{true, true}
		}
	}
	for i, bx := range boxes {
		l.tree.insert(bx[0], bx[1], int32(i))
	}
	l.grid = newGrid(boxes)
	return l
}

// Substring is the line between two chainages on stretch k, following the
// geodesic segments (their vertices included).
func (l *Line) Substring(k int, kmFrom, kmTo float64) orb.LineString {
	st := &l.stretches[k]
	kmFrom = math.Max(kmFrom, st.KmFrom)
	kmTo = math.Min(kmTo, st.KmTo)
	var out orb.LineString
	for i := l.firstSeg[k]; i < l.firstSeg[k+1]; i++ {
		sg := &l.segs[i]
		segEnd := sg.startKm + sg.lengthM/1000
		if segEnd < kmFrom || sg.startKm > kmTo {
			continue
		}
		a := st.Coords[sg.index]
		if len(out) == 0 {
			if kmFrom > sg.startKm {
				p, _ := direct(a, sg.azimuth, (kmFrom-sg.startKm)*1000)
				out = append(out, p)
			} else {
				out = append(out, a)
			}
		}
		if segEnd <= kmTo {
			out = append(out, st.Coords[sg.index+1])
		} else {
			p, _ := direct(a, sg.azimuth, (kmTo-sg.startKm)*1000)
			out = append(out, p)
			break
		}
	}
	if len(out) == 1 {
		out = append(out, out[0])
	}
	return out
}

// PointAt is the point of the line at chainage km and the line's azimuth
// (degrees clockwise from north) there.
func (l *Line) PointAt(km float64) (p orb.Point, azimuth float64) {
	i := l.segmentAt(km)
	sg := &l.segs[i]
	a := l.stretches[sg.stretch].Coords[sg.index]
	q, azi := direct(a, sg.azimuth, math.Max(0, km-sg.startKm)*1000)
	return q, azi
}

func (l *Line) segmentAt(km float64) int {
	lo, hi := 0, len(l.segs)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if l.segs[mid].startKm <= km {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo
}
