package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

const frontLine = "../../fixtures/lines/front-2024.geojson"

// TestGenThenDetect: what detect finds in a generated scenario is what the
// generator's truth says it injected — the summary and every episode.
func TestGenThenDetect(t *testing.T) {
	dir := t.TempDir()
	feed := filepath.Join(dir, "sightings.ndjson.gz")
	truthFile := filepath.Join(dir, "truth.json")
	r := runIn(t, "gen", "--line", frontLine, "--seed", "3", "--days", "21", "--background", "0.1", "--incidents", "4",
		"--bad", "0.02", "--duplicates", "0.02", "--shuffle",
		"--offensive", "RU:S040-S043:2024-01-03:6d", "--bombardment", "UA:S012-S013:2024-01-08:4d",
		"--raid", "RU:S070:2024-01-15", "--offensive", "UA:S080:2024-01-17:2d",
		"-o", feed, "--truth", truthFile)
	if r.code != 0 {
		t.Fatalf("gen: exit %d: %s", r.code, r.stderr)
	}
	summary := filepath.Join(dir, "summary.json")
	alerts := filepath.Join(dir, "alerts.geojson")
	if r := runIn(t, "detect", "--line", frontLine, "--summary", summary, "-o", alerts, feed); r.code != 0 {
		t.Fatalf("detect: exit %d: %s", r.code, r.stderr)
	}

	var truth struct {
		Expected map[string]any   `json:"expected"`
		Episodes []map[string]any `json:"episodes"`
		Events   []struct {
			ID, Spec      string
			ExpectedClass string `json:"expected_class"`
		} `json:"events"`
	}
	readJSON(t, truthFile, &truth)
	var got map[string]any
	readJSON(t, summary, &got)
	delete(got, "wall_s")
	delete(got, "records_per_s")
	if !reflect.DeepEqual(got, truth.Expected) {
		t.Errorf("detect's summary\n%v\nthe truth expects\n%v", got, truth.Expected)
	}
	// Numbered offensives first, then bombardments, then raids.
	want := map[string]string{"E1": "sustained_offensive", "E2": "escalation", "E3": "sustained_bombardment", "E4": "escalation"}
	for _, e := range truth.Events {
		if e.ExpectedClass != want[e.ID] {
			t.Errorf("%s %s: expected class %s, want %s", e.ID, e.Spec, e.ExpectedClass, want[e.ID])
		}
	}

	var fc struct {
		Features []struct {
			Properties map[string]any `json:"properties"`
		} `json:"features"`
	}
	readJSON(t, alerts, &fc)
	if len(fc.Features) != len(truth.Episodes) {
		t.Fatalf("detect found %d episodes, the truth expects %d", len(fc.Features), len(truth.Episodes))
	}
	keys := []string{"id", "class", "party", "start", "end", "sectors", "km_from", "km_to", "hot_windows", "violations",
		"crossings", "incursions", "fire", "buffer", "tracks", "strength", "max_depth_m", "score", "sources", "affiliations", "criteria"}
	for i, f := range fc.Features {
		for _, k := range keys {
			if !reflect.DeepEqual(f.Properties[k], truth.Episodes[i][k]) {
				t.Errorf("episode %d %v: %s is %v, the truth expects %v", i, f.Properties["id"], k, f.Properties[k], truth.Episodes[i][k])
			}
		}
	}
}

func TestGenErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--offensive", "XX:S040:2024-01-02"}, `"XX" is not a party of the line`},
		{[]string{"--offensive", "RU:S040"}, "PARTY:SECTORS:START"},
		{[]string{"--raid", "RU:S999:2024-01-02"}, `no sector "S999"`},
		{[]string{"--days", "5", "--bombardment", "RU:S040:2024-01-04:3d"}, "not within the scenario's period"},
		{[]string{"--bad", "1.5"}, "bad must be a share"},
		{[]string{"--format", "shp"}, "unknown format"},
	} {
		out := filepath.Join(t.TempDir(), "never.ndjson")
		r := runIn(t, append([]string{"gen", "--line", frontLine, "-o", out}, tt.args...)...)
		wantOneLineError(t, r, tt.want)
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: wrote %s", tt.args, out)
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
