package importer

import (
	"bytes"
	"compress/gzip"
	"io"
	"strings"
	"testing"
)

// TestOpener: the batch driver's inputs read through the importer, plain
// or gzipped, with rejected rows given back as the rows' text and reasons.
func TestOpener(t *testing.T) {
	text := "lon,lat,time\n30,48,2024-05-01T10:00:00Z\neast,48,2024-05-01T10:00:00Z\n"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(text))
	zw.Close()
	for _, in := range []struct {
		name string
		data []byte
	}{{"plain.csv", []byte(text)}, {"zipped.csv", gz.Bytes()}} {
		im, err := New(basic)
		if err != nil {
			t.Fatal(err)
		}
		o := NewOpener(im)
		src, err := o.Open(in.name, bytes.NewReader(in.data))
		if err != nil {
			t.Fatalf("%s: %v", in.name, err)
		}
		var recs []string
		for {
			rec, err := src.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			r, reason := o.Rejected(rec.Clone(), "not a Feature")
			recs = append(recs, string(r.Raw)+" | "+reason)
		}
		if len(recs) != 2 || !strings.Contains(recs[0], `"time":"2024-05-01T10:00:00Z"`) || !strings.HasSuffix(recs[0], "| not a Feature") ||
			recs[1] != `east,48,2024-05-01T10:00:00Z | lon (column "lon") is not a number: "east"` {
			t.Errorf("%s: records %q", in.name, recs)
		}
		if o.BytesRead() != int64(len(in.data)) {
			t.Errorf("%s: read %d bytes of %d", in.name, o.BytesRead(), len(in.data))
		}
	}
}
