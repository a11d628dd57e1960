package gen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/internal/num"
)

// Format is the layout of the generated sightings file.
type Format uint8

const (
	GeoJSONSeq Format = iota // one Feature per line (RFC 8142 without RS, newline-delimited GeoJSON)
	GeoJSON                  // one FeatureCollection, one Feature per line inside it
)

func (f Format) String() string {
	if f == GeoJSON {
		return "geojson"
	}
	return "geojsonseq"
}

// ParseFormat reads "geojsonseq" (also "ndjson", "seq") or "geojson".
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "geojsonseq", "seq", "ndjson", "geojsonl", "jsonl":
		return GeoJSONSeq, nil
	case "geojson", "featurecollection":
		return GeoJSON, nil
	}
	return 0, fmt.Errorf("unknown format %q (geojsonseq or geojson)", s)
}

// EventType is what an injected event is.
type EventType string

const (
	// Offensive: several units (tracks) start on their own side, cross the
	// line and push 1–10 km deep over days, with supporting fire. Built to
	// be a sustained_offensive when it spans enough windows.
	Offensive EventType = "offensive"
	// Bombardment: sustained fire across the line without ground movement.
	// Built to be a sustained_bombardment when it spans enough windows.
	Bombardment EventType = "bombardment"
	// Raid: a short (1–2 day) incursion by a couple of units with a little
	// fire: an escalation.
	Raid EventType = "raid"
)

// intended is the class an event of this type is built to be.
func (t EventType) intended() string {
	switch t {
	case Offensive:
		return "sustained_offensive"
	case Bombardment:
		return "sustained_bombardment"
	}
	return "escalation"
}

func (t EventType) defaultDuration() time.Duration {
	switch t {
	case Offensive:
		return 6 * 24 * time.Hour
	case Bombardment:
		return 4 * 24 * time.Hour
	}
	return 24 * time.Hour
}

// Event is an injected episode: a party's activity across the line over a
// range of sectors and a period.
type Event struct {
	Type     EventType
	Party    string
	From, To string // sector ids, inclusive ("S040", "S043"); To may equal From
	Start    time.Time
	Duration time.Duration
	// Units is the number of ground units (tracks) of an offensive or raid;
	// 0 lets the generator choose (offensive: 3–8 and at least one per
	// sector; raid: 2–3).
	Units int
	// DepthKm is how deep the ground units go (offensive, raid) or the fire
	// reaches (bombardment); 0 lets the generator choose (offensive 1–10,
	// raid 0.8–3, bombardment 8).
	DepthKm float64
	// FirePerDay is the number of impacts per sector per day; 0 lets the
	// generator choose (offensive 3–8 supporting fire, bombardment 12–25,
	// raid a handful in all).
	FirePerDay float64
}

// String writes the event in the syntax ParseEvent reads, after its type:
// "offensive RU:S040-S043:2024-01-05:6d".
func (e Event) String() string {
	return string(e.Type) + " " + e.Spec()
}

// Spec is the event in the syntax ParseEvent reads: "RU:S040-S043:2024-01-05:6d".
func (e Event) Spec() string {
	sectors := e.From
	if e.To != e.From {
		sectors += "-" + e.To
	}
	start := e.Start.UTC().Format("2006-01-02")
	if !e.Start.Equal(e.Start.UTC().Truncate(24 * time.Hour)) {
		start = e.Start.UTC().Format(time.RFC3339)
	}
	dur := num.FormatDuration(e.Duration)
	if day := 24 * time.Hour; e.Duration > 0 && e.Duration%day == 0 {
		dur = strconv.FormatInt(int64(e.Duration/day), 10) + "d"
	}
	return e.Party + ":" + sectors + ":" + start + ":" + dur
}

