package feed

import (
	"errors"
	"math"
	"strings"
	"testing"
	"unsafe"

	"github.com/linewatch/linewatch/detect"
	"github.com/paulmach/orb"
)

// typical is a record of the size and shape the feed mostly carries.
const typical = `{"type":"Feature","id":"s-000123","geometry":{"type":"Point","coordinates":[37.61234,47.95321]},` +
	`"properties":{"time":"2024-05-01T10:15:30.250Z","side":"RU","kind":"ground","track":"RU-btg-12",` +
	`"confidence":0.8,"strength":12,"source":"drone-7","unit":"3rd company","note":"column moving west"}}`

func TestDecodeAccepts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want detect.Sighting // Props and Fingerprint are not compared
	}{
		{"typical", typical, detect.Sighting{
			ID: "s-000123", Time: 1714558530250000, Side: "RU", Kind: detect.Ground, Track: "RU-btg-12",
			Strength: 12, Confidence: 0.8, Source: "drone-7", Shape: detect.Point,
			Coords: []orb.Point{{37.61234, 47.95321}},
		}},
		{"defaults", `{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":0,"id":7}}`,
			detect.Sighting{ID: "7", Strength: 1, Confidence: 1, Shape: detect.Point, Coords: []orb.Point{{1, 2}}}},
		{"number id is its text", `{"type":"Feature","id":17.50,"geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":0}}`,
			detect.Sighting{ID: "17.50", Strength: 1, Confidence: 1, Shape: detect.Point, Coords: []orb.Point{{1, 2}}}},
		{"Feature id wins over properties.id", `{"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":0,"id":"b"}}`,
			detect.Sighting{ID: "a", Strength: 1, Confidence: 1, Shape: detect.Point, Coords: []orb.Point{{1, 2}}}},
		{"null and empty mean absent", `{"type":"Feature","id":null,"geometry":{"type":"Point","coordinates":[1,2]},` +
			`"properties":{"id":"x","time":0,"side":"","track":"","kind":null,"confidence":null,"strength":null,"precision_m":null,"source":null}}`,
			detect.Sighting{ID: "x", Strength: 1, Confidence: 1, Shape: detect.Point, Coords: []orb.Point{{1, 2}}}},
		{"altitude dropped, members in any order, white space", " {\"properties\" : {\"time\":\"2024-05-01T12:00:00+02:00\", \"kind\":\"fire\",\"precision_m\":25, \"id\":\"q\"},\n" +
			"\"geometry\":{\"coordinates\":[[30,50,120.5],[30.5,50.5,99]],\"type\":\"LineString\"},\"type\":\"Feature\"}\r\n",
			detect.Sighting{ID: "q", Time: 1714557600000000, Kind: detect.Fire, Strength: 1, Confidence: 1, PrecisionM: 25,
				Shape: detect.LineString, Coords: []orb.Point{{30, 50}, {30.5, 50.5}}}},
		{"escapes decoded", `{"type":"Fe\u0061ture","id":"a\"b\u00e9\ud83d\ude00","geometry":{"type":"MultiPoint","coordinates":[[-180,-90],[180,90]]},` +
			`"properties":{"time":"2024-05-01t10:00:00.1234567z","side":"U\u0041","track":"t\/1"}}`,
			detect.Sighting{ID: "a\"bé😀", Time: 1714557600123456, Side: "UA", Track: "t/1", Strength: 1, Confidence: 1,
				Shape: detect.MultiPoint, Coords: []orb.Point{{-180, -90}, {180, 90}}}},
		{"last of repeated keys wins", `{"type":"Feature","id":"a","id":"b","geometry":{"type":"Point","coordinates":[1,2]},` +
			`"properties":{"time":1,"time":2},"geometry":{"type":"Point","coordinates":[3,4]}}`,
			detect.Sighting{ID: "b", Time: 2000000, Strength: 1, Confidence: 1, Shape: detect.Point, Coords: []orb.Point{{3, 4}}}},
		{"epoch time by its decimal text", `{"type":"Feature","id":1,"geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":1714521600.1}}`,
			detect.Sighting{ID: "1", Time: 1714521600100000, Strength: 1, Confidence: 1, Shape: detect.Point, Coords: []orb.Point{{1, 2}}}},
		{"epoch time truncated, exponent", `{"type":"Feature","id":1,"geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":1.7145216000000019e9}}`,
			detect.Sighting{ID: "1", Time: 1714521600000001, Strength: 1, Confidence: 1, Shape: detect.Point, Coords: []orb.Point{{1, 2}}}},
		{"negative epoch truncates to the past", `{"type":"Feature","id":1,"geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":-0.0000015}}`,
			detect.Sighting{ID: "1", Time: -2, Strength: 1, Confidence: 1, Shape: detect.Point, Coords: []orb.Point{{1, 2}}}},
		{"number side and track are their text", `{"type":"Feature","id":1,"geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":0,"side":7,"track":12,"source":3}}`,
			detect.Sighting{ID: "1", Side: "7", Track: "12", Source: "3", Strength: 1, Confidence: 1, Shape: detect.Point, Coords: []orb.Point{{1, 2}}}},
		{"edges of ranges", `{"type":"Feature","id":1,"geometry":{"type":"Point","coordinates":[-0,90]},"properties":{"time":"1000-01-01T00:00:00Z","confidence":1,"strength":0,"precision_m":-0}}`,
			detect.Sighting{ID: "1", Time: detect.MinTime, Strength: 0, Confidence: 1, Shape: detect.Point, Coords: []orb.Point{{0, 90}}}},
		{"the last time", `{"type":"Feature","id":1,"geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":"9000-01-01T00:59:59.9999999+01:00"}}`,
			detect.Sighting{ID: "1", Time: detect.MaxTime, Strength: 1, Confidence: 1, Shape: detect.Point, Coords: []orb.Point{{1, 2}}}},
		{"the first epoch time", `{"type":"Feature","id":1,"geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":-30610224000}}`,
			detect.Sighting{ID: "1", Time: detect.MinTime, Strength: 1, Confidence: 1, Shape: detect.Point, Coords: []orb.Point{{1, 2}}}},
		{"the last epoch time", `{"type":"Feature","id":1,"geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":221845391999.9999999}}`,
			detect.Sighting{ID: "1", Time: detect.MaxTime, Strength: 1, Confidence: 1, Shape: detect.Point, Coords: []orb.Point{{1, 2}}}},
		{"a leap second reads as the next second", `{"type":"Feature","id":1,"geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":"2016-12-31T23:59:60.5Z"}}`,
			detect.Sighting{ID: "1", Time: 1483228800500000, Strength: 1, Confidence: 1, Shape: detect.Point, Coords: []orb.Point{{1, 2}}}},
		{"tiny numbers are zero", `{"type":"Feature","id":1,"geometry":{"type":"Point","coordinates":[1e-400,2]},"properties":{"time":0}}`,
			detect.Sighting{ID: "1", Strength: 1, Confidence: 1, Shape: detect.Point, Coords: []orb.Point{{0, 2}}}},
	}
	d := NewDecoder()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s detect.Sighting
			if err := d.Decode([]byte(tc.in), &s); err != nil {
				t.Fatalf("rejected: %v", err)
			}
			s.Props, s.Fingerprint = nil, 0
			if !equalSighting(s, tc.want) {
				t.Errorf("got  %+v\nwant %+v", s, tc.want)
			}
		})
	}
}

