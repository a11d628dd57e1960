package gen

import (
	"math"

	"github.com/linewatch/linewatch/geo"
)

// placer puts positions beside the line: on a party's own side at a
// distance (background), or at a signed depth across it (events).
//
// A position d metres out from chainage km goes along the normal of the
// line's chord from km−w to km+w, w growing with d: the direction turns
// smoothly as km moves, where the normal of the segment itself would jump
// at every vertex. The line is kept as points every sampleKm, so placing a
// position costs a few multiplications, not a geodesic problem.
//
// Own-side positions must stay on their side however the line winds, and
// out of the demilitarised zone, without a Locate per record. So the line
// is checked at anchors every anchorKm: at each anchor and for each party,
// positions at growing distances are located, and those that stay on the
// side, clear of the buffer and of the line's free ends make the anchor's
// safe range; a position between two anchors keeps within both. Where the
// line turns sharply between anchors, every position is located. Anchors
// are worked out when first used; the result does not depend on the order.
type placer struct {
	line      *geo.Line
	stretches []geo.Stretch
	parties   [2]string
	lengthKm  float64
	pts       [][2]float64 // the line every sampleKm
	anchors   []anchor
}

const (
	sampleKm = 0.25
	anchorKm = 1.0
	minOwnM  = 500   // least distance of a background position from the line
	maxOwnM  = 30000 // farthest sampled (fire origins)
	// sharpDeg is the turning of the line near an anchor beyond which
	// every own-side position there is located.
	sharpDeg = 40.0
)

// sampleM are the distances tried at each anchor beyond its minimum.
var sampleM = []float64{750, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 6000, 7000, 8000, 10000, 12000, 14000, 15000, 17500, 20000, 25000, 30000}

type anchor struct {
	done       bool
	sharp      bool       // the line turns sharply near it: locate every position
	dmin, dmax [2]float64 // safe own-side distances per party; dmax < dmin: none
}

func newPlacer(l *geo.Line) *placer {
	p := &placer{line: l, stretches: l.Stretches(), parties: l.Parties(), lengthKm: l.LengthKm()}
	n := int(math.Ceil(p.lengthKm / sampleKm))
	p.pts = make([][2]float64, n+1)
	for i := range p.pts {
		q, _ := l.PointAt(math.Min(float64(i)*sampleKm, p.lengthKm))
		p.pts[i] = q
	}
	p.anchors = make([]anchor, int(math.Ceil(p.lengthKm/anchorKm))+1)
	return p
}

// stretchAt is the stretch holding chainage km.
func (p *placer) stretchAt(km float64) int {
	for k := range p.stretches {
		if km < p.stretches[k].KmTo {
			return k
		}
	}
	return len(p.stretches) - 1
}

// lineAt is the line's point at chainage km, between samples.
func (p *placer) lineAt(km float64) [2]float64 {
	km = p.clampKm(km)
	f := km / sampleKm
	i := min(int(f), len(p.pts)-2)
	t := f - float64(i)
	a, b := p.pts[i], p.pts[i+1]
	return [2]float64{a[0] + t*(b[0]-a[0]), a[1] + t*(b[1]-a[1])}
}

// WGS 84, for local offsets.
const (
	wgsA  = 6378137.0
	wgsE2 = 6.69437999014e-3
)

// radii are the meridional and prime-vertical radii of curvature at lat.
func radii(lat float64) (m, n float64) {
	s := math.Sin(lat * math.Pi / 180)
	w := 1 - wgsE2*s*s
	n = wgsA / math.Sqrt(w)
	return n * (1 - wgsE2) / w, n
}

// azimuth is the direction (degrees from north) from a to b, close by.
func azimuth(a, b [2]float64) float64 {
	lat := (a[1] + b[1]) / 2
	m, n := radii(lat)
	dx := (b[0] - a[0]) * n * math.Cos(lat*math.Pi/180)
	dy := (b[1] - a[1]) * m
	return math.Atan2(dx, dy) * 180 / math.Pi
}

// offset is the point d metres from q along azimuth az, in the plane
// tangent at q (off by centimetres at 30 km).
func offset(q [2]float64, az, d float64) [2]float64 {
	m, n := radii(q[1])
	s, c := math.Sincos(az * math.Pi / 180)
	lat := q[1] + d*c/m*180/math.Pi
	lon := q[0] + d*s/(n*math.Cos(q[1]*math.Pi/180))*180/math.Pi
	return [2]float64{lon, lat}
}

