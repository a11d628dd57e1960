package batch

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRepeats: repeats picks out exactly the notes of the keys held more
// than once, across chunks, whatever the keys' low bits.
func TestRepeats(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var table []uint32
	for round := range 200 {
		var chunks [][]idNote
		count := map[uint64]int{}
		keys := 1 + r.IntN(3000)
		for range r.IntN(8) {
			ch := make([]idNote, r.IntN(noteChunk+1))
			for i := range ch {
				k := uint64(r.IntN(keys))
				if round%2 == 0 {
					k <<= 40 // keys alike in their low bits: long probes
				}
				ch[i] = idNote{key: k, at: uint64(i)}
				count[k]++
			}
			chunks = append(chunks, ch)
		}
		var got []idNote
		got, table = repeats(chunks, nil, table)
		var want []idNote
		for _, ch := range chunks {
			for _, n := range ch {
				if count[n.key] > 1 {
					want = append(want, n)
				}
			}
		}
		less := func(a, b idNote) int { return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.at, b.at)) }
		slices.SortFunc(got, less)
		slices.SortFunc(want, less)
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: %d notes picked, want %d", round, len(got), len(want))
		}
	}
}
