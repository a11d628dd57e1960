package gpkg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"
	"github.com/twpayne/go-geom"
	gwkb "github.com/twpayne/go-geom/encoding/wkb"
)

// SRSID is the spatial reference system of every layer linewatch writes:
// EPSG:4326, WGS 84 longitude and latitude.
const SRSID = 4326

// encodeGeometry makes a GeoPackage geometry blob (GeoPackage 1.2, §2.1.3):
// the "GP" header with the SRS id and, except for a point, the envelope
// [minx, maxx, miny, maxy], followed by the geometry as little-endian
// standard WKB.
func encodeGeometry(g orb.Geometry, srsID int32) ([]byte, error) {
	body, err := wkb.Marshal(g, binary.LittleEndian)
	if err != nil {
		return nil, err
	}
	_, point := g.(orb.Point)
	flags := byte(1) // little-endian header
	size := 8
	if !point {
		flags |= 1 << 1 // envelope [minx, maxx, miny, maxy]
		size += 32
	}
	b := make([]byte, size, size+len(body))
	b[0], b[1], b[2], b[3] = 'G', 'P', 0, flags
	binary.LittleEndian.PutUint32(b[4:], uint32(srsID))
	if !point {
		bd := g.Bound()
		for i, v := range []float64{bd.Min[0], bd.Max[0], bd.Min[1], bd.Max[1]} {
			binary.LittleEndian.PutUint64(b[8+8*i:], math.Float64bits(v))
		}
	}
	return append(b, body...), nil
}

// decodeGeometry reads a GeoPackage geometry blob: its SRS id and the
// geometry (any layout go-geom reads: XY, XYZ, XYM, XYZM).
func decodeGeometry(b []byte) (srsID int32, g geom.T, err error) {
	if len(b) < 8 || b[0] != 'G' || b[1] != 'P' {
		return 0, nil, errors.New("not a GeoPackage geometry blob (no GP header)")
	}
	flags := b[3]
	if flags&(1<<5) != 0 {
		return 0, nil, errors.New("extended GeoPackage geometry (not supported)")
	}
	var order binary.ByteOrder = binary.BigEndian
	if flags&1 != 0 {
		order = binary.LittleEndian
	}
	srsID = int32(order.Uint32(b[4:8]))
	envelope := [...]int{0, 32, 48, 48, 64}
	e := int(flags>>1) & 7
	if e >= len(envelope) {
		return srsID, nil, fmt.Errorf("invalid envelope indicator %d", e)
	}
	start := 8 + envelope[e]
	if len(b) < start {
		return srsID, nil, errors.New("geometry blob cut short")
	}
	g, err = gwkb.Unmarshal(b[start:])
	if err != nil {
		return srsID, nil, fmt.Errorf("WKB: %w", err)
	}
	return srsID, g, nil
}
