package detect

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/linewatch/linewatch/geo"
	"io"
	"math"
	"math/big"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/linewatch/linewatch/internal/num"
)

// Policy holds the thresholds and weights that turn sightings into
// violations, cells, episodes and classes (SPEC §7). Build one with
// DefaultPolicy, ParsePolicy or LoadPolicy; a Policy built by hand should be
// checked with Validate.
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
	// HotScore is the score at which a cell is hot. It is > 0 (at least
	// 0.000001 once rounded): a zero threshold would make every cell with a
	// violation hot, weightless buffer violations included, and no violation
	// could ever be isolated. HotScoreMicro is it rounded to micro-units
	// (SPEC §9), the value scores are compared with.
	HotScore      float64
	HotScoreMicro int64
	// JoinSectors is how far apart, in sector numbers, two hot cells of one
	// stretch may be and still join one episode (≥ 0).
	JoinSectors int
	// JoinGapWindows is how many windows without a hot cell may separate two
	// hot cells of one episode (≥ 0).
	JoinGapWindows int
	// SignificantScore is the episode score that makes it significant (≥ 0);
	// SignificantScoreMicro is it rounded to micro-units.
	SignificantScore      float64
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
	// policy key: a policy file cannot set it, and MarshalJSON does not
	// write it.
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
		HotScore:               4,
		HotScoreMicro:          4 * microUnits,
		JoinSectors:            1,
		JoinGapWindows:         1,
		SignificantScore:       30,
		SignificantScoreMicro:  30 * microUnits,
		SignificantDepthM:      3000,
		SignificantStrength:    50,
		DeliberateMinGround:    3,
		DeliberateMinTracks:    2,
		SustainedMinHotWindows: 3,

		CorroborationMinAffiliations: 1,
	}
}

// SetHotScore sets HotScore and HotScoreMicro together.
func (p *Policy) SetHotScore(x float64) {
	p.HotScore, p.HotScoreMicro = x, RoundMicro(x)
}

// SetSignificantScore sets SignificantScore and SignificantScoreMicro
// together.
func (p *Policy) SetSignificantScore(x float64) {
	p.SignificantScore, p.SignificantScoreMicro = x, RoundMicro(x)
}

// WindowMicros is Window in microseconds.
func (p Policy) WindowMicros() int64 { return p.Window.Microseconds() }

// OriginTime is WindowOrigin as a time.Time in UTC.
func (p Policy) OriginTime() time.Time { return num.Time(p.WindowOrigin) }

// PolicyError is an error in a policy: its file (set by LoadPolicy), the
// line of the YAML text (0 when unknown), the key it concerns ("window",
// "weights.fire"; "" for the document as a whole or an unknown key) and
// what is wrong.
type PolicyError struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *PolicyError) Error() string {
	var b strings.Builder
	b.WriteString("policy")
	if e.File != "" {
		b.WriteString(" ")
		b.WriteString(e.File)
	}
	if e.Line > 0 {
		b.WriteString(" line ")
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// maxPolicyBytes bounds a policy file: a policy is a few hundred bytes.
const maxPolicyBytes = 1 << 20

// Upper bounds that keep fixed-point sums and window arithmetic far from
// int64 overflow.
const (
	maxWeight = 1e6  // a weight, so a violation weighs at most 10^12 µ
	maxScore  = 1e12 // hot_score and significant_score
	maxCount  = 1e9  // the integer keys
)

// LoadPolicy reads a policy file (see ParsePolicy). Its errors name the file.
func LoadPolicy(path string) (Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return Policy{}, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPolicyBytes+1))
	if err != nil {
		return Policy{}, fmt.Errorf("policy: %w", err)
	}
	p, err := ParsePolicy(data)
	var pe *PolicyError
	if errors.As(err, &pe) {
		pe.File = path
	}
	return p, err
}

