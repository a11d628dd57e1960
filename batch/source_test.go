package batch_test

// SPEC §2 (revision 4): records duplicate each other only when they share
// their id and their source, so one observer cannot claim — and so
// suppress — another observer's ids.

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
)

// The records of the attack: observer A posts a harmless record under the
// id that observer B is about to use, then B posts a real incursion.
var sourceFeed = []string{
	// A: a B patrol at home, south of the line: no violation.
	`{"type":"Feature","id":"obsB-0001","geometry":{"type":"Point","coordinates":[30.5,47.99]},"properties":{"time":"2024-05-01T09:00:00Z","side":"B","source":"obsA"}}`,
	// B: a B unit 1.1 km north of the line: an incursion.
	`{"type":"Feature","id":"obsB-0001","geometry":{"type":"Point","coordinates":[30.5,48.01]},"properties":{"time":"2024-05-01T10:00:00Z","side":"B","source":"obsB"}}`,
	// The same id without a source is a third sighting (source null).
	`{"type":"Feature","id":"obsB-0001","geometry":{"type":"Point","coordinates":[30.8,48.01]},"properties":{"time":"2024-05-01T10:00:00Z","side":"B"}}`,
	// B again, conflicting: a duplicate of B's own record (the earlier is kept).
	`{"type":"Feature","id":"obsB-0001","geometry":{"type":"Point","coordinates":[30.5,48.02]},"properties":{"time":"2024-05-01T11:00:00Z","side":"B","source":"obsB"}}`,
	// A number source is its JSON text: 7 and "7" are one source.
	`{"type":"Feature","id":"n1","geometry":{"type":"Point","coordinates":[31.1,48.01]},"properties":{"time":"2024-05-01T10:00:00Z","side":"B","source":7}}`,
	`{"type":"Feature","id":"n1","geometry":{"type":"Point","coordinates":[31.1,48.01]},"properties":{"time":"2024-05-01T10:00:00Z","side":"B","source":"7"}}`,
}

type idSource struct{ id, source string }

func violationKeys(vs []*detect.Violation) []idSource {
	var out []idSource
	for _, v := range vs {
		out = append(out, idSource{v.ID, v.Source})
	}
	slices.SortFunc(out, func(a, b idSource) int {
		return strings.Compare(a.id+"\x00"+a.source, b.id+"\x00"+b.source)
	})
	return out
}

func TestIDsAreScopedToTheirSource(t *testing.T) {
	pol := detect.DefaultPolicy()
	line, _ := loadLine(t, straightLine, pol)
	want := []idSource{{"n1", "7"}, {"obsB-0001", ""}, {"obsB-0001", "obsB"}}
	for _, order := range [][]int{{0, 1, 2, 3, 4, 5}, {3, 2, 1, 0, 5, 4}} {
		var text strings.Builder
		var recs []string
		for _, i := range order {
			text.WriteString(sourceFeed[i] + "\n")
			recs = append(recs, sourceFeed[i])
		}
		in := filepath.Join(t.TempDir(), "s.ndjson")
		if err := os.WriteFile(in, []byte(text.String()), 0o644); err != nil {
			t.Fatal(err)
		}

		// Batch: four accepted (A's, B's, the sourceless one, n1), two
		// duplicates (B's conflicting copy, n1 again).
		out := runBatch(t, line, pol, 2, []string{in})
		k := out.Counts
		if k.Read != 6 || k.Accepted != 4 || k.Duplicate != 2 {
			t.Errorf("order %v: batch counts %+v, want 6 read = 4 accepted + 2 duplicate", order, k)
		}
		got := violationKeys(allViolations(&out.Result))
		if !slices.Equal(got, want) {
			t.Errorf("order %v: batch violations %v, want %v", order, got, want)
		}
		for _, v := range allViolations(&out.Result) {
			if v.ID == "obsB-0001" && v.Source == "obsB" && v.Lat != 48.01 {
				t.Errorf("order %v: kept B's record at %v°N, want the earlier one at 48.01°N", order, v.Lat)
			}
		}

		// Stream: the same, record by record.
		judge := detect.NewJudge(line, pol)
		st := detect.NewStream(judge)
		admitted := map[detect.Admission]int{}
		var s detect.Sighting
		for _, r := range recs {
			if err := feed.Decode([]byte(r), &s); err != nil {
				t.Fatal(err)
			}
			p := judge.Prepare(&s, feed.DupKey(s.ID, s.Source))
			admitted[st.Add(&p)]++
			st.Advance()
		}
		st.Finish()
		if admitted[detect.Accepted] != 4 || admitted[detect.Duplicate] != 2 {
			t.Errorf("order %v: stream admitted %v, want 4 accepted and 2 duplicates", order, admitted)
		}
		if st.ByType[detect.Incursion] != 3 {
			t.Errorf("order %v: stream found %d incursions, want 3 (B's, the sourceless one, n1)", order, st.ByType[detect.Incursion])
		}
	}
}

// The duplicate check's key names an id and a source together.
func TestDupKey(t *testing.T) {
	if feed.DupKey("x", "") != feed.Fingerprint([]byte("x")) {
		t.Error("a record without a source is keyed by its id alone")
	}
	keys := map[uint64]idSource{}
	for _, k := range []idSource{{"x", ""}, {"x", "a"}, {"x", "b"}, {"xa", ""}, {"a", "x"}, {"", "x"}} {
		h := feed.DupKey(k.id, k.source)
		if o, ok := keys[h]; ok {
			t.Errorf("%v and %v share a key", o, k)
		}
		keys[h] = k
	}
}