// ParseEvent reads an event written PARTY:SECTORS:START[:DURATION], as in
// "RU:S040-S043:2024-01-05:6d": SECTORS is one sector id or a range FROM-TO
// (S040, S040-S043; the S may be left out), START a date (midnight UTC) or
// an RFC 3339 time, DURATION days (6d) or a Go duration (36h); without it,
// an offensive lasts 6 days, a bombardment 4 and a raid 1.
func ParseEvent(typ EventType, spec string) (Event, error) {
	ev := Event{Type: typ}
	switch typ {
	case Offensive, Bombardment, Raid:
	default:
		return ev, fmt.Errorf("unknown event type %q (offensive, bombardment or raid)", typ)
	}
	parts := strings.SplitN(spec, ":", 3)
	if len(parts) < 3 {
		return ev, fmt.Errorf("%s %q: want PARTY:SECTORS:START[:DURATION], as in RU:S040-S043:2024-01-05:6d", typ, spec)
	}
	ev.Party = strings.TrimSpace(parts[0])
	if ev.Party == "" {
		return ev, fmt.Errorf("%s %q: no party", typ, spec)
	}
	var err error
	if ev.From, ev.To, err = parseSectorRange(parts[1]); err != nil {
		return ev, fmt.Errorf("%s %q: %w", typ, spec, err)
	}
	rest := strings.TrimSpace(parts[2])
	start, dur := rest, ""
	if _, err := parseStart(rest); err != nil {
		if i := strings.LastIndexByte(rest, ':'); i >= 0 {
			start, dur = rest[:i], rest[i+1:]
		}
	}
	if ev.Start, err = parseStart(start); err != nil {
		return ev, fmt.Errorf("%s %q: %w", typ, spec, err)
	}
	ev.Duration = typ.defaultDuration()
	if dur != "" {
		if ev.Duration, err = parseEventDuration(dur); err != nil {
			return ev, fmt.Errorf("%s %q: %w", typ, spec, err)
		}
	}
	return ev, nil
}

func parseEventDuration(s string) (time.Duration, error) {
	d, ok := num.ParseDuration(strings.TrimSpace(s))
	if !ok || d <= 0 {
		return 0, fmt.Errorf("duration %q: want days (6d) or a Go duration (36h), > 0", s)
	}
	return d, nil
}

// parseSectorRange reads "S040-S043", "S040", "40-43".
func parseSectorRange(s string) (from, to string, err error) {
	s = strings.TrimSpace(s)
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		b = a
	}
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if a == "" || b == "" {
		return "", "", fmt.Errorf("sectors %q: want an id or a range, as in S040-S043", s)
	}
	return a, b, nil
}

// parseStart reads a date (2024-01-05, midnight UTC) or an RFC 3339 time.
func parseStart(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("start %q: want a date (2024-01-05) or an RFC 3339 time", s)
}

// ParseStart reads a date (2024-01-05, meaning midnight UTC) or an RFC 3339
// time, as scenario starts and event starts are written.
func ParseStart(s string) (time.Time, error) { return parseStart(s) }

// sectorIndex finds a sector by id ("S040") or number ("40", "S40").
func sectorIndex(l *geo.Line, id string) (int, error) {
	n := strings.TrimPrefix(strings.TrimPrefix(id, "S"), "s")
	i, err := strconv.Atoi(n)
	if err != nil || i < 0 || i >= len(l.Sectors()) || strings.HasPrefix(n, "+") || strings.HasPrefix(n, "-") {
		return 0, fmt.Errorf("no sector %q on the line (it has %s to %s)", id, l.SectorID(0), l.SectorID(len(l.Sectors())-1))
	}
	return i, nil
}

// Scenario is what Generate writes: a period of background activity on a
// line, isolated incidents, injected events, and the imperfections of a
// real feed. Start from DefaultScenario and change what you need; every
// field is taken literally (a zero share means none).
type Scenario struct {
	Seed  uint64
	Start time.Time // first instant (UTC)
	Days  int       // length of the period in days

	// Records, when > 0, is the approximate total number of records to
	// write; it sets Background so that the total comes out near it.
	Records int
	// Background is own-side activity: sightings per km of line per day.
	Background float64
	// Incidents is the number of isolated incidents per day on the whole
	// line: a single incursion, a stray shell across the line, a position
	// in the party's own half of the demilitarised zone.
	Incidents float64

	Events []Event

	Bad         float64 // share of all records that are bad (rejected)
	Duplicates  float64 // share of all records that are duplicates of another
	Conflicting float64 // share of the duplicates that conflict (same id, other content)
	Tracked     float64 // share of background sightings that are points of a patrol track
	// Fire is the share of background sightings that are fire landing on
	// the firer's own side; the rest of those not tracked are ground. At
	// most 1 − Tracked.
	Fire float64
	// SidelessFire is the share of fire sightings without side (a
	// LineString origin → impact, or an impact Point across the line).
	SidelessFire float64
	// Imprecise is the share of positions whose precision_m is 500–3000
	// ("near the village"); the others are GPS fixes of 10–50 m.
	Imprecise float64
	// Unattributed is the share of background ground sightings without a
	// side (unidentified forces): accepted, never judged.
	Unattributed float64

	Shuffle bool // records in random order; otherwise in time order (holds every record in memory)
	Format  Format
	Gzip    bool

	// Policy sizes the truth's expectations (windows, weights, thresholds);
	// nil means detect.DefaultPolicy. The line must be loaded with the
	// same sector_km.
	Policy *detect.Policy
}

