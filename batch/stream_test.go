package batch_test

// The stream engine against the batch engine (SPEC §6): for records that
// arrive in any order within allowed_lateness, the closed episodes of the
// stream equal, field for field, the episodes of batch on the same
// records; records later than that are reported late, and the result
// equals batch on the records that were on time.

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/output"
)

// consistentFeed drops the conflicting duplicates of a feed (the stream
// keeps the first of an id and source, batch the earliest: they agree only
// when duplicates are identical) and its rejected records.
func consistentFeed(recs []rec) []rec {
	first := map[string]string{}
	var out []rec
	for _, r := range recs {
		if r.bad != "" {
			continue
		}
		j := r.json()
		if f, ok := first[idKey(r)]; ok && f != j {
			continue
		}
		first[idKey(r)] = j
		out = append(out, r)
	}
	return out
}

// streamRun feeds records to a stream engine in the given order, advancing
// after each, and returns the closed episodes and the late records' ids
// and sources (as idKey writes them).
func streamRun(t fataler, line *geo.Line, pol detect.Policy, recs []rec) (closed []*detect.Episode, late []string, alerts []detect.Alert) {
	return streamRunCut(t, line, pol, recs, -1)
}

// streamRunCut is streamRun with the engine's state encoded and restored
// into a new engine before record cut (none if cut < 0).
func streamRunCut(t fataler, line *geo.Line, pol detect.Policy, recs []rec, cut int) (closed []*detect.Episode, late []string, alerts []detect.Alert) {
	helper(t)
	judge := detect.NewJudge(line, pol)
	st := detect.NewStream(judge)
	var s detect.Sighting
	for i, r := range recs {
		if i == cut {
			data, err := st.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			again, err := st.MarshalBinary()
			if err != nil || !bytes.Equal(data, again) {
				t.Fatalf("the same state encoded twice differs")
			}
			st = detect.NewStream(judge)
			if err := st.UnmarshalBinary(data); err != nil {
				t.Fatal(err)
			}
		}
		if err := feed.Decode([]byte(r.json()), &s); err != nil {
			t.Fatalf("decode %s: %v", r.json(), err)
		}
		p := judge.Prepare(&s, feed.DupKey(s.ID, s.Source))
		if st.Add(&p) == detect.Late {
			late = append(late, s.ID+"\x00"+s.Source)
		}
		alerts = append(alerts, st.Advance()...)
	}
	alerts = append(alerts, st.Finish()...)
	for _, a := range alerts {
		if a.Status == detect.Closed {
			closed = append(closed, a.Episode)
		}
	}
	if st.Open() != 0 {
		t.Fatalf("%d episodes still open after the end of input", st.Open())
	}
	return closed, late, alerts
}

func episodesText(line *geo.Line, pol detect.Policy, eps []*detect.Episode) string {
	var b []byte
	for _, e := range eps {
		b = output.AppendEpisode(b, line, pol, e)
		b = append(b, '\n')
	}
	return string(b)
}

// arrivalOrder orders records by event time plus a random delay of at most
// maxDelay minutes.
func arrivalOrder(t *rapid.T, recs []rec, maxDelay int) []rec {
	type arr struct {
		at int
		r  rec
		i  int
	}
	var as []arr
	for i, r := range recs {
		as = append(as, arr{r.minute + rapid.IntRange(0, maxDelay).Draw(t, fmt.Sprintf("delay%d", i)), r, i})
	}
	slices.SortStableFunc(as, func(a, b arr) int { return a.at - b.at })
	out := make([]rec, len(as))
	for i, a := range as {
		out[i] = a.r
	}
	return out
}

