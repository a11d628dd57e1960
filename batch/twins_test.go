package batch

import (
	"fmt"
	"testing"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
)

// TestKeeps: of two records of one id and source, keeps prefers the earlier
// time, then the smaller canonical JSON, then the smaller raw text, in
// whichever order the two are given.
func TestKeeps(t *testing.T) {
	const (
		lat1   = `{"type":"Feature","id":"a","properties":{"time":"2024-05-01T10:00:00Z"},"geometry":{"type":"Point","coordinates":[30.5,48.01]}}`
		lat2   = `{"type":"Feature","id":"a","properties":{"time":"2024-05-01T10:00:00Z"},"geometry":{"type":"Point","coordinates":[30.5,48.02]}}`
		spaced = `{"type":"Feature", "id":"a","properties":{"time":"2024-05-01T10:00:00Z"},"geometry":{"type":"Point","coordinates":[30.5,48.01]}}`
		moved  = `{"id":"a","type":"Feature","properties":{"time":"2024-05-01T10:00:00Z"},"geometry":{"type":"Point","coordinates":[30.5,48.01]}}`
	)
	for _, tc := range []struct {
		name   string
		ta, tb int64
		a, b   string
		want   bool // keeps(a, b); keeps(b, a) is its opposite unless a == b
	}{
		{"earlier time, larger text", 1, 2, lat2, lat1, true},
		{"later time, smaller text", 2, 1, lat1, lat2, false},
		{"same time, smaller canonical", 1, 1, lat1, lat2, true},
		{"same time, larger canonical", 1, 1, lat2, lat1, false},
		{"same canonical, white space", 1, 1, spaced, lat1, spaced < lat1},
		{"same canonical, member order", 1, 1, moved, lat1, moved < lat1},
		{"same canonical, both written otherwise", 1, 1, moved, spaced, moved < spaced},
		{"not JSON, by the text", 1, 1, "{x", "{y", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := keeps(tc.ta, []byte(tc.a), tc.tb, []byte(tc.b)); got != tc.want {
				t.Errorf("keeps(a, b) = %v, want %v", got, tc.want)
			}
			if got := keeps(tc.tb, []byte(tc.b), tc.ta, []byte(tc.a)); got == tc.want {
				t.Errorf("keeps(b, a) = %v, want %v", got, !tc.want)
			}
		})
	}
	if !keeps(1, []byte(lat1), 1, []byte(lat1)) {
		t.Error("keeps(a, a) = false: one of two copies must be kept")
	}
	if c1, c2 := canonical([]byte(spaced)), canonical([]byte(moved)); string(c1) != string(c2) {
		t.Errorf("the cases meant to share a canonical form do not:\n%s\n%s", c1, c2)
	}
}

// TestTwins: within a batch, twins marks every record of an id and source
// but the one keeps prefers, whatever their order and however many; it
// leaves rejected records, those outside the range, and records whose
// keys collide with another id or source alone.
func TestTwins(t *testing.T) {
	raw := func(id string, lat int) []byte {
		return fmt.Appendf(nil, `{"type":"Feature","id":%q,"geometry":{"type":"Point","coordinates":[30.5,48.0%d]},"properties":{}}`, id, lat)
	}
	type rec struct {
		id, source string
		key        uint64 // 0: feed.DupKey(id, source)
		time       int64
		lat        int
		rejected   bool
		outside    bool
		wantDup    bool
	}
	for _, tc := range []struct {
		name string
		recs []rec
	}{
		{"three copies, the first kept", []rec{
			{id: "a", time: 5, lat: 1}, {id: "b", time: 1}, {id: "a", time: 5, lat: 1, wantDup: true}, {id: "a", time: 5, lat: 1, wantDup: true}}},
		{"the earliest last", []rec{
			{id: "a", time: 7, lat: 1, wantDup: true}, {id: "a", time: 6, lat: 2, wantDup: true}, {id: "a", time: 5, lat: 3}}},
		{"same time, smaller content in the middle", []rec{
			{id: "a", time: 5, lat: 3, wantDup: true}, {id: "a", time: 5, lat: 1}, {id: "a", time: 5, lat: 2, wantDup: true}}},
		{"other sources are not duplicates", []rec{
			{id: "a", source: "s1", time: 5}, {id: "a", source: "s2", time: 4}, {id: "a", time: 3}, {id: "a", source: "s1", time: 6, wantDup: true}}},
		{"colliding keys are left alone", []rec{
			{id: "a", key: 42, time: 5}, {id: "b", key: 42, time: 4}, {id: "a", key: 42, time: 6, wantDup: true}, {id: "b", key: 42, time: 3}}},
		{"rejected and outside claim nothing", []rec{
			{id: "a", time: 1, rejected: true}, {id: "a", time: 2, outside: true}, {id: "a", time: 9}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var j job
			for i, r := range tc.recs {
				key := r.key
				if key == 0 {
					key = feed.DupKey(r.id, r.source)
				}
				j.Recs = append(j.Recs, feed.Record{Raw: raw(r.id, r.lat), Offset: int64(i)})
				it := item{outside: r.outside, p: detect.Prepared{Key: key, ID: r.id, Source: r.source, Time: r.time}}
				if r.rejected {
					it = item{reason: "bad"}
				}
				j.items = append(j.items, it)
			}
			var table []int32
			for round := range 2 { // the table is reused
				table = twins(&j, table)
				for i, r := range tc.recs {
					if j.items[i].dup != r.wantDup {
						t.Errorf("round %d: record %d (%s at %d) marked duplicate %v, want %v", round, i, r.id, r.time, j.items[i].dup, r.wantDup)
					}
					j.items[i].dup = false
				}
			}
		})
	}
}
