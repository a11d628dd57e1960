package stream

import (
	"bytes"
	"encoding/gob"
	"testing"
)

// TestCountsReadOldCheckpoints: a checkpoint written when Counts listed
// its fields itself still restores every count.
func TestCountsReadOldCheckpoints(t *testing.T) {
	type oldCounts struct {
		Read, Accepted, Rejected, Duplicate, Late int64
		Unattributed, BeyondEnd, Future           int64
		Alerts                                    [5]int64
	}
	old := oldCounts{Read: 10, Accepted: 5, Rejected: 2, Duplicate: 1, Late: 2, Unattributed: 1, BeyondEnd: 1, Future: 1,
		Alerts: [5]int64{1, 2, 3, 4, 5}}
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(old); err != nil {
		t.Fatal(err)
	}
	var c Counts
	if err := gob.NewDecoder(&b).Decode(&c); err != nil {
		t.Fatal(err)
	}
	k := c.Counts
	if k.Read != 10 || k.Accepted != 5 || k.Rejected != 2 || k.Duplicate != 1 || k.Late != 2 || k.Unattributed != 1 ||
		k.BeyondEnd != 1 || k.Future != 1 || c.Alerts != old.Alerts {
		t.Errorf("restored %+v from %+v", c, old)
	}
}
