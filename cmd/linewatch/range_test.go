package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --since and --until keep the sightings of a time range; the others are
// counted as outside, and the summary still adds up.
func TestDetectTimeRange(t *testing.T) {
	in := writeTemp(t, "s.ndjson", offensiveFeed()) // 12 sightings over 3 days, 1 bad record
	dir := t.TempDir()
	sum, rep := filepath.Join(dir, "sum.json"), filepath.Join(dir, "r.html")
	r := runIn(t, "detect", "--line", straightLine, "--since", "2024-05-02", "--until", "2024-05-03T10:30:00Z",
		"--summary", sum, "--report", rep, "--title", "Sector A: 2 May", in)
	if r.code != 0 {
		t.Fatalf("exit %d %s", r.code, r.stderr)
	}
	data, _ := os.ReadFile(sum)
	var s struct {
		Records map[string]int64 `json:"records"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	k := s.Records
	// Day 1 (4) and day 3 after 10:30 (2) are outside.
	if k["outside"] != 6 || k["accepted"] != 6 || k["rejected"] != 1 || k["read"] != k["accepted"]+k["rejected"]+k["duplicate"]+k["late"]+k["outside"] {
		t.Errorf("summary %s", data)
	}
	page, _ := os.ReadFile(rep)
	for _, want := range []string{"<title>Sector A: 2 May</title>", `<td>outside the time range</td><td class="num">6</td>`, "<h1>Sector A: 2 May</h1>", "Time range: from 2024-05-02T00:00:00Z until 2024-05-03T10:30:00Z"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the report has no %q", want)
		}
	}
	// In words on standard error.
	r = runIn(t, "detect", "--line", straightLine, "--until", "2024-05-02", in)
	if r.code != 0 || !strings.Contains(r.stderr, "8 outside the time range (until 2024-05-02T00:00:00Z)") {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
	// Without a range, no outside count.
	r = runIn(t, "detect", "--line", straightLine, "--summary", sum, in)
	if data, _ := os.ReadFile(sum); r.code != 0 || strings.Contains(string(data), "outside") {
		t.Errorf("no range: %s", data)
	}
	wantOneLineError(t, runIn(t, "detect", "--line", straightLine, "--since", "May 2", in), `--since "May 2": want an RFC 3339 date-time`)

	// report --since/--until shows the violations of the range and the
	// episodes that overlap it.
	alerts := filepath.Join(dir, "alerts.geojson")
	if r := runIn(t, "detect", "--line", straightLine, "--isolated", "--evidence", "-q", "-o", alerts, in); r.code != 0 {
		t.Fatal(r.stderr)
	}
	full := runIn(t, "report", "--line", straightLine, alerts)
	part := runIn(t, "report", "--line", straightLine, "--since", "2024-05-03", "--title", "Day 3", alerts)
	if full.code != 0 || part.code != 0 {
		t.Fatalf("report: %s %s", full.stderr, part.stderr)
	}
	if !strings.Contains(part.stdout, "<h1>Day 3</h1>") || !strings.Contains(part.stdout, "Time range: from 2024-05-03T00:00:00Z (0 episode(s) and 8 violation(s) outside it left out).") {
		t.Errorf("report --since: %s", part.stdout[:min(len(part.stdout), 3000)])
	}
	if strings.Count(part.stdout, `class="violation `) != 4 || strings.Count(full.stdout, `class="violation `) != 12 {
		t.Errorf("violations drawn: %d with --since, %d without", strings.Count(part.stdout, `class="violation `), strings.Count(full.stdout, `class="violation `))
	}
}
