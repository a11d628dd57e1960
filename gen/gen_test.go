package gen_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/gen"
	"github.com/linewatch/linewatch/geo"
)

func loadLine(t testing.TB, name string) *geo.Line {
	t.Helper()
	l, err := geo.LoadFile("../fixtures/lines/"+name+".geojson", geo.Options{})
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

// small is a scenario of a couple of thousand records with one of each
// event and every imperfection.
func small(t testing.TB) gen.Scenario {
	sc := gen.DefaultScenario()
	sc.Days = 12
	sc.Background = 0.2
	sc.Incidents = 4
	sc.Bad, sc.Duplicates = 0.03, 0.03
	sc.Events = []gen.Event{
		mustEvent(t, gen.Offensive, "RU:S040-S042:2024-01-02:5d"),
		mustEvent(t, gen.Bombardment, "UA:S012-S013:2024-01-04:4d"),
		mustEvent(t, gen.Raid, "RU:S070:2024-01-09"),
	}
	return sc
}

func generate(t testing.TB, l *geo.Line, sc gen.Scenario) ([]byte, *gen.Truth) {
	t.Helper()
	var buf bytes.Buffer
	truth, err := gen.Generate(l, sc, &buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), truth
}

func TestSameSeedSameBytes(t *testing.T) {
	l := loadLine(t, "north60")
	for _, shuffle := range []bool{false, true} {
		sc := small(t)
		sc.Background = 1
		sc.Events = []gen.Event{
			mustEvent(t, gen.Offensive, "N:S010-S012:2024-01-02:5d"),
			mustEvent(t, gen.Bombardment, "S:S020:2024-01-04:4d"),
			mustEvent(t, gen.Raid, "S:S005:2024-01-09"),
		}
		sc.Shuffle = shuffle
		a, ta := generate(t, l, sc)
		b, tb := generate(t, l, sc)
		if !bytes.Equal(a, b) {
			t.Fatalf("shuffle=%v: the same seed wrote different bytes", shuffle)
		}
		ja, _ := json.Marshal(ta)
		jb, _ := json.Marshal(tb)
		if !bytes.Equal(ja, jb) {
			t.Fatalf("shuffle=%v: the same seed gave different truths", shuffle)
		}
		sc.Seed++
		c, _ := generate(t, l, sc)
		if bytes.Equal(a, c) {
			t.Fatalf("shuffle=%v: seeds %d and %d wrote the same bytes", shuffle, sc.Seed-1, sc.Seed)
		}
	}
}

// TestRecordsDecode reads every record as detect does: the bad ones, and
// only they, are rejected; the duplicates are those the truth counts.
func TestRecordsDecode(t *testing.T) {
	l := loadLine(t, "front-2024")
	sc := small(t)
	sc.Bad, sc.Duplicates, sc.Conflicting = 0.05, 0.05, 0.4
	data, truth := generate(t, l, sc)

	type seen struct {
		raw   string
		count int
	}
	ids := map[string]*seen{}
	var order []string
	rejected, read := 0, 0
	reasons := map[string]int{}
	sc2 := bufio.NewScanner(bytes.NewReader(data))
	sc2.Buffer(nil, 1<<20)
	var s detect.Sighting
	for sc2.Scan() {
		read++
		raw := sc2.Text()
		if err := feed.Decode([]byte(raw), &s); err != nil {
			rejected++
			reasons[strings.SplitN(err.Error(), ":", 2)[0]]++
			continue
		}
		if e, ok := ids[s.ID+"\x00"+s.Source]; ok {
			e.count++
			if e.raw != raw {
				e.raw = "" // conflicting
			}
			continue
		}
		ids[s.ID+"\x00"+s.Source] = &seen{raw: raw, count: 1}
		order = append(order, s.ID+"\x00"+s.Source)
	}
	r := truth.Records
	if read != r.Total || int64(read) != truth.Expected.Records.Read {
		t.Errorf("read %d records, truth says %d", read, r.Total)
	}
	if rejected != r.Bad || rejected == 0 {
		t.Errorf("%d records rejected, truth has %d bad (by reason %v; rejected for %v)", rejected, r.Bad, r.BadByReason, reasons)
	}
	if len(r.BadByReason) < 8 {
		t.Errorf("bad records of only %d kinds: %v", len(r.BadByReason), r.BadByReason)
	}
	if len(ids) != r.Good || int64(len(ids)) != truth.Expected.Records.Accepted {
		t.Errorf("%d distinct ids accepted, truth has %d good", len(ids), r.Good)
	}
	dups, conflicting := 0, 0
	for _, id := range order {
		e := ids[id]
		dups += e.count - 1
		if e.raw == "" {
			conflicting++
		}
	}
	if dups != r.Duplicates || conflicting != r.DuplicatesConflicting || conflicting == 0 || r.DuplicatesIdentical == 0 {
		t.Errorf("%d duplicates (%d ids with conflicting copies), truth has %d (%d identical, %d conflicting)",
			dups, conflicting, r.Duplicates, r.DuplicatesIdentical, r.DuplicatesConflicting)
	}
	if r.Tracked == 0 || r.FireWithoutSide == 0 || r.Imprecise == 0 || r.Incidents == 0 || r.Events == 0 {
		t.Errorf("a kind of record is missing: %+v", r)
	}
}

// TestBackgroundOwnSide locates every background position: on its party's
// own side, clear of the demilitarised zone and of the line's free ends,
// however the line winds.
func TestBackgroundOwnSide(t *testing.T) {
	for _, name := range []string{"front-2024", "hairpin", "north60", "two-stretches"} {
		l := loadLine(t, name)
		sc := gen.DefaultScenario()
		sc.Days = 2
		sc.Records = 6000
		sc.Incidents, sc.Bad, sc.Duplicates, sc.Unattributed = 0, 0, 0, 0
		sc.SidelessFire = 0.3
		data, truth := generate(t, l, sc)
		if truth.Records.Background != truth.Records.Total || truth.Expected.Violations != (gen.Expected{}).Violations {
			t.Fatalf("%s: background only, yet %+v", name, truth.Expected)
		}
		var s detect.Sighting
		n := 0
		for _, raw := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
			if err := feed.Decode(raw, &s); err != nil {
				t.Fatalf("%s: %v: %s", name, err, raw)
			}
			party := s.Side
			if party == "" { // fire without side: a LineString from its own side
				if s.Kind != detect.Fire || s.Shape != detect.LineString {
					t.Fatalf("%s: a background record without side that no origin attributes: %s", name, raw)
				}
				party = l.Locate(s.Coords[0][0], s.Coords[0][1]).Side
			}
			for _, p := range s.Coords {
				n++
				loc := l.Locate(p[0], p[1])
				if loc.Side != party || loc.BeyondEnd || loc.DistanceM < loc.BufferM+250 || loc.DistanceM < 500 {
					t.Errorf("%s: %s position %v of %s: side %s, %.0f m from the line (buffer %.0f m), beyond end %v",
						name, s.Kind, p, party, loc.Side, loc.DistanceM, loc.BufferM, loc.BeyondEnd)
				}
			}
		}
		if n < 5000 {
			t.Errorf("%s: only %d positions", name, n)
		}
	}
}

