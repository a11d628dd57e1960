package main

import (
	"bytes"
	"encoding/json"
	"github.com/linewatch/linewatch/internal/jsontext"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/internal/num"
	"github.com/valyala/fastjson"
)

// annotator adds to sighting Features where they lie relative to the line:
// lw_side, lw_distance_m, lw_km, lw_sector and lw_beyond_end, spliced into
// the Feature's properties so that everything else of the input — key
// order, number text, other members — is kept byte for byte. One annotator
// serves one goroutine; the line is shared.
type annotator struct {
	line    *geo.Line
	parser  fastjson.Parser
	sides   map[string][]byte // party → its JSON string
	sectors [][]byte          // sector index → its id as a JSON string
	compact bytes.Buffer
	members []member
}

// lwKeys are the keys locate writes; an input that already has them (the
// output of an earlier run) has them replaced.
var lwKeys = [...]string{"lw_side", "lw_distance_m", "lw_km", "lw_sector", "lw_beyond_end"}

func newAnnotator(l *geo.Line) *annotator {
	a := &annotator{line: l, sides: map[string][]byte{}}
	for _, p := range l.Parties() {
		a.sides[p] = jsontext.AppendString(nil, p)
	}
	for _, s := range l.Sectors() {
		a.sectors = append(a.sectors, jsontext.AppendString(nil, s.ID))
	}
	return a
}

// annotate appends the record raw, annotated, and a newline to dst. A
// record that is not a Feature with a valid Point, LineString or
// MultiPoint geometry is not written: its reason is returned instead.
func (a *annotator) annotate(dst, raw []byte) ([]byte, string) {
	raw = bytes.TrimSpace(raw)
	if err := fastjson.ValidateBytes(raw); err != nil {
		return dst, "invalid JSON: " + strings.TrimPrefix(err.Error(), "cannot parse JSON: ")
	}
	if !utf8.Valid(raw) {
		return dst, "invalid JSON: invalid UTF-8"
	}
	if bytes.IndexByte(raw, '\n') >= 0 || bytes.IndexByte(raw, '\r') >= 0 {
		// One Feature per line: a record that spans lines (from a
		// pretty-printed FeatureCollection) loses its insignificant white
		// space, nothing else.
		a.compact.Reset()
		if err := json.Compact(&a.compact, raw); err != nil {
			return dst, "invalid JSON: " + err.Error()
		}
		raw = a.compact.Bytes()
	}
	if raw[0] != '{' {
		return dst, "not a Feature"
	}
	// The members that matter; with a repeated key the last one counts, as
	// in most JSON readers.
	var typ, geom, props member
	end := members(raw, 0, func(m member) {
		switch {
		case m.keyIs(raw, "type"):
			typ = m
		case m.keyIs(raw, "geometry"):
			geom = m
		case m.keyIs(raw, "properties"):
			props = m
		}
	})
	lon, lat, reason := a.position(raw, typ, geom, props)
	if reason != "" {
		return dst, reason
	}
	loc := a.line.Locate(lon, lat)
	switch {
	case props.valB == 0:
		// No properties: add them after the last member.
		at := lastNonSpace(raw, end) + 1
		dst = append(dst, raw[:at]...)
		if raw[at-1] != '{' {
			dst = append(dst, ',')
		}
		dst = append(dst, `"properties":{`...)
		dst = a.appendLocation(dst, loc)
		dst = append(dst, '}')
		dst = append(dst, raw[at:]...)
	case raw[props.valA] == 'n': // null
		dst = append(dst, raw[:props.valA]...)
		dst = append(dst, '{')
		dst = a.appendLocation(dst, loc)
		dst = append(dst, '}')
		dst = append(dst, raw[props.valB:]...)
	case a.hasLWKey(raw, props):
		// Replace the keys an earlier run wrote, keep the rest.
		dst = append(dst, raw[:props.valA]...)
		dst = append(dst, '{')
		for _, m := range a.members {
			if !isLWKey(raw, m) {
				dst = append(dst, raw[m.keyA:m.valB]...)
				dst = append(dst, ',')
			}
		}
		dst = a.appendLocation(dst, loc)
		dst = append(dst, '}')
		dst = append(dst, raw[props.valB:]...)
	default:
		at := lastNonSpace(raw, props.valB-1) + 1 // just after the last member, or the brace
		dst = append(dst, raw[:at]...)
		if raw[at-1] != '{' {
			dst = append(dst, ',')
		}
		dst = a.appendLocation(dst, loc)
		dst = append(dst, raw[at:]...)
	}
	return append(dst, '\n'), ""
}

// hasLWKey tells whether the properties object holds one of lwKeys, and
// leaves its members in a.members if so.
func (a *annotator) hasLWKey(raw []byte, props member) bool {
	obj := raw[props.valA:props.valB]
	if !bytes.Contains(obj, []byte(`"lw_`)) && !bytes.Contains(obj, []byte(`\u`)) {
		return false
	}
	a.members = a.members[:0]
	found := false
	members(raw, props.valA, func(m member) {
		a.members = append(a.members, m)
		found = found || isLWKey(raw, m)
	})
	return found
}

func isLWKey(raw []byte, m member) bool {
	for _, k := range lwKeys {
		if m.keyIs(raw, k) {
			return true
		}
	}
	return false
}

// appendLocation appends the lw_* members, without braces.
func (a *annotator) appendLocation(dst []byte, loc geo.Location) []byte {
	dst = append(dst, `"lw_side":`...)
	if loc.DistanceM == 0 {
		dst = append(dst, "null"...) // on the line: on no one's side
	} else if s, ok := a.sides[loc.Side]; ok {
		dst = append(dst, s...)
	} else {
		dst = jsontext.AppendString(dst, loc.Side)
	}
	dst = append(dst, `,"lw_distance_m":`...)
	dst = num.AppendFormat(dst, loc.DistanceM, 3)
	dst = append(dst, `,"lw_km":`...)
	dst = num.AppendFormat(dst, loc.Km, 3)
	dst = append(dst, `,"lw_sector":`...)
	dst = append(dst, a.sectors[loc.Sector]...)
	dst = append(dst, `,"lw_beyond_end":`...)
	dst = strconv.AppendBool(dst, loc.BeyondEnd)
	return dst
}

