package batch_test

// Hand-built scenarios (fixtures/scenarios/NAME/): each folder holds a
// handful of sightings, the exact output of
//
//	linewatch detect --line LINE [--policy policy.yaml] --isolated --evidence sightings.ndjson
//
// checked against SPEC by reading (README.md in the folder says how every
// number follows from it), and the summary's counts. LINE is the folder's
// line.geojson if it has one, else fixtures/lines/straight.geojson.
//
// go test ./batch -run Scenario -update rewrites expected.geojson and
// expected-summary.json from the engine's output: check the diff against
// SPEC and the READMEs before keeping it.

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/linewatch/linewatch/batch"
	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/output"
	"github.com/linewatch/linewatch/policy"
)

var update = flag.Bool("update", false, "rewrite the scenarios' expected output from the engine (check it against SPEC before keeping it)")

const scenarioDir = "../fixtures/scenarios"

// scenarioSummary is the summary of SPEC §5 without the timing figures.
type scenarioSummary = output.Counts

// loadScenarioLine loads the line and policy of a scenario folder the way
// `linewatch detect --line … --policy …` does.
func loadScenarioLine(t fataler, dir string) (*geo.Line, detect.Policy) {
	helper(t)
	pol := detect.DefaultPolicy()
	if p := filepath.Join(dir, "policy.yaml"); fileExists(p) {
		var err error
		if pol, err = policy.Load(p); err != nil {
			t.Fatal(err)
		}
	}
	linePath := filepath.Join(dir, "line.geojson")
	if !fileExists(linePath) {
		linePath = "../fixtures/lines/straight.geojson"
	}
	return loadLine(t, linePath, pol)
}

func loadLine(t fataler, path string, pol detect.Policy) (*geo.Line, detect.Policy) {
	helper(t)
	opt := pol.LineOptions()
	line, err := geo.LoadFile(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	return line, pol
}

// fataler is what the helpers need of a *testing.T or a *rapid.T.
type fataler interface {
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}

func helper(t fataler) {
	if h, ok := t.(interface{ Helper() }); ok {
		h.Helper()
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// detectGeoJSON runs the batch engine on the inputs and writes its GeoJSON
// output with --isolated --evidence.
func detectGeoJSON(t fataler, line *geo.Line, pol detect.Policy, workers int, inputs ...string) ([]byte, *batch.Outcome) {
	helper(t)
	out, err := batch.Run(batch.Config{Judge: detect.NewJudge(line, pol), Workers: workers}, inputs)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := output.Write(&buf, line, pol, &out.Result, output.Options{Format: output.GeoJSON, Isolated: true, Evidence: true}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), out
}

func summarize(t fataler, out *batch.Outcome) scenarioSummary {
	helper(t)
	k := out.Counts
	s := output.Summary{
		Records: feed.Counts{Read: k.Read, Accepted: k.Accepted, Rejected: k.Rejected, Duplicate: k.Duplicate,
			Late: k.Late, Unattributed: k.Unattributed, BeyondEnd: k.BeyondEnd},
		Result: &out.Result,
	}
	var sum scenarioSummary
	if err := json.Unmarshal(s.AppendJSON(nil), &sum); err != nil {
		t.Fatalf("summary JSON: %v", err)
	}
	return sum
}

func TestScenarios(t *testing.T) {
	entries, err := os.ReadDir(scenarioDir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		dir := filepath.Join(scenarioDir, e.Name())
		if !e.IsDir() || !fileExists(filepath.Join(dir, "sightings.ndjson")) {
			continue
		}
		n++
		t.Run(e.Name(), func(t *testing.T) {
			t.Parallel()
			line, pol := loadScenarioLine(t, dir)
			got, out := detectGeoJSON(t, line, pol, 2, filepath.Join(dir, "sightings.ndjson"))
			sum := summarize(t, out)
			r := sum.Records
			if r.Read != r.Accepted+r.Rejected+r.Duplicate+r.Late {
				t.Errorf("counts do not add up: %+v", r)
			}
			gotSum, err := json.MarshalIndent(sum, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			gotSum = append(gotSum, '\n')
			expPath := filepath.Join(dir, "expected.geojson")
			sumPath := filepath.Join(dir, "expected-summary.json")
			if *update {
				if err := errors.Join(os.WriteFile(expPath, got, 0o644), os.WriteFile(sumPath, gotSum, 0o644)); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(expPath)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s:\n%s", expPath, lineDiff(want, got))
			}
			wantSum, err := os.ReadFile(sumPath)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(gotSum, wantSum) {
				t.Errorf("summary differs from %s:\nwant %s\ngot  %s", sumPath, wantSum, gotSum)
			}
		})
	}
	if n < 20 {
		t.Errorf("found %d scenarios under %s, want at least 20", n, scenarioDir)
	}
}

// lineDiff shows the lines that differ between two outputs, one Feature a
// line.
func lineDiff(want, got []byte) string {
	w := strings.Split(string(want), "\n")
	g := strings.Split(string(got), "\n")
	var sb strings.Builder
	for i := range max(len(w), len(g)) {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			fmt.Fprintf(&sb, "line %d:\n  want %s\n  got  %s\n", i+1, a, b)
		}
	}
	return sb.String()
}

// SPEC §2: "Other properties are kept and carried to the evidence output";
// §9: violation Features carry "the sighting's other properties". The
// properties of §2's table (id, time, side, kind, track, strength,
// confidence, precision_m, source) are the sighting's own fields, read
// into the violation, not "other" ones — source and track are written as
// the Feature's own (§5) — only the rest are carried, and where a carried
// key is one of the Feature's, linewatch's value wins.
func TestCarriedPropertiesAreTheOtherOnes(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "one.ndjson")
	rec := `{"type":"Feature","id":"x1","geometry":{"type":"Point","coordinates":[30.2,48.01]},"properties":{"time":"2024-05-01T10:00:00Z","side":"B","kind":"ground","track":"T1","strength":2,"confidence":0.9,"precision_m":10,"source":"obs-7","id":"x1","note":"kept","class":"theirs","unit":{"name":"3rd"}}}`
	if err := os.WriteFile(in, []byte(rec+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pol := detect.DefaultPolicy()
	line, _ := loadLine(t, "../fixtures/lines/straight.geojson", pol)
	got, _ := detectGeoJSON(t, line, pol, 1, in)
	var fc struct {
		Features []struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(got, &fc); err != nil || len(fc.Features) != 1 {
		t.Fatalf("want one violation Feature, got %s (%v)", got, err)
	}
	props := fc.Features[0].Properties
	var keys []string
	for k := range props {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"class", "depth_m", "description", "episode", "id", "km", "layer", "marker-color", "marker-size",
		"note", "party", "sector", "source", "strength", "time", "title", "track", "type", "unit", "weight"}
	if !slices.Equal(keys, want) {
		t.Errorf("violation Feature properties %v,\nwant %v (§2's own fields are not carried)", keys, want)
	}
	if c := string(props["class"]); c != `"isolated"` {
		t.Errorf("class %s: a carried property must give way to linewatch's", c)
	}
	if s, tr := string(props["source"]), string(props["track"]); s != `"obs-7"` || tr != `"T1"` {
		t.Errorf("source %s, track %s: want the sighting's, \"obs-7\" and \"T1\"", s, tr)
	}
	if u := string(props["unit"]); u != `{"name":"3rd"}` {
		t.Errorf("unit %s, want {\"name\":\"3rd\"} carried as is", u)
	}
}
