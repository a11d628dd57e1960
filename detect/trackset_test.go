package detect

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

// TestPairSetAsPairTracks: packed in TrackSets (one per worker, merged,
// with duplicates deleted), track points make the very violations
// PairTracks makes of them — whatever the order, the split across sets,
// ties in time and the number of workers pairing.
func TestPairSetAsPairTracks(t *testing.T) {
	line := straightLine(t)
	j := NewJudge(line, DefaultPolicy())
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 300).Draw(t, "n")
		var pts []*TrackPoint
		for i := range n {
			side := rapid.SampledFrom([]string{"A", "B"}).Draw(t, "side")
			// Few tracks and minutes: many ties. Ids are unique, as
			// duplicates have been settled.
			s := sighting(rapid.SampledFrom([]string{"a", "b", "c", "ab", ""}).Draw(t, "id")+fmt.Sprint(i),
				rapid.IntRange(0, 60*10).Draw(t, "minute")/30*30, side, Ground,
				at(30+rapid.Float64Range(0, 1.3).Draw(t, "lon"), rapid.Float64Range(-3000, 3000).Draw(t, "north")))
			s.Track = rapid.SampledFrom([]string{"T1", "T2", "T3"}).Draw(t, "track")
			s.Source = rapid.SampledFrom([]string{"", "s1", "s2"}).Draw(t, "source")
			s.PrecisionM = rapid.SampledFrom([]float64{0, 200}).Draw(t, "precision")
			p := j.Prepare(s, uint64(i))
			if p.Track == nil {
				t.Fatalf("not a track point: %+v", p)
			}
			pts = append(pts, p.Track)
		}
		// Some records are dropped as duplicates.
		drop := map[uint64]bool{}
		for _, k := range rapid.SliceOfDistinct(rapid.Uint64Range(0, uint64(max(n, 1))), func(k uint64) uint64 { return k }).Draw(t, "drop") {
			drop[k] = true
		}
		sets := make([]TrackSet, rapid.IntRange(1, 3).Draw(t, "sets"))
		for _, i := range rapid.Permutation(seq(n)).Draw(t, "order") {
			sets[rapid.IntRange(0, len(sets)-1).Draw(t, "set")].Add(pts[i])
		}
		var ts TrackSet
		for i := range sets {
			ts.Merge(&sets[i])
		}
		keys := map[string]uint64{} // what feed.DupKey is to batch
		for _, p := range pts {
			keys[p.ID+"\x00"+p.Source] = p.key
		}
		ts.DeleteFunc(func(id []byte, source string) bool { return drop[keys[string(id)+"\x00"+source]] })
		kept := slices.DeleteFunc(slices.Clone(pts), func(p *TrackPoint) bool { return drop[p.key] })
		if ts.Len() != len(kept) {
			t.Fatalf("%d points in the set, %d kept", ts.Len(), len(kept))
		}
		want := describe(j.PairTracks(kept))
		got := describe(j.PairSet(&ts, rapid.IntRange(1, 4).Draw(t, "workers")))
		if !slices.Equal(got, want) {
			t.Fatalf("PairSet:\n%s\nPairTracks:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// describe writes violations out in full, sorted.
func describe(vs []*Violation) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = fmt.Sprintf("%+v", *v)
	}
	slices.SortFunc(out, cmp.Compare)
	return out
}

// TestTrackSetLongIDsAndCollisions: ids longer than a chunk of text, and
// tracks whose hashes collide, are kept apart and paired as PairTracks
// pairs them.
func TestTrackSetLongIDsAndCollisions(t *testing.T) {
	j := NewJudge(straightLine(t), DefaultPolicy())
	// Two tracks whose 32-bit hashes collide.
	seen := map[uint32]string{}
	var t1, t2 string
	for i := 0; t1 == ""; i++ {
		name := fmt.Sprint("track-", i)
		h := uint32(trackHash("B", name))
		if other, ok := seen[h]; ok {
			t1, t2 = other, name
		}
		seen[h] = name
	}
	var pts []*TrackPoint
	for i, north := range []float64{-500, 700, 900, -300, 800} {
		for k, track := range []string{t1, t2} {
			id := fmt.Sprint(k, "-", i)
			if i == 2 {
				id += strings.Repeat("x", textChunk+textChunk/2+k) // longer than a chunk
			}
			s := sighting(id, 60*i+k*30, "B", Ground, at(30.5, north*float64(1+k)))
			s.Track = track
			p := j.Prepare(s, uint64(len(pts)))
			pts = append(pts, p.Track)
		}
	}
	var a, b TrackSet
	for i, p := range pts {
		if i%3 == 0 {
			b.Add(p)
		} else {
			a.Add(p)
		}
	}
	a.Merge(&b)
	for c, ch := range a.chunks {
		for i := range ch {
			p := a.point(&ch[i])
			want := pts[slices.IndexFunc(pts, func(q *TrackPoint) bool { return q.ID == p.ID })]
			if p.Track != want.Track || p.Party != want.Party || p.Time != want.Time {
				t.Fatalf("chunk %d point %d unpacks to %s/%s at %d, want %s/%s at %d", c, i, p.Party, p.Track, p.Time, want.Party, want.Track, want.Time)
			}
		}
	}
	want := describe(j.PairTracks(slices.Clone(pts)))
	got := describe(j.PairSet(&a, 2))
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Fatalf("PairSet:\n%s\nPairTracks:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
