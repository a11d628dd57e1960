package importer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/linewatch/linewatch/internal/jsontext"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Dialect is the kind of CSV file: plain CSV with the columns named by
// flags, or an ACLED or UCDP GED export with their columns by default.
type Dialect string

const (
	CSV   Dialect = "csv"
	ACLED Dialect = "acled"
	UCDP  Dialect = "ucdp"
)

// ParseDialect reads a dialect's name.
func ParseDialect(s string) (Dialect, error) {
	switch d := Dialect(strings.ToLower(s)); d {
	case CSV, ACLED, UCDP:
		return d, nil
	}
	return "", fmt.Errorf("unknown dialect %q (want csv, acled or ucdp)", s)
}

// Field is what a column (or a constant) becomes.
type Field int

const (
	Lon Field = iota
	Lat
	Time
	TimeEnd
	ID
	Side
	Kind
	Track
	Strength
	Confidence
	PrecisionM
	Source
	TimeUncertainty
	numFields
)

// FlagName is the command-line flag of a field, without the dashes.
func (f Field) FlagName() string {
	return [...]string{"lon", "lat", "time", "time-end", "id", "side", "kind", "track", "strength",
		"confidence", "precision-m", "source", "time-uncertainty-s"}[f]
}

// property is the sighting property a field writes.
func (f Field) property() string {
	return [...]string{"", "", "time", "", "id", "side", "kind", "track", "strength",
		"confidence", "precision_m", "source", "time_uncertainty_s"}[f]
}

// Fields lists every field, in flag order.
func Fields() []Field {
	out := make([]Field, numFields)
	for i := range out {
		out[i] = Field(i)
	}
	return out
}

// Flag is the property that marks an imported row whose kind the map
// did not name (an ACLED event type other than those of battles and
// explosions): it was taken as ground, and needs a look.
const (
	FlagProperty = "import_flag"
	FlagKind     = "unmapped_kind"
)

// Options say how rows become sightings. The zero value of a setting
// means the dialect's default.
type Options struct {
	Dialect Dialect
	// Columns sets fields: a column name (matched exactly, else ignoring
	// case), "=VALUE" for a constant, or "" for none. A field not in
	// Columns keeps the dialect's default.
	Columns map[Field]string
	// Delimiter is the field delimiter; 0 sniffs it from the file's start.
	Delimiter byte
	// Encoding of the files (a UTF-16 byte-order mark always wins).
	Encoding Encoding
	// TimeFormat: Go layouts separated by |, tried in order; "unix" or
	// "unixms" for epoch numbers; "" for ISO 8601 / RFC 3339.
	TimeFormat string
	// TZ is the zone of times written without one ("" for the dialect's:
	// UTC for acled and ucdp, none for csv, so that such times are
	// rejected).
	TZ string
	// Map holds value maps, laid over the dialect's.
	Map *Map
	// MaxRow is the longest row in bytes (DefaultMaxRow if 0).
	MaxRow int
}

// Importer turns CSV files into sightings. It is safe for concurrent use;
// each file is read by its own Rows.
type Importer struct {
	dialect  Dialect
	cols     [numFields]string // column names; "" none
	consts   [numFields][]byte // constants (cols[f] == "")
	isConst  [numFields]bool
	optional [numFields]bool // a default column that may be absent
	maps     [numFields]*section
	times    *timeReader
	timeFmt  string
	tz       string
	loc      *time.Location
	delim    byte
	enc      Encoding
	maxRow   int
	// coordsGiven: the options name the lon and lat columns; else they
	// come from a GeoJSON file's geometry, or from the dialect's columns
	// where a CSV file has them, or are guessed from the header.
	coordsGiven bool
	// guessTime: the options name no time column; it is guessed from
	// each file's header (timeNames).
	guessTime bool
	// byName: a field the options do not name, which the csv dialect
	// takes from a column of the sighting property's own name.
	byName [numFields]bool
}

