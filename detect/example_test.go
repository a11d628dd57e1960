package detect_test

import (
	"fmt"
	"strings"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/paulmach/orb"
)

// Judging a sighting and aggregating violations into episodes: three days
// of incursions by two units of B north of a line that A holds.
func ExampleAggregate() {
	line, _ := geo.Load(strings.NewReader(`{"type":"LineString","coordinates":[[30,48],[30.5,48],[31,48]]}`),
		geo.Options{Left: "A", Right: "B"})
	pol := detect.DefaultPolicy()
	judge := detect.NewJudge(line, pol)
	var viols []*detect.Violation
	var tracks []*detect.TrackPoint
	const day = 24 * 3600 * 1e6
	for d := 0; d < 3; d++ {
		for u, track := range []string{"u1", "u2"} {
			s := detect.Sighting{
				ID:   fmt.Sprintf("d%d-%s", d, track),
				Time: int64(19727*day + float64(d)*day + 3600e6), // 2024-01-05 onwards, 01:00
				Side: "B", Kind: detect.Ground, Track: track, Strength: 20, Confidence: 1,
				Shape: detect.Point, Coords: []orb.Point{{30.2 + 0.01*float64(u), 48.05}},
			}
			p := judge.Prepare(&s, uint64(d*2+u))
			if p.Violation != nil {
				viols = append(viols, p.Violation)
			}
			if p.Track != nil {
				tracks = append(tracks, p.Track) // judged once the whole track is known
			}
		}
	}
	viols = append(viols, judge.PairTracks(tracks)...)
	res := detect.Aggregate(line, pol, viols)
	for _, e := range res.Episodes {
		fmt.Println(e.ID, e.Class, e.HotWindows, "hot windows,", e.Violations, "violations")
		fmt.Println("significant", e.Significant, "deliberate", e.Deliberate, "sustained", e.Sustained)
	}
	// Output:
	// B-S001-20240105T000000Z sustained_offensive 3 hot windows, 6 violations
	// significant true deliberate true sustained true
}

// The stream engine takes records one at a time in arrival order; the
// watermark (the latest event time less allowed_lateness) closes windows
// and episodes, and the alerts say what changed.
func ExampleStream() {
	line, _ := geo.Load(strings.NewReader(`{"type":"LineString","coordinates":[[30,48],[30.5,48],[31,48]]}`),
		geo.Options{Left: "A", Right: "B"})
	pol := detect.DefaultPolicy()
	judge := detect.NewJudge(line, pol)
	engine := detect.NewStream(judge)
	const hour = 3600 * 1e6
	start := int64(19844 * 24 * hour) // 2024-05-01
	offer := func(id string, at int64, lat float64) {
		s := detect.Sighting{ID: id, Time: start + at, Side: "B", Kind: detect.Ground, Strength: 1, Confidence: 1,
			Shape: detect.Point, Coords: []orb.Point{{30.2, lat}}}
		p := judge.Prepare(&s, uint64(len(id))) // the key is a hash of the id in real use
		if engine.Add(&p) == detect.Late {
			fmt.Println(id, "late")
		}
		for _, a := range engine.Advance() {
			fmt.Println(a.Status, a.Episode.ID, a.Episode.Class, a.Episode.Violations, "violations")
		}
	}
	offer("x1", 10*hour, 48.02) // two incursions in one day make a hot cell
	offer("x2", 11*hour, 48.03)
	offer("x3", 40*hour, 47.9) // at home, a day later: the watermark moves to 34 h
	offer("x0", 2*hour, 48.02) // older than the watermark: late
	for _, a := range engine.Finish() {
		fmt.Println(a.Status, a.Episode.ID, a.Episode.Class, a.Episode.Violations, "violations")
	}
	// Output:
	// opened B-S001-20240501T000000Z escalation 2 violations
	// x0 late
	// closed B-S001-20240501T000000Z escalation 2 violations
}
