package geo

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Feature is one feature of a line file, as line selection and loading
// see it: a member of a GeoJSON FeatureCollection, or a row of a
// GeoPackage layer with its geometry written as GeoJSON.
type Feature struct {
	// Index is the feature's 0-based place in its file or layer.
	Index int
	// ID is the feature's id as text, "" for none: a GeoJSON Feature's
	// "id" (a string, or a number as written), a GeoPackage row's fid.
	ID string
	// Geometry is the GeoJSON geometry; nil or null for none.
	Geometry json.RawMessage
	// Properties is the GeoJSON properties object; nil or null for none.
	Properties json.RawMessage
}

// Selection picks, of a line file's features, those that make the line,
// as ogr2ogr -where and -fid pick features: real line files hold pieces
// of a front beside their union, polygons of occupied areas, several
// dates. The zero Selection keeps every feature.
type Selection struct {
	// Where are conditions on properties that must all hold (AND).
	Where []Condition
	// Features are indexes or ids (see ParseFeatureRef); when given, a
	// feature must be one of them.
	Features []FeatureRef
}

// IsZero tells whether s keeps every feature.
func (s Selection) IsZero() bool { return len(s.Where) == 0 && len(s.Features) == 0 }

// String is the selection as command-line flags.
func (s Selection) String() string {
	var parts []string
	for _, c := range s.Where {
		parts = append(parts, "--line-where "+c.String())
	}
	for _, r := range s.Features {
		parts = append(parts, "--line-feature "+r.text)
	}
	return strings.Join(parts, " ")
}

// Condition is KEY=VALUE: the feature's property KEY equals VALUE. A
// string property equals VALUE as written; a number equals VALUE read as
// a number (1 and 1.0 are equal); true, false and null equal those words,
// and null also the empty VALUE.
type Condition struct{ Key, Value string }

func (c Condition) String() string { return c.Key + "=" + c.Value }

// ParseCondition reads KEY=VALUE.
func ParseCondition(s string) (Condition, error) {
	k, v, ok := strings.Cut(s, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return Condition{}, fmt.Errorf("--line-where %q: want KEY=VALUE, a property and its value (e.g. layer=front_line)", s)
	}
	return Condition{Key: k, Value: v}, nil
}

// FeatureRef names a feature: by its 0-based index ("3", "index:3") or
// its id ("id:front", or the bare id when it is not a number).
type FeatureRef struct {
	text  string
	index int // -1: not an index
	id    string
	only  byte // 'i': index only, 'd': id only, 0: either
}

// ParseFeatureRef reads INDEX, ID, index:N or id:ID.
func ParseFeatureRef(s string) (FeatureRef, error) {
	r := FeatureRef{text: s, index: -1, id: s}
	switch {
	case strings.HasPrefix(s, "index:"):
		r.only, s = 'i', strings.TrimPrefix(s, "index:")
	case strings.HasPrefix(s, "id:"):
		r.only, r.id = 'd', strings.TrimPrefix(s, "id:")
		if r.id == "" {
			return r, errors.New("--line-feature id: an empty id")
		}
		return r, nil
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		r.index = n
	} else if r.only == 'i' {
		return r, fmt.Errorf("--line-feature %q: an index is a number from 0", r.text)
	}
	if s == "" {
		return r, errors.New("--line-feature: an empty index or id")
	}
	return r, nil
}

