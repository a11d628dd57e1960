package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// locatedFeature is an output line of locate.
type locatedFeature struct {
	ID         string         `json:"id"`
	Properties map[string]any `json:"properties"`
}

func parseLines(t *testing.T, out string) []locatedFeature {
	t.Helper()
	var fs []locatedFeature
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		var f locatedFeature
		if err := json.Unmarshal([]byte(line), &f); err != nil {
			t.Fatalf("output line is not JSON: %v: %s", err, line)
		}
		fs = append(fs, f)
	}
	return fs
}

func TestLocateSides(t *testing.T) {
	l := mustLine(t, straightLine)
	dir := t.TempDir()
	// The straight line runs east along 48°N with A on its left (north).
	pts := []struct {
		id       string
		geom     string
		lon, lat float64
		side     string
		beyond   bool
	}{
		{"north", `{"type":"Point","coordinates":[30.55,48.02]}`, 30.55, 48.02, "A", false},
		{"south", `{"type":"Point","coordinates":[30.55,47.97]}`, 30.55, 47.97, "B", false},
		{"far-south", `{"type":"Point","coordinates":[31.05,47.6]}`, 31.05, 47.6, "B", false},
		{"track", `{"type":"LineString","coordinates":[[30.2,47.9],[30.3,48.05]]}`, 30.3, 48.05, "A", false},
		{"group", `{"type":"MultiPoint","coordinates":[[30.9,47.99],[30.9,48.5]]}`, 30.9, 47.99, "B", false},
		{"west-of-start", `{"type":"Point","coordinates":[29.7,48.01]}`, 29.7, 48.01, "A", true},
		{"near-start", `{"type":"Point","coordinates":[29.99,48.01]}`, 29.99, 48.01, "A", false},
	}
	var in bytes.Buffer
	for _, p := range pts {
		fmt.Fprintf(&in, `{"type":"Feature","id":%q,"geometry":%s,"properties":{"time":"2024-05-01T00:00:00Z"}}`+"\n", p.id, p.geom)
	}
	path := filepath.Join(dir, "in.geojsonseq")
	if err := os.WriteFile(path, in.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runIn(t, "locate", "--line", straightLine, path)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "7 records read, 7 annotated, 0 rejected") {
		t.Errorf("summary %q", r.stderr)
	}
	fs := parseLines(t, r.stdout)
	if len(fs) != len(pts) {
		t.Fatalf("%d features out, want %d", len(fs), len(pts))
	}
	for i, p := range pts {
		f := fs[i]
		loc := l.Locate(p.lon, p.lat)
		d := f.Properties["lw_distance_m"].(float64)
		if f.ID != p.id || f.Properties["lw_side"] != p.side || f.Properties["lw_beyond_end"] != p.beyond {
			t.Errorf("%s: got %s %v beyond %v, want side %s beyond %v", p.id, f.ID, f.Properties["lw_side"], f.Properties["lw_beyond_end"], p.side, p.beyond)
		}
		if math.Abs(d-loc.DistanceM) > 0.0005 || math.Abs(f.Properties["lw_km"].(float64)-loc.Km) > 0.0005 ||
			f.Properties["lw_sector"] != l.SectorID(loc.Sector) {
			t.Errorf("%s: got %v, geo says %+v", p.id, f.Properties, loc)
		}
		if f.Properties["time"] != "2024-05-01T00:00:00Z" {
			t.Errorf("%s: lost its properties: %v", p.id, f.Properties)
		}
	}
	// Sanity against plain geometry: a point 0.02° of latitude north of a
	// parallel is about 2.22 km from it.
	if d := fs[0].Properties["lw_distance_m"].(float64); math.Abs(d-2224) > 5 {
		t.Errorf("north point is %.3f m from the line, want about 2224", d)
	}
}

// writeSeq writes n Point Features near the straight line, numbered.
func writeSeq(t *testing.T, n int, bad func(i int) bool) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(3, 4))
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		if bad != nil && bad(i) {
			fmt.Fprintf(&b, `{"type":"Feature","id":"%d","geometry":{"type":"Point","coordinates":[30.5]}}`+"\n", i)
			continue
		}
		fmt.Fprintf(&b, `{"type":"Feature","id":"%d","geometry":{"type":"Point","coordinates":[%.6f,%.6f]},"properties":{"n":%d,"time":%d}}`+"\n",
			i, 30+r.Float64()*1.3, 47.8+r.Float64()*0.4, i, 1714521600+i)
	}
	return b.Bytes()
}

