package gen

import (
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/internal/num"
	"github.com/linewatch/linewatch/output"
	"github.com/linewatch/linewatch/policy"
)

// Truth is what a scenario injected, and what a detect run on its output
// with the scenario's policy should report.
type Truth struct {
	Seed     uint64          `json:"seed"`
	Start    string          `json:"start"`
	End      string          `json:"end"`
	Days     int             `json:"days"`
	Parties  [2]string       `json:"parties"`
	Format   string          `json:"format"`
	Shuffled bool            `json:"shuffled"`
	Gzip     bool            `json:"gzip"`
	Policy   json.RawMessage `json:"policy"` // as policy.JSON writes it
	Records  RecordTruth     `json:"records"`
	Expected Expected        `json:"expected"`
	Events   []EventTruth    `json:"events"`
	Episodes []EpisodeTruth  `json:"episodes"`
}

// RecordTruth counts the records written.
type RecordTruth struct {
	Total      int `json:"total"`      // records written: what a reader reads
	Good       int `json:"good"`       // distinct valid sightings (each id once)
	Background int `json:"background"` // of Good: own-side activity
	Incidents  int `json:"incidents"`  // of Good: isolated incidents
	Events     int `json:"events"`     // of Good: sightings of injected events
	Ground     int `json:"ground"`     // of Good, by kind
	Fire       int `json:"fire"`
	Tracked    int `json:"tracked"` // of Good: with a track
	// FireWithoutSide are fire sightings without side (of Good).
	FireWithoutSide int `json:"fire_without_side"`
	Imprecise       int `json:"imprecise"`    // of Good: precision_m ≥ 500
	Unattributed    int `json:"unattributed"` // of Good: ground without side
	Bad             int `json:"bad"`
	// BadByReason counts the bad records by the fault they were given.
	BadByReason           map[string]int `json:"bad_by_reason"`
	Duplicates            int            `json:"duplicates"`
	DuplicatesIdentical   int            `json:"duplicates_identical"`
	DuplicatesConflicting int            `json:"duplicates_conflicting"` // same id and source, other content
}

// Expected is the summary a detect run with the truth's policy should
// write (SPEC §5), timings left out.
type Expected = output.Counts

// EventTruth is one injected event.
type EventTruth struct {
	ID      string   `json:"id"` // E1, E2, … in scenario order
	Type    string   `json:"type"`
	Spec    string   `json:"spec"` // as --offensive etc. take it
	Party   string   `json:"party"`
	Sectors []string `json:"sectors"` // the sectors it was placed on
	KmFrom  float64  `json:"km_from"`
	KmTo    float64  `json:"km_to"`
	Start   string   `json:"start"`
	End     string   `json:"end"`
	Units   int      `json:"units"` // ground tracks
	Records int      `json:"records"`
	// Violations are those its sightings make; Isolated of them fall in
	// cells that are not hot.
	Violations int `json:"violations"`
	Isolated   int `json:"isolated"`
	// IntendedClass is what an event of its type is built to be;
	// ExpectedClass what it comes out as under the policy (the class of
	// the episode holding most of its score; "isolated" when none of its
	// cells is hot). They differ when, say, an offensive is too short to
	// be sustained.
	IntendedClass string   `json:"intended_class"`
	ExpectedClass string   `json:"expected_class"`
	Episodes      []string `json:"episodes"` // ids of the expected episodes holding its violations
}

// EpisodeTruth is an expected episode: the properties detect should
// write of it (SPEC §4, §5; its evidence left out), and the injected
// events it comes from.
type EpisodeTruth struct {
	output.Episode
	Events []string `json:"events"`
}

// Violation types of the oracle.
const (
	vNone uint8 = iota
	vCrossing
	vIncursion
	vFire
	vBuffer
)

// violation is one expected violation, as SPEC §3 defines it.
type violation struct {
	party    int8
	typ      uint8
	sector   int32
	window   int64
	weight   int64 // micro-units
	track    int32
	strength int32
	e        float64 // certain depth, metres
	event    int16
	source   uint8
}

type cellKey struct {
	party  int8
	sector int32
	window int64
}

type trackHead struct {
	t     int64
	depth float64
	pos   [2]float64
}

