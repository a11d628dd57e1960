package importer

import (
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"testing"
	_ "time/tzdata" // Europe/Kyiv wherever the tests run
	"unicode/utf16"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
)

// got is one row's outcome: the record (a Feature) or the reason.
type got struct {
	line   int
	record string
	reason string
	text   string
	flag   bool
}

func importText(t *testing.T, opt Options, text string) []got {
	t.Helper()
	im, err := New(opt)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return importWith(t, im, text)
}

func importWith(t *testing.T, im *Importer, text string) []got {
	t.Helper()
	rows, err := im.Rows("t.csv", strings.NewReader(text))
	if err != nil {
		t.Fatalf("Rows: %v", err)
	}
	var out []got
	for {
		r, err := rows.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		g := got{line: r.Line, reason: r.Reason, text: string(r.Text), flag: r.Flagged}
		if r.Record != nil {
			g.record = string(r.Record)
			var s detect.Sighting
			if err := feed.Decode(r.Record, &s); err != nil {
				t.Fatalf("line %d: feed rejects the record %s: %v", r.Line, r.Record, err)
			}
		}
		out = append(out, g)
	}
	k := rows.Counts()
	if k.Rows != int64(len(out)) || k.Imported+k.Rejected != k.Rows {
		t.Fatalf("counts %+v for %d rows", k, len(out))
	}
	return out
}

// props decodes a record's properties.
func props(t *testing.T, rec string) map[string]any {
	t.Helper()
	var f struct {
		ID       any `json:"id"`
		Geometry struct {
			Coordinates []float64 `json:"coordinates"`
		} `json:"geometry"`
		Properties map[string]any `json:"properties"`
	}
	if err := json.Unmarshal([]byte(rec), &f); err != nil {
		t.Fatalf("record %s: %v", rec, err)
	}
	p := f.Properties
	if f.ID != nil {
		p["@id"] = f.ID
	}
	if len(f.Geometry.Coordinates) == 2 {
		p["@lon"], p["@lat"] = f.Geometry.Coordinates[0], f.Geometry.Coordinates[1]
	}
	return p
}

var basic = Options{Columns: map[Field]string{Lon: "lon", Lat: "lat", Time: "time"}}

func withCols(o Options, m map[Field]string) Options {
	c := map[Field]string{}
	for k, v := range o.Columns {
		c[k] = v
	}
	for k, v := range m {
		c[k] = v
	}
	o.Columns = c
	return o
}

