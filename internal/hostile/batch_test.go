//go:build linux

package hostile

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Leading blank space is never buffered whole: a gigabyte of newlines
// (1 MB of gzip) before one record costs detect a few tens of megabytes,
// and the record after it is read and accepted; so do locate and stream
// on a quarter of it. Before a bounded sniff it took 2.1 GB.
func TestGigabyteOfNewlines(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	gz := write(t, dir, "blank.ndjson.gz", blankGzip(t, 1024, feature("after", 37.5, 47.9, day0, "UA", "")+"\n"))
	if fi, err := os.Stat(gz); err != nil || fi.Size() > 2<<20 {
		t.Fatalf("the gzip file is %v bytes, want about 1 MB (%v)", fi.Size(), err)
	}
	b := bounds{wall: 60 * time.Second, mb: 200}
	sum := filepath.Join(dir, "summary.json")
	ok(t, run(t, b, nil, "detect", "--line", front, "--quiet", "--summary", sum, "-o", filepath.Join(dir, "alerts.geojson"), gz))
	if k := summary(t, sum); k.Read != 1 || k.Accepted != 1 {
		t.Errorf("detect: %+v, want the one record read and accepted", k)
	}
	gz = write(t, dir, "quarter.ndjson.gz", blankGzip(t, 256, feature("after", 37.5, 47.9, day0, "UA", "")+"\n"))
	located := filepath.Join(dir, "located.ndjson")
	r := run(t, b, nil, "locate", "--line", front, "-o", located, gz)
	ok(t, r)
	if n := lines(t, located); n != 1 {
		t.Errorf("locate wrote %d lines, want 1", n)
	}
	f, err := os.Open(gz)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sum = filepath.Join(dir, "stream.json")
	ok(t, run(t, b, f, "stream", "--line", front, "--in", "-", "--summary", sum, "-o", filepath.Join(dir, "alerts.geojsonl")))
	if k := summary(t, sum); k.Read != 1 || k.Accepted != 1 {
		t.Errorf("stream --in - (gzip on standard input): %+v, want the one record read and accepted", k)
	}
}

// 80 MiB of spaces, carriage returns or RS bytes (80 KB of gzip) before
// a record are read in a second: the spaces and CRs make one line too
// long to be a record (over 64 MiB: rejected), and the record after it is
// accepted. A line of blank space was scanned again from its start at
// every read, quadratically: 64 MiB of spaces took 87 s.
func TestGigabyteOfBlankSpace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := bounds{wall: 30 * time.Second, mb: 300}
	tail := "\n" + feature("after", 37.5, 47.9, day0, "UA", "") + "\n"
	for _, c := range []struct {
		name       string
		c          byte
		read, rejd int
	}{{"spaces", ' ', 2, 1}, {"returns", '\r', 2, 1}, {"rs", 0x1e, 1, 0}} {
		in := write(t, dir, c.name+".gz", repeatGzip(t, c.c, 80, tail))
		sum := filepath.Join(dir, c.name+".json")
		ok(t, run(t, b, nil, "detect", "--line", front, "--quiet", "--summary", sum, "-o", os.DevNull, in))
		if k := summary(t, sum); k.Read != c.read || k.Rejected != c.rejd || k.Accepted != 1 {
			t.Errorf("%s: %+v, want %d read, %d rejected, the record after accepted", c.name, k, c.read, c.rejd)
		}
		if c.c != ' ' {
			continue
		}
		r := run(t, b, nil, "locate", "--line", front, "-o", os.DevNull, in)
		ok(t, r)
		if read, annotated, _ := locateCounts(t, r); read != c.read || annotated != 1 {
			t.Errorf("locate %s: %d read, %d annotated", c.name, read, annotated)
		}
	}
}

// locateCounts reads locate's last line: "N records read, A annotated, R
// rejected".
func locateCounts(t *testing.T, r result) (read, annotated, rejected int) {
	t.Helper()
	m := regexp.MustCompile(`(\d+) records read, (\d+) annotated, (\d+) rejected`).FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("locate said %q", r.stderr)
	}
	read, _ = strconv.Atoi(m[1])
	annotated, _ = strconv.Atoi(m[2])
	rejected, _ = strconv.Atoi(m[3])
	if read != annotated+rejected {
		t.Errorf("locate: %d read, %d annotated, %d rejected do not add up", read, annotated, rejected)
	}
	return read, annotated, rejected
}

