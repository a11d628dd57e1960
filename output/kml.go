package output

import (
	"image/color"
	"io"
	"strconv"
	"strings"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/internal/num"
	"github.com/paulmach/orb"
	"github.com/twpayne/go-geom"
	gkml "github.com/twpayne/go-geom/encoding/kml"
	"github.com/twpayne/go-kml/v3"
	"github.com/twpayne/go-kml/v3/icon"
)

// writeKML writes the features as KML for Google Earth: a folder of
// episodes and one of violations, in the order of the GeoJSON, each
// Placemark styled by its class (the colours of Style), named by its id,
// with its description, its time (a TimeSpan for an episode, a TimeStamp
// for a violation, so that Google Earth's time slider plays them) and
// every property in ExtendedData, as the GeoPackage's columns hold them.
func writeKML(w io.Writer, line *geo.Line, pol detect.Policy, feats []feature) error {
	ls, err := gisLayers(line, pol, feats)
	if err != nil {
		return err
	}
	doc := kml.Document(kml.Name("linewatch"), kml.Open(true))
	for _, c := range classOrder {
		st := Style[c]
		col := kmlColor(st.Color)
		doc.Append(kml.SharedStyle(c.String(),
			kml.LineStyle(kml.Color(col), kml.Width(float64(st.Width))),
			kml.IconStyle(kml.Color(col), kml.Scale(kmlScale[st.Size]),
				kml.Icon(kml.Href(icon.ShapeHref("placemark_circle")))),
		))
	}
	for k, l := range ls {
		folder := kml.Folder(kml.Name([2]string{"Episodes", "Violations"}[k]))
		for _, r := range l.rows {
			pm := kml.Placemark()
			var id, desc string
			data := kml.ExtendedData()
			for i, c := range l.columns {
				s := valueText(r.values[i])
				switch c.Name {
				case "id":
					id = s
				case "description":
					desc = s
				}
				data.Append(kml.Data(c.Name, kml.Value(s)))
			}
			pm.Append(kml.Name(id), kml.Description(desc), kml.StyleURL("#"+r.class.String()))
			if k == 0 {
				pm.Append(kml.TimeSpan(kml.Begin(num.Time(r.start)), kml.End(num.Time(r.end))))
			} else {
				pm.Append(kml.TimeStamp(kml.When(num.Time(r.start))))
			}
			g, err := kmlGeometry(r.geom)
			if err != nil {
				return err
			}
			folder.Append(pm.Append(data, g))
		}
		doc.Append(folder)
	}
	return kml.KML(doc).WriteIndent(w, "", " ")
}

// kmlGeometry encodes a point or a line with go-geom's KML encoding.
func kmlGeometry(g orb.Geometry) (kml.Element, error) {
	switch g := g.(type) {
	case orb.Point:
		return gkml.Encode(geom.NewPointFlat(geom.XY, []float64{g[0], g[1]}))
	case orb.LineString:
		flat := make([]float64, 0, 2*len(g))
		for _, p := range g {
			flat = append(flat, p[0], p[1])
		}
		return gkml.Encode(geom.NewLineStringFlat(geom.XY, flat))
	case orb.MultiLineString:
		var flat []float64
		var ends []int
		for _, ls := range g {
			for _, p := range ls {
				flat = append(flat, p[0], p[1])
			}
			ends = append(ends, len(flat))
		}
		return gkml.Encode(geom.NewMultiLineStringFlat(geom.XY, flat, ends))
	}
	return gkml.Encode(nil)
}

// kmlScale is the icon scale of a simplestyle marker size.
var kmlScale = map[string]float64{"small": 0.6, "medium": 0.8, "large": 1}

// kmlColor is a "#rrggbb" colour, opaque.
func kmlColor(hex string) color.Color {
	v, _ := strconv.ParseUint(strings.TrimPrefix(hex, "#"), 16, 32)
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xff}
}