// TestExpectedClasses: events are built to be what their type says under
// the default policy, and an offensive too short to be sustained is an
// escalation.
func TestExpectedClasses(t *testing.T) {
	l := loadLine(t, "front-2024")
	sc := small(t)
	sc.Background = 0.05
	sc.Events = append(sc.Events, mustEvent(t, gen.Offensive, "UA:S080:2024-01-06:2d"))
	_, truth := generate(t, l, sc)
	want := []string{"sustained_offensive", "sustained_bombardment", "escalation", "escalation"}
	for i, e := range truth.Events {
		if e.ExpectedClass != want[i] || len(e.Episodes) != 1 {
			t.Errorf("%s %s: expected %s in %v, want %s in one episode", e.ID, e.Spec, e.ExpectedClass, e.Episodes, want[i])
		}
	}
	if x := truth.Expected.Episodes; x.SustainedOffensive != 1 || x.SustainedBombardment != 1 || x.Escalation != 2 {
		t.Errorf("episodes %+v", x)
	}
	if truth.Expected.Isolated == 0 {
		t.Error("no isolated violations")
	}
	off := truth.Episodes[0]
	if off.Class != "sustained_offensive" || off.Tracks < 2 || off.HotWindows < 3 || off.Crossings == 0 || off.MaxDepthM < 1000 {
		t.Errorf("offensive episode %+v", off)
	}
}

func TestFeatureCollectionAndGzip(t *testing.T) {
	l := loadLine(t, "north60")
	sc := gen.DefaultScenario()
	sc.Days, sc.Background, sc.Bad = 3, 2, 0.2
	sc.Format = gen.GeoJSON
	plain, truth := generate(t, l, sc)
	var fc struct {
		Type     string            `json:"type"`
		Features []json.RawMessage `json:"features"`
	}
	if err := json.Unmarshal(plain, &fc); err != nil {
		t.Fatalf("not one JSON text: %v", err)
	}
	if fc.Type != "FeatureCollection" || len(fc.Features) != truth.Records.Total {
		t.Fatalf("%s of %d features, truth says %d", fc.Type, len(fc.Features), truth.Records.Total)
	}
	var s detect.Sighting
	rejected := 0
	for _, f := range fc.Features {
		if feed.Decode(f, &s) != nil {
			rejected++
		}
	}
	if rejected != truth.Records.Bad || rejected == 0 {
		t.Errorf("%d rejected, %d bad", rejected, truth.Records.Bad)
	}
	sc.Gzip = true
	zipped, _ := generate(t, l, sc)
	zr, err := gzip.NewReader(bytes.NewReader(zipped))
	if err != nil {
		t.Fatal(err)
	}
	unzipped, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(unzipped, plain) {
		t.Fatalf("gzipped output differs from plain (%v)", err)
	}
}