func equalSighting(a, b detect.Sighting) bool {
	if len(a.Coords) != len(b.Coords) {
		return false
	}
	for i := range a.Coords {
		if a.Coords[i] != b.Coords[i] || math.Signbit(a.Coords[i][0]) != math.Signbit(b.Coords[i][0]) {
			return false
		}
	}
	a.Coords, b.Coords = nil, nil
	return a.ID == b.ID && a.Time == b.Time && a.Side == b.Side && a.Kind == b.Kind && a.Track == b.Track &&
		a.Strength == b.Strength && a.Confidence == b.Confidence && a.PrecisionM == b.PrecisionM &&
		a.Source == b.Source && a.Shape == b.Shape
}

func TestDecodeProps(t *testing.T) {
	raw := []byte(typical)
	var s detect.Sighting
	if err := Decode(raw, &s); err != nil {
		t.Fatal(err)
	}
	want := typical[strings.Index(typical, `{"time"`) : len(typical)-1]
	if string(s.Props) != want {
		t.Errorf("Props = %s, want %s", s.Props, want)
	}
	for i := range raw {
		raw[i] = 'x' // the sighting must not share the record's bytes
	}
	if string(s.Props) != want || s.ID != "s-000123" || s.Side != "RU" {
		t.Errorf("the sighting changed with the record: %+v", s)
	}
	if s.Fingerprint != Fingerprint([]byte(typical)) {
		t.Errorf("Fingerprint is not the hash of the record")
	}

	var n detect.Sighting
	if err := Decode([]byte(`{"type":"Feature","id":1,"geometry":{"type":"Point","coordinates":[1,2]},"properties":null}`), &n); err == nil || n.Props != nil {
		t.Errorf("properties null: err %v, Props %q", err, n.Props)
	}
}

