package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/gpkg"
	"github.com/linewatch/linewatch/internal/num"
	"github.com/paulmach/orb"
)

// The GIS formats (GeoPackage, KML) hold the same Features as the GeoJSON,
// property for property, in typed columns: each Feature is written as
// GeoJSON first and read back, so a property GeoJSON gains reaches them
// too, and their values are the GeoJSON's, rounded alike.

// gisLayer is one kind of Feature as the GIS formats write it: a table in a
// GeoPackage, a folder in KML.
type gisLayer struct {
	name    string // episodes or violations
	columns []gpkg.Column
	rows    []gisRow
}

// gisRow is one Feature: its class (for the style), its time (or time
// span), its geometry and one value per column of its layer.
type gisRow struct {
	class      detect.Class
	start, end int64 // µs; end == start for a violation
	geom       orb.Geometry
	values     []any
}

// episodeColumns and violationColumns are the typed columns of the
// properties SPEC §5 lists, in its order. The criteria also give their
// three verdicts a BOOLEAN column each; sectors are joined with ";" as in
// the CSV. Properties not listed (a sighting's carried properties) follow,
// sorted, typed by their values.
var (
	episodeColumns = []gpkg.Column{
		{Name: "id", Type: gpkg.Text}, {Name: "class", Type: gpkg.Text}, {Name: "party", Type: gpkg.Text},
		{Name: "start", Type: gpkg.DateTime}, {Name: "end", Type: gpkg.DateTime}, {Name: "sectors", Type: gpkg.Text},
		{Name: "km_from", Type: gpkg.Real}, {Name: "km_to", Type: gpkg.Real}, {Name: "hot_windows", Type: gpkg.MediumInt},
		{Name: "violations", Type: gpkg.MediumInt}, {Name: "crossings", Type: gpkg.MediumInt}, {Name: "incursions", Type: gpkg.MediumInt},
		{Name: "fire", Type: gpkg.MediumInt}, {Name: "buffer", Type: gpkg.MediumInt}, {Name: "tracks", Type: gpkg.MediumInt},
		{Name: "strength", Type: gpkg.Real}, {Name: "max_depth_m", Type: gpkg.Real}, {Name: "score", Type: gpkg.Real},
		{Name: "significant", Type: gpkg.Boolean}, {Name: "deliberate", Type: gpkg.Boolean}, {Name: "sustained", Type: gpkg.Boolean},
		{Name: "criteria", Type: gpkg.Text}, {Name: "evidence", Type: gpkg.Text},
		{Name: "title", Type: gpkg.Text}, {Name: "description", Type: gpkg.Text},
	}
	violationColumns = []gpkg.Column{
		{Name: "id", Type: gpkg.Text}, {Name: "class", Type: gpkg.Text}, {Name: "episode", Type: gpkg.Text},
		{Name: "party", Type: gpkg.Text}, {Name: "type", Type: gpkg.Text}, {Name: "time", Type: gpkg.DateTime},
		{Name: "sector", Type: gpkg.Text}, {Name: "km", Type: gpkg.Real}, {Name: "depth_m", Type: gpkg.Real},
		{Name: "weight", Type: gpkg.Real}, {Name: "track", Type: gpkg.Text}, {Name: "strength", Type: gpkg.Real},
		{Name: "source", Type: gpkg.Text}, {Name: "title", Type: gpkg.Text}, {Name: "description", Type: gpkg.Text},
	}
)

// gisSkip are GeoJSON properties the GIS formats do not repeat as
// columns: the layer is the table, and styling is the layer's style.
var gisSkip = map[string]bool{"layer": true, "stroke": true, "stroke-width": true, "marker-color": true, "marker-size": true}

