package geo_test

import (
	"fmt"
	"strings"

	"github.com/linewatch/linewatch/geo"
)

// A line given as a bare geometry takes its parties from the options. A
// point north of a line that runs east lies on its left. The segments are
// geodesics, which bow poleward of the parallel by ~30 m here: the point
// 0.01° (1112 m) north of 48°N is 1083 m from the line.
func ExampleLine_Locate() {
	line, err := geo.Load(strings.NewReader(`{"type":"LineString","coordinates":[[30,48],[30.5,48],[31,48]]}`),
		geo.Options{Left: "UA", Right: "RU", SectorKm: 10})
	if err != nil {
		fmt.Println(err)
		return
	}
	loc := line.Locate(30.2, 48.01)
	fmt.Printf("side %s, %.1f m from the line, km %.3f, sector %s\n",
		loc.Side, loc.DistanceM, loc.Km, line.SectorID(loc.Sector))
	fmt.Printf("depth for RU: %.1f m\n", loc.Depth("RU"))
	// Output:
	// side UA, 1082.9 m from the line, km 14.926, sector S001
	// depth for RU: 1082.9 m
}

// Loading rejects a line that crosses itself, naming where: on the
// geodesics, which bow north of the parallel here.
func ExampleLoad_invalid() {
	_, err := geo.Load(strings.NewReader(`{"type":"LineString","coordinates":[[30,48],[31,48],[31,49],[30.5,47.5]]}`),
		geo.Options{Left: "A", Right: "B"})
	fmt.Println(err)
	// Output:
	// stretch 0 segment 0–1 crosses stretch 0 segment 2–3 at 30.663668, 48.000969
}

// Sectors are pieces of sector_km along each stretch; the last one of a
// stretch may be shorter.
func ExampleLine_Sectors() {
	line, _ := geo.Load(strings.NewReader(`{"type":"LineString","coordinates":[[30,48],[30.3,48]]}`),
		geo.Options{Left: "A", Right: "B", SectorKm: 10})
	for _, s := range line.Sectors() {
		fmt.Printf("%s %.3f–%.3f km\n", s.ID, s.KmFrom, s.KmTo)
	}
	// Output:
	// S000 0.000–10.000 km
	// S001 10.000–20.000 km
	// S002 20.000–22.388 km
}
