package feed

import (
	"bytes"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/linewatch/linewatch/detect"
)

// shapeRecords are records of layouts a shape must not read wrongly: an
// object where the learned record had null, a member repeated, values of
// other kinds, white space, nesting, escapes.
var shapeRecords = []string{
	`{"type":"Feature","id":"a","geometry":null,"properties":{"time":"2024-01-01T00:00:00Z","side":"RU"}}`,
	`{"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[30,48]},"properties":{"time":"2024-01-01T00:00:00Z","side":"RU"}}`,
	`{"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[30,48]},"properties":null}`,
	`{"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[30,48]},"properties":"x"}`,
	`{"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[30,48]},"properties":{"time":"2024-01-01T00:00:00Z","side":"RU","side":"UA"}}`,
	`{"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[30,48]},"geometry":{"type":"LineString"},"properties":{"time":"2024-01-01T00:00:00Z"}}`,
	`{"type":"Feature","id":7,"geometry":{"type":"Point","coordinates":[30,48]},"properties":{"time":1700000000,"side":"RU","note":{"a":[1,{"b":null}]}}}`,
	` { "type" : "Feature", "id":"a" ,"geometry":{"type":"Point","coordinates":[ 30 , 48 ]},"properties":{"time":"2024-01-01T00:00:00Z"} } `,
	`{"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[30,48],"properties":{"time":"x"}},"properties":{"time":"2024-01-01T00:00:00Z","id":"b"}}`,
	`{"type":"Feature","id":"a\u0041","geometry":{"type":"Point","coordinates":[30,48]},"properties":{"time":"2024-01-01T00:00:00Z"}}`,
	`{"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[30,48]},"properties":{}}`,
	`{}`,
}

// shapeCorpus is every record of TestParseFastAsParse's corpora, the
// shape records, and mutations of the generated ones.
func shapeCorpus(t *testing.T) (learn, all [][]byte) {
	t.Helper()
	data, err := os.ReadFile("testdata/generated.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	generated := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	for _, r := range shapeRecords {
		learn = append(learn, []byte(r))
	}
	learn = append(learn, generated...)
	all = append(all, learn...)
	for _, tc := range badRecords {
		all = append(all, []byte(tc.in))
	}
	r := rand.New(rand.NewPCG(9, 10))
	for range 100000 {
		all = append(all, mutate(r, learn[r.IntN(len(learn))]))
	}
	return learn, all
}

// TestParseShapeAsParse: once a decoder has learned the layouts of many
// records, what parseShape reads of any record, parse reads alike.
func TestParseShapeAsParse(t *testing.T) {
	learn, all := shapeCorpus(t)
	d := NewDecoder()
	for _, raw := range learn {
		d.raw = raw
		d.parseShaped(raw)
	}
	if len(d.shapes.roots) == 0 {
		t.Fatal("no layout learned")
	}
	read := 0
	for _, raw := range all {
		if sameShapeParse(t, d, raw) {
			read++
		}
	}
	// Every record learned from is read, but the one with a member
	// repeated (not learned from) and those parseFast leaves to parse.
	for _, raw := range learn {
		d.raw = raw
		var fast Decoder
		fast.raw = raw
		if fast.parseFast(raw) && !bytes.Contains(raw, []byte(`"side":"RU","side"`)) &&
			!bytes.Contains(raw, []byte(`"geometry":{"type":"LineString"}`)) && !d.parseShape(raw) {
			t.Errorf("%q: learned from, not read", raw)
		}
	}
	t.Logf("parseShape read %d of %d records, with %d steps", read, len(all), len(d.shapes.steps))
}

// TestDecodeShaped: a decoder that reads a feed through its layouts
// decodes every record as a new decoder does, accepted or rejected.
func TestDecodeShaped(t *testing.T) {
	_, all := shapeCorpus(t)
	d := NewDecoder()
	d.Borrow = true
	for _, raw := range all {
		var got, want detect.Sighting
		gerr := d.Decode(raw, &got)
		fresh := NewDecoder()
		fresh.Borrow = true
		werr := fresh.Decode(raw, &want)
		if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
			t.Fatalf("%q: decoded %v, a new decoder says %v", raw, gerr, werr)
		}
		if gerr == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got  %+v\n want %+v", raw, got, want)
		}
	}
}

// A feed whose every record has a layout of its own stops being learned
// from, and is still read right.
func TestShapesOfManyLayouts(t *testing.T) {
	d := NewDecoder()
	var s detect.Sighting
	for i := range 3 * shapeRound {
		raw := `{"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[30,48]},"properties":{"time":"2024-01-01T00:00:00Z",` +
			`"k` + strings.Repeat("x", i) + `":1,"source":"s"}}`
		if err := d.Decode([]byte(raw), &s); err != nil || s.Source != "s" {
			t.Fatalf("record %d: %v, source %q", i, err, s.Source)
		}
		if len(d.shapes.steps) > maxShapeSteps {
			t.Fatalf("record %d: %d steps", i, len(d.shapes.steps))
		}
	}
	if d.shapes.off == 0 {
		t.Errorf("layouts still tried after %d records that each missed them", 3*shapeRound)
	}
}

// FuzzParseShape: what parseShape reads, with the layouts of the generated
// records and shapeRecords learned, parse reads alike.
func FuzzParseShape(f *testing.F) {
	data, err := os.ReadFile("testdata/generated.ndjson")
	if err != nil {
		f.Fatal(err)
	}
	d := NewDecoder()
	learn := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	for _, r := range shapeRecords {
		learn = append(learn, []byte(r))
	}
	for _, raw := range learn {
		d.raw = raw
		d.parseShaped(raw)
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw []byte) { sameShapeParse(t, d, raw) })
}

// sameShapeParse fails t when d's parseShape reads raw and parse does not,
// or finds other values; it tells whether parseShape read it.
func sameShapeParse(t testing.TB, d *Decoder, raw []byte) bool {
	d.raw = raw
	if !d.parseShape(raw) {
		return false
	}
	var slow Decoder
	slow.raw = raw
	if err := slow.parse(raw); err != nil {
		t.Fatalf("%q: parseShape reads it, parse says %v", raw, err)
	}
	if d.f != slow.f {
		t.Fatalf("%q:\nparseShape %+v\nparse      %+v", raw, d.f, slow.f)
	}
	return true
}
