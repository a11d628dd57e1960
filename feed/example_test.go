package feed_test

import (
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"time"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
)

// Reading a feed: split it into records, decode each, and write the ones
// that are rejected to the rejects file.
func Example() {
	const sightings = `{"type":"FeatureCollection","features":[
 {"type":"Feature","id":"s1","geometry":{"type":"Point","coordinates":[37.6123,47.9532]},
  "properties":{"time":"2024-05-01T10:15:30Z","side":"RU","track":"btg-12","strength":12,"unit":"3rd company"}},
 {"type":"Feature","id":"s2","geometry":{"type":"Point","coordinates":[37.6,47.9]},
  "properties":{"time":"2024-05-01T10:20:00Z","side":"RU","kind":"air"}},
 {"type":"Feature","geometry":{"type":"LineString","coordinates":[[37.5,47.8],[37.7,48.0]]},
  "properties":{"time":1714558800.25,"kind":"fire","confidence":0.8}}
]}`
	src := feed.NewSource("sightings.geojson", strings.NewReader(sightings))
	// Open("sightings.geojson.gz") reads a file the same way.
	rejects := feed.NewRejectWriter(os.Stdout)
	dec := feed.NewDecoder()
	for {
		r, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err) // a read error: the file is unusable
		}
		if r.Err != "" {
			rejects.Write(r, r.Err)
			continue
		}
		var s detect.Sighting
		if err := dec.Decode(r.Raw, &s); err != nil {
			rejects.Write(r, err.Error())
			continue
		}
		fmt.Println(s.ID, time.UnixMicro(s.Time).UTC().Format(time.RFC3339Nano), s.Side, s.Kind, s.Track, s.Strength, s.Coords, string(s.Props[:8]))
	}
	rejects.Flush()
	// Output:
	// s1 2024-05-01T10:15:30Z RU ground btg-12 12 [[37.6123 47.9532]] {"time":
	// h-04f47ce6b8f22210896a 2024-05-01T10:20:00.25Z  fire  1 [[37.5 47.8] [37.7 48]] {"time":
	// {"file":"sightings.geojson","index":1,"reason":"kind must be ground or fire, got \"air\"","record":"{\"type\":\"Feature\",\"id\":\"s2\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[37.6,47.9]},\n  \"properties\":{\"time\":\"2024-05-01T10:20:00Z\",\"side\":\"RU\",\"kind\":\"air\"}}"}
}

func ExampleCanonical() {
	c, err := feed.Canonical([]byte(`{"b": [1.50, 1e30, "\u00e9"], "a": null}`))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(c))
	// Output: {"a":null,"b":[1.5,1e+30,"é"]}
}
