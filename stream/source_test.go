package stream_test

import (
	"net/http"
	"strings"
	"testing"
)

// SPEC §2: records of different sources never duplicate each other, in a
// request as anywhere; the same id from the same source does.
func TestIngestDuplicatesAreScopedToTheirSource(t *testing.T) {
	f := newIngest(t, nil, 0)
	rec := func(source string, minute int) string {
		return strings.Replace(sighting("obsB-0001", minute), `,"source":"someone"`, source, 1)
	}
	body := strings.Join([]string{
		rec(`,"source":"obsA"`, 1), // A claims B's id first
		rec(`,"source":"obsB"`, 2), // B's own record: not A's duplicate
		rec(``, 3),                 // no source: a third
		rec(`,"source":"obsB"`, 4), // B's id from B again: a duplicate
	}, "\n") + "\n"
	a := f.post(t, seqType, body)
	if a.code != http.StatusAccepted {
		t.Fatalf("status %d: %s", a.code, a.body)
	}
	want := []string{"accepted", "accepted", "accepted", "duplicate"}
	for i, w := range want {
		if g := a.resp.Results[i].Status; g != w {
			t.Errorf("record %d: %s, want %s (%s)", i, g, w, a.body)
		}
	}
	if got := f.stored(t); len(got) != 3 {
		t.Errorf("stored %d records, want 3: %q", len(got), got)
	}
}
