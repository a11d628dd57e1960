package output

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/gpkg"
	"github.com/paulmach/orb"
	"github.com/twpayne/go-geom/encoding/wkt"
)

// antimeridianResult is one episode on a line along 60° N that crosses
// the antimeridian in its sector S002 (km 20–30): B's incursions north of
// the line on both sides of ±180 on one day.
func antimeridianResult(t *testing.T) (*geo.Line, detect.Policy, *detect.Result) {
	t.Helper()
	line, err := geo.Load(strings.NewReader(`{"type":"LineString","coordinates":[[179.5,60],[179.9,60],[-179.9,60],[-179.5,60]]}`),
		geo.Options{Left: "A", Right: "B"})
	if err != nil {
		t.Fatal(err)
	}
	pol := detect.DefaultPolicy()
	judge := detect.NewJudge(line, pol)
	var viols []*detect.Violation
	for i, lon := range []float64{179.95, -179.97, 179.99} {
		s := detect.Sighting{ID: string(rune('a' + i)), Time: (19844*86400 + int64(i)*3600) * 1e6, Side: "B", Kind: detect.Ground,
			Strength: 1, Confidence: 1, Shape: detect.Point, Coords: []orb.Point{{lon, 60.02}}}
		p := judge.Prepare(&s, uint64(i+1))
		if p.Violation == nil {
			t.Fatalf("sighting %s is no violation", s.ID)
		}
		viols = append(viols, p.Violation)
	}
	res := detect.Aggregate(line, pol, viols)
	if len(res.Episodes) != 1 || line.SectorID(res.Episodes[0].Sectors[0]) != "S002" {
		t.Fatalf("%d episodes, want 1 in S002", len(res.Episodes))
	}
	return line, pol, &res
}

// checkCut checks that parts are the line from 179.5° E to 179.5° W cut
// at the antimeridian: two parts, the first ending at 180 and the second
// starting at -180 at the same latitude, and no jump of longitude within
// a part.
func checkCut(t *testing.T, what string, parts [][][2]float64) {
	t.Helper()
	if len(parts) != 2 {
		t.Fatalf("%s: %d parts, want 2 (cut at the antimeridian): %v", what, len(parts), parts)
	}
	a, b := parts[0], parts[1]
	if a[len(a)-1][0] != 180 || b[0][0] != -180 || a[len(a)-1][1] != b[0][1] {
		t.Errorf("%s: parts meet at %v and %v, want 180 and -180 at one latitude", what, a[len(a)-1], b[0])
	}
	for _, p := range parts {
		for i := 1; i < len(p); i++ {
			if math.Abs(p[i][0]-p[i-1][0]) > 1 {
				t.Errorf("%s: a part jumps from %v to %v", what, p[i-1], p[i])
			}
		}
	}
}

// An episode across the antimeridian is a MultiLineString of the pieces
// on either side (RFC 7946 §3.1.9), in GeoJSON and GeoJSONSeq, the CSV's
// WKT, the GeoPackage and KML alike; map tools would otherwise draw a line
// across the whole map. The sectors layer of the GeoPackage too.
func TestEpisodeAcrossTheAntimeridian(t *testing.T) {
	line, pol, res := antimeridianResult(t)
	var geojson [][][2]float64
	for _, f := range []Format{GeoJSON, GeoJSONSeq} {
		b := write(t, line, pol, res, Options{Format: f})
		if f == GeoJSONSeq {
			b = append(append([]byte(`{"features":[`), bytes.TrimSpace(b)...), "]}"...)
		}
		feats := geoJSONFeatures(t, b)
		if len(feats) != 1 || feats[0].Geometry.Type != "MultiLineString" {
			t.Fatalf("format %d: %d features, geometry %s; want a MultiLineString", f, len(feats), feats[0].Geometry.Type)
		}
		if err := json.Unmarshal(feats[0].Geometry.Coordinates, &geojson); err != nil {
			t.Fatal(err)
		}
		checkCut(t, "GeoJSON", geojson)
	}

	rows, err := csv.NewReader(bytes.NewReader(write(t, line, pol, res, Options{Format: CSV}))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	text := rows[1][len(rows[1])-1]
	g, err := wkt.Unmarshal(text)
	if err != nil || !strings.HasPrefix(text, "MULTILINESTRING") {
		t.Fatalf("wkt %q: %v", text, err)
	}
	var fromWKT [][][2]float64
	ends, flat, start := g.Ends(), g.FlatCoords(), 0
	for _, end := range ends {
		var part [][2]float64
		for i := start; i < end; i += 2 {
			part = append(part, [2]float64{flat[i], flat[i+1]})
		}
		fromWKT = append(fromWKT, part)
		start = end
	}
	if got, want := jsonText(fromWKT), jsonText(geojson); got != want {
		t.Errorf("wkt %s\nGeoJSON %s", got, want)
	}

	path := filepath.Join(t.TempDir(), "alerts.gpkg")
	if err := os.WriteFile(path, write(t, line, pol, res, Options{Format: GPKG}), 0o644); err != nil {
		t.Fatal(err)
	}
	layers, err := gpkg.Layers(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range layers {
		if l.Name == "violations" {
			continue
		}
		if l.GeometryType != "MULTILINESTRING" {
			t.Errorf("GeoPackage layer %s: %s, want MULTILINESTRING", l.Name, l.GeometryType)
		}
		fc, err := gpkg.FeatureCollection(path, l)
		if err != nil {
			t.Fatal(err)
		}
		feats := geoJSONFeatures(t, fc)
		for i, f := range feats {
			var parts [][][2]float64
			if f.Geometry.Type != "MultiLineString" || json.Unmarshal(f.Geometry.Coordinates, &parts) != nil {
				t.Fatalf("GeoPackage %s feature %d: %s", l.Name, i, f.Geometry.Type)
			}
			if l.Name == "episodes" {
				checkCut(t, "GeoPackage", parts)
				if got, want := jsonText(parts), jsonText(geojson); got != want {
					t.Errorf("GeoPackage %s\nGeoJSON %s", got, want)
				}
			}
			if l.Name == "sectors" && f.Properties["id"] == "S002" {
				checkCut(t, "GeoPackage sector S002", parts)
			}
		}
	}

	var doc struct {
		Placemark []struct {
			Lines []string `xml:"MultiGeometry>LineString>coordinates"`
		} `xml:"Document>Folder>Placemark"`
	}
	if err := xml.Unmarshal(write(t, line, pol, res, Options{Format: KML}), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Placemark) != 1 {
		t.Fatalf("KML: %d placemarks", len(doc.Placemark))
	}
	var fromKML [][][2]float64
	for _, l := range doc.Placemark[0].Lines {
		var part [][2]float64
		for _, xy := range strings.Fields(l) {
			var p [2]float64
			if err := json.Unmarshal([]byte("["+xy+"]"), &p); err != nil {
				t.Fatalf("KML coordinates %q: %v", xy, err)
			}
			part = append(part, p)
		}
		fromKML = append(fromKML, part)
	}
	checkCut(t, "KML", fromKML)
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
