package batch_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/linewatch/linewatch/batch"
	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
)

// A batch run over a file of sightings: every record is accounted for,
// and the violations come back judged and classified.
func ExampleRun() {
	dir, _ := os.MkdirTemp("", "linewatch-example")
	defer os.RemoveAll(dir)
	feedFile := filepath.Join(dir, "sightings.ndjson")
	os.WriteFile(feedFile, []byte(
		`{"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[30.5,48.02]},"properties":{"time":"2024-05-01T10:00:00Z","side":"B"}}`+"\n"+
			`{"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[30.5,48.02]},"properties":{"time":"2024-05-01T10:00:00Z","side":"B"}}`+"\n"+
			`{"type":"Feature","id":"b","geometry":{"type":"Point","coordinates":[30.6,47.98]},"properties":{"time":"2024-05-01T11:00:00Z","side":"B"}}`+"\n"+
			`{"type":"Feature","id":"c","geometry":{"type":"Point","coordinates":[30.6,47.98]}}`+"\n"), 0o644)

	pol := detect.DefaultPolicy()
	line, err := geo.LoadFile("../fixtures/lines/straight.geojson", geo.Options{SectorKm: pol.SectorKm})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := batch.Run(batch.Config{
		Judge:  detect.NewJudge(line, pol),
		Reject: func(r batch.Rejected) error { fmt.Printf("line %d: %s\n", r.Record.Line, r.Reason); return nil },
	}, []string{feedFile})
	if err != nil {
		fmt.Println(err)
		return
	}
	k := out.Counts
	fmt.Printf("%d read: %d accepted, %d rejected, %d duplicate\n", k.Read, k.Accepted, k.Rejected, k.Duplicate)
	for _, v := range out.Result.Isolated {
		fmt.Printf("%s %s by %s, %.0f m deep\n", v.ID, v.Type, v.Party, v.DepthM)
	}
	// Output:
	// line 4: time is missing
	// 4 read: 2 accepted, 1 rejected, 1 duplicate
	// a incursion by B, 2224 m deep
}
