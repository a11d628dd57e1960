package detect

import (
	"cmp"
	"slices"
	"strings"

	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/internal/num"
)

// Class is the verdict on an episode or a violation (SPEC §4).
type Class uint8

const (
	Isolated Class = iota
	Escalation
	SustainedBombardment
	SustainedOffensive
)

var classNames = [...]string{"isolated", "escalation", "sustained_bombardment", "sustained_offensive"}

func (c Class) String() string { return classNames[c] }

// Cell is the violations of one party in one sector during one window.
type Cell struct {
	Party      string
	Sector     int
	Window     int64 // index of the window from window_origin
	Score      int64 // micro-units
	Violations []*Violation
}

type cellKey struct {
	party  string
	sector int
	window int64
}

// cellSet is where both drivers sum violations: one Cell per party,
// sector and window.
type cellSet map[cellKey]*Cell

// add adds a violation to its cell, making the cell if needed, and
// returns the cell.
func (cs cellSet) add(pol *Policy, v *Violation) *Cell {
	k := cellKey{v.Party, v.Sector, pol.WindowOf(v.Time)}
	c := cs[k]
	if c == nil {
		c = &Cell{Party: v.Party, Sector: v.Sector, Window: k.window}
		cs[k] = c
	}
	c.Score += v.Weight
	c.Violations = append(c.Violations, v)
	return c
}

// Episode is a connected set of hot cells of one party (SPEC §4).
type Episode struct {
	ID         string
	Class      Class
	Party      string
	Start, End int64 // µs: start of the first hot window, end of the last
	Stretch    int
	Sectors    []int // sorted
	KmFrom     float64
	KmTo       float64
	HotWindows int
	Violations int
	Crossings  int
	Incursions int
	Fire       int
	Buffer     int
	Tracks     int
	Strength   int64 // micro-units
	MaxDepthM  float64
	Score      int64 // micro-units

	Significant, Deliberate, Sustained bool

	// Evidence is every violation of its hot cells, by time, then id, then
	// source.
	Evidence []*Violation
	// Cells are its hot cells, by window then sector.
	Cells []*Cell
}

// Result is the outcome of aggregating a set of violations.
type Result struct {
	Episodes []*Episode   // sorted by start, lowest sector, party, id
	Isolated []*Violation // violations in no episode, by time, sector, party, id, source
	ByType   [numTypes]int
	Classes  [4]int // episodes by class (Isolated unused)
}

// WindowOf is the index of the window holding time t (µs).
func (p *Policy) WindowOf(t int64) int64 {
	w := p.Window.Microseconds()
	d := t - p.WindowOrigin
	q := d / w
	if d%w != 0 && d < 0 {
		q--
	}
	return q
}

// WindowStart is the start (µs) of window i.
func (p *Policy) WindowStart(i int64) int64 {
	return p.WindowOrigin + i*p.Window.Microseconds()
}

// Aggregate sums the violations into cells, joins hot cells into episodes
// and classifies them. The result does not depend on the violations'
// order.
func Aggregate(line *geo.Line, pol Policy, viols []*Violation) Result {
	var res Result
	cells := cellSet{}
	for _, v := range viols {
		res.ByType[v.Type]++
		cells.add(&pol, v)
	}
	hotScore := pol.HotScoreMicro
	var hot []*Cell
	for _, c := range cells {
		if c.Score >= hotScore {
			hot = append(hot, c)
		} else {
			res.Isolated = append(res.Isolated, c.Violations...)
		}
	}
	for _, g := range joinCells(line, &pol, hot) {
		res.Episodes = append(res.Episodes, newEpisode(line, &pol, g))
	}
	for _, e := range res.Episodes {
		res.Classes[e.Class]++
	}
	slices.SortFunc(res.Episodes, func(a, b *Episode) int {
		return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.Sectors[0], b.Sectors[0]),
			strings.Compare(a.Party, b.Party), strings.Compare(a.ID, b.ID))
	})
	slices.SortFunc(res.Isolated, compareViolations)
	return res
}

// joinCells groups hot cells into episodes: connected sets of one party's
// cells, two cells connecting when their sectors lie on one stretch within
// join_sectors and their windows within join_gap_windows + 1. Each group
// comes sorted by window, then sector; groups come in the order of their
// first cells. hot is sorted in place.
func joinCells(line *geo.Line, pol *Policy, hot []*Cell) [][]*Cell {
	slices.SortFunc(hot, func(a, b *Cell) int {
		return cmp.Or(strings.Compare(a.Party, b.Party), cmp.Compare(a.Window, b.Window), cmp.Compare(a.Sector, b.Sector))
	})
	index := make(map[cellKey]int, len(hot))
	for i, c := range hot {
		index[cellKey{c.Party, c.Sector, c.Window}] = i
	}
	parent := make([]int, len(hot))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	sectors := line.Sectors()
	js, jw := pol.JoinSectors, int64(pol.JoinGapWindows)+1
	for i, c := range hot {
		st := sectors[c.Sector].Stretch
		for ds := -js; ds <= js; ds++ {
			s := c.Sector + ds
			if s < 0 || s >= len(sectors) || sectors[s].Stretch != st {
				continue
			}
			for dw := -jw; dw <= jw; dw++ {
				j, ok := index[cellKey{c.Party, s, c.Window + dw}]
				if !ok || j == i {
					continue
				}
				// The smaller index (earliest window, lowest sector) is
				// the root, so the first hot cell names the episode.
				if a, b := find(i), find(j); a < b {
					parent[b] = a
				} else if b < a {
					parent[a] = b
				}
			}
		}
	}
	var groups [][]*Cell
	at := map[int]int{}
	for i, c := range hot {
		r := find(i)
		g, ok := at[r]
		if !ok {
			g = len(groups)
			at[r] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], c)
	}
	return groups
}

