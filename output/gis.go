package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/gpkg"
	"github.com/linewatch/linewatch/internal/jsontext"
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
// properties SPEC §5 lists, in its order, with corroboration's figures
// (docs/corroboration.md). The criteria also give their verdicts a
// BOOLEAN column each; sectors are joined with ";" as in
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
		{Name: "sources", Type: gpkg.MediumInt}, {Name: "affiliations", Type: gpkg.Text},
		{Name: "significant", Type: gpkg.Boolean}, {Name: "deliberate", Type: gpkg.Boolean}, {Name: "sustained", Type: gpkg.Boolean},
		{Name: "corroborated", Type: gpkg.Boolean},
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
// into an episodes and a violations layer, in two passes so that no
// parsed Feature is kept: the first finds the properties beyond the known
// columns and the type their values call for, the second makes the rows.
func gisLayers(line *geo.Line, pol detect.Policy, feats []feature) ([2]gisLayer, error) {
	var buf []byte
	var gf gisFeature
	// parse renders f and returns its layer (0 episodes, 1 violations),
	// its properties and geometry in gf, valid until the next call.
	parse := func(f feature) (int, error) {
		k := 0
		if f.ep != nil {
			buf = AppendEpisode(buf[:0], line, pol, f.ep)
		} else {
			k = 1
			buf = AppendViolation(buf[:0], line, f.v, f.owner)
		}
		if err := gf.read(buf); err != nil {
			return k, fmt.Errorf("feature %s: %w", f.id, err)
		}
		return k, nil
	}

	known := [2][]gpkg.Column{episodeColumns, violationColumns}
	var extra [2]map[string]*typeState
	for k := range extra {
		extra[k] = map[string]*typeState{}
		for _, c := range known[k] {
			extra[k][c.Name] = nil // known: not extra
		}
		for key := range gisSkip {
			extra[k][key] = nil
		}
	}
	for _, f := range feats {
		k, err := parse(f)
		if err != nil {
			return [2]gisLayer{}, err
		}
		for _, p := range gf.props {
			st, ok := extra[k][string(p.key)]
			if !ok {
				st = &typeState{}
				extra[k][string(p.key)] = st
			}
			if st != nil {
				st.add(p.val)
			}
		}
	}

	var out [2]gisLayer
	var keys [2][]string // the property each column is read from
	for k := range out {
		l := &out[k]
		l.name = [2]string{"episodes", "violations"}[k]
		taken := map[string]bool{"fid": true, gpkg.GeometryColumn: true}
		for _, c := range known[k] {
			keys[k] = append(keys[k], c.Name)
			taken[strings.ToLower(c.Name)] = true
			l.columns = append(l.columns, c)
		}
		var names []string
		for key, st := range extra[k] {
			if st != nil {
				names = append(names, key)
			}
		}
		slices.Sort(names)
		// An extra key takes a column name that SQLite, blind to case,
		// tells apart from the others.
		for _, key := range names {
			name := key
			for n := 2; taken[strings.ToLower(name)]; n++ {
				name = key + "_" + strconv.Itoa(n)
			}
			taken[strings.ToLower(name)] = true
			keys[k] = append(keys[k], key)
			l.columns = append(l.columns, gpkg.Column{Name: name, Type: extra[k][key].Type()})
		}
	}

	for _, f := range feats {
		k, err := parse(f)
		if err != nil {
			return out, err
		}
		row := gisRow{class: detect.Isolated}
		if f.ep != nil {
			row.class, row.start, row.end = f.ep.Class, f.ep.Start, f.ep.End
		} else {
			row.start, row.end = f.v.Time, f.v.Time
			if f.owner != nil {
				row.class = f.owner.Class
			}
		}
		if row.geom, err = geometryOf(gf.geom); err != nil {
			return out, fmt.Errorf("feature %s: %w", f.id, err)
		}
		row.values = make([]any, len(keys[k]))
		var verdicts []gisProp
		if k == 0 {
			verdicts = holds(gf.prop("criteria"))
		}
		for i, key := range keys[k] {
			v := gf.prop(key)
			if k == 0 && v == nil {
				// A criterion's verdict: criteria.NAME.holds.
				for _, p := range verdicts {
					if string(p.key) == key {
						v = p.val
					}
				}
			}
			if row.values[i], err = columnValue(out[k].columns[i].Type, key, v); err != nil {
				return out, fmt.Errorf("%s %s %s: %w", out[k].name, f.id, key, err)
			}
		}
		out[k].rows = append(out[k].rows, row)
	}
	return out, nil
}