func TestPropertyStreamEqualsBatch(t *testing.T) {
	dir := t.TempDir()
	line := propLine(t, detect.DefaultPolicy())
	rapid.Check(t, func(t *rapid.T) {
		pol := detect.DefaultPolicy()
		pol.HotScoreMicro = detect.RoundMicro(rapid.SampledFrom([]float64{1, 2, 4}).Draw(t, "hot_score"))
		recs := consistentFeed(genFeed(t, 40))
		if len(recs) == 0 {
			return
		}
		out := runBatch(t, line, pol, 2, writeOne(t, dir, recs))
		lateness := int(pol.AllowedLateness.Minutes())
		closed, late, _ := streamRun(t, line, pol, arrivalOrder(t, recs, lateness))
		if len(late) > 0 {
			t.Fatalf("records %v late although they arrived within allowed_lateness", late)
		}
		slices.SortFunc(closed, func(a, b *detect.Episode) int { return strings.Compare(a.ID, b.ID) })
		byID := slices.Clone(out.Result.Episodes)
		slices.SortFunc(byID, func(a, b *detect.Episode) int { return strings.Compare(a.ID, b.ID) })
		got := episodesText(line, pol, closed)
		if w := episodesText(line, pol, byID); got != w {
			t.Fatalf("closed episodes differ from batch:\n%s", lineDiff([]byte(w), []byte(got)))
		}
	})
}

// Records later than allowed_lateness are reported late, and the stream's
// closed episodes equal batch on the records that were on time.
func TestPropertyStreamLateRecords(t *testing.T) {
	dir := t.TempDir()
	line := propLine(t, detect.DefaultPolicy())
	rapid.Check(t, func(t *rapid.T) {
		pol := detect.DefaultPolicy()
		pol.HotScoreMicro = detect.RoundMicro(2)
		recs := consistentFeed(genFeed(t, 40))
		if len(recs) == 0 {
			return
		}
		// Delays up to four times the lateness: some arrive late.
		order := arrivalOrder(t, recs, 4*int(pol.AllowedLateness.Minutes()))
		closed, late, _ := streamRun(t, line, pol, order)
		isLate := map[string]int{}
		for _, id := range late {
			isLate[id]++
		}
		var onTime []rec
		for _, r := range order {
			if isLate[idKey(r)] > 0 {
				isLate[idKey(r)]--
				continue
			}
			onTime = append(onTime, r)
		}
		if len(onTime) == 0 {
			if len(closed) != 0 {
				t.Fatalf("%d episodes from no record on time", len(closed))
			}
			return
		}
		out := runBatch(t, line, pol, 2, writeOne(t, dir, onTime))
		byID := slices.Clone(out.Result.Episodes)
		slices.SortFunc(byID, func(a, b *detect.Episode) int { return strings.Compare(a.ID, b.ID) })
		slices.SortFunc(closed, func(a, b *detect.Episode) int { return strings.Compare(a.ID, b.ID) })
		if got, w := episodesText(line, pol, closed), episodesText(line, pol, byID); got != w {
			t.Fatalf("closed episodes differ from batch on the on-time records:\n%s", lineDiff([]byte(w), []byte(got)))
		}
	})
}

func alertsText(line *geo.Line, pol detect.Policy, alerts []detect.Alert) string {
	var b []byte
	for _, a := range alerts {
		b = fmt.Appendf(b, "%s %v ", a.Status, a.Replaces)
		b = output.AppendEpisode(b, line, pol, a.Episode)
		b = append(b, '\n')
	}
	return string(b)
}

// A stream engine restored from a checkpoint taken anywhere goes on to
// give exactly the alerts of an uninterrupted run.
func TestPropertyStreamCheckpointResumes(t *testing.T) {
	line := propLine(t, detect.DefaultPolicy())
	rapid.Check(t, func(t *rapid.T) {
		pol := detect.DefaultPolicy()
		pol.HotScoreMicro = detect.RoundMicro(rapid.SampledFrom([]float64{1, 2, 4}).Draw(t, "hot_score"))
		recs := consistentFeed(genFeed(t, 40))
		if len(recs) == 0 {
			return
		}
		order := arrivalOrder(t, recs, 2*int(pol.AllowedLateness.Minutes()))
		_, _, want := streamRun(t, line, pol, order)
		cut := rapid.IntRange(0, len(order)).Draw(t, "cut")
		_, _, got := streamRunCut(t, line, pol, order, cut)
		if g, w := alertsText(line, pol, got), alertsText(line, pol, want); g != w {
			t.Fatalf("alerts after a restore at record %d differ:\n%s", cut, lineDiff([]byte(w), []byte(g)))
		}
	})
}
