package locate

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/internal/num"
)

const straightLine = "../fixtures/lines/straight.geojson"

func mustLine(t testing.TB, path string) *geo.Line {
	t.Helper()
	l, err := geo.LoadFile(path, geo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// lw is the text locate splices in for the position lon, lat.
func lw(l *geo.Line, lon, lat float64) string {
	loc := l.Locate(lon, lat)
	side := strconv.Quote(loc.Side)
	if loc.DistanceM == 0 {
		side = "null"
	}
	return fmt.Sprintf(`"lw_side":%s,"lw_distance_m":%s,"lw_km":%s,"lw_sector":%q,"lw_beyond_end":%t`,
		side, num.Format(loc.DistanceM, 3), num.Format(loc.Km, 3), l.SectorID(loc.Sector), loc.BeyondEnd)
}

func TestAnnotateSplice(t *testing.T) {
	l := mustLine(t, straightLine)
	a := NewAnnotator(l)
	pt := `"geometry":{"type":"Point","coordinates":[30.55,48.02]}`
	at := lw(l, 30.55, 48.02)
	const tm = `"time":"2024-05-01T00:00:00Z"`
	cases := []struct{ in, want string }{
		// key order and number text kept
		{`{"type":"Feature","properties":{` + tm + `},` + pt + `}`, `{"type":"Feature","properties":{` + tm + `,` + at + `},` + pt + `}`},
		{`{"type":"Feature","properties":{"z":1.50,"a":[1,{"b":"}"}],` + tm + `},` + pt + `,"id":7}`,
			`{"type":"Feature","properties":{"z":1.50,"a":[1,{"b":"}"}],` + tm + `,` + at + `},` + pt + `,"id":7}`},
		{`{ "type" : "Feature" , ` + pt + ` , "properties" : { "k" : "v", ` + tm + ` } }`,
			`{ "type" : "Feature" , ` + pt + ` , "properties" : { "k" : "v", ` + tm + `,` + at + ` } }`},
		// white space around the record goes, as a record is one line
		{" \t" + `{"type":"Feature",` + pt + `,"properties":{` + tm + `}}` + "\r\n ",
			`{"type":"Feature",` + pt + `,"properties":{` + tm + `,` + at + `}}`},
		// an earlier run's keys are replaced, the others kept
		{`{"type":"Feature",` + pt + `,"properties":{"lw_side":"X","k":1,"lw_km":2,` + tm + `}}`,
			`{"type":"Feature",` + pt + `,"properties":{"k":1,` + tm + `,` + at + `}}`},
		// a repeated properties key: the last counts, as in the decoder
		{`{"type":"Feature",` + pt + `,"properties":{"k":1},"properties":{` + tm + `}}`,
			`{"type":"Feature",` + pt + `,"properties":{"k":1},"properties":{` + tm + `,` + at + `}}`},
		// a record over several lines becomes one line
		{"{\"type\": \"Feature\",\n  \"geometry\": {\"type\": \"Point\", \"coordinates\": [30.55, 48.02]},\n  \"properties\": {\"s\": \"a b\", " + tm + "}\n}",
			`{"type":"Feature","geometry":{"type":"Point","coordinates":[30.55,48.02]},"properties":{"s":"a b",` + tm + `,` + at + `}}`},
		// the position: last of a LineString, first of a MultiPoint
		{`{"type":"Feature","geometry":{"type":"LineString","coordinates":[[30.1,47.9],[30.55,48.02,120]]},"properties":{` + tm + `}}`,
			`{"type":"Feature","geometry":{"type":"LineString","coordinates":[[30.1,47.9],[30.55,48.02,120]]},"properties":{` + tm + `,` + at + `}}`},
		{`{"type":"Feature","geometry":{"type":"MultiPoint","coordinates":[[30.55,48.02],[31,47.5]]},"properties":{` + tm + `}}`,
			`{"type":"Feature","geometry":{"type":"MultiPoint","coordinates":[[30.55,48.02],[31,47.5]]},"properties":{` + tm + `,` + at + `}}`},
	}
	for _, c := range cases {
		out, reason := a.Annotate(nil, []byte(c.in))
		if reason != "" {
			t.Errorf("%s: rejected: %s", c.in, reason)
			continue
		}
		if string(out) != c.want+"\n" {
			t.Errorf("%s:\n got %s want %s", c.in, out, c.want)
		}
		if !json.Valid(out) {
			t.Errorf("%s: invalid JSON out: %s", c.in, out)
		}
	}
}

// TestAnnotateRejects: what detect rejects, locate rejects, with detect's
// words (feed.Decoder's).
func TestAnnotateRejects(t *testing.T) {
	a := NewAnnotator(mustLine(t, straightLine))
	const tm = `"properties":{"time":0}`
	cases := []struct{ in, reason string }{
		{`not json`, "invalid JSON"},
		{`{"type":"Feature","geometry":{"type":"Point","coordinates":[NaN,1]},` + tm + `}`, "invalid JSON"},
		{"{\"type\":\"Feature\",\"properties\":{\"a\":\"\xff\",\"time\":0},\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,1]}}", "invalid JSON"},
		{"\u00a0" + `{"type":"Feature",` + tm + `,"geometry":{"type":"Point","coordinates":[1,1]}}`, "invalid JSON"},
		{`{"type":"Feature",` + tm + `,"geometry":{"type":"Point","coordinates":[1,1]},"x":"\ud800"}`, "invalid JSON"},
		{`{"type":"Feature",` + tm + `,"geometry":{"type":"Point","coordinates":[1,1]},"x":1e400}`, "invalid JSON"},
		{strings.Repeat("[", 100000), "invalid JSON"},
		{`[1,2]`, "not a Feature"},
		{`{"type":"FeatureCollection","features":[]}`, "not a Feature"},
		{`{"type":"Feature","properties":[],"geometry":{"type":"Point","coordinates":[1,1]}}`, "properties must be an object or null, got []"},
		{`{"type":"Feature",` + tm + `}`, "geometry is missing"},
		{`{"type":"Feature","geometry":{"type":"Polygon","coordinates":[]},` + tm + `}`, `geometry type must be Point, LineString or MultiPoint, got "Polygon"`},
		{`{"type":"Feature","geometry":{"type":"LineString","coordinates":[[1,2]]},` + tm + `}`, "LineString must have at least 2 positions, got 1"},
		{`{"type":"Feature","geometry":{"type":"Point","coordinates":[1]},` + tm + `}`, "position 1 has 1 numbers, want 2 or 3"},
		{`{"type":"Feature","geometry":{"type":"MultiPoint","coordinates":[[1,2],[191.2,5]]},` + tm + `}`, "coordinate 1 of position 2 is out of range: 191.2"},
		// Without a time, or with a bad one, detect has no use for it.
		{`{"type":"Feature","geometry":{"type":"Point","coordinates":[30.55,48.02]}}`, "time is missing"},
		{`{"type":"Feature","geometry":{"type":"Point","coordinates":[30.55,48.02]},"properties":null}`, "time is missing"},
		{`{"type":"Feature","geometry":{"type":"Point","coordinates":[30.55,48.02]},"properties":{"time":"yesterday"}}`, "time is not an RFC 3339 date-time"},
		{`{"type":"Feature","geometry":{"type":"Point","coordinates":[30.55,48.02]},"properties":{"time":0,"confidence":2}}`, "confidence must be in (0, 1]"},
	}
	for _, c := range cases {
		out, reason := a.Annotate(nil, []byte(c.in))
		if !strings.HasPrefix(reason, c.reason) {
			t.Errorf("%.80s: reason %q, want %q", c.in, reason, c.reason)
		}
		if len(out) != 0 {
			t.Errorf("%.80s: wrote %s", c.in, out)
		}
	}
}

// BenchmarkAnnotate is the per-record work of locate: decode and validate,
// locate, splice. Points lie along the bundled line, exponentially
// distributed across it (mean 3 km).
func BenchmarkAnnotate(b *testing.B) {
	path := "../fixtures/lines/front-2024.geojson"
	if _, err := os.Stat(path); err != nil {
		path = straightLine
	}
	l := mustLine(b, path)
	r := rand.New(rand.NewPCG(1, 2))
	recs := make([][]byte, 4096)
	for i := range recs {
		p, azi := l.PointAt(r.Float64() * l.LengthKm())
		d := math.Min(r.ExpFloat64()*3000, 50000)
		if r.IntN(2) == 0 {
			d = -d
		}
		q := geo.Destination(p, azi+90, d)
		recs[i] = fmt.Appendf(nil, `{"type":"Feature","id":"p%d","geometry":{"type":"Point","coordinates":[%.6f,%.6f]},"properties":{"time":%d,"side":"RU","kind":"ground","track":"t%d"}}`,
			i, q[0], q[1], 1714521600+i*60, i%500)
	}
	a := NewAnnotator(l)
	var dst []byte
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var reason string
		dst, reason = a.Annotate(dst[:0], recs[i%len(recs)])
		if reason != "" {
			b.Fatal(reason)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
