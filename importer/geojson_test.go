package importer

import (
	"strings"
	"testing"
)

// rowsOf reads text with the options and returns the rows and the Rows.
func rowsOf(t *testing.T, opt Options, text string) ([]got, *Rows) {
	t.Helper()
	im, err := New(opt)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	rs, err := im.Rows("t", strings.NewReader(text))
	if err != nil {
		t.Fatalf("Rows: %v", err)
	}
	return importWith(t, im, text), rs
}

// ucdpFeatures are UCDP GED events as ogr2ogr writes them from the CSV
// export: the columns as properties, typed; the position as a Point.
const ucdpFeatures = `{"type":"Feature","properties":{"id":900001,"date_start":"2024-05-01","date_end":"2024-05-01","where_prec":1,"best":2,"longitude":30.61,"latitude":47.98,"sources":["a","b"]},"geometry":{"type":"Point","coordinates":[30.61,47.98]}}
{"type":"Feature","properties":{"id":900002,"date_start":"2024-05-01","date_end":"2024-05-04","where_prec":2,"best":null,"longitude":30.525,"latitude":48.052},"geometry":{"type":"Point","coordinates":[30.525,48.052]}}
{"type":"Feature","properties":{"id":900003,"date_start":"2024-05-06","date_end":"2024-05-12","where_prec":8,"best":1,"longitude":30.6,"latitude":47.9},"geometry":{"type":"Point","coordinates":[30.6,47.9]}}
{"type":"Feature","properties":{"id":900004,"date_start":"2024-05-06","date_end":"2024-05-06","where_prec":1,"best":1,"note":"new"},"geometry":null}
{"type":"Feature","properties":{"id":900005,"date_start":"2024-05-06","date_end":"2024-05-06","where_prec":1,"best":1},"geometry":{"type":"LineString","coordinates":[[30,48],[31,48]]}}
{"type":"Feature","properties":{"id":900006,"date_start":"2024-05-07","date_end":"2024-05-07","where_prec":1,"best":3,"region":"east"},"geometry":{"type":"MultiPoint","coordinates":[[30.7,48.1]]}}
`

func TestGeoJSONInput(t *testing.T) {
	lines := strings.Split(strings.TrimSuffix(ucdpFeatures, "\n"), "\n")
	fc := `{"type":"FeatureCollection","name":"ged","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:OGC:1.3:CRS84"}},"features":[` + "\n" + strings.Join(lines, ",\n") + "\n]}\n"
	rs := "\x1e" + strings.Join(lines, "\n\x1e") + "\n"
	var want []got
	for name, text := range map[string]string{"GeoJSONSeq": ucdpFeatures, "FeatureCollection": fc, "RS": rs} {
		t.Run(name, func(t *testing.T) {
			rows, r := rowsOf(t, Options{Dialect: UCDP}, text)
			if r.Format() != "geojson" || r.Guessed() != "positions from the Point geometry" {
				t.Errorf("format %q, guessed %q", r.Format(), r.Guessed())
			}
			if len(rows) != 6 {
				t.Fatalf("%d rows, want 6", len(rows))
			}
			p := props(t, rows[0].record)
			if p["@id"] != "900001" || p["@lon"] != 30.61 || p["time"] != "2024-05-01T12:00:00Z" || p["time_uncertainty_s"] != 43200.0 ||
				p["precision_m"] != 2000.0 || p["strength"] != 2.0 || p["kind"] != "fire" {
				t.Errorf("row 1: %s", rows[0].record)
			}
			// Properties the importer does not take are carried, typed as
			// they were: numbers stay numbers, arrays arrays.
			if p["longitude"] != 30.61 || p["where_prec"] != 1.0 || p["sources"] == nil {
				t.Errorf("row 1 carries %v", p)
			}
			if p := props(t, rows[1].record); p["time"] != "2024-05-03T00:00:00Z" || p["strength"] != nil {
				t.Errorf("row 2: %s", rows[1].record)
			}
			for i, reason := range []string{2: `precision_m (column "where_prec"): "8" is not in the map`,
				3: "the Feature has no geometry (give --lon and --lat to take the position from properties)",
				4: "the geometry is a \"LineString\", not a Point"} {
				if reason != "" && rows[i].reason != reason {
					t.Errorf("row %d: reason %q, want %q", i+1, rows[i].reason, reason)
				}
			}
			// A property the first Feature lacked is carried too.
			if p := props(t, rows[5].record); p["@lon"] != 30.7 || p["region"] != "east" {
				t.Errorf("row 6: %s", rows[5].record)
			}
			if name == "FeatureCollection" {
				if rows[2].line != 0 || !strings.HasPrefix(rows[2].text, `{"type":"Feature","properties":{"id":900003`) {
					t.Errorf("row 3 of a FeatureCollection: line %d, text %q", rows[2].line, rows[2].text)
				}
			} else if rows[2].line != 3 {
				t.Errorf("row 3 of a sequence: line %d", rows[2].line)
			}
			// The same records whatever the layout.
			var recs []got
			for _, r := range rows {
				recs = append(recs, got{record: r.record, reason: r.reason})
			}
			if want == nil {
				want = recs
			} else {
				for i := range want {
					if recs[i] != want[i] {
						t.Errorf("row %d: %+v, want %+v", i+1, recs[i], want[i])
					}
				}
			}
		})
	}
	// --lon and --lat take the position from properties instead.
	rows, r := rowsOf(t, Options{Dialect: UCDP, Columns: map[Field]string{Lon: "longitude", Lat: "latitude"}}, ucdpFeatures)
	if r.Guessed() != "" || rows[0].reason != "" || rows[3].reason != `lon (column "longitude") is empty` {
		t.Errorf("--lon/--lat: guessed %q, rows %+v", r.Guessed(), rows)
	}
	// Another CRS is refused with the command that fixes it.
	im, _ := New(Options{Dialect: UCDP})
	_, err := im.Rows("t.geojson", strings.NewReader(`{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3857"}},"features":[]}`))
	if err == nil || !strings.Contains(err.Error(), "t.geojson: the GeoJSON's coordinates are in urn:ogc:def:crs:EPSG::3857, not WGS 84") || !strings.Contains(err.Error(), "ogr2ogr -t_srs EPSG:4326") {
		t.Errorf("crs: %v", err)
	}
	// A Feature's id is a column when its properties have none.
	rows, _ = rowsOf(t, Options{Columns: map[Field]string{ID: "id", Time: "t"}},
		`{"type":"Feature","id":"f1","properties":{"t":"2024-05-01T10:00:00Z"},"geometry":{"type":"Point","coordinates":[30.5,48.05]}}`+"\n")
	if p := props(t, rows[0].record); p["@id"] != "f1" {
		t.Errorf("feature id: %s", rows[0].record)
	}
}

