package main

import (
	"bytes"
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linewatch/linewatch/gpkg"
)

// Three days of incursions by two units of B north of the straight line
// (A holds the north): one sustained offensive, plus one bad record.
func offensiveFeed() string {
	var b strings.Builder
	for d := 1; d <= 3; d++ {
		for _, u := range []string{"u1", "u2"} {
			for h := 0; h < 2; h++ {
				b.WriteString(`{"type":"Feature","id":"` + u + "-" + string(rune('0'+d)) + string(rune('a'+h)) + `","geometry":{"type":"Point","coordinates":[30.52,48.05]},"properties":{"time":"2024-05-0` +
					string(rune('0'+d)) + `T1` + string(rune('0'+h)) + `:00:00Z","side":"B","track":"` + u + `","strength":30}}` + "\n")
			}
		}
	}
	b.WriteString(`{"type":"Feature","geometry":{"type":"Point","coordinates":[191.2,48]},"properties":{"time":"2024-05-01T00:00:00Z"}}` + "\n")
	return b.String()
}

func writeTemp(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDetectOutputsAndSummary(t *testing.T) {
	in := writeTemp(t, "s.ndjson", offensiveFeed())
	dir := t.TempDir()
	out, sum, rej := filepath.Join(dir, "out.geojson"), filepath.Join(dir, "sum.json"), filepath.Join(dir, "rej.ndjson")
	r := runIn(t, "detect", "--line", straightLine, "--evidence", "-o", out, "--summary", sum, "--rejects", rej, in)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var fc struct {
		Type     string `json:"type"`
		Features []struct {
			Geometry   struct{ Type string } `json:"geometry"`
			Properties map[string]any        `json:"properties"`
		} `json:"features"`
	}
	data, _ := os.ReadFile(out)
	if err := json.Unmarshal(data, &fc); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if fc.Type != "FeatureCollection" || len(fc.Features) != 1+12 {
		t.Fatalf("want one episode and its 12 violations, got %d features", len(fc.Features))
	}
	ep := fc.Features[0]
	if ep.Geometry.Type != "LineString" || ep.Properties["class"] != "sustained_offensive" || ep.Properties["id"] != "B-S003-20240501T000000Z" {
		t.Fatalf("episode %v", ep.Properties)
	}
	for _, k := range []string{"criteria", "evidence", "stroke", "stroke-width", "title", "description"} {
		if _, ok := ep.Properties[k]; !ok {
			t.Errorf("episode lacks %q", k)
		}
	}
	var s map[string]map[string]any
	data, _ = os.ReadFile(sum)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatalf("summary: %v", err)
	}
	json.Unmarshal(data, &s)
	if s["records"]["read"] != 13.0 || s["records"]["accepted"] != 12.0 || s["records"]["rejected"] != 1.0 {
		t.Fatalf("summary records %v", s["records"])
	}
	for _, k := range []string{"records", "violations", "episodes", "isolated", "wall_s", "records_per_s"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("summary lacks %q", k)
		}
	}
	rejects, _ := os.ReadFile(rej)
	var rj map[string]any
	if err := json.Unmarshal(rejects, &rj); err != nil || rj["line"] != 13.0 || !strings.Contains(rj["reason"].(string), "191.2") {
		t.Fatalf("rejects %s", rejects)
	}
}

func TestDetectStrictAndFormats(t *testing.T) {
	in := writeTemp(t, "s.ndjson", offensiveFeed())
	r := runIn(t, "detect", "--line", straightLine, "--strict", "--format", "csv", in)
	if r.code != 1 {
		t.Fatalf("--strict with a rejected record: exit %d, want 1", r.code)
	}
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || len(rows) != 2 || strings.Join(rows[0], ",") != "id,class,party,start,end,sectors,km_from,km_to,hot_windows,violations,crossings,incursions,fire,buffer,tracks,strength,max_depth_m,score,significant,deliberate,sustained,wkt" {
		t.Fatalf("csv %q (%v)", r.stdout, err)
	}
	if rows[1][1] != "sustained_offensive" || rows[1][18] != "true" || !strings.HasPrefix(rows[1][21], "LINESTRING (") {
		t.Fatalf("csv row %v", rows[1])
	}
	r = runIn(t, "detect", "--line", straightLine, "--format", "geojsonseq", "--isolated", in)
	if r.code != 0 || strings.Count(r.stdout, "\n") != 1 || strings.Contains(r.stdout, "\x1e") {
		t.Fatalf("geojsonseq: exit %d, %q", r.code, r.stdout)
	}
	r = runIn(t, "detect", "--line", straightLine, "--format", "shp", in)
	wantOneLineError(t, r, `unknown format "shp" (geojson, geojsonseq, csv, gpkg or kml)`)
	r = runIn(t, "detect", "--line", straightLine, "--format", "gpkg", in)
	wantOneLineError(t, r, "--format gpkg writes a file: give it with -o FILE.gpkg")
}