// 100,000 "[" — alone on a line, after RS, inside a FeatureCollection,
// inside a Feature's property — is one rejected record for locate and
// detect alike, in a fraction of a second: locate once took 348 s on it.
// The valid record beside it is accepted.
func TestUnclosedArrays(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	valid := feature("ok", 37.5, 47.9, day0, "RU", "")
	brackets := strings.Repeat("[", 100_000)
	inputs := map[string]string{
		"bare.ndjson":        valid + "\n" + brackets + "\n",
		"rs.geojsons":        "\x1e" + valid + "\n\x1e" + brackets + "\n",
		"collection.geojson": `{"type":"FeatureCollection","features":[` + valid + "," + brackets,
		"property.ndjson":    valid + "\n" + strings.TrimSuffix(feature("deep", 37.5, 47.9, day0, "RU", `"x":`+brackets), "}}") + "\n",
	}
	b := bounds{wall: 20 * time.Second, mb: 200}
	for name, text := range inputs {
		in := write(t, dir, name, []byte(text))
		sum := filepath.Join(dir, name+".summary")
		rejects := filepath.Join(dir, name+".rejects")
		ok(t, run(t, b, nil, "detect", "--line", front, "--quiet", "--summary", sum, "--rejects", rejects, "-o", filepath.Join(dir, "alerts"), in))
		if k := summary(t, sum); k.Read != 2 || k.Accepted != 1 || k.Rejected != 1 {
			t.Errorf("detect %s: %+v, want 2 read, 1 accepted, 1 rejected", name, k)
		}
		if n := lines(t, rejects); n != 1 {
			t.Errorf("detect %s: %d rejects lines, want 1", name, n)
		}
		r := run(t, b, nil, "locate", "--line", front, "-o", filepath.Join(dir, "located"), in)
		ok(t, r)
		if read, annotated, _ := locateCounts(t, r); read != 2 || annotated != 1 {
			t.Errorf("locate %s: %d read, %d annotated; want 2 and 1", name, read, annotated)
		}
	}
}

// A feature nested past the decoder's depth limit (300 deep, or 100,000)
// in the middle of a FeatureCollection or a sequence is one rejected
// record; the thousand valid features after it are read and accepted, by
// detect, locate and stream alike. It once ended the collection silently:
// "2 read, 1 rejected", exit 0.
func TestDeepFeatureThenAThousand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	b := bounds{wall: 30 * time.Second, mb: 250}
	for _, depth := range []int{300, 100_000} {
		deep := strings.TrimSuffix(feature("deep", 37.5, 47.9, day0, "RU", `"x":`+strings.Repeat("[", depth)+strings.Repeat("]", depth)), "")
		var feats []string
		for i := 0; i < 1010; i++ {
			if i == 10 {
				feats = append(feats, deep)
			}
			feats = append(feats, feature(fmt.Sprint("v", i), 37.5, 47.9, day0.Add(time.Duration(i)*time.Minute), "RU", ""))
		}
		for name, text := range map[string]string{
			"collection.geojson": `{"type":"FeatureCollection","features":[` + strings.Join(feats, ",") + "]}",
			"sequence.ndjson":    strings.Join(feats, "\n") + "\n",
		} {
			name = fmt.Sprint(depth, "-", name)
			in := write(t, dir, name, []byte(text))
			sum := filepath.Join(dir, name+".summary")
			ok(t, run(t, b, nil, "detect", "--line", front, "--quiet", "--summary", sum, "-o", filepath.Join(dir, "alerts"), in))
			if k := summary(t, sum); k.Read != 1011 || k.Accepted != 1010 || k.Rejected != 1 {
				t.Errorf("detect %s: %+v, want 1011 read, 1010 accepted, 1 rejected", name, k)
			}
			located := filepath.Join(dir, "located")
			r := run(t, b, nil, "locate", "--line", front, "-o", located, in)
			ok(t, r)
			if read, annotated, _ := locateCounts(t, r); read != 1011 || annotated != 1010 || lines(t, located) != 1010 {
				t.Errorf("locate %s: %d read, %d annotated, %d lines written; want 1011 and 1010", name, read, annotated, lines(t, located))
			}
			sum = filepath.Join(dir, name+".stream")
			ok(t, run(t, b, reader(text), "stream", "--line", front, "--in", "-", "--summary", sum, "-o", filepath.Join(dir, "stream.geojsonl")))
			if k := summary(t, sum); k.Read != 1011 || k.Accepted != 1010 || k.Rejected != 1 {
				t.Errorf("stream %s: %+v, want 1011 read, 1010 accepted, 1 rejected", name, k)
			}
		}
	}
}