// position checks that raw, a valid JSON object whose members typ, geom
// and props were found (valB == 0: absent), is a Feature with a Point,
// LineString (≥ 2 positions) or MultiPoint (≥ 1 position) geometry whose
// positions are all valid, and returns the position locate reports on: the
// Point, the last coordinate of the LineString, the first point of the
// MultiPoint. Its reasons are worded as the sighting decoder words them
// (feed.Decode), in the same order: Feature, properties, geometry,
// coordinates.
func (a *annotator) position(raw []byte, typ, geom, props member) (lon, lat float64, reason string) {
	if typ.valB == 0 || !isString(raw, typ, "Feature") {
		return 0, 0, "not a Feature"
	}
	if props.valB > 0 && raw[props.valA] != '{' && raw[props.valA] != 'n' {
		return 0, 0, "properties must be an object or null, got " + clip(raw[props.valA:props.valB])
	}
	if geom.valB == 0 || raw[geom.valA] == 'n' {
		return 0, 0, "geometry is missing"
	}
	if raw[geom.valA] != '{' {
		return 0, 0, "geometry must be an object, got " + clip(raw[geom.valA:geom.valB])
	}
	var gt, gc member
	members(raw, geom.valA, func(m member) {
		switch {
		case m.keyIs(raw, "type"):
			gt = m
		case m.keyIs(raw, "coordinates"):
			gc = m
		}
	})
	var shape string
	switch {
	case gt.valB == 0:
		return 0, 0, "geometry type is missing"
	case isString(raw, gt, "Point"):
		shape = "Point"
	case isString(raw, gt, "LineString"):
		shape = "LineString"
	case isString(raw, gt, "MultiPoint"):
		shape = "MultiPoint"
	default:
		return 0, 0, "geometry type must be Point, LineString or MultiPoint, got " + clip(raw[gt.valA:gt.valB])
	}
	if gc.valB == 0 || raw[gc.valA] == 'n' {
		return 0, 0, "geometry coordinates are missing"
	}
	coords := raw[gc.valA:gc.valB]
	if coords[0] != '[' {
		if shape == "Point" {
			return 0, 0, "Point coordinates must be a position (an array of numbers), got " + clip(coords)
		}
		return 0, 0, shape + " coordinates must be an array of positions, got " + clip(coords)
	}
	c, err := a.parser.ParseBytes(coords)
	if err != nil {
		return 0, 0, "invalid JSON: " + err.Error()
	}
	if shape == "Point" {
		return checkPosition(c, 1)
	}
	ps, _ := c.Array()
	for _, p := range ps {
		if p.Type() != fastjson.TypeArray {
			return 0, 0, shape + " coordinates must be an array of positions, got " + clip(coords)
		}
	}
	if shape == "LineString" && len(ps) < 2 {
		return 0, 0, "LineString must have at least 2 positions, got " + strconv.Itoa(len(ps))
	}
	if len(ps) == 0 {
		return 0, 0, "MultiPoint must have at least 1 position, got 0"
	}
	pick := 0
	if shape == "LineString" {
		pick = len(ps) - 1
	}
	for i, p := range ps {
		x, y, reason := checkPosition(p, i+1)
		if reason != "" {
			return 0, 0, reason
		}
		if i == pick {
			lon, lat = x, y
		}
	}
	return lon, lat, ""
}

// isString tells whether the value of m is the JSON string want.
func isString(raw []byte, m member, want string) bool {
	v := raw[m.valA:m.valB]
	if len(v) == len(want)+2 && v[0] == '"' && string(v[1:len(v)-1]) == want {
		return true
	}
	if v[0] != '"' || bytes.IndexByte(v, '\\') < 0 {
		return false
	}
	var s string
	return json.Unmarshal(v, &s) == nil && s == want
}

// checkPosition checks the n-th position (from 1) of a geometry: 2 or 3
// numbers, longitude and latitude finite and in range.
func checkPosition(p *fastjson.Value, n int) (lon, lat float64, reason string) {
	ns, _ := p.Array()
	var xy [2]float64
	for k, c := range ns {
		if c.Type() != fastjson.TypeNumber {
			return 0, 0, "coordinate " + strconv.Itoa(k+1) + " of position " + strconv.Itoa(n) + " is not a number: " + clipValue(c)
		}
		if k < 2 {
			lim := 180.0
			if k == 1 {
				lim = 90
			}
			x, err := c.Float64()
			if err != nil || !(x >= -lim && x <= lim) {
				return 0, 0, "coordinate " + strconv.Itoa(k+1) + " of position " + strconv.Itoa(n) + " is out of range: " + clipValue(c)
			}
			xy[k] = x + 0 // -0 is 0
		}
	}
	if len(ns) < 2 || len(ns) > 3 {
		return 0, 0, "position " + strconv.Itoa(n) + " has " + strconv.Itoa(len(ns)) + " numbers, want 2 or 3"
	}
	return xy[0], xy[1], ""
}

// clipValue is v's JSON text for a message.
func clipValue(v *fastjson.Value) string { return clip(v.MarshalTo(nil)) }

// clip is b for a message, cut to about 64 bytes on a character boundary.
func clip(b []byte) string {
	const max = 64
	if len(b) <= max {
		return string(b)
	}
	n := max
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return string(b[:n]) + "…"
}