// gisFeature is a Feature as linewatch writes it, read back: its
// properties (keys decoded, values as JSON text) and its geometry's text.
type gisFeature struct {
	props []gisProp
	geom  []byte
	key   []byte
}

type gisProp struct {
	key []byte // decoded
	val []byte
}

// read reads the Feature b; what it keeps points into b. It walks the
// Feature's members itself, so that its properties are walked once, not
// skipped first.
func (g *gisFeature) read(b []byte) error {
	g.props, g.geom = g.props[:0], nil
	found := false
	i := jsontext.SkipSpace(b, 0)
	if i < len(b) && b[i] == '{' {
		i = jsontext.SkipSpace(b, i+1)
	}
	for i > 0 && i < len(b) && b[i] == '"' {
		kb := jsontext.SkipString(b, i)
		if kb < 0 {
			break
		}
		key := b[i:kb]
		if i = jsontext.SkipSpace(b, kb); i >= len(b) || b[i] != ':' {
			break
		}
		va := jsontext.SkipSpace(b, i+1)
		if jsontext.KeyIs(key, "properties") && va < len(b) && b[va] == '{' {
			found = true
			i = jsontext.Members(b, va, func(m jsontext.Member) {
				key := b[m.KeyA+1 : m.KeyB-1]
				if bytes.IndexByte(key, '\\') >= 0 {
					key = jsontext.Unescape(nil, key) // rare: a carried key with escapes
				}
				g.props = append(g.props, gisProp{key: key, val: m.Value(b)})
			})
		} else {
			i = jsontext.SkipValue(b, va)
			if i > 0 && jsontext.KeyIs(key, "geometry") {
				g.geom = b[va:i]
			}
		}
		if i = jsontext.SkipSpace(b, max(i, 0)); i < len(b) && b[i] == ',' {
			i = jsontext.SkipSpace(b, i+1)
		}
	}
	if !found {
		return fmt.Errorf("not a Feature with properties: %s", jsontext.Clip(b))
	}
	return nil
}

// prop returns the value of the property key, nil if it has none.
func (g *gisFeature) prop(key string) []byte {
	for _, p := range g.props {
		if string(p.key) == key {
			return p.val
		}
	}
	return nil
}

// holds returns the verdicts of an episode's criteria: each criterion's
// name and its "holds".
func holds(criteria []byte) []gisProp {
	var out []gisProp
	jsontext.Members(criteria, 0, func(m jsontext.Member) {
		out = append(out, gisProp{key: criteria[m.KeyA+1 : m.KeyB-1], val: jsontext.Get(m.Value(criteria), "holds")})
	})
	return out
}

// geometryOf reads the GeoJSON Point, LineString or MultiLineString
// linewatch writes.
func geometryOf(g []byte) (orb.Geometry, error) {
	var typ, coords []byte
	jsontext.Members(g, 0, func(m jsontext.Member) {
		switch {
		case m.KeyIs(g, "type"):
			typ = m.Value(g)
		case m.KeyIs(g, "coordinates"):
			coords = m.Value(g)
		}
	})
	xy, err := numbers(coords)
	if err != nil {
		return nil, err
	}
	switch string(typ) {
	case `"Point"`:
		if len(xy) != 2 {
			return nil, fmt.Errorf("a position of %d numbers", len(xy))
		}
		return orb.Point{xy[0], xy[1]}, nil
	case `"LineString"`:
		if len(xy)%2 != 0 {
			return nil, fmt.Errorf("a LineString of %d numbers", len(xy))
		}
		return lineOf(xy), nil
	case `"MultiLineString"`:
		// An antimeridian-crossing sector or episode: its parts' numbers
		// are read again one part at a time.
		var mls orb.MultiLineString
		var perr error
		jsontext.Elements(coords, 0, func(a, z int) {
			part, err := numbers(coords[a:z])
			if err == nil && len(part)%2 != 0 {
				err = fmt.Errorf("a LineString of %d numbers", len(part))
			}
			if err != nil {
				perr = err
				return
			}
			mls = append(mls, lineOf(part))
		})
		if perr != nil {
			return nil, perr
		}
		return mls, nil
	}
	return nil, fmt.Errorf("geometry %s", jsontext.Clip(g))
}

