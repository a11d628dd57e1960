package output

import (
	"encoding/json"
	"fmt"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/internal/num"
)

// Episode is an episode Feature's properties as linewatch writes them
// (SPEC §5), for reading its output back: the report shows them, and
// gen's truth says what a run should write. Times and scores keep their
// exact values (Instant, Micro); the other figures are rounded as the
// output rounds them.
type Episode struct {
	ID         string   `json:"id"`
	Class      string   `json:"class"`
	Party      string   `json:"party"`
	Start      Instant  `json:"start"`
	End        Instant  `json:"end"`
	Sectors    []string `json:"sectors"`
	KmFrom     float64  `json:"km_from"`
	KmTo       float64  `json:"km_to"`
	HotWindows int      `json:"hot_windows"`
	Violations int      `json:"violations"`
	Crossings  int      `json:"crossings"`
	Incursions int      `json:"incursions"`
	Fire       int      `json:"fire"`
	Buffer     int      `json:"buffer"`
	Tracks     int      `json:"tracks"`
	Strength   float64  `json:"strength"`
	MaxDepthM  float64  `json:"max_depth_m"`
	Score      Micro    `json:"score"`
	// Sources is the number of distinct sources of the violations, and
	// Affiliations the violations by their sources' affiliation
	// (docs/corroboration.md); both absent from an output written before
	// linewatch had them.
	Sources      int            `json:"sources,omitempty"`
	Affiliations map[string]int `json:"affiliations,omitempty"`
	Criteria     Criteria       `json:"criteria"`
	Evidence     []string       `json:"evidence,omitempty"` // the ids of the first 50 violations
	Description  string         `json:"description,omitempty"`
}

// Criteria are an episode's three criteria, each measured value beside its
// threshold (SPEC §5).
type Criteria struct {
	Significant struct {
		Holds       bool    `json:"holds"`
		Score       float64 `json:"score"`
		MaxDepthM   float64 `json:"max_depth_m"`
		Strength    float64 `json:"strength"`
		MinScore    float64 `json:"min_score"`
		MinDepthM   float64 `json:"min_depth_m"`
		MinStrength float64 `json:"min_strength"`
	} `json:"significant"`
	Deliberate struct {
		Holds     bool `json:"holds"`
		Ground    int  `json:"ground"`
		Tracks    int  `json:"tracks"`
		MinGround int  `json:"min_ground"`
		MinTracks int  `json:"min_tracks"`
	} `json:"deliberate"`
	Sustained struct {
		Holds         bool `json:"holds"`
		HotWindows    int  `json:"hot_windows"`
		MinHotWindows int  `json:"min_hot_windows"`
	} `json:"sustained"`
	// Corroborated is nil in an output written before linewatch had it.
	Corroborated *Corroboration `json:"corroborated,omitempty"`
}

// Corroboration is the corroborated criterion: from how many distinct
// affiliations, and from how many neutral sources' violations, an
// episode's violations come (docs/corroboration.md).
type Corroboration struct {
	Holds           bool `json:"holds"`
	Affiliations    int  `json:"affiliations"`
	Neutral         int  `json:"neutral"`
	MinAffiliations int  `json:"min_affiliations"`
}

// Thresholds fills in the criteria's thresholds from the policy, rounded
// as the output writes them.
func (c *Criteria) Thresholds(pol detect.Policy) {
	c.Significant.MinScore = detect.MicroFloat(pol.SignificantScoreMicro)
	c.Significant.MinDepthM = num.Round(pol.SignificantDepthM, 3)
	c.Significant.MinStrength = num.Round(pol.SignificantStrength, 6)
	c.Deliberate.MinGround = pol.DeliberateMinGround
	c.Deliberate.MinTracks = pol.DeliberateMinTracks
	c.Sustained.MinHotWindows = pol.SustainedMinHotWindows
	c.Corroborated = &Corroboration{MinAffiliations: pol.CorroborationMinAffiliations}
}

// EpisodeOf is what the output writes of e: the properties of its Feature.
func EpisodeOf(line *geo.Line, pol detect.Policy, e *detect.Episode) Episode {
	x := Episode{
		ID: e.ID, Class: e.Class.String(), Party: e.Party, Start: Instant(e.Start), End: Instant(e.End),
		KmFrom: num.Round(e.KmFrom, 3), KmTo: num.Round(e.KmTo, 3),
		HotWindows: e.HotWindows, Violations: e.Violations, Crossings: e.Crossings,
		Incursions: e.Incursions, Fire: e.Fire, Buffer: e.Buffer, Tracks: e.Tracks,
		Strength: detect.MicroFloat(e.Strength), MaxDepthM: num.Round(e.MaxDepthM, 3),
		Score: Micro(e.Score), Description: Describe(line, e),
	}
	for _, s := range e.Sectors {
		x.Sectors = append(x.Sectors, line.SectorID(s))
	}
	for i, v := range e.Evidence {
		if i == MaxEvidence {
			break
		}
		x.Evidence = append(x.Evidence, v.ID)
	}
	c := &x.Criteria
	c.Thresholds(pol)
	c.Significant.Holds = e.Significant
	c.Significant.Score = detect.MicroFloat(e.Score)
	c.Significant.MaxDepthM = x.MaxDepthM
	c.Significant.Strength = x.Strength
	c.Deliberate.Holds = e.Deliberate
	c.Deliberate.Ground = e.Crossings + e.Incursions
	c.Deliberate.Tracks = e.Tracks
	c.Sustained.Holds = e.Sustained
	c.Sustained.HotWindows = e.HotWindows
	c.Corroborated.Holds = e.Corroborated
	c.Corroborated.Affiliations = e.DistinctAffiliations()
	c.Corroborated.Neutral = e.NeutralViolations()
	x.Sources = e.Sources
	if len(e.Affiliations) > 0 {
		x.Affiliations = make(map[string]int, len(e.Affiliations))
		for _, a := range e.Affiliations {
			x.Affiliations[a.Affiliation] = a.Violations
		}
	}
	return x
}

// MaxEvidence is how many violation ids an episode's evidence lists (its
// first, in evidence order).
const MaxEvidence = 50

// Instant is a time in microseconds since the Unix epoch, written in
// JSON as linewatch writes times: RFC 3339 UTC (SPEC §9).
type Instant int64

// MarshalJSON writes the time as a JSON string.
func (t Instant) MarshalJSON() ([]byte, error) {
	b := append([]byte(nil), '"')
	b = num.AppendTime(b, int64(t))
	return append(b, '"'), nil
}

// UnmarshalJSON reads a time as a sighting's is read.
func (t *Instant) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("not a time string: %.40s", b)
	}
	us, err := num.ParseTime(s)
	if err != nil {
		return err
	}
	*t = Instant(us)
	return nil
}

// Micro is a fixed-point value in micro-units, written in JSON as its
// exact decimal: a score of 1051.9 is 1051900000.
type Micro int64

// MarshalJSON writes the value as a JSON number.
func (m Micro) MarshalJSON() ([]byte, error) { return num.AppendMicro(nil, int64(m)), nil }

// UnmarshalJSON reads a JSON number rounded to 6 decimals.
func (m *Micro) UnmarshalJSON(b []byte) error {
	var x float64
	if err := json.Unmarshal(b, &x); err != nil {
		return fmt.Errorf("not a number: %.40s", b)
	}
	v, ok := num.ScaledInt(x, 6)
	if !ok {
		return fmt.Errorf("%v is out of range", x)
	}
	*m = Micro(v)
	return nil
}