// violationSources is the source of each violation of detect's output,
// by sighting id.
func violationSources(t *testing.T, path string) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var fc struct {
		Features []struct {
			Properties struct {
				ID     string  `json:"id"`
				Layer  string  `json:"layer"`
				Source *string `json:"source"`
			} `json:"properties"`
		} `json:"features"`
	}
	if err := json.Unmarshal(data, &fc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string][]string{}
	for _, f := range fc.Features {
		if f.Properties.Layer == "violation" && f.Properties.Source != nil {
			out[f.Properties.ID] = append(out[f.Properties.ID], *f.Properties.Source)
		}
	}
	return out
}

// One source cannot suppress another's evidence: A's harmless records
// under B's ids come first, and B's incursions with the same ids are
// still accepted and judged; only B's own repetition is a duplicate.
func TestAnotherSourcesIDs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var b strings.Builder
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("obsB-%04d", i)
		// A's: B south of the line, at home.
		fmt.Fprintln(&b, feature(id, 30.5, 47.97, day0.Add(time.Duration(i)*time.Hour), "B", `"source":"A"`))
	}
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("obsB-%04d", i)
		// B's: B north of the line, an incursion.
		fmt.Fprintln(&b, feature(id, 30.5, 48.03, day0.Add(time.Duration(i)*time.Hour), "B", `"source":"B"`))
	}
	fmt.Fprintln(&b, feature("obsB-0001", 30.5, 48.03, day0.Add(time.Hour), "B", `"source":"B"`)) // B's again
	in := write(t, dir, "in.ndjson", []byte(b.String()))
	sum, out := filepath.Join(dir, "summary.json"), filepath.Join(dir, "alerts.geojson")
	ok(t, run(t, bounds{wall: 20 * time.Second, mb: 200}, nil, "detect", "--quiet", "--isolated", "--evidence",
		"--summary", sum, "-o", out, "--line", write(t, dir, "line.geojson", []byte(straight)), "--left", "A", "--right", "B", in))
	if k := summary(t, sum); k.Read != 7 || k.Accepted != 6 || k.Duplicate != 1 {
		t.Errorf("%+v, want 7 read, 6 accepted, 1 duplicate", k)
	}
	got := violationSources(t, out)
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("obsB-%04d", i)
		if s := got[id]; len(s) != 1 || s[0] != "B" {
			t.Errorf("violations of %s by source: %v, want one of B's", id, s)
		}
	}
}

