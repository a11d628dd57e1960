package output

import (
	"io"
	"strconv"

	"github.com/paulmach/orb"

	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/internal/jsontext"
	"github.com/linewatch/linewatch/internal/num"
)

// sectorColours alternate from one sector to the next.
var sectorColours = [2]string{"#d95f02", "#1b9e77"}

// WriteSectors writes the sector layout of l as a GeoJSON
// FeatureCollection (`linewatch sectors`, SPEC §8), one Feature per line,
// keys in a fixed order: one LineString Feature per sector (a
// MultiLineString cut at the antimeridian for a sector across it, as RFC
// 7946 asks), with stroke colours that alternate so that the sectors
// stand apart on a map. It writes a sector at a time: a line of a million
// sectors (sector_km: 0.001) is not held in memory as text.
func WriteSectors(w io.Writer, l *geo.Line) error {
	dst := append([]byte(nil), `{"type":"FeatureCollection","features":[`...)
	for i, s := range l.Sectors() {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, "\n"+`{"type":"Feature","properties":{"id":`...)
		dst = jsontext.AppendString(dst, s.ID)
		dst = append(dst, `,"index":`...)
		dst = strconv.AppendInt(dst, int64(s.Index), 10)
		dst = append(dst, `,"km_from":`...)
		dst = num.AppendFormat(dst, s.KmFrom, 3)
		dst = append(dst, `,"km_to":`...)
		dst = num.AppendFormat(dst, s.KmTo, 3)
		dst = append(dst, `,"length_km":`...)
		dst = num.AppendFormat(dst, s.LengthKm(), 3)
		dst = append(dst, `,"stretch":`...)
		dst = strconv.AppendInt(dst, int64(s.Stretch), 10)
		if s.StretchName != "" {
			dst = append(dst, `,"stretch_name":`...)
			dst = jsontext.AppendString(dst, s.StretchName)
		}
		dst = append(dst, `,"title":`...)
		dst = jsontext.AppendString(dst, s.ID)
		dst = append(dst, `,"stroke":"`...)
		dst = append(dst, sectorColours[s.Index%2]...)
		dst = append(dst, `","stroke-width":3},"geometry":`...)
		dst = appendSectorGeometry(dst, geo.SplitAntimeridian(l.Substring(s.Stretch, s.KmFrom, s.KmTo)))
		dst = append(dst, "}"...)
		if len(dst) >= 1<<16 {
			if _, err := w.Write(dst); err != nil {
				return err
			}
			dst = dst[:0]
		}
	}
	_, err := w.Write(append(dst, "\n]}\n"...))
	return err
}

// appendSectorGeometry appends a piece of the line as a LineString, or,
// cut at the antimeridian, as a MultiLineString (RFC 7946 §3.1.9).
func appendSectorGeometry(dst []byte, parts orb.MultiLineString) []byte {
	if len(parts) == 1 {
		dst = append(dst, `{"type":"LineString","coordinates":`...)
		return append(appendLineString(dst, parts[0]), '}')
	}
	dst = append(dst, `{"type":"MultiLineString","coordinates":[`...)
	for i, ls := range parts {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendLineString(dst, ls)
	}
	return append(dst, "]}"...)
}

// appendLineString appends the coordinates of ls rounded to 6 decimals,
// without the repeated positions that rounding may make (at least two
// positions are kept).
func appendLineString(dst []byte, ls orb.LineString) []byte {
	dst = append(dst, '[')
	var prev, cur []byte
	n := 0
	for i, p := range ls {
		cur = append(cur[:0], '[')
		cur = num.AppendFormat(cur, p[0], 6)
		cur = append(cur, ',')
		cur = num.AppendFormat(cur, p[1], 6)
		cur = append(cur, ']')
		last := i == len(ls)-1
		if n > 0 && string(cur) == string(prev) && !(last && n == 1) {
			continue
		}
		if n > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, cur...)
		prev = append(prev[:0], cur...)
		n++
	}
	return append(dst, ']')
}
