package feed

import (
	"strings"
	"testing"

	"github.com/linewatch/linewatch/detect"
)

// badRecords holds one record for each reason SPEC §2 rejects a record for,
// with the reason Decode gives. It is also the seed of FuzzDecode.
var badRecords = []struct{ in, reason string }{
	// not valid JSON
	{``, `invalid JSON: unexpected end of input in value`},
	{`{"type":"Feature"`, `invalid JSON: unexpected end of input in object`},
	{`{"type":"Feature",}`, `invalid JSON: unexpected character '}' in object (want a key) at offset 18`},
	{`{"type":"Feature"} x`, `invalid JSON: unexpected character 'x' in text after the JSON value at offset 19`},
	{`{"a":NaN}`, `invalid JSON: NaN and Infinity are not JSON numbers at offset 5`},
	{`{"a":-Infinity}`, `invalid JSON: NaN and Infinity are not JSON numbers at offset 5`},
	{`{"a":1e400}`, `invalid JSON: number too large for a double: 1e400 at offset 5`},
	{`{"a":-` + strings.Repeat("9", 310) + `}`, `invalid JSON: number too large for a double: -` + strings.Repeat("9", 63) + `… at offset 5`},
	{`{"a":01}`, `invalid JSON: unexpected character '1' in object (want ',' or '}') at offset 6`},
	{`{"a":1.}`, `invalid JSON: unexpected character '}' in number (want a digit after '.') at offset 7`},
	{`{"a":"x` + "\xff" + `"}`, `invalid JSON: invalid UTF-8 in string at offset 7`},
	{`{"a":"\ud800"}`, `invalid JSON: lone surrogate \ud800 in string at offset 6`},
	{`{"a":"\x"}`, `invalid JSON: invalid escape in string at offset 6`},
	{"{\"a\":\"\t\"}", `invalid JSON: control character in string at offset 6`},
	{"\ufeff{}", `invalid JSON: unexpected byte 0xef in value at offset 0`},
	{`{'a':1}`, `invalid JSON: unexpected character '\'' in object (want a key) at offset 1`},
	{strings.Repeat("[", 300), `invalid JSON: nesting too deep at offset 256`},
	// not a Feature
	{`[]`, `not a Feature`},
	{`"Feature"`, `not a Feature`},
	{`{"geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":0}}`, `not a Feature`},
	{`{"type":"feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":0}}`, `not a Feature`},
	{`{"type":"FeatureCollection","features":[]}`, `not a Feature`},
	{`{"type":"Feature","properties":[],"geometry":{"type":"Point","coordinates":[1,2]}}`, `properties must be an object or null, got []`},
	{`{"type":"Feature","id":true,"geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":0}}`, `id must be a string or a number, got true`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":0,"id":["a"]}}`, `properties.id must be a string or a number, got ["a"]`},
	// geometry
	{`{"type":"Feature","properties":{"time":0}}`, `geometry is missing`},
	{`{"type":"Feature","geometry":null,"properties":{"time":0}}`, `geometry is missing`},
	{`{"type":"Feature","geometry":"POINT(1 2)","properties":{"time":0}}`, `geometry must be an object, got "POINT(1 2)"`},
	{`{"type":"Feature","geometry":{"coordinates":[1,2]},"properties":{"time":0}}`, `geometry type is missing`},
	{`{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[1,2],[3,4],[1,5],[1,2]]]},"properties":{"time":0}}`, `geometry type must be Point, LineString or MultiPoint, got "Polygon"`},
	{`{"type":"Feature","geometry":{"type":"GeometryCollection","geometries":[]},"properties":{"time":0}}`, `geometry type must be Point, LineString or MultiPoint, got "GeometryCollection"`},
	{`{"type":"Feature","geometry":{"type":"Point"},"properties":{"time":0}}`, `geometry coordinates are missing`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":"1,2"},"properties":{"time":0}}`, `Point coordinates must be a position (an array of numbers), got "1,2"`},
	{`{"type":"Feature","geometry":{"type":"LineString","coordinates":[1,2]},"properties":{"time":0}}`, `LineString coordinates must be an array of positions, got [1,2]`},
	{`{"type":"Feature","geometry":{"type":"LineString","coordinates":[[1,2]]},"properties":{"time":0}}`, `LineString must have at least 2 positions, got 1`},
	{`{"type":"Feature","geometry":{"type":"LineString","coordinates":[[1,2000]]},"properties":{"time":0}}`, `LineString must have at least 2 positions, got 1`},
	{`{"type":"Feature","geometry":{"type":"MultiPoint","coordinates":[]},"properties":{"time":0}}`, `MultiPoint must have at least 1 position, got 0`},
	// coordinates
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1]},"properties":{"time":0}}`, `position 1 has 1 numbers, want 2 or 3`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2,3,4]},"properties":{"time":0}}`, `position 1 has 4 numbers, want 2 or 3`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,"2"]},"properties":{"time":0}}`, `coordinate 2 of position 1 is not a number: "2"`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2,null]},"properties":{"time":0}}`, `coordinate 3 of position 1 is not a number: null`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[[1,2]]},"properties":{"time":0}}`, `coordinate 1 of position 1 is not a number: [1,2]`},
	{`{"type":"Feature","geometry":{"type":"MultiPoint","coordinates":[[1,2],[3,4],[191.2,5]]},"properties":{"time":0}}`, `coordinate 1 of position 3 is out of range: 191.2`},
	{`{"type":"Feature","geometry":{"type":"LineString","coordinates":[[1,2],[3,-90.5]]},"properties":{"time":0}}`, `coordinate 2 of position 2 is out of range: -90.5`},
	{`{"type":"Feature","geometry":{"type":"LineString","coordinates":[[1,2],[3,4,5,6]]},"properties":{"time":0}}`, `position 2 has 4 numbers, want 2 or 3`},
	// time
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{}}`, `time is missing`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]}}`, `time is missing`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":null}`, `time is missing`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":null}}`, `time is null`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":true}}`, `time must be an RFC 3339 date-time or a number of epoch seconds, got true`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":"2024-05-01T10:00:00"}}`, `time has no zone: 2024-05-01T10:00:00`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":"2024-05-01T10:00:00.25"}}`, `time has no zone: 2024-05-01T10:00:00.25`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":"2024-05-01 10:00:00Z"}}`, `time is not an RFC 3339 date-time: "2024-05-01 10:00:00Z"`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":"2024-05-01"}}`, `time is not an RFC 3339 date-time: "2024-05-01"`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":"2023-02-29T10:00:00Z"}}`, `time is not an RFC 3339 date-time: "2023-02-29T10:00:00Z"`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":"2024-05-01T10:00:00+0200"}}`, `time is not an RFC 3339 date-time: "2024-05-01T10:00:00+0200"`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":"yesterday"}}`, `time is not an RFC 3339 date-time: "yesterday"`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":1e20}}`, `time out of range: 1e20`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":"0000-01-01T00:00:00+00:01"}}`, `time out of range: "0000-01-01T00:00:00+00:01"`},
	// SPEC §2: years 1000 to 8999, so that every window, episode and id
	// time stays a four-digit year.
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":"9999-12-31T12:00:00Z"}}`, `time out of range: "9999-12-31T12:00:00Z"`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":"9000-01-01T00:00:00Z"}}`, `time out of range: "9000-01-01T00:00:00Z"`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":"8999-12-31T23:59:60Z"}}`, `time out of range: "8999-12-31T23:59:60Z"`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":"8999-12-31T23:30:00-01:00"}}`, `time out of range: "8999-12-31T23:30:00-01:00"`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":"0999-12-31T23:59:59.999999Z"}}`, `time out of range: "0999-12-31T23:59:59.999999Z"`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":"1000-01-01T00:30:00+01:00"}}`, `time out of range: "1000-01-01T00:30:00+01:00"`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":221845392000}}`, `time out of range: 221845392000`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":-30610224000.000001}}`, `time out of range: -30610224000.000001`},
	// kind
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":0,"kind":"air"}}`, `kind must be ground or fire, got "air"`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":0,"kind":"Fire"}}`, `kind must be ground or fire, got "Fire"`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":0,"kind":1}}`, `kind must be ground or fire, got 1`},
	// confidence
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":0,"confidence":1.5}}`, `confidence must be in (0, 1], got 1.5`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":0,"confidence":0}}`, `confidence must be in (0, 1], got 0`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":0,"confidence":"high"}}`, `confidence must be a number, got "high"`},
	// strength
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":0,"strength":-1}}`, `strength must not be negative, got -1`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":0,"strength":"12"}}`, `strength must be a number, got "12"`},
	// precision_m
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":0,"precision_m":-0.5}}`, `precision_m must not be negative, got -0.5`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":0,"precision_m":[10]}}`, `precision_m must be a number, got [10]`},
	// side, track, source
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":0,"side":{"code":"RU"}}}`, `side must be a string, got {"code":"RU"}`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":0,"track":false}}`, `track must be a string, got false`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":0,"source":["a"]}}`, `source must be a string, got ["a"]`},
	// order: the first fault in SPEC §9's order is the reason
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[200,2]},"properties":{"kind":"air","confidence":2}}`, `coordinate 1 of position 1 is out of range: 200`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[2,2]},"properties":{"kind":"air","confidence":2}}`, `time is missing`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[2,2]},"properties":{"time":0,"precision_m":-1,"confidence":2,"kind":"air"}}`, `kind must be ground or fire, got "air"`},
	{`{"type":"Feature","geometry":{"type":"Point","coordinates":[2,2]},"properties":{"time":0,"precision_m":-1,"confidence":2,"strength":-1}}`, `confidence must be in (0, 1], got 2`},
}

func TestDecodeRejects(t *testing.T) {
	d := NewDecoder()
	for _, tc := range badRecords {
		var s detect.Sighting
		err := d.Decode([]byte(tc.in), &s)
		if err == nil {
			t.Errorf("%s: accepted", clip([]byte(tc.in)))
			continue
		}
		if err.Error() != tc.reason {
			t.Errorf("%s:\n got  %s\n want %s", clip([]byte(tc.in)), err, tc.reason)
		}
	}
}
