package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/linewatch/linewatch/geo"
)

// binary is the linewatch command built once for the tests that need a
// real process: standard input, exit statuses as the shell sees them.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "linewatch-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "linewatch")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const (
	straightLine = "../../fixtures/lines/straight.geojson"
	twoStretches = "../../fixtures/lines/two-stretches.geojson"
	badLines     = "../../fixtures/lines/bad"
)

type result struct {
	code           int
	stdout, stderr string
}

// runIn runs linewatch in this process.
func runIn(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runApp(append([]string{"linewatch"}, args...), strings.NewReader(""), &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

// runBin runs the built binary with stdin.
func runBin(t *testing.T, stdin []byte, args ...string) result {
	t.Helper()
	return runBinAt(t, "", stdin, args...)
}

// runBinIn runs the built binary in dir.
func runBinIn(t *testing.T, dir string, args ...string) result {
	t.Helper()
	return runBinAt(t, dir, nil, args...)
}

// runBinAt runs the built binary in dir ("" for this one) with stdin.
func runBinAt(t *testing.T, dir string, stdin []byte, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, stdout.String(), stderr.String()}
}

// wantOneLineError checks exit status 2 and exactly one line on stderr that
// contains want.
func wantOneLineError(t *testing.T, r result, want string) {
	t.Helper()
	if r.code != 2 {
		t.Errorf("exit status %d, want 2 (stderr %q)", r.code, r.stderr)
	}
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") || !strings.HasPrefix(r.stderr, "linewatch") {
		t.Errorf("stderr is not one line: %q", r.stderr)
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr %q does not say %q", r.stderr, want)
	}
	if strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic") {
		t.Errorf("stderr has a panic: %q", r.stderr)
	}
}

func mustLine(t *testing.T, path string) *geo.Line {
	t.Helper()
	l, err := geo.LoadFile(path, geo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

type sectorFC struct {
	Type     string `json:"type"`
	Features []struct {
		Type       string         `json:"type"`
		Properties map[string]any `json:"properties"`
		Geometry   struct {
			Type        string       `json:"type"`
			Coordinates [][2]float64 `json:"coordinates"`
		} `json:"geometry"`
	} `json:"features"`
}

func TestSectors(t *testing.T) {
	for _, path := range []string{straightLine, twoStretches} {
		t.Run(filepath.Base(path), func(t *testing.T) {
			r := runIn(t, "sectors", "--line", path)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			var fc sectorFC
			if err := json.Unmarshal([]byte(r.stdout), &fc); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, r.stdout)
			}
			l := mustLine(t, path)
			secs := l.Sectors()
			if fc.Type != "FeatureCollection" || len(fc.Features) != len(secs) {
				t.Fatalf("got %s with %d features, want %d sectors", fc.Type, len(fc.Features), len(secs))
			}
			for i, f := range fc.Features {
				s := secs[i]
				p := f.Properties
				if p["id"] != s.ID || p["title"] != s.ID || p["index"] != float64(i) || p["stretch"] != float64(s.Stretch) {
					t.Errorf("feature %d: properties %v, sector %+v", i, p, s)
				}
				if math.Abs(p["km_from"].(float64)-s.KmFrom) > 0.0005 || math.Abs(p["km_to"].(float64)-s.KmTo) > 0.0005 ||
					math.Abs(p["length_km"].(float64)-s.LengthKm()) > 0.0005 {
					t.Errorf("feature %d: km %v–%v (%v), sector %v–%v", i, p["km_from"], p["km_to"], p["length_km"], s.KmFrom, s.KmTo)
				}
				if s.StretchName != "" && p["stretch_name"] != s.StretchName {
					t.Errorf("feature %d: stretch_name %v, want %q", i, p["stretch_name"], s.StretchName)
				}
				if p["stroke"] == nil || i > 0 && p["stroke"] == fc.Features[i-1].Properties["stroke"] {
					t.Errorf("feature %d: stroke %v does not alternate", i, p["stroke"])
				}
				if f.Geometry.Type != "LineString" || len(f.Geometry.Coordinates) < 2 {
					t.Fatalf("feature %d: geometry %+v", i, f.Geometry)
				}
				// The ends lie on the line at the sector's chainage.
				for _, c := range [][2]float64{f.Geometry.Coordinates[0], f.Geometry.Coordinates[len(f.Geometry.Coordinates)-1]} {
					loc := l.Locate(c[0], c[1])
					if loc.DistanceM > 0.2 || loc.Km < s.KmFrom-0.001 || loc.Km > s.KmTo+0.001 {
						t.Errorf("feature %d: end %v is %.3f m off the line at km %.3f, sector %.3f–%.3f", i, c, loc.DistanceM, loc.Km, s.KmFrom, s.KmTo)
					}
				}
			}
			// Deterministic, coordinates at most 6 decimals, km at most 3.
			if again := runIn(t, "sectors", "--line", path); again.stdout != r.stdout {
				t.Error("two runs differ")
			}
			numbers := regexp.MustCompile(`"[^"]*"`).ReplaceAllString(r.stdout, `""`)
			if regexp.MustCompile(`\d[eE][-+]?\d`).MatchString(numbers) {
				t.Error("exponent notation in output")
			}
			for _, tok := range strings.FieldsFunc(numbers, func(c rune) bool { return strings.ContainsRune(`[]{},:"`, c) }) {
				if i := strings.IndexByte(tok, '.'); i >= 0 && len(tok)-i-1 > 6 {
					t.Errorf("number %s has more than 6 decimals", tok)
				}
			}
		})
	}
}

