package detect

import (
	"cmp"
	"math"
	"slices"
	"strings"
)

// Status is what an alert says of an episode (SPEC §6).
type Status uint8

const (
	Opened    Status = iota + 1 // the episode first exists
	Updated                     // its figures changed (at most once per window the watermark closes), or it merged
	Escalated                   // its class rose
	Closed                      // the watermark is past its end plus join_gap_windows + 1 windows: it can no longer change
)

var statusNames = [...]string{"", "opened", "updated", "escalated", "closed"}

func (s Status) String() string { return statusNames[s] }

// Alert is a change to an episode.
type Alert struct {
	Status   Status
	Episode  *Episode
	Replaces []string // ids of the episodes it supersedes (merged into it or renamed)
}

// Admission is what the stream made of a record offered to it.
type Admission uint8

const (
	Accepted Admission = iota + 1
	Duplicate
	Late
)

// Stream is the streaming driver's engine: the same judging, cells and
// episodes as batch, fed one record at a time in arrival order, with
// event-time windows closed by a watermark. It is not safe for concurrent
// use; preparing records (Judge.Prepare) is, and should run beside it.
type Stream struct {
	judge *Judge
	pol   Policy

	started   bool
	maxTime   int64 // largest time of an accepted sighting
	watermark int64 // maxTime − allowed_lateness, never moving back
	done      int64 // the watermark up to which work has been done

	seen    map[seenKey]int64 // (id, source) → time, within the lateness horizon
	seenExp queue[timed]      // when to forget them

	tracks   map[trackKey]*trackState
	pending  queue[*TrackPoint] // track points waiting for the watermark
	trackExp queue[timed]       // when to forget track heads

	cells    cellSet // cells of open windows and hot cells of open episodes
	episodes map[string]*openEpisode
	dirty    bool // a cell became hot since the last evaluation: an episode may open or merge
	grown    int  // violations added to hot cells since the last evaluation
	// nextEnd is the earliest end of a window holding a cell, and
	// nextClose the earliest time an open episode can close: the
	// watermark passing either calls for work.
	nextEnd, nextClose int64

	Isolated int // violations in cells that closed without being hot
	ByType   [numTypes]int
	Classes  [4]int // closed episodes by class
}

type trackKey struct{ party, track string }

// seenKey is what makes records duplicates of each other: the same id
// from the same source (SPEC §2).
type seenKey struct{ id, source string }

type trackState struct {
	head *TrackPoint // the last judged point
}

type openEpisode struct {
	ep      *Episode
	cells   []cellKey
	changed bool // figures changed since the last alert
	// legacy: restored from a state written before corroboration, whose
	// figures of it are unknown.
	legacy bool
}

// NewStream returns an empty stream engine.
func NewStream(judge *Judge) *Stream {
	return &Stream{
		judge:     judge,
		pol:       judge.pol,
		watermark: math.MinInt64,
		done:      math.MinInt64,
		seen:      map[seenKey]int64{},
		seenExp:   newQueue(timedLess),
		tracks:    map[trackKey]*trackState{},
		pending:   newQueue(pointLess),
		trackExp:  newQueue(timedLess),
		cells:     cellSet{},
		episodes:  map[string]*openEpisode{},
		nextEnd:   math.MaxInt64,
		nextClose: math.MaxInt64,
	}
}

// GrowthEvery is how many violations may land in hot cells before the
// episodes are evaluated again for changed figures and risen classes.
// Counting violations rather than time keeps the alerts a function of
// the records and their order alone.
const GrowthEvery = 256

// Watermark is the current watermark (µs); math.MinInt64 before the first
// record.
func (s *Stream) Watermark() int64 { return s.watermark }

// Open is the number of open episodes.
func (s *Stream) Open() int { return len(s.episodes) }

// Add offers a prepared record. A record older than the watermark is late;
// one whose id and source were accepted before within the lateness horizon
// is a duplicate (the first accepted is kept): a record of another source
// never is, whatever its id. An accepted record moves the watermark; call
// Advance to act on it.
func (s *Stream) Add(p *Prepared) Admission {
	if p.Time < s.watermark {
		return Late
	}
	k := seenKey{p.ID, p.Source}
	if _, ok := s.seen[k]; ok {
		return Duplicate
	}
	s.seen[k] = p.Time
	s.seenExp.Push(timed{p.Time, p.ID, p.Source})
	if !s.started || p.Time > s.maxTime {
		s.started = true
		s.maxTime = p.Time
		if wm := sat(p.Time, -s.pol.AllowedLateness.Microseconds()); wm > s.watermark {
			s.watermark = wm
		}
	}
	if p.Violation != nil {
		p.Violation.Leaf = p.Leaf
		s.addViolation(p.Violation)
	}
	if p.Track != nil {
		p.Track.Leaf = p.Leaf
		s.pending.Push(p.Track)
	}
	return Accepted
}