// A time outside the years 1000–8999 is rejected, "time out of range",
// however written; the first and last microsecond of the range are
// accepted, and a report of them, with the longest window, works.
func TestTimeOutOfRange(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rec := func(id, when string) string {
		return `{"type":"Feature","id":"` + id + `","geometry":{"type":"Point","coordinates":[30.5,48.03]},"properties":{"time":` + when + `,"side":"B","track":"` + id + `"}}` + "\n"
	}
	out := map[string]string{
		"a": `"9999-12-31T12:00:00Z"`, "b": `"0999-12-31T23:59:59Z"`, "c": `"8999-12-31T23:59:59-23:59"`,
		"d": `"1000-01-01T00:00:00+01:00"`, "e": `"8999-12-31T23:59:60Z"`, "f": `253402300799`, "g": `-1e18`, "h": `1e300`,
	}
	var text strings.Builder
	for _, id := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		text.WriteString(rec(id, out[id]))
	}
	text.WriteString(rec("x", `"9999-12-31T12:00Z"`)) // no seconds: not RFC 3339 either
	text.WriteString(rec("first", `"1000-01-01T00:00:00Z"`))
	text.WriteString(rec("first2", `"1000-01-01T00:00:00Z"`))
	text.WriteString(rec("last", `"8999-12-31T23:59:59.999999Z"`))
	text.WriteString(rec("last2", `"8999-12-31T23:59:59.999999Z"`))
	in := write(t, dir, "in.ndjson", []byte(text.String()))
	line := write(t, dir, "line.geojson", []byte(straight))
	pol := write(t, dir, "policy.yaml", []byte("window: 106751d\nhot_score: 2\n"))
	sum, rejects, alerts := filepath.Join(dir, "summary.json"), filepath.Join(dir, "rejects.ndjson"), filepath.Join(dir, "alerts.geojson")
	b := bounds{wall: 20 * time.Second, mb: 200}
	ok(t, run(t, b, nil, "detect", "--line", line, "--left", "A", "--right", "B", "--policy", pol, "--quiet", "--isolated", "--evidence",
		"--summary", sum, "--rejects", rejects, "--report", filepath.Join(dir, "report.html"), "-o", alerts, in))
	if k := summary(t, sum); k.Read != 13 || k.Accepted != 4 || k.Rejected != 9 {
		t.Errorf("%+v, want 13 read, 4 accepted, 9 rejected", k)
	}
	data, _ := os.ReadFile(rejects)
	if n := strings.Count(string(data), `"reason":"time out of range`); n != 8 {
		t.Errorf("%d rejected as time out of range, want 8:\n%s", n, data)
	}
	alertsText, _ := os.ReadFile(alerts)
	for _, y := range regexp.MustCompile(`"(?:start|end|time)":"(\d+)-`).FindAllStringSubmatch(string(alertsText), -1) {
		if len(y[1]) != 4 {
			t.Errorf("a time of year %s in the output", y[1])
		}
	}
	ok(t, run(t, b, nil, "report", "--line", line, "--left", "A", "--right", "B", "--policy", pol, "-o", filepath.Join(dir, "again.html"), alerts))
	sum = filepath.Join(dir, "stream.json")
	ok(t, run(t, b, reader(text.String()), "stream", "--line", line, "--left", "A", "--right", "B", "--in", "-", "--summary", sum,
		"-o", filepath.Join(dir, "stream.geojsonl")))
	// The stream also rejects the two records of 8999 as too far in the
	// future (max_future): 4 more rejects, and no record lost.
	if k := summary(t, sum); k.Read != 13 || k.Accepted != 2 || k.Rejected != 11 {
		t.Errorf("stream: %+v, want 13 read, 2 accepted, 11 rejected", k)
	}
}

// The report works on a line of three sectors and on front-2024 cut into
// 100 km sectors, with one window and with thousands: the report once
// divided by zero on any line of 12 sectors or fewer and left an empty
// file. detect --report and report on detect's output alike.
func TestReportOnTinyAndHugeLayouts(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tiny := write(t, dir, "three.geojson", []byte(threeSectors))
	hourly := write(t, dir, "hourly.yaml", []byte("window: 1h\n"))
	front100 := write(t, dir, "front100.yaml", []byte("sector_km: 100\n"))
	front100h := write(t, dir, "front100h.yaml", []byte("sector_km: 100\nwindow: 1h\n"))
	frontFeed := func(n int, every time.Duration) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintln(&b, feature(fmt.Sprint("f", i), 37.5+0.001*float64(i%5), 47.9, day0.Add(time.Duration(i/2)*every), "UA",
				fmt.Sprintf(`"track":"t%d","strength":20`, i%2)))
		}
		return b.String()
	}
	b := bounds{wall: 40 * time.Second, mb: 400}
	for _, c := range []struct {
		name, feed string
		line       []string
	}{
		{"three-one-window", incursions(40, time.Minute), []string{"--line", tiny, "--left", "A", "--right", "B"}},
		{"three-4000-windows", incursions(8000, time.Hour), []string{"--line", tiny, "--left", "A", "--right", "B", "--policy", hourly}},
		{"front100-one-window", frontFeed(40, time.Minute), []string{"--line", front, "--policy", front100}},
		{"front100-4000-windows", frontFeed(8000, time.Hour), []string{"--line", front, "--policy", front100h}},
	} {
		in := write(t, dir, c.name+".ndjson", []byte(c.feed))
		page, alerts, sum := filepath.Join(dir, c.name+".html"), filepath.Join(dir, c.name+".geojson"), filepath.Join(dir, c.name+".json")
		ok(t, run(t, b, nil, append(append([]string{"detect"}, c.line...), "--quiet", "--isolated", "--evidence",
			"--summary", sum, "--report", page, "-o", alerts, in)...))
		summary(t, sum)
		again := filepath.Join(dir, c.name+"-again.html")
		ok(t, run(t, b, nil, append(append([]string{"report"}, c.line...), "--summary", sum, "-o", again, alerts)...))
		for _, p := range []string{page, again} {
			data, err := os.ReadFile(p)
			if err != nil || !bytes.Contains(data, []byte(`<svg id="map"`)) || !bytes.HasSuffix(bytes.TrimSpace(data), []byte("</html>")) {
				t.Errorf("%s: %d bytes, not a whole report (%v)", filepath.Base(p), len(data), err)
			}
		}
	}
}

