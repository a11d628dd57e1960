package output

import (
	"bytes"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
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

// testResult is a small run on a straight line from 30°E to 31°E along
// 48°N, A to the left (north) and B to the right: party B, 12 incursions
// north of the line over four days (a sustained offensive),
// and one isolated incursion 60 km further east. The sightings carry
// properties of every JSON type, one named as a linewatch property
// ("layer") and one differing from a column only by case ("ID").
func testResult(t *testing.T) (*geo.Line, detect.Policy, *detect.Result) {
	t.Helper()
	line, err := geo.Load(strings.NewReader(`{"type":"LineString","coordinates":[[30,48],[30.5,48],[31,48]]}`),
		geo.Options{Left: "A", Right: "B"})
	if err != nil {
		t.Fatal(err)
	}
	pol := detect.DefaultPolicy()
	judge := detect.NewJudge(line, pol)
	day := int64(19844 * 86400) // 2024-05-01
	var viols []*detect.Violation
	add := func(id string, lon, lat float64, sec int64, props string) {
		s := detect.Sighting{ID: id, Time: sec * 1e6, Side: "B", Kind: detect.Ground, Strength: 1,
			Confidence: 1, Shape: detect.Point, Coords: []orb.Point{{lon, lat}}, Props: []byte(props)}
		p := judge.Prepare(&s, uint64(len(viols)+1))
		if p.Violation == nil {
			t.Fatalf("sighting %s is no violation", id)
		}
		viols = append(viols, p.Violation)
	}
	for d := int64(0); d < 4; d++ {
		for i := int64(0); i < 3; i++ {
			id := fmt.Sprintf("s%d%d", d, i)
			props := fmt.Sprintf(`{"unit":"3rd","count":%d,"area":%d.5,"confirmed":%v,"tags":["a","b"],"layer":"mine","ID":"x%d"}`,
				i, i, i%2 == 0, d)
			add(id, 30.2+0.01*float64(i), 48.05+0.005*float64(d), day+d*86400+3600*(8+i), props)
		}
	}
	add("lone", 30.8, 48.02, day+2*86400+7200, `{"unit":"9th","count":null}`)
	res := detect.Aggregate(line, pol, viols)
	if len(res.Episodes) != 1 || len(res.Isolated) != 1 {
		t.Fatalf("%d episodes and %d isolated, want 1 and 1", len(res.Episodes), len(res.Isolated))
	}
	return line, pol, &res
}

func write(t *testing.T, line *geo.Line, pol detect.Policy, res *detect.Result, opt Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, line, pol, res, opt); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type testFeature struct {
	Geometry struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	} `json:"geometry"`
	Properties map[string]any `json:"properties"`
}

func geoJSONFeatures(t *testing.T, b []byte) []testFeature {
	t.Helper()
	var fc struct{ Features []testFeature }
	if err := json.Unmarshal(b, &fc); err != nil {
		t.Fatal(err)
	}
	return fc.Features
}

// Every Feature says which layer it belongs to (SPEC §5 rev 4), and a
// sighting's own "layer" property does not override it.
func TestLayerProperty(t *testing.T) {
	line, pol, res := testResult(t)
	feats := geoJSONFeatures(t, write(t, line, pol, res, Options{Format: GeoJSON, Isolated: true, Evidence: true}))
	want := map[string]string{"LineString": "episode", "Point": "violation"}
	count := map[string]int{}
	for i, f := range feats {
		if got := f.Properties["layer"]; got != want[f.Geometry.Type] {
			t.Errorf("feature %d (%s): layer %v, want %s", i, f.Geometry.Type, got, want[f.Geometry.Type])
		}
		count[f.Geometry.Type]++
	}
	if count["LineString"] != 1 || count["Point"] != 13 {
		t.Errorf("features by geometry: %v, want 1 LineString and 13 Points", count)
	}
}

// The CSV's wkt is the episode's GeoJSON LineString, coordinate for
// coordinate, at 6 decimals.
func TestCSVWKT(t *testing.T) {
	line, pol, res := testResult(t)
	rows, err := csv.NewReader(bytes.NewReader(write(t, line, pol, res, Options{Format: CSV}))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows[0], ","); got != CSVHeader || rows[0][len(rows[0])-1] != "wkt" {
		t.Fatalf("header %s", got)
	}
	feats := geoJSONFeatures(t, write(t, line, pol, res, Options{Format: GeoJSON}))
	if len(rows) != 2 || len(feats) != 1 {
		t.Fatalf("%d rows, %d features", len(rows), len(feats))
	}
	text := rows[1][len(rows[1])-1]
	g, err := wkt.Unmarshal(text)
	if err != nil {
		t.Fatalf("wkt %q: %v", text, err)
	}
	var want [][]float64
	json.Unmarshal(feats[0].Geometry.Coordinates, &want)
	got := g.FlatCoords()
	if len(got) != 2*len(want) || len(want) < 2 {
		t.Fatalf("wkt %s has %d numbers, GeoJSON %d positions", text, len(got), len(want))
	}
	for i, p := range want {
		if got[2*i] != p[0] || got[2*i+1] != p[1] {
			t.Errorf("position %d: wkt %v %v, GeoJSON %v", i, got[2*i], got[2*i+1], p)
		}
	}
	if strings.ContainsAny(text[strings.Index(text, "("):], "eE") {
		t.Errorf("wkt in exponent notation: %s", text)
	}
}