// ownAzimuth is the direction from the line at km toward party pi's side,
// as seen from d metres out: the normal of the chord km±w.
func (p *placer) ownAzimuth(pi int, km, d float64) float64 {
	w := math.Max(sampleKm, math.Min(3, d/4000))
	az := azimuth(p.lineAt(km-w), p.lineAt(km+w))
	// Walking in coordinate order, the left party's side is at azimuth −90°.
	if p.stretches[p.stretchAt(km)].Left == p.parties[pi] {
		return az - 90
	}
	return az + 90
}

// place is the position at chainage km and signed depth for party pi:
// negative on pi's own side, positive on the other party's.
func (p *placer) place(pi int, km, depth float64) [2]float64 {
	km = p.clampKm(km)
	az := p.ownAzimuth(pi, km, math.Abs(depth))
	if depth > 0 {
		az += 180
	}
	return round6(offset(p.lineAt(km), az, math.Abs(depth)))
}

func (p *placer) anchor(i int) *anchor {
	a := &p.anchors[i]
	if a.done {
		return a
	}
	a.done = true
	km := math.Min(float64(i)*anchorKm, p.lengthKm)
	// The turning of the line's short chords from a sample before the
	// anchor to one past the next.
	prev := math.NaN()
	turn := 0.0
	for x := km - 2*sampleKm; x <= km+anchorKm+2*sampleKm; x += sampleKm {
		az := azimuth(p.lineAt(x-sampleKm), p.lineAt(x+sampleKm))
		if !math.IsNaN(prev) {
			turn += math.Abs(math.Remainder(az-prev, 360))
		}
		prev = az
	}
	a.sharp = turn > sharpDeg
	for pi := range 2 {
		st := &p.stretches[p.stretchAt(km)]
		// Near a vertex a position d out may come within d·cos(turning)
		// of the line: the least distance allows for it.
		dmin := math.Max(minOwnM, st.BufferM+250) / math.Cos(sharpDeg*math.Pi/180)
		a.dmin[pi], a.dmax[pi] = dmin, 0
		for _, d := range append([]float64{dmin}, sampleM...) {
			if d < dmin {
				continue
			}
			// The position must be about d from the line: nearer, another
			// part of the line comes close, and positions between samples
			// could come nearer still.
			if ok, dist := p.ownOK(pi, p.place(pi, km, -d)); !ok || dist < 0.7*d {
				break
			}
			a.dmax[pi] = d
		}
	}
	return a
}

// ownOK tells that q lies on party pi's side, clear of its half of the
// demilitarised zone, and not beyond a free end of the line; dist is its
// distance from the line.
func (p *placer) ownOK(pi int, q [2]float64) (ok bool, dist float64) {
	loc := p.line.Locate(q[0], q[1])
	return loc.Side == p.parties[pi] && !loc.BeyondEnd && loc.DistanceM >= math.Max(minOwnM, loc.BufferM+250), loc.DistanceM
}

// ownRange is the safe own-side distance range for party pi at chainage
// km, and whether positions there must be located.
func (p *placer) ownRange(pi int, km float64) (lo, hi float64, sharp bool) {
	i := int(p.clampKm(km) / anchorKm)
	i = max(0, min(i, len(p.anchors)-1))
	a := p.anchor(i)
	lo, hi, sharp = a.dmin[pi], a.dmax[pi], a.sharp
	if i+1 < len(p.anchors) {
		b := p.anchor(i + 1)
		lo, hi, sharp = math.Max(lo, b.dmin[pi]), math.Min(hi, b.dmax[pi]), sharp || b.sharp
	}
	return lo, hi, sharp
}

// own is a position on party pi's side at chainage km, d metres from the
// line, d kept within the safe range there; ok is false where there is
// none.
func (p *placer) own(pi int, km, d float64) (q [2]float64, ok bool) {
	km = p.clampKm(km)
	lo, hi, sharp := p.ownRange(pi, km)
	if hi < lo {
		return q, false
	}
	d = math.Max(lo, math.Min(hi, d))
	for try := range 3 {
		q = p.place(pi, km, -d)
		if !sharp {
			return q, true
		}
		if ok, _ := p.ownOK(pi, q); ok {
			return q, true
		}
		if try == 0 {
			d = (lo + d) / 2
		} else {
			d = lo
		}
	}
	return q, false
}

func (p *placer) clampKm(km float64) float64 {
	return math.Max(0, math.Min(p.lengthKm, km))
}

// round6 rounds a position to the 6 decimals it is written with, so that
// what the truth locates is what a reader parses.
func round6(q [2]float64) [2]float64 {
	return [2]float64{math.Round(q[0]*1e6) / 1e6, math.Round(q[1]*1e6) / 1e6}
}
