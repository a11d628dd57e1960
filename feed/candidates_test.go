//go:build candidates

// The decoders Decode was chosen among, measured on the same records:
//
//	go test -tags candidates -run XXX -bench 'Candidates' -benchmem ./feed/
//
// Each extracts what Decode extracts (type, id, geometry type and
// coordinates, the properties linewatch reads, the raw properties) but
// checks less, so they are a lower bound of what a full decoder built on
// them would cost. The figures are in bench_test.go.

package feed

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	gojson "github.com/goccy/go-json"
	"github.com/linewatch/linewatch/detect"
	"github.com/paulmach/orb"
	"github.com/valyala/fastjson"
)

type candFeature struct {
	Type     string          `json:"type"`
	ID       json.RawMessage `json:"id"`
	Geometry *struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	} `json:"geometry"`
	Properties json.RawMessage `json:"properties"`
}

type candProps struct {
	Time       json.RawMessage `json:"time"`
	Side       *string         `json:"side"`
	Kind       *string         `json:"kind"`
	Track      *string         `json:"track"`
	Strength   *float64        `json:"strength"`
	Confidence *float64        `json:"confidence"`
	PrecisionM *float64        `json:"precision_m"`
	Source     *string         `json:"source"`
}

// candStruct decodes with an Unmarshal of the encoding/json kind.
func candStruct(unmarshal func([]byte, any) error, raw []byte, s *detect.Sighting) error {
	var f candFeature
	if err := unmarshal(raw, &f); err != nil {
		return err
	}
	if f.Type != "Feature" || f.Geometry == nil {
		return errors.New("not a Feature")
	}
	var p candProps
	if err := unmarshal(f.Properties, &p); err != nil {
		return err
	}
	var pos []float64
	if err := unmarshal(f.Geometry.Coordinates, &pos); err != nil || len(pos) < 2 {
		return errors.New("bad coordinates")
	}
	var ts string
	if err := unmarshal(p.Time, &ts); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return err
	}
	*s = detect.Sighting{ID: string(f.ID), Time: t.UnixMicro(), Shape: detect.Point,
		Coords: []orb.Point{{pos[0], pos[1]}}, Props: append([]byte(nil), f.Properties...)}
	if p.Side != nil {
		s.Side = *p.Side
	}
	if p.Track != nil {
		s.Track = *p.Track
	}
	if p.Source != nil {
		s.Source = *p.Source
	}
	if p.Confidence != nil {
		s.Confidence = *p.Confidence
	}
	if p.Strength != nil {
		s.Strength = *p.Strength
	}
	return nil
}

// candFast decodes with a reused fastjson.Parser.
func candFast(p *fastjson.Parser, buf []byte, raw []byte, s *detect.Sighting) ([]byte, error) {
	v, err := p.ParseBytes(raw)
	if err != nil {
		return buf, err
	}
	if string(v.GetStringBytes("type")) != "Feature" {
		return buf, errors.New("not a Feature")
	}
	coords := v.GetArray("geometry", "coordinates")
	if len(coords) < 2 {
		return buf, errors.New("bad coordinates")
	}
	lon, err1 := coords[0].Float64()
	lat, err2 := coords[1].Float64()
	if err1 != nil || err2 != nil {
		return buf, errors.New("bad coordinates")
	}
	props := v.Get("properties")
	t, err := time.Parse(time.RFC3339Nano, string(props.GetStringBytes("time")))
	if err != nil {
		return buf, err
	}
	buf = props.MarshalTo(buf[:0])
	*s = detect.Sighting{ID: string(v.GetStringBytes("id")), Time: t.UnixMicro(), Shape: detect.Point,
		Coords: []orb.Point{{lon, lat}}, Props: append([]byte(nil), buf...),
		Side: string(props.GetStringBytes("side")), Track: string(props.GetStringBytes("track")),
		Source: string(props.GetStringBytes("source")), Confidence: props.GetFloat64("confidence"),
		Strength: props.GetFloat64("strength")}
	return buf, nil
}

func BenchmarkCandidates(b *testing.B) {
	raw := []byte(typical)
	var s detect.Sighting
	b.Run("encoding-json", func(b *testing.B) {
		measure(b, func() {
			if err := candStruct(json.Unmarshal, raw, &s); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("goccy-go-json", func(b *testing.B) {
		measure(b, func() {
			if err := candStruct(gojson.Unmarshal, raw, &s); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("fastjson", func(b *testing.B) {
		var p fastjson.Parser
		var buf []byte
		measure(b, func() {
			var err error
			if buf, err = candFast(&p, buf, raw, &s); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("fastjson-validate", func(b *testing.B) {
		// fastjson does not check UTF-8 nor number ranges: a full decoder
		// on it would validate first.
		var p fastjson.Parser
		var buf []byte
		measure(b, func() {
			if err := fastjson.ValidateBytes(raw); err != nil {
				b.Fatal(err)
			}
			var err error
			if buf, err = candFast(&p, buf, raw, &s); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("hand-written", func(b *testing.B) {
		d := NewDecoder()
		measure(b, func() {
			if err := d.Decode(raw, &s); err != nil {
				b.Fatal(err)
			}
		})
	})
}