// With no --time, the time column is guessed from the header as the
// positions are, and the guess is said.
func TestGuessTime(t *testing.T) {
	for _, tc := range []struct {
		text  string
		guess string // or "!" and the error
		time  string
	}{
		{"id,lon,lat,time\na1,30.5,48.05,2024-05-01T10:00:00Z\n", `positions from columns "lon" and "lat" (guessed; --lon and --lat choose others), times from column "time" (guessed; --time chooses another)`, "2024-05-01T10:00:00Z"},
		{"X,Y,Timestamp\n30.5,48.05,2024/05/01 10:00:00+00\n", `positions from columns "X" and "Y" (guessed; --lon and --lat choose others), times from column "Timestamp"`, "2024-05-01T10:00:00Z"},
		// time before date: a file with both has its instant in "time".
		{"date,lon,lat,time\n2024-05-01,30.5,48.05,2024-05-01T10:00:00Z\n", `positions from columns "lon" and "lat" (guessed; --lon and --lat choose others), times from column "time"`, "2024-05-01T10:00:00Z"},
		{"lon,lat,when\n30.5,48.05,2024-05-01T10:00:00Z\n", "!--time: no time column in the header (time, datetime, date_time, timestamp, event_date, date, ignoring case; columns: lon, lat, when): give --time", ""},
		{"lon,lat,Time,TIME\n", `!--time: column "time" matches "Time" and "TIME" in the header`, ""},
		{`{"type":"Feature","geometry":{"type":"Point","coordinates":[30.5,48.05]},"properties":{"time":"2024-05-01T10:00:00Z"}}` + "\n", `positions from the Point geometry, times from column "time"`, "2024-05-01T10:00:00Z"},
	} {
		im, err := New(Options{})
		if err != nil {
			t.Fatal(err)
		}
		rs, err := im.Rows("t.csv", strings.NewReader(tc.text))
		if strings.HasPrefix(tc.guess, "!") {
			if err == nil || !strings.HasPrefix(err.Error(), "t.csv: "+tc.guess[1:]) {
				t.Errorf("%q: %v, want %q", tc.text, err, tc.guess[1:])
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.text, err)
			continue
		}
		if !strings.HasPrefix(rs.Guessed(), tc.guess) {
			t.Errorf("%q: guessed %q, want %q", tc.text, rs.Guessed(), tc.guess)
		}
		rows := importWith(t, im, tc.text)
		if rows[0].reason != "" {
			t.Errorf("%q: %s", tc.text, rows[0].reason)
			continue
		}
		if p := props(t, rows[0].record); p["time"] != tc.time {
			t.Errorf("%q: %s, want time %s", tc.text, rows[0].record, tc.time)
		}
	}
}