// New checks the options and returns an Importer.
func New(opt Options) (*Importer, error) {
	if opt.Dialect == "" {
		opt.Dialect = CSV
	}
	p, ok := presets[opt.Dialect]
	if !ok {
		return nil, fmt.Errorf("unknown dialect %q (want csv, acled or ucdp)", opt.Dialect)
	}
	im := &Importer{dialect: opt.Dialect, delim: opt.Delimiter, enc: opt.Encoding, maxRow: opt.MaxRow}
	if im.maxRow <= 0 {
		im.maxRow = DefaultMaxRow
	}
	if d := im.delim; d == '"' || d == '\n' || d == '\r' || d >= utf8.RuneSelf {
		return nil, fmt.Errorf("--delimiter %q cannot be a delimiter", d)
	}
	for f := range numFields {
		spec, set := opt.Columns[f]
		if !set {
			spec = p.columns[f]
			im.optional[f] = p.optional[f]
		}
		if strings.HasPrefix(spec, "=") {
			im.isConst[f] = true
			im.consts[f] = []byte(spec[1:])
		} else {
			im.cols[f] = strings.TrimSpace(spec)
		}
	}
	_, lonSet := opt.Columns[Lon]
	_, latSet := opt.Columns[Lat]
	switch {
	case lonSet && !latSet:
		return nil, errors.New("--lat: a column is required with --lon")
	case latSet && !lonSet:
		return nil, errors.New("--lon: a column is required with --lat")
	}
	im.coordsGiven = lonSet && latSet
	for _, f := range []Field{Lon, Lat} {
		if im.coordsGiven && im.cols[f] == "" && !im.isConst[f] {
			return nil, fmt.Errorf("--%s: a column is required", f.FlagName())
		}
	}
	im.guessTime = im.cols[Time] == "" && !im.isConst[Time]
	if opt.Dialect == CSV {
		for _, f := range []Field{ID, Side, Kind, Track, Strength, Confidence, PrecisionM, Source, TimeUncertainty} {
			_, set := opt.Columns[f]
			im.byName[f] = !set
		}
	}
	if im.cols[TimeEnd] == "" && im.isConst[TimeEnd] {
		return nil, fmt.Errorf("--time-end must name a column")
	}
	m := opt.Map.over(p.m)
	im.maps = m.sections
	if im.maps[Lon] != nil || im.maps[Lat] != nil {
		return nil, fmt.Errorf("map: lon and lat cannot be mapped")
	}
	im.timeFmt = opt.TimeFormat
	if im.timeFmt == "" {
		im.timeFmt = p.timeFormat
	}
	im.tz = opt.TZ
	if im.tz == "" {
		im.tz = p.tz
	}
	var err error
	if im.loc, err = ParseZone(im.tz); err != nil {
		return nil, err
	}
	if im.times, err = newTimeReader(im.timeFmt, im.loc); err != nil {
		return nil, err
	}
	// Constants are checked once, here.
	var c conv
	c.im = im
	for f := range numFields {
		if !im.isConst[f] {
			continue
		}
		if f == TimeEnd {
			continue
		}
		if reason := c.checkConst(f, im.consts[f]); reason != "" {
			return nil, fmt.Errorf("--%s: %s", f.FlagName(), reason)
		}
	}
	return im, nil
}

// Dialect returns the importer's dialect.
func (im *Importer) Dialect() Dialect { return im.dialect }

// Counts account for the rows of a file: Rows = Imported + Rejected;
// Flagged are among the imported. The header and blank lines are no rows.
type Counts struct {
	Rows     int64 `json:"rows"`
	Imported int64 `json:"imported"`
	Rejected int64 `json:"rejected"`
	Flagged  int64 `json:"flagged"`
}

// Add adds o to k.
func (k *Counts) Add(o Counts) {
	k.Rows += o.Rows
	k.Imported += o.Imported
	k.Rejected += o.Rejected
	k.Flagged += o.Flagged
}

// Row is one row of a CSV file, or one Feature of a GeoJSON file,
// imported or rejected. Its slices belong
// to the Rows and change with the next call of Next.
type Row struct {
	// Line is the 1-based physical line the row starts on (the header is
	// line 1 of most files); in a file without line breaks inside quoted
	// fields, a spreadsheet's row number.
	Line int
	// Index is the 0-based index of the Feature in a GeoJSON
	// FeatureCollection (Line is then 0); -1 otherwise.
	Index int
	// Text is the row as written in the file (decoded to UTF-8 when
	// --encoding says so), without its line break.
	Text []byte
	// Record is the sighting, a GeoJSON Feature on one line, without a
	// line break; nil when the row is rejected.
	Record []byte
	// Reason is why the row is rejected.
	Reason string
	// Flagged: imported, but the map did not name its kind.
	Flagged bool
}

