package detect

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/linewatch/linewatch/geo"
	"github.com/paulmach/orb"
)

// The straight test line runs east along 48°N from 30°E to 31.3°E: A's
// side is the north (left), B's the south (right).
func straightLine(t testing.TB) *geo.Line {
	t.Helper()
	l, err := geo.LoadFile("../fixtures/lines/straight.geojson", geo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// at is the point metres north (negative: south) of the line at longitude lon.
func at(lon, metresNorth float64) orb.Point {
	az := 0.0
	if metresNorth < 0 {
		az, metresNorth = 180, -metresNorth
	}
	return geo.Destination([2]float64{lon, 48}, az, metresNorth)
}

func sighting(id string, minutes int, side string, kind Kind, pts ...orb.Point) *Sighting {
	s := &Sighting{ID: id, Time: int64(minutes) * 60e6, Side: side, Kind: kind,
		Strength: 1, Confidence: 1, Shape: Point, Coords: pts}
	if len(pts) > 1 {
		s.Shape = LineString
	}
	return s
}

func TestPrepare(t *testing.T) {
	line := straightLine(t)
	pol := DefaultPolicy()
	j := NewJudge(line, pol)
	tests := []struct {
		name    string
		s       *Sighting
		outcome Outcome
		typ     Type // checked when viol
		viol    bool
		depth   float64 // d, checked when viol
	}{
		{"B 1 km north of the line is an incursion", sighting("1", 0, "B", Ground, at(30.5, 1000)), Judged, Incursion, true, 1000},
		{"B 1 km south is at home", sighting("2", 0, "B", Ground, at(30.5, -1000)), Judged, 0, false, 0},
		{"A 1 km south is an incursion", sighting("3", 0, "A", Ground, at(30.5, -1000)), Judged, Incursion, true, 1000},
		{"a third party is never judged", sighting("4", 0, "UN", Ground, at(30.5, 1000)), Unattributed, 0, false, 0},
		{"ground without side is unattributed", sighting("5", 0, "", Ground, at(30.5, 1000)), Unattributed, 0, false, 0},
		{"sideless fire landing north came from B", sighting("6", 0, "", Fire, at(30.5, 2000)), Judged, FireType, true, 2000},
		{"sideless fire origin south to impact north is B's", sighting("7", 0, "", Fire, at(30.5, -3000), at(30.5, 500)), Judged, FireType, true, 500},
		{"fire landing at home is no violation", sighting("8", 0, "B", Fire, at(30.5, -500)), Judged, 0, false, 0},
		{"a movement over the line and back is a crossing", sighting("9", 0, "B", Ground, at(30.5, -1000), at(30.51, 800), at(30.52, -200)), Judged, Crossing, true, 800},
		{"far beyond the east end is not judged", sighting("10", 0, "B", Ground, orb.Point{31.5, 48.01}), BeyondEnd, 0, false, 0},
		{"within end reach past the east end is judged", sighting("11", 0, "B", Ground, orb.Point{31.33, 48.01}), Judged, Incursion, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := j.Prepare(tc.s, 1)
			if p.Outcome != tc.outcome {
				t.Fatalf("outcome %v, want %v", p.Outcome, tc.outcome)
			}
			if (p.Violation != nil) != tc.viol {
				t.Fatalf("violation %+v, want one: %v", p.Violation, tc.viol)
			}
			if !tc.viol {
				return
			}
			v := p.Violation
			if v.Type != tc.typ {
				t.Fatalf("type %v, want %v", v.Type, tc.typ)
			}
			if tc.depth != 0 && math.Abs(v.DepthM-tc.depth) > 0.01*tc.depth {
				t.Fatalf("depth %v, want %v", v.DepthM, tc.depth)
			}
			if v.Type == Crossing && math.Abs(v.Lat-48) > 1e-4 {
				t.Fatalf("crossing located at %v, %v: not on the line", v.Lon, v.Lat)
			}
		})
	}
}

func TestPrecisionGuardsTheLine(t *testing.T) {
	line := straightLine(t)
	pol := DefaultPolicy()
	j := NewJudge(line, pol)
	s := sighting("p", 0, "B", Ground, at(30.5, 400))
	s.PrecisionM = 500 // may not have reached the other side: e = 400 − 500 < 0
	if p := j.Prepare(s, 1); p.Violation != nil {
		t.Fatalf("uncertain fix made %v", p.Violation.Type)
	}
	s.PrecisionM = 300 // e = 100 > 0: certainly over
	if p := j.Prepare(s, 1); p.Violation == nil || p.Violation.Type != Incursion {
		t.Fatalf("deep enough fix made %+v", p.Violation)
	}
}

func TestBufferViolation(t *testing.T) {
	line := straightLine(t)
	pol := DefaultPolicy()
	j := NewJudge(line, pol)
	// With buffer_m 0 nothing on B's own side is a violation.
	if p := j.Prepare(sighting("b", 0, "B", Ground, at(30.5, -300)), 1); p.Violation != nil {
		t.Fatal("buffer violation without a buffer")
	}
	// A bare geometry takes its buffer from the options: 1 km either side.
	l2, err := geo.Load(strings.NewReader(`{"type":"LineString","coordinates":[[30,48],[31,48]]}`),
		geo.Options{Left: "A", Right: "B", BufferM: 1000})
	if err != nil {
		t.Fatal(err)
	}
	j2 := NewJudge(l2, pol)
	tests := []struct {
		name  string
		north float64
		prec  float64
		want  bool
	}{
		{"300 m inside its own half of the zone", -300, 0, true},
		{"1200 m back, outside the zone", -1200, 0, false},
		{"a fix 800 m back, 300 m uncertain: e = −1100, outside", -800, 300, false},
		{"200 m over, 500 m uncertain: e = −300, in its own half", 200, 500, true},
	}
	for _, tc := range tests {
		s := sighting("b", 0, "B", Ground, at(30.5, tc.north))
		s.PrecisionM = tc.prec
		p := j2.Prepare(s, 1)
		got := p.Violation != nil && p.Violation.Type == Buffer
		if got != tc.want {
			t.Errorf("%s: buffer violation %v, want %v (%+v)", tc.name, got, tc.want, p.Violation)
		}
	}
	// Fire in the zone is not a buffer violation: only ground is.
	if p := j2.Prepare(sighting("f", 0, "B", Fire, at(30.5, -300)), 1); p.Violation != nil {
		t.Errorf("fire in the zone made %v", p.Violation.Type)
	}
}

func TestTrackCrossing(t *testing.T) {
	line := straightLine(t)
	pol := DefaultPolicy()
	j := NewJudge(line, pol)
	mk := func(id string, minutes int, north float64) *TrackPoint {
		s := sighting(id, minutes, "B", Ground, at(30.5, north))
		s.Track = "T1"
		p := j.Prepare(s, 1)
		if p.Track == nil {
			t.Fatalf("%s: not a track point", id)
		}
		return p.Track
	}
	tests := []struct {
		name  string
		pts   []*TrackPoint
		types []Type
	}{
		{"two points over the line: a crossing", []*TrackPoint{mk("a", 0, -500), mk("b", 60, 700)}, []Type{Crossing}},
		{"order of records does not matter", []*TrackPoint{mk("b", 60, 700), mk("a", 0, -500)}, []Type{Crossing}},
		{"a gap longer than max_track_gap: an incursion", []*TrackPoint{mk("a", 0, -500), mk("b", 7*60, 700)}, []Type{Incursion}},
		{"over and back: one crossing, no violation back home", []*TrackPoint{mk("a", 0, -500), mk("b", 60, 700), mk("c", 120, -300)}, []Type{Crossing}},
		{"staying over: crossing, then incursion", []*TrackPoint{mk("a", 0, -500), mk("b", 60, 700), mk("c", 120, 900)}, []Type{Crossing, Incursion}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			vs := j.PairTracks(tc.pts)
			if len(vs) != len(tc.types) {
				t.Fatalf("%d violations, want %d", len(vs), len(tc.types))
			}
			for i, v := range vs {
				if v.Type != tc.types[i] {
					t.Fatalf("violation %d is %v, want %v", i, v.Type, tc.types[i])
				}
			}
			if vs[0].Type == Crossing && math.Abs(vs[0].Lat-48) > 1e-4 {
				t.Fatalf("crossing at %v, %v, not on the line", vs[0].Lon, vs[0].Lat)
			}
		})
	}
}

