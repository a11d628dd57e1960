//go:build linux

package hostile

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// located is what locate adds to a Feature.
type located struct {
	Side     string  `json:"lw_side"`
	Distance float64 `json:"lw_distance_m"`
}

// Lines at the edges of the map. One across the antimeridian and a ring
// around the pole are lines like any other (once rejected as
// "overlapping"): sectors, locate and detect take them, and a point
// 0.01° north of the line near -180 is on its left, 1.11 km away. A
// segment between antipodal points and a line under a metre are errors:
// exit 2, one line that says why.
func TestLinesAtTheEdges(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var ring []string
	for lon := 0; lon <= 360; lon += 10 {
		ring = append(ring, fmt.Sprintf("[%d,88.5]", (lon+180)%360-180))
	}
	lines := map[string]string{
		"antimeridian": `{"type":"LineString","coordinates":[[179.5,60],[179.9,60],[-179.9,60],[-179.5,60]]}`,
		"pole":         `{"type":"LineString","coordinates":[` + strings.Join(ring, ",") + `]}`,
		"antipodal":    `{"type":"LineString","coordinates":[[30,48],[-150,-48]]}`,
		"half-metre":   `{"type":"LineString","coordinates":[[30,48],[30.000005,48.000002]]}`,
	}
	points := feature("near", -179.95, 60.01, day0, "B", "") + "\n" + feature("pole", 0, 90, day0, "B", "") + "\n"
	in := write(t, dir, "points.ndjson", []byte(points))
	b := bounds{wall: 20 * time.Second, mb: 200}
	for _, name := range []string{"antimeridian", "pole"} {
		line := write(t, dir, name+".geojson", []byte(lines[name]))
		lw := []string{"--line", line, "--left", "A", "--right", "B"}
		r := run(t, b, nil, append([]string{"sectors"}, lw...)...)
		ok(t, r)
		if !json.Valid([]byte(r.stdout)) {
			t.Errorf("sectors of %s: not JSON", name)
		}
		out := filepath.Join(dir, name+".located")
		ok(t, run(t, b, nil, append(append([]string{"locate"}, lw...), "-o", out, in)...))
		data, _ := os.ReadFile(out)
		var got []located
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var f struct{ Properties located }
			if err := json.Unmarshal([]byte(l), &f); err != nil {
				t.Fatalf("locate %s: %v", name, err)
			}
			got = append(got, f.Properties)
		}
		switch {
		case len(got) != 2:
			t.Errorf("locate %s: %d Features", name, len(got))
		case name == "antimeridian" && (got[0].Side != "A" || math.Abs(got[0].Distance-1111) > 11):
			t.Errorf("a point 0.01° north of the line at 179.95° W: %+v, want A's side at 1.11 km", got[0])
		case name == "pole" && got[1].Side != "A":
			t.Errorf("the pole: %+v, want the left (A's) side of a ring heading east", got[1])
		}
		sum := filepath.Join(dir, name+".summary")
		ok(t, run(t, b, nil, append(append([]string{"detect"}, lw...), "--quiet", "--summary", sum, "-o", filepath.Join(dir, name+".alerts"), in)...))
		if k := summary(t, sum); k.Accepted != 2 {
			t.Errorf("detect on %s: %+v", name, k)
		}
	}
	for name, want := range map[string]string{"antipodal": "antipodal", "half-metre": "at least 1 m"} {
		line := write(t, dir, name+".geojson", []byte(lines[name]))
		oneLineError(t, run(t, b, nil, "sectors", "--line", line, "--left", "A", "--right", "B"), 2, want)
		oneLineError(t, run(t, b, nil, "detect", "--line", line, "--left", "A", "--right", "B", in), 2, want)
	}
}

// import exits 1 when rows were read and none imported (it once said "3077
// read, 0 imported" and exited 0), writing every row to --rejects; a
// layout with an hour-only offset reads +00 as a zone.
func TestImportAllRejected(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := bounds{wall: 20 * time.Second, mb: 200}
	bad := write(t, dir, "bad.csv", []byte("x,y,when\n30.5,48.03,yesterday\n30.6,48.03,2024-13-45\n30.7,48.03,\n"))
	rejects, out := filepath.Join(dir, "rejects.ndjson"), filepath.Join(dir, "out.ndjson")
	r := run(t, b, nil, "import", "csv", "--lon", "x", "--lat", "y", "--time", "when", "--rejects", rejects, "-o", out, bad)
	noCrash(t, r)
	if r.code != 1 || !strings.Contains(r.stderr, "linewatch: no row imported") {
		t.Errorf("exit %d, %q; want 1 and why", r.code, r.stderr)
	}
	if n := lines(t, rejects); n != 3 {
		t.Errorf("%d rejects, want the 3 rows", n)
	}
	hourly := write(t, dir, "hour.csv", []byte("x,y,when\n30.5,48.03,2014/01/22 00:00:00+00\n30.5,48.03,2014/01/22 00:00:00+02\n30.5,48.03,2014/01/22 00:00:00\n"))
	r = run(t, b, nil, "import", "csv", "--lon", "x", "--lat", "y", "--time", "when", "--time-format", "2006/01/02 15:04:05-07", "-o", out, hourly)
	ok(t, r)
	data, _ := os.ReadFile(out)
	if !strings.Contains(string(data), `"time":"2014-01-22T00:00:00Z"`) || !strings.Contains(string(data), `"time":"2014-01-21T22:00:00Z"`) ||
		!strings.Contains(r.stderr, "2 imported, 1 rejected") {
		t.Errorf("hour-only offsets: %s\n%s", data, r.stderr)
	}
}

// Half a million sectors (front-2024 cut every 2 m; sector_km may go down
// to 1 m) are written a sector at a time: sectors once held all its
// output in memory, and peaked at 1.1 GB for a million sectors.
func TestHalfAMillionSectors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pol := write(t, dir, "policy.yaml", []byte("sector_km: 0.002\n"))
	ok(t, run(t, bounds{wall: 60 * time.Second, mb: 300}, nil, "sectors", "--line", front, "--policy", pol, "-o", os.DevNull))
}

// gen refuses, at once and in one line, a scenario that would fill the
// memory (the most records an int holds; a million sightings per km of
// line a day), or write times detect rejects: it once grew past 2 GB in
// 20 s on the first, and wrote a year of 9999 on the last.
func TestGenRefusesWhatItCannotWrite(t *testing.T) {
	t.Parallel()
	b := bounds{wall: 20 * time.Second, mb: 200}
	for _, c := range []struct{ flag, value, want string }{
		{"--records", "9223372036854775807", "a day"},
		{"--background", "1000000", "a day"},
		{"--start", "9999-01-01", "1000–8999"},
		{"--start", "0001-01-01", "1000–8999"},
	} {
		oneLineError(t, run(t, b, nil, "gen", "--line", front, "--quiet", c.flag, c.value, "-o", os.DevNull), 2, c.want)
	}
}
