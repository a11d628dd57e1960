package stream_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/linewatch/linewatch/batch"
	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/gen"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/output"
	"github.com/linewatch/linewatch/stream"
)

func loadLine(t testing.TB, name string) *geo.Line {
	t.Helper()
	pol := detect.DefaultPolicy()
	l, err := geo.LoadFile("../fixtures/lines/"+name+".geojson", pol.LineOptions())
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustEvent(t testing.TB, typ gen.EventType, spec string) gen.Event {
	t.Helper()
	ev, err := gen.ParseEvent(typ, spec)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// scenario is a month of sightings on the 2024 front with an offensive, a
// bombardment and a raid, bad records and (identical) duplicates, in time
// order: about n records.
func scenario(t testing.TB, n int, seed uint64) gen.Scenario {
	sc := gen.DefaultScenario()
	sc.Seed = seed
	sc.Days = 30
	sc.Records = n
	sc.Bad, sc.Duplicates, sc.Conflicting = 0.02, 0.02, 0
	sc.Events = []gen.Event{
		mustEvent(t, gen.Offensive, "RU:S040-S042:2024-01-04:6d"),
		mustEvent(t, gen.Bombardment, "UA:S012-S013:2024-01-10:4d"),
		mustEvent(t, gen.Raid, "RU:S070:2024-01-20"),
	}
	return sc
}

func generate(t testing.TB, line *geo.Line, sc gen.Scenario) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := gen.Generate(line, sc, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// detectEpisodes runs the batch driver on data and returns its episodes as
// GeoJSONSeq lines, and its counts.
func detectEpisodes(t testing.TB, line *geo.Line, pol detect.Policy, data []byte) ([]string, feed.Counts) {
	t.Helper()
	name := filepath.Join(t.TempDir(), "feed.ndjson")
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := batch.Run(batch.Config{Judge: detect.NewJudge(line, pol)}, []string{name})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := output.Write(&b, line, pol, &out.Result, output.Options{Format: output.GeoJSONSeq}); err != nil {
		t.Fatal(err)
	}
	return lines(b.Bytes()), out.Counts
}

func lines(b []byte) []string {
	s := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(s) == 1 && s[0] == "" {
		return nil
	}
	return s
}

// closedEpisodes takes the closed alerts out of a GeoJSONSeq of alerts,
// without their status, sorted as detect sorts episodes... by text, as
// the tests compare sets.
func closedEpisodes(t testing.TB, alerts []byte) []string {
	t.Helper()
	var out []string
	for _, l := range lines(alerts) {
		if e, ok := strings.CutSuffix(l, `,"status":"closed"}}`); ok {
			out = append(out, e+"}}")
		}
	}
	return out
}

// runReader runs the driver on data as standard input.
func runReader(t testing.TB, line *geo.Line, pol detect.Policy, data []byte, finite bool, rejects string) ([]byte, *stream.Driver) {
	t.Helper()
	var out bytes.Buffer
	log, err := stream.OpenLog("-", &out)
	if err != nil {
		t.Fatal(err)
	}
	cfg := stream.Config{Judge: detect.NewJudge(line, pol), Alerts: stream.NewFileSink(log), Finite: finite}
	if rejects != "" {
		if cfg.Rejects, err = stream.OpenLog(rejects, nil); err != nil {
			t.Fatal(err)
		}
		defer cfg.Rejects.Close()
	}
	d := stream.New(cfg)
	if err := d.Run(context.Background(), &stream.ReaderSource{Name: "-", R: bytes.NewReader(data)}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), d
}

// runWith runs the driver on r with the given number of workers.
func runWith(t testing.TB, line *geo.Line, pol detect.Policy, r io.Reader, workers int) []byte {
	t.Helper()
	var out bytes.Buffer
	log, _ := stream.OpenLog("-", &out)
	d := stream.New(stream.Config{Judge: detect.NewJudge(line, pol), Alerts: stream.NewFileSink(log), Finite: true, Workers: workers})
	if err := d.Run(context.Background(), &stream.ReaderSource{Name: "-", R: r}); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// slowReader gives its data n bytes at a time.
type slowReader struct {
	data []byte
	n    int
}

func (r *slowReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), r.n)], r.data)
	r.data = r.data[k:]
	return k, nil
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