// DefaultScenario is a 90-day scenario from 2024-01-01 with moderate
// background, a couple of isolated incidents a day, no events, 1 % bad
// and 1 % duplicate records.
func DefaultScenario() Scenario {
	return Scenario{
		Seed:         1,
		Start:        time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		Days:         90,
		Background:   0.5,
		Incidents:    2,
		Bad:          0.01,
		Duplicates:   0.01,
		Conflicting:  0.25,
		Tracked:      0.2,
		Fire:         0.24,
		SidelessFire: 0.15,
		Imprecise:    0.1,
		Unattributed: 0.002,
	}
}

func (sc *Scenario) validate() error {
	share := func(name string, x float64) error {
		if !(x >= 0 && x <= 1) {
			return fmt.Errorf("%s must be a share in [0, 1], got %v", name, x)
		}
		return nil
	}
	for _, c := range []struct {
		name string
		x    float64
	}{{"bad", sc.Bad}, {"duplicates", sc.Duplicates}, {"conflicting", sc.Conflicting}, {"tracked", sc.Tracked},
		{"fire", sc.Fire}, {"sideless_fire", sc.SidelessFire}, {"imprecise", sc.Imprecise}, {"unattributed", sc.Unattributed}} {
		if err := share(c.name, c.x); err != nil {
			return err
		}
	}
	if sc.Tracked+sc.Fire > 1 {
		return fmt.Errorf("tracked + fire must be at most 1, got %v", sc.Tracked+sc.Fire)
	}
	if sc.Bad+sc.Duplicates > 0.9 {
		return fmt.Errorf("bad + duplicates must be at most 0.9, got %v", sc.Bad+sc.Duplicates)
	}
	if sc.Days < 1 || sc.Days > 36600 {
		return fmt.Errorf("days must be 1 to 36600, got %d", sc.Days)
	}
	// Sighting times lie in the years 1000–8999 (SPEC §2): detect would
	// reject every record of a scenario outside them.
	first, end := time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC)
	if sc.Start.Before(first) || sc.Start.AddDate(0, 0, sc.Days).After(end) {
		return fmt.Errorf("the scenario's %d days from %s must lie in the years 1000–8999, where sighting times do",
			sc.Days, sc.Start.UTC().Format(time.RFC3339))
	}
	if !(sc.Background >= 0) || sc.Background > 1e6 {
		return fmt.Errorf("background must be ≥ 0 sightings per km per day, got %v", sc.Background)
	}
	if !(sc.Incidents >= 0) || sc.Incidents > 1e6 {
		return fmt.Errorf("incidents must be ≥ 0 per day, got %v", sc.Incidents)
	}
	if sc.Records < 0 {
		return fmt.Errorf("records must be ≥ 0, got %d", sc.Records)
	}
	return nil
}

// scenarioFile is the YAML scenario file. Every key is optional.
type scenarioFile struct {
	Seed         *uint64      `yaml:"seed"`
	Start        *string      `yaml:"start"`
	Days         *int         `yaml:"days"`
	Records      *int         `yaml:"records"`
	Background   *float64     `yaml:"background"`
	Incidents    *float64     `yaml:"incidents"`
	Bad          *float64     `yaml:"bad"`
	Duplicates   *float64     `yaml:"duplicates"`
	Conflicting  *float64     `yaml:"conflicting"`
	Tracked      *float64     `yaml:"tracked"`
	Fire         *float64     `yaml:"fire"`
	SidelessFire *float64     `yaml:"sideless_fire"`
	Imprecise    *float64     `yaml:"imprecise"`
	Unattributed *float64     `yaml:"unattributed"`
	Shuffle      *bool        `yaml:"shuffle"`
	Format       *string      `yaml:"format"`
	Gzip         *bool        `yaml:"gzip"`
	Events       []eventEntry `yaml:"events"`
}

// eventEntry is one event of a scenario file: either the short form
// ("offensive: RU:S040-S043:2024-01-05:6d") or the long one (type, party,
// sectors, start, duration, units, depth_km, fire_per_day).
type eventEntry struct {
	Offensive   string  `yaml:"offensive"`
	Bombardment string  `yaml:"bombardment"`
	Raid        string  `yaml:"raid"`
	Type        string  `yaml:"type"`
	Party       string  `yaml:"party"`
	Sectors     string  `yaml:"sectors"`
	Start       string  `yaml:"start"`
	Duration    string  `yaml:"duration"`
	Units       int     `yaml:"units"`
	DepthKm     float64 `yaml:"depth_km"`
	FirePerDay  float64 `yaml:"fire_per_day"`
}

