package output_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/output"
	"github.com/paulmach/orb"
)

// Writing a result as CSV, one row per episode.
func ExampleWrite() {
	line, _ := geo.Load(strings.NewReader(`{"type":"LineString","coordinates":[[30,48],[30.5,48],[31,48]]}`),
		geo.Options{Left: "A", Right: "B"})
	pol := detect.DefaultPolicy()
	judge := detect.NewJudge(line, pol)
	var viols []*detect.Violation
	for i, lat := range []float64{48.02, 48.03} {
		s := detect.Sighting{ID: fmt.Sprint("s", i), Time: int64(19844*86400+3600*(10+i)) * 1e6, Side: "B",
			Kind: detect.Ground, Strength: 1, Confidence: 1, Shape: detect.Point, Coords: []orb.Point{{30.2, lat}}}
		if p := judge.Prepare(&s, uint64(i)); p.Violation != nil {
			viols = append(viols, p.Violation)
		}
	}
	res := detect.Aggregate(line, pol, viols)
	if err := output.Write(os.Stdout, line, pol, &res, output.Options{Format: output.CSV}); err != nil {
		fmt.Println(err)
	}
	// Output:
	// id,class,party,start,end,sectors,km_from,km_to,hot_windows,violations,crossings,incursions,fire,buffer,tracks,strength,max_depth_m,score,significant,deliberate,sustained,wkt
	// B-S001-20240501T000000Z,escalation,B,2024-05-01T00:00:00Z,2024-05-02T00:00:00Z,S001,10,20,1,2,0,2,0,0,2,2,3306.667,4,true,false,false,"LINESTRING (30.134003 48.000213, 30.268006 48.000271)"
}