// oracle works out the violations of the injected sightings (incidents
// and events) independently of the detection engine: it locates each on
// the line and applies SPEC §3 and §4. Background sightings are built to
// make none and are not judged here.
type oracle struct {
	line      *geo.Line
	pol       detect.Policy
	parties   [2]string
	viols     []violation
	score     map[cellKey]int64
	heads     map[int32]trackHead
	beyondEnd int
}

func newOracle(l *geo.Line, pol detect.Policy) *oracle {
	return &oracle{line: l, pol: pol, parties: l.Parties(), score: map[cellKey]int64{}, heads: map[int32]trackHead{}}
}

func (o *oracle) partyIndex(s string) int8 {
	if s == o.parties[1] {
		return 1
	}
	return 0
}

// Outcomes of judging.
const (
	jUnattributed = iota
	jNotJudged
	jBeyondEnd
	jJudged
)

// judge applies SPEC §3 to a generated sighting whose ground geometry is a
// Point (what incidents and events make); v.typ is vNone when it is judged
// but no violation. It updates the head of the sighting's track, so the
// sightings of a track must come in time order.
func (o *oracle) judge(r *rec) (v violation, ok bool) {
	v, out := o.judgeOutcome(r)
	return v, out == jJudged
}

func (o *oracle) judgeOutcome(r *rec) (violation, int) {
	v := violation{party: r.side, track: r.track, strength: r.strength, event: r.event, source: r.source}
	if r.side < 0 {
		if r.kind != kindFire {
			return v, jUnattributed
		}
		if r.shape == shapeLine {
			// Attributed by where it came from.
			loc := o.line.Locate(r.coords[0][0], r.coords[0][1])
			v.party = o.partyIndex(loc.Side)
		} else {
			// Attributed to the party opposite the side it landed on.
			loc := o.line.Locate(r.coords[0][0], r.coords[0][1])
			if loc.DistanceM == 0 {
				return v, jUnattributed
			}
			v.party = 1 - o.partyIndex(loc.Side)
		}
	}
	conf := float64(r.conf) / 100
	if conf < o.pol.MinConfidence {
		return v, jNotJudged
	}
	pos := r.coords[0]
	if r.kind == kindFire {
		pos = r.coords[r.n-1]
	}
	loc := o.line.Locate(pos[0], pos[1])
	if loc.BeyondEnd {
		return v, jBeyondEnd
	}
	d := loc.Depth(o.parties[v.party])
	v.e = d - float64(r.prec)
	v.window = o.pol.WindowOf(r.t)
	v.sector = int32(loc.Sector)
	w := &o.pol.Weights
	if r.kind == kindFire {
		if v.e > 0 {
			v.typ, v.weight = vFire, detect.Weight(w.Fire, conf)
		}
		return v, jJudged
	}
	if r.track != 0 {
		prev, had := o.heads[r.track]
		o.heads[r.track] = trackHead{t: r.t, depth: d, pos: pos}
		if had && prev.depth <= 0 && r.t-prev.t <= o.pol.MaxTrackGap.Microseconds() && v.e > 0 {
			v.typ, v.weight = vCrossing, detect.Weight(w.Crossing, conf)
			if c, ok := o.line.Cross(orb.Point(prev.pos), orb.Point(pos)); ok {
				v.sector = int32(c.Sector)
			}
			return v, jJudged
		}
	}
	switch b := loc.BufferM; {
	case v.e > 0:
		v.typ, v.weight = vIncursion, detect.Weight(w.Incursion, conf)
	case b > 0 && -b < v.e:
		v.typ, v.weight = vBuffer, detect.Weight(w.Buffer, conf)
	}
	return v, jJudged
}

// judgeAdd judges an event's sighting and keeps its violation.
func (o *oracle) judgeAdd(r *rec) {
	v, out := o.judgeOutcome(r)
	if out == jBeyondEnd {
		o.beyondEnd++
	}
	if out == jJudged && v.typ != vNone {
		o.add(v)
	}
}

func (v *violation) cell() cellKey { return cellKey{v.party, v.sector, v.window} }

// fits tells that v leaves its cell below hot_score.
func (o *oracle) fits(v *violation) bool {
	return o.score[v.cell()]+v.weight < o.pol.HotScoreMicro
}

func (o *oracle) add(v violation) {
	o.viols = append(o.viols, v)
	o.score[v.cell()] += v.weight
}