func TestWindowOf(t *testing.T) {
	pol := DefaultPolicy()
	day := int64(24 * time.Hour / time.Microsecond)
	for _, tc := range []struct {
		t, w int64
	}{{0, 0}, {day - 1, 0}, {day, 1}, {-1, -1}, {-day, -1}, {-day - 1, -2}} {
		if got := pol.WindowOf(tc.t); got != tc.w {
			t.Errorf("WindowOf(%d) = %d, want %d", tc.t, got, tc.w)
		}
	}
}

// PrepareWith prepares as Prepare does, but writes a track point into the
// caller's, making none of its own.
func TestPrepareWith(t *testing.T) {
	j := NewJudge(straightLine(t), DefaultPolicy())
	for _, tc := range []struct {
		name string
		s    *Sighting
	}{
		{"a track point at home", sighting("1", 0, "B", Ground, at(30.5, -20000))},
		{"a track point near the line", sighting("2", 0, "B", Ground, at(30.5, -300))},
		{"a track point across it", sighting("3", 0, "B", Ground, at(30.5, 800))},
		{"no track", sighting("4", 0, "B", Ground, at(30.5, 800))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name != "no track" {
				tc.s.Track = "t1"
			}
			want := j.Prepare(tc.s, 7)
			var tp TrackPoint
			got := j.PrepareWith(tc.s, 7, &tp)
			if (want.Track == nil) != (got.Track == nil) {
				t.Fatalf("track point %v, want %v", got.Track, want.Track)
			}
			if got.Track != nil {
				if got.Track != &tp {
					t.Errorf("the track point was not written into the one given")
				}
				if !reflect.DeepEqual(*got.Track, *want.Track) {
					t.Errorf("track point %+v, want %+v", *got.Track, *want.Track)
				}
			}
			got.Track, want.Track = nil, nil
			if !reflect.DeepEqual(got.Violation, want.Violation) {
				t.Errorf("violation %v, want %v", got.Violation, want.Violation)
			}
			got.Violation, want.Violation = nil, nil
			if got != want {
				t.Errorf("prepared %+v, want %+v", got, want)
			}
		})
	}
	// A track point well inside its side, prepared into the caller's,
	// allocates nothing.
	s := sighting("1", 0, "B", Ground, at(30.5, -20000))
	s.Track = "t1"
	var tp TrackPoint
	if n := testing.AllocsPerRun(100, func() { j.PrepareWith(s, 7, &tp) }); n != 0 {
		t.Errorf("PrepareWith allocated %v times a call", n)
	}
}
