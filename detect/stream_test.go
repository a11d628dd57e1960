package detect

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

// Two episodes joined by a cell between them form one episode under a
// new id; if its class is no higher, the alert that says so is an update,
// not an escalation.
func TestStreamMergeStatus(t *testing.T) {
	line := straightLine(t)
	pol := DefaultPolicy()
	pol.HotScoreMicro = RoundMicro(2) // one incursion makes a hot cell
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

// The ids the stream has seen are kept with their sources across a
// checkpoint: after a restore, the same id from another source is
// accepted, from the same source it is a duplicate.
func TestStreamCheckpointKeepsSources(t *testing.T) {
	line := straightLine(t)
	judge := NewJudge(line, DefaultPolicy())
	day1 := int64(19844) * 24 * 3600e6 // 2024-05-01
	prepared := func(source string) *Prepared {
		s := &Sighting{ID: "x", Source: source, Time: day1, Side: "B", Kind: Ground, Strength: 1, Confidence: 1,
			Shape: Point, Coords: []orb.Point{at(30.5, 1000)}}
		p := judge.Prepare(s, 0)
		return &p
	}
	st := NewStream(judge)
	if st.Add(prepared("obsA")) != Accepted {
		t.Fatal("first record not accepted")
	}
	data, err := st.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	st = NewStream(judge)
	if err := st.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		source string
		want   Admission
	}{{"obsA", Duplicate}, {"obsB", Accepted}, {"", Accepted}, {"obsB", Duplicate}} {
		if got := st.Add(prepared(c.source)); got != c.want {
			t.Errorf("id x from source %q after a restore: %v, want %v", c.source, got, c.want)
		}
	}
}

// A state of the first layout kept ids without their sources: it cannot
// say which source claimed an id, so it is refused, with an error that
// says why, rather than resumed wrongly.
func TestStreamRefusesVersion1State(t *testing.T) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(&snapshot{Version: 1, Started: true, Seen: []snapSeen{{ID: "x", Time: 1}}}); err != nil {
		t.Fatal(err)
	}
	st := NewStream(NewJudge(straightLine(t), DefaultPolicy()))
	err := st.UnmarshalBinary(buf.Bytes())
	if !errors.Is(err, ErrOldState) {
		t.Fatalf("a version 1 state: %v, want ErrOldState", err)
	}
	if !strings.Contains(err.Error(), "new state") {
		t.Errorf("the error %q does not say what to do", err)
	}
}

// A state written before corroboration has no figures of it: restored,
// its open episodes make no update for want of them — the alerts that
// follow are those of the same state with the figures.
func TestStreamRestoresStateWithoutCorroboration(t *testing.T) {
	line := straightLine(t)
	pol := DefaultPolicy()
	pol.HotScoreMicro = 2 * microUnits
	pol.Affiliations = NewAffiliations(map[string]string{"obsA": "A"})
	judge := NewJudge(line, pol)
	day1 := int64(19844) * 24 * 3600e6
	offer := func(st *Stream, i int, src string, when int64, lon float64) []Alert {
		s := &Sighting{ID: fmt.Sprint("r", i), Source: src, Time: when, Side: "B", Kind: Ground, Strength: 1, Confidence: 1,
			Shape: Point, Coords: []orb.Point{at(lon, 1000)}}
		p := judge.Prepare(s, uint64(i))
		st.Add(&p)
		return st.Advance()
	}
	st := NewStream(judge)
	offer(st, 0, "obsA", day1, 30.5)
	if st.Open() != 1 {
		t.Fatalf("%d open episodes", st.Open())
	}
	data, err := st.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var sn snapshot
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&sn); err != nil {
		t.Fatal(err)
	}
	if sn.Episodes[0].Sources != 1 || len(sn.Episodes[0].Affiliations) != 1 {
		t.Fatalf("figures %+v", sn.Episodes[0])
	}
	for i := range sn.Episodes { // as an earlier linewatch wrote it
		sn.Episodes[i].Sources, sn.Episodes[i].Affiliations, sn.Episodes[i].Corroborated = 0, nil, false
	}
	var old bytes.Buffer
	if err := gob.NewEncoder(&old).Encode(&sn); err != nil {
		t.Fatal(err)
	}
	var got [2][]string
	for k, state := range [][]byte{data, old.Bytes()} {
		st := NewStream(judge)
		if err := st.UnmarshalBinary(state); err != nil {
			t.Fatal(err)
		}
		// A record far away a day later closes the episode's window.
		for _, a := range offer(st, 1, "obsA", day1+30*3600e6, 31.2) {
			got[k] = append(got[k], fmt.Sprint(a.Status, a.Episode.ID))
		}
	}
	if fmt.Sprint(got[0]) != fmt.Sprint(got[1]) {
		t.Fatalf("alerts after the state with corroboration %v, after one without %v", got[0], got[1])
	}
}