func TestQuotedFieldsNewlinesBOMAndCRLF(t *testing.T) {
	text := "\xEF\xBB\xBFlon,lat,time,note\r\n" +
		"30.1,48.1,2024-05-01T10:00:00Z,\"a, b\"\r\n" +
		"\r\n" + // blank: no row
		"30.2,48.2,2024-05-01T11:00:00Z,\"two\r\nlines, \"\"quoted\"\"\"\r\n" +
		"30.3,48.3,2024-05-01T12:00:00Z,say \"hi\" there\r\n" +
		"30.4,48.4,2024-05-01T13:00:00Z,\"\"\r\n" +
		"30.5,48.5,2024-05-01T14:00:00Z,last" // no line end
	rows := importText(t, basic, text)
	if len(rows) != 5 {
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	wantLines := []int{2, 4, 6, 7, 8}
	wantNote := []any{"a, b", "two\nlines, \"quoted\"", `say "hi" there`, nil, "last"}
	for i, r := range rows {
		if r.reason != "" {
			t.Fatalf("row %d rejected: %s", i, r.reason)
		}
		if r.line != wantLines[i] {
			t.Errorf("row %d: line %d, want %d", i, r.line, wantLines[i])
		}
		if n := props(t, r.record)["note"]; n != wantNote[i] {
			t.Errorf("row %d: note %q, want %q", i, n, wantNote[i])
		}
	}
	if rows[1].text != "30.2,48.2,2024-05-01T11:00:00Z,\"two\r\nlines, \"\"quoted\"\"\"" {
		t.Errorf("row text %q", rows[1].text)
	}
}

func TestSniffDelimiter(t *testing.T) {
	for _, tc := range []struct {
		text string
		want byte
	}{
		{"lon,lat,time\n1,2,3\n", ','},
		{"lon;lat;time;note\n1;2;3;\"a, b, c, d\"\n", ';'},
		{"lon\tlat\ttime\n1\t2\t3\n", '\t'},
		{"lon|lat|time\n1|2|3\n", '|'},
		// Commas in the notes of a semicolon file do not fool it.
		{"lon;lat;time;note\n30,5;48,1;t;a, b\n30,5;48,1;t;c, d, e\n", ';'},
		// Quoted delimiters in the header do not count.
		{"\"a;b\",lon,lat\n1,2,3\n", ','},
	} {
		if got := sniffDelimiter([]byte(tc.text)); got != tc.want {
			t.Errorf("%q: sniffed %q, want %q", tc.text, got, tc.want)
		}
	}
	if got := sniffDelimiter([]byte("justonecolumn\n1\n")); got != 0 {
		t.Errorf("one column: sniffed %q", got)
	}
}

func TestSemicolonDecimalComma(t *testing.T) {
	rows := importText(t, withCols(basic, map[Field]string{Strength: "n"}),
		"lon;lat;time;n\n30,5;48,25;2024-05-01T10:00:00Z;1,5\n")
	p := props(t, rows[0].record)
	if p["@lon"] != 30.5 || p["@lat"] != 48.25 || p["strength"] != 1.5 {
		t.Fatalf("%v", p)
	}
	// With a comma delimiter, "30,5" in quotes is no number (a thousands
	// separator? a decimal comma? it cannot tell).
	rows = importText(t, basic, "lon,lat,time\n\"30,5\",48,2024-05-01T10:00:00Z\n")
	if !strings.Contains(rows[0].reason, `lon (column "lon") is not a number: "30,5"`) {
		t.Fatalf("reason %q", rows[0].reason)
	}
}

func TestEncodings(t *testing.T) {
	// "Kyïv" and "Zoë’s" in Latin-1 and Windows-1252 bytes.
	latin1 := "lon,lat,time,place\n30,48,2024-05-01T10:00:00Z,Ky\xefv\n"
	rows := importText(t, Options{Columns: basic.Columns, Encoding: Latin1}, latin1)
	if p := props(t, rows[0].record); p["place"] != "Kyïv" {
		t.Fatalf("latin-1: %v", p)
	}
	// Read as UTF-8, the same bytes reject the row, naming the field.
	rows = importText(t, basic, latin1)
	if !strings.HasPrefix(rows[0].reason, "invalid UTF-8 in field 4") {
		t.Fatalf("utf-8: %q", rows[0].reason)
	}
	cp := "lon,lat,time,place\n30,48,2024-05-01T10:00:00Z,Zo\xeb\x92s \x80\n"
	rows = importText(t, Options{Columns: basic.Columns, Encoding: Windows1252}, cp)
	if p := props(t, rows[0].record); p["place"] != "Zoë’s €" {
		t.Fatalf("windows-1252: %v", p)
	}
	// UTF-16 with a byte-order mark, as spreadsheets write "Unicode text"
	// (tab-separated), read whatever the encoding option says.
	text := "lon\tlat\ttime\tplace\r\n30\t48\t2024-05-01T10:00:00Z\tКиїв 🇺🇦\r\n"
	for _, le := range []bool{true, false} {
		var b bytes.Buffer
		if le {
			b.Write([]byte{0xFF, 0xFE})
		} else {
			b.Write([]byte{0xFE, 0xFF})
		}
		for _, u := range utf16.Encode([]rune(text)) {
			if le {
				b.Write([]byte{byte(u), byte(u >> 8)})
			} else {
				b.Write([]byte{byte(u >> 8), byte(u)})
			}
		}
		rows = importText(t, basic, b.String())
		if len(rows) != 1 || rows[0].reason != "" {
			t.Fatalf("utf-16 (le %v): %+v", le, rows)
		}
		if p := props(t, rows[0].record); p["place"] != "Київ 🇺🇦" {
			t.Fatalf("utf-16 (le %v): %v", le, p)
		}
	}
	for _, name := range []string{"utf-8", "UTF8", "latin-1", "ISO-8859-1", "windows-1252", "cp1252", "utf-16", "UTF-16LE", "utf-16be"} {
		if _, err := ParseEncoding(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ParseEncoding("ebcdic"); err == nil {
		t.Error("ebcdic accepted")
	}
}

func TestTimes(t *testing.T) {
	for _, tc := range []struct {
		format, tz, value string
		want              string // time, or "!" + the start of the reason
		uncertainty       any
	}{
		{"", "", "2024-05-01T10:00:00Z", "2024-05-01T10:00:00Z", nil},
		{"", "", "2024-05-01t10:00:00.1234567z", "2024-05-01T10:00:00.123456Z", nil},
		{"", "", "2024-05-01T10:00:00+02:00", "2024-05-01T08:00:00Z", nil},
		{"", "", "2024-05-01 10:00-0130", "2024-05-01T11:30:00Z", nil},
		{"", "", `"2024-05-01T10:00:00,5+03"`, "2024-05-01T07:00:00.5Z", nil},
		{"", "", "2024-05-01 10:00:00", "!time (column \"time\") has no zone: \"2024-05-01 10:00:00\" (give --tz)", nil},
		{"", "Europe/Kyiv", "2024-05-01 10:00:00", "2024-05-01T07:00:00Z", nil},
		{"", "Europe/Kyiv", "2024-01-15 10:00", "2024-01-15T08:00:00Z", nil},
		{"", "+05:30", "2024-05-01T10:00", "2024-05-01T04:30:00Z", nil},
		{"", "", "2024-05-01", "!time (column \"time\") has no zone", nil},
		// A date alone is the whole day: its middle, ±12 h.
		{"", "UTC", "2024-05-01", "2024-05-01T12:00:00Z", 43200.0},
		{"", "Europe/Kyiv", "2024-05-01", "2024-05-01T09:00:00Z", 43200.0},
		// A day with a change of clocks has 23 hours.
		{"", "Europe/Kyiv", "2024-03-31", "2024-03-31T09:30:00Z", 41400.0},
		{"", "", "2024-02-30T10:00:00Z", "!time (column \"time\") is not a date-time", nil},
		{"", "", "yesterday", "!time (column \"time\") is not a date-time as an ISO 8601", nil},
		{"02/01/2006 15:04", "Europe/Kyiv", "20/01/2015 14:30", "2015-01-20T12:30:00Z", nil},
		{"02/01/2006 15:04", "", "20/01/2015 14:30", "!time (column \"time\") has no zone", nil},
		{"02/01/2006 15:04", "", "20-01-2015", "!time (column \"time\") is not a date-time as --time-format \"02/01/2006 15:04\"", nil},
		{"2006-01-02T15:04:05Z07:00|02 January 2006", "UTC", "15 January 2015", "2015-01-15T12:00:00Z", 43200.0},
		{"2006-01-02T15:04:05Z07:00|02 January 2006", "", "2015-01-15T01:02:03+01:00", "2015-01-15T00:02:03Z", nil},
		// A date layout reads a date with a midnight time, as spreadsheets write it.
		{"2006-01-02", "UTC", "2015-01-20 00:00:00.000", "2015-01-20T12:00:00Z", 43200.0},
		{"2006-01-02", "UTC", "2015-01-20 13:00:00.000", "!time (column \"time\") is not a date-time", nil},
		// An hour-only offset is a zone: GDAL writes +00.
		{"2006/01/02 15:04:05-07", "", "2014/01/22 00:00:00+00", "2014-01-22T00:00:00Z", nil},
		{"2006/01/02 15:04:05-07", "", "2014/01/22 10:00:00+03", "2014-01-22T07:00:00Z", nil},
		{"2006/01/02 15:04:05-07", "", "2014/01/22 10:00:00", "!time (column \"time\") is not a date-time as --time-format", nil},
		{"2006-01-02 15:04:05 -0700", "", "2014-01-22 10:00:00 +0530", "2014-01-22T04:30:00Z", nil},
		// GDAL's date-time forms (ogr2ogr -f CSV) need no --time-format.
		{"", "", "2014/01/22 00:00:00+00", "2014-01-22T00:00:00Z", nil},
		{"", "", "2014/01/22 10:30:00.5+0530", "2014-01-22T05:00:00.5Z", nil},
		{"", "", "2014/01/22 10:30:00", "!time (column \"time\") has no zone", nil},
		{"", "UTC", "2014/01/22", "2014-01-22T12:00:00Z", 43200.0},
		{"", "", "2014/01-22", "!time (column \"time\") is not a date-time", nil},
		{"2006-01-02|2006/01/02", "UTC", "2014/01/22 00:00:00+00", "2014-01-22T12:00:00Z", 43200.0},
		{"unix", "", "1714557600", "2024-05-01T10:00:00Z", nil},
		{"unix", "", "1714557600.25", "2024-05-01T10:00:00.25Z", nil},
		{"unixms", "", "1714557600250", "2024-05-01T10:00:00.25Z", nil},
		{"unix", "", "1e300", "!time (column \"time\") is out of range", nil},
		{"", "", "10000-01-01T00:00:00Z", "!time (column \"time\") is not a date-time", nil},
		{"", "", "0000-01-01T00:30:00+01:00", "!time (column \"time\") is out of range", nil},
		// SPEC §2: a sighting's time lies in the years 1000–8999.
		{"", "", "8999-12-31T23:59:59.999999Z", "8999-12-31T23:59:59.999999Z", nil},
		{"", "", "1000-01-01T00:00:00Z", "1000-01-01T00:00:00Z", nil},
		{"", "", "9999-12-31T23:59:59.999999Z", "!time (column \"time\") is out of range", nil},
		{"", "", "0999-12-31T23:59:59Z", "!time (column \"time\") is out of range", nil},
		{"", "UTC", "0999-12-31", "!time (column \"time\") is out of range", nil},
		{"", "", "1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.5Z", nil},
	} {
		rows := importText(t, Options{Columns: basic.Columns, TimeFormat: tc.format, TZ: tc.tz},
			"lon,lat,time\n30,48,"+tc.value+"\n")
		r := rows[0]
		if strings.HasPrefix(tc.want, "!") {
			if !strings.HasPrefix(r.reason, tc.want[1:]) {
				t.Errorf("%q (%q, %q): reason %q, want %q…", tc.value, tc.format, tc.tz, r.reason, tc.want[1:])
			}
			continue
		}
		if r.reason != "" {
			t.Errorf("%q (%q, %q): rejected: %s", tc.value, tc.format, tc.tz, r.reason)
			continue
		}
		p := props(t, r.record)
		if p["time"] != tc.want || p["time_uncertainty_s"] != tc.uncertainty {
			t.Errorf("%q (%q, %q): time %v ± %v, want %v ± %v", tc.value, tc.format, tc.tz, p["time"], p["time_uncertainty_s"], tc.want, tc.uncertainty)
		}
	}
}

func TestTimeSpan(t *testing.T) {
	opt := Options{Columns: withCols(basic, map[Field]string{TimeEnd: "end"}).Columns, TimeFormat: "2006-01-02", TZ: "UTC"}
	rows := importText(t, opt, "lon,lat,time,end\n"+
		"30,48,2015-01-20,2015-01-20\n"+ // one day
		"30,48,2015-01-20,2015-01-26\n"+ // a week
		"30,48,2015-01-20,\n"+ // no end: the day
		"30,48,2015-01-20,2015-01-19\n"+ // before
		"30,48,2015-01-20,soon\n")
	want := []struct {
		time string
		unc  float64
	}{{"2015-01-20T12:00:00Z", 43200}, {"2015-01-23T12:00:00Z", 302400}, {"2015-01-20T12:00:00Z", 43200}}
	for i, w := range want {
		p := props(t, rows[i].record)
		if p["time"] != w.time || p["time_uncertainty_s"] != w.unc {
			t.Errorf("row %d: %v ± %v, want %v ± %v", i, p["time"], p["time_uncertainty_s"], w.time, w.unc)
		}
		if _, ok := p["end"]; ok {
			t.Errorf("row %d: the end column is carried", i)
		}
	}
	if r := rows[3].reason; r != `time-end (column "end") is before the time: "2015-01-19"` {
		t.Errorf("reason %q", r)
	}
	if r := rows[4].reason; !strings.HasPrefix(r, `time-end (column "end") is not a date-time`) {
		t.Errorf("reason %q", r)
	}
	// Date-times: the middle, half the span; an explicit uncertainty wins.
	opt = Options{Columns: withCols(basic, map[Field]string{TimeEnd: "end", TimeUncertainty: "u"}).Columns}
	rows = importText(t, opt, "lon,lat,time,end,u\n30,48,2024-05-01T10:00:00Z,2024-05-01T12:00:00Z,\n30,48,2024-05-01T10:00:00Z,2024-05-01T12:00:00Z,60\n")
	if p := props(t, rows[0].record); p["time"] != "2024-05-01T11:00:00Z" || p["time_uncertainty_s"] != 3600.0 {
		t.Errorf("%v", p)
	}
	if p := props(t, rows[1].record); p["time"] != "2024-05-01T11:00:00Z" || p["time_uncertainty_s"] != 60.0 {
		t.Errorf("%v", p)
	}
}

func TestFieldsConstantsAndCarried(t *testing.T) {
	opt := Options{Columns: map[Field]string{
		Lon: "x", Lat: "y", Time: "when", ID: "ref", Side: "=UA", Kind: "what", Track: "unit",
		Strength: "n", Confidence: "conf", PrecisionM: "prec", Source: "who",
	}}
	text := "ref,x,y,when,what,unit,n,conf,prec,who,side,note,,note,kind\n" +
		"17, 30.5 ,48.1,2024-05-01T10:00:00Z,Fire,u1,3,0.8,250,obs-7,B,hello,anon,again,k\n" +
		",30.5,48.1,2024-05-01T10:00:00Z,,,,,,,,,,,\n"
	rows := importText(t, opt, text)
	p := props(t, rows[0].record)
	want := map[string]any{
		"@id": "17", "@lon": 30.5, "@lat": 48.1, "time": "2024-05-01T10:00:00Z", "side": "UA", "kind": "fire",
		"track": "u1", "strength": 3.0, "confidence": 0.8, "precision_m": 250.0, "source": "obs-7",
		// Columns no field takes are carried; names that are sighting
		// properties get csv_; an empty name is column_N; a repeated one _2.
		"csv_side": "B", "note": "hello", "column_13": "anon", "note_2": "again", "csv_kind": "k",
	}
	if len(p) != len(want) {
		t.Errorf("properties %v, want %v", p, want)
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("%s = %v, want %v", k, p[k], v)
		}
	}
	// Empty cells are absent fields (the id too: a hash id then).
	p = props(t, rows[1].record)
	if len(p) != 4 || p["side"] != "UA" {
		t.Errorf("empty row: %v", p)
	}
	// The Feature is written in a fixed order.
	if !strings.HasPrefix(rows[0].record, `{"type":"Feature","id":"17","geometry":{"type":"Point","coordinates":[30.5,48.1]},"properties":{"time":"2024-05-01T10:00:00Z","side":"UA","kind":"fire","track":"u1","confidence":0.8,"strength":3,"precision_m":250,"source":"obs-7"`) {
		t.Errorf("record %s", rows[0].record)
	}
}

func TestNumbersAsWritten(t *testing.T) {
	// JSON numbers are copied as they stand; others are rewritten.
	rows := importText(t, withCols(basic, map[Field]string{Strength: "n"}),
		"lon,lat,time,n\n30.10,+48.0,2024-05-01T10:00:00Z,007\n-0,.5,2024-05-01T10:00:00Z,1E2\n1e-400,5.,2024-05-01T10:00:00Z,2e21\n")
	for i, want := range []string{
		`"coordinates":[30.10,48]},"properties":{"time":"2024-05-01T10:00:00Z","strength":7}`,
		`"coordinates":[-0,0.5]},"properties":{"time":"2024-05-01T10:00:00Z","strength":1E2}`,
		`"coordinates":[1e-400,5]},"properties":{"time":"2024-05-01T10:00:00Z","strength":2e21}`,
	} {
		if !strings.Contains(rows[i].record, want) {
			t.Errorf("row %d: %s, want %s", i, rows[i].record, want)
		}
	}
}

// Every rejection reason, one row each.
func TestRejections(t *testing.T) {
	opt := Options{Columns: map[Field]string{
		Lon: "lon", Lat: "lat", Time: "time", Kind: "kind", Confidence: "conf", Strength: "n",
		PrecisionM: "prec", TimeUncertainty: "unc",
	}, MaxRow: 200}
	long := strings.Repeat("x", 300)
	text := "lon,lat,time,kind,conf,n,prec,unc,note\n" +
		"30,48,2024-05-01T10:00:00Z,,,,,,ok\n" + // 2: imported
		"30,48,2024-05-01T10:00:00Z,,,,\n" + // 3
		"30,48,2024-05-01T10:00:00Z,,,,,,\"a\"b\n" + // 4
		"30,48,2024-05-01T10:00:00Z,,,,,,\xff\n" + // 5
		",48,2024-05-01T10:00:00Z,,,,,,\n" + // 6
		"east,48,2024-05-01T10:00:00Z,,,,,,\n" + // 7
		"180.5,48,2024-05-01T10:00:00Z,,,,,,\n" + // 8
		"30,-91,2024-05-01T10:00:00Z,,,,,,\n" + // 9
		"30,NaN,2024-05-01T10:00:00Z,,,,,,\n" + // 10
		"30,48,,,,,,,\n" + // 11
		"30,48,2024-05-01 10:00,,,,,,\n" + // 12
		"30,48,May 1,,,,,,\n" + // 13
		"30,48,2024-05-01T10:00:00Z,patrol,,,,,\n" + // 14
		"30,48,2024-05-01T10:00:00Z,,0,,,,\n" + // 15
		"30,48,2024-05-01T10:00:00Z,,high,,,,\n" + // 16
		"30,48,2024-05-01T10:00:00Z,,,-1,,,\n" + // 17
		"30,48,2024-05-01T10:00:00Z,,,,-5,,\n" + // 18
		"30,48,2024-05-01T10:00:00Z,,,,,-1,\n" + // 19
		"30,48,2024-05-01T10:00:00Z,,,,,,1e999\n" + // 20: a carried text, fine
		"30,48,2024-05-01T10:00:00Z,,,Inf,,,\n" + // 21
		"30,48,2024-05-01T10:00:00Z,,,,,,\"" + long + "\"\n" + // 22
		"30,48,2024-05-01T10:00:00Z,,,,,," + long + "\n" + // 23
		"30,48,2024-05-01T10:00:00Z,,,,,,\"a\n" + // 24: not closed: this line is the row
		"30,48,2024-05-01T10:00:00Z,,,,,,after\n" // 25: read again
	want := []struct {
		line   int
		reason string
	}{
		{2, ""},
		{3, "row has 7 fields, the header 9"},
		{4, `text after the closing quote of field 9: "b"`},
		{5, "invalid UTF-8 in field 9 (is the file Latin-1 or Windows-1252? give --encoding)"},
		{6, `lon (column "lon") is empty`},
		{7, `lon (column "lon") is not a number: "east"`},
		{8, `lon (column "lon") is out of range [-180, 180]: "180.5"`},
		{9, `lat (column "lat") is out of range [-90, 90]: "-91"`},
		{10, `lat (column "lat") is not a number: "NaN"`},
		{11, `time (column "time") is empty`},
		{12, `time (column "time") has no zone: "2024-05-01 10:00" (give --tz)`},
		{13, `time (column "time") is not a date-time as an ISO 8601 / RFC 3339 date-time (or give --time-format): "May 1"`},
		{14, `kind (column "kind") must be ground or fire, got "patrol" (map it with --map)`},
		{15, `confidence (column "conf") must be in (0, 1], got "0"`},
		{16, `confidence (column "conf") is not a number: "high"`},
		{17, `strength (column "n") must not be negative, got "-1"`},
		{18, `precision_m (column "prec") must not be negative, got "-5"`},
		{19, `time_uncertainty_s (column "unc") must not be negative, got "-1"`},
		{20, ""},
		{21, `strength (column "n") is not a number: "Inf"`},
		{22, "row longer than 200 bytes (a quoted field not closed?)"},
		{23, "row longer than 200 bytes"},
		{24, "a quoted field is not closed before the end of the input"},
		{25, ""},
	}
	rows := importText(t, opt, text)
	if len(rows) != len(want) {
		for _, r := range rows {
			t.Logf("%d %q", r.line, r.reason)
		}
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i, w := range want {
		if rows[i].line != w.line || rows[i].reason != w.reason {
			t.Errorf("row %d: line %d %q, want line %d %q", i, rows[i].line, rows[i].reason, w.line, w.reason)
		}
	}
	if rows[1].text != "30,48,2024-05-01T10:00:00Z,,,," {
		t.Errorf("rejected row text %q", rows[1].text)
	}
	// A quoted field may run over lines; a row that does on an unbalanced
	// quote says so when it comes out with too many fields.
	rows = importText(t, basic, "lon,lat,time\n30,48,\"2024\n30,48,2024\"\n30,48,2024-05-01T10:00:00Z\n")
	if !strings.HasPrefix(rows[0].reason, `time (column "time") is not a date-time`) || rows[1].line != 4 || rows[1].reason != "" {
		t.Fatalf("%+v", rows)
	}
	rows = importText(t, basic, "lon,lat,time\n30,\"48\n\",2024,x\n30,48,2024-05-01T10:00:00Z\n")
	if rows[0].reason != "row has 4 fields, the header 3 (it runs over lines 2–3: an unbalanced quote?)" || rows[1].line != 4 {
		t.Fatalf("%+v", rows)
	}
}

func TestHeaderErrors(t *testing.T) {
	im, err := New(basic)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ text, want string }{
		{"", "t.csv: empty file: no header row"},
		{"\n\n", "t.csv: empty file: no header row"},
		{"lon,lat\n1,2\n", `t.csv: --time: no column "time" in the header (columns: lon, lat)`},
		{"Lon,lat,time,LON\n", `t.csv: --lon: column "lon" matches "Lon" and "LON"`},
		{"lon,lat,time,lon\n", `t.csv: --lon: column "lon" appears twice in the header`},
		{"onecolumn\n", "t.csv: cannot tell the delimiter from the header (give --delimiter)"},
		{"lon,lat,\"time\n", "t.csv: line 1: the header row: a quoted field is not closed"},
		{"lon,lat,t\xefme\n", "t.csv: the header is not UTF-8"},
	} {
		_, err := im.Rows("t.csv", strings.NewReader(tc.text))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.text, err, tc.want)
		}
	}
	// Columns match ignoring case when no exact match.
	rows := importText(t, basic, "LON,Lat,TIME\n30,48,2024-05-01T10:00:00Z\n")
	if rows[0].reason != "" {
		t.Fatal(rows[0].reason)
	}
}

func TestOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		opt  Options
		want string
	}{
		{withCols(Options{}, map[Field]string{Lon: "x", Time: "t"}), "--lat: a column is required with --lon"},
		{Options{Dialect: "gdelt"}, `unknown dialect "gdelt"`},
		{withCols(basic, map[Field]string{Kind: "=patrol"}), "--kind: must be ground or fire"},
		{withCols(basic, map[Field]string{Confidence: "=2"}), "--confidence: confidence (constant) must be in (0, 1]"},
		{withCols(basic, map[Field]string{Lon: "=200"}), "--lon: lon (constant) is out of range"},
		{withCols(basic, map[Field]string{Time: "=yesterday"}), "--time: time (constant) is not a date-time"},
		{withCols(basic, map[Field]string{TimeEnd: "=2024-01-01T00:00:00Z"}), "--time-end must name a column"},
		{Options{Columns: basic.Columns, TZ: "Mars/Olympus"}, `--tz "Mars/Olympus"`},
		{Options{Columns: basic.Columns, TimeFormat: "15:04"}, `--time-format "15:04": layout "15:04" lacks the year`},
		{Options{Columns: basic.Columns, Delimiter: '"'}, "--delimiter"},
		// Go reads a zone abbreviation it does not know as UTC.
		{Options{Columns: basic.Columns, TimeFormat: "2006-01-02 15:04 MST"}, `--time-format "2006-01-02 15:04 MST": layout "2006-01-02 15:04 MST" has a zone abbreviation (MST)`},
	} {
		_, err := New(tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.opt, err, tc.want)
		}
	}
}

