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

	// Sources is the number of distinct sources among its violations;
	// violations without a source count as one more.
	Sources int
	// Affiliations counts its violations by their source's affiliation
	// (Policy.Affiliations; "unknown" for a source it does not name and for
	// none), sorted by affiliation.
	Affiliations []AffiliationCount

	Significant, Deliberate, Sustained bool
	// Corroborated: its violations come from at least
	// corroboration_min_affiliations distinct affiliations
	// (DistinctAffiliations), or one of them from a neutral source. It
	// does not enter the class (docs/corroboration.md).
	Corroborated bool

	// Evidence is every violation of its hot cells, by time, then id, then
	// source.
	Evidence []*Violation
	// Cells are its hot cells, by window then sector.
	Cells []*Cell
}

// AffiliationCount is the number of an episode's violations whose
// sources have one affiliation.
type AffiliationCount struct {
	Affiliation string
	Violations  int
}

// Affiliation names of corroboration (sources.Neutral and sources.Unknown
// spell the same).
const (
	NeutralAffiliation = "neutral"
	UnknownAffiliation = "unknown"
)

// DistinctAffiliations is the number of distinct affiliations the
// episode's violations certainly come from: each registered affiliation
// (neutral included) counts once; unknown sources could belong to any
// party, so they count only when no registered source is among them —
// they never make two parties out of one.
func (e *Episode) DistinctAffiliations() int {
	n, unknown := 0, false
	for _, a := range e.Affiliations {
		if a.Affiliation == UnknownAffiliation {
			unknown = true
		} else {
			n++
		}
	}
	if n == 0 && unknown {
		return 1
	}
	return n
}

// NeutralViolations is the number of its violations from neutral sources.
func (e *Episode) NeutralViolations() int {
	for _, a := range e.Affiliations {
		if a.Affiliation == NeutralAffiliation {
			return a.Violations
		}
	}
	return 0
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
//
// The work does not grow with join_sectors or join_gap_windows, which a
// policy may set to a billion: each cell is compared with the latest
// earlier cell of each sector in reach that has one, and no more. That is
// enough, since the earlier cells of a sector within join_gap_windows + 1
// windows of a cell are within that many of each other, and so already
// joined to the latest.
func joinCells(line *geo.Line, pol *Policy, hot []*Cell) [][]*Cell {
	slices.SortFunc(hot, func(a, b *Cell) int {
		return cmp.Or(strings.Compare(a.Party, b.Party), cmp.Compare(a.Window, b.Window), cmp.Compare(a.Sector, b.Sector))
	})
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
	// The first and last sector of each stretch: a cell reaches no
	// sector beyond its stretch.
	first, last := map[int]int{}, map[int]int{}
	for i, s := range sectors {
		if _, ok := first[s.Stretch]; !ok {
			first[s.Stretch] = i
		}
		last[s.Stretch] = i
	}
	js := min(int64(pol.JoinSectors), int64(len(sectors)))
	jw := sat(int64(pol.JoinGapWindows), 1)
	for lo := 0; lo < len(hot); {
		hi := lo
		for hi < len(hot) && hot[hi].Party == hot[lo].Party {
			hi++
		}
		// The sectors of the party's hot cells, and the latest cell seen
		// in each (an index of hot, or -1).
		var occupied []int
		for _, c := range hot[lo:hi] {
			occupied = append(occupied, c.Sector)
		}
		slices.Sort(occupied)
		occupied = slices.Compact(occupied)
		latest := make([]int, len(occupied))
		for i := range latest {
			latest[i] = -1
		}
		for i := lo; i < hi; i++ {
			c := hot[i]
			st := sectors[c.Sector].Stretch
			from := max(int64(c.Sector)-js, int64(first[st]))
			to := min(int64(c.Sector)+js, int64(last[st]))
			k, _ := slices.BinarySearch(occupied, int(from))
			for ; k < len(occupied) && int64(occupied[k]) <= to; k++ {
				j := latest[k]
				if j < 0 || c.Window-hot[j].Window > jw {
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
			k, _ = slices.BinarySearch(occupied, c.Sector)
			latest[k] = i
		}
		lo = hi
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
	countSources(e, pol, e.Evidence)
	// The first hot cell: the earliest window, the lowest sector in it.
	e.ID = first.Party + "-" + line.SectorID(first.Sector) + "-" + compactTime(pol.WindowStart(first.Window))
	classify(e, pol)
	return e
}

// countSources sets an episode's figures of corroboration from its
// violations: its distinct sources, and its violations by affiliation.
func countSources(e *Episode, pol *Policy, viols []*Violation) {
	sources := map[string]bool{}
	affs := map[string]int{}
	for _, v := range viols {
		sources[v.Source] = true
		a, ok := pol.Affiliations.Of(v.Source)
		if !ok || v.Source == "" {
			a = UnknownAffiliation
		}
		affs[a]++
	}
	e.Sources = len(sources)
	e.Affiliations = e.Affiliations[:0]
	for a, n := range affs {
		e.Affiliations = append(e.Affiliations, AffiliationCount{a, n})
	}
	slices.SortFunc(e.Affiliations, func(a, b AffiliationCount) int { return strings.Compare(a.Affiliation, b.Affiliation) })
}

func classify(e *Episode, pol *Policy) {
	e.Significant = e.Score >= pol.SignificantScoreMicro ||
		e.MaxDepthM >= pol.SignificantDepthM ||
		e.Strength >= RoundMicro(pol.SignificantStrength)
	e.Deliberate = e.Crossings+e.Incursions >= pol.DeliberateMinGround && e.Tracks >= pol.DeliberateMinTracks
	e.Sustained = e.HotWindows >= pol.SustainedMinHotWindows
	// Corroboration is shown beside the class, never folded into it: an
	// offensive seen by one party's observers alone stays an offensive,
	// marked as resting on that party's word (docs/corroboration.md).
	e.Corroborated = e.DistinctAffiliations() >= pol.CorroborationMinAffiliations || e.NeutralViolations() > 0
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
