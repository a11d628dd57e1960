package detect

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/internal/num"
)

// Policy holds the thresholds and weights that turn sightings into
// violations, cells, episodes and classes (SPEC §7). Build one with
// DefaultPolicy or read one from a policy file with package policy; a
// Policy built by hand should be checked with Validate. Scores are kept in
// micro-units only (SPEC §9): the values they are compared with.
type Policy struct {
	// Window is the length of the tumbling event-time windows: > 0, a whole
	// number of microseconds.
	Window time.Duration
	// WindowOrigin is the instant windows are aligned to, in microseconds
	// since the Unix epoch (default 0: 1970-01-01T00:00:00Z, a Thursday).
	WindowOrigin int64
	// SectorKm is the length of a sector of the line in km (≥ 0.001).
	SectorKm float64
	// BufferM is the half-width of the demilitarised zone in metres where
	// the line gives none (≥ 0).
	BufferM float64
	// MaxTrackGap is how long a track's last position pairs with its next
	// one (≥ 0).
	MaxTrackGap time.Duration
	// MinConfidence is the least confidence a sighting needs to be judged
	// (in [0, 1]).
	MinConfidence float64
	// EndReachM is how far past a free end of the line, in metres,
	// positions are still judged (≥ 0).
	EndReachM float64
	// AllowedLateness is how far the streaming watermark trails the latest
	// event time (≥ 0).
	AllowedLateness time.Duration
	// MaxFuture is how far ahead of the wall clock a streamed record may be
	// before it is rejected as "future" (≥ 0).
	MaxFuture time.Duration
	// Weights weighs each type of violation (each in [0, 1000000]).
	Weights Weights
	// HotScoreMicro is the score, in micro-units, at which a cell is hot.
	// It is at least 1 (0.000001): a zero threshold would make every cell
	// with a violation hot, weightless buffer violations included, and no
	// violation could ever be isolated.
	HotScoreMicro int64
	// JoinSectors is how far apart, in sector numbers, two hot cells of one
	// stretch may be and still join one episode (≥ 0).
	JoinSectors int
	// JoinGapWindows is how many windows without a hot cell may separate two
	// hot cells of one episode (≥ 0).
	JoinGapWindows int
	// SignificantScoreMicro is the episode score, in micro-units, that
	// makes it significant (≥ 0).
	SignificantScoreMicro int64
	// SignificantDepthM is the certain depth in metres that makes an episode
	// significant (≥ 0).
	SignificantDepthM float64
	// SignificantStrength is the strength that makes an episode
	// significant (≥ 0).
	SignificantStrength float64
	// DeliberateMinGround is the least number of ground violations of a
	// deliberate episode (≥ 0).
	DeliberateMinGround int
	// DeliberateMinTracks is the least number of tracks of a deliberate
	// episode (≥ 0).
	DeliberateMinTracks int
	// SustainedMinHotWindows is the least number of hot windows of a
	// sustained episode (≥ 1).
	SustainedMinHotWindows int
	// CorroborationMinAffiliations is the least number of distinct
	// affiliations an episode's violations must come from to be
	// corroborated, unless one comes from a neutral source (≥ 1; 1, the
	// default, asks no more than one party's word).
	CorroborationMinAffiliations int

	// Affiliations tells each source's affiliation (a party code, or
	// "neutral"), from the sources registry (--sources); a source it does
	// not name, and a record without a source, are "unknown". It is no
	// policy key: a policy file cannot set it, and the effective policy
	// does not include it.
	Affiliations Affiliations
}

// Affiliations maps source ids to affiliations. The zero value knows no
// source. It is a handle on a map that never changes once made, so that a
// Policy stays comparable (two policies are equal when they share one).
type Affiliations struct{ m *map[string]string }