// The csv dialect takes a field the options do not name from a column of
// the sighting property's own name (ignoring case), and says so; a field
// the options name, even as a constant, leaves that column carried.
func TestFieldsByName(t *testing.T) {
	text := "ID,lon,lat,time,Side,kind,source,precision_m,note\na1,30.5,48.05,2024-05-01T10:00:00Z,RU,fire,obs-1,250,seen\n"
	im, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := im.Rows("t.csv", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if want := `fields from the columns of their names: "ID", "Side", "kind", "precision_m", "source"`; !strings.Contains(rs.Guessed(), want) {
		t.Errorf("guessed %q, want it to say %q", rs.Guessed(), want)
	}
	p := props(t, importWith(t, im, text)[0].record)
	for k, v := range map[string]any{"@id": "a1", "side": "RU", "kind": "fire", "source": "obs-1", "precision_m": 250.0, "note": "seen"} {
		if p[k] != v {
			t.Errorf("%s = %v, want %v (%v)", k, p[k], v, p)
		}
	}
	im, err = New(Options{Columns: map[Field]string{Side: "=UA"}})
	if err != nil {
		t.Fatal(err)
	}
	p = props(t, importWith(t, im, text)[0].record)
	if p["side"] != "UA" || p["Side"] != "RU" {
		t.Errorf("with --side =UA: %v", p)
	}
}

func TestGuessPositions(t *testing.T) {
	for _, tc := range []struct {
		dialect Dialect
		text    string
		guess   string // or "!" and the error
		lon     float64
		reason  string
	}{
		{CSV, "X,Y,time\n30.5,48.05,2024-05-01T10:00:00Z\n", `positions from columns "X" and "Y" (guessed; --lon and --lat choose others)`, 30.5, ""},
		{CSV, "time,LON,lat\n2024-05-01T10:00:00Z,30.5,48.05\n", `positions from columns "LON" and "lat" (guessed; --lon and --lat choose others)`, 30.5, ""},
		{CSV, "x,y,Longitude,Latitude,time\n1,2,30.5,48.05,2024-05-01T10:00:00Z\n", `positions from columns "Longitude" and "Latitude"`, 30.5, ""},
		{CSV, "lng,lat,time\n30.5,48.05,2024-05-01T10:00:00Z\n", `positions from columns "lng" and "lat"`, 30.5, ""},
		{CSV, "WKT,time\nPOINT (30.5 48.05),2024-05-01T10:00:00Z\n", `positions from the WKT Points of column "WKT" (guessed; --lon and --lat choose other columns)`, 30.5, ""},
		{CSV, "geometry;time\nPOINT Z (30.5 48.05 120);2024-05-01T10:00:00Z\n", `positions from the WKT Points of column "geometry"`, 30.5, ""},
		{CSV, "WKT,time\n\"LINESTRING (30 48, 31 48)\",2024-05-01T10:00:00Z\n", "", 0, `the WKT column "WKT" holds a LINESTRING, not a POINT: "LINESTRING (30 48, 31 48)"`},
		{CSV, "WKT,time\nPOINT (30.5,2024-05-01T10:00:00Z\n", "", 0, `the WKT column "WKT" is not WKT: "POINT (30.5"`},
		{CSV, "WKT,time\nPOINT EMPTY,2024-05-01T10:00:00Z\n", "", 0, `the WKT column "WKT" holds POINT EMPTY`},
		{CSV, "WKT,time\nPOINT (200 48),2024-05-01T10:00:00Z\n", "", 0, `lon (WKT column "WKT") is out of range [-180, 180]: "200"`},
		{CSV, "x,X,y,time\n", "!cannot tell the position columns: \"x\" and \"X\" both name x (give --lon and --lat)", 0, ""},
		{CSV, "east,north,time\n", "!no position columns in the header, nor x/y, lon/lat, lng/lat, long/lat or a WKT column (wkt, geometry), ignoring case (columns: east, north, time); give --lon and --lat", 0, ""},
		// A dialect's own columns, where the file has them; else a guess.
		{UCDP, "id,date_start,longitude,latitude,X,Y\n1,2024-05-01,30.5,48.05,1,2\n", "", 30.5, ""},
		{UCDP, "X,Y,id,date_start\n30.5,48.05,1,2024/05/01\n", `positions from columns "X" and "Y"`, 30.5, ""},
		{UCDP, "id,date_start\n", `!no columns "longitude" and "latitude" in the header, nor x/y`, 0, ""},
	} {
		opt := Options{Dialect: tc.dialect}
		if tc.dialect == CSV {
			opt.Columns = map[Field]string{Time: "time"}
		}
		im, err := New(opt)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := im.Rows("t.csv", strings.NewReader(tc.text))
		if strings.HasPrefix(tc.guess, "!") {
			if err == nil || !strings.HasPrefix(err.Error(), "t.csv: "+tc.guess[1:]) {
				t.Errorf("%q: %v, want %q", tc.text, err, tc.guess[1:])
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.text, err)
			continue
		}
		if tc.reason == "" && (!strings.HasPrefix(rs.Guessed(), tc.guess) || tc.guess == "" && rs.Guessed() != "") {
			t.Errorf("%q: guessed %q, want %q", tc.text, rs.Guessed(), tc.guess)
		}
		rows := importWith(t, im, tc.text)
		if tc.reason != "" {
			if rows[0].reason != tc.reason {
				t.Errorf("%q: reason %q, want %q", tc.text, rows[0].reason, tc.reason)
			}
			continue
		}
		if rows[0].reason != "" {
			t.Errorf("%q: %s", tc.text, rows[0].reason)
			continue
		}
		if p := props(t, rows[0].record); p["@lon"] != tc.lon {
			t.Errorf("%q: %s", tc.text, rows[0].record)
		}
	}
}
