package batch_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/output"
)

// The README's first command runs on the bundled quarter of sightings;
// detect must find in it exactly what the generator injected (its truth
// file, worked out by the generator from the geometry alone).
func TestBundledSightingsMatchTheirTruth(t *testing.T) {
	var truth struct {
		Expected json.RawMessage `json:"expected"`
		Episodes []struct {
			ID    string `json:"id"`
			Class string `json:"class"`
		} `json:"episodes"`
	}
	data, err := os.ReadFile("../fixtures/sightings/front-2024-q1.truth.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &truth); err != nil {
		t.Fatal(err)
	}
	pol := detect.DefaultPolicy()
	line, _ := loadLine(t, "../fixtures/lines/front-2024.geojson", pol)
	out := runBatch(t, line, pol, 0, []string{"../fixtures/sightings/front-2024-q1.ndjson.gz"})
	k := out.Counts
	sum := output.Summary{Records: feed.Counts{Read: k.Read, Accepted: k.Accepted, Rejected: k.Rejected,
		Duplicate: k.Duplicate, Late: k.Late, Unattributed: k.Unattributed, BeyondEnd: k.BeyondEnd}, Result: &out.Result}
	var got, want map[string]any
	full := sum.AppendJSON(nil)
	if err := json.Unmarshal(full, &got); err != nil {
		t.Fatal(err)
	}
	delete(got, "wall_s")
	delete(got, "records_per_s")
	if err := json.Unmarshal(truth.Expected, &want); err != nil {
		t.Fatal(err)
	}
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Fatalf("summary\n%s\nwant\n%s", g, w)
	}
	if len(out.Result.Episodes) != len(truth.Episodes) {
		t.Fatalf("%d episodes, want %d", len(out.Result.Episodes), len(truth.Episodes))
	}
	found := map[string]string{}
	for _, e := range out.Result.Episodes {
		found[e.ID] = e.Class.String()
	}
	for _, e := range truth.Episodes {
		if found[e.ID] != e.Class {
			t.Errorf("episode %s: class %q, want %q", e.ID, found[e.ID], e.Class)
		}
	}
}
