package output

import (
	"fmt"
	"html"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/gpkg"
	"github.com/linewatch/linewatch/internal/num"
	"github.com/paulmach/orb"
)

// writeGPKG writes the features as a GeoPackage with three layers:
// episodes (LINESTRING), violations (POINT; empty without --isolated or
// --evidence) and the line's sectors (LINESTRING), each with a default
// QGIS style that colours classes as the report does. SQLite needs a
// file, so the GeoPackage is made in a temporary file and copied to w.
func writeGPKG(w io.Writer, line *geo.Line, pol detect.Policy, feats []feature) error {
	ls, err := gisLayers(line, pol, feats)
	if err != nil {
		return err
	}
	layers := make([]gpkg.Layer, 0, 3)
	for k, l := range ls {
		gl := gpkg.Layer{
			Name:         l.name,
			Description:  [2]string{"linewatch episodes: the line cut where each episode lies", "linewatch violations: where each lies"}[k],
			GeometryType: [2]string{"LINESTRING", "POINT"}[k],
			Columns:      l.columns,
			StyleQML:     styleQML(k == 0),
		}
		for _, r := range l.rows {
			gl.Features = append(gl.Features, gpkg.Feature{Geometry: r.geom, Values: r.values})
		}
		layers = append(layers, promoteMulti(gl))
	}
	layers = append(layers, promoteMulti(sectorLayer(line)))

	f, err := os.CreateTemp("", "linewatch-*.gpkg")
	if err != nil {
		return err
	}
	path := f.Name()
	f.Close()
	defer os.Remove(path)
	if err := gpkg.Write(path, lastChange(ls), layers...); err != nil {
		return fmt.Errorf("GeoPackage: %w", err)
	}
	if f, err = os.Open(path); err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// sectorLayer is the line's sector layout, with the properties of
// `linewatch sectors` (SPEC §8).
func sectorLayer(line *geo.Line) gpkg.Layer {
	l := gpkg.Layer{
		Name: "sectors", Description: "the agreed line cut into sectors", GeometryType: "LINESTRING",
		Columns: []gpkg.Column{
			{Name: "id", Type: gpkg.Text}, {Name: "index", Type: gpkg.MediumInt}, {Name: "km_from", Type: gpkg.Real},
			{Name: "km_to", Type: gpkg.Real}, {Name: "length_km", Type: gpkg.Real}, {Name: "stretch", Type: gpkg.MediumInt},
			{Name: "stretch_name", Type: gpkg.Text},
		},
		StyleQML: sectorQML,
	}
	for _, s := range line.Sectors() {
		var name any
		if s.StretchName != "" {
			name = s.StretchName
		}
		parts := geo.SplitAntimeridian(line.Substring(s.Stretch, s.KmFrom, s.KmTo))
		var g orb.Geometry = round6(parts[0])
		if len(parts) > 1 {
			mls := make(orb.MultiLineString, len(parts))
			for i, p := range parts {
				mls[i] = round6(p)
			}
			g = mls
		}
		l.Features = append(l.Features, gpkg.Feature{
			Geometry: g,
			Values: []any{s.ID, int64(s.Index), num.Round(s.KmFrom, 3), num.Round(s.KmTo, 3),
				num.Round(s.LengthKm(), 3), int64(s.Stretch), name},
		})
	}
	return l
}

// promoteMulti makes a LINESTRING layer of which some feature is a
// MultiLineString (cut at the antimeridian) a MULTILINESTRING layer, each
// of its LineStrings a MultiLineString of one part: a GeoPackage layer
// holds one geometry type. A layer whose lines cross no antimeridian
// stays LINESTRING.
func promoteMulti(l gpkg.Layer) gpkg.Layer {
	multi := false
	for _, f := range l.Features {
		_, ok := f.Geometry.(orb.MultiLineString)
		multi = multi || ok
	}
	if !multi || l.GeometryType != "LINESTRING" {
		return l
	}
	l.GeometryType = "MULTILINESTRING"
	for i, f := range l.Features {
		if ls, ok := f.Geometry.(orb.LineString); ok {
			l.Features[i].Geometry = orb.MultiLineString{ls}
		}
	}
	return l
}

// round6 rounds a line's coordinates to 6 decimals (SPEC §9) and drops the
// repeated positions that rounding may make, keeping at least two.
func round6(ls orb.LineString) orb.LineString {
	out := make(orb.LineString, 0, len(ls))
	for i, p := range ls {
		q := orb.Point{num.Round(p[0], 6), num.Round(p[1], 6)}
		if len(out) > 0 && q == out[len(out)-1] && !(i == len(ls)-1 && len(out) == 1) {
			continue
		}
		out = append(out, q)
	}
	return out
}

// classOrder lists the classes as a legend does, the gravest first.
var classOrder = []detect.Class{detect.SustainedOffensive, detect.SustainedBombardment, detect.Escalation, detect.Isolated}

// qgisColor is a "#rrggbb" colour as QGIS writes one: "r,g,b,a".
func qgisColor(hex string) string {
	v, _ := strconv.ParseUint(strings.TrimPrefix(hex, "#"), 16, 32)
	return fmt.Sprintf("%d,%d,%d,255", v>>16, v>>8&0xff, v&0xff)
}

// markerMM is the diameter in millimetres of a simplestyle marker size.
var markerMM = map[string]string{"small": "1.6", "medium": "2.2", "large": "2.8"}

// styleQML is the default QGIS style of the episodes (lines) or the
// violations (points): a symbol per class, in the colours of Style and of
// the report, widths from Style's pixels at 0.3 mm each; the description
// as map tip; and time from the start and end (or time) fields, so that
// QGIS's temporal controller animates the layer (QGIS 3.22 applies the
// symbols and map tip as it opens the layer, the time settings only when
// the default style is restored).
func styleQML(episodes bool) string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n<qgis version=\"3.22.0\">\n")
	if episodes {
		b.WriteString(`  <temporal enabled="1" mode="2" startField="start" endField="end" startExpression="" endExpression="" durationField="" durationUnit="min" fixedDuration="0" accumulate="0" limitMode="0"/>` + "\n")
	} else {
		b.WriteString(`  <temporal enabled="1" mode="1" startField="time" endField="" startExpression="" endExpression="" durationField="" durationUnit="min" fixedDuration="0" accumulate="0" limitMode="0"/>` + "\n")
	}
	b.WriteString(`  <renderer-v2 type="categorizedSymbol" attr="class" forceraster="0" symbollevels="0" enableorderby="0">` + "\n    <categories>\n")
	classes := classOrder
	if episodes {
		classes = classes[:3]
	}
	for i, c := range classes {
		fmt.Fprintf(&b, "      <category render=\"true\" symbol=\"%d\" value=\"%s\" label=\"%s\"/>\n",
			i, c, strings.ReplaceAll(c.String(), "_", " "))
	}
	b.WriteString("    </categories>\n    <symbols>\n")
	for i, c := range classes {
		st := Style[c]
		if episodes {
			fmt.Fprintf(&b, `      <symbol type="line" name="%d" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleLine" enabled="1" locked="0" pass="0">
          <prop k="capstyle" v="round"/>
          <prop k="joinstyle" v="round"/>
          <prop k="line_color" v="%s"/>
          <prop k="line_style" v="solid"/>
          <prop k="line_width" v="%s"/>
          <prop k="line_width_unit" v="MM"/>
        </layer>
      </symbol>
`, i, qgisColor(st.Color), num.Format(float64(st.Width)*0.3, 2))
			continue
		}
		fmt.Fprintf(&b, `      <symbol type="marker" name="%d" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleMarker" enabled="1" locked="0" pass="0">
          <prop k="color" v="%s"/>
          <prop k="name" v="circle"/>
          <prop k="outline_color" v="255,255,255,255"/>
          <prop k="outline_style" v="solid"/>
          <prop k="outline_width" v="0.2"/>
          <prop k="outline_width_unit" v="MM"/>
          <prop k="size" v="%s"/>
          <prop k="size_unit" v="MM"/>
        </layer>
      </symbol>
`, i, qgisColor(st.Color), markerMM[st.Size])
	}
	b.WriteString("    </symbols>\n  </renderer-v2>\n")
	b.WriteString("  <mapTip>" + html.EscapeString(`[% "description" %]`) + "</mapTip>\n")
	b.WriteString("  <previewExpression>\"title\"</previewExpression>\n")
	geomType := "0"
	if episodes {
		geomType = "1"
	}
	b.WriteString("  <layerGeometryType>" + geomType + "</layerGeometryType>\n</qgis>\n")
	return b.String()
}

// sectorQML draws the sectors as a thin grey line.
const sectorQML = `<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<qgis version="3.22.0">
  <renderer-v2 type="singleSymbol" forceraster="0" symbollevels="0" enableorderby="0">
    <symbols>
      <symbol type="line" name="0" alpha="1" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleLine" enabled="1" locked="0" pass="0">
          <prop k="capstyle" v="flat"/>
          <prop k="joinstyle" v="round"/>
          <prop k="line_color" v="120,120,120,255"/>
          <prop k="line_style" v="solid"/>
          <prop k="line_width" v="0.4"/>
          <prop k="line_width_unit" v="MM"/>
        </layer>
      </symbol>
    </symbols>
  </renderer-v2>
  <previewExpression>"id"</previewExpression>
  <layerGeometryType>1</layerGeometryType>
</qgis>
`
