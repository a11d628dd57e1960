package gpkg

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/paulmach/orb"
	_ "modernc.org/sqlite" // the pure-Go SQLite driver "sqlite", with the R*Tree module
)

// Type is a column's GeoPackage data type (GeoPackage 1.2, table 1).
type Type string

// The column types linewatch writes.
const (
	Text      Type = "TEXT"
	Integer   Type = "INTEGER"   // 64 bits
	MediumInt Type = "MEDIUMINT" // 32 bits: what GDAL writes and reads as a plain Integer
	Real      Type = "REAL"
	Boolean   Type = "BOOLEAN"
	DateTime  Type = "DATETIME" // written as YYYY-MM-DDTHH:MM:SS.SSSZ
)

// Column is one attribute column of a layer.
type Column struct {
	Name string
	Type Type
}

// Feature is one row of a layer: its geometry (an orb.Point, an
// orb.LineString or an orb.MultiLineString, as the layer's GeometryType
// says) and one value per
// column, in the layer's column order. A value is nil (NULL), a string,
// an int64 (for INTEGER, MEDIUMINT or REAL), a float64, a bool or, for a
// DATETIME column, a time.Time
// (written to the millisecond, the precision a GeoPackage DATETIME holds).
type Feature struct {
	Geometry orb.Geometry
	Values   []any
}

// Layer is a feature table with its default style.
type Layer struct {
	Name         string // table name
	Description  string
	GeometryType string // POINT, LINESTRING or MULTILINESTRING
	Columns      []Column
	Features     []Feature
	// StyleQML, when not empty, is the layer's default QGIS style (a QML
	// document), written to the layer_styles table that QGIS reads when
	// it opens the layer.
	StyleQML string
}

// GeometryColumn is the name of every layer's geometry column.
const GeometryColumn = "geom"

