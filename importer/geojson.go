package importer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/internal/jsontext"
)

// isGeoJSON tells whether a file starts as GeoJSON does: with "{" or the
// RS of a GeoJSON text sequence, after a byte-order mark and blank space.
func isGeoJSON(br *bufio.Reader) bool {
	b, _ := br.Peek(br.Size())
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	for _, ch := range b {
		switch ch {
		case ' ', '\t', '\r', '\n':
			continue
		case '{', 0x1e:
			return true
		}
		return false
	}
	return false
}

// geojsonReader reads the Features of a GeoJSON file (a FeatureCollection
// or a sequence) as rows: a property is a column, the Point geometry the
// position.
type geojsonReader struct {
	src     *feed.Source
	pending []feed.Record // read to find the header, not yet returned
	f       gjFeature
	index   map[string]int // column of a property
	idCol   int            // column of the Feature's id, -1 none
	n       int            // property columns; the geometry's lon and lat follow
	fields  [][]byte
	buf     []byte
}

// headerProbe is how many records are read, at most, to find a Feature
// whose properties give the header.
const headerProbe = 64

// geojsonRows reads the header of a GeoJSON file: the properties of its
// first Feature (and "id" for the Feature's id, when they have none).
func (im *Importer) geojsonRows(name string, br *bufio.Reader) (*Rows, error) {
	if err := checkCRS(br); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	g := &geojsonReader{src: feed.NewSource(name, br), idCol: -1, index: map[string]int{}}
	var header []string
	for len(g.pending) < headerProbe {
		rec, err := g.src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		g.pending = append(g.pending, rec.Clone())
		if rec.Err != "" {
			continue
		}
		f := &g.f
		if f.read(rec.Raw) != nil || !f.isFeature() {
			continue
		}
		if len(f.props) > 0 && f.props[0] == '{' {
			jsontext.Members(f.props, 0, func(m jsontext.Member) {
				k := string(jsontext.Unescape(nil, f.props[m.KeyA+1:m.KeyB-1]))
				if _, seen := g.index[k]; !seen {
					g.index[k] = len(header)
					header = append(header, k)
				}
			})
		}
		if f.id != nil && string(f.id) != "null" {
			if _, has := g.index["id"]; !has {
				g.idCol = len(header)
				header = append(header, "id")
			}
		}
		break
	}
	g.n = len(header)
	rs := &Rows{name: name, gj: g}
	rs.conv.im = im
	rs.header = append(header, "(geometry: longitude)", "(geometry: latitude)")
	if err := rs.setup(g.n, true); err != nil {
		return nil, err
	}
	g.fields = make([][]byte, len(rs.header))
	rs.conv.jsonCells = make([]bool, len(rs.header))
	return rs, nil
}

// checkCRS reads the crs member of a FeatureCollection, if it comes before
// its features in the file's first 64 KB (where GDAL writes it), and
// refuses a CRS other than WGS 84 longitude/latitude.
func checkCRS(br *bufio.Reader) error {
	b, _ := br.Peek(br.Size())
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil
		}
		switch t {
		case "features":
			return nil
		case "crs":
			var crs json.RawMessage
			if dec.Decode(&crs) != nil {
				return nil
			}
			return geo.CheckCRS(crs)
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return nil
		}
	}
	return nil
}

// nextFeature reads the next Feature as a row.
func (rs *Rows) nextFeature() (*Row, error) {
	g := rs.gj
	var rec feed.Record
	if len(g.pending) > 0 {
		rec = g.pending[0]
		g.pending = g.pending[1:]
	} else {
		var err error
		if rec, err = g.src.Next(); err != nil {
			return nil, err
		}
	}
	r := &rs.row
	*r = Row{Line: rec.Line, Index: rec.Index, Text: rec.Raw}
	rs.counts.Rows++
	if rec.Err != "" {
		r.Reason = rec.Err
	} else if r.Reason = g.load(rec.Raw, &rs.conv); r.Reason == "" {
		r.Record, r.Flagged, r.Reason = rs.conv.convert(g.fields, nil)
	}
	rs.count(r)
	return r, nil
}

// gjFeature is the members of a Feature that the importer reads, as JSON
// text pointing into the record.
type gjFeature struct {
	typ, props, id, geom []byte
	key                  []byte
}

