// Package gen writes deterministic scenarios of sightings on an agreed
// line: background own-side activity, isolated incidents, and injected
// offensives, bombardments and raids placed by sector range and dates,
// with the imperfections of a real feed (bad records, duplicates, fire
// without side, imprecise fixes) — and the truth of what it injected.
//
// The same seed gives the same bytes on any machine of an architecture:
// randomness comes from math/rand/v2 PCG streams derived from the seed,
// nothing iterates over a map, and coordinates are rounded to 6 decimals
// before anything is computed from them.
//
//	line, _ := geo.LoadFile("fixtures/lines/front-2024.geojson", geo.Options{})
//	sc := gen.DefaultScenario()
//	ev, _ := gen.ParseEvent(gen.Offensive, "RU:S040-S043:2024-01-05:6d")
//	sc.Events = append(sc.Events, ev)
//	truth, err := gen.Generate(line, sc, w)
//
// The truth tells, besides the counts of what was written, what a detect
// run with the scenario's policy should report: records by outcome,
// violations by type, the episodes with their class and figures, and the
// number of isolated violations. It is worked out from the injected
// sightings as generated (each located on the line), not from the
// detection engine. Background activity is built to raise no violation.
package gen

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
)

const (
	usPerSec  = int64(1_000_000)
	usPerHour = 3600 * usPerSec
	usPerDay  = 24 * usPerHour
)

// Sighting kinds, shapes and origins of a generated record.
const (
	kindGround uint8 = iota
	kindFire
)

const (
	shapePoint uint8 = iota + 1
	shapeLine
	shapeMulti
)

const (
	fromBackground uint8 = iota
	fromIncident
	fromEvent
)

// rec is one generated sighting, before it is written.
type rec struct {
	t        int64 // µs since the epoch
	coords   [3][2]float64
	n        uint8 // coordinates used
	shape    uint8
	kind     uint8
	side     int8  // party index; -1: no side
	track    int32 // index+1 into generator.tracks; 0: none
	strength int32
	prec     int32 // precision_m
	conf     uint8 // confidence in hundredths
	source   uint8
	origin   uint8
	event    int16 // index into Scenario.Events; -1: none
}

func (r *rec) point(q [2]float64) { r.coords[0], r.n, r.shape = q, 1, shapePoint }

// Observers: sources are "obs-01" to "obs-40".
const nSources = 40

// Random streams: each purpose has its own, so that adding bad records
// does not move a single background position.
const (
	streamBackground uint64 = iota + 1
	streamIncidents
	streamEvents
	streamNoise
	streamShuffle
)

type generator struct {
	line    *geo.Line
	sc      Scenario
	pol     detect.Policy
	pl      *placer
	or      *oracle
	tracks  []string
	sources []string
	bgDay   float64 // background sightings per day
}

// Generate writes the scenario's sightings on line to w (gzipped if
// sc.Gzip) and returns its truth. The output depends only on line, sc and
// the policy: the same seed gives the same bytes. An error in writing is
// a *WriteError; any other error is the scenario's, found before anything
// is written (Check finds them too).
func Generate(line *geo.Line, sc Scenario, w io.Writer) (*Truth, error) {
	g, plans, err := newGenerator(line, sc)
	if err != nil {
		return nil, err
	}
	start := g.sc.Start.UnixMicro()

	// Events first: their violations are known before any incident is
	// placed, so incidents never make one of their cells hot.
	var evRecs []rec
	for _, p := range plans {
		n0 := len(evRecs)
		evRecs = g.eventRecords(p, evRecs)
		for j := n0; j < len(evRecs); j++ {
			g.or.judgeAdd(&evRecs[j])
		}
	}
	slices.SortStableFunc(evRecs, func(a, b rec) int { return cmp.Compare(a.t, b.t) })

	if sc.Records > 0 {
		good := float64(sc.Records) * (1 - sc.Bad - sc.Duplicates)
		g.bgDay = math.Max(0, (good-float64(len(evRecs))-sc.Incidents*float64(sc.Days))/float64(sc.Days))
	} else {
		g.bgDay = sc.Background * line.LengthKm()
	}

	out := newRecordWriter(g, w)
	var day []rec
	next := 0
	for d := range sc.Days {
		t0 := start + int64(d)*usPerDay
		day = g.background(d, t0, day[:0])
		day = g.incidents(d, t0, day)
		for next < len(evRecs) && evRecs[next].t < t0+usPerDay {
			day = append(day, evRecs[next])
			next++
		}
		slices.SortStableFunc(day, func(a, b rec) int { return cmp.Compare(a.t, b.t) })
		if err := out.day(d, day); err != nil {
			return nil, err
		}
	}
	if err := out.finish(); err != nil {
		return nil, err
	}
	return g.truth(plans, out), nil
}