// ParsePolicy reads a policy from YAML text (SPEC §7, §9). Every key is
// optional and takes its default from DefaultPolicy; an empty document, or
// one that is only comments or null, is the default policy. A key whose
// value is null (`window:` with nothing after it) keeps its default too, as
// null means absent in sightings. A partial weights map keeps the defaults
// for the types it omits.
//
// Durations are Go durations (90m, 1h30m, 1.5s) or days (7d, 1.5d, 1d12h);
// window_origin is written like a sighting's time: an RFC 3339 date-time
// with a zone, or a number of seconds since the epoch.
//
// An unknown key, a value of the wrong type or out of range, a duplicate
// key, a document that is not a mapping, or more than one document is a
// *PolicyError that names the key and the line, as in
//
//	policy line 3: window: must be > 0, got 0s
//	policy line 2: unknown key "windw" (did you mean "window"?)
func ParsePolicy(data []byte) (Policy, error) {
	p, err := parsePolicy(data)
	if err != nil {
		return Policy{}, err
	}
	return p, nil
}

func parsePolicy(data []byte) (Policy, error) {
	p := DefaultPolicy()
	if len(data) > maxPolicyBytes {
		return p, &PolicyError{Msg: fmt.Sprintf("larger than %d bytes", maxPolicyBytes)}
	}
	root, err := decodeOneDocument(data)
	if err != nil || root == nil {
		return p, err
	}
	if root.ShortTag() == "!!null" {
		return p, nil
	}
	if root.Kind != yaml.MappingNode {
		return p, &PolicyError{Line: root.Line,
			Msg: "must be a mapping of keys to values, got " + describeNode(root)}
	}
	seen := make(map[string]int, len(root.Content)/2)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], deref(root.Content[i+1])
		name, err := keyName(k, seen, "")
		if err != nil {
			return p, err
		}
		spec := policyKeyByName(name)
		if spec == nil {
			msg := "unknown key " + quoteShort(name)
			if s := suggestKey(name); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return p, &PolicyError{Line: k.Line, Msg: msg}
		}
		if v.ShortTag() == "!!null" {
			continue // null means absent: the default stays
		}
		if err := spec.set(&p, v); err != nil {
			return p, err
		}
	}
	return p, nil
}

// decodeOneDocument parses YAML text into the root node of its only
// document; nil for an empty one.
func decodeOneDocument(data []byte) (root *yaml.Node, err error) {
	// The YAML library reports bad input by panicking with its own error
	// type and recovers it; any other panic from it is a bug there that
	// must not take the program down on a bad policy file.
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, &PolicyError{Msg: fmt.Sprintf("unreadable YAML (%v)", r)}
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			return nil, nil
		}
		return nil, yamlError(err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == io.EOF:
	case err != nil:
		return nil, yamlError(err)
	default:
		return nil, &PolicyError{Line: next.Line, Msg: "more than one YAML document (a policy is one mapping)"}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	return deref(doc.Content[0]), nil
}

// yamlError turns the YAML library's "yaml: line N: msg" into a PolicyError.
func yamlError(err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if i := strings.Index(rest, ": "); i > 0 {
			if n, err := strconv.Atoi(rest[:i]); err == nil {
				line, msg = n, rest[i+2:]
			}
		}
	}
	return &PolicyError{Line: line, Msg: "invalid YAML: " + msg}
}

// deref follows aliases (*name) to the node they stand for.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// keyName checks a mapping key: a plain name, not a merge key, not seen
// before in its mapping.
func keyName(k *yaml.Node, seen map[string]int, parent string) (string, error) {
	k = deref(k)
	if k.Kind != yaml.ScalarNode {
		return "", &PolicyError{Line: k.Line, Key: parent, Msg: "a key must be a name, got " + describeNode(k)}
	}
	if k.ShortTag() == "!!merge" {
		return "", &PolicyError{Line: k.Line, Key: parent, Msg: `merge keys ("<<") are not supported`}
	}
	name := k.Value
	if first, dup := seen[name]; dup {
		return "", &PolicyError{Line: k.Line, Key: parent,
			Msg: fmt.Sprintf("duplicate key %s (first on line %d)", quoteShort(name), first)}
	}
	seen[name] = k.Line
	return name, nil
}

// quoteShort quotes a name for a message, cut to 40 bytes.
func quoteShort(s string) string {
	if len(s) > 40 {
		return strconv.Quote(s[:40]) + "…"
	}
	return strconv.Quote(s)
}

