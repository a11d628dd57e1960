// Package importer turns CSV and GeoJSON files — an analyst's own
// observation log, an ACLED export, a UCDP GED export, or any of these as
// ogr2ogr or QGIS wrote them — into sightings (SPEC §2), one GeoJSON
// Feature per row, and says of every row it cannot map where it is and
// why.
//
//	im, err := importer.New(importer.Options{Dialect: importer.ACLED, Map: m})
//	rows, err := im.Rows("acled.csv", f)       // reads and checks the header
//	for {
//		row, err := rows.Next()                 // io.EOF after the last row
//		...
//		if row.Record == nil { reject(row.Line, row.Text, row.Reason); continue }
//		out.Write(row.Record)                   // a Feature, one line
//	}
//
// The Importer's Source method gives the same rows as a feed.Source for
// the batch driver (`detect --from`): the record of the row that starts on
// line N of the CSV file is on line N of the source, and RejectedRow turns
// the record of a rejected row back into the row's text and reason.
//
// # CSV
//
// The dialects that spreadsheets write: a header row; the delimiter given
// or sniffed (of , ; tab |, the one that splits the header into two or more
// fields and the most of the next rows into as many); fields in double
// quotes holding delimiters, doubled quotes and line breaks (a CRLF inside
// one is read as LF); CRLF line ends; a UTF-8 byte-order mark; Latin-1,
// Windows-1252 or UTF-16 by Options.Encoding (a UTF-16 byte-order mark is
// always obeyed). A quote inside an unquoted field is an ordinary
// character. Empty lines, and lines of spaces, are no rows. Where the
// delimiter is not a comma, a decimal comma is read as a point (48,5 is
// 48.5), as spreadsheets in much of Europe write numbers.
//
// A row's Line is the physical line it starts on: the header is line 1
// (after any blank lines), and in a file without line breaks inside quoted
// fields it is the row number a spreadsheet shows.
//
// # GeoJSON
//
// A file that starts with "{" (or an RS) is GeoJSON: a FeatureCollection,
// or a sequence of Features one a line (GeoJSONSeq, ogr2ogr -f GeoJSONSeq)
// or after an RS. Each Feature is a row: its properties are the columns
// (the header is the first Feature's properties, and "id" for its id when
// they have none; a property later Features add is carried), and its
// Point geometry (or a MultiPoint of one point) is the position, unless
// Options.Columns names lon and lat columns. A string is a cell's text; a
// number, true or false its JSON text, carried as a JSON value; null is an
// empty cell. A Feature without a Point is rejected. A crs member other
// than CRS84 or EPSG:4326 makes the file unusable, with the ogr2ogr
// command that reprojects it. A row's Line is the line of a sequence's
// Feature; a FeatureCollection's Feature has its Index instead.
//
// # Positions
//
// When Options.Columns does not name the lon and lat columns, a GeoJSON
// file's positions are its Points; a CSV file's are the dialect's own
// columns (longitude, latitude) where the header has both, else guessed
// as QGIS guesses them: the first pair of longitude/latitude, lon/lat,
// lng/lat, long/lat or x/y (ogr2ogr -lco GEOMETRY=AS_XY writes X and Y),
// else a column of WKT Points named wkt, geometry, geom_wkt or the_geom
// (ogr2ogr -lco GEOMETRY=AS_WKT writes WKT), ignoring case. Without a
// time column in the options, it is the first of time, datetime,
// date_time, timestamp, event_date or date in the header, ignoring case.
// In the csv dialect, a field the options do not name comes from the
// column of its sighting property's name where the header has one (id,
// side, kind, …, ignoring case). Rows.Guessed says what was taken, for
// the user to see.
//
// # Fields
//
// Each field of a sighting comes from a column (matched by name, exactly,
// else ignoring case), or is a constant ("=UA"), or is absent:
//
//	lon, lat            the Point (see Positions); range-checked
//	time                the time (required): ISO 8601 / RFC 3339 with a zone,
//	                    or GDAL's form (ogr2ogr -f CSV: 2014/01/22
//	                    00:00:00+00, 2014/01/22); zoneless values in
//	                    Options.TZ, else rejected; or as Go layouts in
//	                    Options.TimeFormat ("2006-01-02", "02/01/2006
//	                    15:04", "2006/01/02 15:04:05-07", several separated
//	                    by |; a zone abbreviation, MST, is refused: Go reads
//	                    one it does not know as UTC), or "unix" / "unixms"
//	                    epoch numbers
//	time-end            the end of the time's span (inclusive, a day when it
//	                    is a date)
//	id, side, track, source   text
//	kind                ground or fire, any case
//	strength, confidence, precision-m, time-uncertainty-s   numbers
//
// A date without a time of day stands for the whole day, in the zone: the
// sighting's time is the middle of that day (12:00), and
// time_uncertainty_s is 43200. (A date layout also reads a date followed
// by a midnight time, "2015-01-20 00:00:00.000", as spreadsheets write
// dates, or "2014/01/22 00:00:00+00", as GDAL writes them.) With time-end, the time is the middle of the span from the
// time to time-end, and time_uncertainty_s half its length. A
// time-uncertainty-s column or constant overrides the computed value.
//
// Empty cells are absent fields. Text is trimmed of spaces before it is
// mapped and checked. Every column that no field takes as it stands —
// columns no field uses, and columns a field reads through a value map —
// is carried as a string property under its header name (empty cells
// left out; a name that is a sighting property gets the prefix "csv_"; an
// empty name is column_N; a repeated one gets _2, _3), so that what the
// file said is kept. The time's columns are not carried: time and
// time_uncertainty_s say what they said.
//
// # Value maps
//
// A Map (YAML, see Map) turns column text into field values: actor names
// into parties, event types into kinds, precision codes into metres. For a
// text field, text the map does not name passes unchanged (or takes the
// section's "*" value). For a number field a map is a table of codes:
// text it does not name — an empty cell too — rejects the row, since a
// code is not a number of metres.
//
// # Rejections
//
// A row is rejected, with the reason, when: it has more or fewer fields
// than the header; a GeoJSON Feature is not valid JSON, not a Feature, or
// has no Point; a WKT column holds no POINT; text follows a closing quote; a quoted field is not
// closed before the end of the input (the line it opened on is the
// rejected row, and reading goes on at the next line); it is longer than
// Options.MaxRow; it is not valid UTF-8; lon or lat is empty, not a
// number or out of range; the time is empty, not a date-time, zoneless
// without a zone to read it in, or out of the years 1000–8999; time-end
// is not a date-time or before the time; kind is not ground or fire;
// confidence is not a number in (0, 1]; strength, precision_m or
// time_uncertainty_s is not a number ≥ 0; a mapped number field's text is
// not in its map. The checks come in SPEC §9's order: text, coordinates,
// time, kind, confidence, strength, precision_m. Every row read is
// imported or rejected (Counts).
//
// # ACLED
//
// The columns of an ACLED export (ACLED's codebook), all overridable:
// id event_id_cnty; time event_date (2015-01-20, 20 January 2015,
// 20/01/2015 or GDAL's 2015/01/20, UTC); lon longitude, lat latitude; side actor1 through the
// map, no side where the map has no answer (ACLED's actor1 and actor2 are
// in no order of attack: the map says which actors are which party, and
// only where an event type implies the actor acted); kind sub_event_type:
// "Shelling/artillery/missile attack", "Air/drone strike" and "Remote
// explosive/landmine/IED" are fire, "Armed clash", "Government regains
// territory" and "Non-state actor overtakes territory" are ground, any
// other type is ground flagged import_flag: unmapped_kind, for a look
// (map it under kind: to decide); precision_m geo_precision (1 → 2000,
// 2 → 25000, 3 → 100000); time_uncertainty_s time_precision (1 → 43200,
// 2 → 302400, 3 → 1339200); source source. A fire event without a side
// is attributed by its impact (SPEC §2). Columns these need that an
// export lacks (all but the id, time and position) are left out.
//
// # UCDP GED
//
// The columns of UCDP GED: id id; time date_start to date_end (their
// middle, and half the span as time_uncertainty_s; 2014-01-22 or GDAL's
// 2014/01/22, UTC); lon longitude, lat
// latitude; strength best (the best estimate of deaths); precision_m
// where_prec (1 → 2000, 2 → 25000, 3 → 30000, 4 → 100000, 5 → 50000,
// 6 → 500000, 7 → 500000); kind fire, no side: GED does not say who
// attacked, so every event is attributed to the party opposite the side
// of the line where it happened (SPEC §2).
//
// # Precision: the numbers and why
//
// precision_m is the radius within which the event happened, around the
// dataset's point. linewatch calls a violation only where a sighting
// certainly was past the line (depth − precision_m > 0), so a radius too
// small raises violations from the mere placement of a town's point, and
// one too large hides true ones; these err on the large side.
//
//   - 2000 m: a named village or town (ACLED 1, UCDP 1). The point is the
//     place's centre; places on a front line are villages under 1 km
//     across and small towns of a few km (Avdiivka is about 3 km across).
//     A city (Donetsk, 15 km) has the same code, but its events lie far
//     from the line.
//   - 25000 m: "near" a place, or a part of a region (ACLED 2; UCDP 2,
//     which UCDP defines as within about 25 km of the point).
//   - 30000 m: a second-order division (UCDP 3): a Ukrainian raion before
//     2020 was about 1,500 km², a disc of radius 22 km, and the event may
//     lie anywhere in it.
//   - 50000 m: a linear feature or the area between places (UCDP 5): a
//     road or a river between two towns, tens of km long.
//   - 100000 m: a first-order division (UCDP 4; ACLED 3, which puts the
//     event at the provincial capital or the region's centroid): the
//     Donetsk oblast, 26,500 km², is a disc of radius 92 km.
//   - 500000 m: the country alone, international waters or airspace
//     (UCDP 6, 7): Ukraine, 600,000 km², is a disc of radius 440 km. Such
//     an event is carried, never judged.
//
// time_uncertainty_s is half the span in which the event happened, around
// the time written: ACLED time_precision 1, the day: 43200 (±12 h); 2, a
// week or weekend, whose middle ACLED codes: 302400 (±3.5 days); 3, a
// month, whose middle ACLED codes: 1339200 (±15.5 days). UCDP gives the
// span, date_start to date_end. detect does not use it (a window is cut
// by the time alone); it is there to filter on, and it tells an analyst
// that an event of a month-long span may sit in the wrong week.
package importer
