package gpkg

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/linewatch/linewatch/geo"
)

// LoadLine loads the agreed line from path: from one of its layers when it
// is a GeoPackage (an SQLite file; layer "" is its only line layer),
// else from the GeoJSON file it is (geo.LoadFile; layer must be "").
func LoadLine(path, layer string, opt geo.Options) (*geo.Line, error) {
	isGPKG, _ := IsGeoPackage(path) // an unreadable file: geo.LoadFile says why
	if !isGPKG {
		if strings.EqualFold(filepath.Ext(path), ".gpkg") {
			return nil, fmt.Errorf("line %s: not a GeoPackage (not an SQLite file)", path)
		}
		if layer != "" {
			return nil, fmt.Errorf("line %s: --line-layer %s is for a GeoPackage, and this is not one", path, layer)
		}
		return geo.LoadFile(path, opt)
	}
	info, err := LineLayer(path, layer)
	if err != nil {
		return nil, fmt.Errorf("line %s: %w", path, err)
	}
	fc, err := FeatureCollection(path, info)
	if err != nil {
		return nil, fmt.Errorf("line %s: %w", path, err)
	}
	l, err := geo.Load(bytes.NewReader(fc), opt)
	if err != nil {
		return nil, fmt.Errorf("line %s layer %s: %w", path, info.Name, err)
	}
	return l, nil
}