// describeNode says what a node holds, for "got …" in messages.
func describeNode(n *yaml.Node) string {
	n = deref(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return quoteShort(n.Value)
		case "!!null":
			return "null"
		}
		if len(n.Value) > 40 {
			return n.Value[:40] + "…"
		}
		return n.Value
	}
	return "nothing"
}

// policyKey is one key of the policy: how to read it and how to check it.
type policyKey struct {
	name string
	// set reads the key's value node into p, checking it.
	set func(p *Policy, v *yaml.Node) error
	// check returns what is wrong with the key's value in p, or "".
	check func(p *Policy) string
}

// policyKeys lists the keys in SPEC §7 order.
var policyKeys []policyKey

func init() {
	policyKeys = []policyKey{
		durationKey("window", func(p *Policy) *time.Duration { return &p.Window }, true),
		{name: "window_origin", set: setOrigin, check: func(p *Policy) string {
			if p.WindowOrigin < num.MinTime || p.WindowOrigin > num.MaxTime {
				return "out of range (years 0000 to 9999)"
			}
			return ""
		}},
		numberKey("sector_km", func(p *Policy) *float64 { return &p.SectorKm }, bounds{min: 0.001, max: math.Inf(1), note: " (1 m)"}),
		numberKey("buffer_m", func(p *Policy) *float64 { return &p.BufferM }, nonNegative),
		durationKey("max_track_gap", func(p *Policy) *time.Duration { return &p.MaxTrackGap }, false),
		numberKey("min_confidence", func(p *Policy) *float64 { return &p.MinConfidence }, bounds{min: 0, max: 1, interval: true}),
		numberKey("end_reach_m", func(p *Policy) *float64 { return &p.EndReachM }, nonNegative),
		durationKey("allowed_lateness", func(p *Policy) *time.Duration { return &p.AllowedLateness }, false),
		durationKey("max_future", func(p *Policy) *time.Duration { return &p.MaxFuture }, false),
		{name: "weights", set: setWeights, check: checkWeights},
		scoreKey("hot_score", func(p *Policy) (*float64, *int64) { return &p.HotScore, &p.HotScoreMicro }, 1),
		countKey("join_sectors", func(p *Policy) *int { return &p.JoinSectors }, 0),
		countKey("join_gap_windows", func(p *Policy) *int { return &p.JoinGapWindows }, 0),
		scoreKey("significant_score", func(p *Policy) (*float64, *int64) { return &p.SignificantScore, &p.SignificantScoreMicro }, 0),
		numberKey("significant_depth_m", func(p *Policy) *float64 { return &p.SignificantDepthM }, nonNegative),
		numberKey("significant_strength", func(p *Policy) *float64 { return &p.SignificantStrength }, nonNegative),
		countKey("deliberate_min_ground", func(p *Policy) *int { return &p.DeliberateMinGround }, 0),
		countKey("deliberate_min_tracks", func(p *Policy) *int { return &p.DeliberateMinTracks }, 0),
		countKey("sustained_min_hot_windows", func(p *Policy) *int { return &p.SustainedMinHotWindows }, 1),
		countKey("corroboration_min_affiliations", func(p *Policy) *int { return &p.CorroborationMinAffiliations }, 1),
	}
}

func policyKeyByName(name string) *policyKey {
	for i := range policyKeys {
		if policyKeys[i].name == name {
			return &policyKeys[i]
		}
	}
	return nil
}

// PolicyKeys returns the names of the policy's keys in SPEC §7 order.
func PolicyKeys() []string {
	names := make([]string, len(policyKeys))
	for i, k := range policyKeys {
		names[i] = k.name
	}
	return names
}

// Validate checks every value of p as ParsePolicy does, and that the
// micro-unit scores agree with their floats (use SetHotScore and
// SetSignificantScore). Its errors are *PolicyError without a line.
func (p Policy) Validate() error {
	for _, k := range policyKeys {
		if msg := k.check(&p); msg != "" {
			return &PolicyError{Key: k.name, Msg: msg}
		}
	}
	if p.HotScoreMicro != RoundMicro(p.HotScore) {
		return &PolicyError{Key: "hot_score", Msg: fmt.Sprintf("HotScoreMicro %d does not match HotScore %v (set both with SetHotScore)", p.HotScoreMicro, p.HotScore)}
	}
	if p.SignificantScoreMicro != RoundMicro(p.SignificantScore) {
		return &PolicyError{Key: "significant_score", Msg: fmt.Sprintf("SignificantScoreMicro %d does not match SignificantScore %v (set both with SetSignificantScore)", p.SignificantScoreMicro, p.SignificantScore)}
	}
	return nil
}