// MaxPerDay is the most background sightings a day a scenario may ask
// for: Generate holds a day's records in memory as it writes it (a
// million take about 200 MB).
const MaxPerDay = 1_000_000

// Check finds what Generate would refuse in a scenario: a share out of
// range, an event on a sector the line lacks or a party not its own, an
// event outside the scenario's period, a policy whose sectors differ from
// the line's.
func Check(line *geo.Line, sc Scenario) error {
	_, _, err := newGenerator(line, sc)
	return err
}

func newGenerator(line *geo.Line, sc Scenario) (*generator, []eventPlan, error) {
	if err := sc.validate(); err != nil {
		return nil, nil, err
	}
	pol := detect.DefaultPolicy()
	if sc.Policy != nil {
		pol = *sc.Policy
	}
	if math.Abs(pol.SectorKm-line.SectorKm()) > 1e-9 {
		return nil, nil, fmt.Errorf("the line was loaded with sectors of %g km, the policy has %g", line.SectorKm(), pol.SectorKm)
	}
	perDay, what := sc.Background*line.LengthKm(), fmt.Sprintf("background %g a km", sc.Background)
	if sc.Records > 0 {
		perDay, what = float64(sc.Records)/float64(sc.Days), fmt.Sprintf("%d records over %d days", sc.Records, sc.Days)
	}
	if perDay > MaxPerDay {
		return nil, nil, fmt.Errorf("%s is %.4g sightings a day, more than the %d a day gen writes (it holds a day in memory): give fewer, or more days",
			what, perDay, MaxPerDay)
	}
	sc.Start = sc.Start.UTC()
	g := &generator{line: line, sc: sc, pol: pol, pl: newPlacer(line), or: newOracle(line, pol)}
	for i := 1; i <= nSources; i++ {
		g.sources = append(g.sources, fmt.Sprintf("obs-%02d", i))
	}
	start := sc.Start.UnixMicro()
	end := start + int64(sc.Days)*usPerDay
	plans := make([]eventPlan, len(sc.Events))
	for i := range sc.Events {
		p, err := g.plan(i, start, end)
		if err != nil {
			return nil, nil, err
		}
		plans[i] = p
	}
	return g, plans, nil
}

// WriteError is a failure to write the sightings.
type WriteError struct{ Err error }

func (e *WriteError) Error() string { return "writing sightings: " + e.Err.Error() }
func (e *WriteError) Unwrap() error { return e.Err }

