package batch_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/linewatch/linewatch/batch"
	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/importer"
	"github.com/linewatch/linewatch/internal/num"
	"github.com/linewatch/linewatch/policy"
)

// Every record ends accepted, rejected, duplicate or late (SPEC §2): a
// feature nested too deep in a FeatureCollection is one rejected record,
// and the 1,000 features after it are read and counted.
func TestDeepFeatureIsOneReject(t *testing.T) {
	feature := func(i int) string {
		return `{"type":"Feature","id":"f` + string(rune('a'+i%26)) + strings.Repeat("x", i/26) +
			`","geometry":{"type":"Point","coordinates":[30.5,48.01]},"properties":{"time":"2024-05-01T10:00:00Z","side":"B"}}`
	}
	deep := `{"type":"Feature","properties":{"x":` + strings.Repeat("[", 300) + strings.Repeat("]", 300) + `}}`
	var b strings.Builder
	b.WriteString(`{"type":"FeatureCollection","features":[` + feature(0) + ",\n" + deep)
	for i := 1; i <= 1000; i++ {
		b.WriteString(",\n" + feature(i))
	}
	b.WriteString("]}\n")
	in := filepath.Join(t.TempDir(), "deep.geojson")
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	pol := detect.DefaultPolicy()
	line, _ := loadLine(t, straightLine, pol)
	var reasons []string
	out, err := batch.Run(batch.Config{Judge: detect.NewJudge(line, pol), Workers: 2,
		Reject: func(r batch.Rejected) error { reasons = append(reasons, r.Reason); return nil }}, []string{in})
	if err != nil {
		t.Fatal(err)
	}
	k := out.Counts
	if k.Read != 1002 || k.Rejected != 1 || k.Accepted != 1001 {
		t.Fatalf("counts %+v, want 1002 read = 1001 accepted + 1 rejected", k)
	}
	if len(reasons) != 1 || !strings.HasPrefix(reasons[0], "invalid JSON: nesting too deep") {
		t.Errorf("rejects %q, want one for nesting too deep", reasons)
	}
}