func TestRecordsScale(t *testing.T) {
	l := loadLine(t, "straight")
	sc := gen.DefaultScenario()
	sc.Days, sc.Records = 5, 20000
	_, truth := generate(t, l, sc)
	if n := truth.Records.Total; n < 19000 || n > 21000 {
		t.Errorf("asked for 20000 records, wrote %d", n)
	}
	if share := float64(truth.Records.Tracked) / float64(truth.Records.Good); share < 0.15 || share > 0.25 {
		t.Errorf("%.2f of records tracked, want about 0.2", share)
	}
}

func TestParseEvent(t *testing.T) {
	day := func(s string) time.Time { tm, _ := time.Parse(time.RFC3339, s); return tm }
	tests := []struct {
		typ  gen.EventType
		spec string
		want gen.Event
	}{
		{gen.Offensive, "RU:S040-S043:2024-01-05:6d", gen.Event{Type: gen.Offensive, Party: "RU", From: "S040", To: "S043",
			Start: day("2024-01-05T00:00:00Z"), Duration: 6 * 24 * time.Hour}},
		{gen.Raid, "UA:S007:2024-02-01", gen.Event{Type: gen.Raid, Party: "UA", From: "S007", To: "S007",
			Start: day("2024-02-01T00:00:00Z"), Duration: 24 * time.Hour}},
		{gen.Bombardment, "UA:12-14:2024-02-01T06:00:00Z:36h", gen.Event{Type: gen.Bombardment, Party: "UA", From: "12", To: "14",
			Start: day("2024-02-01T06:00:00Z"), Duration: 36 * time.Hour}},
		{gen.Bombardment, "UA:S012:2024-02-01T06:00:00+02:00", gen.Event{Type: gen.Bombardment, Party: "UA", From: "S012", To: "S012",
			Start: day("2024-02-01T04:00:00Z"), Duration: 4 * 24 * time.Hour}},
	}
	for _, tt := range tests {
		got, err := gen.ParseEvent(tt.typ, tt.spec)
		if err != nil || !got.Start.Equal(tt.want.Start) {
			t.Errorf("ParseEvent(%q) = %+v, %v; want %+v", tt.spec, got, err, tt.want)
			continue
		}
		got.Start = tt.want.Start
		if got != tt.want {
			t.Errorf("ParseEvent(%q) = %+v; want %+v", tt.spec, got, tt.want)
		}
		again, err := gen.ParseEvent(tt.typ, got.Spec())
		if err != nil || !again.Start.Equal(got.Start) || again.Duration != got.Duration || again.From != got.From {
			t.Errorf("%q does not read back: %+v, %v", got.Spec(), again, err)
		}
	}
	for _, bad := range []string{"RU", "RU:S040", ":S040:2024-01-05", "RU:S040:2024-13-05", "RU:S040:2024-01-05:0d", "RU:S040:2024-01-05:soon", "RU:-:2024-01-05"} {
		if _, err := gen.ParseEvent(gen.Offensive, bad); err == nil {
			t.Errorf("ParseEvent(%q) took it", bad)
		}
	}
}

func TestScenarioErrors(t *testing.T) {
	l := loadLine(t, "front-2024")
	for _, spec := range []string{"XX:S040:2024-01-05", "RU:S400:2024-01-05", "RU:S043-S040:2024-01-05", "RU:S040:2023-12-30:3d", "RU:S040:2024-03-30:3d"} {
		sc := gen.DefaultScenario()
		sc.Events = []gen.Event{mustEvent(t, gen.Offensive, spec)}
		if err := gen.Check(l, sc); err == nil {
			t.Errorf("%s: no error", spec)
		}
		if _, err := gen.Generate(l, sc, io.Discard); err == nil {
			t.Errorf("%s: generated", spec)
		}
	}
	sc := gen.DefaultScenario()
	sc.Bad = 1.5
	if gen.Check(l, sc) == nil {
		t.Error("bad share 1.5 taken")
	}
	pol := detect.DefaultPolicy()
	pol.SectorKm = 5
	sc = gen.DefaultScenario()
	sc.Policy = &pol
	if gen.Check(l, sc) == nil {
		t.Error("a policy whose sectors differ from the line's taken")
	}
}

