package detect

import (
	"testing"

	"github.com/paulmach/orb"
)

// Two episodes joined by a cell between them form one episode under a
// new id; if its class is no higher, the alert that says so is an update,
// not an escalation.
func TestStreamMergeStatus(t *testing.T) {
	line := straightLine(t)
	pol := DefaultPolicy()
	pol.SetHotScore(2) // one incursion makes a hot cell
	judge := NewJudge(line, pol)
	st := NewStream(judge)
	const hour = int64(3600e6)
	day1 := int64(19844) * 24 * hour // 2024-05-01
	var alerts []Alert
	offer := func(id string, when int64, lon float64) {
		s := &Sighting{ID: id, Time: when, Side: "B", Kind: Ground, Strength: 1, Confidence: 1,
			Shape: Point, Coords: []orb.Point{at(lon, 1000)}}
		p := judge.Prepare(s, uint64(len(alerts)))
		if st.Add(&p) != Accepted {
			t.Fatalf("%s not accepted", id)
		}
		alerts = append(alerts, st.Advance()...)
	}
	offer("a", day1+25*hour, 30.2)  // S001, day 2
	offer("b", day1+25*hour, 30.47) // S003, day 2: apart from a
	offer("c", day1+22*hour, 30.33) // S002, day 1: joins both
	var merge *Alert
	for i := range alerts {
		if len(alerts[i].Replaces) > 0 {
			merge = &alerts[i]
		}
	}
	if merge == nil {
		t.Fatalf("no alert replaces the joined episodes: %v", alerts)
	}
	if merge.Episode.ID != "B-S002-20240501T000000Z" || len(merge.Replaces) != 2 {
		t.Fatalf("merged into %s replacing %v", merge.Episode.ID, merge.Replaces)
	}
	if merge.Episode.Class != Escalation || merge.Status != Updated {
		t.Fatalf("a merge of escalations into an escalation says %v", merge.Status)
	}
}
