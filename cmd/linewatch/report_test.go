package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// detect --report writes the page the report command makes from the same
// run's alerts (with every violation in them), but for the source it names.
func TestReportCommandEqualsDetectReport(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	in := "../../fixtures/sightings/front-2024-q1.ndjson.gz"
	r := runIn(t, "detect", "--line", frontLine, "--isolated", "--evidence", "--summary", p("summary.json"),
		"--report", p("direct.html"), "-o", p("alerts.geojson"), in)
	if r.code != 0 {
		t.Fatalf("detect: exit %d: %s", r.code, r.stderr)
	}
	r = runIn(t, "report", "--line", frontLine, "--summary", p("summary.json"), "-o", p("report.html"), p("alerts.geojson"))
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("report: exit %d: %s", r.code, r.stderr)
	}
	direct, err := os.ReadFile(p("direct.html"))
	if err != nil {
		t.Fatal(err)
	}
	made, err := os.ReadFile(p("report.html"))
	if err != nil {
		t.Fatal(err)
	}
	from := regexp.MustCompile(`From <code>[^<]*</code>`)
	a := from.ReplaceAllString(string(direct), "")
	b := from.ReplaceAllString(string(made), "")
	// The summaries differ in wall time only; take them out too.
	wall := regexp.MustCompile(`(wall time|records per second)</td><td class="num">[^<]*`)
	a, b = wall.ReplaceAllString(a, ""), wall.ReplaceAllString(b, "")
	if a != b {
		t.Error("report of alerts.geojson differs from detect --report")
	}
	if !strings.Contains(string(direct), "From <code>"+in+"</code>") || !strings.Contains(string(made), "alerts.geojson</code>") {
		t.Error("the pages do not name their sources")
	}
	// Standard output, standard input, gzip.
	alerts, err := os.ReadFile(p("alerts.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	out := runBin(t, gzipped(t, alerts), "report", "--line", frontLine, "--title", "From stdin", "-")
	if out.code != 0 || !strings.HasPrefix(out.stdout, "<!DOCTYPE html>") || !strings.Contains(out.stdout, "<h1>From stdin</h1>") {
		t.Errorf("report of gzipped standard input: exit %d, %q…", out.code, out.stdout[:min(len(out.stdout), 200)])
	}
}

func TestReportCommandErrors(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	r := runIn(t, "detect", "--line", frontLine, "--isolated", "--quiet", "-o", p("alerts.geojson"), "../../fixtures/sightings/front-2024-q1.ndjson.gz")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("detect --quiet: exit %d, stderr %q", r.code, r.stderr)
	}
	policy := writeTemp(t, "p.yaml", "sector_km: 5\n")
	notAlerts := writeTemp(t, "x.geojson", `{"type":"FeatureCollection","features":[]}`)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"report", "--line", frontLine}, "report takes one ALERTS file"},
		{[]string{"report", "--line", frontLine, "a", "b"}, "report takes one ALERTS file"},
		{[]string{"report", p("alerts.geojson")}, "--line FILE is required"},
		{[]string{"report", "--line", frontLine, p("nope.geojson")}, "input: open"},
		{[]string{"report", "--line", frontLine, "--policy", policy, p("alerts.geojson")}, "sector_km"},
		{[]string{"report", "--line", frontLine, notAlerts}, "no episode or violation"},
		{[]string{"report", "--line", frontLine, "--summary", p("nope.json"), p("alerts.geojson")}, "summary: open"},
	} {
		t.Run(strings.Join(c.args[1:], " "), func(t *testing.T) {
			wantOneLineError(t, runIn(t, c.args...), c.want)
		})
	}
	// An unwritable report fails the run, and says where.
	r = runIn(t, "detect", "--line", frontLine, "--quiet", "--report", p("no/such/dir/r.html"), "-o", p("a2.geojson"),
		"../../fixtures/sightings/front-2024-q1.ndjson.gz")
	if r.code == 0 || !strings.Contains(r.stderr, "report") {
		t.Errorf("unwritable --report: exit %d, %q", r.code, r.stderr)
	}
}
