package detect

import (
	"github.com/linewatch/linewatch/geo"
	"github.com/paulmach/orb"
)

// Type is the type of a violation (SPEC §3).
type Type uint8

const (
	Crossing  Type = iota // ground: went over the line
	Incursion             // ground: certainly on the other party's side
	FireType              // fire: impact on the other party's side
	Buffer                // ground: in the party's own half of the demilitarised zone
	numTypes
)

var typeNames = [numTypes]string{"crossing", "incursion", "fire", "buffer"}

func (t Type) String() string { return typeNames[t] }

// Ground tells whether violations of this type count as ground violations
// (crossings and incursions).
func (t Type) Ground() bool { return t == Crossing || t == Incursion }

// Outcome is what became of an accepted sighting.
type Outcome uint8

const (
	Unattributed  Outcome = iota + 1 // no side of the line's parties: never judged
	LowConfidence                    // attributed, below min_confidence: not judged
	BeyondEnd                        // judged position beyond a free end: not judged
	Judged                           // judged: made at most one violation
)

// Violation is one violation of the ceasefire (SPEC §3).
type Violation struct {
	ID       string
	Time     int64 // µs since the epoch
	Party    string
	Type     Type
	Lon, Lat float64 // where it is located
	Sector   int
	Km       float64
	DepthM   float64 // d: depth of the judged position
	CertainM float64 // e = d − precision_m
	Weight   int64   // micro-units: weights[type] × confidence
	Track    string
	Strength float64
	Source   string // the sighting's source, "" for none
	Props    []byte // the sighting's raw properties, carried to evidence
	// Leaf is the index, in the engine's tamper-evident log, of the
	// record it came from (docs/log.md): what an alert names for each of
	// its evidence ids. 0 when nothing is logged.
	Leaf uint64

	key uint64 // identity of the record it came from (id and source hash)
	fp  uint64
}

// Key is the duplicate check's hash of the id and source of the record it
// came from.
func (v *Violation) Key() uint64 { return v.key }

// Key is the duplicate check's hash of the id and source of the record it
// came from.
func (t *TrackPoint) Key() uint64 { return t.key }

// Prepared is a sighting after the stateless part of judging: attributed,
// located and, unless it is a tracked ground Point, judged. Preparing
// touches nothing shared, so it runs on all cores.
type Prepared struct {
	Key       uint64 // a hash of the id and source: the duplicate check's key
	FP        uint64 // the record's fingerprint
	ID        string
	Source    string // "" for none: records duplicate each other only with the same ID and Source
	Time      int64
	Outcome   Outcome
	Party     string
	Violation *Violation  // nil when none (or, for a track point, until it is paired)
	Track     *TrackPoint // a judged ground Point with a track: judged when paired
	// Leaf is the record's index in the engine's log, set by the streaming
	// driver once it has logged the record; Stream.Add hands it on to the
	// record's violation or track point.
	Leaf uint64
}

// TrackPoint is a judged ground Point of a track, waiting for the previous
// point of its track to be known.
//
// Most points of most tracks lie on their party's own side and can never
// be violations themselves, only the previous point of a crossing; they
// keep just what that needs, and Detail is nil. A batch of millions of
// sightings holds every track point until the end, so this halves its
// memory.
type TrackPoint struct {
	Party, Track string
	Time         int64
	ID           string
	Source       string
	Pos          orb.Point
	// DepthM is d. Of a point without Detail only the sign counts (as the
	// previous point of a track's next): one well inside its own side,
	// which Line.Far answers for, keeps the bound Far gives.
	DepthM float64
	Detail *TrackDetail // nil when the point cannot be a violation
	Leaf   uint64       // the record's index in the engine's log (Violation.Leaf)
	key    uint64
}

// TrackDetail is what a track point that may be a violation needs to
// become one.
type TrackDetail struct {
	CertainM   float64 // e
	BufferM    float64
	Sector     int
	Km         float64
	Confidence float64
	Strength   float64
	Props      []byte
}

// Judge is the engine's stateless half: it knows the line and the policy.
type Judge struct {
	line *geo.Line
	pol  Policy
	// weights in micro-units by type
	typeWeight [numTypes]float64
}

// NewJudge returns a judge for the line under the policy.
func NewJudge(line *geo.Line, pol Policy) *Judge {
	j := &Judge{line: line, pol: pol}
	j.typeWeight = [numTypes]float64{pol.Weights.Crossing, pol.Weights.Incursion, pol.Weights.Fire, pol.Weights.Buffer}
	return j
}

// Line is the judge's line.
func (j *Judge) Line() *geo.Line { return j.line }

// Policy is the judge's policy.
func (j *Judge) Policy() Policy { return j.pol }

// Prepare attributes, locates and judges a sighting as far as can be done
// without the rest of the feed. key is the duplicate check's hash of the id
// and source (feed.DupKey).
func (j *Judge) Prepare(s *Sighting, key uint64) Prepared { return j.PrepareWith(s, key, nil) }

