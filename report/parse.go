package report

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/internal/num"
	"github.com/linewatch/linewatch/output"
)

// feature is a GeoJSON Feature of detect's output, read loosely.
type feature struct {
	Type     string `json:"type"`
	Geometry *struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	} `json:"geometry"`
	Properties map[string]json.RawMessage `json:"properties"`
}

// Parse reads what detect (or stream) wrote — a GeoJSON FeatureCollection,
// or one Feature per line — back into the report's data: episode Features
// (those with criteria) and violation Features (isolated, and evidence if
// the run wrote it). Streaming alerts are taken at their latest state: the
// last alert of each episode id, less the ids another alert replaced.
//
// The line and policy must be those of the run: every sector must be one of
// the line's, and the episodes' thresholds and windows those of the
// policy; an error says which Feature disagrees.
func Parse(data []byte, line *geo.Line, pol detect.Policy) (*Data, error) {
	feats, err := splitFeatures(data)
	if err != nil {
		return nil, err
	}
	d := &Data{Line: line, Policy: pol, FromFile: true}
	sectors := map[string]geo.Sector{}
	for _, s := range line.Sectors() {
		sectors[s.ID] = s
	}
	byID := map[string]int{} // episode id → index in d.Episodes
	replaced := map[string]bool{}
	for i, raw := range feats {
		var f feature
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, fmt.Errorf("feature %d: %w", i+1, err)
		}
		if f.Type != "Feature" {
			return nil, fmt.Errorf("feature %d: a %q, not a Feature", i+1, f.Type)
		}
		p := f.Properties
		switch {
		case p["criteria"] != nil:
			e, err := parseEpisode(&f, sectors, pol)
			if err != nil {
				return nil, fmt.Errorf("feature %d (episode %s): %w", i+1, e.ID, err)
			}
			var reps []string
			if p["replaces"] != nil {
				if err := json.Unmarshal(p["replaces"], &reps); err != nil {
					return nil, fmt.Errorf("feature %d (episode %s): replaces: %w", i+1, e.ID, err)
				}
			}
			for _, r := range reps {
				replaced[r] = true
			}
			if k, ok := byID[e.ID]; ok {
				d.Episodes[k] = e // a later alert of the same episode
			} else {
				byID[e.ID] = len(d.Episodes)
				d.Episodes = append(d.Episodes, e)
			}
		case p["episode"] != nil && p["type"] != nil:
			v, err := parseViolation(&f, sectors)
			if err != nil {
				return nil, fmt.Errorf("feature %d (violation %s): %w", i+1, v.ID, err)
			}
			d.Violations = append(d.Violations, v)
		}
	}
	if len(d.Episodes) == 0 && len(d.Violations) == 0 {
		return nil, fmt.Errorf("no episode or violation Features: is this what linewatch detect writes?")
	}
	if len(replaced) > 0 {
		d.Episodes = slices.DeleteFunc(d.Episodes, func(e Episode) bool { return replaced[e.ID] })
	}
	slices.SortStableFunc(d.Episodes, func(a, b Episode) int {
		return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(sectors[a.Sectors[0]].Index, sectors[b.Sectors[0]].Index),
			strings.Compare(a.Party, b.Party), strings.Compare(a.ID, b.ID))
	})
	sortViolations(d.Violations)
	return d, nil
}

// splitFeatures returns the Features of a FeatureCollection, or the
// non-blank lines of a sequence (RS bytes and CRs removed).
func splitFeatures(data []byte) ([]json.RawMessage, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimLeft(data, " \t\r\n\x1e")
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("the file is empty")
	}
	var fc struct {
		Type     string            `json:"type"`
		Features []json.RawMessage `json:"features"`
	}
	if err := json.Unmarshal(trimmed, &fc); err == nil {
		if fc.Type == "FeatureCollection" {
			return fc.Features, nil
		}
		if fc.Type == "Feature" {
			return []json.RawMessage{trimmed}, nil
		}
		return nil, fmt.Errorf("a GeoJSON %q, not a FeatureCollection or Features", fc.Type)
	}
	var out []json.RawMessage
	for n, ln := range bytes.Split(data, []byte("\n")) {
		ln = bytes.TrimSpace(bytes.ReplaceAll(ln, []byte("\x1e"), nil))
		if len(ln) == 0 {
			continue
		}
		if !json.Valid(ln) {
			return nil, fmt.Errorf("line %d: not JSON: neither a FeatureCollection nor one Feature per line", n+1)
		}
		out = append(out, ln)
	}
	return out, nil
}