// NewAffiliations returns the affiliations of m (source id → party code or
// "neutral"), copied.
func NewAffiliations(m map[string]string) Affiliations {
	if len(m) == 0 {
		return Affiliations{}
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return Affiliations{&c}
}

// Of returns a source's affiliation, and whether it is known.
func (a Affiliations) Of(source string) (string, bool) {
	if a.m == nil {
		return "", false
	}
	v, ok := (*a.m)[source]
	return v, ok
}

// Len is the number of sources with a known affiliation.
func (a Affiliations) Len() int {
	if a.m == nil {
		return 0
	}
	return len(*a.m)
}

// Weights weighs each type of violation (SPEC §3, §4).
type Weights struct {
	Crossing  float64
	Incursion float64
	Fire      float64
	Buffer    float64
}

// WeightTypes are the violation types that Weights weighs, in SPEC order.
var WeightTypes = []string{"crossing", "incursion", "fire", "buffer"}

// Get returns the weight of a violation type named as in SPEC §3
// ("crossing", "incursion", "fire", "buffer").
func (w Weights) Get(typ string) (float64, bool) {
	if p := w.field(typ); p != nil {
		return *p, true
	}
	return 0, false
}

// Set sets the weight of a violation type; false if there is no such
// type.
func (w *Weights) Set(typ string, x float64) bool {
	p := w.field(typ)
	if p != nil {
		*p = x
	}
	return p != nil
}

func (w *Weights) field(typ string) *float64 {
	switch typ {
	case "crossing":
		return &w.Crossing
	case "incursion":
		return &w.Incursion
	case "fire":
		return &w.Fire
	case "buffer":
		return &w.Buffer
	}
	return nil
}

// DefaultPolicy returns the defaults of SPEC §7.
func DefaultPolicy() Policy {
	return Policy{
		Window:                 24 * time.Hour,
		WindowOrigin:           0,
		SectorKm:               10,
		BufferM:                0,
		MaxTrackGap:            6 * time.Hour,
		MinConfidence:          0.5,
		EndReachM:              5000,
		AllowedLateness:        6 * time.Hour,
		MaxFuture:              time.Hour,
		Weights:                Weights{Crossing: 3, Incursion: 2, Fire: 1, Buffer: 0.5},
		HotScoreMicro:          4 * microUnits,
		JoinSectors:            1,
		JoinGapWindows:         1,
		SignificantScoreMicro:  30 * microUnits,
		SignificantDepthM:      3000,
		SignificantStrength:    50,
		DeliberateMinGround:    3,
		DeliberateMinTracks:    2,
		SustainedMinHotWindows: 3,

		CorroborationMinAffiliations: 1,
	}
}

// WindowMicros is Window in microseconds.
func (p Policy) WindowMicros() int64 { return p.Window.Microseconds() }

// OriginTime is WindowOrigin as a time.Time in UTC.
func (p Policy) OriginTime() time.Time { return num.Time(p.WindowOrigin) }

// PolicyError is what is wrong with one value of a Policy: the key a
// policy file names it by ("window", "weights") and what is wrong.
type PolicyError struct {
	Key string
	Msg string
}

func (e *PolicyError) Error() string { return "policy: " + e.Key + ": " + e.Msg }

// Validate checks every value of p, in SPEC §7 order, and returns a
// *PolicyError for the first that is out of range.
func (p Policy) Validate() error {
	for _, r := range policyRules {
		if msg := r.Check(&p); msg != "" {
			return &PolicyError{Key: r.Key, Msg: msg}
		}
	}
	return nil
}

// PolicyRule is what one key of a policy takes (SPEC §7, §9), worded as
// policy errors word it.
type PolicyRule struct {
	Key string
	// Want says what the key takes, for "must be …" messages: "a number
	// ≥ 0.001 (1 m)", "an integer ≥ 0"; empty for the keys whose values
	// are no numbers (durations, window_origin, weights).
	Want string
	// Number, for a key whose value is a number, says what is wrong with
	// one before it is stored (a score is stored rounded to micro-units),
	// "" if nothing.
	Number func(x float64) string
	// Check says what is wrong with the key's value in a Policy, "" if
	// nothing.
	Check func(p *Policy) string
}

// PolicyRules returns the rule of every key, in SPEC §7 order.
func PolicyRules() []PolicyRule { return append([]PolicyRule(nil), policyRules...) }

// WeightRule is the rule of each weight of the weights key.
var WeightRule = numberRule("weights", weightBounds, nil)

// Upper bounds that keep fixed-point sums and window arithmetic far from
// int64 overflow.
const (
	maxWeight = 1e6  // a weight, so a violation weighs at most 10^12 µ
	maxScore  = 1e12 // hot_score and significant_score
	maxCount  = 1e9  // the integer keys
)

var weightBounds = bounds{min: 0, max: maxWeight}

var policyRules = []PolicyRule{
	durationRule("window", func(p *Policy) time.Duration { return p.Window }, true),
	{Key: "window_origin", Check: func(p *Policy) string {
		if p.WindowOrigin < num.MinTime || p.WindowOrigin > num.MaxTime {
			return "out of range (years 0000 to 9999)"
		}
		return ""
	}},
	numberRule("sector_km", bounds{min: 0.001, max: math.Inf(1), note: " (1 m)"}, func(p *Policy) float64 { return p.SectorKm }),
	numberRule("buffer_m", nonNegative, func(p *Policy) float64 { return p.BufferM }),
	durationRule("max_track_gap", func(p *Policy) time.Duration { return p.MaxTrackGap }, false),
	numberRule("min_confidence", bounds{min: 0, max: 1, interval: true}, func(p *Policy) float64 { return p.MinConfidence }),
	numberRule("end_reach_m", nonNegative, func(p *Policy) float64 { return p.EndReachM }),
	durationRule("allowed_lateness", func(p *Policy) time.Duration { return p.AllowedLateness }, false),
	durationRule("max_future", func(p *Policy) time.Duration { return p.MaxFuture }, false),
	{Key: "weights", Check: func(p *Policy) string {
		for _, typ := range WeightTypes {
			x, _ := p.Weights.Get(typ)
			if msg := weightBounds.check(x); msg != "" {
				return typ + ": " + msg
			}
		}
		return ""
	}},
	scoreRule("hot_score", 1, func(p *Policy) int64 { return p.HotScoreMicro }),
	countRule("join_sectors", 0, func(p *Policy) int { return p.JoinSectors }),
	countRule("join_gap_windows", 0, func(p *Policy) int { return p.JoinGapWindows }),
	scoreRule("significant_score", 0, func(p *Policy) int64 { return p.SignificantScoreMicro }),
	numberRule("significant_depth_m", nonNegative, func(p *Policy) float64 { return p.SignificantDepthM }),
	numberRule("significant_strength", nonNegative, func(p *Policy) float64 { return p.SignificantStrength }),
	countRule("deliberate_min_ground", 0, func(p *Policy) int { return p.DeliberateMinGround }),
	countRule("deliberate_min_tracks", 0, func(p *Policy) int { return p.DeliberateMinTracks }),
	countRule("sustained_min_hot_windows", 1, func(p *Policy) int { return p.SustainedMinHotWindows }),
	countRule("corroboration_min_affiliations", 1, func(p *Policy) int { return p.CorroborationMinAffiliations }),
}

func durationRule(key string, field func(*Policy) time.Duration, positive bool) PolicyRule {
	return PolicyRule{Key: key, Check: func(p *Policy) string {
		d := field(p)
		switch {
		case positive && d <= 0:
			return "must be > 0, got " + num.FormatDuration(d)
		case d < 0:
			return "must be ≥ 0, got " + num.FormatDuration(d)
		case d%time.Microsecond != 0:
			return "must be a whole number of microseconds, got " + num.FormatDuration(d)
		}
		return ""
	}}
}

// bounds is the range of a number: [min, max], or (min, max] with
// exclusive; interval says to write it as one ("a number in [0, 1]").
type bounds struct {
	min, max  float64
	exclusive bool
	interval  bool
	note      string
}

var nonNegative = bounds{min: 0, max: math.Inf(1)}

func (b bounds) want() string {
	if b.interval {
		return "a number in [" + formatFloat(b.min) + ", " + formatFloat(b.max) + "]"
	}
	if b.exclusive {
		return "a number > " + formatFloat(b.min) + b.note
	}
	return "a number ≥ " + formatFloat(b.min) + b.note
}

// check returns what is wrong with x, or "".
func (b bounds) check(x float64) string {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0) || x < b.min || (b.exclusive && x == b.min):
		return "must be " + b.want() + ", got " + formatFloat(x)
	case x > b.max && b.interval:
		return "must be " + b.want() + ", got " + formatFloat(x)
	case x > b.max:
		return fmt.Sprintf("must be at most %s, got %s", formatFloat(b.max), formatFloat(x))
	}
	return ""
}