func TestLocateFeatureCollectionGzipStdin(t *testing.T) {
	dir := t.TempDir()
	seq := writeSeq(t, 300, nil)
	want := runIn(t, "locate", "--line", straightLine, writeFile(t, dir, "in.geojsonseq", seq))
	if want.code != 0 || strings.Count(want.stdout, "\n") != 300 {
		t.Fatalf("exit %d, %d lines: %s", want.code, strings.Count(want.stdout, "\n"), want.stderr)
	}

	// .gz
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(seq)
	zw.Close()
	got := runIn(t, "locate", "--line", straightLine, writeFile(t, dir, "in.geojsonseq.gz", gz.Bytes()))
	if got.code != 0 || got.stdout != want.stdout {
		t.Errorf(".gz: exit %d, output differs: %s", got.code, got.stderr)
	}

	// standard input, plain and gzipped
	for name, data := range map[string][]byte{"plain": seq, "gzip": gz.Bytes()} {
		got = runBin(t, data, "locate", "--line", straightLine, "-")
		if got.code != 0 || got.stdout != want.stdout {
			t.Errorf("stdin %s: exit %d, output differs: %s", name, got.code, got.stderr)
		}
		if !strings.Contains(got.stderr, "300 records read, 300 annotated, 0 rejected") || strings.Count(got.stderr, "\n") != 1 {
			t.Errorf("stdin %s: summary %q", name, got.stderr)
		}
	}

	// A pretty-printed FeatureCollection: the same Features, one per line.
	var fc bytes.Buffer
	fc.WriteString("{\"type\": \"FeatureCollection\",\n \"features\": [\n")
	for i, line := range bytes.Split(bytes.TrimSpace(seq), []byte("\n")) {
		if i > 0 {
			fc.WriteString(",\n")
		}
		var v any
		json.Unmarshal(line, &v)
		pretty, _ := json.MarshalIndent(v, "  ", "  ")
		fc.Write(pretty)
	}
	fc.WriteString("\n]}\n")
	got = runIn(t, "locate", "--line", straightLine, "-o", filepath.Join(dir, "out"), writeFile(t, dir, "fc.geojson", fc.Bytes()))
	if got.code != 0 {
		t.Fatalf("FeatureCollection: exit %d: %s", got.code, got.stderr)
	}
	out, _ := os.ReadFile(filepath.Join(dir, "out"))
	a, b := parseLines(t, string(out)), parseLines(t, want.stdout)
	if len(a) != len(b) {
		t.Fatalf("FeatureCollection: %d features, want %d", len(a), len(b))
	}
	for i := range a {
		if a[i].ID != b[i].ID || fmt.Sprint(a[i].Properties) != fmt.Sprint(b[i].Properties) {
			t.Errorf("FeatureCollection feature %d: %v, want %v", i, a[i], b[i])
		}
	}
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLocateRejectsAsDetect: locate rejects what detect rejects, with the
// same rejects file, on the decoder's bad-input corpus (feed/testdata)
// and on a line of 100,000 unclosed brackets.
func TestLocateRejectsAsDetect(t *testing.T) {
	dir := t.TempDir()
	files, _ := filepath.Glob("../../feed/testdata/fuzz/FuzzDecode/*")
	if len(files) == 0 {
		t.Fatal("no corpus")
	}
	// One record per RS, so that records may hold line breaks.
	var in bytes.Buffer
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitN(string(data), "\n", 3)
		rec, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !strings.Contains(rec, "\x1e") {
			in.WriteString("\x1e" + rec + "\n")
		}
	}
	in.WriteString("\x1e" + strings.Repeat("[", 100000) + "\n")
	path := writeFile(t, dir, "corpus.geojsons", in.Bytes())
	lr, dr := filepath.Join(dir, "locate.rejects"), filepath.Join(dir, "detect.rejects")
	if r := runIn(t, "locate", "--line", straightLine, "--rejects", lr, "-o", filepath.Join(dir, "out"), path); r.code != 0 {
		t.Fatalf("locate: exit %d: %s", r.code, r.stderr)
	}
	if r := runIn(t, "detect", "--line", straightLine, "--rejects", dr, "-o", filepath.Join(dir, "alerts"), path); r.code != 0 {
		t.Fatalf("detect: exit %d: %s", r.code, r.stderr)
	}
	l, _ := os.ReadFile(lr)
	d, _ := os.ReadFile(dr)
	if len(d) == 0 || string(l) != string(d) {
		t.Errorf("rejects differ:\nlocate:\n%s\ndetect:\n%s", l, d)
	}
}