// rng is the random stream of a purpose and an index (a day, an event).
func (g *generator) rng(stream uint64, i int) *rand.Rand {
	a := splitmix(splitmix(splitmix(g.sc.Seed)^stream) ^ uint64(i))
	return rand.New(rand.NewPCG(a, splitmix(a)))
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

func uni(r *rand.Rand, a, b float64) float64 { return a + (b-a)*r.Float64() }

// count draws a whole number with mean x: its integer part, plus one with
// the probability of its fraction.
func count(r *rand.Rand, x float64) int {
	n := int(x)
	if r.Float64() < x-float64(n) {
		n++
	}
	return n
}

// timeIn is a time in [from, to), in whole seconds after from.
func timeIn(r *rand.Rand, from, to int64) int64 {
	n := (to - from) / usPerSec
	if n <= 0 {
		return from
	}
	return from + r.Int64N(n)*usPerSec
}

func hours(r *rand.Rand, a, b float64) int64 {
	return int64(uni(r, a, b)*3600) * usPerSec
}

func (g *generator) conf(r *rand.Rand) uint8 { return uint8(60 + r.IntN(41)) }

// precision: a GPS fix of 10–50 m, or with the Imprecise share 500–3000 m.
func (g *generator) precision(r *rand.Rand) int32 {
	if r.Float64() < g.sc.Imprecise {
		return int32(500 + 10*r.IntN(251))
	}
	return int32(10 + r.IntN(41))
}

func (g *generator) gps(r *rand.Rand) int32 { return int32(10 + r.IntN(41)) }

func (g *generator) newTrack(name string) int32 {
	g.tracks = append(g.tracks, name)
	return int32(len(g.tracks))
}

// ownSpot draws a position on party pi's own side, between dLo and dHi
// metres from the line where the safe range allows: its chainage, its
// distance and the position itself.
func (g *generator) ownSpot(r *rand.Rand, pi int, dLo, dHi float64) (km, d float64, q [2]float64, ok bool) {
	for range 8 {
		km = r.Float64() * g.pl.lengthKm
		lo, hi, _ := g.pl.ownRange(pi, km)
		if hi < lo {
			continue
		}
		a, b := math.Max(lo, dLo), math.Min(hi, dHi)
		if b < a {
			a, b = lo, hi
		}
		d = uni(r, a, b)
		if q, ok = g.pl.own(pi, km, d); ok {
			return km, d, q, true
		}
	}
	return 0, 0, q, false
}

// background appends a day of own-side activity: patrol tracks moving
// along the line, positions and movements 0.5–15 km behind it, and fire
// landing on the party's own side. None of it is a violation.
func (g *generator) background(day int, t0 int64, out []rec) []rec {
	r := g.rng(streamBackground, day)
	n := count(r, g.bgDay)
	tracked := count(r, float64(n)*g.sc.Tracked)
	for done := 0; done < tracked; {
		var k int
		out, k = g.patrol(r, t0, t0+usPerDay, min(tracked-done, 4+r.IntN(9)), out)
		done += k
	}
	// The share of the untracked that is fire: 0.3 by default.
	fire := 0.0
	if g.sc.Tracked < 1 {
		fire = g.sc.Fire / (1 - g.sc.Tracked)
	}
	for k := tracked; k < n; k++ {
		if r.Float64() < fire {
			out = g.bgFire(r, t0, out)
		} else {
			out = g.bgGround(r, t0, out)
		}
	}
	return out
}

// patrol appends up to want points of a unit moving along its own side,
// one every 1–4 hours, and returns how many it counted (at least 1).
func (g *generator) patrol(r *rand.Rand, t0, t1 int64, want int, out []rec) ([]rec, int) {
	pi := r.IntN(2)
	km, d, _, ok := g.ownSpot(r, pi, 1000, 15000)
	if !ok {
		return out, 1
	}
	track := g.newTrack("p" + pad6(len(g.tracks)+1))
	dir := 1.0
	if r.IntN(2) == 0 {
		dir = -1
	}
	speed := uni(r, 0.3, 2.5) // km/h along the line
	strength := int32(2 + r.IntN(19))
	source := uint8(r.IntN(nSources))
	t := timeIn(r, t0, t1-2*usPerHour)
	k := 0
	for ; k < want && t < t1; k++ {
		q, ok := g.pl.own(pi, km, d)
		if !ok {
			break
		}
		rc := rec{t: t, kind: kindGround, side: int8(pi), track: track, strength: strength,
			prec: g.precision(r), conf: g.conf(r), source: source, origin: fromBackground, event: -1}
		rc.point(q)
		out = append(out, rc)
		dt := hours(r, 1, 4)
		t += dt
		km += dir * speed * float64(dt) / float64(usPerHour)
		if km < 0.5 || km > g.pl.lengthKm-0.5 {
			dir = -dir
			km = math.Max(0.5, math.Min(g.pl.lengthKm-0.5, km))
		}
		d += uni(r, -400, 400)
	}
	return out, max(k, 1)
}

// bgGround appends a ground sighting on its party's own side: a position,
// sometimes several seen at once or a short movement.
func (g *generator) bgGround(r *rand.Rand, t0 int64, out []rec) []rec {
	pi := r.IntN(2)
	km, d, q, ok := g.ownSpot(r, pi, minOwnM, 15000)
	if !ok {
		return out
	}
	rc := rec{t: timeIn(r, t0, t0+usPerDay), kind: kindGround, side: int8(pi), strength: int32(1 + r.IntN(30)),
		prec: g.precision(r), conf: g.conf(r), source: uint8(r.IntN(nSources)), origin: fromBackground, event: -1}
	if r.Float64() < g.sc.Unattributed {
		rc.side = -1
	}
	rc.point(q)
	switch u := r.Float64(); {
	case u < 0.05: // several positions seen at once
		rc.shape = shapeMulti
		want := uint8(2 + r.IntN(2))
		for rc.n < want {
			q, ok := g.pl.own(pi, km+uni(r, -0.3, 0.3), d+uni(r, -300, 300))
			if !ok {
				break
			}
			rc.coords[rc.n] = q
			rc.n++
		}
	case u < 0.10: // a movement along the line
		rc.shape = shapeLine
		dir := 1.0
		if r.IntN(2) == 0 {
			dir = -1
		}
		want := uint8(2 + r.IntN(2))
		for rc.n < want {
			km += dir * uni(r, 0.5, 2)
			d += uni(r, -500, 500)
			q, ok := g.pl.own(pi, km, d)
			if !ok {
				break
			}
			rc.coords[rc.n] = q
			rc.n++
		}
		if rc.n < 2 {
			rc.shape = shapePoint
		}
	}
	return append(out, rc)
}

// bgFire appends fire landing 1–15 km behind the line on the firing
// party's own side (ranging, exercises, counter-drone fire); without side,
// it is a LineString from further behind, so its origin attributes it.
func (g *generator) bgFire(r *rand.Rand, t0 int64, out []rec) []rec {
	pi := r.IntN(2)
	km, d, impact, ok := g.ownSpot(r, pi, 1000, 15000)
	if !ok {
		return out
	}
	rc := rec{t: timeIn(r, t0, t0+usPerDay), kind: kindFire, side: int8(pi), strength: int32(1 + r.IntN(12)),
		prec: g.precision(r), conf: g.conf(r), source: uint8(r.IntN(nSources)), origin: fromBackground, event: -1}
	rc.point(impact)
	if r.Float64() < g.sc.SidelessFire {
		if origin, ok := g.pl.own(pi, km+uni(r, -3, 3), d+uni(r, 2000, 15000)); ok {
			rc.side, rc.shape, rc.n = -1, shapeLine, 2
			rc.coords[0], rc.coords[1] = origin, impact
		}
	}
	return append(out, rc)
}

// incidents appends a day's isolated incidents: each a single violation
// in a cell that stays below hot_score, so it is never part of an episode.
func (g *generator) incidents(day int, t0 int64, out []rec) []rec {
	r := g.rng(streamIncidents, day)
	n := count(r, g.sc.Incidents)
	for range n {
		for range 6 {
			rc := g.incident(r, t0)
			v, ok := g.or.judge(&rc)
			if !ok || v.typ == vNone || !g.or.fits(&v) {
				continue
			}
			g.or.add(v)
			out = append(out, rc)
			break
		}
	}
	return out
}

func (g *generator) incident(r *rand.Rand, t0 int64) rec {
	pi := r.IntN(2)
	km := r.Float64() * g.pl.lengthKm
	rc := rec{t: timeIn(r, t0, t0+usPerDay), side: int8(pi), prec: g.gps(r), conf: g.conf(r),
		source: uint8(r.IntN(nSources)), origin: fromIncident, event: -1}
	u := r.Float64()
	b := g.pl.stretches[g.pl.stretchAt(km)].BufferM
	switch {
	case u < 0.35: // a stray round or a single strike across the line
		g.fire(r, &rc, pi, km, uni(r, 500, 5000))
	case u < 0.45 && b > 0: // a position in the party's own half of the buffer
		rc.kind, rc.strength = kindGround, int32(1+r.IntN(10))
		rc.point(g.pl.place(pi, km, -uni(r, 0.2, 0.7)*b))
	default: // a single incursion
		rc.kind, rc.strength = kindGround, int32(1+r.IntN(10))
		rc.point(g.pl.place(pi, km, uni(r, 500, 3000)))
	}
	return rc
}

// fire makes rc a shell of party pi landing depth metres across the line
// at chainage km: with side, or (with the SidelessFire share) without, as
// an impact Point or a LineString from the party's own side.
func (g *generator) fire(r *rand.Rand, rc *rec, pi int, km, depth float64) {
	rc.kind, rc.strength = kindFire, int32(1+r.IntN(12))
	impact := g.pl.place(pi, km, depth)
	rc.point(impact)
	if r.Float64() < g.sc.SidelessFire {
		rc.side = -1
		if r.IntN(2) == 0 {
			rc.shape, rc.n = shapeLine, 2
			rc.coords[0], rc.coords[1] = g.pl.place(pi, km+uni(r, -2, 2), -uni(r, 3000, 20000)), impact
		}
	}
}

// keepWithin moves the impact of an event's shell toward the line while it
// lands off the event's sectors.
func (g *generator) keepWithin(p eventPlan, rc *rec, km float64) {
	i := int(rc.n) - 1
	q := rc.coords[i]
	loc := g.line.Locate(q[0], q[1])
	if loc.Sector >= p.secFrom && loc.Sector <= p.secTo {
		return
	}
	rc.coords[i] = g.within(p, km, loc.Depth(g.line.Parties()[p.pi]))
}

// eventPlan is an event resolved on the line.
type eventPlan struct {
	index          int
	ev             *Event
	pi             int
	secFrom, secTo int
	kmLo, kmHi     float64
	t0, t1         int64
}

func (g *generator) plan(i int, start, end int64) (eventPlan, error) {
	ev := &g.sc.Events[i]
	p := eventPlan{index: i, ev: ev, pi: -1}
	parties := g.line.Parties()
	for k, party := range parties {
		if ev.Party == party {
			p.pi = k
		}
	}
	name := fmt.Sprintf("event %d (%s)", i+1, ev)
	if p.pi < 0 {
		return p, fmt.Errorf("%s: %q is not a party of the line (%s or %s)", name, ev.Party, parties[0], parties[1])
	}
	var err error
	if p.secFrom, err = sectorIndex(g.line, ev.From); err != nil {
		return p, fmt.Errorf("%s: %w", name, err)
	}
	if p.secTo, err = sectorIndex(g.line, ev.To); err != nil {
		return p, fmt.Errorf("%s: %w", name, err)
	}
	if p.secTo < p.secFrom {
		return p, fmt.Errorf("%s: sector range %s-%s runs backwards", name, ev.From, ev.To)
	}
	secs := g.line.Sectors()
	p.kmLo, p.kmHi = secs[p.secFrom].KmFrom, secs[p.secTo].KmTo
	if ev.Duration <= 0 {
		return p, fmt.Errorf("%s: duration must be > 0", name)
	}
	p.t0 = ev.Start.UnixMicro()
	p.t1 = p.t0 + ev.Duration.Microseconds()
	if p.t0 < start || p.t1 > end {
		return p, fmt.Errorf("%s: not within the scenario's period %s to %s", name,
			time.UnixMicro(start).UTC().Format(time.RFC3339), time.UnixMicro(end).UTC().Format(time.RFC3339))
	}
	return p, nil
}

func (g *generator) eventRecords(p eventPlan, out []rec) []rec {
	r := g.rng(streamEvents, p.index)
	switch p.ev.Type {
	case Offensive:
		return g.offensive(r, p, out)
	case Bombardment:
		return g.bombardment(r, p, out)
	}
	return g.raid(r, p, out)
}

func (g *generator) eventRec(p eventPlan, r *rand.Rand, t int64) rec {
	return rec{t: t, side: int8(p.pi), prec: g.precision(r), conf: g.conf(r),
		source: uint8(r.IntN(nSources)), origin: fromEvent, event: int16(p.index)}
}

// offensive: units start 2–5 km behind the line, cross it within the
// first hours, and push 1–10 km deep by the end, reporting every 1–4 h;
// supporting fire lands across the whole sector range.
func (g *generator) offensive(r *rand.Rand, p eventPlan, out []rec) []rec {
	nSec := p.secTo - p.secFrom + 1
	units := p.ev.Units
	if units == 0 {
		units = max(3+r.IntN(6), nSec)
	}
	span := p.t1 - p.t0
	for u := range units {
		track := g.newTrack(fmt.Sprintf("E%d-U%d", p.index+1, u+1))
		c0 := p.kmLo + (float64(u)+uni(r, 0.2, 0.8))/float64(units)*(p.kmHi-p.kmLo)
		drift := uni(r, -2, 2)
		depth := uni(r, 1000, 10000)
		if p.ev.DepthKm > 0 {
			depth = uni(r, 0.6, 1) * p.ev.DepthKm * 1000
		}
		strength := int32(5 + r.IntN(36))
		source := uint8(r.IntN(nSources))
		tc := p.t0 + min(hours(r, 4, 12), span/3)
		ts := p.t0 + min(hours(r, 0, 3), (tc-p.t0)/2)
		d0 := -uni(r, 2000, 5000)
		for t := ts; t < p.t1; t += hours(r, 1, 4) {
			var d float64
			if t < tc {
				d = math.Min(d0*float64(tc-t)/float64(tc-ts), -200)
			} else {
				f := float64(t-tc) / float64(p.t1-tc)
				d = 400 + (depth-400)*math.Sqrt(f) + uni(r, -100, 100)
			}
			km := c0 + drift*float64(t-ts)/float64(p.t1-ts)
			km = math.Max(p.kmLo+0.3, math.Min(p.kmHi-0.3, km))
			rc := g.eventRec(p, r, t)
			rc.kind, rc.track, rc.strength, rc.source = kindGround, track, strength, source
			rc.point(g.within(p, km, d))
			out = append(out, rc)
		}
	}
	rate := p.ev.FirePerDay
	if rate == 0 {
		rate = uni(r, 3, 8)
	}
	return g.barrage(r, p, rate, 500, 8000, out)
}

// within places a position of the event at chainage km and signed depth,
// pulling it back toward the line while the line's nearest point to it
// falls outside the event's sectors (deep positions where the line bends).
func (g *generator) within(p eventPlan, km, depth float64) [2]float64 {
	q := g.pl.place(p.pi, km, depth)
	for range 6 {
		if depth <= 0 {
			break
		}
		loc := g.line.Locate(q[0], q[1])
		if loc.Sector >= p.secFrom && loc.Sector <= p.secTo {
			break
		}
		depth = math.Max(400, depth*0.7)
		q = g.pl.place(p.pi, km, depth)
	}
	return q
}

// barrage appends fire across the line over every sector of the event:
// rate impacts per sector per day, 0.5 km to maxDepth deep.
func (g *generator) barrage(r *rand.Rand, p eventPlan, rate, minDepth, maxDepth float64, out []rec) []rec {
	days := float64(p.t1-p.t0) / float64(usPerDay)
	secs := g.line.Sectors()
	for s := p.secFrom; s <= p.secTo; s++ {
		for range count(r, rate*days) {
			rc := g.eventRec(p, r, timeIn(r, p.t0, p.t1))
			km := uni(r, secs[s].KmFrom, secs[s].KmTo)
			g.fire(r, &rc, p.pi, km, uni(r, minDepth, maxDepth))
			g.keepWithin(p, &rc, km)
			out = append(out, rc)
		}
	}
	return out
}

// bombardment: sustained fire, 12–25 impacts per sector per day, without
// ground movement.
func (g *generator) bombardment(r *rand.Rand, p eventPlan, out []rec) []rec {
	rate := p.ev.FirePerDay
	if rate == 0 {
		rate = uni(r, 12, 25)
	}
	maxDepth := 8000.0
	if p.ev.DepthKm > 0 {
		maxDepth = math.Max(600, p.ev.DepthKm*1000)
	}
	return g.barrage(r, p, rate, 500, maxDepth, out)
}

// raid: two or three units cross together 0.8–3 km deep for a few hours
// and come back, with a handful of shells.
func (g *generator) raid(r *rand.Rand, p eventPlan, out []rec) []rec {
	units := p.ev.Units
	if units == 0 {
		units = 2 + r.IntN(2)
	}
	center := uni(r, p.kmLo, p.kmHi)
	span := p.t1 - p.t0
	for u := range units {
		track := g.newTrack(fmt.Sprintf("E%d-U%d", p.index+1, u+1))
		km := math.Max(p.kmLo+0.2, math.Min(p.kmHi-0.2, center+uni(r, -3, 3)))
		depth := uni(r, 800, 3000)
		if p.ev.DepthKm > 0 {
			depth = uni(r, 0.6, 1) * p.ev.DepthKm * 1000
		}
		strength := int32(3 + r.IntN(18))
		source := uint8(r.IntN(nSources))
		t := p.t0 + r.Int64N(max(1, span-10*usPerHour)/usPerSec+1)*usPerSec
		nApproach, nAcross, nBack := 1+r.IntN(2), 3+r.IntN(4), 1+r.IntN(2)
		for k := 0; k < nApproach+nAcross+nBack && t < p.t1; k++ {
			var d float64
			switch {
			case k < nApproach:
				d = -uni(r, 1000, 3000)
			case k < nApproach+nAcross:
				d = depth * uni(r, 0.5, 1)
			default:
				d = -uni(r, 500, 2000)
			}
			rc := g.eventRec(p, r, t)
			rc.kind, rc.track, rc.strength, rc.source = kindGround, track, strength, source
			rc.point(g.within(p, km+uni(r, -0.3, 0.3), d))
			out = append(out, rc)
			t += hours(r, 0.5, 1.5)
		}
	}
	n := 2 + r.IntN(5)
	if p.ev.FirePerDay > 0 {
		n = count(r, p.ev.FirePerDay*float64(span)/float64(usPerDay))
	}
	for range n {
		rc := g.eventRec(p, r, timeIn(r, p.t0, p.t1))
		km := math.Max(p.kmLo, math.Min(p.kmHi, center+uni(r, -3, 3)))
		g.fire(r, &rc, p.pi, km, uni(r, 500, 4000))
		g.keepWithin(p, &rc, km)
		out = append(out, rc)
	}
	return out
}

// pad6 writes n with at least 6 digits.
func pad6(n int) string {
	var b [24]byte
	return string(appendPad6(b[:0], n))
}

func appendPad6(b []byte, n int) []byte {
	var d [20]byte
	s := strconv.AppendInt(d[:0], int64(n), 10)
	for i := len(s); i < 6; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}
