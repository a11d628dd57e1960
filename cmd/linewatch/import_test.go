package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
	"pgregory.net/rapid"
)

var updateImport = flag.Bool("update-import", false, "rewrite the expected output of fixtures/import from the importer (check it before keeping it)")

const importFixtures = "../../fixtures/import"

// importCounts is the summary's counts, without the times.
type importCounts struct {
	Rows struct {
		Read     int64 `json:"read"`
		Imported int64 `json:"imported"`
		Rejected int64 `json:"rejected"`
	} `json:"rows"`
	Flagged int64 `json:"flagged"`
	Files   []struct {
		File      string `json:"file"`
		Format    string `json:"format"`
		Delimiter string `json:"delimiter,omitempty"`
		Rows      int64  `json:"rows"`
		Imported  int64  `json:"imported"`
		Rejected  int64  `json:"rejected"`
		Flagged   int64  `json:"flagged"`
	} `json:"files"`
}

func readCounts(t *testing.T, path string) importCounts {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var k importCounts
	if err := json.Unmarshal(data, &k); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return k
}

// Each fixture: NAME.args (the dialect and the flags, one argument a
// line), the input
// NAME.csv, NAME.tsv or NAME.geojson, and the expected NAME.geojsonl, NAME.rejects.ndjson
// and NAME.counts.json.
func TestImportFixtures(t *testing.T) {
	argFiles, _ := filepath.Glob(filepath.Join(importFixtures, "*.args"))
	if len(argFiles) < 5 {
		t.Fatalf("only %d fixtures", len(argFiles))
	}
	dir, err := filepath.Abs(importFixtures)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	for _, af := range argFiles {
		name := strings.TrimSuffix(filepath.Base(af), ".args")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(name + ".args")
			if err != nil {
				t.Fatal(err)
			}
			args := append([]string{"import"}, strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")...)
			var input string
			for _, ext := range []string{".csv", ".tsv", ".geojson"} {
				if _, err := os.Stat(name + ext); err == nil {
					input = name + ext
				}
			}
			tmp := t.TempDir()
			out, rej, sum := filepath.Join(tmp, "out"), filepath.Join(tmp, "rej"), filepath.Join(tmp, "sum")
			args = append(args, "--rejects", rej, "--summary", sum, input, "-o", out)
			r := runIn(t, args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			k := readCounts(t, sum)
			if k.Rows.Read != k.Rows.Imported+k.Rows.Rejected || k.Rows.Read == 0 {
				t.Errorf("counts do not add up: %+v", k)
			}
			gotOut, _ := os.ReadFile(out)
			gotRej, _ := os.ReadFile(rej)
			gotCounts, _ := json.MarshalIndent(k, "", "  ")
			gotCounts = append(gotCounts, '\n')
			// Every line is a sighting feed accepts; every reject a row.
			lines := strings.Split(strings.TrimSuffix(string(gotOut), "\n"), "\n")
			if int64(len(lines)) != k.Rows.Imported {
				t.Errorf("%d records, %d imported", len(lines), k.Rows.Imported)
			}
			for _, l := range lines {
				var s detect.Sighting
				if err := feed.Decode([]byte(l), &s); err != nil {
					t.Errorf("feed rejects %s: %v", l, err)
				}
			}
			if n := bytes.Count(gotRej, []byte{'\n'}); int64(n) != k.Rows.Rejected {
				t.Errorf("%d rejects, %d rejected", n, k.Rows.Rejected)
			}
			for _, f := range []struct {
				ext string
				got []byte
			}{{".geojsonl", gotOut}, {".rejects.ndjson", gotRej}, {".counts.json", gotCounts}} {
				if *updateImport {
					if err := os.WriteFile(name+f.ext, f.got, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(name + f.ext)
				if err != nil {
					t.Fatalf("%v (run go test ./cmd/linewatch -run TestImportFixtures -update-import)", err)
				}
				if !bytes.Equal(f.got, want) {
					t.Errorf("%s%s differs:\n got: %s\nwant: %s", name, f.ext, f.got, want)
				}
			}
		})
	}
}

func writeCSV(t *testing.T, text string) string {
	t.Helper()
	return writeTemp(t, "in.csv", text)
}

const okCSV = "id,time,lon,lat\n1,2024-05-01T10:00:00Z,30.5,48.05\n2,2024-05-01T10:00:00Z,east,48.05\n"

func TestImportCommand(t *testing.T) {
	in := writeCSV(t, okCSV)
	cols := []string{"--id", "id", "--time", "time", "--lon", "lon", "--lat", "lat"}
	imp := func(args ...string) []string { return append(append([]string{"import", "csv"}, cols...), args...) }

	// Standard output, counts on standard error.
	r := runIn(t, imp(in)...)
	if r.code != 0 || !strings.HasPrefix(r.stdout, `{"type":"Feature","id":"1",`) || strings.Count(r.stdout, "\n") != 1 {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if !strings.HasPrefix(r.stderr, "rows: 2 read, 1 imported, 1 rejected\n") {
		t.Errorf("stderr %q", r.stderr)
	}
	// -o before or after the files; .gz is gzipped.
	dir := t.TempDir()
	for _, args := range [][]string{
		imp("-o", filepath.Join(dir, "a.geojsonl"), in),
		imp(in, "-o", filepath.Join(dir, "b.geojsonl")),
		imp(in, "--output="+filepath.Join(dir, "c.geojsonl")),
	} {
		if r := runIn(t, args...); r.code != 0 {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
	}
	a, _ := os.ReadFile(filepath.Join(dir, "a.geojsonl"))
	b, _ := os.ReadFile(filepath.Join(dir, "b.geojsonl"))
	c, _ := os.ReadFile(filepath.Join(dir, "c.geojsonl"))
	if len(a) == 0 || !bytes.Equal(a, b) || !bytes.Equal(a, c) {
		t.Fatalf("outputs differ: %q %q %q", a, b, c)
	}
	gz := filepath.Join(dir, "d.geojsonl.gz")
	if r := runIn(t, imp(in, "-o", gz)...); r.code != 0 {
		t.Fatal(r.stderr)
	}
	f, _ := os.Open(gz)
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := io.ReadAll(zr)
	f.Close()
	if !bytes.Equal(a, d) {
		t.Fatalf("gzipped output %q", d)
	}

	// --strict: 1 when a row was rejected, and the output is written.
	out := filepath.Join(dir, "strict.geojsonl")
	if r := runIn(t, imp("--strict", in, "-o", out)...); r.code != 1 || !strings.Contains(r.stderr, "1 rows rejected (--strict)") {
		t.Fatalf("strict: exit %d %q", r.code, r.stderr)
	}
	if s, _ := os.ReadFile(out); !bytes.Equal(s, a) {
		t.Fatalf("strict output %q", s)
	}

	// Rows read and none imported: 1, as detect --strict does, with the
	// rejects written.
	none := writeCSV(t, "id,time,lon,lat\n1,yesterday,30.5,48.05\n2,2024-05-01T10:00:00Z,east,48.05\n")
	noneRej := filepath.Join(dir, "none.rejects")
	if r := runIn(t, imp("--rejects", noneRej, none, "-o", filepath.Join(dir, "none.geojsonl"))...); r.code != 1 ||
		!strings.Contains(r.stderr, "rows: 2 read, 0 imported") || !strings.Contains(r.stderr, "no row imported: all 2 rows read were rejected") {
		t.Fatalf("nothing imported: exit %d %q", r.code, r.stderr)
	}
	if s, _ := os.ReadFile(noneRej); strings.Count(string(s), "\n") != 2 {
		t.Fatalf("rejects of nothing imported: %q", s)
	}
	// A file of a header alone is no failure: there was nothing to import.
	if r := runIn(t, imp(writeCSV(t, "id,time,lon,lat\n"), "-o", filepath.Join(dir, "empty.geojsonl"))...); r.code != 0 {
		t.Fatalf("header alone: exit %d %q", r.code, r.stderr)
	}

	// Usage errors and unusable inputs: 2, one line, nothing written.
	bad := writeTemp(t, "bad.csv", "x,y\n1,2\n")
	keep := filepath.Join(dir, "keep")
	os.WriteFile(keep, []byte("keep"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"import", "csv", "--time", "time", "--lat", "lat", in}, "--lon: a column is required with --lat (see 'linewatch import csv --help')"},
		{imp(), "no CSV or GeoJSON files given"},
		{imp("--delimiter", "ab", in), "--delimiter must be one character"},
		{imp("--encoding", "ebcdic", in), "unknown encoding"},
		{imp("--tz", "Nowhere/Else", in), `--tz "Nowhere/Else"`},
		{imp("--map", filepath.Join(dir, "none.yaml"), in), "map: open"},
		{imp("-o", keep, in, bad), `bad.csv: --lon: no column "lon" in the header (columns: x, y)`},
		{imp("-o", keep, filepath.Join(dir, "missing.csv")), "input: open"},
		{imp("-o", keep, "-", "-"), "standard input (-) can be read only once"},
		{[]string{"import", "gdelt", in}, ""},
	} {
		r := runIn(t, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	if s, _ := os.ReadFile(keep); string(s) != "keep" {
		t.Errorf("an unusable run wrote the output: %q", s)
	}

	// Standard input, and the summary as JSON adds up over files.
	sum := filepath.Join(dir, "sum.json")
	rb := runBin(t, []byte(okCSV), imp("--summary", sum, "-", in)...)
	if rb.code != 0 || strings.Count(rb.stdout, "\n") != 2 || rb.stderr != "" {
		t.Fatalf("stdin: exit %d %q %q", rb.code, rb.stdout, rb.stderr)
	}
	k := readCounts(t, sum)
	if k.Rows.Read != 4 || k.Rows.Imported != 2 || k.Rows.Rejected != 2 || len(k.Files) != 2 || k.Files[0].File != "-" || k.Files[1].Rows != 2 {
		t.Fatalf("summary %+v", k)
	}
}

func TestDetectFrom(t *testing.T) {
	in := writeCSV(t, okCSV)
	// Importer flags without --from are a mistake.
	r := runIn(t, "detect", "--line", straightLine, "--lon", "x", in)
	if r.code != 2 || !strings.Contains(r.stderr, "--lon reads CSV: give --from csv, acled or ucdp") {
		t.Fatalf("exit %d %q", r.code, r.stderr)
	}
	r = runIn(t, "detect", "--line", straightLine, "--from", "gdelt", in)
	if r.code != 2 || !strings.Contains(r.stderr, `--from: unknown dialect "gdelt"`) {
		t.Fatalf("exit %d %q", r.code, r.stderr)
	}
	r = runIn(t, "detect", "--line", straightLine, "--from", "csv", "--lon", "x", "--lat", "lat", "--time", "time", in)
	if r.code != 2 || !strings.Contains(r.stderr, `--lon: no column "x" in the header`) {
		t.Fatalf("exit %d %q", r.code, r.stderr)
	}
	// Rejected rows are rejects of the run, with the CSV file's lines.
	dir := t.TempDir()
	rej := filepath.Join(dir, "rej.ndjson")
	args := []string{"detect", "--line", straightLine, "--from", "csv", "--id", "id", "--lon", "lon", "--lat", "lat", "--time", "time", "--side", "=B", "--rejects", rej, "--strict"}
	r = runIn(t, append(args, in)...)
	if r.code != 1 || !strings.Contains(r.stderr, "records: 2 read, 1 accepted") {
		t.Fatalf("exit %d %q", r.code, r.stderr)
	}
	got, _ := os.ReadFile(rej)
	want := fmt.Sprintf(`{"file":%q,"line":3,"reason":"lon (column \"lon\") is not a number: \"east\"","record":"2,2024-05-01T10:00:00Z,east,48.05"}`+"\n", in)
	if string(got) != want {
		t.Fatalf("rejects %s, want %s", got, want)
	}
	// Standard input: the same output, the file named "-".
	args = append(args[:len(args)-1], "--isolated") // not --strict
	fromFile := runIn(t, append(args, in)...)
	rb := runBin(t, []byte(okCSV), append(args, "-")...)
	if rb.code != 0 || rb.stdout != fromFile.stdout || !strings.Contains(rb.stdout, `"id":"1"`) {
		t.Fatalf("stdin: exit %d %q %q, want %q", rb.code, rb.stdout, rb.stderr, fromFile.stdout)
	}
	got, _ = os.ReadFile(rej)
	if !strings.HasPrefix(string(got), `{"file":"-","line":3,`) {
		t.Fatalf("stdin rejects %s", got)
	}
}

// importRow is a generated CSV row: a sighting near the straight line
// (A north, B south of 48° from 30° to 31.3° E), or a bad one.
type importRow struct {
	id, time, lon, lat, side, kind, track, strength, note string
}

// Property: `import` and then `detect` gives the same bytes as `detect
// --from` on the same CSV file, whatever its dialect, and the counts agree.
func TestImportThenDetectEqualsDetectFrom(t *testing.T) {
	dir := t.TempDir()
	rapid.Check(t, func(rt *rapid.T) {
		delim := rapid.SampledFrom([]string{",", ";", "\t", "|"}).Draw(rt, "delim")
		crlf := rapid.Bool().Draw(rt, "crlf")
		bom := rapid.Bool().Draw(rt, "bom")
		eol := "\n"
		if crlf {
			eol = "\r\n"
		}
		num := func(x float64) string {
			s := fmt.Sprintf("%.4f", x)
			if delim == ";" {
				s = strings.Replace(s, ".", ",", 1)
			}
			return s
		}
		quote := func(s string) string {
			if strings.ContainsAny(s, delim+"\"\n\r") || rapid.IntRange(0, 9).Draw(rt, "q") == 0 {
				return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
			}
			return s
		}
		n := rapid.OneOf(rapid.IntRange(0, 5), rapid.IntRange(40, 150)).Draw(rt, "n")
		var b strings.Builder
		if bom {
			b.WriteString("\xEF\xBB\xBF")
		}
		b.WriteString(strings.Join([]string{"id", "time", "lon", "lat", "side", "kind", "track", "strength", "note"}, delim) + eol)
		for i := range n {
			r := importRow{
				id:       fmt.Sprintf("s%d", rapid.IntRange(0, 300).Draw(rt, "id")), // duplicates, some conflicting
				time:     fmt.Sprintf("2024-05-%02dT%02d:%02d:00Z", rapid.IntRange(1, 3).Draw(rt, "day"), rapid.IntRange(0, 23).Draw(rt, "h"), rapid.IntRange(0, 59).Draw(rt, "m")),
				lon:      num(rapid.Float64Range(30.35, 30.85).Draw(rt, "lon")),
				lat:      num(rapid.Float64Range(47.95, 48.1).Draw(rt, "lat")),
				side:     rapid.SampledFrom([]string{"B", "B", "A", "", "C"}).Draw(rt, "side"),
				kind:     rapid.SampledFrom([]string{"ground", "fire", "", "Fire"}).Draw(rt, "kind"),
				track:    rapid.SampledFrom([]string{"", "u1", "u2", "u3"}).Draw(rt, "track"),
				strength: rapid.SampledFrom([]string{"", "1", "12", "40"}).Draw(rt, "strength"),
				note:     rapid.SampledFrom([]string{"", "seen", "a, b; c", "two\nlines", `say "hi"`, "tab\there"}).Draw(rt, "note"),
			}
			if rapid.IntRange(0, 9).Draw(rt, "noid") == 0 {
				r.id = "" // a hash id
			}
			switch rapid.IntRange(0, 12).Draw(rt, "bad") {
			case 0:
				r.lon = "east"
			case 1:
				r.time = "2024-05-01 10:00" // no zone
			case 2:
				r.kind = "patrol"
			case 3:
				r.strength = "-3"
			}
			fields := []string{r.id, r.time, r.lon, r.lat, r.side, r.kind, r.track, r.strength, r.note}
			for j, f := range fields {
				fields[j] = quote(f)
			}
			line := strings.Join(fields, delim)
			if rapid.IntRange(0, 19).Draw(rt, "short") == 0 {
				line = strings.Join(fields[:4], delim) // too few fields
			}
			b.WriteString(line + eol)
			if i%7 == 3 {
				b.WriteString(eol) // a blank line
			}
		}
		in := filepath.Join(dir, "in.csv")
		if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
			rt.Fatal(err)
		}
		cols := []string{"--id", "id", "--time", "time", "--lon", "lon", "--lat", "lat", "--side", "side",
			"--kind", "kind", "--track", "track", "--strength", "strength"}
		sightings, isum := filepath.Join(dir, "s.geojsonl"), filepath.Join(dir, "isum.json")
		r := runIn(t, append(append([]string{"import", "csv"}, cols...), "--summary", isum, in, "-o", sightings)...)
		ik := readCounts(t, isum)
		if r.code != 0 && !(r.code == 1 && ik.Rows.Imported == 0 && ik.Rows.Read > 0) {
			rt.Fatalf("import: exit %d %s", r.code, r.stderr)
		}
		det := []string{"detect", "--line", straightLine, "--isolated", "--evidence", "--format", "geojson"}
		s1, s2 := filepath.Join(dir, "sum1.json"), filepath.Join(dir, "sum2.json")
		r1 := runIn(t, append(det, "--summary", s1, sightings)...)
		r2 := runIn(t, append(append(append(det, "--summary", s2, "--from", "csv"), cols...), in)...)
		if r1.code != 0 || r2.code != 0 {
			rt.Fatalf("detect: exit %d %s / %d %s", r1.code, r1.stderr, r2.code, r2.stderr)
		}
		if r1.stdout != r2.stdout {
			rt.Fatalf("import + detect differs from detect --from:\n%s\n---\n%s\ninput:\n%s", r1.stdout, r2.stdout, b.String())
		}
		var k1, k2 struct {
			Records map[string]int64 `json:"records"`
		}
		d1, _ := os.ReadFile(s1)
		d2, _ := os.ReadFile(s2)
		json.Unmarshal(d1, &k1)
		json.Unmarshal(d2, &k2)
		if k2.Records["read"] != ik.Rows.Read || k1.Records["read"] != ik.Rows.Imported ||
			k2.Records["rejected"] != ik.Rows.Rejected+k1.Records["rejected"] || k1.Records["rejected"] != 0 ||
			k2.Records["accepted"] != k1.Records["accepted"] || k2.Records["duplicate"] != k1.Records["duplicate"] {
			rt.Fatalf("counts: import %+v, detect %v, detect --from %v", ik.Rows, k1.Records, k2.Records)
		}
	})
}

// BenchmarkImportCommand runs `linewatch import csv` on a file of a
// million rows (twelve columns, every sighting field) to a file: rows/s
// is the figure of the whole command, reading and writing included.
//
//	go test -run '^$' -bench ImportCommand -benchtime 5x ./cmd/linewatch
func BenchmarkImportCommand(b *testing.B) {
	const n = 1_000_000
	dir := b.TempDir()
	in := filepath.Join(dir, "log.csv")
	f, err := os.Create(in)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("id,time,lon,lat,side,kind,track,strength,confidence,precision_m,source,note\n")
	notes := []string{"patrol", "shelling seen", `"a, b"`}
	for i := range n {
		fmt.Fprintf(w, "%d,2024-05-%02dT%02d:%02d:%02dZ,%.5f,%.5f,%s,%s,u%d,%d,0.%d,%d,obs%d,%s\n",
			i, 1+i%28, i%24, i%60, (i*7)%60, 30+float64(i)/n, 48+float64(i%77777)/77777,
			[]string{"A", "B"}[i%2], []string{"ground", "fire", "ground"}[i%3], i%50, 1+i%30, 5+i%5,
			[]int{0, 50, 500}[i%3], i%7, notes[i%3])
	}
	if err := errors.Join(w.Flush(), f.Close()); err != nil {
		b.Fatal(err)
	}
	out := filepath.Join(dir, "out.geojsonl")
	args := []string{"linewatch", "import", "csv", "--id", "id", "--time", "time", "--lon", "lon", "--lat", "lat",
		"--side", "side", "--kind", "kind", "--track", "track", "--strength", "strength", "--confidence", "confidence",
		"--precision-m", "precision_m", "--source", "source", "--summary", filepath.Join(dir, "sum.json"), in, "-o", out}
	b.ResetTimer()
	for b.Loop() {
		var stderr bytes.Buffer
		if code := runApp(args, strings.NewReader(""), io.Discard, &stderr); code != 0 {
			b.Fatalf("exit %d: %s", code, stderr.String())
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
}

// import ucdp reads what ogr2ogr makes of a UCDP export with no flag but
// the file: a GeoJSON FeatureCollection (positions from its Points) and a
// CSV with X and Y first and GDAL's dates (positions guessed). The
// sightings are those of the original CSV; only the carried columns
// differ.
func TestImportGDALOutputs(t *testing.T) {
	core := func(t *testing.T, text string) []string {
		t.Helper()
		var out []string
		for _, l := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
			var f struct {
				ID       string `json:"id"`
				Geometry struct {
					Coordinates []float64 `json:"coordinates"`
				} `json:"geometry"`
				P map[string]any `json:"properties"`
			}
			if err := json.Unmarshal([]byte(l), &f); err != nil {
				t.Fatalf("%s: %v", l, err)
			}
			out = append(out, fmt.Sprint(f.ID, f.Geometry.Coordinates, f.P["time"], f.P["time_uncertainty_s"], f.P["kind"], f.P["strength"], f.P["precision_m"]))
		}
		return out
	}
	want, err := os.ReadFile(filepath.Join(importFixtures, "ucdp.geojsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for file, says := range map[string]string{
		"ucdp-geojson.geojson": "ucdp-geojson.geojson: positions from the Point geometry\n",
		"ucdp-gdal.csv":        "ucdp-gdal.csv: positions from columns \"X\" and \"Y\" (guessed; --lon and --lat choose others)\n",
	} {
		path := filepath.Join(importFixtures, file)
		r := runIn(t, "import", "ucdp", path)
		if r.code != 0 || !strings.HasPrefix(r.stderr, strings.Replace(says, file, path, 1)) || !strings.Contains(r.stderr, "rows: 11 read, 8 imported, 3 rejected") {
			t.Errorf("import ucdp %s: exit %d, stderr %q", file, r.code, r.stderr)
			continue
		}
		if got, w := core(t, r.stdout), core(t, string(want)); !slices.Equal(got, w) {
			t.Errorf("import ucdp %s:\n%s\nwant (as from ucdp.csv)\n%s", file, strings.Join(got, "\n"), strings.Join(w, "\n"))
		}
		// detect --from reads them as they stand too.
		rej := filepath.Join(t.TempDir(), "rejects.ndjson")
		d := runIn(t, "detect", "--line", straightLine, "--from", "ucdp", "--quiet", "--rejects", rej, path)
		if d.code != 0 || !strings.Contains(d.stdout, `"type":"FeatureCollection"`) {
			t.Errorf("detect --from ucdp %s: exit %d %s", file, d.code, d.stderr)
		}
		// Rejects name a CSV row by its line, a FeatureCollection's by its index.
		where := `"line":9,`
		if strings.HasSuffix(file, ".geojson") {
			where = `"index":7,`
		}
		if b, _ := os.ReadFile(rej); !strings.HasPrefix(string(b), `{"file":"`+path+`",`+where) || strings.Count(string(b), "\n") != 3 {
			t.Errorf("detect --from ucdp %s: rejects %s", file, b)
		}
	}
}
