package geo

import (
	"errors"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

// multiFront is shaped like a DeepState front-line file: every piece of
// the front in a MultiLineString, then the longest piece again, then a
// polygon of the occupied area; no left or right.
const multiFront = `{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"source":"archive","as_of_date":"2024-02-20","layer":"front_line_all","pieces":2,"method":"boundary of the occupied area, pieces under 3 km dropped"},
 "geometry":{"type":"MultiLineString","coordinates":[[[30,48],[30.2,48],[30.4,48.01]],[[31,48.2],[31.2,48.3]]]}},
{"type":"Feature","id":"longest","properties":{"source":"archive","as_of_date":"2024-02-20","layer":"front_line_longest_piece","length_km":30.1},
 "geometry":{"type":"LineString","coordinates":[[30,48],[30.2,48],[30.4,48.01]]}},
{"type":"Feature","id":7,"properties":{"source":"archive","as_of_date":"2024-02-20","layer":"occupied","area_km2":1.5},
 "geometry":{"type":"Polygon","coordinates":[[[30,48],[30.1,48.1],[30.2,48],[30,48]]]}}
]}`

func loadSel(t *testing.T, text string, where []string, features []string) (*Line, error) {
	t.Helper()
	opt := Options{Left: "UA", Right: "RU"}
	for _, w := range where {
		c, err := ParseCondition(w)
		if err != nil {
			t.Fatal(err)
		}
		opt.Select.Where = append(opt.Select.Where, c)
	}
	for _, f := range features {
		r, err := ParseFeatureRef(f)
		if err != nil {
			t.Fatal(err)
		}
		opt.Select.Features = append(opt.Select.Features, r)
	}
	return Load(strings.NewReader(text), opt)
}

func TestSelectFeatures(t *testing.T) {
	for _, tc := range []struct {
		name            string
		where, features []string
		stretches       int    // of the line loaded, or 0 for an error
		err             string // the start of the error, then every part in want
		want            []string
	}{
		// Every line feature: the Polygon is left out, the two lines overlap.
		{name: "every feature", err: "stretch 0 segment 0–1 overlaps stretch 2 segment 0–1 near 30.000000, 48.000000; the file holds 3 features (pick",
			want: []string{"0: MultiLineString, stretches 0–1 (layer=front_line_all, pieces=2)", "1 (id longest): LineString, stretch 2 (layer=front_line_longest_piece, length_km=30.1)",
				"2 (id 7): Polygon (layer=occupied, area_km2=1.5)", "--line-feature INDEX|ID or --line-where KEY=VALUE"}},
		{name: "where layer", where: []string{"layer=front_line_longest_piece"}, stretches: 1},
		{name: "where number", where: []string{"pieces=2.0"}, stretches: 2},
		{name: "where and where", where: []string{"as_of_date=2024-02-20", "layer=front_line_all"}, stretches: 2},
		{name: "where picks none", where: []string{"as_of_date=2024-02-20", "source=archive", "area_km2="},
			err: "--line-where as_of_date=2024-02-20 --line-where source=archive --line-where area_km2= picks no feature; the file holds 3 features ("},
		{name: "where a key none has", where: []string{"Layer=occupied"},
			err: `--line-where Layer=occupied: no feature has a property "Layer" (properties: source, as_of_date, layer, pieces, method, length_km, area_km2)`},
		{name: "feature index", features: []string{"0"}, stretches: 2},
		{name: "feature id", features: []string{"longest"}, stretches: 1},
		{name: "feature numeric id", features: []string{"id:7"}, err: "feature 2: geometry \"Polygon\""},
		{name: "feature index:", features: []string{"index:1"}, stretches: 1},
		{name: "feature and where", features: []string{"0", "1"}, where: []string{"layer=front_line_longest_piece"}, stretches: 1},
		{name: "two features that overlap", features: []string{"0", "longest"},
			err: "stretch 0 segment 0–1 overlaps stretch 2 segment 0–1", want: []string{"the file holds 3 features, 2 of them picked", "0: MultiLineString, stretches 0–1", "1 (id longest): LineString, stretch 2"}},
		{name: "feature out of range", features: []string{"3"}, err: "--line-feature 3: no feature has that index or id (indexes 0–2)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := loadSel(t, multiFront, tc.where, tc.features)
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if n := len(l.Stretches()); n != tc.stretches {
					t.Fatalf("%d stretches, want %d", n, tc.stretches)
				}
				return
			}
			if err == nil {
				t.Fatalf("loaded %d stretches, want an error %q", len(l.Stretches()), tc.err)
			}
			if !strings.HasPrefix(err.Error(), tc.err) {
				t.Fatalf("error %q, want %q…", err, tc.err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q has no %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "boundary of the occupied") {
				t.Errorf("error %q is more than one line, or shows a long value", err)
			}
		})
	}
}

