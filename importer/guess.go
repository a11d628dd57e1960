package importer

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/twpayne/go-geom"
	"github.com/twpayne/go-geom/encoding/wkt"
)

// coordNames are the column names of positions that QGIS and GDAL
// recognise, as pairs of longitude and latitude, in the order tried;
// then the names of a column of WKT Points. Names match ignoring case.
var (
	coordNames = [][2]string{{"longitude", "latitude"}, {"lon", "lat"}, {"lng", "lat"}, {"long", "lat"}, {"x", "y"}}
	wktNames   = []string{"wkt", "geometry", "geom_wkt", "the_geom"}
)

// timeNames are the names of a time column, in the order tried, ignoring
// case, for a file whose options name none.
var timeNames = []string{"time", "datetime", "date_time", "timestamp", "event_date", "date"}

// headerList is a header's column names for a message, cut to 300 bytes.
func headerList(header []string) string {
	cols := strings.Join(header, ", ")
	if len(cols) > 300 {
		cols = cols[:300] + "…"
	}
	return cols
}

// guessTime finds the time column of a header the options did not name.
func guessTime(header []string) (int, error) {
	for _, name := range timeNames {
		i, err := findColumn(header, name)
		if i >= 0 {
			return i, nil
		}
		if i == -2 {
			return -1, fmt.Errorf("--time: %v", err)
		}
	}
	cols := headerList(header)
	return -1, fmt.Errorf("--time: no time column in the header (%s, ignoring case; columns: %s): give --time", strings.Join(timeNames, ", "), cols)
}

// guessed is where a CSV file's positions come from.
type guessed struct {
	lon, lat, wkt int    // column indexes; wkt -1 unless a WKT column
	says          string // what was guessed, for the user
}

// guessCoords finds the position columns of a header the options did not
// name them for: the dialect's own (lonName, latName) when the header has
// both; else the first pair of coordNames it has; else a WKT column.
func guessCoords(header []string, lonName, latName string) (guessed, error) {
	if lonName != "" && latName != "" {
		lon, err1 := findColumn(header, lonName)
		lat, err2 := findColumn(header, latName)
		if err1 == nil && err2 == nil {
			return guessed{lon: lon, lat: lat, wkt: -1}, nil
		}
	}
	find := func(name string) (int, error) {
		found := -1
		for i, h := range header {
			if strings.EqualFold(strings.TrimSpace(h), name) {
				if found >= 0 {
					return -2, fmt.Errorf("cannot tell the position columns: %q and %q both name %s (give --lon and --lat)", header[found], h, name)
				}
				found = i
			}
		}
		return found, nil
	}
	for _, pair := range coordNames {
		lon, err := find(pair[0])
		if err != nil {
			return guessed{}, err
		}
		lat, err := find(pair[1])
		if err != nil {
			return guessed{}, err
		}
		if lon >= 0 && lat >= 0 {
			return guessed{lon: lon, lat: lat, wkt: -1,
				says: fmt.Sprintf("positions from columns %s and %s (guessed; --lon and --lat choose others)", strconv.Quote(header[lon]), strconv.Quote(header[lat]))}, nil
		}
	}
	for _, name := range wktNames {
		i, err := find(name)
		if err != nil {
			return guessed{}, err
		}
		if i >= 0 {
			return guessed{lon: -1, lat: -1, wkt: i,
				says: fmt.Sprintf("positions from the WKT Points of column %s (guessed; --lon and --lat choose other columns)", strconv.Quote(header[i]))}, nil
		}
	}
	cols := headerList(header)
	want := "no position columns"
	if lonName != "" {
		want = fmt.Sprintf("no columns %q and %q", lonName, latName)
	}
	return guessed{}, fmt.Errorf("%s in the header, nor x/y, lon/lat, lng/lat, long/lat or a WKT column (wkt, geometry), ignoring case (columns: %s); give --lon and --lat", want, cols)
}

// position returns the text of a row's longitude and latitude: from
// their columns, a WKT Point, or a Feature's geometry; or why the row
// has none.
func (c *conv) position(fields [][]byte) ([2][]byte, string) {
	if c.geometry && c.geomFault != "" {
		return [2][]byte{}, c.geomFault
	}
	if c.wkt < 0 {
		lon, _, _ := c.value(Lon, fields)
		lat, _, _ := c.value(Lat, fields)
		return [2][]byte{lon, lat}, ""
	}
	text := strings.TrimSpace(string(fields[c.wkt]))
	where := "the WKT column " + strconv.Quote(c.wktName)
	if text == "" {
		return [2][]byte{}, where + " is empty"
	}
	g, err := wkt.Unmarshal(text)
	if err != nil {
		return [2][]byte{}, where + " is not WKT: " + clipText([]byte(text))
	}
	pt, ok := g.(*geom.Point)
	if !ok {
		return [2][]byte{}, fmt.Sprintf("%s holds a %s, not a POINT: %s", where, strings.ToUpper(geomName(g)), clipText([]byte(text)))
	}
	if pt.Empty() {
		return [2][]byte{}, where + " holds POINT EMPTY"
	}
	b := c.wktBuf[:0]
	b = strconv.AppendFloat(b, pt.X(), 'f', -1, 64)
	n := len(b)
	b = strconv.AppendFloat(b, pt.Y(), 'f', -1, 64)
	c.wktBuf = b
	return [2][]byte{b[:n:n], b[n:]}, ""
}

func geomName(g geom.T) string {
	switch g.(type) {
	case *geom.LineString:
		return "LineString"
	case *geom.Polygon:
		return "Polygon"
	case *geom.MultiPoint:
		return "MultiPoint"
	case *geom.MultiLineString:
		return "MultiLineString"
	case *geom.MultiPolygon:
		return "MultiPolygon"
	case *geom.GeometryCollection:
		return "GeometryCollection"
	}
	return fmt.Sprintf("%T", g)
}