// TestSectorsAntimeridian: a sector across the antimeridian is a
// MultiLineString cut there (RFC 7946 §3.1.9), so that map tools do not
// draw it across the whole map; the others stay LineStrings.
func TestSectorsAntimeridian(t *testing.T) {
	path := "../../fixtures/lines/antimeridian.geojson"
	r := runIn(t, "sectors", "--line", path)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	var fc struct {
		Features []struct {
			Properties map[string]any `json:"properties"`
			Geometry   struct {
				Type        string          `json:"type"`
				Coordinates json.RawMessage `json:"coordinates"`
			} `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &fc); err != nil {
		t.Fatal(err)
	}
	l := mustLine(t, path)
	cut := 0
	for i, f := range fc.Features {
		var parts [][][2]float64
		switch f.Geometry.Type {
		case "LineString":
			var ls [][2]float64
			json.Unmarshal(f.Geometry.Coordinates, &ls)
			parts = [][][2]float64{ls}
		case "MultiLineString":
			json.Unmarshal(f.Geometry.Coordinates, &parts)
			cut++
			if len(parts) < 2 {
				t.Errorf("sector %d: a MultiLineString of %d part", i, len(parts))
			}
		default:
			t.Fatalf("sector %d: geometry %s", i, f.Geometry.Type)
		}
		for k, part := range parts {
			if len(part) < 2 {
				t.Errorf("sector %d part %d: %v", i, k, part)
			}
			for j := 1; j < len(part); j++ {
				if d := part[j][0] - part[j-1][0]; d > 180 || d < -180 {
					t.Errorf("sector %d part %d jumps from %v to %v", i, k, part[j-1], part[j])
				}
			}
			if k > 0 {
				end, start := parts[k-1][len(parts[k-1])-1], part[0]
				if math.Abs(end[0]) != 180 || end[0] != -start[0] || end[1] != start[1] {
					t.Errorf("sector %d: part %d ends at %v, part %d starts at %v", i, k-1, end, k, start)
				}
				if loc := l.Locate(end[0], end[1]); loc.DistanceM > 0.2 {
					t.Errorf("sector %d: cut at %v is %.3f m off the line", i, end, loc.DistanceM)
				}
			}
		}
	}
	if cut != 1 {
		t.Errorf("%d sectors cut at the antimeridian, want 1 (the line crosses it once within a stretch)", cut)
	}
}

func TestSectorsPolicyAndOutput(t *testing.T) {
	dir := t.TempDir()
	pol := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(pol, []byte("sector_km: 25\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "sectors.geojson")
	r := runIn(t, "sectors", "--line", straightLine, "--policy", pol, "-o", out)
	if r.code != 0 || r.stdout != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var fc sectorFC
	if err := json.Unmarshal(data, &fc); err != nil {
		t.Fatal(err)
	}
	l := mustLine(t, straightLine)
	want := int(math.Ceil(l.LengthKm() / 25))
	if len(fc.Features) != want {
		t.Errorf("%d sectors of 25 km over %.3f km, want %d", len(fc.Features), l.LengthKm(), want)
	}
	if got := fc.Features[0].Properties["km_to"]; got != 25.0 {
		t.Errorf("first sector ends at %v, want 25", got)
	}
}

func TestSectorsOwnLine(t *testing.T) {
	// A bare geometry takes its parties from --left and --right.
	dir := t.TempDir()
	path := filepath.Join(dir, "l.geojson")
	if err := os.WriteFile(path, []byte(`{"type":"LineString","coordinates":[[10,50],[10.2,50]]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runIn(t, "sectors", "--line", path)
	wantOneLineError(t, r, "no left and right parties: give each feature left and right properties, or give --left and --right")
	r = runIn(t, "sectors", "--line", path, "--left", "X", "--right", "Y")
	if r.code != 0 || strings.Count(r.stdout, `"type":"Feature"`) != 2 {
		t.Fatalf("exit %d, output %s %s", r.code, r.stdout, r.stderr)
	}
}

func TestBadLineFiles(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(badLines, "*"))
	if len(files) == 0 {
		t.Skip("no bad line fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := runBin(t, nil, "sectors", "--line", f)
			wantOneLineError(t, r, "linewatch: line "+f+": ")
			if r.stdout != "" {
				t.Errorf("stdout %q", r.stdout)
			}
			r = runBin(t, nil, "locate", "--line", f, "-")
			wantOneLineError(t, r, "linewatch: line "+f+": ")
		})
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.geojsonseq")
	if err := os.WriteFile(in, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	badPolicy := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(badPolicy, []byte("sector_km: -1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{nil, "a command is required"},
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"--frob"}, "flag provided but not defined: -frob"},
		{[]string{"sectors"}, "--line FILE is required"},
		{[]string{"locate", in}, "--line FILE is required"},
		{[]string{"locate", "--line", straightLine}, "no SIGHTINGS"},
		{[]string{"sectors", "--line", straightLine, "--frob"}, "flag provided but not defined: -frob (see 'linewatch sectors --help')"},
		{[]string{"sectors", "--line", straightLine, "--buffer-m", "wide"}, "buffer-m"},
		{[]string{"sectors", "--line", straightLine, "--buffer-m", "-3"}, "--buffer-m must be a number ≥ 0"},
		{[]string{"sectors", "--line", straightLine, "extra"}, "sectors takes no arguments"},
		{[]string{"locate", in, "--line", straightLine, "--nosuch"}, "flag provided but not defined: -nosuch"},
		{[]string{"sectors", "--line", "no/such/line.geojson"}, "line: open no/such/line.geojson"},
		{[]string{"sectors", "--line", straightLine, "--policy", "no/such.yaml"}, "policy: open no/such.yaml"},
		{[]string{"sectors", "--line", straightLine, "--policy", badPolicy}, "sector_km"},
		{[]string{"locate", "--line", straightLine, "no/such/file.geojsonseq"}, "input: open no/such/file.geojsonseq"},
		{[]string{"locate", "--line", straightLine, dir}, "is a directory"},
		{[]string{"sectors", "--line", straightLine, "-o", filepath.Join(dir, "no", "such", "dir")}, "output: open"},
		{[]string{"help", "frobnicate"}, "frobnicate"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			wantOneLineError(t, runIn(t, c.args...), c.want)
		})
	}
	// The same as a process: the exit status the shell sees.
	wantOneLineError(t, runBin(t, nil, "sectors"), "--line FILE is required")
	wantOneLineError(t, runBin(t, nil, "locate", "--line", straightLine, "--nope", in), "flag provided but not defined")
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"help"}, {"locate", "--help"}, {"help", "sectors"}} {
		r := runIn(t, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "linewatch") || r.stderr != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
}

func TestUnreadableGzip(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(zw, `{"type":"Feature","geometry":{"type":"Point","coordinates":[30.5,48.0%d]},"properties":{"i":%d}}`+"\n", i%10, i)
	}
	zw.Close()
	cut := filepath.Join(dir, "cut.geojsonseq.gz")
	if err := os.WriteFile(cut, buf.Bytes()[:buf.Len()/2], 0o644); err != nil {
		t.Fatal(err)
	}
	wantOneLineError(t, runBin(t, nil, "locate", "--line", straightLine, "-o", filepath.Join(dir, "out"), cut), "input "+cut)
	notGzip := filepath.Join(dir, "plain.gz")
	if err := os.WriteFile(notGzip, []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wantOneLineError(t, runBin(t, nil, "locate", "--line", straightLine, notGzip), notGzip)
}
