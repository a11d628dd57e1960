package gpkg

import (
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/linewatch/linewatch/internal/jsontext"
	"github.com/twpayne/go-geom"
	"github.com/twpayne/go-geom/encoding/geojson"
)

// sqliteHeader begins every SQLite database file, and so every GeoPackage.
const sqliteHeader = "SQLite format 3\x00"

// IsGeoPackage tells whether the file at path is an SQLite database, as a
// GeoPackage is, by its first bytes (not by its name).
func IsGeoPackage(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	head := make([]byte, len(sqliteHeader))
	if _, err := io.ReadFull(f, head); err != nil {
		return false, nil // shorter than the header: not SQLite
	}
	return string(head) == sqliteHeader, nil
}

// LayerInfo describes one feature layer of a GeoPackage.
type LayerInfo struct {
	Name         string
	GeometryType string // as declared: POINT, LINESTRING, MULTILINESTRING, GEOMETRY, …
	Features     int
	SRS          string // e.g. EPSG:4326
	srsID        int64
	geomColumn   string
}

// Line tells whether the layer's declared geometry type is a line type.
func (l LayerInfo) Line() bool {
	switch strings.ToUpper(l.GeometryType) {
	case "LINESTRING", "MULTILINESTRING":
		return true
	}
	return false
}

func (l LayerInfo) String() string {
	return fmt.Sprintf("%s (%s, %d features, %s)", l.Name, l.GeometryType, l.Features, l.SRS)
}