func TestValueMaps(t *testing.T) {
	m, err := ParseMap([]byte(`
side:
  "Military Forces of Russia (2000-)": RU
  "*ukrain*": UA
  "*": ""
kind:
  shelling: fire
  patrol: ground
precision_m:
  1: 2000
  "2": 25000
  "": 5000
confidence:
  high: 0.9
  "*": 0.5
`))
	if err != nil {
		t.Fatal(err)
	}
	opt := Options{Map: m, Columns: withCols(basic, map[Field]string{Side: "actor", Kind: "what", PrecisionM: "prec", Confidence: "c"}).Columns}
	rows := importText(t, opt, "lon,lat,time,actor,what,prec,c\n"+
		"30,48,2024-05-01T10:00:00Z,Military Forces of Russia (2000-),shelling,1,high\n"+
		"30,48,2024-05-01T10:00:00Z,Military Forces of UKRAINE (2019-),patrol,2,low\n"+
		"30,48,2024-05-01T10:00:00Z,Protesters,FIRE,,\n"+
		"30,48,2024-05-01T10:00:00Z,x,ground,3,\n"+
		"30,48,2024-05-01T10:00:00Z,x,raid,1,\n")
	want := []map[string]any{
		{"side": "RU", "kind": "fire", "precision_m": 2000.0, "confidence": 0.9, "actor": "Military Forces of Russia (2000-)", "what": "shelling", "prec": "1", "c": "high"},
		{"side": "UA", "kind": "ground", "precision_m": 25000.0, "confidence": 0.5},
		{"side": nil, "kind": "fire", "precision_m": 5000.0, "confidence": 0.5},
	}
	for i, w := range want {
		p := props(t, rows[i].record)
		for k, v := range w {
			if p[k] != v {
				t.Errorf("row %d: %s = %v, want %v (%v)", i, k, p[k], v, p)
			}
		}
	}
	if r := rows[3].reason; r != `precision_m (column "prec"): "3" is not in the map` {
		t.Errorf("reason %q", r)
	}
	if r := rows[4].reason; r != `kind (column "what") must be ground or fire, got "raid" (map it with --map)` {
		t.Errorf("reason %q", r)
	}
	// A mapped number's empty cell needs an entry.
	m2, _ := ParseMap([]byte("precision_m: {1: 10}\n"))
	rows = importText(t, Options{Map: m2, Columns: withCols(basic, map[Field]string{PrecisionM: "p"}).Columns},
		"lon,lat,time,p\n30,48,2024-05-01T10:00:00Z,\n")
	if r := rows[0].reason; r != `precision_m (column "p") is empty, and the map has no entry for an empty cell` {
		t.Errorf("reason %q", r)
	}

	for _, tc := range []struct{ yaml, want string }{
		{"sides: {a: b}", `unknown section "sides"`},
		{"side: [a, b]", `section "side": want a mapping`},
		{"side: {a: [b]}", `the value of "a" must be text`},
		{"side: {a: b, a: c}", `section "side": key "a" given twice`},
		{"side: {a: b}\nside: {c: d}", `line 2: section "side" given twice`},
		{"side: {'*': a, '*': b}", `section "side": "*" given twice`},
		{"- a\n- b", "want a mapping of sections"},
		{"side: {a: b}\n---\nkind: {}", "more than one YAML document"},
		{"lon: {a: 1}", `unknown section "lon"`},
	} {
		_, err := ParseMap([]byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.yaml, err, tc.want)
		}
	}
	if m, err := ParseMap(nil); err != nil || m == nil {
		t.Errorf("empty map: %v", err)
	}
}