// --format gpkg and kml: the three layers of a GeoPackage, as the gpkg
// package reads them back; a KML document with a Placemark per Feature.
func TestDetectGISFormats(t *testing.T) {
	in := writeTemp(t, "s.ndjson", offensiveFeed())
	out := filepath.Join(t.TempDir(), "alerts.gpkg")
	r := runIn(t, "detect", "--line", straightLine, "--evidence", "--quiet", "--format", "gpkg", "-o", out, in)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	layers, err := gpkg.Layers(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(layers); got != "[episodes (LINESTRING, 1 features, EPSG:4326) violations (POINT, 12 features, EPSG:4326) sectors (LINESTRING, 10 features, EPSG:4326)]" {
		t.Errorf("layers %s", got)
	}
	r = runIn(t, "detect", "--line", straightLine, "--evidence", "--quiet", "--format", "kml", in)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "<?xml") || strings.Count(r.stdout, "<Placemark>") != 13 ||
		strings.Count(r.stdout, "<styleUrl>#sustained_offensive</styleUrl>") != 13 {
		t.Errorf("kml: exit %d, %d placemarks\n%.300s", r.code, strings.Count(r.stdout, "<Placemark>"), r.stdout)
	}
}

// A line in a GeoPackage (here as GDAL writes it) is the same line as in
// GeoJSON: same sectors, same detection.
func TestLineFromGeoPackage(t *testing.T) {
	const front, frontGPKG = "../../fixtures/lines/front-2024.geojson", "../../fixtures/lines/front-2024.gpkg"
	want := runIn(t, "sectors", "--line", front)
	got := runIn(t, "sectors", "--line", frontGPKG)
	if got.code != 0 || got.stdout != want.stdout || want.stdout == "" {
		t.Fatalf("sectors from the GeoPackage: exit %d, %s; differ from the GeoJSON's: %v", got.code, got.stderr, got.stdout != want.stdout)
	}
	got = runIn(t, "sectors", "--line", frontGPKG, "--line-layer", "front-2024")
	if got.stdout != want.stdout {
		t.Errorf("--line-layer front-2024: other sectors (%s)", got.stderr)
	}

	// A GeoPackage of linewatch's own, with two line layers: pick one.
	in := writeTemp(t, "s.ndjson", offensiveFeed())
	out := filepath.Join(t.TempDir(), "alerts.gpkg")
	if r := runIn(t, "detect", "--line", straightLine, "--quiet", "--format", "gpkg", "-o", out, in); r.code != 0 {
		t.Fatal(r.stderr)
	}
	wantOneLineError(t, runIn(t, "sectors", "--line", out), "2 line layers, pick one with --line-layer NAME: episodes (LINESTRING, 1 features, EPSG:4326); sectors (LINESTRING, 10 features, EPSG:4326)")
	wantOneLineError(t, runIn(t, "sectors", "--line", out, "--line-layer", "towns"), `no layer "towns"; the feature layers are: episodes`)
	wantOneLineError(t, runIn(t, "sectors", "--line", out, "--line-layer", "sectors"), "layer sectors: feature 0: no left and right parties")
	if r := runIn(t, "sectors", "--line", out, "--line-layer", "sectors", "--left", "A", "--right", "B"); r.code != 0 {
		t.Errorf("sectors of the sectors layer with --left/--right: %s", r.stderr)
	}
	wantOneLineError(t, runIn(t, "sectors", "--line", straightLine, "--line-layer", "x"), "--line-layer x is for a GeoPackage")
	fake := writeTemp(t, "fake.gpkg", "{}")
	wantOneLineError(t, runIn(t, "sectors", "--line", fake), "not a GeoPackage")
}