// ---- durations ----

const durationSyntax = "a duration such as 90m, 24h or 7d"

// durationShape is the syntax ParseDuration reads: a value of that shape
// that it refuses is too long for a time.Duration.
var durationShape = regexp.MustCompile(`^[+-]?((\d+\.?\d*|\.\d+)d)?((\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h))*$`)

func durationKey(name string, field func(*Policy) *time.Duration, positive bool) policyKey {
	check := func(p *Policy) string {
		d := *field(p)
		switch {
		case positive && d <= 0:
			return "must be > 0, got " + FormatDuration(d)
		case d < 0:
			return "must be ≥ 0, got " + FormatDuration(d)
		case d%time.Microsecond != 0:
			return "must be a whole number of microseconds, got " + FormatDuration(d)
		}
		return ""
	}
	return policyKey{
		name: name,
		set: func(p *Policy, v *yaml.Node) error {
			d, ok := time.Duration(0), false
			if v.Kind == yaml.ScalarNode {
				switch v.ShortTag() {
				case "!!str", "!!int", "!!float": // a bare 0 is a duration
					d, ok = ParseDuration(v.Value)
				}
			}
			if !ok && v.Kind == yaml.ScalarNode && durationShape.MatchString(v.Value) && strings.ContainsAny(v.Value, "0123456789") {
				return &PolicyError{Line: v.Line, Key: name, Msg: "must be at most " + FormatDuration(maxDuration.Truncate(time.Duration(nsPerDay))) +
					" (about 292 years, the longest duration), got " + describeNode(v)}
			}
			if !ok {
				return &PolicyError{Line: v.Line, Key: name, Msg: "must be " + durationSyntax + ", got " + describeNode(v)}
			}
			*field(p) = d
			if msg := check(p); msg != "" {
				return &PolicyError{Line: v.Line, Key: name, Msg: msg}
			}
			return nil
		},
		check: check,
	}
}

const (
	nsPerDay    = int64(24 * time.Hour)
	maxDuration = time.Duration(math.MaxInt64)
)

// ParseDuration reads a policy duration: Go's syntax (90m, 1h30m, 1.5s,
// 500ms; see time.ParseDuration) or days, alone or leading (7d, 1.5d,
// 1d12h), with an optional sign. Fractions finer than a nanosecond are
// dropped, as time.ParseDuration drops them.
func ParseDuration(s string) (time.Duration, bool) {
	neg := false
	body := s
	if body != "" && (body[0] == '-' || body[0] == '+') {
		neg = body[0] == '-'
		body = body[1:]
	}
	if body == "" || body[0] == '-' || body[0] == '+' {
		return 0, false
	}
	i := strings.IndexByte(body, 'd')
	if i < 0 {
		d, err := time.ParseDuration(s) // with its sign: -2562047h47m16.854775808s fits
		return d, err == nil
	}
	days, rest := body[:i], body[i+1:]
	ns, ok := daysToNanos(days)
	if !ok {
		return 0, false
	}
	total := uint64(ns)
	if rest != "" {
		if rest[0] == '-' || rest[0] == '+' {
			return 0, false
		}
		r, err := time.ParseDuration(rest)
		if err != nil {
			return 0, false
		}
		total += uint64(r) // both < 2^63: no wrap
	}
	limit := uint64(math.MaxInt64)
	if neg {
		limit++ // -2^63 is a Duration
	}
	if total > limit {
		return 0, false
	}
	if neg {
		return time.Duration(-total), true
	}
	return time.Duration(total), true
}