func TestPatterns(t *testing.T) {
	for _, tc := range []struct {
		pat, s string
		want   bool
	}{
		{"*russia*", "military forces of russia (2000-)", true},
		{"*russia*", "russia", true},
		{"nafs*", "nafs: x", true},
		{"nafs*", "the nafs", false},
		{"*(2000-)", "forces (2000-)", true},
		{"a*b*c", "abc", true},
		{"a*b*c", "axbxc", true},
		{"a*b*c", "acb", false},
		{"ab*ba", "aba", false},
	} {
		p := pattern{parts: strings.Split(tc.pat, "*")}
		if got := p.match(tc.s); got != tc.want {
			t.Errorf("%q ~ %q: %v", tc.pat, tc.s, got)
		}
	}
}

func TestMapOverPreset(t *testing.T) {
	// A --map section replaces the preset's entries one by one; its "*"
	// replaces the preset's flagged catch-all.
	m, _ := ParseMap([]byte("kind:\n  Protests: ground\n  Attack: fire\nprecision_m:\n  \"1\": 500\n"))
	im, err := New(Options{Dialect: ACLED, Map: m})
	if err != nil {
		t.Fatal(err)
	}
	rows := importWith(t, im, "event_id_cnty,event_date,sub_event_type,latitude,longitude,geo_precision\n"+
		"X1,2024-05-01,Attack,48,30,1\nX2,2024-05-01,Armed clash,48,30,2\nX3,2024-05-01,Looting/property destruction,48,30,3\n")
	p := props(t, rows[0].record)
	if p["kind"] != "fire" || p["precision_m"] != 500.0 || rows[0].flag {
		t.Errorf("%v", p)
	}
	if p := props(t, rows[1].record); p["kind"] != "ground" || p["precision_m"] != 25000.0 || rows[1].flag {
		t.Errorf("%v", p)
	}
	if p := props(t, rows[2].record); p["kind"] != "ground" || p[FlagProperty] != FlagKind || !rows[2].flag {
		t.Errorf("%v", p)
	}
	m, _ = ParseMap([]byte("kind: {'*': fire}\n"))
	im, _ = New(Options{Dialect: ACLED, Map: m})
	rows = importWith(t, im, "event_id_cnty,event_date,sub_event_type,latitude,longitude\nX3,2024-05-01,Looting/property destruction,48,30\n")
	if p := props(t, rows[0].record); p["kind"] != "fire" || rows[0].flag {
		t.Errorf("%v", p)
	}
}