func parseEpisode(f *feature, sectors map[string]geo.Sector, pol detect.Policy) (Episode, error) {
	var e Episode
	p := f.Properties
	// The plain fields first, then those needing care.
	b, _ := json.Marshal(p)
	if err := json.Unmarshal(b, &e); err != nil {
		return e, err
	}
	if e.ID == "" || e.Class == "" || e.Party == "" {
		return e, fmt.Errorf("id, class or party missing")
	}
	if _, err := classOf(e.Class); err != nil {
		return e, err
	}
	if len(e.Sectors) == 0 {
		return e, fmt.Errorf("no sectors")
	}
	for _, s := range e.Sectors {
		if _, ok := sectors[s]; !ok {
			return e, fmt.Errorf("sector %s is not one of the line's: was it detected on this line, with this policy's sector_km?", s)
		}
	}
	first, last := sectors[e.Sectors[0]], sectors[e.Sectors[len(e.Sectors)-1]]
	if math.Abs(first.KmFrom-e.KmFrom) > 0.002 || math.Abs(last.KmTo-e.KmTo) > 0.002 {
		return e, fmt.Errorf("km %s–%s is not where sectors %s–%s lie on this line (km %s–%s): was it detected on this line, with this policy's sector_km?",
			num.Format(e.KmFrom, 3), num.Format(e.KmTo, 3), first.ID, last.ID, num.Format(first.KmFrom, 3), num.Format(last.KmTo, 3))
	}
	if w := pol.WindowMicros(); (int64(e.Start)-pol.WindowOrigin)%w != 0 || (int64(e.End)-pol.WindowOrigin)%w != 0 {
		return e, fmt.Errorf("%s–%s are not window bounds of this policy (window %s from %s): pass the policy detect used with --policy",
			num.FormatTime(int64(e.Start)), num.FormatTime(int64(e.End)), num.FormatDuration(pol.Window), num.FormatTime(pol.WindowOrigin))
	}
	var want output.Criteria
	want.Thresholds(pol)
	c := e.Criteria
	if c.Significant.MinScore != want.Significant.MinScore || c.Significant.MinDepthM != want.Significant.MinDepthM ||
		c.Significant.MinStrength != want.Significant.MinStrength || c.Deliberate.MinGround != want.Deliberate.MinGround ||
		c.Deliberate.MinTracks != want.Deliberate.MinTracks || c.Sustained.MinHotWindows != want.Sustained.MinHotWindows ||
		c.Corroborated != nil && c.Corroborated.MinAffiliations != want.Corroborated.MinAffiliations {
		return e, fmt.Errorf("its criteria's thresholds are not this policy's: pass the policy detect used with --policy")
	}
	switch {
	case f.Geometry == nil:
	case f.Geometry.Type == "LineString":
		if err := json.Unmarshal(f.Geometry.Coordinates, &e.Coords); err != nil {
			return e, fmt.Errorf("geometry: %w", err)
		}
	case f.Geometry.Type == "MultiLineString": // cut at the antimeridian
		var parts [][][2]float64
		if err := json.Unmarshal(f.Geometry.Coordinates, &parts); err != nil {
			return e, fmt.Errorf("geometry: %w", err)
		}
		for _, p := range parts {
			e.Coords = append(e.Coords, p...)
		}
	}
	return e, nil
}

func parseViolation(f *feature, sectors map[string]geo.Sector) (Violation, error) {
	var v Violation
	var p struct {
		ID      string  `json:"id"`
		Class   string  `json:"class"`
		Episode *string `json:"episode"`
		Party   string  `json:"party"`
		Type    string  `json:"type"`
		Sector  string  `json:"sector"`
		Km      float64 `json:"km"`
		DepthM  float64 `json:"depth_m"`
		Track   *string `json:"track"`
	}
	b, _ := json.Marshal(f.Properties)
	if err := json.Unmarshal(b, &p); err != nil {
		return v, err
	}
	v = Violation{ID: p.ID, Class: p.Class, Party: p.Party, Type: p.Type, Sector: p.Sector, Km: p.Km, DepthM: p.DepthM}
	if p.Episode != nil {
		v.Episode = *p.Episode
	}
	if p.Track != nil {
		v.Track = *p.Track
	}
	if _, err := classOf(v.Class); err != nil {
		return v, err
	}
	if _, ok := sectors[v.Sector]; !ok {
		return v, fmt.Errorf("sector %q is not one of the line's: was it detected on this line, with this policy's sector_km?", v.Sector)
	}
	var err error
	if v.Time, err = timeProp(f.Properties, "time"); err != nil {
		return v, err
	}
	if v.Weight, err = microProp(f.Properties, "weight"); err != nil {
		return v, err
	}
	if f.Geometry == nil || f.Geometry.Type != "Point" {
		return v, fmt.Errorf("not a Point")
	}
	var c []float64
	if err := json.Unmarshal(f.Geometry.Coordinates, &c); err != nil || len(c) < 2 {
		return v, fmt.Errorf("bad coordinates")
	}
	v.Lon, v.Lat = c[0], c[1]
	return v, nil
}

func timeProp(p map[string]json.RawMessage, key string) (int64, error) {
	var s string
	if err := json.Unmarshal(p[key], &s); err != nil {
		return 0, fmt.Errorf("%s: not a time string", key)
	}
	t, err := num.ParseTime(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", key, err)
	}
	return t, nil
}

func microProp(p map[string]json.RawMessage, key string) (int64, error) {
	var x float64
	if err := json.Unmarshal(p[key], &x); err != nil {
		return 0, fmt.Errorf("%s: not a number", key)
	}
	v, ok := num.ScaledInt(x, 6)
	if !ok {
		return 0, fmt.Errorf("%s: %v is out of range", key, x)
	}
	return v, nil
}

// classOf reads a class name.
func classOf(s string) (detect.Class, error) {
	for _, c := range []detect.Class{detect.Isolated, detect.Escalation, detect.SustainedBombardment, detect.SustainedOffensive} {
		if c.String() == s {
			return c, nil
		}
	}
	return 0, fmt.Errorf("unknown class %q", s)
}

func sortViolations(vs []Violation) {
	slices.SortStableFunc(vs, func(a, b Violation) int {
		return cmp.Or(cmp.Compare(a.Time, b.Time), cmp.Compare(a.Km, b.Km), strings.Compare(a.Party, b.Party),
			strings.Compare(a.ID, b.ID), strings.Compare(a.Type, b.Type), cmp.Compare(a.Lon, b.Lon), cmp.Compare(a.Lat, b.Lat))
	})
}
