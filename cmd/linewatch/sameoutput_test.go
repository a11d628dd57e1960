package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every command that writes files refuses, as a usage error, an output
// that is one of its inputs — the line, the policy, a sightings, alerts,
// CSV, map, scenario or summary file — or another of its outputs, however
// the name is spelt, and leaves the file as it was.
func TestOutputIsAnInputEveryCommand(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	lineText, err := os.ReadFile(straightLine)
	if err != nil {
		t.Fatal(err)
	}
	csvText, err := os.ReadFile("../../fixtures/import/ucdp.csv")
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"line.geojson":  string(lineText),
		"in.ndjson":     offensiveFeed(),
		"policy.yaml":   "sector_km: 10\n",
		"events.csv":    string(csvText),
		"map.yaml":      "side: {}\n",
		"scenario.yaml": "days: 2\n",
		"summary.json":  `{"records":{"read":0,"accepted":0,"rejected":0,"duplicate":0,"late":0,"unattributed":0,"beyond_end":0}}` + "\n",
	}
	for name, text := range files {
		write(name, text)
	}
	alerts := filepath.Join(dir, "alerts.geojson")
	if r := runIn(t, "detect", "--line", straightLine, "--quiet", "--isolated", "-o", alerts, filepath.Join(dir, "in.ndjson")); r.code != 0 {
		t.Fatalf("detect: %d %s", r.code, r.stderr)
	}
	if b, err := os.ReadFile(alerts); err != nil {
		t.Fatal(err)
	} else {
		files["alerts.geojson"] = string(b)
	}
	// p spells a file of dir another way: through a "." and a "..".
	p := func(name string) string { return dir + "/x/.././" + name }
	if err := os.Mkdir(filepath.Join(dir, "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	line := filepath.Join(dir, "line.geojson")
	for _, args := range [][]string{
		{"locate", "--line", line, "-o", p("in.ndjson"), filepath.Join(dir, "in.ndjson")},
		{"locate", "--line", line, "--rejects", p("line.geojson"), filepath.Join(dir, "in.ndjson")},
		{"locate", "--line", line, "--policy", filepath.Join(dir, "policy.yaml"), "-o", p("policy.yaml"), filepath.Join(dir, "in.ndjson")},
		{"locate", "--line", line, "-o", p("out"), "--rejects", filepath.Join(dir, "out"), filepath.Join(dir, "in.ndjson")},
		{"import", "ucdp", "-o", p("events.csv"), filepath.Join(dir, "events.csv")},
		{"import", "ucdp", "--rejects", p("events.csv"), filepath.Join(dir, "events.csv")},
		{"import", "ucdp", "--summary", p("map.yaml"), "--map", filepath.Join(dir, "map.yaml"), filepath.Join(dir, "events.csv")},
		{"stream", "--line", line, "--in", "-", "-o", p("line.geojson")},
		{"stream", "--line", line, "--in", "-", "--policy", filepath.Join(dir, "policy.yaml"), "--rejects", p("policy.yaml")},
		{"stream", "--line", line, "--in", "-", "--summary", p("line.geojson")},
		{"report", "--line", line, "-o", p("alerts.geojson"), filepath.Join(dir, "alerts.geojson")},
		{"report", "--line", line, "--summary", filepath.Join(dir, "summary.json"), "-o", p("summary.json"), filepath.Join(dir, "alerts.geojson")},
		{"report", "--line", line, "-o", p("line.geojson"), filepath.Join(dir, "alerts.geojson")},
		{"gen", "--line", line, "--days", "2", "-o", p("line.geojson")},
		{"gen", "--line", line, "--days", "2", "--scenario", filepath.Join(dir, "scenario.yaml"), "--truth", p("scenario.yaml"), "-o", filepath.Join(dir, "gen.ndjson")},
		{"gen", "--line", line, "--days", "2", "-o", p("gen.ndjson"), "--truth", filepath.Join(dir, "gen.ndjson")},
		{"sectors", "--line", line, "-o", p("line.geojson")},
		{"sectors", "--line", line, "--policy", filepath.Join(dir, "policy.yaml"), "-o", p("policy.yaml")},
	} {
		r := runIn(t, args...)
		if r.code != 2 || !strings.Contains(r.stderr, "same file") {
			t.Errorf("%v: exit %d, %q; want 2 and a usage error", args, r.code, r.stderr)
		}
		for name, text := range files {
			if got, _ := os.ReadFile(filepath.Join(dir, name)); string(got) != text {
				t.Errorf("%v changed %s", args, name)
				write(name, text)
			}
		}
		for _, name := range []string{"out", "gen.ndjson"} {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				t.Errorf("%v wrote %s", args, name)
				os.Remove(filepath.Join(dir, name))
			}
		}
	}
}
