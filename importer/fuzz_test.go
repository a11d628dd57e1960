package importer

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
)

// FuzzRows: any input ends, every record is a sighting feed accepts, every
// row is imported or rejected, and the rows do not depend on how the
// input is cut into reads.
func FuzzRows(f *testing.F) {
	files, _ := filepath.Glob("../fixtures/import/*.[ctg][se][vo]*")
	for _, name := range files {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("lon,lat,time\n30,48,2024-05-01T10:00:00Z\n"))
	f.Add([]byte("lon;lat;time\n\"30,5\";48;\"2024-05-01T10:00:00Z\"\"\n"))
	f.Add([]byte("lon\tlat\ttime\r\n30\t48\t2024-05-01\r\n\"\r\n"))
	f.Add([]byte(`{"type":"Feature","properties":{"time":"2024-05-01T10:00:00Z","x":[1]},"geometry":{"type":"Point","coordinates":[30,48]}}` + "\n"))
	f.Add([]byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"time":"2024-05-01"},"geometry":null},{}]}`))
	im, err := New(Options{Columns: map[Field]string{Lon: "lon", Lat: "lat", Time: "time"}, TZ: "UTC", MaxRow: 256})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a := fuzzRows(t, im, strings.NewReader(string(data)))
		b := fuzzRows(t, im, oneByte{strings.NewReader(string(data))})
		if len(a) != len(b) {
			t.Fatalf("%d rows, %d read a byte at a time", len(a), len(b))
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("row %d: %+v, a byte at a time %+v", i, a[i], b[i])
			}
		}
	})
}

func fuzzRows(t *testing.T, im *Importer, r io.Reader) []got {
	rows, err := im.Rows("f.csv", r)
	if err != nil {
		return nil
	}
	var out []got
	last := 0
	for {
		row, err := rows.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		at := row.Line // a Feature of a FeatureCollection: its index
		if row.Index >= 0 {
			at = row.Index + 1
		}
		if at <= last {
			t.Fatalf("line %d (index %d) after %d", row.Line, row.Index, last)
		}
		last = at
		if (row.Record == nil) == (row.Reason == "") {
			t.Fatalf("line %d: record %q, reason %q", row.Line, row.Record, row.Reason)
		}
		if row.Record != nil {
			var s detect.Sighting
			if err := feed.Decode(row.Record, &s); err != nil {
				t.Fatalf("line %d: feed rejects %s: %v", row.Line, row.Record, err)
			}
		}
		out = append(out, got{line: row.Line, record: string(row.Record), reason: row.Reason, text: string(row.Text)})
	}
	k := rows.Counts()
	if k.Rows != int64(len(out)) || k.Imported+k.Rejected != k.Rows {
		t.Fatalf("counts %+v for %d rows", k, len(out))
	}
	return out
}