// read checks that raw is JSON and finds its members; a repeated key's
// last member counts, as in the decoder.
func (f *gjFeature) read(raw []byte) error {
	if err := feed.CheckJSON(raw); err != nil {
		return err
	}
	f.typ, f.props, f.id, f.geom = nil, nil, nil, nil
	jsontext.Members(raw, jsontext.SkipSpace(raw, 0), func(m jsontext.Member) {
		switch {
		case m.KeyIs(raw, "type"):
			f.typ = m.Value(raw)
		case m.KeyIs(raw, "properties"):
			f.props = m.Value(raw)
		case m.KeyIs(raw, "id"):
			f.id = m.Value(raw)
		case m.KeyIs(raw, "geometry"):
			f.geom = m.Value(raw)
		}
	})
	return nil
}

func (f *gjFeature) isFeature() bool { t, _ := jsontext.String(f.typ); return t == "Feature" }

// isNumber tells whether the JSON value v is a number.
func isNumber(v []byte) bool { return len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9') }

// load lays a Feature out in g.fields, or says why it cannot be.
func (g *geojsonReader) load(raw []byte, c *conv) string {
	f := &g.f
	if err := f.read(raw); err != nil {
		return "not valid JSON: " + strings.TrimPrefix(err.Error(), "invalid JSON: ")
	}
	if raw[jsontext.SkipSpace(raw, 0)] != '{' || !f.isFeature() {
		return "not a GeoJSON Feature"
	}
	for i := range g.fields {
		g.fields[i] = nil
		c.jsonCells[i] = false
	}
	c.extra = c.extra[:0]
	g.buf = g.buf[:0]
	// A cell is appended to g.buf as text and sliced out of it at once:
	// what later appends write lies past it, or in a new array.
	cell := func(col int, key string, x []byte) {
		a := len(g.buf)
		isJSON := true
		switch {
		case string(x) == "null":
			return
		case x[0] == '"':
			g.buf = jsontext.Unescape(g.buf, x[1:len(x)-1])
			isJSON = false
		case x[0] == '{' || x[0] == '[':
			var b bytes.Buffer
			json.Compact(&b, x) // checked JSON: no error
			g.buf = append(g.buf, b.Bytes()...)
		default:
			g.buf = append(g.buf, x...)
		}
		val := g.buf[a:len(g.buf):len(g.buf)]
		if col >= 0 {
			g.fields[col], c.jsonCells[col] = val, isJSON
		} else {
			c.extra = append(c.extra, extraProp{key: key, val: val, json: isJSON})
		}
	}
	switch p := f.props; {
	case p == nil || string(p) == "null":
	case p[0] == '{':
		jsontext.Members(p, 0, func(m jsontext.Member) {
			f.key = jsontext.Unescape(f.key[:0], p[m.KeyA+1:m.KeyB-1])
			if i, ok := g.index[string(f.key)]; ok {
				cell(i, "", m.Value(p))
			} else {
				cell(-1, string(f.key), m.Value(p))
			}
		})
	default:
		return "properties is not an object"
	}
	if g.idCol >= 0 && f.id != nil {
		cell(g.idCol, "", f.id)
	}
	c.geomFault = ""
	switch gm := f.geom; {
	case gm == nil || string(gm) == "null":
		c.geomFault = "the Feature has no geometry (give --lon and --lat to take the position from properties)"
	default:
		coords := jsontext.Get(gm, "coordinates")
		t, _ := jsontext.String(jsontext.Get(gm, "type"))
		switch t {
		case "Point":
		case "MultiPoint":
			if pts := jsontext.Values(coords); len(pts) == 1 {
				coords = pts[0]
				break
			}
			c.geomFault = "the geometry is a MultiPoint of more than one point, not a Point"
		default:
			c.geomFault = fmt.Sprintf("the geometry is a %s, not a Point", clipText([]byte(t)))
		}
		if c.geomFault == "" {
			pos := jsontext.Values(coords)
			if len(pos) < 2 || !isNumber(pos[0]) || !isNumber(pos[1]) {
				c.geomFault = "the Point's coordinates are not [longitude, latitude]"
				break
			}
			cell(g.n, "", pos[0])
			cell(g.n+1, "", pos[1])
		}
	}
	return ""
}

// appendExtra appends the properties of a Feature that its file's first
// Feature did not have, named as carried columns are.
func (c *conv) appendExtra(out []byte) []byte {
	carried := c.carriedKeys()
	for _, x := range c.extra {
		key := x.key
		if reserved[key] {
			key = "csv_" + key
		}
		for carried[key] {
			key += "_2"
		}
		out = jsontext.AppendString(append(out, ','), []byte(key))
		out = append(out, ':')
		if x.json {
			out = append(out, x.val...)
		} else {
			out = jsontext.AppendString(out, x.val)
		}
	}
	return out
}