// daysToNanos reads a decimal number of days (12, 1.5, .5, 2.) exactly and
// returns it in nanoseconds, truncated.
func daysToNanos(s string) (int64, bool) {
	intPart, frac, _ := strings.Cut(s, ".")
	if intPart == "" && frac == "" {
		return 0, false
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, false
			}
		}
	}
	if strings.Count(s, ".") > 1 || len(s) > 64 {
		return 0, false
	}
	// (intPart.frac) × nsPerDay, truncated, in big integers.
	n, _ := new(big.Int).SetString("0"+intPart+frac, 10)
	n.Mul(n, big.NewInt(nsPerDay))
	n.Quo(n, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(frac))), nil))
	if !n.IsInt64() {
		return 0, false
	}
	return n.Int64(), true
}

// FormatDuration writes a duration the way a policy does: two or more whole
// days as days (7d), otherwise hours, minutes and seconds without zero parts
// (24h, 6h, 1h30m, 36h, 1.5s, 500ms); 0 is 0s. ParseDuration reads it back.
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	var b []byte
	u := uint64(d)
	if d < 0 {
		b = append(b, '-')
		u = -u
	}
	if u%uint64(nsPerDay) == 0 && u >= 2*uint64(nsPerDay) {
		b = strconv.AppendUint(b, u/uint64(nsPerDay), 10)
		return string(append(b, 'd'))
	}
	if h := u / uint64(time.Hour); h > 0 {
		b = strconv.AppendUint(b, h, 10)
		b = append(b, 'h')
	}
	u %= uint64(time.Hour)
	if m := u / uint64(time.Minute); m > 0 {
		b = strconv.AppendUint(b, m, 10)
		b = append(b, 'm')
	}
	u %= uint64(time.Minute)
	if u > 0 {
		// Under a minute: Go writes it as 1.5s, 500ms, 1µs, 3ns.
		b = append(b, time.Duration(u).String()...)
	}
	return string(b)
}

// ---- window_origin ----

const originSyntax = "an RFC 3339 date-time with a zone (1970-01-05T00:00:00Z) or a number of seconds since the epoch"

func setOrigin(p *Policy, v *yaml.Node) error {
	var us int64
	err := errors.New("wrong type")
	if v.Kind == yaml.ScalarNode {
		switch v.ShortTag() {
		case "!!str", "!!timestamp":
			// Like a sighting's time: a leap second is the next second.
			us, err = num.ParseRFC3339(v.Value, true)
		case "!!int", "!!float":
			us, err = num.ParseEpoch(v.Value)
		}
	}
	switch {
	case errors.Is(err, num.ErrTimeRange):
		return &PolicyError{Line: v.Line, Key: "window_origin", Msg: "out of range (years 0000 to 9999), got " + describeNode(v)}
	case err != nil:
		return &PolicyError{Line: v.Line, Key: "window_origin", Msg: "must be " + originSyntax + ", got " + describeNode(v)}
	}
	p.WindowOrigin = us
	return nil
}

// ---- numbers ----

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

// nodeNumber reads a YAML int or float scalar as a float64.
func nodeNumber(v *yaml.Node) (float64, bool) {
	if v.Kind != yaml.ScalarNode {
		return 0, false
	}
	switch v.ShortTag() {
	case "!!int", "!!float":
	default:
		return 0, false
	}
	var f float64
	if err := v.Decode(&f); err != nil {
		return 0, false
	}
	return f, true
}

func numberKey(name string, field func(*Policy) *float64, b bounds) policyKey {
	return policyKey{
		name: name,
		set: func(p *Policy, v *yaml.Node) error {
			x, ok := nodeNumber(v)
			if !ok {
				return &PolicyError{Line: v.Line, Key: name, Msg: "must be " + b.want() + ", got " + describeNode(v)}
			}
			if msg := b.check(x); msg != "" {
				return &PolicyError{Line: v.Line, Key: name, Msg: msg}
			}
			*field(p) = x
			return nil
		},
		check: func(p *Policy) string { return b.check(*field(p)) },
	}
}