func TestParseScenario(t *testing.T) {
	sc := gen.DefaultScenario()
	err := gen.ParseScenario([]byte(`
seed: 7
start: 2024-03-01
days: 30
bad: 0
shuffle: true
format: geojson
events:
  - offensive: RU:S040-S043:2024-03-05:6d
  - {type: raid, party: UA, sectors: S010, start: 2024-03-20, units: 3, depth_km: 2}
`), &sc)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Seed != 7 || sc.Days != 30 || sc.Bad != 0 || !sc.Shuffle || sc.Format != gen.GeoJSON || sc.Duplicates != 0.01 ||
		!sc.Start.Equal(time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)) || len(sc.Events) != 2 ||
		sc.Events[1].Type != gen.Raid || sc.Events[1].Units != 3 || sc.Events[1].DepthKm != 2 || sc.Events[1].Duration != 24*time.Hour {
		t.Errorf("scenario %+v", sc)
	}
	for _, bad := range []string{"sead: 7", "events: [{offensive: 'RU:S040:2024-01-01', raid: 'RU:S040:2024-01-01'}]",
		"events: [{type: raid, party: UA}]", "format: shapefile", "days: many"} {
		sc := gen.DefaultScenario()
		if gen.ParseScenario([]byte(bad), &sc) == nil {
			t.Errorf("%q taken", bad)
		}
	}
	if err := gen.ParseScenario(nil, &sc); err != nil {
		t.Errorf("an empty scenario: %v", err)
	}
}

// BenchmarkGenerate writes 100,000 records of the bundled line.
func BenchmarkGenerate(b *testing.B) {
	l := loadLine(b, "front-2024")
	sc := gen.DefaultScenario()
	sc.Days, sc.Records = 36, 100000
	sc.Events = []gen.Event{mustEvent(b, gen.Offensive, "RU:S040-S043:2024-01-05:6d")}
	var n int
	b.ReportAllocs()
	for b.Loop() {
		cw := &countWriter{}
		truth, err := gen.Generate(l, sc, cw)
		if err != nil {
			b.Fatal(err)
		}
		n = truth.Records.Total
		b.SetBytes(cw.n)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

func ExampleGenerate() {
	line, err := geo.LoadFile("../fixtures/lines/front-2024.geojson", geo.Options{})
	if err != nil {
		panic(err)
	}
	sc := gen.DefaultScenario()
	sc.Days = 20
	for _, spec := range []string{"RU:S040-S043:2024-01-05:6d", "UA:S012-S013:2024-01-10:5d"} {
		typ := gen.Offensive
		if strings.HasPrefix(spec, "UA") {
			typ = gen.Bombardment
		}
		ev, _ := gen.ParseEvent(typ, spec)
		sc.Events = append(sc.Events, ev)
	}
	truth, err := gen.Generate(line, sc, io.Discard)
	if err != nil {
		panic(err)
	}
	for _, e := range truth.Events {
		fmt.Println(e.ID, e.Type, e.Party, e.Sectors[0], "→", e.ExpectedClass)
	}
	// Output:
	// E1 offensive RU S040 → sustained_offensive
	// E2 bombardment UA S012 → sustained_bombardment
}

// A scenario that would write sightings outside the years 1000–8999
// (which detect rejects), or more sightings a day than gen holds in
// memory while it writes a day, is refused before anything is written,
// with words that say which.
func TestScenarioBounds(t *testing.T) {
	l := loadLine(t, "front-2024")
	for _, c := range []struct {
		name string
		edit func(*gen.Scenario)
		want string
	}{
		{"start in 9999", func(sc *gen.Scenario) { sc.Start = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC) }, "1000–8999"},
		{"start in year 1", func(sc *gen.Scenario) { sc.Start = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC) }, "1000–8999"},
		{"end in 9000", func(sc *gen.Scenario) { sc.Start, sc.Days = time.Date(8999, 12, 1, 0, 0, 0, 0, time.UTC), 40 }, "1000–8999"},
		{"records", func(sc *gen.Scenario) { sc.Records = math.MaxInt }, "a day"},
		{"background", func(sc *gen.Scenario) { sc.Background = 1e6 }, "a day"},
	} {
		sc := gen.DefaultScenario()
		c.edit(&sc)
		if err := gen.Check(l, sc); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error that says %q", c.name, err, c.want)
		}
	}
	sc := gen.DefaultScenario()
	sc.Start, sc.Days = time.Date(8999, 12, 1, 0, 0, 0, 0, time.UTC), 31
	if err := gen.Check(l, sc); err != nil {
		t.Errorf("the last days of 8999: %v", err)
	}
}
