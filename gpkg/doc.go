// Package gpkg writes and reads OGC GeoPackages (version 1.2), the SQLite
// files GIS tools such as QGIS and GDAL open as layers, in pure Go (the
// modernc.org/sqlite driver, no cgo).
//
// [Write] makes a GeoPackage of point and line layers in EPSG:4326 with
// typed columns, an R*Tree spatial index per layer and, if given, a default
// QGIS style per layer; the same layers give the same bytes. [Layers],
// [LineLayer] and [FeatureCollection] read a layer back as a GeoJSON
// FeatureCollection, which is how linewatch reads an agreed line from a
// GeoPackage.
package gpkg