func sat(a, b int64) int64 {
	c := a + b
	if (b < 0 && c > a) || (b > 0 && c < a) {
		if b < 0 {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	return c
}

// satMul is a × b for a, b ≥ 0, or math.MaxInt64 where that would
// overflow: join_gap_windows + 1 windows of the longest window are
// longer than any time.
func satMul(a, b int64) int64 {
	if a != 0 && b > math.MaxInt64/a {
		return math.MaxInt64
	}
	return a * b
}

func (s *Stream) addViolation(v *Violation) {
	s.ByType[v.Type]++
	c := s.cells.add(&s.pol, v)
	wasHot := c.Score-v.Weight >= s.pol.HotScoreMicro
	if end := s.pol.WindowStart(c.Window + 1); end < s.nextEnd {
		s.nextEnd = end
	}
	switch {
	case wasHot:
		s.grown++
	case c.Score >= s.pol.HotScoreMicro:
		s.dirty = true
	}
}

// Advance does what the watermark allows: judges track points older than
// it, closes windows, and returns the alerts, in a deterministic order.
func (s *Stream) Advance() []Alert {
	return s.advanceTo(s.watermark)
}

// Finish moves the watermark to the end of time, as at the end of a finite
// input: every episode closes.
func (s *Stream) Finish() []Alert {
	s.watermark = math.MaxInt64
	return s.advanceTo(math.MaxInt64)
}

func (s *Stream) advanceTo(wm int64) []Alert {
	var alerts []Alert
	moved := wm > s.done
	closedWindow := false
	if moved {
		// Track points older than the watermark can no longer be
		// preceded by anything: judge them in (time, id) order.
		for s.pending.Len() > 0 && s.pending.Peek().Time < wm {
			p := s.pending.Pop()
			k := trackKey{p.Party, p.Track}
			st := s.tracks[k]
			if st == nil {
				st = &trackState{}
				s.tracks[k] = st
			}
			if v := s.judge.JudgeTrackPoint(st.head, p); v != nil {
				s.addViolation(v)
			}
			st.head = p
			s.trackExp.Push(timed{p.Time, k.party, k.track})
		}
		// Forget what no future record can meet.
		for s.seenExp.Len() > 0 && s.seenExp.Peek().t < wm {
			e := s.seenExp.Pop()
			k := seenKey{e.a, e.b}
			if t, ok := s.seen[k]; ok && t == e.t {
				delete(s.seen, k)
			}
		}
		gap := s.pol.MaxTrackGap.Microseconds()
		for s.trackExp.Len() > 0 && sat(s.trackExp.Peek().t, gap) < wm {
			e := s.trackExp.Pop()
			k := trackKey{e.a, e.b}
			if st, ok := s.tracks[k]; ok && st.head != nil && st.head.Time == e.t {
				delete(s.tracks, k)
			}
		}
		// Close windows: a cell that closes without being hot is
		// isolated for good.
		if wm >= s.nextEnd {
			closedWindow = true
			s.nextEnd = math.MaxInt64
			for k, c := range s.cells {
				end := s.pol.WindowStart(c.Window + 1)
				if end > wm {
					s.nextEnd = min(s.nextEnd, end)
					continue
				}
				if c.Score < s.pol.HotScoreMicro {
					s.Isolated += len(c.Violations)
					delete(s.cells, k)
				}
			}
		}
		s.done = wm
	}
	if s.dirty || closedWindow || wm >= s.nextClose || s.grown >= GrowthEvery {
		alerts = s.evaluate(wm, closedWindow)
	}
	return alerts
}

// evaluate joins the hot cells into episodes, compares them with the
// episodes already announced, and closes those the watermark has passed.
func (s *Stream) evaluate(wm int64, windowClosed bool) []Alert {
	s.dirty, s.grown = false, 0
	s.nextClose = math.MaxInt64
	var hot []*Cell
	for _, c := range s.cells {
		if c.Score >= s.pol.HotScoreMicro {
			hot = append(hot, c)
		}
	}
	owner := map[cellKey]string{}
	for id, oe := range s.episodes {
		for _, k := range oe.cells {
			owner[k] = id
		}
	}
	var alerts []Alert
	next := map[string]*openEpisode{}
	line := s.judge.line
	gapWindows := sat(int64(s.pol.JoinGapWindows), 1)
	for _, g := range joinCells(line, &s.pol, hot) {
		e := newEpisode(line, &s.pol, g)
		keys := make([]cellKey, len(g))
		prevSet := map[string]bool{}
		for i, c := range g {
			keys[i] = cellKey{c.Party, c.Sector, c.Window}
			if id, ok := owner[keys[i]]; ok {
				prevSet[id] = true
			}
		}
		var prev []string
		for id := range prevSet {
			prev = append(prev, id)
		}
		slices.Sort(prev)
		oe := &openEpisode{ep: e, cells: keys}
		var replaces []string
		for _, id := range prev {
			if id != e.ID {
				replaces = append(replaces, id)
			}
		}
		var old *openEpisode
		if len(prev) == 1 {
			old = s.episodes[prev[0]]
		} else if o, ok := s.episodes[e.ID]; ok && prevSet[e.ID] {
			old = o
		}
		switch {
		case len(prev) == 0:
			alerts = append(alerts, Alert{Status: Opened, Episode: e})
		case len(replaces) > 0:
			st := Updated
			if e.Class > maxClass(s.episodes, prev) {
				st = Escalated
			}
			alerts = append(alerts, Alert{Status: st, Episode: e, Replaces: replaces})
		case e.Class > old.ep.Class:
			alerts = append(alerts, Alert{Status: Escalated, Episode: e})
		default:
			prev := old.ep
			if old.legacy {
				p := *prev
				p.Sources, p.Affiliations, p.Corroborated = e.Sources, e.Affiliations, e.Corroborated
				prev = &p
			}
			oe.changed = old.changed || !sameFigures(prev, e)
			if oe.changed && windowClosed {
				alerts = append(alerts, Alert{Status: Updated, Episode: e})
				oe.changed = false
			}
		}
		// Closed once no later hot cell can join it.
		if wm != math.MinInt64 && lastWindowPassed(&s.pol, e, gapWindows, wm) {
			alerts = append(alerts, Alert{Status: Closed, Episode: e})
			s.Classes[e.Class]++
			for _, k := range keys {
				delete(s.cells, k)
			}
			continue
		}
		next[e.ID] = oe
		s.nextClose = min(s.nextClose, sat(e.End, satMul(gapWindows, s.pol.Window.Microseconds())))
	}
	s.episodes = next
	slices.SortStableFunc(alerts, func(a, b Alert) int {
		return cmp.Or(cmp.Compare(a.Episode.Start, b.Episode.Start), cmp.Compare(a.Episode.Sectors[0], b.Episode.Sectors[0]),
			strings.Compare(a.Episode.Party, b.Episode.Party), strings.Compare(a.Episode.ID, b.Episode.ID),
			cmp.Compare(a.Status, b.Status))
	})
	return alerts
}

// lastWindowPassed: the watermark is past the episode's end plus
// join_gap_windows + 1 windows.
func lastWindowPassed(p *Policy, e *Episode, gapWindows int64, wm int64) bool {
	if wm == math.MaxInt64 {
		return true
	}
	return sat(e.End, satMul(gapWindows, p.Window.Microseconds())) <= wm
}

func maxClass(eps map[string]*openEpisode, ids []string) Class {
	var c Class
	for _, id := range ids {
		if o, ok := eps[id]; ok && o.ep.Class > c {
			c = o.ep.Class
		}
	}
	return c
}

// sameFigures tells whether two versions of an episode show the same
// figures.
func sameFigures(a, b *Episode) bool {
	return a.ID == b.ID && a.Class == b.Class && a.Start == b.Start && a.End == b.End &&
		slices.Equal(a.Sectors, b.Sectors) && a.HotWindows == b.HotWindows && a.Violations == b.Violations &&
		a.Crossings == b.Crossings && a.Incursions == b.Incursions && a.Fire == b.Fire && a.Buffer == b.Buffer &&
		a.Tracks == b.Tracks && a.Strength == b.Strength && a.MaxDepthM == b.MaxDepthM && a.Score == b.Score &&
		a.Sources == b.Sources && slices.Equal(a.Affiliations, b.Affiliations) && a.Corroborated == b.Corroborated
}

// timed is an expiry entry: at time t, forget the key (a, b) — an id and
// its source, or a party and its track.
type timed struct {
	t    int64
	a, b string
}

func timedLess(a, b timed) bool {
	return cmp.Or(cmp.Compare(a.t, b.t), strings.Compare(a.a, b.a), strings.Compare(a.b, b.b)) < 0
}

// pointLess orders waiting track points by time, then id, then source
// (then party and track): popped by time first, so that each track's
// points come out in its own order (SPEC §3).
func pointLess(a, b *TrackPoint) bool {
	return cmp.Or(cmp.Compare(a.Time, b.Time), strings.Compare(a.ID, b.ID), strings.Compare(a.Source, b.Source),
		strings.Compare(a.Party, b.Party), strings.Compare(a.Track, b.Track)) < 0
}