// PrepareWith is Prepare, but the track point the sighting makes, if any,
// is written into *into rather than made anew (into nil: made anew): for a
// caller done with it before it prepares the next into the same, such as a
// batch reader that packs each into its TrackSet at once. Track points
// made anew were a third of what a batch run allocates.
func (j *Judge) PrepareWith(s *Sighting, key uint64, into *TrackPoint) Prepared {
	p := Prepared{Key: key, FP: s.Fingerprint, ID: s.ID, Source: s.Source, Time: s.Time}
	// Every position is located once: fire without a side needs its first
	// position's side to be attributed, judging needs the depths of all.
	var locBuf [8]geo.Location
	locs := locBuf[:0]
	sideless := s.Side == "" && s.Kind == Fire
	if sideless {
		locs = j.locate(s, locs)
	}
	party := j.attribute(s, locs)
	if party == "" {
		p.Outcome = Unattributed
		return p
	}
	p.Party = party
	if s.Confidence < j.pol.MinConfidence {
		p.Outcome = LowConfidence
		return p
	}
	// Depths decide the judged position and, for a movement, where it
	// crossed.
	if !sideless {
		// Most positions lie well inside their own party's side, where
		// nothing is a violation: the line's grid tells so at once.
		if s.Shape == Point && s.PrecisionM >= 0 {
			if side, minM, ok := j.line.Far(s.Coords[0][0], s.Coords[0][1]); ok && side == party {
				p.Outcome = Judged
				if s.Kind == Ground && s.Track != "" {
					p.Track = track(into)
					*p.Track = TrackPoint{Party: party, Track: s.Track, Time: s.Time, ID: s.ID, Source: s.Source, Pos: s.Coords[0], DepthM: -minM, key: key}
				}
				return p
			}
		}
		locs = j.locate(s, locs)
	}
	ji := j.judgedIndex(s, party, locs)
	loc := locs[ji]
	if loc.BeyondEnd {
		p.Outcome = BeyondEnd
		return p
	}
	p.Outcome = Judged
	d := loc.Depth(party)
	e := d - s.PrecisionM
	pos := s.Coords[ji]
	if s.Kind == Ground && s.Shape == Point && s.Track != "" {
		tp := track(into)
		*tp = TrackPoint{Party: party, Track: s.Track, Time: s.Time, ID: s.ID, Source: s.Source, Pos: pos, DepthM: d, key: key}
		if e > 0 || (loc.BufferM > 0 && e > -loc.BufferM) {
			tp.Detail = &TrackDetail{CertainM: e, BufferM: loc.BufferM, Sector: loc.Sector, Km: loc.Km,
				Confidence: s.Confidence, Strength: s.Strength, Props: s.Props}
		}
		p.Track = tp
		return p
	}
	// Built on the stack: most judged sightings make no violation, and
	// only those that do are allocated.
	v := Violation{
		ID: s.ID, Time: s.Time, Party: party, Lon: pos[0], Lat: pos[1],
		Sector: loc.Sector, Km: loc.Km, DepthM: d, CertainM: e,
		Track: s.Track, Strength: s.Strength, Source: s.Source, Props: s.Props, key: key, fp: s.Fingerprint,
	}
	switch {
	case s.Kind == Fire:
		if e <= 0 {
			return p
		}
		v.Type = FireType
	case s.Shape == LineString && j.crossing(s, party, locs, &v):
		v.Type = Crossing
	case e > 0:
		v.Type = Incursion
	case loc.BufferM > 0 && e > -loc.BufferM:
		v.Type = Buffer
	default:
		return p
	}
	v.Weight = Weight(j.typeWeight[v.Type], s.Confidence)
	p.Violation = new(Violation)
	*p.Violation = v
	return p
}

// track returns tp, or a TrackPoint of its own when tp is nil. (A value
// passed in and its address returned when tp is nil would make every
// call allocate.)
func track(tp *TrackPoint) *TrackPoint {
	if tp == nil {
		return new(TrackPoint)
	}
	return tp
}

// attribute is the party a sighting is attributed to, or "" (SPEC §2).
// For fire without a side, locs are its positions located.
func (j *Judge) attribute(s *Sighting, locs []geo.Location) string {
	if s.Side != "" {
		if j.line.Other(s.Side) != "" {
			return s.Side
		}
		return "" // an observer or a third force
	}
	if s.Kind != Fire {
		return ""
	}
	// The origin of a LineString, the impact of a Point, the first point of
	// a MultiPoint; exactly on the line it has no side.
	first := locs[0]
	if first.DistanceM == 0 {
		return ""
	}
	if s.Shape == LineString {
		return first.Side // fired from there
	}
	return j.line.Other(first.Side) // landed there
}

// locate appends the location of each position of s to locs.
func (j *Judge) locate(s *Sighting, locs []geo.Location) []geo.Location {
	for _, c := range s.Coords {
		locs = append(locs, j.line.Locate(c[0], c[1]))
	}
	return locs
}

// judgedIndex is the index of the judged position: the deepest for
// ground (the first of equals), the impact for fire.
func (j *Judge) judgedIndex(s *Sighting, party string, locs []geo.Location) int {
	if s.Kind == Fire && s.Shape == LineString {
		return len(locs) - 1
	}
	best := 0
	for i := 1; i < len(locs); i++ {
		if locs[i].Depth(party) > locs[best].Depth(party) {
			best = i
		}
	}
	return best
}

// crossing judges a ground LineString: the first pair of consecutive
// positions, the first at depth ≤ 0 and the second certainly over (e > 0),
// is a crossing, located where the pair meets the line (SPEC §3).
func (j *Judge) crossing(s *Sighting, party string, locs []geo.Location, v *Violation) bool {
	for i := 0; i+1 < len(locs); i++ {
		if locs[i].Depth(party) > 0 || locs[i+1].Depth(party)-s.PrecisionM <= 0 {
			continue
		}
		j.locateCrossing(s.Coords[i], s.Coords[i+1], locs[i+1], v)
		return true
	}
	return false
}

// locateCrossing puts a crossing where the movement a→b meets the line, or
// at b (with b's sector and chainage) where it does not.
func (j *Judge) locateCrossing(a, b orb.Point, locB geo.Location, v *Violation) {
	if c, ok := j.line.Cross(a, b); ok {
		v.Lon, v.Lat, v.Sector, v.Km = c.Point[0], c.Point[1], c.Sector, c.Km
		return
	}
	v.Lon, v.Lat, v.Sector, v.Km = b[0], b[1], locB.Sector, locB.Km
}