func formatFloat(x float64) string {
	if math.Abs(x) >= 1e21 || (x != 0 && math.Abs(x) < 1e-6) {
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

func numberRule(key string, b bounds, field func(*Policy) float64) PolicyRule {
	r := PolicyRule{Key: key, Want: b.want(), Number: b.check}
	if field != nil {
		r.Check = func(p *Policy) string { return b.check(field(p)) }
	}
	return r
}

// scoreRule is a score threshold kept in micro-units; its micro-unit value
// must be at least minMicro.
func scoreRule(key string, minMicro int64, field func(*Policy) int64) PolicyRule {
	b := bounds{min: 0, max: maxScore}
	if minMicro > 0 {
		b.min = MicroFloat(minMicro)
		b.note = " (scores are kept to 6 decimals)"
	}
	number := func(x float64) string {
		if msg := b.check(x); msg != "" {
			return msg
		}
		if RoundMicro(x) < minMicro {
			return "must be " + b.want() + ", got " + formatFloat(x)
		}
		return ""
	}
	return PolicyRule{Key: key, Want: b.want(), Number: number,
		Check: func(p *Policy) string { return number(MicroFloat(field(p))) }}
}

func countRule(key string, min int, field func(*Policy) int) PolicyRule {
	want := fmt.Sprintf("an integer ≥ %d", min)
	return PolicyRule{Key: key, Want: want, Check: func(p *Policy) string {
		switch n := int64(field(p)); {
		case n < int64(min):
			return fmt.Sprintf("must be %s, got %d", want, n)
		case n > maxCount:
			return fmt.Sprintf("must be at most %d, got %d", int64(maxCount), n)
		}
		return ""
	}}
}

// LineOptions are the options a line is loaded with under this policy:
// its sector length, default buffer and end reach (an end_reach_m of 0
// means none, where geo's zero value means its default).
func (p Policy) LineOptions() geo.Options {
	opt := geo.Options{BufferM: p.BufferM, SectorKm: p.SectorKm, EndReachM: p.EndReachM}
	if opt.EndReachM == 0 {
		opt.EndReachM = -1
	}
	return opt
}