// An output that is one of the inputs, however spelt — the same name,
// ./name, a detour through another folder, an absolute path, a symbolic
// or a hard link — is a usage error: exit 2, one line, and the input
// left as it was. detect -o in.ndjson.gz in.ndjson.gz once replaced 1.6 MB
// of sightings with 8.7 KB of alerts and exited 0. Every command that
// writes files is held to it.
func TestOutputIsAnInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	gz.Write(blankGzip(t, 1, incursions(30, time.Hour)))
	in := write(t, dir, "in.ndjson.gz", gz.Bytes())
	line := write(t, dir, "line.geojson", []byte(straight))
	if err := os.Symlink("in.ndjson.gz", filepath.Join(dir, "link.gz")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(in, filepath.Join(dir, "hard.gz")); err != nil {
		t.Fatal(err)
	}
	want := sha256.Sum256(gz.Bytes())
	wantLine := sha256.Sum256([]byte(straight))
	lw := []string{"--line", line, "--left", "A", "--right", "B"}
	b := bounds{wall: 20 * time.Second, mb: 200}
	var cases [][]string
	for _, out := range []string{"in.ndjson.gz", "./in.ndjson.gz", "sub/../in.ndjson.gz", in, "link.gz", "hard.gz"} {
		for _, flag := range []string{"-o", "--rejects", "--summary", "--report"} {
			cases = append(cases, append(append([]string{"detect"}, lw...), flag, out, "in.ndjson.gz"))
		}
	}
	cases = append(cases,
		append(append([]string{"detect"}, lw...), "-o", "./line.geojson", "in.ndjson.gz"),
		append(append([]string{"locate"}, lw...), "-o", "link.gz", "in.ndjson.gz"),
		append(append([]string{"locate"}, lw...), "--rejects", "sub/../line.geojson", "in.ndjson.gz"),
		append(append([]string{"sectors"}, lw...), "-o", "./line.geojson"),
		append(append([]string{"gen"}, lw...), "--days", "1", "-o", "sub/../line.geojson"),
		append(append([]string{"stream"}, lw...), "--in", "-", "-o", "./line.geojson"),
		append(append([]string{"report"}, lw...), "-o", "hard.gz", "in.ndjson.gz"),
		[]string{"import", "csv", "--lon", "x", "--lat", "y", "--time", "t", "-o", "./in.ndjson.gz", "in.ndjson.gz"},
	)
	before := listing(t, dir)
	for _, args := range cases {
		oneLineError(t, runAt(t, b, dir, nil, args...), 2, "same file")
		if got, _ := os.ReadFile(in); sha256.Sum256(got) != want {
			t.Fatalf("%s changed its input", shortArgs(args))
		}
		if got, _ := os.ReadFile(line); sha256.Sum256(got) != wantLine {
			t.Fatalf("%s changed the line file", shortArgs(args))
		}
		if now := listing(t, dir); now != before {
			t.Fatalf("%s left files: %s, before %s", shortArgs(args), now, before)
		}
	}
}

// listing is the names in a folder.
func listing(t *testing.T, dir string) string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}

