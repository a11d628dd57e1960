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

	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/internal/num"
)

// lw is the text locate splices in for the position lon, lat.
func lw(l *geo.Line, lon, lat float64) string {
	loc := l.Locate(lon, lat)
	side := strconv.Quote(loc.Side)
	if loc.DistanceM == 0 {
		side = "null"
	}
	return fmt.Sprintf(`"lw_side":%s,"lw_distance_m":%s,"lw_km":%s,"lw_sector":%q,"lw_beyond_end":%t`,
		side, num.Format(loc.DistanceM, 3), num.Format(loc.Km, 3), l.SectorID(loc.Sector), loc.BeyondEnd)
}

func TestAnnotateSplice(t *testing.T) {
	l := mustLine(t, straightLine)
	a := newAnnotator(l)
	pt := `"geometry":{"type":"Point","coordinates":[30.55,48.02]}`
	at := lw(l, 30.55, 48.02)
	cases := []struct{ in, want string }{
		// properties absent, null, empty, with members; key order and number text kept
		{`{"type":"Feature",` + pt + `}`, `{"type":"Feature",` + pt + `,"properties":{` + at + `}}`},
		{`{"type":"Feature",` + pt + `,"properties":null}`, `{"type":"Feature",` + pt + `,"properties":{` + at + `}}`},
		{`{"type":"Feature","properties":{},` + pt + `}`, `{"type":"Feature","properties":{` + at + `},` + pt + `}`},
		{`{"type":"Feature","properties":{"z":1.50,"a":[1,{"b":"}"}]},` + pt + `,"id":7}`,
			`{"type":"Feature","properties":{"z":1.50,"a":[1,{"b":"}"}],` + at + `},` + pt + `,"id":7}`},
		{`{ "type" : "Feature" , ` + pt + ` , "properties" : { "k" : "v" } }`,
			`{ "type" : "Feature" , ` + pt + ` , "properties" : { "k" : "v",` + at + ` } }`},
		// an earlier run's keys are replaced, the others kept
		{`{"type":"Feature",` + pt + `,"properties":{"lw_side":"X","k":1,"lw_km":2}}`,
			`{"type":"Feature",` + pt + `,"properties":{"k":1,` + at + `}}`},
		// a record over several lines becomes one line
		{"{\"type\": \"Feature\",\n  \"geometry\": {\"type\": \"Point\", \"coordinates\": [30.55, 48.02]},\n  \"properties\": {\"s\": \"a b\"}\n}",
			`{"type":"Feature","geometry":{"type":"Point","coordinates":[30.55,48.02]},"properties":{"s":"a b",` + at + `}}`},
		// the position: last of a LineString, first of a MultiPoint
		{`{"type":"Feature","geometry":{"type":"LineString","coordinates":[[30.1,47.9],[30.55,48.02,120]]}}`,
			`{"type":"Feature","geometry":{"type":"LineString","coordinates":[[30.1,47.9],[30.55,48.02,120]]},"properties":{` + at + `}}`},
		{`{"type":"Feature","geometry":{"type":"MultiPoint","coordinates":[[30.55,48.02],[31,47.5]]}}`,
			`{"type":"Feature","geometry":{"type":"MultiPoint","coordinates":[[30.55,48.02],[31,47.5]]},"properties":{` + at + `}}`},
	}
	for _, c := range cases {
		out, reason := a.annotate(nil, []byte(c.in))
		if reason != "" {
			t.Errorf("%s: rejected: %s", c.in, reason)
			continue
		}
		if string(out) != c.want+"\n" {
			t.Errorf("%s:\n got %s want %s", c.in, out, c.want)
		}
		if !json.Valid(out) {
			t.Errorf("%s: invalid JSON out: %s", c.in, out)
		}
	}
}

