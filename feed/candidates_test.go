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
	b.Run("hand-written", func(b *testing.B) {
		d := NewDecoder()
		measure(b, func() {
			if err := d.Decode(raw, &s); err != nil {
				b.Fatal(err)
			}
		})
	})
}