// A policy with every integer key at its largest (a billion), with the
// shortest window and with the longest, runs like any other: detect,
// stream and report finish within seconds on a month of incursions, and
// batch and stream count the same. join_gap_windows at a billion once
// made detect look up a billion windows per hot cell, and overflowed the
// stream's closing time.
func TestExtremePolicy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	line := write(t, dir, "three.geojson", []byte(threeSectors))
	lw := []string{"--line", line, "--left", "A", "--right", "B"}
	feed := incursions(800, time.Hour)
	in := write(t, dir, "month.ndjson", []byte(feed))
	const billion = "1000000000"
	keys := "hot_score: 1\njoin_sectors: " + billion + "\njoin_gap_windows: " + billion + "\ndeliberate_min_ground: " + billion +
		"\ndeliberate_min_tracks: " + billion + "\nsustained_min_hot_windows: " + billion + "\nmax_track_gap: 106751d\nallowed_lateness: 106751d\n"
	b := bounds{wall: 30 * time.Second, mb: 300}
	for _, window := range []string{"1us", "24h", "106751d"} {
		pol := write(t, dir, "policy-"+window+".yaml", []byte("window: "+window+"\n"+keys))
		alerts, sum := filepath.Join(dir, window+".geojson"), filepath.Join(dir, window+".json")
		ok(t, run(t, b, nil, append(append([]string{"detect"}, lw...), "--policy", pol, "--quiet", "--isolated", "--evidence",
			"--summary", sum, "-o", alerts, in)...))
		batch := summary(t, sum)
		ok(t, run(t, b, nil, append(append([]string{"report"}, lw...), "--policy", pol, "-o", filepath.Join(dir, window+".html"), alerts)...))
		streamSum := filepath.Join(dir, window+"-stream.json")
		ok(t, run(t, b, reader(feed), append(append([]string{"stream"}, lw...), "--policy", pol, "--in", "-", "--summary", streamSum,
			"-o", filepath.Join(dir, window+".geojsonl"))...))
		bs, _ := os.ReadFile(sum)
		ss, _ := os.ReadFile(streamSum)
		wall := regexp.MustCompile(`,"wall_s":.*`)
		if stream := summary(t, streamSum); stream != batch || wall.ReplaceAllString(string(bs), "") != wall.ReplaceAllString(string(ss), "") {
			t.Errorf("window %s: batch and stream differ:\n%s\n%s", window, bs, ss)
		}
	}
}

// Standard input that detect must read twice is copied to a temporary
// file; killed with -9 while reading it, detect leaves nothing in the
// temporary folder — as GeoJSON, and as CSV through --from.
func TestKilledLeavesNoSpool(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tmp := filepath.Join(dir, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	line := write(t, dir, "line.geojson", []byte(straight))
	lw := []string{"--line", line, "--left", "A", "--right", "B", "--quiet", "-o", filepath.Join(dir, "alerts")}
	for _, c := range []struct {
		args  []string
		first string
	}{
		{append(append([]string{"detect"}, lw...), "-"), incursions(10, time.Hour)},
		{append(append([]string{"detect"}, lw...), "--from", "csv", "--lon", "x", "--lat", "y", "--time", "t", "-"), "x,y,t\n30.5,48.03,2024-05-01T00:00:00Z\n"},
	} {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		p := startEnv(t, bounds{wall: 30 * time.Second, mb: 200}, []string{"TMPDIR=" + tmp}, pr, c.args...)
		pr.Close()
		pw.WriteString(c.first)
		// Wait until it holds its copy of standard input open, removed
		// from the folder already (that takes microseconds after making
		// it; a kill between the two would leave it).
		deadline := time.Now().Add(20 * time.Second)
		for !holds(p.cmd.Process.Pid, "linewatch-stdin") {
			if time.Now().After(deadline) {
				t.Fatalf("%s: no copy of standard input opened, or still in the temporary folder: %s", shortArgs(c.args), listing(t, tmp))
			}
			time.Sleep(10 * time.Millisecond)
		}
		p.cmd.Process.Kill()
		<-p.done
		pw.Close()
		if left := listing(t, tmp); left != "" {
			t.Errorf("%s, killed, left %s in the temporary folder", shortArgs(c.args), left)
		}
	}
}

// holds tells whether process pid has a file open whose name has part
// and which is removed from its folder.
func holds(pid int, part string) bool {
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name())); err == nil && strings.Contains(l, part) && strings.HasSuffix(l, " (deleted)") {
			return true
		}
	}
	return false
}