// scoreKey is a score threshold, kept as a float and in micro-units; its
// micro-unit value must be at least minMicro.
func scoreKey(name string, field func(*Policy) (*float64, *int64), minMicro int64) policyKey {
	b := bounds{min: 0, max: maxScore}
	if minMicro > 0 {
		b.min = num.Round(float64(minMicro)/microUnits, 6)
		b.note = " (scores are kept to 6 decimals)"
	}
	check := func(x float64) string {
		if msg := b.check(x); msg != "" {
			return msg
		}
		if RoundMicro(x) < minMicro {
			return "must be " + b.want() + ", got " + formatFloat(x)
		}
		return ""
	}
	return policyKey{
		name: name,
		set: func(p *Policy, v *yaml.Node) error {
			x, ok := nodeNumber(v)
			if !ok {
				return &PolicyError{Line: v.Line, Key: name, Msg: "must be " + b.want() + ", got " + describeNode(v)}
			}
			if msg := check(x); msg != "" {
				return &PolicyError{Line: v.Line, Key: name, Msg: msg}
			}
			f, m := field(p)
			*f, *m = x, RoundMicro(x)
			return nil
		},
		check: func(p *Policy) string {
			f, _ := field(p)
			return check(*f)
		},
	}
}

// ---- counts ----

func countKey(name string, field func(*Policy) *int, min int) policyKey {
	want := fmt.Sprintf("an integer ≥ %d", min)
	check := func(n int64) string {
		switch {
		case n < int64(min):
			return fmt.Sprintf("must be %s, got %d", want, n)
		case n > maxCount:
			return fmt.Sprintf("must be at most %d, got %d", int64(maxCount), n)
		}
		return ""
	}
	return policyKey{
		name: name,
		set: func(p *Policy, v *yaml.Node) error {
			n, ok := nodeInteger(v)
			if !ok {
				return &PolicyError{Line: v.Line, Key: name, Msg: "must be " + want + ", got " + describeNode(v)}
			}
			if msg := check(n); msg != "" {
				return &PolicyError{Line: v.Line, Key: name, Msg: msg}
			}
			*field(p) = int(n)
			return nil
		},
		check: func(p *Policy) string { return check(int64(*field(p))) },
	}
}

// nodeInteger reads a YAML int, or a float with an integer value (3.0),
// as an int64.
func nodeInteger(v *yaml.Node) (int64, bool) {
	if v.Kind != yaml.ScalarNode {
		return 0, false
	}
	switch v.ShortTag() {
	case "!!int":
		var n int64
		if err := v.Decode(&n); err != nil {
			return 0, false
		}
		return n, true
	case "!!float":
		f, ok := nodeNumber(v)
		if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return 0, false
		}
		return int64(f), true
	}
	return 0, false
}

// ---- weights ----

var weightBounds = bounds{min: 0, max: maxWeight}

func setWeights(p *Policy, v *yaml.Node) error {
	if v.Kind != yaml.MappingNode {
		return &PolicyError{Line: v.Line, Key: "weights",
			Msg: "must be a mapping of violation type to weight, such as {crossing: 3, fire: 1}, got " + describeNode(v)}
	}
	seen := make(map[string]int, 4)
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, w := v.Content[i], deref(v.Content[i+1])
		typ, err := keyName(k, seen, "weights")
		if err != nil {
			return err
		}
		field := p.Weights.field(typ)
		if field == nil {
			return &PolicyError{Line: deref(k).Line, Key: "weights",
				Msg: fmt.Sprintf("unknown violation type %s (the types are %s)", quoteShort(typ), strings.Join(WeightTypes, ", "))}
		}
		if w.ShortTag() == "!!null" {
			continue
		}
		key := "weights." + typ
		x, ok := nodeNumber(w)
		if !ok {
			return &PolicyError{Line: w.Line, Key: key, Msg: "must be " + weightBounds.want() + ", got " + describeNode(w)}
		}
		if msg := weightBounds.check(x); msg != "" {
			return &PolicyError{Line: w.Line, Key: key, Msg: msg}
		}
		*field = x
	}
	return nil
}

func checkWeights(p *Policy) string {
	for _, typ := range WeightTypes {
		x, _ := p.Weights.Get(typ)
		if msg := weightBounds.check(x); msg != "" {
			return typ + ": " + msg
		}
	}
	return ""
}

// ---- suggestions ----