// gisLayers renders the sorted features as GeoJSON and reads them back
// into an episodes and a violations layer.
func gisLayers(line *geo.Line, pol detect.Policy, feats []feature) ([2]gisLayer, error) {
	type parsed struct {
		row   gisRow
		props map[string]json.RawMessage
	}
	var kinds [2][]parsed
	var buf []byte
	for _, f := range feats {
		var p parsed
		k := 0
		if f.ep != nil {
			buf = AppendEpisode(buf[:0], line, pol, f.ep)
			p.row = gisRow{class: f.ep.Class, start: f.ep.Start, end: f.ep.End}
		} else {
			k = 1
			buf = AppendViolation(buf[:0], line, f.v, f.owner)
			p.row = gisRow{class: detect.Isolated, start: f.v.Time, end: f.v.Time}
			if f.owner != nil {
				p.row.class = f.owner.Class
			}
		}
		var gf struct {
			Geometry   json.RawMessage            `json:"geometry"`
			Properties map[string]json.RawMessage `json:"properties"`
		}
		if err := json.Unmarshal(buf, &gf); err != nil {
			return [2]gisLayer{}, fmt.Errorf("feature %s: %w", f.id, err)
		}
		g, err := geometryOf(gf.Geometry)
		if err != nil {
			return [2]gisLayer{}, fmt.Errorf("feature %s: %w", f.id, err)
		}
		p.row.geom, p.props = g, gf.Properties
		if k == 0 {
			var c map[string]struct {
				Holds json.RawMessage `json:"holds"`
			}
			if err := json.Unmarshal(p.props["criteria"], &c); err != nil {
				return [2]gisLayer{}, fmt.Errorf("episode %s criteria: %w", f.id, err)
			}
			for k, v := range c {
				p.props[k] = v.Holds
			}
		}
		kinds[k] = append(kinds[k], p)
	}
	var out [2]gisLayer
	for k, known := range [2][]gpkg.Column{episodeColumns, violationColumns} {
		l := gisLayer{name: [2]string{"episodes", "violations"}[k]}
		all := make([]map[string]json.RawMessage, len(kinds[k]))
		for i, p := range kinds[k] {
			all[i] = p.props
		}
		// Keys are read from the columns known to the layer; extra keys
		// take names that SQLite, blind to case, tells apart.
		keys := make([]string, 0, len(known))
		taken := map[string]bool{"fid": true, gpkg.GeometryColumn: true}
		for _, c := range known {
			keys = append(keys, c.Name)
			taken[strings.ToLower(c.Name)] = true
			l.columns = append(l.columns, c)
		}
		for _, key := range extraKeys(all, known) {
			name := key
			for n := 2; taken[strings.ToLower(name)]; n++ {
				name = key + "_" + strconv.Itoa(n)
			}
			taken[strings.ToLower(name)] = true
			keys = append(keys, key)
			l.columns = append(l.columns, gpkg.Column{Name: name, Type: inferType(all, key)})
		}
		for _, p := range kinds[k] {
			row := p.row
			row.values = make([]any, len(keys))
			for i, key := range keys {
				v, err := columnValue(l.columns[i].Type, key, p.props[key])
				if err != nil {
					return out, fmt.Errorf("%s %s: %w", l.name, key, err)
				}
				row.values[i] = v
			}
			l.rows = append(l.rows, row)
		}
		out[k] = l
	}
	return out, nil
}

// geometryOf reads the GeoJSON Point or LineString linewatch writes.
func geometryOf(raw json.RawMessage) (orb.Geometry, error) {
	var g struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		return nil, err
	}
	switch g.Type {
	case "Point":
		var p orb.Point
		err := json.Unmarshal(g.Coordinates, &p)
		return p, err
	case "LineString":
		var ls orb.LineString
		err := json.Unmarshal(g.Coordinates, &ls)
		return ls, err
	}
	return nil, fmt.Errorf("geometry %q", g.Type)
}

// extraKeys are the property keys of the layer's Features that are not
// among its known columns nor skipped, sorted.
func extraKeys(all []map[string]json.RawMessage, known []gpkg.Column) []string {
	seen := map[string]bool{}
	for _, c := range known {
		seen[c.Name] = true
	}
	for k := range gisSkip {
		seen[k] = true
	}
	var keys []string
	for _, props := range all {
		for k := range props {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	slices.Sort(keys)
	return keys
}

// inferType is the column type for a carried property: MEDIUMINT (or
// INTEGER, past 32 bits) when every value given is an integral number,
// REAL when every one is a number,
// BOOLEAN when every one is true or false, TEXT otherwise (non-strings
// then as their JSON text).
func inferType(all []map[string]json.RawMessage, key string) gpkg.Type {
	var str, integer, long, real, boolean, other bool
	for _, props := range all {
		raw := props[key]
		switch {
		case len(raw) == 0 || string(raw) == "null":
		case raw[0] == '"':
			str = true
		case raw[0] == 't' || raw[0] == 'f':
			boolean = true
		case raw[0] == '[' || raw[0] == '{':
			other = true
		default:
			if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
				integer = true
				long = long || n != int64(int32(n))
			} else {
				real = true
			}
		}
	}
	switch {
	case str || other:
		return gpkg.Text
	case boolean && !integer && !real:
		return gpkg.Boolean
	case real && !boolean:
		return gpkg.Real
	case integer && !boolean && long:
		return gpkg.Integer
	case integer && !boolean:
		return gpkg.MediumInt
	}
	return gpkg.Text
}

// columnValue converts a GeoJSON property to its column's type.
func columnValue(t gpkg.Type, key string, raw json.RawMessage) (any, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	switch t {
	case gpkg.Integer, gpkg.MediumInt:
		return strconv.ParseInt(string(raw), 10, 64)
	case gpkg.Real:
		return strconv.ParseFloat(string(raw), 64)
	case gpkg.Boolean:
		return string(raw) == "true", nil
	case gpkg.DateTime:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		us, err := num.ParseTime(s)
		if err != nil {
			return nil, err
		}
		return num.Time(us), nil
	}
	switch {
	case raw[0] == '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	case key == "sectors" && raw[0] == '[':
		var s []string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		return strings.Join(s, ";"), nil
	}
	var c bytes.Buffer
	if err := json.Compact(&c, raw); err != nil {
		return nil, err
	}
	return c.String(), nil
}

// lastChange is the time of the latest Feature (the end of the latest
// episode, the time of the latest violation), or the epoch if there is
// none: a GeoPackage's date that depends only on the data.
func lastChange(ls [2]gisLayer) time.Time {
	var last int64
	for _, l := range ls {
		for _, r := range l.rows {
			last = max(last, r.end)
		}
	}
	return num.Time(last)
}

// valueText is a column value as text, for KML's ExtendedData.
func valueText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return num.FormatTime(x.UnixMicro())
	}
	return fmt.Sprint(v)
}