// open opens a GeoPackage for reading only.
func open(path string) (*sql.DB, error) {
	ok, err := IsGeoPackage(path)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("not a GeoPackage (not an SQLite database)")
	}
	// immutable: the file is only read, and may lie where no journal can be
	// written (a read-only share).
	db, err := sql.Open("sqlite", fileURI(path)+"?mode=ro&immutable=1")
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// Layers lists the feature layers of the GeoPackage at path, in the order
// of gpkg_contents.
func Layers(path string) ([]LayerInfo, error) {
	db, err := open(path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	return layers(db)
}

func layers(db *sql.DB) ([]LayerInfo, error) {
	rows, err := db.Query(`SELECT c.table_name, g.column_name, g.geometry_type_name, g.srs_id,
			coalesce(s.organization, ''), coalesce(s.organization_coordsys_id, 0)
		FROM gpkg_contents c JOIN gpkg_geometry_columns g ON g.table_name = c.table_name
		LEFT JOIN gpkg_spatial_ref_sys s ON s.srs_id = g.srs_id
		WHERE c.data_type = 'features' ORDER BY c.rowid`)
	if err != nil {
		return nil, fmt.Errorf("not a GeoPackage of features: %w", err)
	}
	var out []LayerInfo
	for rows.Next() {
		var l LayerInfo
		var org string
		var code int64
		if err := rows.Scan(&l.Name, &l.geomColumn, &l.GeometryType, &l.srsID, &org, &code); err != nil {
			rows.Close()
			return nil, err
		}
		switch {
		case org == "":
			l.SRS = fmt.Sprintf("srs_id %d, not in gpkg_spatial_ref_sys", l.srsID)
		case strings.EqualFold(org, "NONE"):
			l.SRS = "undefined"
		default:
			l.SRS = fmt.Sprintf("%s:%d", strings.ToUpper(org), code)
		}
		out = append(out, l)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if err := db.QueryRow("SELECT count(*) FROM " + quote(out[i].Name)).Scan(&out[i].Features); err != nil {
			return nil, fmt.Errorf("layer %s: %w", out[i].Name, err)
		}
	}
	return out, nil
}

// LineLayer picks the layer to read a line from: name if it is given
// (it must be a feature layer), else the only layer whose geometry type is
// LINESTRING or MULTILINESTRING, else the only feature layer. The error
// for several candidates lists them.
func LineLayer(path, name string) (LayerInfo, error) {
	ls, err := Layers(path)
	if err != nil {
		return LayerInfo{}, err
	}
	return pickLine(ls, name)
}

func pickLine(ls []LayerInfo, name string) (LayerInfo, error) {
	list := func(ls []LayerInfo) string {
		s := make([]string, len(ls))
		for i, l := range ls {
			s[i] = l.String()
		}
		return strings.Join(s, "; ")
	}
	if name != "" {
		for _, l := range ls {
			if l.Name == name {
				return l, nil
			}
		}
		for _, l := range ls {
			if strings.EqualFold(l.Name, name) {
				return l, nil
			}
		}
		if len(ls) == 0 {
			return LayerInfo{}, fmt.Errorf("no layer %q: the GeoPackage has no feature layer", name)
		}
		return LayerInfo{}, fmt.Errorf("no layer %q; the feature layers are: %s", name, list(ls))
	}
	var lines []LayerInfo
	for _, l := range ls {
		if l.Line() {
			lines = append(lines, l)
		}
	}
	switch {
	case len(lines) == 1:
		return lines[0], nil
	case len(lines) > 1:
		return LayerInfo{}, fmt.Errorf("%d line layers, pick one with --line-layer NAME: %s", len(lines), list(lines))
	case len(ls) == 1:
		return ls[0], nil
	case len(ls) == 0:
		return LayerInfo{}, errors.New("the GeoPackage has no feature layer")
	}
	return LayerInfo{}, fmt.Errorf("no line layer among %d feature layers, pick one with --line-layer NAME: %s", len(ls), list(ls))
}

// FeatureCollection reads a layer as a GeoJSON FeatureCollection: one
// Feature per row, in fid order, with the fid as its id, its geometry in
// two dimensions (Z and M dropped) and the other columns as properties
// (BOOLEAN columns as true or false, BLOBs in base64). The layer must be
// in WGS 84 longitude and latitude (EPSG:4326 or the undefined geographic
// system), as GeoJSON is.
func FeatureCollection(path string, l LayerInfo) ([]byte, error) {
	db, err := open(path)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	if !lonLat(l) {
		return nil, fmt.Errorf("layer %s is in %s, not WGS 84 longitude/latitude: convert it with ogr2ogr -t_srs EPSG:4326", l.Name, l.SRS)
	}
	cols, err := columns(db, l.Name)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", l.Name, err)
	}
	pk, names := "", make([]string, 0, len(cols))
	for _, c := range cols {
		if c.pk && pk == "" && strings.HasPrefix(strings.ToUpper(c.typ), "INT") {
			pk = c.name
		}
	}
	sel := make([]string, 0, len(cols))
	for _, c := range cols {
		sel = append(sel, quote(c.name))
		names = append(names, c.name)
	}
	order := "rowid"
	if pk != "" {
		order = quote(pk)
	}
	rows, err := db.Query("SELECT " + strings.Join(sel, ", ") + " FROM " + quote(l.Name) + " ORDER BY " + order)
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", l.Name, err)
	}
	defer rows.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	b := []byte(`{"type":"FeatureCollection","features":[`)
	for n := 0; rows.Next(); n++ {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, fmt.Errorf("layer %s: %w", l.Name, err)
		}
		if n > 0 {
			b = append(b, ',')
		}
		b = append(b, "\n"+`{"type":"Feature"`...)
		props := make([]byte, 0, 64)
		var geometry []byte
		for i, c := range cols {
			v := vals[i]
			switch {
			case c.name == pk:
				b = append(b, `,"id":`...)
				b = appendValue(b, v, c.typ)
			case strings.EqualFold(c.name, l.geomColumn):
				if geometry, err = geometryJSON(v); err != nil {
					return nil, fmt.Errorf("layer %s feature %d: %w", l.Name, n, err)
				}
			default:
				if len(props) > 0 {
					props = append(props, ',')
				}
				props = jsontext.AppendString(props, names[i])
				props = append(props, ':')
				props = appendValue(props, v, c.typ)
			}
		}
		b = append(b, `,"geometry":`...)
		if geometry == nil {
			b = append(b, "null"...)
		} else {
			b = append(b, geometry...)
		}
		b = append(b, `,"properties":{`...)
		b = append(b, props...)
		b = append(b, "}}"...)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("layer %s: %w", l.Name, err)
	}
	return append(b, "\n]}\n"...), nil
}