// lineOf pairs numbers into a LineString's points.
func lineOf(xy []float64) orb.LineString {
	ls := make(orb.LineString, len(xy)/2)
	for i := range ls {
		ls[i] = orb.Point{xy[2*i], xy[2*i+1]}
	}
	return ls
}

// numbers returns the numbers of a GeoJSON coordinates array, at any
// depth, in order.
func numbers(a []byte) ([]float64, error) {
	var out []float64
	for i := 0; i < len(a); i++ {
		if c := a[i]; c != '-' && (c < '0' || c > '9') {
			continue
		}
		j := i + 1
		for j < len(a) && a[j] != ',' && a[j] != ']' && !jsontext.IsSpace(a[j]) {
			j++
		}
		f, err := strconv.ParseFloat(text(a[i:j]), 64)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
		i = j
	}
	return out, nil
}

// typeState gathers the kinds of value a carried property takes, for
// its column's type.
type typeState struct {
	str, integer, long, real, boolean, other bool
}

func (s *typeState) add(v []byte) {
	switch {
	case len(v) == 0 || string(v) == "null":
	case v[0] == '"':
		s.str = true
	case string(v) == "true" || string(v) == "false":
		s.boolean = true
	case v[0] == '-' || v[0] >= '0' && v[0] <= '9':
		if n, err := strconv.ParseInt(text(v), 10, 64); err == nil {
			s.integer = true
			s.long = s.long || n != int64(int32(n))
		} else {
			s.real = true
		}
	default:
		s.other = true
	}
}

// Type is the column type for a carried property: MEDIUMINT (or INTEGER,
// past 32 bits) when every value given is an integral number, REAL when
// every one is a number, BOOLEAN when every one is true or false, TEXT
// otherwise (non-strings then as their JSON text).
func (s *typeState) Type() gpkg.Type {
	switch {
	case s.str || s.other:
		return gpkg.Text
	case s.boolean && !s.integer && !s.real:
		return gpkg.Boolean
	case s.boolean:
		return gpkg.Text
	case s.real:
		return gpkg.Real
	case s.long:
		return gpkg.Integer
	case s.integer:
		return gpkg.MediumInt
	}
	return gpkg.Text
}

// columnValue converts a GeoJSON property, its JSON text (nil if
// absent), to its column's type.
func columnValue(t gpkg.Type, key string, v []byte) (any, error) {
	if v == nil || string(v) == "null" {
		return nil, nil
	}
	switch t {
	case gpkg.Integer, gpkg.MediumInt:
		return strconv.ParseInt(text(v), 10, 64)
	case gpkg.Real:
		return strconv.ParseFloat(text(v), 64)
	case gpkg.Boolean:
		return strconv.ParseBool(string(v))
	case gpkg.DateTime:
		s, ok := jsontext.String(v)
		if !ok {
			return nil, fmt.Errorf("not a time: %s", jsontext.Clip(v))
		}
		us, err := num.ParseTime(s)
		if err != nil {
			return nil, err
		}
		return num.Time(us), nil
	}
	if s, ok := jsontext.String(v); ok {
		return s, nil
	}
	if key == "sectors" && v[0] == '[' {
		var ids []string
		for _, s := range jsontext.Values(v) {
			id, _ := jsontext.String(s)
			ids = append(ids, id)
		}
		return strings.Join(ids, ";"), nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return nil, err
	}
	return b.String(), nil // JSON text, compact
}

// text views JSON text as a string, without copying, for strconv: the
// string must not outlive the call (an error that holds it is formatted
// at once, while the Feature's text stands).
func text(v []byte) string { return unsafe.String(unsafe.SliceData(v), len(v)) }

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