// LoadFeatures builds and validates the line of the features that
// opt.Select picks, in their order. When the features cannot make one
// line, the error lists them (index, id, geometry, a few properties),
// for the user to see which to pick.
func LoadFeatures(fs []Feature, opt Options) (*Line, error) {
	if len(fs) == 0 {
		return nil, errors.New("the FeatureCollection has no features")
	}
	props := make([]orderedProps, len(fs))
	for i := range fs {
		p, err := decodeProps(fs[i].Properties)
		if err != nil {
			return nil, fmt.Errorf("feature %d: properties: %v", fs[i].Index, err)
		}
		props[i] = p
	}
	picked, err := opt.Select.pick(fs, props)
	if err != nil {
		return nil, fmt.Errorf("%w; %s", err, listFeatures(fs, props, nil, nil))
	}
	if opt.Select.IsZero() {
		picked = onlyLines(fs, picked)
	}
	var stretches []Stretch
	from := make([]int, len(fs)) // first stretch of each feature laid out; -1 none
	for i := range from {
		from[i] = -1
	}
	fail := func(err error) error {
		if len(fs) == 1 {
			return err
		}
		var sel []int
		if !opt.Select.IsZero() {
			sel = picked
		}
		return fmt.Errorf("%w; %s", err, listFeatures(fs, props, sel, from))
	}
	for _, i := range picked {
		f := &fs[i]
		s, err := featureStretches(rawObject{Geometry: f.Geometry, Properties: f.Properties}, opt)
		if err != nil {
			return nil, fail(fmt.Errorf("feature %d: %w", f.Index, err))
		}
		from[i] = len(stretches)
		stretches = append(stretches, s...)
	}
	if err := validate(stretches); err != nil {
		return nil, fail(err)
	}
	return build(stretches, opt), nil
}

// onlyLines leaves out, of the picked features, those whose geometry is a
// Polygon, a Point or any other that is not a line, when at least one is
// a line: a line file often holds the areas either side of the line
// beside it, and only lines are stretches of it (SPEC §1). With no line
// among them, all stay, for the error to name what they are.
func onlyLines(fs []Feature, picked []int) []int {
	var lines []int
	for _, i := range picked {
		var g struct{ Type string }
		if json.Unmarshal(fs[i].Geometry, &g) != nil {
			return picked // an error to report as it is
		}
		switch g.Type {
		case "LineString", "MultiLineString":
			lines = append(lines, i)
		case "":
			return picked // no geometry: an error
		}
	}
	if len(lines) == 0 {
		return picked
	}
	return lines
}

// collectionFeatures reads the members of a FeatureCollection.
func collectionFeatures(raw []json.RawMessage) ([]Feature, error) {
	fs := make([]Feature, len(raw))
	for i, r := range raw {
		var f rawObject
		if err := json.Unmarshal(r, &f); err != nil {
			return nil, fmt.Errorf("feature %d: %v", i, err)
		}
		if f.Type != "Feature" {
			return nil, fmt.Errorf("feature %d: type is %q, not Feature", i, f.Type)
		}
		fs[i] = featureOf(i, f)
	}
	return fs, nil
}

func featureOf(i int, f rawObject) Feature {
	id := string(bytes.TrimSpace(f.ID))
	if id == "null" {
		id = ""
	} else if s, err := strconv.Unquote(id); err == nil {
		id = s
	} else if len(id) > 0 && id[0] == '"' {
		var s string
		if json.Unmarshal(f.ID, &s) == nil {
			id = s
		}
	}
	return Feature{Index: i, ID: id, Geometry: f.Geometry, Properties: f.Properties}
}

// orderedProps are a feature's properties in the order written.
type orderedProps struct {
	keys []string
	vals map[string]json.RawMessage
}

func decodeProps(raw json.RawMessage) (orderedProps, error) {
	p := orderedProps{vals: map[string]json.RawMessage{}}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return p, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return p, errors.New("not an object")
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return p, err
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return p, err
		}
		if _, seen := p.vals[k]; !seen {
			p.keys = append(p.keys, k)
		}
		p.vals[k] = v
	}
	return p, nil
}

// matches tells whether a property value equals want (see Condition).
func matches(v json.RawMessage, want string) bool {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return false
	}
	switch v[0] {
	case '"':
		var s string
		return json.Unmarshal(v, &s) == nil && s == want
	case 'n':
		return want == "" || want == "null"
	case 't', 'f':
		return string(v) == want
	case '{', '[':
		return string(v) == want
	}
	a, err1 := strconv.ParseFloat(string(v), 64)
	b, err2 := strconv.ParseFloat(strings.TrimSpace(want), 64)
	return err1 == nil && err2 == nil && a == b
}