// Rows reads the rows of one CSV or GeoJSON file.
type Rows struct {
	name   string
	header []string
	csv    *csvReader
	gj     *geojsonReader // instead of csv, for a GeoJSON file
	conv   conv
	row    Row
	counts Counts
	guess  string // where the positions come from, when the options did not say
}

func (rs *Rows) im() *Importer { return rs.conv.im }

// carry is a column carried as a property: its index and `,"key":`.
type carry struct {
	col int
	key []byte
}

// Rows reads the header of the file r (named name in messages) and
// returns its rows. A file that starts with "{" (or the RS of a GeoJSON
// text sequence) is GeoJSON: a FeatureCollection, or one Feature per line
// (GeoJSONSeq, as ogr2ogr writes it), whose properties are the columns and
// whose Point geometry is the position (see the package documentation);
// any other file is CSV. An error here — no header, a column the options
// name missing — makes the file unusable.
func (im *Importer) Rows(name string, r io.Reader) (*Rows, error) {
	br := bufio.NewReaderSize(decoder(r, im.enc), 64<<10)
	if isGeoJSON(br) {
		return im.geojsonRows(name, br)
	}
	c := newCSVReader(br, im.delim, im.maxRow)
	c.skipBOM()
	sniffed := true
	if c.delim == 0 {
		c.delim = sniffDelimiter(c.prime(64 << 10))
		if c.delim == 0 {
			c.delim, sniffed = ',', false
		}
	}
	if err := c.next(); err != nil {
		if err == io.EOF {
			return nil, fmt.Errorf("%s: empty file: no header row", name)
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if c.fault != "" {
		return nil, fmt.Errorf("%s: line %d: the header row: %s", name, c.first, c.fault)
	}
	if !utf8.Valid(c.raw) {
		return nil, fmt.Errorf("%s: the header is not UTF-8 (give --encoding, e.g. latin-1 or windows-1252)", name)
	}
	if !sniffed && len(c.fields) < 2 {
		return nil, fmt.Errorf("%s: cannot tell the delimiter from the header (give --delimiter)", name)
	}
	rs := &Rows{name: name, csv: c}
	for _, f := range c.fields {
		rs.header = append(rs.header, strings.TrimSpace(string(f)))
	}
	rs.conv.im = im
	rs.conv.comma = c.delim != ','
	if err := rs.setup(len(rs.header), false); err != nil {
		return nil, err
	}
	return rs, nil
}

// setup finds the columns of the fields among the first n of the header
// (a GeoJSON file's header has two more: the geometry's longitude and
// latitude, which geometry says to take when no column is given for
// them), and lays out the columns carried as properties.
func (rs *Rows) setup(n int, geometry bool) error {
	im := rs.im()
	cv := &rs.conv
	header := rs.header[:n]
	cv.nfields = len(rs.header)
	cv.wkt = -1
	used := make([]bool, len(rs.header))
	transformed := make([]bool, len(rs.header))
	for f := range numFields {
		cv.col[f] = -1
		name := im.cols[f]
		if name == "" || (f == Lon || f == Lat) && !im.coordsGiven {
			continue
		}
		i, err := findColumn(header, name)
		if err != nil {
			if im.optional[f] && i == -1 {
				continue
			}
			return fmt.Errorf("%s: --%s: %v", rs.name, f.FlagName(), err)
		}
		cv.col[f] = i
		used[i] = true
		if im.maps[f] != nil {
			transformed[i] = true
		}
	}
	if !im.coordsGiven {
		switch {
		case geometry:
			cv.col[Lon], cv.col[Lat] = n, n+1
			cv.geometry = true
			rs.guess = "positions from the Point geometry"
		default:
			g, err := guessCoords(header, im.cols[Lon], im.cols[Lat])
			if err != nil {
				return fmt.Errorf("%s: %v", rs.name, err)
			}
			rs.guess = g.says
			if g.wkt >= 0 {
				cv.wkt, cv.wktName = g.wkt, header[g.wkt]
				used[g.wkt] = true
			} else {
				cv.col[Lon], cv.col[Lat] = g.lon, g.lat
				used[g.lon], used[g.lat] = true, true
			}
		}
	}
	if im.guessTime {
		i, err := guessTime(header)
		if err != nil {
			return fmt.Errorf("%s: %v", rs.name, err)
		}
		cv.col[Time] = i
		used[i] = true
		says := fmt.Sprintf("times from column %s (guessed; --time chooses another)", strconv.Quote(header[i]))
		if rs.guess != "" {
			says = rs.guess + ", " + says
		}
		rs.guess = says
	}
	var named []string
	for f := range numFields {
		if !im.byName[f] {
			continue
		}
		// A column of the property's own name, as a GeoJSON feature
		// would have it; one whose name matches twice stays carried.
		if i, _ := findColumn(header, f.property()); i >= 0 && !used[i] {
			cv.col[f] = i
			used[i] = true
			named = append(named, strconv.Quote(header[i]))
		}
	}
	if len(named) > 0 {
		says := "fields from the columns of their names: " + strings.Join(named, ", ") + " (--id, --side, … choose others)"
		if rs.guess != "" {
			says = rs.guess + ", " + says
		}
		rs.guess = says
	}
	// Every column not taken as it stands is carried (the time's columns
	// never are: time and time_uncertainty_s say all they said).
	seen := map[string]int{}
	for i, h := range header {
		if used[i] && !transformed[i] {
			continue
		}
		cv.carried = append(cv.carried, carry{col: i, key: carryKey(h, i, seen)})
	}
	for i := range cv.headerNames {
		cv.headerNames[i] = ""
		if c := cv.col[i]; c >= 0 {
			cv.headerNames[i] = rs.header[c]
		}
	}
	return nil
}

// reserved are the property names a carried column does not take as
// they stand.
var reserved = map[string]bool{"id": true, "time": true, "side": true, "kind": true, "track": true,
	"strength": true, "confidence": true, "precision_m": true, "source": true,
	"time_uncertainty_s": true, FlagProperty: true}

// carryKey is `,"key":` for a carried column of header name h at index
// i: column_N for an empty name, csv_NAME for a sighting property's
// name, NAME_2, NAME_3 for a name seen before.
func carryKey(h string, i int, seen map[string]int) []byte {
	key := h
	if key == "" {
		key = "column_" + strconv.Itoa(i+1)
	}
	if reserved[key] {
		key = "csv_" + key
	}
	if n := seen[key]; n > 0 {
		seen[key] = n + 1
		key += "_" + strconv.Itoa(n+1)
	} else {
		seen[key] = 1
	}
	k := jsontext.AppendString([]byte{','}, []byte(key))
	return append(k, ':')
}

// findColumn finds a column by name: exactly, else ignoring case. It
// returns -1 when there is none, -2 when the name is ambiguous.
func findColumn(header []string, name string) (int, error) {
	if i := slices.Index(header, name); i >= 0 {
		if slices.Index(header[i+1:], name) >= 0 {
			return -2, fmt.Errorf("column %q appears twice in the header", name)
		}
		return i, nil
	}
	found := -1
	for i, h := range header {
		if strings.EqualFold(h, name) {
			if found >= 0 {
				return -2, fmt.Errorf("column %q matches %q and %q in the header", name, header[found], h)
			}
			found = i
		}
	}
	if found < 0 {
		cols := headerList(header)
		return -1, fmt.Errorf("no column %q in the header (columns: %s)", name, cols)
	}
	return found, nil
}

// Header returns the file's column names: a GeoJSON file's are its first
// Feature's properties (and "id" for the Feature's id).
func (rs *Rows) Header() []string {
	if rs.gj != nil {
		return rs.header[:len(rs.header)-2]
	}
	return rs.header
}

// Delimiter returns the delimiter in use (sniffed or given); 0 for a
// GeoJSON file.
func (rs *Rows) Delimiter() byte {
	if rs.gj != nil {
		return 0
	}
	return rs.csv.delim
}

// Format is the file's format: "csv" or "geojson".
func (rs *Rows) Format() string {
	if rs.gj != nil {
		return "geojson"
	}
	return "csv"
}

// Guessed says where the positions come from when the options did not
// name the lon and lat columns: the Point geometry of a GeoJSON file, or
// the columns guessed from a CSV header (x and y, lon and lat, a WKT
// column; see the package documentation); "" when the options or the
// dialect named them.
func (rs *Rows) Guessed() string { return rs.guess }

// Counts returns the counts of the rows read so far.
func (rs *Rows) Counts() Counts { return rs.counts }

// Next returns the next row, io.EOF after the last, or a read error.
func (rs *Rows) Next() (*Row, error) {
	if rs.gj != nil {
		return rs.nextFeature()
	}
	c := rs.csv
	if err := c.next(); err != nil {
		return nil, err
	}
	r := &rs.row
	*r = Row{Line: c.first, Index: -1, Text: c.raw}
	rs.counts.Rows++
	switch {
	case c.fault != "":
		r.Reason = c.fault
	case len(c.fields) != rs.conv.nfields:
		r.Reason = "row has " + strconv.Itoa(len(c.fields)) + " fields, the header " + strconv.Itoa(rs.conv.nfields)
		if c.nlines > 1 {
			r.Reason += " (it runs over lines " + strconv.Itoa(c.first) + "–" + strconv.Itoa(c.first+c.nlines-1) + ": an unbalanced quote?)"
		}
	default:
		r.Record, r.Flagged, r.Reason = rs.conv.convert(c.fields, c.raw)
	}
	rs.count(r)
	return r, nil
}

// count counts a row read.
func (rs *Rows) count(r *Row) {
	if r.Reason != "" {
		r.Record = nil
		rs.counts.Rejected++
	} else {
		rs.counts.Imported++
		if r.Flagged {
			rs.counts.Flagged++
		}
	}
}

// conv converts the fields of a row into a sighting.
type conv struct {
	im          *Importer
	col         [numFields]int // column index, -1: constant or none
	headerNames [numFields]string
	carried     []carry
	nfields     int
	comma       bool // decimal commas are numbers (the delimiter is not a comma)
	out         []byte
	// wkt is the column of WKT Points that gives lon and lat, -1 none.
	wkt     int
	wktName string
	wktBuf  []byte
	// geometry: lon and lat are a GeoJSON Feature's Point geometry, in the
	// last two fields; geomFault says why a row's geometry has none.
	geometry  bool
	geomFault string
	// Of a GeoJSON row: which fields are JSON values other than strings,
	// carried as they stand; and the properties its header lacks.
	jsonCells []bool
	extra     []extraProp
	keys      map[string]bool // of the carried columns, once asked for
}

// carriedKeys are the property names of the carried columns.
func (c *conv) carriedKeys() map[string]bool {
	if c.keys == nil {
		c.keys = map[string]bool{}
		for _, k := range c.carried {
			var key string
			json.Unmarshal(k.key[1:len(k.key)-1], &key)
			c.keys[key] = true
		}
	}
	return c.keys
}

// extraProp is a property of a GeoJSON Feature that its file's first
// Feature did not have: carried as well.
type extraProp struct {
	key  string
	val  []byte
	json bool // a JSON value other than a string
}

// value returns the text of field f in a row (mapped), whether the field
// is present, whether a flagged catch-all gave it.
func (c *conv) value(f Field, fields [][]byte) (v []byte, present, flag bool) {
	if c.im.isConst[f] {
		return c.im.consts[f], len(c.im.consts[f]) > 0, false
	}
	i := c.col[f]
	if i < 0 {
		return nil, false, false
	}
	v = bytes.TrimSpace(fields[i])
	if s := c.im.maps[f]; s != nil {
		v, flag = s.lookup(v)
	}
	return v, len(v) > 0, flag
}

// where names the source of field f in a message.
func (c *conv) where(f Field) string {
	name := f.FlagName()
	if f == PrecisionM {
		name = "precision_m"
	} else if f == TimeUncertainty {
		name = "time_uncertainty_s"
	}
	if c.im.isConst[f] {
		return name + " (constant)"
	}
	if (f == Lon || f == Lat) && c.geometry {
		return name + " (the Point geometry)"
	}
	if (f == Lon || f == Lat) && c.wkt >= 0 {
		return name + " (WKT column " + strconv.Quote(c.wktName) + ")"
	}
	return name + " (column " + strconv.Quote(c.headerNames[f]) + ")"
}

func quoteText(b []byte) string { return clipText(b) }

// checkConst checks a constant as a row's value would be.
func (c *conv) checkConst(f Field, v []byte) string {
	switch f {
	case Lon, Lat, Strength, Confidence, PrecisionM, TimeUncertainty:
		_, _, reason := c.number(f, v, true)
		return reason
	case Time:
		if _, _, err := c.im.times.read(v); err != nil {
			return c.timeReason(f, v, err)
		}
	case Kind:
		if _, ok := kindOf(v); !ok && len(v) > 0 {
			return "must be ground or fire, got " + quoteText(v)
		}
	}
	if !utf8.Valid(v) {
		return "not UTF-8"
	}
	return ""
}

func kindOf(v []byte) (string, bool) {
	switch {
	case len(v) == 0:
		return "", true
	case strings.EqualFold(string(v), "ground"):
		return "ground", true
	case strings.EqualFold(string(v), "fire"):
		return "fire", true
	}
	return "", false
}

// number reads the value v of a numeric field and checks its range.
func (c *conv) number(f Field, v []byte, present bool) (float64, bool, string) {
	ok, isJSON := numberShape(v, c.comma)
	var x float64
	if ok {
		x, ok = parseShaped(v)
	}
	if !ok {
		return 0, false, c.where(f) + " is not a number: " + quoteText(v)
	}
	switch f {
	case Lon:
		if x < -180 || x > 180 {
			return 0, false, c.where(f) + " is out of range [-180, 180]: " + quoteText(v)
		}
	case Lat:
		if x < -90 || x > 90 {
			return 0, false, c.where(f) + " is out of range [-90, 90]: " + quoteText(v)
		}
	case Confidence:
		if !(x > 0 && x <= 1) {
			return 0, false, c.where(f) + " must be in (0, 1], got " + quoteText(v)
		}
	default:
		if x < 0 {
			return 0, false, c.where(f) + " must not be negative, got " + quoteText(v)
		}
	}
	return x, isJSON, ""
}

func (c *conv) timeReason(f Field, v []byte, err error) string {
	switch err {
	case errNoZone:
		return c.where(f) + " has no zone: " + quoteText(v) + " (give --tz)"
	case errOutOfRange:
		return c.where(f) + " is out of range: " + quoteText(v)
	}
	want := "an ISO 8601 / RFC 3339 date-time (or give --time-format)"
	if c.im.timeFmt != "" {
		want = "--time-format " + strconv.Quote(c.im.timeFmt)
	}
	return c.where(f) + " is not a date-time as " + want + ": " + quoteText(v)
}

// convert makes the sighting of a row. The checks come in SPEC §9's order:
// text (UTF-8), coordinates, time, kind, confidence, strength,
// precision_m; then time_uncertainty_s.
func (c *conv) convert(fields [][]byte, raw []byte) (rec []byte, flagged bool, reason string) {
	if !utf8.Valid(raw) {
		for i, fl := range fields {
			if !utf8.Valid(fl) {
				return nil, false, "invalid UTF-8 in field " + strconv.Itoa(i+1) + " (is the file Latin-1 or Windows-1252? give --encoding)"
			}
		}
	}
	out := c.out[:0]
	out = append(out, `{"type":"Feature",`...)
	if v, ok, _ := c.value(ID, fields); ok {
		out = append(out, `"id":`...)
		out = jsontext.AppendString(out, v)
		out = append(out, ',')
	}
	out = append(out, `"geometry":{"type":"Point","coordinates":[`...)
	lonLat, reason := c.position(fields)
	if reason != "" {
		return nil, false, reason
	}
	for i, f := range []Field{Lon, Lat} {
		v := lonLat[i]
		if len(v) == 0 {
			return nil, false, c.where(f) + " is empty"
		}
		x, isJSON, reason := c.number(f, v, true)
		if reason != "" {
			return nil, false, reason
		}
		if f == Lat {
			out = append(out, ',')
		}
		out = appendNumber(out, v, x, isJSON)
	}
	out = append(out, `]},"properties":{"time":`...)

	// time
	v, ok, _ := c.value(Time, fields)
	if !ok {
		return nil, false, c.where(Time) + " is empty"
	}
	t, dateOnly, err := c.im.times.read(v)
	if err != nil {
		return nil, false, c.timeReason(Time, v, err)
	}
	var half int64 = -1 // the time's uncertainty, µs; -1: none
	start, end := t, t
	if dateOnly {
		end = c.im.times.dayEnd(t)
	}
	if ev, ok, _ := c.value(TimeEnd, fields); ok {
		te, endDateOnly, err := c.im.times.read(ev)
		if err != nil {
			return nil, false, c.timeReason(TimeEnd, ev, err)
		}
		if te < start {
			return nil, false, c.where(TimeEnd) + " is before the time: " + quoteText(ev)
		}
		if endDateOnly {
			te = c.im.times.dayEnd(te)
		}
		end = max(te, end)
	}
	if end != start {
		// A day, or a span: the middle, and half the span around it.
		t = start + (end-start)/2
		half = (end - start) / 2
	}
	out = append(out, '"')
	out = appendTime(out, t)
	out = append(out, '"')

	// side
	if v, ok, _ := c.value(Side, fields); ok {
		out = append(out, `,"side":`...)
		out = jsontext.AppendString(out, v)
	}
	// kind
	v, ok, flagged = c.value(Kind, fields)
	if ok {
		k, good := kindOf(v)
		if !good {
			return nil, false, c.where(Kind) + " must be ground or fire, got " + quoteText(v) + " (map it with --map)"
		}
		out = append(out, `,"kind":"`...)
		out = append(out, k...)
		out = append(out, '"')
	}
	if v, ok, _ := c.value(Track, fields); ok {
		out = append(out, `,"track":`...)
		out = jsontext.AppendString(out, v)
	}
	// confidence, strength, precision_m, time_uncertainty_s
	for _, f := range []Field{Confidence, Strength, PrecisionM, TimeUncertainty} {
		v, ok, reason := c.numberValue(f, fields)
		if reason != "" {
			return nil, false, reason
		}
		if !ok {
			continue
		}
		x, isJSON, reason := c.number(f, v, true)
		if reason != "" {
			return nil, false, reason
		}
		if f == TimeUncertainty {
			half = -2 // given: replaces the computed one
		}
		out = append(out, ',', '"')
		out = append(out, f.property()...)
		out = append(out, '"', ':')
		out = appendNumber(out, v, x, isJSON)
	}
	if half >= 0 {
		out = append(out, `,"time_uncertainty_s":`...)
		out = appendSeconds(out, half)
	}
	if v, ok, _ := c.value(Source, fields); ok {
		out = append(out, `,"source":`...)
		out = jsontext.AppendString(out, v)
	}
	if flagged {
		out = append(out, `,"`+FlagProperty+`":"`+FlagKind+`"`...)
	}
	for _, k := range c.carried {
		fv := fields[k.col]
		if len(fv) == 0 {
			continue
		}
		out = append(out, k.key...)
		if c.jsonCells != nil && c.jsonCells[k.col] {
			out = append(out, fv...)
		} else {
			out = jsontext.AppendString(out, fv)
		}
	}
	if len(c.extra) > 0 {
		out = c.appendExtra(out)
	}
	out = append(out, '}', '}')
	c.out = out
	return out, flagged, ""
}

// numberValue returns the text of a numeric field. Through a map, the
// text must be one the map names (or its "*"): a code is not a number of
// metres; an empty cell too, then.
func (c *conv) numberValue(f Field, fields [][]byte) ([]byte, bool, string) {
	if c.im.isConst[f] {
		v := c.im.consts[f]
		return v, len(v) > 0, ""
	}
	i := c.col[f]
	if i < 0 {
		return nil, false, ""
	}
	v := bytes.TrimSpace(fields[i])
	s := c.im.maps[f]
	if s == nil {
		return v, len(v) > 0, ""
	}
	mv, ok := s.lookupStrict(v)
	if !ok {
		if len(v) == 0 {
			return nil, false, c.where(f) + " is empty, and the map has no entry for an empty cell"
		}
		return nil, false, c.where(f) + ": " + quoteText(v) + " is not in the map"
	}
	return mv, len(mv) > 0, ""
}