// The same records in any order, split across files, gzipped or read from
// standard input, give the same bytes.
func TestDetectSameBytesAnyHow(t *testing.T) {
	text := offensiveFeed()
	one := writeTemp(t, "all.ndjson", text)
	want := runIn(t, "detect", "--line", straightLine, "--isolated", "--evidence", one)
	if want.code != 0 {
		t.Fatal(want.stderr)
	}
	lines := strings.SplitAfter(strings.TrimSpace(text), "\n")
	var rev []string
	for i := len(lines) - 1; i >= 0; i-- {
		rev = append(rev, strings.TrimSuffix(lines[i], "\n")+"\n")
	}
	a := writeTemp(t, "a.ndjson", strings.Join(rev[:5], ""))
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write([]byte(strings.Join(rev[5:], "")))
	zw.Close()
	b := writeTemp(t, "b.ndjson.gz", z.String())
	got := runIn(t, "detect", "--line", straightLine, "--isolated", "--evidence", "--workers", "1", a, b)
	if got.stdout != want.stdout {
		t.Fatalf("split and reversed input gives other bytes")
	}
	viaStdin := runBin(t, []byte(strings.Join(rev, "")), "detect", "--line", straightLine, "--isolated", "--evidence", "-")
	if viaStdin.stdout != want.stdout {
		t.Fatalf("standard input gives other bytes")
	}
}

func TestDetectUnusableInputs(t *testing.T) {
	in := writeTemp(t, "s.ndjson", offensiveFeed())
	wantOneLineError(t, runIn(t, "detect", "--line", straightLine, filepath.Join(t.TempDir(), "missing.ndjson")), "missing.ndjson")
	wantOneLineError(t, runIn(t, "detect", "--line", straightLine), "no sighting files")
	bad := writeTemp(t, "p.yaml", "windw: 7d\n")
	wantOneLineError(t, runIn(t, "detect", "--line", straightLine, "--policy", bad, in), `unknown key "windw"`)
	wantOneLineError(t, runIn(t, "detect", "--line", filepath.Join(badLines, "self-crossing.geojson"), in), "crosses")
}

// An output that is one of the inputs, or another output, is a usage
// error, whatever the spelling of its name: detect -o in.ndjson.gz
// in.ndjson.gz once replaced the sightings with alerts and exited 0.
func TestDetectOutputIsAnInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.ndjson")
	feed := offensiveFeed()
	if err := os.WriteFile(in, []byte(feed), 0o644); err != nil {
		t.Fatal(err)
	}
	line := filepath.Join(dir, "line.geojson")
	data, err := os.ReadFile(straightLine)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(line, data, 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "out.geojson")
	same := filepath.Join(dir, ".", "in.ndjson")
	for _, args := range [][]string{
		{"-o", in},
		{"-o", same},
		{"--rejects", same},
		{"--summary", in},
		{"--report", in},
		{"-o", line},
		{"-o", other, "--summary", filepath.Join(dir, "x", "..", "out.geojson")},
	} {
		r := runIn(t, append(append([]string{"detect", "--line", line}, args...), in)...)
		if r.code != 2 || !strings.Contains(r.stderr, "same file") {
			t.Errorf("detect %v: exit %d, %q; want 2 and a usage error", args, r.code, r.stderr)
		}
		if got, _ := os.ReadFile(in); string(got) != feed {
			t.Fatalf("detect %v changed its input", args)
		}
		if _, err := os.Stat(other); err == nil {
			t.Fatalf("detect %v wrote %s", args, other)
		}
	}
	if r := runIn(t, "detect", "--line", line, "--quiet", "-o", other, in); r.code != 0 {
		t.Errorf("distinct files: exit %d, %s", r.code, r.stderr)
	}
}