// suggestKey returns the known key closest to an unknown one, or "".
func suggestKey(name string) string {
	norm := strings.NewReplacer("-", "_", " ", "_").Replace(strings.ToLower(name))
	best, bestDist := "", 3
	for _, k := range policyKeys {
		if k.name == norm {
			return k.name
		}
		if d := editDistance(norm, k.name, bestDist); d < bestDist {
			best, bestDist = k.name, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or limit when it is
// at least limit.
func editDistance(a, b string, limit int) int {
	if len(a) > 64 || len(b) > 64 {
		return limit
	}
	if d := len(a) - len(b); d >= limit || -d >= limit {
		return limit
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			c = min(c, prev[j]+1, cur[j-1]+1)
			cur[j] = c
		}
		prev, cur = cur, prev
	}
	return min(prev[len(b)], limit)
}

// ---- the effective policy ----

// MarshalJSON writes the effective policy, keys in SPEC §7 order, in the
// policy's own notation: durations as a policy writes them (24h, 7d, 1h30m),
// window_origin as RFC 3339 UTC, scores and weights at the 6 decimals they
// are used with. The output is itself a policy that ParsePolicy reads
// back to the same values (JSON is YAML).
func (p Policy) MarshalJSON() ([]byte, error) {
	b := make([]byte, 0, 640)
	b = append(b, '{')
	for i, e := range p.entries() {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, e.key)
		b = append(b, ':')
		b = appendJSONValue(b, e.val)
	}
	return append(b, '}'), nil
}

// Map returns the effective policy as MarshalJSON writes it, for reports:
// durations and window_origin as strings, numbers as float64 or int,
// weights as a map[string]any.
func (p Policy) Map() map[string]any {
	m := make(map[string]any, len(policyKeys))
	for _, e := range p.entries() {
		m[e.key] = plainValue(e.val)
	}
	return m
}

type policyEntry struct {
	key string
	val any // string, float64, int, micro, or []policyEntry
}

// micro is a micro-unit value, written as its exact decimal.
type micro int64

func (p Policy) entries() []policyEntry {
	return []policyEntry{
		{"window", FormatDuration(p.Window)},
		{"window_origin", num.FormatTime(p.WindowOrigin)},
		{"sector_km", p.SectorKm},
		{"buffer_m", p.BufferM},
		{"max_track_gap", FormatDuration(p.MaxTrackGap)},
		{"min_confidence", p.MinConfidence},
		{"end_reach_m", p.EndReachM},
		{"allowed_lateness", FormatDuration(p.AllowedLateness)},
		{"max_future", FormatDuration(p.MaxFuture)},
		{"weights", []policyEntry{
			{"crossing", micro(RoundMicro(p.Weights.Crossing))},
			{"incursion", micro(RoundMicro(p.Weights.Incursion))},
			{"fire", micro(RoundMicro(p.Weights.Fire))},
			{"buffer", micro(RoundMicro(p.Weights.Buffer))},
		}},
		{"hot_score", micro(p.HotScoreMicro)},
		{"join_sectors", p.JoinSectors},
		{"join_gap_windows", p.JoinGapWindows},
		{"significant_score", micro(p.SignificantScoreMicro)},
		{"significant_depth_m", p.SignificantDepthM},
		{"significant_strength", p.SignificantStrength},
		{"deliberate_min_ground", p.DeliberateMinGround},
		{"deliberate_min_tracks", p.DeliberateMinTracks},
		{"sustained_min_hot_windows", p.SustainedMinHotWindows},
		{"corroboration_min_affiliations", p.CorroborationMinAffiliations},
	}
}

func appendJSONValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return strconv.AppendQuote(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case micro:
		return num.AppendMicro(b, int64(v))
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return append(b, "null"...) // only in a Policy that fails Validate
		}
		return strconv.AppendFloat(b, v, 'f', -1, 64)
	case []policyEntry:
		b = append(b, '{')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, e.key)
			b = append(b, ':')
			b = appendJSONValue(b, e.val)
		}
		return append(b, '}')
	}
	panic(fmt.Sprintf("detect: policy value of type %T", v))
}

func plainValue(v any) any {
	switch v := v.(type) {
	case micro:
		return MicroFloat(int64(v))
	case []policyEntry:
		m := make(map[string]any, len(v))
		for _, e := range v {
			m[e.key] = plainValue(e.val)
		}
		return m
	}
	return v
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
