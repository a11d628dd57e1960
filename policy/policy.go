// Package policy reads linewatch's policy files (SPEC §7, §9): YAML text
// in which every key is optional, read into a detect.Policy that passes
// its Validate, with errors that name the file, the line and
// the key ("did you mean …?" for a misspelt one). It also writes a policy
// back in its own notation, for reports and for the identity of a
// streaming state (JSON, Map).
//
//	pol, err := policy.Load("policy.yaml")
package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/internal/num"
)

// Error is an error in a policy file: its file (set by Load), the
// line of the YAML text (0 when unknown), the key it concerns ("window",
// "weights.fire"; "" for the document as a whole or an unknown key) and
// what is wrong.
type Error struct {
	File string
	Line int
	Key  string
	Msg  string
}

func (e *Error) Error() string {
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

// Load reads a policy file (see Parse). Its errors name the file.
func Load(path string) (detect.Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return detect.Policy{}, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPolicyBytes+1))
	if err != nil {
		return detect.Policy{}, fmt.Errorf("policy: %w", err)
	}
	p, err := Parse(data)
	var pe *Error
	if errors.As(err, &pe) {
		pe.File = path
	}
	return p, err
}

// Parse reads a policy from YAML text (SPEC §7, §9). Every key is
// optional and takes its default from detect.DefaultPolicy; an empty document, or
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
// *Error that names the key and the line, as in
//
//	policy line 3: window: must be > 0, got 0s
//	policy line 2: unknown key "windw" (did you mean "window"?)
func Parse(data []byte) (detect.Policy, error) {
	p, err := parse(data)
	if err != nil {
		return detect.Policy{}, err
	}
	return p, nil
}

func parse(data []byte) (detect.Policy, error) {
	p := detect.DefaultPolicy()
	if len(data) > maxPolicyBytes {
		return p, &Error{Msg: fmt.Sprintf("larger than %d bytes", maxPolicyBytes)}
	}
	root, err := decodeOneDocument(data)
	if err != nil || root == nil {
		return p, err
	}
	if root.ShortTag() == "!!null" {
		return p, nil
	}
	if root.Kind != yaml.MappingNode {
		return p, &Error{Line: root.Line,
			Msg: "must be a mapping of keys to values, got " + describeNode(root)}
	}
	seen := make(map[string]int, len(root.Content)/2)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], deref(root.Content[i+1])
		name, err := keyName(k, seen, "")
		if err != nil {
			return p, err
		}
		set, rule := setterOf(name)
		if set == nil {
			msg := "unknown key " + quoteShort(name)
			if s := suggestKey(name); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return p, &Error{Line: k.Line, Msg: msg}
		}
		if v.ShortTag() == "!!null" {
			continue // null means absent: the default stays
		}
		if err := set(&p, v, rule); err != nil {
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
			root, err = nil, &Error{Msg: fmt.Sprintf("unreadable YAML (%v)", r)}
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
		return nil, &Error{Line: next.Line, Msg: "more than one YAML document (a policy is one mapping)"}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, nil
	}
	return deref(doc.Content[0]), nil
}

