// Package locate is the enrichment step an analyst runs before their own
// analysis (`linewatch locate`, SPEC §8): it copies each sighting Feature,
// unchanged otherwise, with properties that tell where it lies relative to
// the agreed line — lw_side, lw_distance_m, lw_km, lw_sector and
// lw_beyond_end — taken at the Point, the last coordinate of a LineString
// or the first point of a MultiPoint.
//
// A record is annotated exactly when `linewatch detect` would accept it:
// both decode it with feed.Decoder, so a record locate rejects is rejected
// for the same reason in the same words, and one it annotates is one detect
// judges (or counts as a duplicate).
//
//	st, err := locate.Run(line, []string{"sightings.ndjson.gz"}, out, rejects, runtime.GOMAXPROCS(0))
package locate

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/internal/jsontext"
	"github.com/linewatch/linewatch/internal/num"
)

// Annotator adds to sighting Features where they lie relative to the line,
// spliced into the Feature's properties so that everything else of the
// input — key order, number text, other members — is kept byte for byte.
// One Annotator serves one goroutine; the line is shared.
type Annotator struct {
	line    *geo.Line
	dec     *feed.Decoder
	s       detect.Sighting
	sides   map[string][]byte // party → its JSON string
	sectors [][]byte          // sector index → its id as a JSON string
	compact bytes.Buffer
	members []jsontext.Member
}

// lwKeys are the keys locate writes; an input that already has them (the
// output of an earlier run) has them replaced.
var lwKeys = [...]string{"lw_side", "lw_distance_m", "lw_km", "lw_sector", "lw_beyond_end"}

// NewAnnotator returns an Annotator for the line l.
func NewAnnotator(l *geo.Line) *Annotator {
	a := &Annotator{line: l, dec: feed.NewDecoder(), sides: map[string][]byte{}}
	a.dec.Borrow = true // the sighting is read at once, never kept
	for _, p := range l.Parties() {
		a.sides[p] = jsontext.AppendString(nil, p)
	}
	for _, s := range l.Sectors() {
		a.sectors = append(a.sectors, jsontext.AppendString(nil, s.ID))
	}
	return a
}

// Annotate appends the record raw, annotated, and a newline to dst. A
// record that detect would reject is not written: the reason detect gives
// is returned instead.
func (a *Annotator) Annotate(dst, raw []byte) ([]byte, string) {
	if err := a.dec.Decode(raw, &a.s); err != nil {
		var rj *feed.Reject
		if errors.As(err, &rj) {
			return dst, rj.Reason
		}
		return dst, err.Error()
	}
	var lon, lat float64
	switch c := a.s.Coords; a.s.Shape {
	case detect.LineString:
		lon, lat = c[len(c)-1][0], c[len(c)-1][1]
	default: // the Point, or the first point of a MultiPoint
		lon, lat = c[0][0], c[0][1]
	}
	raw = raw[jsontext.SkipSpace(raw, 0) : lastNonSpace(raw, len(raw))+1]
	if bytes.IndexByte(raw, '\n') >= 0 || bytes.IndexByte(raw, '\r') >= 0 {
		// One Feature per line: a record that spans lines (from a
		// pretty-printed FeatureCollection) loses its insignificant white
		// space, nothing else.
		a.compact.Reset()
		if err := json.Compact(&a.compact, raw); err != nil {
			return dst, "invalid JSON: " + err.Error() // the decoder has accepted it: never
		}
		raw = a.compact.Bytes()
	}
	// The properties object, where the time detect requires is: with a
	// repeated key the last one counts, as for the decoder.
	var props jsontext.Member
	jsontext.Members(raw, 0, func(m jsontext.Member) {
		if m.KeyIs(raw, "properties") {
			props = m
		}
	})
	if props.ValB == 0 || raw[props.ValA] != '{' {
		return dst, "properties must be an object" // the decoder has accepted it: never
	}
	loc := a.line.Locate(lon, lat)
	if a.hasLWKey(raw, props) {
		// Replace the keys an earlier run wrote, keep the rest.
		dst = append(dst, raw[:props.ValA]...)
		dst = append(dst, '{')
		for _, m := range a.members {
			if !isLWKey(raw, m) {
				dst = append(dst, raw[m.KeyA:m.ValB]...)
				dst = append(dst, ',')
			}
		}
		dst = a.appendLocation(dst, loc)
		dst = append(dst, '}')
		dst = append(dst, raw[props.ValB:]...)
	} else {
		at := lastNonSpace(raw, props.ValB-1) + 1 // just after the last member, or the brace
		dst = append(dst, raw[:at]...)
		if raw[at-1] != '{' {
			dst = append(dst, ',')
		}
		dst = a.appendLocation(dst, loc)
		dst = append(dst, raw[at:]...)
	}
	return append(dst, '\n'), ""
}

// hasLWKey tells whether the properties object holds one of lwKeys, and
// leaves its members in a.members if so.
func (a *Annotator) hasLWKey(raw []byte, props jsontext.Member) bool {
	obj := raw[props.ValA:props.ValB]
	if !bytes.Contains(obj, []byte(`"lw_`)) && !bytes.Contains(obj, []byte(`\u`)) {
		return false
	}
	a.members = a.members[:0]
	found := false
	jsontext.Members(raw, props.ValA, func(m jsontext.Member) {
		a.members = append(a.members, m)
		found = found || isLWKey(raw, m)
	})
	return found
}

func isLWKey(raw []byte, m jsontext.Member) bool {
	for _, k := range lwKeys {
		if m.KeyIs(raw, k) {
			return true
		}
	}
	return false
}

// appendLocation appends the lw_* members, without braces.
func (a *Annotator) appendLocation(dst []byte, loc geo.Location) []byte {
	dst = append(dst, `"lw_side":`...)
	if loc.DistanceM == 0 {
		dst = append(dst, "null"...) // on the line: on no one's side
	} else if s, ok := a.sides[loc.Side]; ok {
		dst = append(dst, s...)
	} else {
		dst = jsontext.AppendString(dst, loc.Side)
	}
	dst = append(dst, `,"lw_distance_m":`...)
	dst = num.AppendFormat(dst, loc.DistanceM, 3)
	dst = append(dst, `,"lw_km":`...)
	dst = num.AppendFormat(dst, loc.Km, 3)
	dst = append(dst, `,"lw_sector":`...)
	dst = append(dst, a.sectors[loc.Sector]...)
	dst = append(dst, `,"lw_beyond_end":`...)
	dst = strconv.AppendBool(dst, loc.BeyondEnd)
	return dst
}

// lastNonSpace is the index of the last byte before end that is not JSON
// white space.
func lastNonSpace(b []byte, end int) int {
	for end > 0 && jsontext.IsSpace(b[end-1]) {
		end--
	}
	return end - 1
}