// Write writes a GeoPackage with the layers, in order, to path (which it
// creates or replaces). Each layer has an R*Tree spatial index
// (the gpkg_rtree_index extension with the triggers GeoPackage 1.2 defines).
//
// lastChange is written as every table's last_change in gpkg_contents and
// as the update time of the styles: with it taken from the data rather than
// the clock, the same layers give the same bytes.
func Write(path string, lastChange time.Time, layers ...Layer) (err error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	db, err := sql.Open("sqlite", fileURI(path))
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(1) // one connection: the pragmas and the transaction apply to it
	defer func() {
		err = errors.Join(err, db.Close())
		if err != nil {
			os.Remove(path)
		}
	}()
	// No journal: the file is new and is removed if writing fails.
	for _, q := range []string{
		"PRAGMA journal_mode = OFF",
		"PRAGMA synchronous = OFF",
		"PRAGMA application_id = 1196444487", // "GPKG"
		"PRAGMA user_version = 10200",        // GeoPackage 1.2.0
	} {
		if _, err := db.Exec(q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	for _, q := range coreTables {
		if _, err := tx.Exec(q); err != nil {
			return fmt.Errorf("creating the GeoPackage tables: %w", err)
		}
	}
	stamp := lastChange.UTC().Format(dateTimeLayout)
	styled := false
	for _, l := range layers {
		if err := writeLayer(tx, l, stamp); err != nil {
			return fmt.Errorf("layer %s: %w", l.Name, err)
		}
		styled = styled || l.StyleQML != ""
	}
	if styled {
		if err := writeStyles(tx, layers, stamp); err != nil {
			return fmt.Errorf("layer_styles: %w", err)
		}
	}
	return tx.Commit()
}

// fileURI is path as an SQLite URI filename, the characters a URI gives a
// meaning to escaped.
func fileURI(path string) string {
	return "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

// dateTimeLayout is the form of a GeoPackage DATETIME (GeoPackage 1.2,
// table 1): ISO 8601 in UTC, to the millisecond.
const dateTimeLayout = "2006-01-02T15:04:05.000Z"

// quote quotes an SQL identifier.
func quote(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

func writeLayer(tx *sql.Tx, l Layer, stamp string) error {
	switch l.GeometryType {
	case "POINT", "LINESTRING", "MULTILINESTRING":
	default:
		return fmt.Errorf("geometry type %q (POINT, LINESTRING or MULTILINESTRING)", l.GeometryType)
	}
	seen := map[string]bool{"fid": true, GeometryColumn: true}
	var cols strings.Builder
	fmt.Fprintf(&cols, `CREATE TABLE %s ("fid" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, %s %s`,
		quote(l.Name), quote(GeometryColumn), l.GeometryType)
	ins := "INSERT INTO " + quote(l.Name) + ` ("fid", ` + quote(GeometryColumn)
	marks := "?, ?"
	for _, c := range l.Columns {
		// SQLite compares identifiers without case.
		if seen[strings.ToLower(c.Name)] {
			return fmt.Errorf("column %q twice", c.Name)
		}
		seen[strings.ToLower(c.Name)] = true
		fmt.Fprintf(&cols, ", %s %s", quote(c.Name), c.Type)
		ins += ", " + quote(c.Name)
		marks += ", ?"
	}
	cols.WriteString(")")
	if _, err := tx.Exec(cols.String()); err != nil {
		return err
	}
	stmt, err := tx.Prepare(ins + ") VALUES (" + marks + ")")
	if err != nil {
		return err
	}
	defer stmt.Close()
	var extent orb.Bound
	args := make([]any, 2+len(l.Columns))
	for i, f := range l.Features {
		if len(f.Values) != len(l.Columns) {
			return fmt.Errorf("feature %d: %d values for %d columns", i, len(f.Values), len(l.Columns))
		}
		blob, err := encodeGeometry(f.Geometry, SRSID)
		if err != nil {
			return fmt.Errorf("feature %d: %w", i, err)
		}
		if i == 0 {
			extent = f.Geometry.Bound()
		} else {
			extent = extent.Union(f.Geometry.Bound())
		}
		args[0], args[1] = int64(i+1), blob
		for j, v := range f.Values {
			if args[2+j], err = sqlValue(l.Columns[j], v); err != nil {
				return fmt.Errorf("feature %d: %w", i, err)
			}
		}
		if _, err := stmt.Exec(args...); err != nil {
			return fmt.Errorf("feature %d: %w", i, err)
		}
	}
	var minX, minY, maxX, maxY any // NULL for an empty layer
	if len(l.Features) > 0 {
		minX, minY, maxX, maxY = extent.Min[0], extent.Min[1], extent.Max[0], extent.Max[1]
	}
	if _, err := tx.Exec(`INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change, min_x, min_y, max_x, max_y, srs_id)
		VALUES (?, 'features', ?, ?, ?, ?, ?, ?, ?, ?)`, l.Name, l.Name, l.Description, stamp, minX, minY, maxX, maxY, SRSID); err != nil {
		return err
	}
	if _, err := tx.Exec(`INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m)
		VALUES (?, ?, ?, ?, 0, 0)`, l.Name, GeometryColumn, l.GeometryType, SRSID); err != nil {
		return err
	}
	return writeIndex(tx, l)
}

// sqlValue checks a value against its column's type and converts it for
// the driver.
func sqlValue(c Column, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	ok := false
	switch c.Type {
	case Text:
		_, ok = v.(string)
	case Integer:
		_, ok = v.(int64)
	case MediumInt:
		if x, isInt := v.(int64); isInt {
			if x != int64(int32(x)) {
				return nil, fmt.Errorf("column %s (%s): %d is out of range", c.Name, c.Type, x)
			}
			ok = true
		}
	case Real:
		switch x := v.(type) {
		case float64:
			ok = true
		case int64:
			return float64(x), nil
		}
	case Boolean:
		if b, isBool := v.(bool); isBool {
			if b {
				return int64(1), nil
			}
			return int64(0), nil
		}
	case DateTime:
		if t, isTime := v.(time.Time); isTime {
			return t.UTC().Format(dateTimeLayout), nil
		}
	}
	if !ok {
		return nil, fmt.Errorf("column %s (%s): a value of type %T", c.Name, c.Type, v)
	}
	return v, nil
}

// writeIndex creates the layer's R*Tree index, fills it from the rows
// just written, and adds the triggers that keep it up to date when
// another program edits the layer. The index is filled here rather than
// by the insert trigger because the triggers call ST_IsEmpty and ST_MinX
// and the like, SQL functions that GeoPackage readers (GDAL, QGIS)
// provide and that this writer need not.
func writeIndex(tx *sql.Tx, l Layer) error {
	t, c := l.Name, GeometryColumn
	rtree := "rtree_" + t + "_" + c
	if _, err := tx.Exec("CREATE VIRTUAL TABLE " + quote(rtree) + " USING rtree(id, minx, maxx, miny, maxy)"); err != nil {
		return err
	}
	stmt, err := tx.Prepare("INSERT INTO " + quote(rtree) + " (id, minx, maxx, miny, maxy) VALUES (?, ?, ?, ?, ?)")
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i, f := range l.Features {
		b := f.Geometry.Bound()
		if _, err := stmt.Exec(int64(i+1), b.Min[0], b.Max[0], b.Min[1], b.Max[1]); err != nil {
			return err
		}
	}
	for _, q := range rtreeTriggers(t, c) {
		if _, err := tx.Exec(q); err != nil {
			return err
		}
	}
	_, err = tx.Exec(`INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope)
		VALUES (?, ?, 'gpkg_rtree_index', 'http://www.geopackage.org/spec120/#extension_rtree', 'write-only')`, t, c)
	return err
}

// rtreeTriggers are the six triggers of the gpkg_rtree_index extension
// (GeoPackage 1.2, Annex F.3), for table t and geometry column c, with
// "fid" as the primary key.
func rtreeTriggers(t, c string) []string {
	r := quote("rtree_" + t + "_" + c)
	name := func(suffix string) string { return quote("rtree_" + t + "_" + c + "_" + suffix) }
	qt, g := quote(t), quote(c)
	bbox := fmt.Sprintf(`(NEW."fid", ST_MinX(NEW.%[1]s), ST_MaxX(NEW.%[1]s), ST_MinY(NEW.%[1]s), ST_MaxY(NEW.%[1]s))`, g)
	return []string{
		fmt.Sprintf(`CREATE TRIGGER %s AFTER INSERT ON %s WHEN (NEW.%s NOT NULL AND NOT ST_IsEmpty(NEW.%s)) BEGIN INSERT OR REPLACE INTO %s VALUES %s; END`,
			name("insert"), qt, g, g, r, bbox),
		fmt.Sprintf(`CREATE TRIGGER %s AFTER UPDATE OF %s ON %s WHEN OLD."fid" = NEW."fid" AND (NEW.%s NOTNULL AND NOT ST_IsEmpty(NEW.%s)) BEGIN INSERT OR REPLACE INTO %s VALUES %s; END`,
			name("update1"), g, qt, g, g, r, bbox),
		fmt.Sprintf(`CREATE TRIGGER %s AFTER UPDATE OF %s ON %s WHEN OLD."fid" = NEW."fid" AND (NEW.%s ISNULL OR ST_IsEmpty(NEW.%s)) BEGIN DELETE FROM %s WHERE id = OLD."fid"; END`,
			name("update2"), g, qt, g, g, r),
		fmt.Sprintf(`CREATE TRIGGER %s AFTER UPDATE ON %s WHEN OLD."fid" != NEW."fid" AND (NEW.%s NOTNULL AND NOT ST_IsEmpty(NEW.%s)) BEGIN DELETE FROM %s WHERE id = OLD."fid"; INSERT OR REPLACE INTO %s VALUES %s; END`,
			name("update3"), qt, g, g, r, r, bbox),
		fmt.Sprintf(`CREATE TRIGGER %s AFTER UPDATE ON %s WHEN OLD."fid" != NEW."fid" AND (NEW.%s ISNULL OR ST_IsEmpty(NEW.%s)) BEGIN DELETE FROM %s WHERE id IN (OLD."fid", NEW."fid"); END`,
			name("update4"), qt, g, g, r),
		fmt.Sprintf(`CREATE TRIGGER %s AFTER DELETE ON %s WHEN OLD.%s NOT NULL BEGIN DELETE FROM %s WHERE id = OLD."fid"; END`,
			name("delete"), qt, g, r),
	}
}

// writeStyles writes the layers' default styles to layer_styles, the table
// QGIS reads and writes styles in (the columns QGIS creates), registered
// as an attributes table as QGIS registers it.
func writeStyles(tx *sql.Tx, layers []Layer, stamp string) error {
	if _, err := tx.Exec(`CREATE TABLE "layer_styles" ("id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
		"f_table_catalog" TEXT(256), "f_table_schema" TEXT(256), "f_table_name" TEXT(256),
		"f_geometry_column" TEXT(256), "styleName" TEXT(30), "styleQML" TEXT, "styleSLD" TEXT,
		"useAsDefault" BOOLEAN, "description" TEXT, "owner" TEXT(30), "ui" TEXT(30),
		"update_time" DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))`); err != nil {
		return err
	}
	for _, l := range layers {
		if l.StyleQML == "" {
			continue
		}
		if _, err := tx.Exec(`INSERT INTO "layer_styles" ("f_table_catalog", "f_table_schema", "f_table_name",
			"f_geometry_column", "styleName", "styleQML", "styleSLD", "useAsDefault", "description", "owner", "ui", "update_time")
			VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '', NULL, ?)`,
			l.Name, GeometryColumn, l.Name, l.StyleQML, "linewatch default style of "+l.Name, stamp); err != nil {
			return err
		}
	}
	_, err := tx.Exec(`INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change)
		VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS styles', ?)`, stamp)
	return err
}

// coreTables are the tables every GeoPackage has (GeoPackage 1.2, §1.1.2,
// §1.1.3, §2.1.5 and §2.3), as GDAL creates them, with the three
// spatial reference systems the standard requires.
var coreTables = []string{
	`CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY,
		organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)`,
	`CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
		description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
		min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
		CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id))`,
	`CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
		srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
		CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name), CONSTRAINT uk_gc_table_name UNIQUE (table_name),
		CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
		CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id))`,
	`CREATE TABLE gpkg_extensions (table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, definition TEXT NOT NULL,
		scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, extension_name))`,
	`INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined Cartesian SRS', -1, 'NONE', -1, 'undefined',
		'undefined Cartesian coordinate reference system')`,
	`INSERT INTO gpkg_spatial_ref_sys VALUES ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined',
		'undefined geographic coordinate reference system')`,
	`INSERT INTO gpkg_spatial_ref_sys VALUES ('WGS 84 geodetic', 4326, 'EPSG', 4326, '` + wgs84WKT + `',
		'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid')`,
}

// wgs84WKT is EPSG:4326 in OGC WKT, as GDAL writes it.
const wgs84WKT = `GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],` +
	`AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],` +
	`UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]`