// detect --sources gives each episode its sources' affiliations; with
// corroboration asked of two parties, an episode seen by one party's
// observers alone says so, and keeps its class.
func TestDetectSources(t *testing.T) {
	feed := strings.ReplaceAll(offensiveFeed(), `"strength":30}`, `"strength":30,"source":"obs-a"}`)
	in := writeTemp(t, "s.ndjson", feed)
	reg := writeTemp(t, "sources.yaml", "obs-a:\n  affiliation: A\nosce:\n  affiliation: neutral\n")
	pol := writeTemp(t, "p.yaml", "corroboration_min_affiliations: 2\n")
	r := runIn(t, "detect", "--line", straightLine, "--policy", pol, "--sources", reg, "--format", "geojsonseq", "-q", in)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var ep struct {
		Properties struct {
			Class        string         `json:"class"`
			Sources      int            `json:"sources"`
			Affiliations map[string]int `json:"affiliations"`
			Criteria     struct {
				Corroborated struct {
					Holds           bool `json:"holds"`
					Affiliations    int  `json:"affiliations"`
					Neutral         int  `json:"neutral"`
					MinAffiliations int  `json:"min_affiliations"`
				} `json:"corroborated"`
			} `json:"criteria"`
		} `json:"properties"`
	}
	first, _, _ := strings.Cut(r.stdout, "\n")
	if err := json.Unmarshal([]byte(first), &ep); err != nil {
		t.Fatal(err)
	}
	p := ep.Properties
	if p.Class != "sustained_offensive" || p.Sources != 1 || p.Affiliations["A"] != 12 ||
		p.Criteria.Corroborated.Holds || p.Criteria.Corroborated.Affiliations != 1 || p.Criteria.Corroborated.MinAffiliations != 2 {
		t.Fatalf("episode %+v", p)
	}
	// A party the line does not have is refused, naming the source.
	bad := writeTemp(t, "bad.yaml", "obs-a:\n  affiliation: UA\n")
	r = runIn(t, "detect", "--line", straightLine, "--sources", bad, in)
	wantOneLineError(t, r, `source "obs-a": affiliation "UA" is neither a party of the line (A, B) nor "neutral"`)
}

// A full disk fails the run (exit 1), not its input (2), and says so once:
// the file it could not write and why, on one line. /dev/full answers
// every write with "no space left on device".
func TestFullDiskFailsOnce(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full here")
	}
	const sightings = "../../fixtures/sightings/front-2024-q1.ndjson.gz"
	const front = "../../fixtures/lines/front-2024.geojson"
	dir := t.TempDir()
	alerts := filepath.Join(dir, "alerts.geojson")
	if r := runIn(t, "detect", "--line", front, "--quiet", "-o", alerts, sightings); r.code != 0 {
		t.Fatalf("detect: exit %d: %s", r.code, r.stderr)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"detect output", []string{"detect", "--line", front, "--quiet", "--isolated", "--evidence", "-o", "/dev/full", sightings},
			"writing output: write /dev/full: no space left on device"},
		{"detect GeoPackage", []string{"detect", "--line", front, "--quiet", "--isolated", "--format", "gpkg", "-o", "/dev/full", sightings},
			"writing output: write /dev/full: no space left on device"},
		{"detect CSV", []string{"detect", "--line", front, "--quiet", "--isolated", "--evidence", "--format", "csv", "-o", "/dev/full", sightings},
			"writing output: write /dev/full: no space left on device"},
		{"detect rejects", []string{"detect", "--line", front, "--quiet", "-o", filepath.Join(dir, "a.geojson"), "--rejects", "/dev/full", sightings},
			"writing rejects: write /dev/full: no space left on device"},
		{"sectors", []string{"sectors", "--line", front, "-o", "/dev/full"}, "writing output: write /dev/full: no space left on device"},
		{"report", []string{"report", "--line", front, "-o", "/dev/full", alerts}, "writing output: write /dev/full: no space left on device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runIn(t, tc.args...)
			if r.code != 1 {
				t.Errorf("exit status %d, want 1 (stderr %q)", r.code, r.stderr)
			}
			if want := "linewatch: " + tc.want + "\n"; r.stderr != want {
				t.Errorf("stderr %q, want %q", r.stderr, want)
			}
		})
	}
}
