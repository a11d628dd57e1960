package detect

import (
	"bytes"
	"cmp"
	"encoding/gob"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// The stream engine's state, written to a checkpoint so that a restarted
// process resumes exactly where the checkpoint left off. It is encoded
// with gob, in a deterministic order (maps are written sorted), so the
// same state gives the same bytes.

// snapshotVersion is the version of the state's layout. Version 2 keeps
// the source of every id seen, violation and track point, as duplicates are
// scoped to their source (SPEC §2, revision 4); a version 1 state knows
// ids without their sources, so it cannot be carried over: it is refused.
// Version 3 adds each violation's and track point's leaf index in the
// engine's log. A version 2 state is read with leaf indexes 0: it was
// written by an engine that kept no log, and a log cannot be begun on a
// state that has consumed records without one (the streaming driver
// refuses it), so those indexes are never used.
const snapshotVersion = 3

// ErrOldState is the error of a state written by an earlier linewatch in a
// layout this one cannot resume from.
var ErrOldState = errors.New("the engine state was written by an earlier linewatch, which did not keep the sources of ids; start from a new state and replay the feed")

type snapViolation struct {
	ID       string
	Time     int64
	Party    string
	Type     Type
	Lon, Lat float64
	Sector   int
	Km       float64
	DepthM   float64
	CertainM float64
	Weight   int64
	Track    string
	Strength float64
	Source   string
	Props    []byte
	Key, FP  uint64
	Leaf     uint64 // since version 3
}

type snapPoint struct {
	Party, Track string
	Time         int64
	ID           string
	Source       string
	Lon, Lat     float64
	DepthM       float64
	HasDetail    bool
	CertainM     float64
	BufferM      float64
	Sector       int
	Km           float64
	Confidence   float64
	Strength     float64
	Props        []byte
	Key, FP      uint64
	Leaf         uint64 // since version 3
}

type snapCell struct {
	Party      string
	Sector     int
	Window     int64
	Violations []snapViolation
}

// snapEpisode is an open episode as last evaluated: its figures (what the
// next evaluation compares with), not its evidence, which its cells hold.
type snapEpisode struct {
	Changed                                                             bool
	Cells                                                               []cellRef
	ID                                                                  string
	Class                                                               Class
	Party                                                               string
	Start                                                               int64
	End                                                                 int64
	Stretch                                                             int
	Sectors                                                             []int
	KmFrom                                                              float64
	KmTo                                                                float64
	HotWindows, Violations, Crossings, Incursions, Fire, Buffer, Tracks int
	Strength                                                            int64
	MaxDepthM                                                           float64
	Score                                                               int64
	Significant, Deliberate, Sustained                                  bool
	// Since corroboration: a state written before has none (Affiliations
	// nil), which restoring tells (openEpisode.legacy).
	Sources      int
	Affiliations []AffiliationCount
	Corroborated bool
}

type cellRef struct {
	Party  string
	Sector int
	Window int64
}

type snapSeen struct {
	ID     string
	Source string
	Time   int64
}

type snapshot struct {
	Version   int
	Started   bool
	MaxTime   int64
	Watermark int64
	Done      int64
	Dirty     bool
	Grown     int
	Seen      []snapSeen
	Heads     []snapPoint
	Pending   []snapPoint
	Cells     []snapCell
	Episodes  []snapEpisode
	Isolated  int
	ByType    [numTypes]int
	Classes   [4]int
}

func toSnapViolation(v *Violation) snapViolation {
	return snapViolation{v.ID, v.Time, v.Party, v.Type, v.Lon, v.Lat, v.Sector, v.Km, v.DepthM, v.CertainM,
		v.Weight, v.Track, v.Strength, v.Source, v.Props, v.key, v.fp, v.Leaf}
}

func (s snapViolation) violation() *Violation {
	return &Violation{ID: s.ID, Time: s.Time, Party: s.Party, Type: s.Type, Lon: s.Lon, Lat: s.Lat, Sector: s.Sector,
		Km: s.Km, DepthM: s.DepthM, CertainM: s.CertainM, Weight: s.Weight, Track: s.Track, Strength: s.Strength,
		Source: s.Source, Props: s.Props, Leaf: s.Leaf, key: s.Key, fp: s.FP}
}

func toSnapPoint(p *TrackPoint) snapPoint {
	sp := snapPoint{Party: p.Party, Track: p.Track, Time: p.Time, ID: p.ID, Source: p.Source, Lon: p.Pos[0], Lat: p.Pos[1],
		DepthM: p.DepthM, Key: p.key, Leaf: p.Leaf}
	if d := p.Detail; d != nil {
		sp.HasDetail = true
		sp.CertainM, sp.BufferM, sp.Sector, sp.Km = d.CertainM, d.BufferM, d.Sector, d.Km
		sp.Confidence, sp.Strength, sp.Props = d.Confidence, d.Strength, d.Props
	}
	return sp
}

func (s snapPoint) point() *TrackPoint {
	p := &TrackPoint{Party: s.Party, Track: s.Track, Time: s.Time, ID: s.ID, Source: s.Source, Pos: [2]float64{s.Lon, s.Lat},
		DepthM: s.DepthM, Leaf: s.Leaf, key: s.Key}
	if s.HasDetail {
		p.Detail = &TrackDetail{CertainM: s.CertainM, BufferM: s.BufferM, Sector: s.Sector, Km: s.Km,
			Confidence: s.Confidence, Strength: s.Strength, Props: s.Props}
	}
	return p
}

// MarshalBinary writes the engine's state.
func (s *Stream) MarshalBinary() ([]byte, error) {
	sn := snapshot{Version: snapshotVersion, Started: s.started, MaxTime: s.maxTime, Watermark: s.watermark, Done: s.done, Dirty: s.dirty, Grown: s.grown,
		Isolated: s.Isolated, ByType: s.ByType, Classes: s.Classes}
	for k, t := range s.seen {
		sn.Seen = append(sn.Seen, snapSeen{k.id, k.source, t})
	}
	slices.SortFunc(sn.Seen, func(a, b snapSeen) int {
		return cmp.Or(cmp.Compare(a.Time, b.Time), strings.Compare(a.ID, b.ID), strings.Compare(a.Source, b.Source))
	})
	for _, st := range s.tracks {
		if st.head != nil {
			sn.Heads = append(sn.Heads, toSnapPoint(st.head))
		}
	}
	slices.SortFunc(sn.Heads, func(a, b snapPoint) int {
		return cmp.Or(strings.Compare(a.Party, b.Party), strings.Compare(a.Track, b.Track))
	})
	s.pending.All(func(p *TrackPoint) { sn.Pending = append(sn.Pending, toSnapPoint(p)) })
	slices.SortFunc(sn.Pending, func(a, b snapPoint) int {
		return cmp.Or(cmp.Compare(a.Time, b.Time), strings.Compare(a.ID, b.ID), strings.Compare(a.Source, b.Source),
			strings.Compare(a.Party, b.Party), strings.Compare(a.Track, b.Track))
	})
	for _, c := range s.cells {
		sc := snapCell{Party: c.Party, Sector: c.Sector, Window: c.Window}
		for _, v := range c.Violations {
			sc.Violations = append(sc.Violations, toSnapViolation(v))
		}
		sn.Cells = append(sn.Cells, sc)
	}
	slices.SortFunc(sn.Cells, func(a, b snapCell) int {
		return cmp.Or(strings.Compare(a.Party, b.Party), cmp.Compare(a.Window, b.Window), cmp.Compare(a.Sector, b.Sector))
	})
	for _, oe := range s.episodes {
		e := oe.ep
		se := snapEpisode{Changed: oe.changed, ID: e.ID, Class: e.Class, Party: e.Party, Start: e.Start, End: e.End,
			Stretch: e.Stretch, Sectors: e.Sectors, KmFrom: e.KmFrom, KmTo: e.KmTo, HotWindows: e.HotWindows,
			Violations: e.Violations, Crossings: e.Crossings, Incursions: e.Incursions, Fire: e.Fire, Buffer: e.Buffer,
			Tracks: e.Tracks, Strength: e.Strength, MaxDepthM: e.MaxDepthM, Score: e.Score,
			Significant: e.Significant, Deliberate: e.Deliberate, Sustained: e.Sustained,
			Sources: e.Sources, Affiliations: e.Affiliations, Corroborated: e.Corroborated}
		for _, k := range oe.cells {
			se.Cells = append(se.Cells, cellRef{k.party, k.sector, k.window})
		}
		sn.Episodes = append(sn.Episodes, se)
	}
	slices.SortFunc(sn.Episodes, func(a, b snapEpisode) int { return strings.Compare(a.ID, b.ID) })
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&sn); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// UnmarshalBinary restores a state written by MarshalBinary into an
// engine made by NewStream with the same line and policy.
func (s *Stream) UnmarshalBinary(data []byte) error {
	var sn snapshot
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&sn); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if sn.Version == 1 {
		return fmt.Errorf("checkpoint: %w (state version 1, this linewatch reads version %d)", ErrOldState, snapshotVersion)
	}
	if sn.Version != snapshotVersion && sn.Version != 2 {
		return fmt.Errorf("checkpoint: state version %d, this linewatch reads version %d", sn.Version, snapshotVersion)
	}
	fresh := NewStream(s.judge)
	*s = *fresh
	s.started, s.maxTime, s.watermark, s.done = sn.Started, sn.MaxTime, sn.Watermark, sn.Done
	s.Isolated, s.ByType, s.Classes = sn.Isolated, sn.ByType, sn.Classes
	for _, e := range sn.Seen {
		s.seen[seenKey{e.ID, e.Source}] = e.Time
		s.seenExp.Push(timed{e.Time, e.ID, e.Source})
	}
	for _, h := range sn.Heads {
		p := h.point()
		k := trackKey{p.Party, p.Track}
		s.tracks[k] = &trackState{head: p}
		s.trackExp.Push(timed{p.Time, k.party, k.track})
	}
	for _, p := range sn.Pending {
		s.pending.Push(p.point())
	}
	for _, sc := range sn.Cells {
		c := &Cell{Party: sc.Party, Sector: sc.Sector, Window: sc.Window}
		for _, v := range sc.Violations {
			vv := v.violation()
			c.Score += vv.Weight
			c.Violations = append(c.Violations, vv)
		}
		s.cells[cellKey{c.Party, c.Sector, c.Window}] = c
		if end := s.pol.WindowStart(c.Window + 1); end > s.done {
			s.nextEnd = min(s.nextEnd, end) // closed windows keep only hot cells, already seen to
		}
	}
	for _, se := range sn.Episodes {
		ep := &Episode{ID: se.ID, Class: se.Class, Party: se.Party, Start: se.Start, End: se.End, Stretch: se.Stretch,
			Sectors: se.Sectors, KmFrom: se.KmFrom, KmTo: se.KmTo, HotWindows: se.HotWindows, Violations: se.Violations,
			Crossings: se.Crossings, Incursions: se.Incursions, Fire: se.Fire, Buffer: se.Buffer, Tracks: se.Tracks,
			Strength: se.Strength, MaxDepthM: se.MaxDepthM, Score: se.Score,
			Significant: se.Significant, Deliberate: se.Deliberate, Sustained: se.Sustained,
			Sources: se.Sources, Affiliations: se.Affiliations, Corroborated: se.Corroborated}
		oe := &openEpisode{ep: ep, changed: se.Changed}
		for _, r := range se.Cells {
			oe.cells = append(oe.cells, cellKey{r.Party, r.Sector, r.Window})
		}
		// A state written before corroboration has none of its figures:
		// they are not compared at the next evaluation, so they alone make
		// no update.
		oe.legacy = se.Affiliations == nil
		s.episodes[se.ID] = oe
		s.nextClose = min(s.nextClose, sat(ep.End, satMul(sat(int64(s.pol.JoinGapWindows), 1), s.pol.Window.Microseconds())))
	}
	s.dirty, s.grown = sn.Dirty, sn.Grown
	return nil
}