// cellAgg is a cell and its violations (indexes into oracle.viols).
type cellAgg struct {
	key   cellKey
	score int64
	viols []int
}

// episodes joins the hot cells into episodes and classifies them (SPEC §4).
// isolated counts the violations of cells that are not hot.
func (o *oracle) episodes() (eps []EpisodeTruth, members [][]int, isolated []bool) {
	index := map[cellKey]int{}
	var cells []cellAgg
	for i := range o.viols {
		k := o.viols[i].cell()
		j, ok := index[k]
		if !ok {
			j = len(cells)
			index[k] = j
			cells = append(cells, cellAgg{key: k})
		}
		cells[j].score += o.viols[i].weight
		cells[j].viols = append(cells[j].viols, i)
	}
	isolated = make([]bool, len(o.viols))
	var hot []int
	for j := range cells {
		if cells[j].score >= o.pol.HotScoreMicro {
			hot = append(hot, j)
		} else {
			for _, i := range cells[j].viols {
				isolated[i] = true
			}
		}
	}
	slices.SortFunc(hot, func(a, b int) int {
		ka, kb := cells[a].key, cells[b].key
		return cmp.Or(cmp.Compare(ka.party, kb.party), cmp.Compare(ka.window, kb.window), cmp.Compare(ka.sector, kb.sector))
	})
	// Union-find over hot cells that join.
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
	secs := o.line.Sectors()
	gap := int64(o.pol.JoinGapWindows + 1)
	for a := range hot {
		ka := cells[hot[a]].key
		for b := a + 1; b < len(hot); b++ {
			kb := cells[hot[b]].key
			if kb.party != ka.party || kb.window-ka.window > gap {
				break
			}
			ds := int(kb.sector - ka.sector)
			if secs[ka.sector].Stretch == secs[kb.sector].Stretch && ds <= o.pol.JoinSectors && -ds <= o.pol.JoinSectors {
				if ra, rb := find(a), find(b); ra != rb {
					parent[max(ra, rb)] = min(ra, rb)
				}
			}
		}
	}
	groups := map[int][]int{}
	var roots []int
	for a := range hot {
		r := find(a)
		if _, ok := groups[r]; !ok {
			roots = append(roots, r)
		}
		groups[r] = append(groups[r], hot[a])
	}
	for _, r := range roots {
		ep, vs := o.episode(cells, groups[r])
		eps = append(eps, ep)
		members = append(members, vs)
	}
	order := make([]int, len(eps))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		ea, eb := &eps[a], &eps[b]
		return cmp.Or(cmp.Compare(ea.Start, eb.Start), strings.Compare(ea.Sectors[0], eb.Sectors[0]),
			strings.Compare(ea.Party, eb.Party), strings.Compare(ea.ID, eb.ID))
	})
	sortedEps := make([]EpisodeTruth, len(eps))
	sortedMembers := make([][]int, len(eps))
	for i, j := range order {
		sortedEps[i], sortedMembers[i] = eps[j], members[j]
	}
	return sortedEps, sortedMembers, isolated
}