// lonLat tells whether a layer's coordinates are WGS 84 longitude and
// latitude.
func lonLat(l LayerInfo) bool {
	switch {
	case l.srsID == 0: // "undefined geographic": lon/lat on an unnamed datum
		return true
	case l.SRS == "EPSG:4326", l.SRS == "EPSG:4979": // WGS 84, 2D and 3D
		return true
	}
	return false
}

type column struct {
	name, typ string
	pk        bool
}

func columns(db *sql.DB, table string) ([]column, error) {
	rows, err := db.Query("SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid", table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []column
	for rows.Next() {
		var c column
		var pk int
		if err := rows.Scan(&c.name, &c.typ, &pk); err != nil {
			return nil, err
		}
		c.pk = pk == 1
		out = append(out, c)
	}
	if len(out) == 0 && rows.Err() == nil {
		return nil, errors.New("no such table")
	}
	return out, rows.Err()
}

// geometryJSON converts a geometry blob to a GeoJSON geometry in two
// dimensions.
func geometryJSON(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	blob, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("geometry is a %T, not a blob", v)
	}
	_, g, err := decodeGeometry(blob)
	if err != nil {
		return nil, err
	}
	if g, err = toXY(g); err != nil {
		return nil, err
	}
	gj, err := geojson.Encode(g)
	if err != nil {
		return nil, err
	}
	return json.Marshal(gj)
}

// toXY drops the Z and M of every coordinate.
func toXY(g geom.T) (geom.T, error) {
	if c, ok := g.(*geom.GeometryCollection); ok {
		out := geom.NewGeometryCollection()
		for _, m := range c.Geoms() {
			xy, err := toXY(m)
			if err != nil {
				return nil, err
			}
			if err := out.Push(xy); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	if g.Layout() == geom.XY || g.Layout() == geom.NoLayout {
		return g, nil
	}
	stride, flat := g.Stride(), g.FlatCoords()
	xy := make([]float64, 0, len(flat)/stride*2)
	for i := 0; i+1 < len(flat); i += stride {
		xy = append(xy, flat[i], flat[i+1])
	}
	ends := func(e []int) []int {
		out := make([]int, len(e))
		for i, v := range e {
			out[i] = v / stride * 2
		}
		return out
	}
	switch g := g.(type) {
	case *geom.Point:
		return geom.NewPointFlat(geom.XY, xy), nil
	case *geom.LineString:
		return geom.NewLineStringFlat(geom.XY, xy), nil
	case *geom.MultiPoint:
		return geom.NewMultiPointFlat(geom.XY, xy, geom.NewMultiPointFlatOptionWithEnds(ends(g.Ends()))), nil
	case *geom.MultiLineString:
		return geom.NewMultiLineStringFlat(geom.XY, xy, ends(g.Ends())), nil
	case *geom.Polygon:
		return geom.NewPolygonFlat(geom.XY, xy, ends(g.Ends())), nil
	case *geom.MultiPolygon:
		endss := make([][]int, len(g.Endss()))
		for i, e := range g.Endss() {
			endss[i] = ends(e)
		}
		return geom.NewMultiPolygonFlat(geom.XY, xy, endss), nil
	}
	return nil, fmt.Errorf("geometry %T", g)
}

// appendValue appends a column value as JSON.
func appendValue(b []byte, v any, declared string) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case int64:
		if strings.EqualFold(declared, "BOOLEAN") {
			return strconv.AppendBool(b, x != 0)
		}
		return strconv.AppendInt(b, x, 10)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, x, 'g', -1, 64)
	case bool:
		return strconv.AppendBool(b, x)
	case string:
		return jsontext.AppendString(b, x)
	case time.Time:
		return jsontext.AppendString(b, x.Format(time.RFC3339Nano))
	case []byte:
		return jsontext.AppendString(b, base64.StdEncoding.EncodeToString(x))
	}
	return jsontext.AppendString(b, fmt.Sprint(v))
}