// yamlError turns the YAML library's "yaml: line N: msg" into a Error.
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
	return &Error{Line: line, Msg: "invalid YAML: " + msg}
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
		return "", &Error{Line: k.Line, Key: parent, Msg: "a key must be a name, got " + describeNode(k)}
	}
	if k.ShortTag() == "!!merge" {
		return "", &Error{Line: k.Line, Key: parent, Msg: `merge keys ("<<") are not supported`}
	}
	name := k.Value
	if first, dup := seen[name]; dup {
		return "", &Error{Line: k.Line, Key: parent,
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

// setter reads a key's value node into p, checking it by the key's rule.
type setter func(p *detect.Policy, v *yaml.Node, r detect.PolicyRule) error

// setters says how each key of detect.PolicyRules is read.
var setters = map[string]setter{
	"window":                         durationKey(func(p *detect.Policy) *time.Duration { return &p.Window }),
	"window_origin":                  setOrigin,
	"sector_km":                      numberKey(func(p *detect.Policy) *float64 { return &p.SectorKm }),
	"buffer_m":                       numberKey(func(p *detect.Policy) *float64 { return &p.BufferM }),
	"max_track_gap":                  durationKey(func(p *detect.Policy) *time.Duration { return &p.MaxTrackGap }),
	"min_confidence":                 numberKey(func(p *detect.Policy) *float64 { return &p.MinConfidence }),
	"end_reach_m":                    numberKey(func(p *detect.Policy) *float64 { return &p.EndReachM }),
	"allowed_lateness":               durationKey(func(p *detect.Policy) *time.Duration { return &p.AllowedLateness }),
	"max_future":                     durationKey(func(p *detect.Policy) *time.Duration { return &p.MaxFuture }),
	"weights":                        setWeights,
	"hot_score":                      scoreKey(func(p *detect.Policy) *int64 { return &p.HotScoreMicro }),
	"join_sectors":                   countKey(func(p *detect.Policy) *int { return &p.JoinSectors }),
	"join_gap_windows":               countKey(func(p *detect.Policy) *int { return &p.JoinGapWindows }),
	"significant_score":              scoreKey(func(p *detect.Policy) *int64 { return &p.SignificantScoreMicro }),
	"significant_depth_m":            numberKey(func(p *detect.Policy) *float64 { return &p.SignificantDepthM }),
	"significant_strength":           numberKey(func(p *detect.Policy) *float64 { return &p.SignificantStrength }),
	"deliberate_min_ground":          countKey(func(p *detect.Policy) *int { return &p.DeliberateMinGround }),
	"deliberate_min_tracks":          countKey(func(p *detect.Policy) *int { return &p.DeliberateMinTracks }),
	"sustained_min_hot_windows":      countKey(func(p *detect.Policy) *int { return &p.SustainedMinHotWindows }),
	"corroboration_min_affiliations": countKey(func(p *detect.Policy) *int { return &p.CorroborationMinAffiliations }),
}

// setterOf returns how to read the key name and its rule; nil for a key
// that is not one of the policy's.
func setterOf(name string) (setter, detect.PolicyRule) {
	for _, r := range detect.PolicyRules() {
		if r.Key == name {
			return setters[name], r
		}
	}
	return nil, detect.PolicyRule{}
}

// Keys returns the names of the policy's keys in SPEC §7 order.
func Keys() []string {
	var names []string
	for _, r := range detect.PolicyRules() {
		names = append(names, r.Key)
	}
	return names
}

// check is the rule's verdict on p's value, as an *Error at the node.
func check(p *detect.Policy, v *yaml.Node, r detect.PolicyRule) error {
	if msg := r.Check(p); msg != "" {
		return &Error{Line: v.Line, Key: r.Key, Msg: msg}
	}
	return nil
}

// ---- durations ----

const durationSyntax = "a duration such as 90m, 24h or 7d"

// durationShape is the syntax ParseDuration reads: a value of that shape
// that it refuses is too long for a time.Duration.
var durationShape = regexp.MustCompile(`^[+-]?((\d+\.?\d*|\.\d+)d)?((\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h))*$`)

func durationKey(field func(*detect.Policy) *time.Duration) setter {
	return func(p *detect.Policy, v *yaml.Node, r detect.PolicyRule) error {
		d, ok := time.Duration(0), false
		if v.Kind == yaml.ScalarNode {
			switch v.ShortTag() {
			case "!!str", "!!int", "!!float": // a bare 0 is a duration
				d, ok = num.ParseDuration(v.Value)
			}
		}
		if !ok && v.Kind == yaml.ScalarNode && durationShape.MatchString(v.Value) && strings.ContainsAny(v.Value, "0123456789") {
			return &Error{Line: v.Line, Key: r.Key, Msg: "must be at most " + num.FormatDuration(time.Duration(math.MaxInt64).Truncate(24*time.Hour)) +
				" (about 292 years, the longest duration), got " + describeNode(v)}
		}
		if !ok {
			return &Error{Line: v.Line, Key: r.Key, Msg: "must be " + durationSyntax + ", got " + describeNode(v)}
		}
		*field(p) = d
		return check(p, v, r)
	}
}

// ---- window_origin ----

const originSyntax = "an RFC 3339 date-time with a zone (1970-01-05T00:00:00Z) or a number of seconds since the epoch"

func setOrigin(p *detect.Policy, v *yaml.Node, _ detect.PolicyRule) error {
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
		return &Error{Line: v.Line, Key: "window_origin", Msg: "out of range (years 0000 to 9999), got " + describeNode(v)}
	case err != nil:
		return &Error{Line: v.Line, Key: "window_origin", Msg: "must be " + originSyntax + ", got " + describeNode(v)}
	}
	p.WindowOrigin = us
	return nil
}

// ---- numbers ----

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

func numberKey(field func(*detect.Policy) *float64) setter {
	return func(p *detect.Policy, v *yaml.Node, r detect.PolicyRule) error {
		x, err := ruleNumber(v, r)
		if err == nil {
			*field(p) = x
		}
		return err
	}
}

// scoreKey is a score threshold, stored in micro-units.
func scoreKey(field func(*detect.Policy) *int64) setter {
	return func(p *detect.Policy, v *yaml.Node, r detect.PolicyRule) error {
		x, err := ruleNumber(v, r)
		if err == nil {
			*field(p) = detect.RoundMicro(x)
		}
		return err
	}
}

// ruleNumber reads the number of a node, checked by the key's rule.
func ruleNumber(v *yaml.Node, r detect.PolicyRule) (float64, error) {
	x, ok := nodeNumber(v)
	if !ok {
		return 0, &Error{Line: v.Line, Key: r.Key, Msg: "must be " + r.Want + ", got " + describeNode(v)}
	}
	if msg := r.Number(x); msg != "" {
		return 0, &Error{Line: v.Line, Key: r.Key, Msg: msg}
	}
	return x, nil
}

// ---- counts ----

func countKey(field func(*detect.Policy) *int) setter {
	return func(p *detect.Policy, v *yaml.Node, r detect.PolicyRule) error {
		n, ok := nodeInteger(v)
		if !ok {
			return &Error{Line: v.Line, Key: r.Key, Msg: "must be " + r.Want + ", got " + describeNode(v)}
		}
		*field(p) = int(n)
		return check(p, v, r)
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

func setWeights(p *detect.Policy, v *yaml.Node, _ detect.PolicyRule) error {
	if v.Kind != yaml.MappingNode {
		return &Error{Line: v.Line, Key: "weights",
			Msg: "must be a mapping of violation type to weight, such as {crossing: 3, fire: 1}, got " + describeNode(v)}
	}
	seen := make(map[string]int, 4)
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, w := v.Content[i], deref(v.Content[i+1])
		typ, err := keyName(k, seen, "weights")
		if err != nil {
			return err
		}
		if _, ok := p.Weights.Get(typ); !ok {
			return &Error{Line: deref(k).Line, Key: "weights",
				Msg: fmt.Sprintf("unknown violation type %s (the types are %s)", quoteShort(typ), strings.Join(detect.WeightTypes, ", "))}
		}
		if w.ShortTag() == "!!null" {
			continue
		}
		key := "weights." + typ
		x, ok := nodeNumber(w)
		if !ok {
			return &Error{Line: w.Line, Key: key, Msg: "must be " + detect.WeightRule.Want + ", got " + describeNode(w)}
		}
		if msg := detect.WeightRule.Number(x); msg != "" {
			return &Error{Line: w.Line, Key: key, Msg: msg}
		}
		p.Weights.Set(typ, x)
	}
	return nil
}

// ---- suggestions ----

// suggestKey returns the known key closest to an unknown one, or "".
func suggestKey(name string) string {
	norm := strings.NewReplacer("-", "_", " ", "_").Replace(strings.ToLower(name))
	best, bestDist := "", 3
	for _, k := range Keys() {
		if k == norm {
			return k
		}
		if d := editDistance(norm, k, bestDist); d < bestDist {
			best, bestDist = k, d
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
