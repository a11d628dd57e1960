package gpkg

import (
	"bytes"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/twpayne/go-geom"
	gwkb "github.com/twpayne/go-geom/encoding/wkb"
)

// testLayers are a line layer and a point layer, with a column of each
// type and a NULL.
func testLayers() []Layer {
	t0 := time.Date(2024, 1, 15, 6, 30, 0, 123456000, time.UTC)
	return []Layer{{
		Name: "episodes", Description: "episodes", GeometryType: "LINESTRING",
		Columns: []Column{{"id", Text}, {"start", DateTime}, {"km_from", Real}, {"violations", Integer}, {"significant", Boolean}},
		Features: []Feature{
			{orb.LineString{{30, 48}, {30.5, 48.1}, {31, 48}}, []any{"A-S001", t0, 12.5, int64(7), true}},
			{orb.LineString{{32, 47}, {32.25, 47.5}}, []any{"A-S009", t0.Add(time.Hour), 80.0, int64(3), false}},
		},
		StyleQML: `<qgis version="3.22.0"/>`,
	}, {
		Name: "violations", Description: "violations", GeometryType: "POINT",
		Columns:  []Column{{"id", Text}, {"time", DateTime}, {"depth_m", Real}, {"track", Text}},
		Features: []Feature{{orb.Point{30.2, 48.03}, []any{"s1", t0, 3306.667, nil}}},
	}, {
		Name: "empty", GeometryType: "POINT", Columns: []Column{{"id", Text}},
	}}
}

func writeTest(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.gpkg")
	if err := Write(path, time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC), testLayers()...); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("GPKG_TEST_KEEP"); dir != "" {
		b, _ := os.ReadFile(path)
		os.WriteFile(filepath.Join(dir, "test.gpkg"), b, 0o644)
	}
	return path
}

func TestWriteDeterministic(t *testing.T) {
	a, _ := os.ReadFile(writeTest(t))
	b, _ := os.ReadFile(writeTest(t))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Fatalf("two writes of the same layers differ (%d and %d bytes)", len(a), len(b))
	}
}

func TestIsGeoPackage(t *testing.T) {
	tests := []struct {
		path string
		want bool
	}{
		{"../fixtures/lines/front-2024.gpkg", true},
		{"../fixtures/lines/front-2024.geojson", false},
		{"gpkg_test.go", false},
	}
	for _, tc := range tests {
		got, err := IsGeoPackage(tc.path)
		if err != nil || got != tc.want {
			t.Errorf("IsGeoPackage(%s) = %v, %v; want %v", tc.path, got, err, tc.want)
		}
	}
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, nil, 0o644)
	if got, err := IsGeoPackage(empty); got || err != nil {
		t.Errorf("empty file: %v, %v", got, err)
	}
}

// A GeoPackage written by GDAL (ogr2ogr -f GPKG from front-2024.geojson)
// reads back as the same line: same stretches, coordinates and
// properties.
func TestReadGDALLine(t *testing.T) {
	l, err := LineLayer("../fixtures/lines/front-2024.gpkg", "")
	if err != nil {
		t.Fatal(err)
	}
	if l.Name != "front-2024" || l.SRS != "EPSG:4326" || l.Features != 3 || !l.Line() {
		t.Errorf("layer %+v", l)
	}
	fc, err := FeatureCollection("../fixtures/lines/front-2024.gpkg", l)
	if err != nil {
		t.Fatal(err)
	}
	got := readFC(t, fc)
	src, _ := os.ReadFile("../fixtures/lines/front-2024.geojson")
	want := readFC(t, src)
	if len(got.Features) != len(want.Features) {
		t.Fatalf("%d features, want %d", len(got.Features), len(want.Features))
	}
	for i := range want.Features {
		g, w := got.Features[i], want.Features[i]
		if g.ID != float64(i+1) {
			t.Errorf("feature %d: id %v, want its fid %d", i, g.ID, i+1)
		}
		// A table has every column in every row: NULL where the GeoJSON
		// Feature had no such property.
		for k, v := range g.Properties {
			if _, ok := w.Properties[k]; !ok && v == nil {
				delete(g.Properties, k)
			}
		}
		if fmt.Sprint(g.Properties) != fmt.Sprint(w.Properties) {
			t.Errorf("feature %d: properties %v, want %v", i, g.Properties, w.Properties)
		}
		if g.Geometry.Type != w.Geometry.Type || fmt.Sprint(g.Geometry.Coordinates) != fmt.Sprint(w.Geometry.Coordinates) {
			t.Errorf("feature %d: geometry differs", i)
		}
	}
}