func TestHashID(t *testing.T) {
	// The same sighting written with other key order, white space, escapes
	// and time notation has the same id; any other field changes it.
	same := []string{
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[30.5,50.25]},"properties":{"time":"2024-05-01T00:00:00.5Z","side":"RU","track":"t1","source":"obs"}}`,
		`{"properties":{"source":"obs","track":"t1","side":"RU","time":1714521600.5,"kind":"ground","confidence":0.7,"note":"x"},"geometry":{"coordinates":[30.5,50.25],"type":"Point"},"type":"Feature"}`,
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[30.50,5.025e1]},"properties":{"time":"2024-05-01T02:00:00.500000+02:00","side":"R\u0055","track":"t1","source":"obs","id":null}}`,
	}
	differ := []string{
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[30.5,50.25]},"properties":{"time":"2024-05-01T00:00:00.5Z","side":"RU","track":"t1","source":"obs","kind":"fire"}}`,
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[30.5,50.25]},"properties":{"time":"2024-05-01T00:00:00.5Z","side":"RU","track":"t2","source":"obs"}}`,
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[30.5,50.25]},"properties":{"time":"2024-05-01T00:00:00.5Z","side":"RU","track":"t1"}}`,
		`{"type":"Feature","geometry":{"type":"Point","coordinates":[30.5,50.25,0]},"properties":{"time":"2024-05-01T00:00:00.5Z","side":"RU","track":"t1","source":"obs"}}`,
	}
	id := func(in string) string {
		var s detect.Sighting
		if err := Decode([]byte(in), &s); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		return s.ID
	}
	first := id(same[0])
	// SHA-1 of [1714521600.5,{"coordinates":[30.5,50.25],"type":"Point"},"RU","t1","ground","obs"]
	if first != "h-8b93e927ecddf8cfd5c2" {
		t.Fatalf("hash id %q, want h-8b93e927ecddf8cfd5c2", first)
	}
	for _, in := range same[1:] {
		if got := id(in); got != first {
			t.Errorf("id %s, want %s for %s", got, first, in)
		}
	}
	for _, in := range differ {
		if got := id(in); got == first {
			t.Errorf("id %s is the same for %s", got, in)
		}
	}
}

func TestDecodeRejectIsReject(t *testing.T) {
	var s detect.Sighting
	err := Decode([]byte(`[]`), &s)
	var r *Reject
	if !errors.As(err, &r) || r.Reason != "not a Feature" {
		t.Fatalf("got %v", err)
	}
}

// SPEC §9: in a hash id, a numeric track is its JSON text as a string, so
// 7 and "7" are one track; 7.0 is another text, another track. Side and
// source likewise.
func TestHashIDNumericTrack(t *testing.T) {
	rec := func(track, side, source string) string {
		return `{"type":"Feature","geometry":{"type":"Point","coordinates":[30.5,50.25]},"properties":{"time":0,"track":` +
			track + `,"side":` + side + `,"source":` + source + `}}`
	}
	id := func(in string) string {
		var s detect.Sighting
		if err := Decode([]byte(in), &s); err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		return s.ID
	}
	a, b := id(rec(`7`, `1`, `2`)), id(rec(`"7"`, `"1"`, `"2"`))
	if a != b {
		t.Errorf("track 7 and \"7\" give the hash ids %s and %s", a, b)
	}
	// SHA-1 of [0,{"coordinates":[30.5,50.25],"type":"Point"},"1","7","ground","2"]
	if a != "h-18a79dac39aea1cb1044" {
		t.Errorf("hash id %s, want h-18a79dac39aea1cb1044", a)
	}
	if c := id(rec(`7.0`, `1`, `2`)); c == a {
		t.Errorf("track 7.0 has the hash id of track 7")
	}
}

func TestHashedID(t *testing.T) {
	const geom = `"geometry":{"type":"Point","coordinates":[37.5,47.9]}`
	d := NewDecoder()
	var s detect.Sighting
	for _, tc := range []struct {
		rec    string
		hashed bool
	}{
		{`{"type":"Feature","id":"a",` + geom + `,"properties":{"time":"2024-01-01T00:00:00Z"}}`, false},
		{`{"type":"Feature",` + geom + `,"properties":{"time":"2024-01-01T00:00:00Z"}}`, true},
		{`{"type":"Feature",` + geom + `,"properties":{"id":7,"time":"2024-01-01T00:00:00Z"}}`, false},
		{`{"type":"Feature","id":"",` + geom + `,"properties":{"time":"2024-01-01T00:00:00Z"}}`, true},
		{`{"type":"Feature","id":"b",` + geom + `,"properties":{"time":"2024-01-01T00:00:00Z"}}`, false},
	} {
		if err := d.Decode([]byte(tc.rec), &s); err != nil {
			t.Fatalf("%s: %v", tc.rec, err)
		}
		if d.HashedID() != tc.hashed || strings.HasPrefix(s.ID, "h-") != tc.hashed {
			t.Errorf("%s: id %q, HashedID %v, want %v", tc.rec, s.ID, d.HashedID(), tc.hashed)
		}
	}
}

// Sides and sources are shared strings, whatever the order in which they
// come: texts that share a length and their last bytes, and so a place in
// the decoder's cache, are told apart.
func TestDecodeInternedStrings(t *testing.T) {
	d := NewDecoder()
	sources := []string{"obs-07", "abc-07", "obs-07", "xyz-17", "obs-17", "abc-07", "7", "07"}
	sides := []string{"UA", "RU", "UA", "AU", "RU"}
	seen := map[string]string{}
	for round := range 3 {
		for i, src := range sources {
			side := sides[(i+round)%len(sides)]
			raw := `{"type":"Feature","id":"r","geometry":{"type":"Point","coordinates":[30,48]},` +
				`"properties":{"time":"2024-01-01T00:00:00Z","side":"` + side + `","kind":"ground","source":"` + src + `"}}`
			var s detect.Sighting
			if err := d.Decode([]byte(raw), &s); err != nil {
				t.Fatal(err)
			}
			if s.Source != src || s.Side != side {
				t.Fatalf("round %d, record %d: side %q source %q, want %q %q", round, i, s.Side, s.Source, side, src)
			}
			if round > 0 && unsafe.StringData(s.Source) != unsafe.StringData(seen[src]) {
				t.Errorf("source %q made anew in round %d", src, round)
			}
			seen[src] = s.Source
		}
	}
}
