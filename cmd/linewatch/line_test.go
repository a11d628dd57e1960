package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const multiLine = "../../fixtures/lines/multi-feature.geojson"

// A line file of several features, as analysts get them: the error lists
// the features; --line-where or --line-feature picks the line, with
// --left and --right for features without parties. The line picked is
// straight.geojson's, so detect finds the same.
func TestDetectLineWhere(t *testing.T) {
	in := writeTemp(t, "s.ndjson", offensiveFeed())
	want := runIn(t, "detect", "--line", straightLine, "--quiet", in)
	if want.code != 0 {
		t.Fatalf("straight line: exit %d %s", want.code, want.stderr)
	}
	r := runIn(t, "detect", "--line", multiLine, "--left", "A", "--right", "B", in)
	// The Polygon is left out; the two line features overlap.
	wantOneLineError(t, r, `stretch 0 segment 0–1 overlaps stretch 2 segment 0–1`)
	for _, w := range []string{"the file holds 3 features (pick the line with --line-feature INDEX|ID or --line-where KEY=VALUE)",
		"0: MultiLineString, stretches 0–1 (layer=front_line_all, pieces=2)", "1: LineString, stretch 2 (layer=front_line_longest_piece, length_km=96.9)",
		"2: Polygon (layer=occupied, area_km2=3240.5)"} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("the error does not list %q: %s", w, r.stderr)
		}
	}
	for _, pick := range [][]string{
		{"--line-where", "layer=front_line_longest_piece"},
		{"--line-where", "as_of_date=2024-02-20", "--line-where", "length_km=96.9"},
		{"--line-feature", "1"},
	} {
		args := append(append([]string{"detect", "--line", multiLine, "--left", "A", "--right", "B", "--quiet"}, pick...), in)
		r := runIn(t, args...)
		if r.code != 0 || r.stdout != want.stdout {
			t.Errorf("%v: exit %d %s\n%s\nwant\n%s", pick, r.code, r.stderr, r.stdout, want.stdout)
		}
	}
	// Without --left and --right, the error says they apply here too.
	r = runIn(t, "detect", "--line", multiLine, "--line-feature", "1", in)
	wantOneLineError(t, r, "feature 1: no left and right parties: give each feature left and right properties, or give --left and --right, which apply to a bare geometry and to every feature without its own")
	r = runIn(t, "detect", "--line", multiLine, "--line-where", "layer", in)
	wantOneLineError(t, r, `--line-where "layer": want KEY=VALUE`)
	// Every command that takes --line takes them.
	for _, cmd := range []string{"sectors", "locate", "report", "stream", "detect"} {
		r := runIn(t, cmd, "--help")
		if !strings.Contains(r.stdout, "--line-where") || !strings.Contains(r.stdout, "--line-feature") || !strings.Contains(r.stdout, "every line feature without a left property") {
			t.Errorf("%s --help does not tell of --line-where, --line-feature and when --left applies", cmd)
		}
	}
}

// A GeoJSON in another CRS: one clear error, with the command that fixes it.
func TestLineCRS(t *testing.T) {
	data, err := os.ReadFile(straightLine)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(data), `"type": "FeatureCollection",`, `"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}},`, 1)
	path := filepath.Join(t.TempDir(), "front.geojson")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runIn(t, "sectors", "--line", path)
	wantOneLineError(t, r, "linewatch: line "+path+": the GeoJSON's coordinates are in urn:ogc:def:crs:EPSG::3857, not WGS 84 longitude/latitude (RFC 7946): reproject the file with ogr2ogr -t_srs EPSG:4326 front-wgs84.geojson "+path)
}

// The real line files, where ../shared/data/real is at hand: each loads
// once its line is picked; the line of contact beside its polygon loads
// without a pick, the polygon left out.
func TestRealLineFiles(t *testing.T) {
	dir := "../../../shared/data/real"
	if _, err := os.Stat(dir); err != nil {
		t.Skip("no ../shared/data/real")
	}
	for _, tc := range []struct {
		file      string
		pick      []string
		needsPick bool
	}{
		{"frontline_2024-02-20.geojson", []string{"--line-where", "layer=front_line_longest_piece"}, true},
		{"frontline_2024-02-20.geojson", []string{"--line-feature", "1"}, true},
		{"line_of_contact_2015_2022.geojson", []string{"--line-where", "layer=line_of_contact_2015_2022"}, false},
		{"line_of_contact_2015_2022.geojson", []string{"--line-feature", "1"}, false},
	} {
		path := filepath.Join(dir, tc.file)
		r := runIn(t, "sectors", "--line", path, "--left", "UA", "--right", "RU", "-o", filepath.Join(t.TempDir(), "s.geojson"))
		if tc.needsPick {
			wantOneLineError(t, r, "the file holds 2 features (pick the line with")
		} else if r.code != 0 {
			t.Errorf("%s with no pick: exit %d %s", tc.file, r.code, r.stderr)
		}
		r = runIn(t, append(append([]string{"sectors", "--line", path, "--left", "UA", "--right", "RU"}, tc.pick...), "-o", filepath.Join(t.TempDir(), "s.geojson"))...)
		if r.code != 0 {
			t.Errorf("%s %v: exit %d %s", tc.file, tc.pick, r.code, r.stderr)
		}
	}
}
