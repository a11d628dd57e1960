package gpkg_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/linewatch/linewatch/gpkg"
	"github.com/paulmach/orb"
)

// Writing a line layer and reading it back as GeoJSON, as linewatch reads
// an agreed line from a GeoPackage.
func ExampleWrite() {
	dir, _ := os.MkdirTemp("", "gpkg-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "front.gpkg")
	err := gpkg.Write(path, time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), gpkg.Layer{
		Name:         "front",
		GeometryType: "LINESTRING",
		Columns:      []gpkg.Column{{Name: "left", Type: gpkg.Text}, {Name: "right", Type: gpkg.Text}, {Name: "buffer_m", Type: gpkg.Real}},
		Features: []gpkg.Feature{
			{Geometry: orb.LineString{{30, 48}, {30.5, 48.1}}, Values: []any{"UA", "RU", 1500.0}},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	layer, err := gpkg.LineLayer(path, "") // the only line layer
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(layer)
	fc, _ := gpkg.FeatureCollection(path, layer)
	fmt.Print(string(fc))
	// Output:
	// front (LINESTRING, 1 features, EPSG:4326)
	// {"type":"FeatureCollection","features":[
	// {"type":"Feature","id":1,"geometry":{"type":"LineString","coordinates":[[30,48],[30.5,48.1]]},"properties":{"left":"UA","right":"RU","buffer_m":1500}}
	// ]}
}
