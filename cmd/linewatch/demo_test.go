package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDemo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	began := time.Now()
	r := runIn(t, "demo", "--out", dir)
	took := time.Since(began)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	t.Logf("demo took %.2f s", took.Seconds())
	if r.stderr != "" {
		t.Errorf("stderr: %q", r.stderr)
	}
	for _, f := range demoFiles {
		fi, err := os.Stat(filepath.Join(dir, f.name))
		if err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f.name, err)
		}
		if !strings.Contains(r.stdout, f.name) {
			t.Errorf("the summary does not name %s", f.name)
		}
	}
	// Every class, in the summary file, the alerts and the report.
	var sum struct {
		Records  map[string]int `json:"records"`
		Episodes map[string]int `json:"episodes"`
		Isolated int            `json:"isolated"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	classes := []string{"sustained_offensive", "sustained_bombardment", "escalation"}
	for _, c := range classes {
		if sum.Episodes[c] == 0 {
			t.Errorf("no %s in the summary %s", c, b)
		}
	}
	if sum.Isolated == 0 || sum.Records["read"] == 0 || sum.Records["rejected"] == 0 || sum.Records["duplicate"] == 0 {
		t.Errorf("summary %s", b)
	}
	var fc struct {
		Features []struct {
			Properties struct {
				Class string `json:"class"`
			} `json:"properties"`
		} `json:"features"`
	}
	b, err = os.ReadFile(filepath.Join(dir, "alerts.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fc); err != nil {
		t.Fatalf("alerts.geojson: %v", err)
	}
	seen := map[string]int{}
	for _, f := range fc.Features {
		seen[f.Properties.Class]++
	}
	for _, c := range append(classes, "isolated") {
		if seen[c] == 0 {
			t.Errorf("no %s Feature in alerts.geojson (%v)", c, seen)
		}
	}
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range append(classes, "isolated") {
		if !strings.Contains(string(html), `class="episode `+c) && !strings.Contains(string(html), `class="violation `+c) {
			t.Errorf("report.html draws no %s", c)
		}
	}
	// Where each offensive was found.
	for _, want := range []string{"sustained offensive RU-S062-20240115T000000Z: S062–S065, km 616–656, 2024-01-15 to 2024-01-25",
		"sustained offensive UA-S042-20240301T000000Z", "sustained bombardment RU-S008", "escalation UA-S085", "45741 read"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the summary does not say %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "not found") {
		t.Errorf("an injected event was not found:\n%s", r.stdout)
	}
	// The demo's sightings are the bundled quarter, byte for byte.
	got, err := os.ReadFile(filepath.Join(dir, "sightings.ndjson.gz"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("../../fixtures/sightings/front-2024-q1.ndjson.gz")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Error("the demo's sightings differ from fixtures/sightings/front-2024-q1.ndjson.gz (the README says they are its scenario)")
	}
}

// The demo runs from any directory: the line is in the binary.
func TestDemoElsewhere(t *testing.T) {
	dir := t.TempDir()
	cmd := runBinIn(t, dir, "demo")
	if cmd.code != 0 {
		t.Fatalf("exit %d: %s", cmd.code, cmd.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "linewatch-demo", "report.html")); err != nil {
		t.Error(err)
	}
	// The command it prints next runs as it stands, from where it ran.
	i := strings.Index(cmd.stdout, "this command runs on the demo's:\n  ")
	if i < 0 {
		t.Fatalf("no command to run next:\n%s", cmd.stdout)
	}
	next := cmd.stdout[i+len("this command runs on the demo's:\n  "):]
	next = next[:strings.IndexByte(next, '\n')]
	if !strings.HasPrefix(next, binary+" detect --line linewatch-demo/line.geojson ") {
		t.Errorf("next: %s", next)
	}
	os.Remove(filepath.Join(dir, "linewatch-demo", "alerts.geojson"))
	sh := exec.Command("sh", "-c", next+" --quiet")
	sh.Dir = dir
	if out, err := sh.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", next, err, out)
	}
	if fi, err := os.Stat(filepath.Join(dir, "linewatch-demo", "alerts.geojson")); err != nil || fi.Size() == 0 {
		t.Errorf("%s wrote no alerts: %v", next, err)
	}
	// Run by go run, it says how to install.
	if r := runIn(t, "demo", "--out", filepath.Join(dir, "again")); !strings.Contains(r.stdout, "  go run ./cmd/linewatch detect --line ") ||
		!strings.Contains(r.stdout, "go install github.com/linewatch/linewatch/cmd/linewatch@latest") {
		t.Errorf("from a test binary (as from go run):\n%s", r.stdout)
	}
	wantOneLineError(t, runIn(t, "demo", "extra"), "demo takes no arguments")
	wantOneLineError(t, runIn(t, "demo", "--out", filepath.Join(dir, "linewatch-demo", "report.html", "x")), "--out")
}