// SPEC §2: sighting times lie in the years 1000–8999, so that every time
// linewatch writes — a window's start and end, an episode's, its id — is
// a four-digit year whatever the policy: the shortest window and the
// longest one, aligned anywhere. A sighting at 9999-12-31T12:00Z once
// made an episode end at 10000-01-01T00:00:00Z.
func TestTimesStayFourDigitYears(t *testing.T) {
	times := []string{"1000-01-01T00:00:00Z", "1000-01-01T00:00:00.000001Z", "8999-12-31T23:59:59.999998Z",
		"8999-12-31T23:59:59.999999Z", "9999-12-31T12:00:00Z", "9999-12-31T12:00:01Z", "0999-12-31T23:59:59Z"}
	var b strings.Builder
	for i, tm := range times {
		fmt.Fprintf(&b, `{"type":"Feature","id":"t%d","geometry":{"type":"Point","coordinates":[30.5,48.01]},"properties":{"time":%q,"side":"B"}}`+"\n", i, tm)
	}
	in := filepath.Join(t.TempDir(), "times.ndjson")
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	policies := map[string]string{
		"default":                      "",
		"longest window":               "window: 106751d\n",
		"longest window, late origin":  "window: 106751d\nwindow_origin: 9999-12-31T23:59:59Z\n",
		"longest window, early origin": "window: 106751d\nwindow_origin: 0000-01-01T00:00:00Z\n",
		"a microsecond":                "window: 1µs\n",
	}
	fourDigits := regexp.MustCompile(`^[0-9]{4}-`)
	for name, text := range policies {
		pol, err := policy.Parse([]byte(text + "hot_score: 4\n"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		line, _ := loadLine(t, straightLine, pol)
		got, out := detectGeoJSON(t, line, pol, 1, in)
		if k := out.Counts; k.Accepted != 4 || k.Rejected != 3 {
			t.Errorf("%s: counts %+v, want the four times in range accepted and three rejected", name, k)
		}
		var fc struct {
			Features []struct {
				Properties struct {
					ID         string `json:"id"`
					Start, End string
					Time       string
				} `json:"properties"`
			} `json:"features"`
		}
		if err := json.Unmarshal(got, &fc); err != nil {
			t.Fatal(err)
		}
		if len(fc.Features) == 0 {
			t.Fatalf("%s: no Features", name)
		}
		for _, f := range fc.Features {
			p := f.Properties
			for _, tm := range []string{p.Start, p.End, p.Time} {
				if tm != "" && (!fourDigits.MatchString(tm) || !parses(tm)) {
					t.Errorf("%s: %s writes the time %s", name, p.ID, tm)
				}
			}
			if p.Start != "" {
				if at := strings.LastIndexByte(p.ID, '-'); at < 0 || len(p.ID[at+1:]) < len("20240105T000000Z") || p.ID[at+1:at+5] != p.Start[:4] {
					t.Errorf("%s: episode id %s for start %s", name, p.ID, p.Start)
				}
			}
		}
	}
}

// parses tells whether an RFC 3339 time can be read back (years 0000–9999).
func parses(tm string) bool {
	_, err := num.ParseTime(tm)
	return err == nil
}

// Standard input is copied to a temporary file so that conflicting
// duplicates can be settled; the file is unlinked as soon as it is made,
// so that nothing is left behind when the process is killed (kill -9
// gives no chance to clean up), and the copy still serves. Standard input
// may be gzipped, as a file may.
func TestStdinSpoolLeavesNothing(t *testing.T) {
	recs := `not json
{"type":"Feature","id":"d","geometry":{"type":"Point","coordinates":[30.5,48.02]},"properties":{"time":"2024-05-01T11:00:00Z","side":"B"}}
{"type":"Feature","id":"d","geometry":{"type":"Point","coordinates":[30.5,48.01]},"properties":{"time":"2024-05-01T10:00:00Z","side":"B"}}
`
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(recs))
	zw.Close()
	for name, data := range map[string][]byte{"plain": []byte(recs), "gzipped": gz.Bytes()} {
		eachWay(t, name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				w.Write(data)
				w.Close()
			}()
			stdin := os.Stdin
			os.Stdin = r
			defer func() { os.Stdin = stdin; r.Close() }()

			pol := detect.DefaultPolicy()
			line, _ := loadLine(t, straightLine, pol)
			var during []string
			out, err := batch.Run(batch.Config{Judge: detect.NewJudge(line, pol), Workers: 1,
				Reject: func(batch.Rejected) error {
					// While standard input is read.
					entries, _ := os.ReadDir(tmp)
					for _, e := range entries {
						during = append(during, e.Name())
					}
					return nil
				}}, []string{"-"})
			if err != nil {
				t.Fatal(err)
			}
			if len(during) != 0 {
				t.Errorf("while reading standard input the temporary folder holds %v", during)
			}
			k := out.Counts
			vs := allViolations(&out.Result)
			if k.Read != 3 || k.Rejected != 1 || k.Accepted != 1 || k.Duplicate != 1 || len(vs) != 1 || vs[0].Lat != 48.01 {
				t.Errorf("counts %+v, %d violations: want 3 read = 1 accepted (the earlier d, settled in its batch or from the copy) + 1 rejected + 1 duplicate", k, len(vs))
			}
		})
	}
}

// An Opener's records (an importer's rows) stand at offsets of the
// Opener's own: their duplicates are read again through the Opener, from
// standard input as from a file, and settle alike.
func TestOpenerDuplicatesFromStdinAndFile(t *testing.T) {
	eachWay(t, "", openerDuplicatesFromStdinAndFile)
}