// episode computes an episode's figures from its hot cells (sorted by
// window, then sector) and returns the indexes of its violations.
func (o *oracle) episode(cells []cellAgg, hot []int) (EpisodeTruth, []int) {
	secs := o.line.Sectors()
	first := cells[hot[0]].key
	party := o.parties[first.party]
	ep := EpisodeTruth{Episode: output.Episode{Party: party}}
	minW, maxW := first.window, first.window
	var sectors []int
	var windows []int64
	var score, fire, strength int64
	var vs []int
	trackMax := map[int32]int32{}
	var trackOrder []int32
	events := map[int16]bool{}
	var eventOrder []int16
	for _, j := range hot {
		c := &cells[j]
		minW, maxW = min(minW, c.key.window), max(maxW, c.key.window)
		sectors = append(sectors, int(c.key.sector))
		windows = append(windows, c.key.window)
		score += c.score
		for _, i := range c.viols {
			v := &o.viols[i]
			vs = append(vs, i)
			ep.Violations++
			if v.event >= 0 && !events[v.event] {
				events[v.event] = true
				eventOrder = append(eventOrder, v.event)
			}
			switch v.typ {
			case vCrossing:
				ep.Crossings++
			case vIncursion:
				ep.Incursions++
			case vFire:
				ep.Fire++
				fire += v.weight
			case vBuffer:
				ep.Buffer++
			}
			if v.typ != vCrossing && v.typ != vIncursion {
				continue
			}
			ep.MaxDepthM = max(ep.MaxDepthM, v.e)
			if v.track == 0 {
				ep.Tracks++
				strength += int64(v.strength)
				continue
			}
			if m, ok := trackMax[v.track]; !ok {
				trackMax[v.track] = v.strength
				trackOrder = append(trackOrder, v.track)
			} else if v.strength > m {
				trackMax[v.track] = v.strength
			}
		}
	}
	ep.Tracks += len(trackOrder)
	for _, t := range trackOrder {
		strength += int64(trackMax[t])
	}
	slices.Sort(sectors)
	sectors = slices.Compact(sectors)
	slices.Sort(windows)
	windows = slices.Compact(windows)
	for _, s := range sectors {
		ep.Sectors = append(ep.Sectors, secs[s].ID)
	}
	ep.HotWindows = len(windows)
	ep.KmFrom = num.Round(secs[sectors[0]].KmFrom, 3)
	ep.KmTo = num.Round(secs[sectors[len(sectors)-1]].KmTo, 3)
	ep.Start = output.Instant(o.pol.WindowStart(minW))
	ep.End = output.Instant(o.pol.WindowStart(maxW + 1))
	ep.Strength = float64(strength)
	ep.MaxDepthM = num.Round(ep.MaxDepthM, 3)
	ep.Score = output.Micro(score)
	pol := &o.pol
	c := &ep.Criteria
	c.Thresholds(*pol)
	c.Significant.Holds = score >= pol.SignificantScoreMicro || maxDepth(o, vs) >= pol.SignificantDepthM ||
		detect.RoundMicro(float64(strength)) >= detect.RoundMicro(pol.SignificantStrength)
	c.Significant.Score, c.Significant.MaxDepthM, c.Significant.Strength = detect.MicroFloat(score), ep.MaxDepthM, ep.Strength
	c.Deliberate.Holds = ep.Crossings+ep.Incursions >= pol.DeliberateMinGround && ep.Tracks >= pol.DeliberateMinTracks
	c.Deliberate.Ground, c.Deliberate.Tracks = ep.Crossings+ep.Incursions, ep.Tracks
	c.Sustained.Holds = ep.HotWindows >= pol.SustainedMinHotWindows
	c.Sustained.HotWindows = ep.HotWindows
	// gen registers no source's affiliation: every violation is
	// "unknown", one affiliation, and none is neutral.
	seen := map[uint8]bool{}
	for _, i := range vs {
		seen[o.viols[i].source] = true
	}
	ep.Sources = len(seen)
	ep.Affiliations = map[string]int{"unknown": ep.Violations}
	c.Corroborated.Affiliations = 1
	c.Corroborated.Holds = 1 >= pol.CorroborationMinAffiliations
	significant, deliberate, sustained := c.Significant.Holds, c.Deliberate.Holds, c.Sustained.Holds
	switch {
	case significant && deliberate && sustained:
		ep.Class = "sustained_offensive"
	case significant && sustained && 2*fire >= score:
		ep.Class = "sustained_bombardment"
	default:
		ep.Class = "escalation"
	}
	ep.ID = party + "-" + secs[first.sector].ID + "-" + compactTime(o.pol.WindowStart(first.window))
	slices.Sort(eventOrder)
	for _, e := range eventOrder {
		ep.Events = append(ep.Events, eventID(int(e)))
	}
	return ep, vs
}

// maxDepth is the unrounded largest certain depth of the ground violations.
func maxDepth(o *oracle, vs []int) float64 {
	m := 0.0
	for _, i := range vs {
		if v := &o.viols[i]; v.typ == vCrossing || v.typ == vIncursion {
			m = max(m, v.e)
		}
	}
	return m
}

func compactTime(us int64) string {
	return strings.NewReplacer("-", "", ":", "").Replace(num.FormatTime(us))
}

func eventID(i int) string { return "E" + itoa(i+1) }

func itoa(i int) string {
	var b [20]byte
	n := len(b)
	for {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			return string(b[n:])
		}
	}
}