// Each violation and track point keeps the log leaf of its record, set by
// Add and carried through a checkpoint (state version 3), so that an
// alert names its evidence's leaves after a restart as before. A version
// 2 state, written by an engine that kept no log, is read with leaves 0.
func TestStreamCheckpointKeepsLeaves(t *testing.T) {
	line := straightLine(t)
	pol := DefaultPolicy()
	pol.HotScoreMicro = RoundMicro(2)
	judge := NewJudge(line, pol)
	day1 := int64(19844) * 24 * 3600e6
	offer := func(st *Stream, id string, leaf uint64, when int64, lon float64, track string) []Alert {
		s := &Sighting{ID: id, Time: when, Side: "B", Kind: Ground, Strength: 1, Confidence: 1, Track: track,
			Shape: Point, Coords: []orb.Point{at(lon, 1000)}}
		p := judge.Prepare(s, leaf)
		p.Leaf = leaf
		if st.Add(&p) != Accepted {
			t.Fatalf("%s not accepted", id)
		}
		return st.Advance()
	}
	st := NewStream(judge)
	offer(st, "v", 7, day1, 30.5, "")
	offer(st, "t", 9, day1+3600e6, 30.5, "u1") // a track point, pending
	data, err := st.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var sn snapshot
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&sn); err != nil {
		t.Fatal(err)
	}
	if sn.Version != 3 || sn.Cells[0].Violations[0].Leaf != 7 || len(sn.Pending) != 1 || sn.Pending[0].Leaf != 9 {
		t.Fatalf("state version %d, cells %+v, pending %+v", sn.Version, sn.Cells, sn.Pending)
	}
	leaves := func(state []byte) map[string]uint64 {
		st := NewStream(judge)
		if err := st.UnmarshalBinary(state); err != nil {
			t.Fatal(err)
		}
		got := map[string]uint64{}
		// A record a day later closes the windows; the episode's evidence
		// has both records, the track point judged on the way.
		for _, a := range offer(st, "w", 11, day1+30*3600e6, 31.2, "") {
			for _, v := range a.Episode.Evidence {
				got[v.ID] = v.Leaf
			}
		}
		return got
	}
	if got := leaves(data); got["v"] != 7 || got["t"] != 9 {
		t.Fatalf("evidence leaves after a restore: %v, want v 7 and t 9", got)
	}
	sn.Version = 2 // as an engine that kept no log wrote it
	for i := range sn.Cells {
		for j := range sn.Cells[i].Violations {
			sn.Cells[i].Violations[j].Leaf = 0
		}
	}
	for i := range sn.Pending {
		sn.Pending[i].Leaf = 0
	}
	var old bytes.Buffer
	if err := gob.NewEncoder(&old).Encode(&sn); err != nil {
		t.Fatal(err)
	}
	if got := leaves(old.Bytes()); got["v"] != 0 || got["t"] != 0 || got["w"] != 11 {
		t.Fatalf("evidence leaves after a version 2 state: %v", got)
	}
}
