package detect_test

import (
	"bytes"
	"math"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/gen"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/internal/pipeline"
)

// Every record of a varied feed — tracks, fire with and without a side,
// movements, unattributed, low confidence — prepared, written and read
// back is the very Prepared, private keys and all.
func TestPreparedBinaryRoundTrip(t *testing.T) {
	pol := detect.DefaultPolicy()
	line, err := geo.LoadFile("../fixtures/lines/front-2024.geojson", pol.LineOptions())
	if err != nil {
		t.Fatal(err)
	}
	sc := gen.DefaultScenario()
	sc.Days, sc.Records, sc.Seed = 20, 4000, 7
	sc.Tracked, sc.Imprecise, sc.SidelessFire, sc.Unattributed = 0.3, 0.2, 0.2, 0.1
	for _, e := range []struct {
		typ  gen.EventType
		spec string
	}{{gen.Offensive, "RU:S040-S042:2024-01-04:6d"}, {gen.Raid, "UA:S070:2024-01-12"}, {gen.Bombardment, "UA:S012-S013:2024-01-10:4d"}} {
		ev, err := gen.ParseEvent(e.typ, e.spec)
		if err != nil {
			t.Fatal(err)
		}
		sc.Events = append(sc.Events, ev)
	}
	var buf bytes.Buffer
	if _, err := gen.Generate(line, sc, &buf); err != nil {
		t.Fatal(err)
	}
	pr := pipeline.NewPreparer(detect.NewJudge(line, pol))
	src := feed.NewSource("feed", &buf)
	seen := map[string]int{}
	for {
		rec, err := src.Next()
		if err != nil {
			break
		}
		if _, reason := pr.Decode(&rec); reason != "" {
			continue
		}
		p := pr.Prepare()
		data, err := p.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		var got detect.Prepared
		if err := got.UnmarshalBinary(data); err != nil {
			t.Fatalf("%s: %v", rec.Raw, err)
		}
		if !reflect.DeepEqual(got, p) {
			t.Fatalf("%s:\n got %+v\nwant %+v", rec.Raw, got, p)
		}
		switch {
		case p.Violation != nil:
			seen["violation"]++
		case p.Track != nil && p.Track.Detail != nil:
			seen["track point with detail"]++
		case p.Track != nil:
			seen["track point"]++
		default:
			seen["no violation"]++
		}
	}
	for _, k := range []string{"violation", "track point with detail", "track point", "no violation"} {
		if seen[k] == 0 {
			t.Errorf("the feed had no %s: the test covers less than it says (%v)", k, seen)
		}
	}
}

// What the binary form must keep apart, and what it must refuse.
func TestPreparedBinaryEdges(t *testing.T) {
	negZero := math.Copysign(0, -1)
	tests := []struct {
		name string
		p    detect.Prepared
	}{
		{"empty", detect.Prepared{}},
		{"negative zero and extremes", detect.Prepared{Key: math.MaxUint64, Time: math.MinInt64, Outcome: detect.Judged, Party: "A",
			Violation: &detect.Violation{ID: "x", Lon: negZero, Lat: math.SmallestNonzeroFloat64, Km: math.MaxFloat64, Sector: -1, Weight: -5, Props: []byte{}}}},
		{"nil and empty properties differ", detect.Prepared{Outcome: detect.Judged, Party: "B",
			Track: &detect.TrackPoint{Party: "B", Track: "t", Detail: &detect.TrackDetail{Props: nil}}}},
		{"empty properties", detect.Prepared{Outcome: detect.Judged, Party: "B",
			Track: &detect.TrackPoint{Party: "B", Track: "t", Detail: &detect.TrackDetail{Props: []byte{}, CertainM: negZero}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, _ := tt.p.AppendBinary(nil)
			var got detect.Prepared
			if err := got.UnmarshalBinary(data); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.p) {
				t.Fatalf("got %+v, want %+v", got, tt.p)
			}
			if v := got.Violation; v != nil && math.Signbit(v.Lon) != math.Signbit(tt.p.Violation.Lon) {
				t.Fatal("the sign of zero was lost")
			}
			// A field this reader does not know is skipped.
			more := protowire.AppendTag(bytes.Clone(data), 99, protowire.VarintType)
			more = protowire.AppendVarint(more, 12345)
			more = protowire.AppendTag(more, 98, protowire.BytesType)
			more = protowire.AppendBytes(more, []byte("later"))
			var again detect.Prepared
			if err := again.UnmarshalBinary(more); err != nil || !reflect.DeepEqual(again, tt.p) {
				t.Fatalf("with unknown fields: %+v, %v", again, err)
			}
		})
	}
	p := detect.Prepared{ID: "abc", Outcome: detect.Judged, Violation: &detect.Violation{ID: "abc", Props: []byte(`{"a":1}`)}}
	data, _ := p.AppendBinary(nil)
	for n := 1; n < len(data); n++ {
		var got detect.Prepared
		if err := got.UnmarshalBinary(data[:n]); err == nil && reflect.DeepEqual(got, p) {
			t.Fatalf("cut to %d of %d bytes: read as whole", n, len(data))
		}
	}
	var got detect.Prepared
	if err := got.UnmarshalBinary(protowire.AppendVarint(protowire.AppendTag(nil, 6, protowire.VarintType), 9)); err == nil {
		t.Fatal("an outcome out of range was read")
	}
}