// truth assembles the truth once everything is written.
func (g *generator) truth(plans []eventPlan, out *recordWriter) *Truth {
	c := &out.counts
	pol := g.pol
	t := &Truth{
		Seed:     g.sc.Seed,
		Start:    g.sc.Start.Format(time.RFC3339),
		End:      g.sc.Start.Add(time.Duration(g.sc.Days) * 24 * time.Hour).Format(time.RFC3339),
		Days:     g.sc.Days,
		Parties:  g.line.Parties(),
		Format:   g.sc.Format.String(),
		Shuffled: g.sc.Shuffle,
		Gzip:     g.sc.Gzip,
		Policy:   policy.JSON(pol),
	}
	rt := &t.Records
	rt.Total, rt.Good = c.total, c.good
	rt.Background, rt.Incidents, rt.Events = c.background, c.incidents, c.events
	rt.Ground, rt.Fire, rt.Tracked = c.ground, c.fire, c.tracked
	rt.FireWithoutSide, rt.Imprecise, rt.Unattributed = c.sidelessFire, c.imprecise, c.unattributed
	rt.BadByReason = map[string]int{}
	for k, n := range c.bad {
		rt.Bad += n
		if n > 0 {
			rt.BadByReason[badNames[k]] = n
		}
	}
	rt.DuplicatesIdentical, rt.DuplicatesConflicting = c.dupIdentical, c.dupConflicting
	rt.Duplicates = c.dupIdentical + c.dupConflicting

	ex := &t.Expected
	ex.Records.Read = int64(c.total)
	ex.Records.Accepted = int64(c.good)
	ex.Records.Rejected = int64(rt.Bad)
	ex.Records.Duplicate = int64(rt.Duplicates)
	ex.Records.Unattributed = int64(c.unattributed)
	ex.Records.BeyondEnd = int64(g.or.beyondEnd)

	eps, members, isolated := g.or.episodes()
	t.Episodes = eps
	if t.Episodes == nil {
		t.Episodes = []EpisodeTruth{}
	}
	for _, v := range g.or.viols {
		switch v.typ {
		case vCrossing:
			ex.Violations.Crossing++
		case vIncursion:
			ex.Violations.Incursion++
		case vFire:
			ex.Violations.Fire++
		case vBuffer:
			ex.Violations.Buffer++
		}
	}
	for i := range eps {
		switch eps[i].Class {
		case "sustained_offensive":
			ex.Episodes.SustainedOffensive++
		case "sustained_bombardment":
			ex.Episodes.SustainedBombardment++
		default:
			ex.Episodes.Escalation++
		}
	}
	for _, iso := range isolated {
		if iso {
			ex.Isolated++
		}
	}

	// Each event: its violations, and the episode holding most of its score.
	t.Events = []EventTruth{}
	for _, p := range plans {
		ev := p.ev
		et := EventTruth{
			ID: eventID(p.index), Type: string(ev.Type), Spec: ev.Spec(), Party: ev.Party,
			KmFrom: num.Round(p.kmLo, 3), KmTo: num.Round(p.kmHi, 3),
			Start: num.FormatTime(p.t0), End: num.FormatTime(p.t1),
			Records: c.byEvent[int16(p.index)], IntendedClass: ev.Type.intended(), ExpectedClass: "isolated",
			Episodes: []string{},
		}
		for s := p.secFrom; s <= p.secTo; s++ {
			et.Sectors = append(et.Sectors, g.line.Sectors()[s].ID)
		}
		prefix := et.ID + "-U"
		for _, name := range g.tracks {
			if strings.HasPrefix(name, prefix) {
				et.Units++
			}
		}
		for i, v := range g.or.viols {
			if int(v.event) == p.index {
				et.Violations++
				if isolated[i] {
					et.Isolated++
				}
			}
		}
		var best int64 = -1
		for k, vs := range members {
			var w int64
			in := false
			for _, i := range vs {
				if int(g.or.viols[i].event) == p.index {
					w += g.or.viols[i].weight
					in = true
				}
			}
			if !in {
				continue
			}
			et.Episodes = append(et.Episodes, eps[k].ID)
			if w > best {
				best, et.ExpectedClass = w, eps[k].Class
			}
		}
		t.Events = append(t.Events, et)
	}
	return t
}