// LoadScenario reads a YAML scenario file over sc: the keys it has replace
// sc's values, its events are added to sc's.
func LoadScenario(path string, sc *Scenario) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("scenario: %w", err)
	}
	if err := ParseScenario(data, sc); err != nil {
		return fmt.Errorf("scenario %s: %w", path, err)
	}
	return nil
}

// ParseScenario reads a YAML scenario over sc (see LoadScenario). An
// unknown key is an error.
//
//	seed: 7
//	start: 2024-01-01
//	days: 90
//	background: 0.5     # own-side sightings per km of line per day
//	incidents: 2        # isolated incidents per day
//	bad: 0.01
//	duplicates: 0.01
//	events:
//	  - offensive: RU:S040-S043:2024-01-05:6d
//	  - bombardment: UA:S010-S012:2024-02-01:5d
//	  - {type: raid, party: RU, sectors: S070, start: 2024-03-01, duration: 1d, units: 3}
func ParseScenario(data []byte, sc *Scenario) error {
	var f scenarioFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) { // an empty file is no error
		return err
	}
	if f.Seed != nil {
		sc.Seed = *f.Seed
	}
	if f.Start != nil {
		t, err := parseStart(*f.Start)
		if err != nil {
			return err
		}
		sc.Start = t
	}
	setInt := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	setFloat := func(dst *float64, v *float64) {
		if v != nil {
			*dst = *v
		}
	}
	setBool := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	setInt(&sc.Days, f.Days)
	setInt(&sc.Records, f.Records)
	setFloat(&sc.Background, f.Background)
	setFloat(&sc.Incidents, f.Incidents)
	setFloat(&sc.Bad, f.Bad)
	setFloat(&sc.Duplicates, f.Duplicates)
	setFloat(&sc.Conflicting, f.Conflicting)
	setFloat(&sc.Tracked, f.Tracked)
	setFloat(&sc.Fire, f.Fire)
	setFloat(&sc.SidelessFire, f.SidelessFire)
	setFloat(&sc.Imprecise, f.Imprecise)
	setFloat(&sc.Unattributed, f.Unattributed)
	setBool(&sc.Shuffle, f.Shuffle)
	setBool(&sc.Gzip, f.Gzip)
	if f.Format != nil {
		fm, err := ParseFormat(*f.Format)
		if err != nil {
			return err
		}
		sc.Format = fm
	}
	for i, e := range f.Events {
		ev, err := e.event()
		if err != nil {
			return fmt.Errorf("events[%d]: %w", i, err)
		}
		sc.Events = append(sc.Events, ev)
	}
	return nil
}

func (e eventEntry) event() (Event, error) {
	short := 0
	var ev Event
	var err error
	for _, s := range []struct {
		typ  EventType
		spec string
	}{{Offensive, e.Offensive}, {Bombardment, e.Bombardment}, {Raid, e.Raid}} {
		if s.spec != "" {
			short++
			ev, err = ParseEvent(s.typ, s.spec)
		}
	}
	switch {
	case short > 1:
		return ev, errors.New("one of offensive, bombardment or raid per event")
	case short == 1 && (e.Type != "" || e.Party != "" || e.Sectors != "" || e.Start != "" || e.Duration != ""):
		return ev, errors.New("the short form (offensive: RU:S040-S043:2024-01-05:6d) takes no type, party, sectors, start or duration")
	case short == 1:
		if err != nil {
			return ev, err
		}
	default:
		if e.Type == "" || e.Party == "" || e.Sectors == "" || e.Start == "" {
			return ev, errors.New("an event needs type, party, sectors and start (or the short form offensive: RU:S040-S043:2024-01-05:6d)")
		}
		spec := e.Party + ":" + e.Sectors + ":" + e.Start
		if e.Duration != "" {
			spec += ":" + e.Duration
		}
		if ev, err = ParseEvent(EventType(strings.ToLower(e.Type)), spec); err != nil {
			return ev, err
		}
	}
	if e.Units < 0 || e.DepthKm < 0 || e.FirePerDay < 0 {
		return ev, errors.New("units, depth_km and fire_per_day must be ≥ 0")
	}
	ev.Units, ev.DepthKm, ev.FirePerDay = e.Units, e.DepthKm, e.FirePerDay
	return ev, nil
}