func writeGPKGFile(t *testing.T, opt Options) (string, []byte) {
	t.Helper()
	line, pol, res := testResult(t)
	opt.Format = GPKG
	b := write(t, line, pol, res, opt)
	path := filepath.Join(t.TempDir(), "alerts.gpkg")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, b
}

func query[T any](t *testing.T, db *sql.DB, q string, args ...any) T {
	t.Helper()
	var v T
	if err := db.QueryRow(q, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

// The GeoPackage, read back with the same driver: its three layers with
// their typed columns, one row per GeoJSON Feature, the spatial index of
// each, EPSG:4326, the styles, and dates from the data.
func TestGPKG(t *testing.T) {
	path, _ := writeGPKGFile(t, Options{Isolated: true, Evidence: true})
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := query[int64](t, db, "PRAGMA application_id"); got != 0x47504B47 {
		t.Errorf("application_id %#x, want GPKG", got)
	}
	if got := query[int64](t, db, "PRAGMA user_version"); got != 10200 {
		t.Errorf("user_version %d", got)
	}
	layers := []struct {
		name, geom string
		rows       int
		types      map[string]string // some columns and their types
	}{
		{"episodes", "LINESTRING", 1, map[string]string{"start": "DATETIME", "end": "DATETIME", "km_from": "REAL",
			"violations": "MEDIUMINT", "sectors": "TEXT", "sustained": "BOOLEAN", "criteria": "TEXT", "score": "REAL"}},
		{"violations", "POINT", 13, map[string]string{"time": "DATETIME", "depth_m": "REAL", "id": "TEXT", "episode": "TEXT",
			"unit": "TEXT", "count": "MEDIUMINT", "area": "REAL", "confirmed": "BOOLEAN", "tags": "TEXT", "ID_2": "TEXT"}},
		{"sectors", "LINESTRING", 8, map[string]string{"index": "MEDIUMINT", "length_km": "REAL", "stretch_name": "TEXT"}},
	}
	for _, l := range layers {
		if got := query[string](t, db, "SELECT geometry_type_name FROM gpkg_geometry_columns WHERE table_name = ? AND column_name = 'geom' AND srs_id = 4326", l.name); got != l.geom {
			t.Errorf("%s: geometry type %s, want %s", l.name, got, l.geom)
		}
		if got := query[int](t, db, `SELECT count(*) FROM "`+l.name+`"`); got != l.rows {
			t.Errorf("%s: %d rows, want %d", l.name, got, l.rows)
		}
		if got := query[int](t, db, `SELECT count(*) FROM "rtree_`+l.name+`_geom"`); got != l.rows {
			t.Errorf("%s: %d rows in its R*Tree, want %d", l.name, got, l.rows)
		}
		if got := query[int](t, db, "SELECT count(*) FROM gpkg_extensions WHERE table_name = ? AND column_name = 'geom' AND extension_name = 'gpkg_rtree_index'", l.name); got != 1 {
			t.Errorf("%s: spatial index not declared", l.name)
		}
		if got := query[int](t, db, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?", l.name); got != 6 {
			t.Errorf("%s: %d triggers, want the 6 of the R*Tree extension", l.name, got)
		}
		if got := query[int](t, db, "SELECT count(*) FROM layer_styles WHERE f_table_name = ? AND useAsDefault = 1 AND styleQML LIKE '<!DOCTYPE qgis%'", l.name); got != 1 {
			t.Errorf("%s: %d default styles", l.name, got)
		}
		for col, typ := range l.types {
			if got := query[string](t, db, "SELECT type FROM pragma_table_info(?) WHERE name = ?", l.name, col); got != typ {
				t.Errorf("%s.%s: type %q, want %s", l.name, col, got, typ)
			}
		}
	}
	// The spatial index finds the isolated violation by its box.
	if got := query[string](t, db, `SELECT v.id FROM violations v JOIN rtree_violations_geom r ON r.id = v.fid
		WHERE r.minx >= 30.7 AND r.maxx <= 30.9 AND r.miny >= 48 AND r.maxy <= 48.1`); got != "lone" {
		t.Errorf("R*Tree search found %q, want the isolated violation", got)
	}
	// Values as the GeoJSON has them, typed; a sighting's "layer" is not
	// carried, its "ID" is kept beside linewatch's id.
	if got := query[string](t, db, `SELECT time || '|' || class || '|' || episode || '|' || count || '|' || area || '|' || confirmed || '|' || tags || '|' || "ID_2"
		FROM violations WHERE id = 's21'`); got != `2024-05-03T09:00:00.000Z|sustained_offensive|B-S001-20240501T000000Z|1|1.5|0|["a","b"]|x2` {
		t.Errorf("violation s21: %s", got)
	}
	if got := query[int](t, db, "SELECT count(*) FROM pragma_table_info('violations') WHERE name IN ('layer', 'marker-color')"); got != 0 {
		t.Errorf("violations has %d styling or layer columns", got)
	}
	if got := query[string](t, db, `SELECT start || '|' || "end" || '|' || sectors || '|' || significant || deliberate || sustained FROM episodes`); got != "2024-05-01T00:00:00.000Z|2024-05-05T00:00:00.000Z|S001|111" {
		t.Errorf("episode: %s", got)
	}
	// Every table's date is the end of the last episode, not the clock.
	if got := query[string](t, db, "SELECT group_concat(DISTINCT last_change) FROM gpkg_contents"); got != "2024-05-05T00:00:00.000Z" {
		t.Errorf("last_change %s", got)
	}
}

// The same result gives the same GeoPackage, byte for byte.
func TestGPKGDeterministic(t *testing.T) {
	_, a := writeGPKGFile(t, Options{Isolated: true, Evidence: true})
	_, b := writeGPKGFile(t, Options{Isolated: true, Evidence: true})
	if !bytes.Equal(a, b) {
		t.Fatalf("two GeoPackages of one result differ (%d and %d bytes)", len(a), len(b))
	}
	if !bytes.HasPrefix(a, []byte("SQLite format 3\x00")) {
		t.Fatalf("not an SQLite file")
	}
}

// Without --isolated or --evidence the violations layer is there, empty.
func TestGPKGEpisodesOnly(t *testing.T) {
	path, _ := writeGPKGFile(t, Options{})
	ls, err := gpkg.Layers(path)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(ls)
	want := "[episodes (LINESTRING, 1 features, EPSG:4326) violations (POINT, 0 features, EPSG:4326) sectors (LINESTRING, 8 features, EPSG:4326)]"
	if got != want {
		t.Errorf("layers %s, want %s", got, want)
	}
}

// KML: a Placemark per Feature, styled by class, timed, with the figures.
func TestKML(t *testing.T) {
	line, pol, res := testResult(t)
	b := write(t, line, pol, res, Options{Format: KML, Isolated: true, Evidence: true})
	var doc struct {
		Document struct {
			Style []struct {
				ID        string `xml:"id,attr"`
				LineColor string `xml:"LineStyle>color"`
			} `xml:"Style"`
			Folder []struct {
				Name      string `xml:"name"`
				Placemark []struct {
					Name     string `xml:"name"`
					StyleURL string `xml:"styleUrl"`
					Begin    string `xml:"TimeSpan>begin"`
					When     string `xml:"TimeStamp>when"`
					Coords   string `xml:"Point>coordinates"`
					Data     []struct {
						Name  string `xml:"name,attr"`
						Value string `xml:"value"`
					} `xml:"ExtendedData>Data"`
				} `xml:"Placemark"`
			} `xml:"Folder"`
		} `xml:"Document"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	d := doc.Document
	styles := map[string]string{}
	for _, s := range d.Style {
		styles[s.ID] = s.LineColor
	}
	// KML colours are aabbggrr: #d7191c is ff1c19d7.
	if styles["sustained_offensive"] != "ff1c19d7" || len(styles) != 4 {
		t.Errorf("styles %v", styles)
	}
	if len(d.Folder) != 2 || len(d.Folder[0].Placemark) != 1 || len(d.Folder[1].Placemark) != 13 {
		t.Fatalf("folders: %+v", d.Folder)
	}
	ep := d.Folder[0].Placemark[0]
	data := map[string]string{}
	for _, x := range ep.Data {
		data[x.Name] = x.Value
	}
	if ep.StyleURL != "#sustained_offensive" || ep.Begin != "2024-05-01T00:00:00Z" || data["score"] != "24" || data["sectors"] != "S001" {
		t.Errorf("episode placemark: %s %s %v", ep.StyleURL, ep.Begin, data)
	}
	for _, pm := range d.Folder[1].Placemark {
		if pm.When == "" || (pm.StyleURL != "#sustained_offensive" && pm.StyleURL != "#isolated") {
			t.Errorf("violation %s: style %s, time %q", pm.Name, pm.StyleURL, pm.When)
		}
		if pm.Name == "lone" && (pm.StyleURL != "#isolated" || pm.Coords != "30.8,48.02") {
			t.Errorf("isolated violation: %s at %s", pm.StyleURL, pm.Coords)
		}
	}
	if b2 := write(t, line, pol, res, Options{Format: KML, Isolated: true, Evidence: true}); !bytes.Equal(b, b2) {
		t.Error("two KMLs of one result differ")
	}
}

func TestInferType(t *testing.T) {
	tests := []struct {
		values []string
		want   gpkg.Type
	}{
		{[]string{`1`, `2`, `null`}, gpkg.MediumInt},
		{[]string{`1`, `-2147483649`}, gpkg.Integer},
		{[]string{`1`, `2.5`}, gpkg.Real},
		{[]string{`1e3`}, gpkg.Real},
		{[]string{`true`, `false`}, gpkg.Boolean},
		{[]string{`"a"`, `1`}, gpkg.Text},
		{[]string{`[1]`}, gpkg.Text},
		{[]string{`true`, `1`}, gpkg.Text},
		{[]string{`null`}, gpkg.Text},
		{[]string{`99999999999999999999`}, gpkg.Real},
	}
	for _, tc := range tests {
		var st typeState
		for _, v := range tc.values {
			st.add([]byte(v))
		}
		if got := st.Type(); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.values, got, tc.want)
		}
	}
}

func TestColumnValue(t *testing.T) {
	tests := []struct {
		typ  gpkg.Type
		key  string
		raw  string
		want string
	}{
		{gpkg.Text, "sectors", `["S001","S002"]`, "S001;S002"},
		{gpkg.Text, "evidence", `["a;b","c"]`, `["a;b","c"]`},
		{gpkg.Text, "criteria", `{"x": {"holds": true}, "a": 1}`, `{"x":{"holds":true},"a":1}`},
		{gpkg.Text, "tags", `1.5`, "1.5"},
		{gpkg.Text, "unit", `"3rd \u00e9"`, "3rd é"},
		{gpkg.Integer, "count", `7`, "7"},
		{gpkg.MediumInt, "count", `-7`, "-7"},
		{gpkg.Real, "count", `7`, "7"},
		{gpkg.Boolean, "ok", `false`, "false"},
		{gpkg.DateTime, "time", `"2024-05-01T08:00:00.5Z"`, "2024-05-01 08:00:00.5 +0000 UTC"},
		{gpkg.Text, "x", `null`, "<nil>"},
	}
	for _, tc := range tests {
		v, err := columnValue(tc.typ, tc.key, []byte(tc.raw))
		if err != nil {
			t.Errorf("%s %s: %v", tc.typ, tc.raw, err)
			continue
		}
		if got := fmt.Sprint(v); got != tc.want {
			t.Errorf("%s %s %s: %s, want %s", tc.typ, tc.key, tc.raw, got, tc.want)
		}
	}
	if v, err := columnValue(gpkg.Real, "absent", nil); v != nil || err != nil {
		t.Errorf("an absent property: %v, %v", v, err)
	}
}

// benchResult is testResult's episode with n violations as its evidence.
func benchResult(b *testing.B, n int) (*geo.Line, detect.Policy, *detect.Result) {
	line, pol, res := testResult(&testing.T{})
	ep := res.Episodes[0]
	ev := make([]*detect.Violation, n)
	for i := range ev {
		v := *ep.Evidence[i%len(ep.Evidence)]
		v.ID = fmt.Sprintf("b%07d", i)
		v.Time += int64(i) * 1e6
		ev[i] = &v
	}
	ep.Evidence = ev
	return line, pol, res
}

func BenchmarkWriteGIS(b *testing.B) {
	line, pol, res := benchResult(b, 20000)
	for _, f := range []struct {
		name string
		f    Format
	}{{"geojson", GeoJSON}, {"gpkg", GPKG}, {"kml", KML}} {
		b.Run(f.name, func(b *testing.B) {
			for range b.N {
				var w bytes.Buffer
				if err := Write(&w, line, pol, res, Options{Format: f.f, Evidence: true}); err != nil {
					b.Fatal(err)
				}
				b.SetBytes(int64(w.Len()))
			}
		})
	}
}
