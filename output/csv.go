package output

import (
	"bufio"
	"strings"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/internal/num"
	"github.com/paulmach/orb"
	"github.com/twpayne/go-geom"
	"github.com/twpayne/go-geom/encoding/wkt"
)

// CSVHeader is the first line of --format csv (SPEC §5).
const CSVHeader = "id,class,party,start,end,sectors,km_from,km_to,hot_windows,violations,crossings,incursions,fire,buffer,tracks,strength,max_depth_m,score,significant,deliberate,sustained,wkt"

// wktEncoder writes WKT with coordinates to 6 decimals, trailing zeros
// dropped, as the GeoJSON's.
var wktEncoder = wkt.NewEncoder(wkt.EncodeOptionWithMaxDecimalDigits(6))

// linesWKT is an episode's geometry as WKT, a LINESTRING or, cut at the
// antimeridian, a MULTILINESTRING, its coordinates rounded as SPEC §9
// rounds them (half away from zero, on the shortest decimal form) before
// the encoder writes them, so that they match the GeoJSON's digit for
// digit.
func linesWKT(parts orb.MultiLineString) (string, error) {
	var flat []float64
	var ends []int
	for _, ls := range parts {
		for _, p := range ls {
			flat = append(flat, num.Round(p[0], 6), num.Round(p[1], 6))
		}
		ends = append(ends, len(flat))
	}
	if len(parts) == 1 {
		return wktEncoder.Encode(geom.NewLineStringFlat(geom.XY, flat))
	}
	return wktEncoder.Encode(geom.NewMultiLineStringFlat(geom.XY, flat, ends))
}

func writeCSV(w *bufio.Writer, line *geo.Line, pol detect.Policy, res *detect.Result) error {
	w.WriteString(CSVHeader + "\n")
	var b []byte
	for _, e := range res.Episodes {
		b = b[:0]
		b = appendCSVField(b, e.ID)
		b = append(b, ',')
		b = append(b, e.Class.String()...)
		b = append(b, ',')
		b = appendCSVField(b, e.Party)
		b = append(b, ',')
		b = num.AppendTime(b, e.Start)
		b = append(b, ',')
		b = num.AppendTime(b, e.End)
		b = append(b, ',')
		ids := make([]string, len(e.Sectors))
		for i, s := range e.Sectors {
			ids[i] = line.SectorID(s)
		}
		b = appendCSVField(b, strings.Join(ids, ";"))
		b = append(b, ',')
		b = num.AppendFormat(b, e.KmFrom, 3)
		b = append(b, ',')
		b = num.AppendFormat(b, e.KmTo, 3)
		for _, n := range []int{e.HotWindows, e.Violations, e.Crossings, e.Incursions, e.Fire, e.Buffer, e.Tracks} {
			b = append(b, ',')
			b = num.AppendFormat(b, float64(n), 0)
		}
		b = append(b, ',')
		b = num.AppendMicro(b, e.Strength)
		b = append(b, ',')
		b = num.AppendFormat(b, e.MaxDepthM, 3)
		b = append(b, ',')
		b = num.AppendMicro(b, e.Score)
		for _, h := range []bool{e.Significant, e.Deliberate, e.Sustained} {
			b = append(b, ',')
			b = appendBool(b, h)
		}
		g, err := linesWKT(EpisodeGeometry(line, e))
		if err != nil {
			return err
		}
		b = append(b, ',')
		b = appendCSVField(b, g)
		b = append(b, '\n')
		w.Write(b)
	}
	return nil
}

// appendCSVField quotes a field when it holds a comma, quote or newline
// (RFC 4180).
func appendCSVField(b []byte, s string) []byte {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return append(b, s...)
	}
	b = append(b, '"')
	b = append(b, strings.ReplaceAll(s, `"`, `""`)...)
	return append(b, '"')
}