func TestAnnotateRejects(t *testing.T) {
	a := newAnnotator(mustLine(t, straightLine))
	cases := []struct{ in, reason string }{
		{`not json`, "invalid JSON"},
		{`{"type":"Feature","geometry":{"type":"Point","coordinates":[NaN,1]}}`, "invalid JSON"},
		{"{\"type\":\"Feature\",\"properties\":{\"a\":\"\xff\"},\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,1]}}", "invalid JSON: invalid UTF-8"},
		{`[1,2]`, "not a Feature"},
		{`{"type":"FeatureCollection","features":[]}`, "not a Feature"},
		{`{"type":"Feature","properties":[],"geometry":{"type":"Point","coordinates":[1,1]}}`, "properties must be an object or null, got []"},
		{`{"type":"Feature","properties":{}}`, "geometry is missing"},
		{`{"type":"Feature","geometry":null}`, "geometry is missing"},
		{`{"type":"Feature","geometry":"POINT(1 2)"}`, `geometry must be an object, got "POINT(1 2)"`},
		{`{"type":"Feature","geometry":{"coordinates":[1,2]}}`, "geometry type is missing"},
		{`{"type":"Feature","geometry":{"type":"Polygon","coordinates":[]}}`, `geometry type must be Point, LineString or MultiPoint, got "Polygon"`},
		{`{"type":"Feature","geometry":{"type":"Point"}}`, "geometry coordinates are missing"},
		{`{"type":"Feature","geometry":{"type":"Point","coordinates":"1,2"}}`, "Point coordinates must be a position"},
		{`{"type":"Feature","geometry":{"type":"LineString","coordinates":[1,2]}}`, "LineString coordinates must be an array of positions"},
		{`{"type":"Feature","geometry":{"type":"LineString","coordinates":[[1,2]]}}`, "LineString must have at least 2 positions, got 1"},
		{`{"type":"Feature","geometry":{"type":"MultiPoint","coordinates":[]}}`, "MultiPoint must have at least 1 position, got 0"},
		{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1]}}`, "position 1 has 1 numbers, want 2 or 3"},
		{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2,3,4]}}`, "position 1 has 4 numbers, want 2 or 3"},
		{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,"2"]}}`, `coordinate 2 of position 1 is not a number: "2"`},
		{`{"type":"Feature","geometry":{"type":"MultiPoint","coordinates":[[1,2],[191.2,5]]}}`, "coordinate 1 of position 2 is out of range: 191.2"},
		{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,1e400]}}`, "coordinate 2 of position 1 is out of range"},
	}
	for _, c := range cases {
		out, reason := a.annotate(nil, []byte(c.in))
		if !strings.Contains(reason, c.reason) {
			t.Errorf("%s: reason %q, want %q", c.in, reason, c.reason)
		}
		if len(out) != 0 {
			t.Errorf("%s: wrote %s", c.in, out)
		}
	}
}

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
		fmt.Fprintf(&b, `{"type":"Feature","id":"%d","geometry":{"type":"Point","coordinates":[%.6f,%.6f]},"properties":{"n":%d}}`+"\n",
			i, 30+r.Float64()*1.3, 47.8+r.Float64()*0.4, i)
	}
	return b.Bytes()
}

func TestLocateOrderAndRejects(t *testing.T) {
	// Many batches, many workers, some rejects: output in input order.
	dir := t.TempDir()
	const n = 5000
	bad := func(i int) bool { return i%997 == 3 }
	in := filepath.Join(dir, "in.geojsonseq")
	if err := os.WriteFile(in, writeSeq(t, n, bad), 0o644); err != nil {
		t.Fatal(err)
	}
	rej := filepath.Join(dir, "rejects.jsonl")
	l := mustLine(t, straightLine)
	for _, workers := range []int{1, 3, 8} {
		var out bytes.Buffer
		rf, err := createRejects(rej)
		if err != nil {
			t.Fatal(err)
		}
		st, err := locateRun(l, []string{in, in}, &out, rf, workers)
		if err != nil {
			t.Fatal(err)
		}
		if err := rf.Close(); err != nil {
			t.Fatal(err)
		}
		nbad := 0
		for i := 0; i < n; i++ {
			if bad(i) {
				nbad++
			}
		}
		if st.read != 2*n || st.rejected != 2*nbad || st.annotated != 2*(n-nbad) {
			t.Errorf("workers %d: stats %+v", workers, st)
		}
		fs := parseLines(t, out.String())
		k := 0
		for pass := 0; pass < 2; pass++ {
			for i := 0; i < n; i++ {
				if bad(i) {
					continue
				}
				if fs[k].ID != strconv.Itoa(i) {
					t.Fatalf("workers %d: output %d is %s, want %d", workers, k, fs[k].ID, i)
				}
				k++
			}
		}
		data, err := os.ReadFile(rej)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) != 2*nbad {
			t.Fatalf("workers %d: %d rejects, want %d", workers, len(lines), 2*nbad)
		}
		var first struct {
			File   string `json:"file"`
			Line   int    `json:"line"`
			Reason string `json:"reason"`
			Record string `json:"record"`
		}
		if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
			t.Fatal(err)
		}
		if first.File != in || first.Line != 4 || first.Reason != "position 1 has 1 numbers, want 2 or 3" ||
			first.Record != `{"type":"Feature","id":"3","geometry":{"type":"Point","coordinates":[30.5]}}` {
			t.Errorf("first reject %+v", first)
		}
	}
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

// BenchmarkAnnotate is the per-record work of locate: validate, parse,
// locate, splice. Points lie along the bundled line (or the straight
// fixture), exponentially distributed across it (mean 3 km).
func BenchmarkAnnotate(b *testing.B) {
	path := "../../fixtures/lines/front-2024.geojson"
	if _, err := os.Stat(path); err != nil {
		path = straightLine
	}
	l, err := geo.LoadFile(path, geo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	recs := make([][]byte, 4096)
	for i := range recs {
		p, azi := l.PointAt(r.Float64() * l.LengthKm())
		d := math.Min(r.ExpFloat64()*3000, 50000)
		if r.IntN(2) == 0 {
			d = -d
		}
		q := geo.Destination(p, azi+90, d)
		recs[i] = fmt.Appendf(nil, `{"type":"Feature","id":"p%d","geometry":{"type":"Point","coordinates":[%.6f,%.6f]},"properties":{"time":%d,"side":"RU","kind":"ground","track":"t%d"}}`,
			i, q[0], q[1], 1714521600+i*60, i%500)
	}
	a := newAnnotator(l)
	var dst []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var reason string
		dst, reason = a.annotate(dst[:0], recs[i%len(recs)])
		if reason != "" {
			b.Fatal(reason)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
