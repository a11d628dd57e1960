package detect

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/internal/num"
	"github.com/paulmach/orb"
)

// Every integer key of the policy at its largest value, with the
// shortest and the longest window, is a policy like any other: batch and
// stream find the same episodes, and neither loops over the windows or
// sectors that join_gap_windows and join_sectors allow, nor overflows
// when it multiplies windows. Incursions of B (north of the line) at
// both ends of the line and far apart in time join into one episode,
// since both keys reach across them.
func TestExtremePolicyValues(t *testing.T) {
	const maxInt = 1000000000
	extreme := func(window time.Duration) Policy {
		pol := DefaultPolicy()
		pol.Window = window
		pol.HotScoreMicro = 1 * microUnits
		pol.JoinSectors, pol.JoinGapWindows = maxInt, maxInt
		pol.DeliberateMinGround, pol.DeliberateMinTracks = maxInt, maxInt
		pol.SustainedMinHotWindows = maxInt
		pol.MaxTrackGap, pol.AllowedLateness = 106751*24*time.Hour, 106751*24*time.Hour
		return pol
	}
	t0, err := num.ParseTime("2024-05-01T00:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	first, err := num.ParseTime("1000-01-01T00:00:00Z")
	if err != nil {
		t.Fatal(err)
	}
	last, err := num.ParseTime("8999-12-31T23:59:59Z")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		window time.Duration
		times  []int64 // µs
	}{
		// join_gap_windows + 1 windows apart: the farthest that joins.
		{time.Microsecond, []int64{t0, t0 + 1_000_000_001, t0 + 2_000_000_002}},
		{106751 * 24 * time.Hour, []int64{first, t0, last}},
	} {
		t.Run(c.window.String(), func(t *testing.T) {
			pol := extreme(c.window)
			if err := pol.Validate(); err != nil {
				t.Fatal(err)
			}
			line := straightLine(t)
			judge := NewJudge(line, pol)
			done := make(chan struct{})
			var batch Result
			var closed []Alert
			go func() {
				defer close(done)
				var viols []*Violation
				st := NewStream(judge)
				for i, when := range c.times {
					lon := []float64{30.01, 30.65, 31.29}[i%3] // S000, S004, S009
					s := &Sighting{ID: fmt.Sprint("x", i), Time: when, Side: "B", Kind: Ground, Strength: 1, Confidence: 1,
						Shape: Point, Coords: []orb.Point{at(lon, 2000)}}
					p := judge.Prepare(s, uint64(i))
					if p.Violation == nil {
						t.Errorf("%s: no violation", s.ID)
						return
					}
					viols = append(viols, p.Violation)
					p2 := judge.Prepare(s, uint64(i))
					if st.Add(&p2) != Accepted {
						t.Errorf("%s: not accepted by the stream", s.ID)
						return
					}
					for _, a := range st.Advance() {
						if a.Status == Closed {
							closed = append(closed, a)
						}
					}
				}
				for _, a := range st.Finish() {
					if a.Status == Closed {
						closed = append(closed, a)
					}
				}
				batch = Aggregate(line, pol, viols)
			}()
			select {
			case <-done:
			case <-time.After(2 * time.Minute):
				t.Fatal("batch and stream still at work after 2 minutes: they loop over the windows or sectors the policy allows")
			}
			if t.Failed() {
				return
			}
			if len(batch.Episodes) != 1 || batch.Episodes[0].Violations != len(c.times) {
				t.Fatalf("batch: %d episodes (%v), want one of %d violations", len(batch.Episodes), batch.Episodes, len(c.times))
			}
			e := batch.Episodes[0]
			if len(closed) != 1 || closed[0].Episode.ID != e.ID || closed[0].Episode.End != e.End ||
				closed[0].Episode.Violations != e.Violations || closed[0].Episode.Class != e.Class {
				t.Fatalf("stream closed %v, batch found %s (%d violations, end %s)", closed, e.ID, e.Violations, num.FormatTime(e.End))
			}
		})
	}
}

// joinCells finds the same groups as comparing every pair of cells would,
// for random cells of two parties on a line of two stretches.
func TestJoinCellsEqualsEveryPair(t *testing.T) {
	line := twoStretchLine(t)
	n := len(line.Sectors())
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 300; trial++ {
		pol := DefaultPolicy()
		pol.JoinSectors = rng.IntN(4)
		pol.JoinGapWindows = rng.IntN(4)
		var hot []*Cell
		seen := map[cellKey]bool{}
		for i := rng.IntN(40); i > 0; i-- {
			c := &Cell{Party: []string{"A", "B"}[rng.IntN(2)], Sector: rng.IntN(n), Window: int64(rng.IntN(30))}
			if k := (cellKey{c.Party, c.Sector, c.Window}); !seen[k] {
				seen[k] = true
				hot = append(hot, c)
			}
		}
		groups := joinCells(line, &pol, hot)
		group := map[*Cell]int{}
		for g, cells := range groups {
			for _, c := range cells {
				group[c] = g
			}
		}
		// Every pair that connects is in one group; and a group is
		// connected through such pairs (checked by a flood from its first).
		connects := func(a, b *Cell) bool {
			ds, dw := a.Sector-b.Sector, a.Window-b.Window
			return a.Party == b.Party && line.Sectors()[a.Sector].Stretch == line.Sectors()[b.Sector].Stretch &&
				max(ds, -ds) <= pol.JoinSectors && max(dw, -dw) <= int64(pol.JoinGapWindows)+1
		}
		for _, a := range hot {
			for _, b := range hot {
				if connects(a, b) && group[a] != group[b] {
					t.Fatalf("trial %d: %v and %v connect but are in groups %d and %d", trial, a, b, group[a], group[b])
				}
			}
		}
		for g, cells := range groups {
			reached := map[*Cell]bool{cells[0]: true}
			for grown := true; grown; {
				grown = false
				for _, a := range cells {
					for _, b := range cells {
						if reached[a] && !reached[b] && connects(a, b) {
							reached[b], grown = true, true
						}
					}
				}
			}
			if len(reached) != len(cells) {
				t.Fatalf("trial %d: group %d is not connected: %v", trial, g, cells)
			}
		}
	}
}

func twoStretchLine(t *testing.T) *geo.Line {
	t.Helper()
	l, err := geo.LoadFile("../fixtures/lines/two-stretches.geojson", geo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}