func TestSourceLinesAndRejects(t *testing.T) {
	im, err := New(basic)
	if err != nil {
		t.Fatal(err)
	}
	text := "\n\nlon,lat,time\n30,48,2024-05-01T10:00:00Z\n\n30,48,\"2024-05-01T10:00:00Z\n\"\n30,x,2024-05-01T10:00:00Z\n31,48,2024-05-01T11:00:00Z\n"
	src, err := im.Source("t.csv", strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	var reasons []string
	for {
		rec, err := src.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, rec.Line)
		var s detect.Sighting
		derr := feed.Decode(rec.Raw, &s)
		row, reason, ok := RejectedRow(rec)
		if ok != (derr != nil) {
			t.Fatalf("line %d: rejected row %v, decode error %v", rec.Line, ok, derr)
		}
		if ok {
			reasons = append(reasons, reason+" | "+string(row.Raw))
		}
	}
	if want := []int{4, 6, 8, 9}; !equalInts(lines, want) {
		t.Errorf("lines %v, want %v", lines, want)
	}
	if len(reasons) != 1 || reasons[0] != `lat (column "lat") is not a number: "x" | 30,x,2024-05-01T10:00:00Z` {
		t.Errorf("rejects %q", reasons)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A reader that hands out one byte at a time must give the same rows.
func TestSmallReads(t *testing.T) {
	text := "lon;lat;time;note\r\n30,1;48;2024-05-01T10:00:00Z;\"a;\"\"b\"\"\r\nc\"\r\n31;48;2024-05-01T10:00:00Z;\"\"\r\n32;48;2024-05-01T10:00:00Z;\"x\r\n"
	im, _ := New(basic)
	want := importWith(t, im, text)
	rows, err := im.Rows("t.csv", oneByte{strings.NewReader(text)})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		r, err := rows.Next()
		if err == io.EOF {
			if i != len(want) {
				t.Fatalf("%d rows, want %d", i, len(want))
			}
			break
		}
		if r.Line != want[i].line || string(r.Record) != want[i].record || r.Reason != want[i].reason || string(r.Text) != want[i].text {
			t.Fatalf("row %d: %d %s %q, want %+v", i, r.Line, r.Record, r.Reason, want[i])
		}
	}
}

type oneByte struct{ r io.Reader }

func (o oneByte) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}