type fcJSON struct {
	Features []struct {
		ID       any `json:"id"`
		Geometry struct {
			Type        string `json:"type"`
			Coordinates any    `json:"coordinates"`
		} `json:"geometry"`
		Properties map[string]any `json:"properties"`
	} `json:"features"`
}

func readFC(t *testing.T, b []byte) fcJSON {
	t.Helper()
	var fc fcJSON
	if err := json.Unmarshal(b, &fc); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	return fc
}

// Reading back what Write wrote: every column type, NULL, the fid as id.
func TestReadBack(t *testing.T) {
	path := writeTest(t)
	l, err := LineLayer(path, "violations")
	if err != nil {
		t.Fatal(err)
	}
	fc, err := FeatureCollection(path, l)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"FeatureCollection","features":[` + "\n" +
		`{"type":"Feature","id":1,"geometry":{"type":"Point","coordinates":[30.2,48.03]},"properties":{"id":"s1","time":"2024-01-15T06:30:00.123Z","depth_m":3306.667,"track":null}}` +
		"\n]}\n"
	if string(fc) != want {
		t.Errorf("got  %s\nwant %s", fc, want)
	}
	l, _ = LineLayer(path, "EPISODES") // a layer name as SQLite reads it, without case
	fc, err = FeatureCollection(path, l)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(fc, []byte(`"properties":{"id":"A-S009","start":"2024-01-15T07:30:00.123Z","km_from":80,"violations":3,"significant":false}`)) {
		t.Errorf("episodes: %s", fc)
	}
}

func TestPickLine(t *testing.T) {
	a := LayerInfo{Name: "front", GeometryType: "LINESTRING", Features: 3, SRS: "EPSG:4326"}
	b := LayerInfo{Name: "old_front", GeometryType: "MULTILINESTRING", Features: 1, SRS: "EPSG:4326"}
	p := LayerInfo{Name: "towns", GeometryType: "POINT", Features: 9, SRS: "EPSG:4326"}
	g := LayerInfo{Name: "mixed", GeometryType: "GEOMETRY", Features: 2, SRS: "EPSG:4326"}
	tests := []struct {
		layers  []LayerInfo
		name    string
		want    string // layer name, or a piece of the error
		wantErr bool
	}{
		{[]LayerInfo{a, p}, "", "front", false},
		{[]LayerInfo{p, b}, "", "old_front", false},
		{[]LayerInfo{a, b, p}, "", "2 line layers, pick one with --line-layer NAME: front (LINESTRING, 3 features, EPSG:4326); old_front (MULTILINESTRING", true},
		{[]LayerInfo{a, b, p}, "old_front", "old_front", false},
		{[]LayerInfo{a, b, p}, "Towns", "towns", false},
		{[]LayerInfo{g}, "", "mixed", false},
		{[]LayerInfo{g, p}, "", "no line layer among 2 feature layers", true},
		{[]LayerInfo{a}, "nope", `no layer "nope"; the feature layers are: front (LINESTRING`, true},
		{nil, "", "no feature layer", true},
	}
	for _, tc := range tests {
		l, err := pickLine(tc.layers, tc.name)
		switch {
		case tc.wantErr && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%v %q: error %v, want %q", tc.layers, tc.name, err, tc.want)
		case !tc.wantErr && (err != nil || l.Name != tc.want):
			t.Errorf("%v %q: %s, %v; want %s", tc.layers, tc.name, l.Name, err, tc.want)
		}
	}
}

// A layer in another CRS is refused with the command that converts it.
func TestReadOtherCRS(t *testing.T) {
	path := writeTest(t)
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO gpkg_spatial_ref_sys VALUES ('WGS 84 / Pseudo-Mercator', 3857, 'EPSG', 3857, 'PROJCS["WGS 84 / Pseudo-Mercator"]', '')`,
		`UPDATE gpkg_geometry_columns SET srs_id = 3857 WHERE table_name = 'episodes'`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	l, err := LineLayer(path, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = FeatureCollection(path, l)
	if err == nil || !strings.Contains(err.Error(), "layer episodes is in EPSG:3857") || !strings.Contains(err.Error(), "ogr2ogr -t_srs EPSG:4326") {
		t.Errorf("error %v", err)
	}
}

// Z and M are dropped: the line is read in two dimensions.
func TestDecodeGeometry3D(t *testing.T) {
	ls := geom.NewLineStringFlat(geom.XYZM, []float64{30, 48, 100, 1, 31, 48.5, 120, 2})
	body, err := gwkb.Marshal(ls, binary.LittleEndian)
	if err != nil {
		t.Fatal(err)
	}
	blob := append([]byte{'G', 'P', 0, 1, 0xe6, 0x10, 0, 0}, body...) // no envelope, SRS 4326
	g, err := geometryJSON(blob)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"type":"LineString","coordinates":[[30,48],[31,48.5]]}`; string(g) != want {
		t.Errorf("got %s, want %s", g, want)
	}
	for _, bad := range [][]byte{nil, []byte("GP"), []byte("XX\x00\x01\x00\x00\x00\x00"), append([]byte{'G', 'P', 0, 1 | 2, 0xe6, 0x10, 0, 0}, body[:4]...)} {
		if _, err := geometryJSON(bad); err == nil {
			t.Errorf("blob %x: no error", bad)
		}
	}
}

// A geometry blob: header, envelope for a line, none for a point.
func TestEncodeGeometry(t *testing.T) {
	b, err := encodeGeometry(orb.Point{30.5, 48}, SRSID)
	if err != nil || len(b) != 8+21 || b[3] != 1 {
		t.Fatalf("point blob %x, %v", b, err)
	}
	b, err = encodeGeometry(orb.LineString{{30, 48}, {31, 49}}, SRSID)
	if err != nil || len(b) != 8+32+9+32 || b[3] != 3 {
		t.Fatalf("line blob %x, %v", b, err)
	}
	srs, g, err := decodeGeometry(b)
	if err != nil || srs != 4326 || fmt.Sprint(g.FlatCoords()) != "[30 48 31 49]" {
		t.Errorf("read back %d %v %v", srs, g, err)
	}
}

// Write refuses a value that does not fit its column, and leaves no file.
func TestWriteRefusesBadValues(t *testing.T) {
	tests := []struct {
		col  Column
		v    any
		want string
	}{
		{Column{"n", MediumInt}, int64(1 << 40), "out of range"},
		{Column{"n", Integer}, "7", "a value of type string"},
		{Column{"t", DateTime}, "2024-01-01", "a value of type string"},
		{Column{"b", Boolean}, int64(1), "a value of type int64"},
		{Column{"s", Text}, 1.5, "a value of type float64"},
	}
	for _, tc := range tests {
		path := filepath.Join(t.TempDir(), "bad.gpkg")
		l := Layer{Name: "l", GeometryType: "POINT", Columns: []Column{tc.col},
			Features: []Feature{{Geometry: orb.Point{1, 2}, Values: []any{tc.v}}}}
		err := Write(path, time.Unix(0, 0), l)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "layer l: feature 0") {
			t.Errorf("%v %#v: error %v, want %q", tc.col, tc.v, err, tc.want)
		}
		if _, err := os.Stat(path); err == nil {
			t.Errorf("%v: a file is left", tc.col)
		}
	}
	for _, l := range []Layer{
		{Name: "l", GeometryType: "POLYGON"},
		{Name: "l", GeometryType: "POINT", Columns: []Column{{"a", Text}, {"A", Text}}},
		{Name: "l", GeometryType: "POINT", Columns: []Column{{"a", Text}}, Features: []Feature{{Geometry: orb.Point{1, 2}}}},
	} {
		if err := Write(filepath.Join(t.TempDir(), "bad.gpkg"), time.Unix(0, 0), l); err == nil {
			t.Errorf("%+v: no error", l)
		}
	}
}

// A file name with the characters an SQLite URI gives a meaning to.
func TestOddFileName(t *testing.T) {
	path := filepath.Join(t.TempDir(), "front 100% #2?.gpkg")
	if err := Write(path, time.Unix(0, 0), testLayers()...); err != nil {
		t.Fatal(err)
	}
	ls, err := Layers(path)
	if err != nil || len(ls) != 3 {
		t.Fatalf("layers %v, %v", ls, err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	if names, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*")); len(names) != 1 {
		t.Errorf("files %v, want the one GeoPackage", names)
	}
}