// pick returns the indexes into fs of the features s keeps.
func (s Selection) pick(fs []Feature, props []orderedProps) ([]int, error) {
	for _, c := range s.Where {
		found := false
		for i := range props {
			if _, ok := props[i].vals[c.Key]; ok {
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("--line-where %s: no feature has a property %q (properties: %s)", c, c.Key, strings.Join(allKeys(props), ", "))
		}
	}
	var only map[int]bool
	if len(s.Features) > 0 {
		only = map[int]bool{}
		for _, r := range s.Features {
			var byID, byIndex []int
			for i := range fs {
				if r.only != 'i' && fs[i].ID != "" && fs[i].ID == r.id {
					byID = append(byID, i)
				}
				if r.only != 'd' && r.index >= 0 && fs[i].Index == r.index {
					byIndex = append(byIndex, i)
				}
			}
			switch {
			case len(byID) > 0 && len(byIndex) > 0 && (len(byID) > 1 || byID[0] != byIndex[0]):
				return nil, fmt.Errorf("--line-feature %s: feature %d has that index and feature %d that id: write --line-feature index:%d or --line-feature id:%s",
					r.text, fs[byIndex[0]].Index, fs[byID[0]].Index, r.index, r.id)
			case len(byID) > 0:
				for _, i := range byID {
					only[i] = true
				}
			case len(byIndex) > 0:
				only[byIndex[0]] = true
			default:
				return nil, fmt.Errorf("--line-feature %s: no feature has that index or id (indexes 0–%d)", r.text, len(fs)-1)
			}
		}
	}
	var out []int
	for i := range fs {
		if only != nil && !only[i] {
			continue
		}
		ok := true
		for _, c := range s.Where {
			if v, has := props[i].vals[c.Key]; !has || !matches(v, c.Value) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, i)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s picks no feature", s)
	}
	return out, nil
}

func allKeys(props []orderedProps) []string {
	seen := map[string]bool{}
	var keys []string
	for _, p := range props {
		for _, k := range p.keys {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// Listing limits: features listed, properties shown of each, and the
// longest value shown.
const (
	listMax      = 12
	listProps    = 4
	listValueLen = 40
)

// listFeatures describes the features on one line: index, id, geometry
// type, the stretches they were laid out as (from[i]: the first, -1
// none; from nil: none were), and a few properties, those whose values
// tell the features apart first. picked are those a selection picked,
// nil without one.
func listFeatures(fs []Feature, props []orderedProps, picked []int, from []int) string {
	// Keys whose values differ between features (or that some lack), in
	// the order first written; then name, left and right.
	var differ []string
	for _, k := range allKeys(props) {
		first, same := props[0].vals[k], true
		for i := range props {
			if v, ok := props[i].vals[k]; !ok || !bytes.Equal(bytes.TrimSpace(v), bytes.TrimSpace(first)) {
				same = false
				break
			}
		}
		if !same {
			differ = append(differ, k)
		}
	}
	for _, k := range []string{"name", "left", "right"} {
		if !contains(differ, k) {
			differ = append(differ, k)
		}
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "the file holds %d features", len(fs))
	if picked != nil {
		fmt.Fprintf(&sb, ", %d of them picked", len(picked))
	}
	sb.WriteString(" (pick the line with --line-feature INDEX|ID or --line-where KEY=VALUE): ")
	for i := range fs {
		n := i
		if n == listMax {
			fmt.Fprintf(&sb, "; … and %d more", len(fs)-listMax)
			break
		}
		f := &fs[i]
		if n > 0 {
			sb.WriteString("; ")
		}
		fmt.Fprintf(&sb, "%d", f.Index)
		if f.ID != "" {
			fmt.Fprintf(&sb, " (id %s)", clip(f.ID))
		}
		fmt.Fprintf(&sb, ": %s", geometryType(f.Geometry))
		if from != nil && from[i] >= 0 {
			nst := stretchCount(f.Geometry)
			switch {
			case nst == 1:
				fmt.Fprintf(&sb, ", stretch %d", from[i])
			case nst > 1:
				fmt.Fprintf(&sb, ", stretches %d–%d", from[i], from[i]+nst-1)
			}
		}
		var shown []string
		for _, k := range differ {
			if len(shown) == listProps {
				break
			}
			v, ok := props[i].vals[k]
			if !ok {
				continue
			}
			text := valueText(v)
			if len([]rune(text)) > listValueLen {
				continue
			}
			shown = append(shown, k+"="+text)
		}
		if len(shown) > 0 {
			fmt.Fprintf(&sb, " (%s)", strings.Join(shown, ", "))
		}
	}
	return sb.String()
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func clip(s string) string {
	if r := []rune(s); len(r) > listValueLen {
		return string(r[:listValueLen]) + "…"
	}
	return s
}

// valueText is a property value as a --line-where VALUE would match it.
func valueText(v json.RawMessage) string {
	v = bytes.TrimSpace(v)
	var s string
	if len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

// geometryType is the type of a GeoJSON geometry ("no geometry" for none).
func geometryType(raw json.RawMessage) string {
	var g struct {
		Type string `json:"type"`
	}
	if t := bytes.TrimSpace(raw); len(t) == 0 || string(t) == "null" {
		return "no geometry"
	}
	if json.Unmarshal(raw, &g) != nil || g.Type == "" {
		return "a geometry without a type"
	}
	return g.Type
}

// stretchCount is how many stretches a line geometry makes.
func stretchCount(raw json.RawMessage) int {
	var g struct {
		Type        string            `json:"type"`
		Coordinates []json.RawMessage `json:"coordinates"`
	}
	if json.Unmarshal(raw, &g) != nil {
		return 0
	}
	switch g.Type {
	case "LineString":
		return 1
	case "MultiLineString":
		return len(g.Coordinates)
	}
	return 0
}

// CRSError is a GeoJSON whose crs member names a reference system other
// than WGS 84 longitude/latitude (CRS84, EPSG:4326), which RFC 7946 and
// linewatch take: its coordinates would be read as degrees they are not.
type CRSError struct {
	CRS  string // as the file names it
	Path string // the file, when known
}

func (e *CRSError) Error() string {
	in, out := "IN.geojson", "OUT.geojson"
	if e.Path != "" {
		in = e.Path
		out = strings.TrimSuffix(filepath.Base(e.Path), filepath.Ext(e.Path)) + "-wgs84.geojson"
	}
	return fmt.Sprintf("the GeoJSON's coordinates are in %s, not WGS 84 longitude/latitude (RFC 7946): reproject the file with ogr2ogr -t_srs EPSG:4326 %s %s", e.CRS, out, in)
}

// CheckCRS checks a GeoJSON object's crs member (the 2008 GeoJSON form;
// RFC 7946 dropped it): absent, null, CRS84 and EPSG:4326 are WGS 84
// longitude/latitude; anything else is a *CRSError.
func CheckCRS(crs json.RawMessage) error {
	crs = bytes.TrimSpace(crs)
	if len(crs) == 0 || string(crs) == "null" {
		return nil
	}
	var c struct {
		Type       string `json:"type"`
		Properties struct {
			Name string          `json:"name"`
			Code json.RawMessage `json:"code"`
			Href string          `json:"href"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(crs, &c); err != nil {
		return &CRSError{CRS: "an unreadable crs member " + clip(string(crs))}
	}
	name := c.Properties.Name
	switch strings.ToLower(c.Type) {
	case "epsg":
		name = "EPSG:" + valueText(c.Properties.Code)
	case "link":
		name = c.Properties.Href
	}
	if isWGS84(name) {
		return nil
	}
	if name == "" {
		name = "a crs member " + clip(string(crs))
	}
	return &CRSError{CRS: name}
}

// isWGS84 tells whether a CRS name is WGS 84 longitude/latitude:
// urn:ogc:def:crs:OGC:1.3:CRS84, OGC:CRS84, EPSG:4326,
// urn:ogc:def:crs:EPSG::4326, http://www.opengis.net/def/crs/EPSG/0/4326
// and the like.
func isWGS84(name string) bool {
	n := strings.ToLower(strings.TrimSpace(name))
	if strings.HasSuffix(n, "crs84") {
		return true
	}
	if !strings.Contains(n, "epsg") {
		return false
	}
	i := strings.LastIndexAny(n, ":/")
	return i >= 0 && n[i+1:] == "4326"
}
