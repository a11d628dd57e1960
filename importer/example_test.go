package importer_test

import (
	"fmt"
	"io"
	"strings"

	"github.com/linewatch/linewatch/importer"
)

// An observation log in a spreadsheet's CSV, with a semicolon, decimal
// commas and local times: each row becomes a sighting, or is named with
// its line and the reason it could not be mapped.
func ExampleImporter_Rows() {
	csv := "when;x;y;unit;who\n" +
		"2024-05-01 06:30;37,55;48,61;3rd company;RU\n" +
		"2024-05-01 07:10;37,57;;3rd company;RU\n"
	im, err := importer.New(importer.Options{
		Dialect:    importer.CSV,
		TimeFormat: "2006-01-02 15:04",
		TZ:         "Europe/Kyiv",
		Columns: map[importer.Field]string{
			importer.Time: "when", importer.Lon: "x", importer.Lat: "y",
			importer.Track: "unit", importer.Side: "who", importer.Kind: "=ground",
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	rows, err := im.Rows("log.csv", strings.NewReader(csv))
	if err != nil {
		fmt.Println(err)
		return
	}
	for {
		row, err := rows.Next()
		if err == io.EOF {
			break
		}
		if row.Record == nil {
			fmt.Printf("line %d rejected: %s\n", row.Line, row.Reason)
			continue
		}
		fmt.Printf("line %d: %s\n", row.Line, row.Record)
	}
	// Output:
	// line 2: {"type":"Feature","geometry":{"type":"Point","coordinates":[37.55,48.61]},"properties":{"time":"2024-05-01T03:30:00Z","side":"RU","kind":"ground","track":"3rd company"}}
	// line 3 rejected: lat (column "y") is empty
}