// A file of a line beside the areas either side of it: the line is its
// one line feature, with no flag to pick it. With no line at all, the
// error names what the features are.
func TestLineBesideAreas(t *testing.T) {
	area := `{"type":"Feature","properties":{"layer":"occupied"},"geometry":{"type":"Polygon","coordinates":[[[30,48],[30.1,48.1],[30.2,48],[30,48]]]}}`
	line := `{"type":"Feature","properties":{"layer":"contact"},"geometry":{"type":"LineString","coordinates":[[30,48],[30.2,48]]}}`
	l, err := loadSel(t, `{"type":"FeatureCollection","features":[`+area+","+line+","+area+`]}`, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(l.Stretches()); n != 1 || l.Stretches()[0].Coords[1] != (orb.Point{30.2, 48}) {
		t.Fatalf("%d stretches %v, want the LineString", n, l.Stretches())
	}
	_, err = loadSel(t, `{"type":"FeatureCollection","features":[`+area+","+area+`]}`, nil, nil)
	if err == nil || !strings.HasPrefix(err.Error(), `feature 0: geometry "Polygon" is not a LineString or MultiLineString; the file holds 2 features`) {
		t.Fatalf("two areas: %v", err)
	}
}

// An index that is another feature's id is ambiguous.
func TestSelectAmbiguous(t *testing.T) {
	fc := `{"type":"FeatureCollection","features":[
{"type":"Feature","id":1,"properties":{},"geometry":{"type":"LineString","coordinates":[[30,48],[30.2,48]]}},
{"type":"Feature","id":2,"properties":{},"geometry":{"type":"LineString","coordinates":[[31,48],[31.2,48]]}}]}`
	_, err := loadSel(t, fc, nil, []string{"1"})
	if err == nil || !strings.Contains(err.Error(), "--line-feature 1: feature 1 has that index and feature 0 that id: write --line-feature index:1 or --line-feature id:1") {
		t.Fatalf("error %v", err)
	}
	for _, ref := range []string{"index:1", "id:2"} {
		l, err := loadSel(t, fc, nil, []string{ref})
		if err != nil || l.Stretches()[0].Coords[0][0] != 31 {
			t.Fatalf("%s: %v", ref, err)
		}
	}
	// A bare geometry has no features to pick.
	if _, err := loadSel(t, `{"type":"LineString","coordinates":[[30,48],[30.2,48]]}`, nil, []string{"0"}); err == nil ||
		err.Error() != "--line-feature 0 picks features, but the line is a bare LineString" {
		t.Fatalf("bare geometry: %v", err)
	}
}

func TestParseSelection(t *testing.T) {
	for _, bad := range []string{"layer", "=x", ""} {
		if _, err := ParseCondition(bad); err == nil {
			t.Errorf("ParseCondition(%q) took it", bad)
		}
	}
	if c, err := ParseCondition("name=a=b"); err != nil || c.Key != "name" || c.Value != "a=b" {
		t.Errorf("ParseCondition(name=a=b) = %+v, %v", c, err)
	}
	for _, bad := range []string{"", "index:x", "index:-1", "id:"} {
		if _, err := ParseFeatureRef(bad); err == nil {
			t.Errorf("ParseFeatureRef(%q) took it", bad)
		}
	}
}

// A crs other than WGS 84 longitude/latitude is one clear error with the
// command that fixes it.
func TestCRS(t *testing.T) {
	line := func(crs string) string {
		return `{"type":"FeatureCollection",` + crs + `"features":[{"type":"Feature","properties":{"left":"A","right":"B"},
"geometry":{"type":"LineString","coordinates":[[30,48],[30.2,48]]}}]}`
	}
	for _, ok := range []string{"", `"crs":null,`,
		`"crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}},`,
		`"crs":{"type":"name","properties":{"name":"EPSG:4326"}},`,
		`"crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4326"}},`,
		`"crs":{"type":"name","properties":{"name":"http://www.opengis.net/def/crs/EPSG/0/4326"}},`,
		`"crs":{"type":"EPSG","properties":{"code":4326}},`,
	} {
		if _, err := Load(strings.NewReader(line(ok)), Options{}); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for crs, want := range map[string]string{
		`"crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3857"}},`: "the GeoJSON's coordinates are in urn:ogc:def:crs:EPSG::3857, not WGS 84 longitude/latitude (RFC 7946): reproject the file with ogr2ogr -t_srs EPSG:4326 OUT.geojson IN.geojson",
		`"crs":{"type":"EPSG","properties":{"code":32636}},`:                        "the GeoJSON's coordinates are in EPSG:32636,",
		`"crs":{"type":"name","properties":{"name":"EPSG:43260"}},`:                 "the GeoJSON's coordinates are in EPSG:43260,",
	} {
		_, err := Load(strings.NewReader(line(crs)), Options{})
		var ce *CRSError
		if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v, want %q", crs, err, want)
		}
	}
	err := (&CRSError{CRS: "EPSG:3857", Path: "data/front.geojson"}).Error()
	if !strings.HasSuffix(err, "ogr2ogr -t_srs EPSG:4326 front-wgs84.geojson data/front.geojson") {
		t.Errorf("with the path: %s", err)
	}
}