// compareViolations orders violations as features: by time, then sector,
// then party, then id, then source (none first); then by type and
// position, which only identical ids and sources can reach.
func compareViolations(a, b *Violation) int {
	return cmp.Or(cmp.Compare(a.Time, b.Time), cmp.Compare(a.Sector, b.Sector),
		strings.Compare(a.Party, b.Party), strings.Compare(a.ID, b.ID), strings.Compare(a.Source, b.Source),
		cmp.Compare(a.Type, b.Type), cmp.Compare(a.Lon, b.Lon), cmp.Compare(a.Lat, b.Lat))
}

// newEpisode computes an episode's figures from its hot cells, sorted by
// window then sector.
func newEpisode(line *geo.Line, pol *Policy, cells []*Cell) *Episode {
	first := cells[0]
	e := &Episode{Party: first.Party, Cells: cells}
	e.Stretch = line.Sectors()[first.Sector].Stretch
	windows := map[int64]bool{}
	sectors := map[int]bool{}
	minW, maxW := first.Window, first.Window
	for _, c := range cells {
		windows[c.Window] = true
		sectors[c.Sector] = true
		minW, maxW = min(minW, c.Window), max(maxW, c.Window)
		e.Score += c.Score
		e.Evidence = append(e.Evidence, c.Violations...)
	}
	e.HotWindows = len(windows)
	for s := range sectors {
		e.Sectors = append(e.Sectors, s)
	}
	slices.Sort(e.Sectors)
	e.KmFrom = line.Sectors()[e.Sectors[0]].KmFrom
	e.KmTo = line.Sectors()[e.Sectors[len(e.Sectors)-1]].KmTo
	e.Start = pol.WindowStart(minW)
	e.End = pol.WindowStart(maxW + 1)
	slices.SortFunc(e.Evidence, func(a, b *Violation) int {
		return cmp.Or(cmp.Compare(a.Time, b.Time), strings.Compare(a.ID, b.ID), strings.Compare(a.Source, b.Source),
			compareViolations(a, b))
	})
	trackMax := map[string]int64{}
	for _, v := range e.Evidence {
		e.Violations++
		switch v.Type {
		case Crossing:
			e.Crossings++
		case Incursion:
			e.Incursions++
		case FireType:
			e.Fire++
		case Buffer:
			e.Buffer++
		}
		if !v.Type.Ground() {
			continue
		}
		e.MaxDepthM = max(e.MaxDepthM, v.CertainM)
		st := RoundMicro(v.Strength)
		if v.Track == "" {
			e.Tracks++
			e.Strength += st
			continue
		}
		if m, ok := trackMax[v.Track]; !ok || st > m {
			trackMax[v.Track] = st
		}
	}
	e.Tracks += len(trackMax)
	for _, m := range trackMax {
		e.Strength += m
	}
	// The first hot cell: the earliest window, the lowest sector in it.
	e.ID = first.Party + "-" + line.SectorID(first.Sector) + "-" + compactTime(pol.WindowStart(first.Window))
	classify(e, pol)
	return e
}

func classify(e *Episode, pol *Policy) {
	e.Significant = e.Score >= pol.SignificantScoreMicro ||
		e.MaxDepthM >= pol.SignificantDepthM ||
		e.Strength >= RoundMicro(pol.SignificantStrength)
	e.Deliberate = e.Crossings+e.Incursions >= pol.DeliberateMinGround && e.Tracks >= pol.DeliberateMinTracks
	e.Sustained = e.HotWindows >= pol.SustainedMinHotWindows
	var fire int64
	for _, v := range e.Evidence {
		if v.Type == FireType {
			fire += v.Weight
		}
	}
	switch {
	case e.Significant && e.Deliberate && e.Sustained:
		e.Class = SustainedOffensive
	case e.Significant && e.Sustained && 2*fire >= e.Score:
		e.Class = SustainedBombardment
	default:
		e.Class = Escalation
	}
}

// compactTime writes a time as in episode ids: 20240105T000000Z, with a
// fraction only when the window starts within a second.
func compactTime(us int64) string {
	s := num.FormatTime(us) // 2024-01-05T00:00:00Z or …:00.5Z
	return strings.NewReplacer("-", "", ":", "").Replace(s)
}