func openerDuplicatesFromStdinAndFile(t *testing.T) {
	csv := "id,time,lon,lat\n" +
		"a,2024-05-01T11:00:00Z,30.5,48.02\n" +
		"a,2024-05-01T10:00:00Z,30.5,48.01\n" + // conflicting: the earlier is kept
		"b,2024-05-01T10:00:00Z,30.6,48.03\n" +
		"b,2024-05-01T10:00:00Z,30.6,48.03\n" + // a copy
		"c,2024-05-01T09:00:00Z,30.7,48.04\n"
	in := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(in, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	pol := detect.DefaultPolicy()
	line, _ := loadLine(t, straightLine, pol)
	run := func(name string) *batch.Outcome {
		im, err := importer.New(importer.Options{Dialect: importer.CSV, Columns: map[importer.Field]string{
			importer.ID: "id", importer.Time: "time", importer.Lon: "lon", importer.Lat: "lat", importer.Side: "=B"}})
		if err != nil {
			t.Fatal(err)
		}
		out, err := batch.Run(batch.Config{Judge: detect.NewJudge(line, pol), Workers: 2, Open: importer.NewOpener(im)},
			[]string{name})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return out
	}
	f, err := os.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	stdin := os.Stdin
	os.Stdin = f
	fromStdin := run("-")
	os.Stdin = stdin
	f.Close()
	for name, out := range map[string]*batch.Outcome{"-": fromStdin, in: run(in)} {
		k := out.Counts
		vs := allViolations(&out.Result)
		lats := []float64{}
		for _, v := range vs {
			lats = append(lats, v.Lat)
		}
		slices.Sort(lats)
		if k.Read != 5 || k.Accepted != 3 || k.Duplicate != 2 || k.Rejected != 0 || !slices.Equal(lats, []float64{48.01, 48.03, 48.04}) {
			t.Errorf("%s: counts %+v, violations at %v: want 5 read = 3 accepted + 2 duplicate, at 48.01 48.03 48.04", name, k, lats)
		}
	}
}

// TestDuplicatesReadAgainWhereTheyStand: the records of duplicate ids are
// read again from a plain file at their offsets, and from a gzipped one as
// it is read: the two settle alike, with a byte-order mark, CRLF line ends,
// lines that start with RS, blank lines and a last line without a newline.
func TestDuplicatesReadAgainWhereTheyStand(t *testing.T) {
	eachWay(t, "", duplicatesReadAgainWhereTheyStand)
}

func duplicatesReadAgainWhereTheyStand(t *testing.T) {
	rec := func(id string, hour int, lat string, extra string) string {
		return fmt.Sprintf(`{"type":"Feature","id":%q,"geometry":{"type":"Point","coordinates":[30.5,%s]},"properties":{"time":"2024-05-01T%02d:00:00Z","side":"B"%s}}`, id, lat, hour, extra)
	}
	text := "\ufeff" + rec("a", 11, "48.02", "") + "\r\n" +
		"\x1e" + rec("a", 10, "48.01", "") + "\n\n" +
		rec("b", 10, "48.03", `,"n":1`) + "\r\n" +
		"  \n" + rec("b", 10, "48.03", `,"n":1`) + "\n" +
		rec("c", 9, "48.04", `,"n":2`) + "\n" +
		"\x1e" + rec("c", 9, "48.035", `,"n":1`) + "\r\n" +
		rec("d", 8, "48.05", "")
	dir := t.TempDir()
	plain := filepath.Join(dir, "feed.ndjson")
	gzipped := filepath.Join(dir, "feed.ndjson.gz")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(text))
	zw.Close()
	if os.WriteFile(plain, []byte(text), 0o644) != nil || os.WriteFile(gzipped, gz.Bytes(), 0o644) != nil {
		t.Fatal("cannot write the feeds")
	}
	pol := detect.DefaultPolicy()
	line, _ := loadLine(t, straightLine, pol)
	var got []string
	for _, in := range []string{plain, gzipped} {
		out, err := batch.Run(batch.Config{Judge: detect.NewJudge(line, pol), Workers: 2}, []string{in})
		if err != nil {
			t.Fatal(err)
		}
		k := out.Counts
		var lats []float64
		for _, v := range allViolations(&out.Result) {
			lats = append(lats, v.Lat)
		}
		slices.Sort(lats)
		got = append(got, fmt.Sprintf("%+v %v", k, lats))
		if k.Read != 7 || k.Accepted != 4 || k.Duplicate != 3 {
			t.Errorf("%s: counts %+v, want 7 read = 4 accepted + 3 duplicates", in, k)
		}
	}
	if got[0] != got[1] {
		t.Errorf("plain and gzipped differ:\n%s\n%s", got[0], got[1])
	}
	if want := "[48.01 48.03 48.035 48.05]"; !strings.HasSuffix(got[0], want) {
		t.Errorf("violations at %s, want %s (the earliest a, the one b, the smaller c)", got[0], want)
	}
}

// eachWay runs test twice as the subtest name: with the duplicates of a
// batch settled there (as a run does), and with every duplicate read
// again when the input ends, which a run does with those apart.
func eachWay(t *testing.T, name string, test func(t *testing.T)) {
	for _, way := range []struct {
		name string
		on   bool
	}{{"in batch", true}, {"read again", false}} {
		t.Run(strings.TrimPrefix(name+"/"+way.name, "/"), func(t *testing.T) {
			defer batch.SameBatch(way.on)()
			test(t)
		})
	}
}
