package importer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/internal/jsontext"
	"github.com/valyala/fastjson"
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
	parser  fastjson.Parser
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
		v, err := g.parser.ParseBytes(rec.Raw)
		if err != nil || string(v.GetStringBytes("type")) != "Feature" {
			continue
		}
		if o := v.GetObject("properties"); o != nil {
			o.Visit(func(k []byte, _ *fastjson.Value) {
				if _, seen := g.index[string(k)]; !seen {
					g.index[string(k)] = len(header)
					header = append(header, string(k))
				}
			})
		}
		if id := v.Get("id"); id != nil && id.Type() != fastjson.TypeNull {
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

// load lays a Feature out in g.fields, or says why it cannot be.
func (g *geojsonReader) load(raw []byte, c *conv) string {
	v, err := g.parser.ParseBytes(raw)
	if err != nil {
		return "not valid JSON: " + err.Error()
	}
	if v.Type() != fastjson.TypeObject || string(v.GetStringBytes("type")) != "Feature" {
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
	cell := func(col int, key string, x *fastjson.Value) {
		a := len(g.buf)
		isJSON := true
		switch x.Type() {
		case fastjson.TypeNull:
			return
		case fastjson.TypeString:
			g.buf = append(g.buf, x.GetStringBytes()...)
			isJSON = false
		default:
			g.buf = x.MarshalTo(g.buf)
		}
		val := g.buf[a:len(g.buf):len(g.buf)]
		if col >= 0 {
			g.fields[col], c.jsonCells[col] = val, isJSON
		} else {
			c.extra = append(c.extra, extraProp{key: key, val: val, json: isJSON})
		}
	}
	switch p := v.Get("properties"); {
	case p == nil || p.Type() == fastjson.TypeNull:
	case p.Type() == fastjson.TypeObject:
		o, _ := p.Object()
		o.Visit(func(k []byte, x *fastjson.Value) {
			if i, ok := g.index[string(k)]; ok {
				cell(i, "", x)
			} else {
				cell(-1, string(k), x)
			}
		})
	default:
		return "properties is not an object"
	}
	if g.idCol >= 0 {
		if id := v.Get("id"); id != nil {
			cell(g.idCol, "", id)
		}
	}
	c.geomFault = ""
	switch gm := v.Get("geometry"); {
	case gm == nil || gm.Type() == fastjson.TypeNull:
		c.geomFault = "the Feature has no geometry (give --lon and --lat to take the position from properties)"
	default:
		coords := gm.Get("coordinates")
		switch t := string(gm.GetStringBytes("type")); t {
		case "Point":
		case "MultiPoint":
			if pts := gm.GetArray("coordinates"); len(pts) == 1 {
				coords = pts[0]
				break
			}
			c.geomFault = "the geometry is a MultiPoint of more than one point, not a Point"
		default:
			c.geomFault = fmt.Sprintf("the geometry is a %s, not a Point", clipText([]byte(t)))
		}
		if c.geomFault == "" {
			pos, _ := coords.Array()
			if len(pos) < 2 || pos[0].Type() != fastjson.TypeNumber || pos[1].Type() != fastjson.TypeNumber {
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
