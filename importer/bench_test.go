package importer

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"testing"
)

// benchCSV writes n rows of an analyst's log: twelve columns, every
// sighting field, a third of the notes quoted (with a comma inside).
func benchCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("id,time,lon,lat,side,kind,track,strength,confidence,precision_m,source,note\n")
	notes := []string{"patrol", "shelling seen", `"a, b"`}
	for i := range n {
		fmt.Fprintf(&b, "%d,2024-05-%02dT%02d:%02d:%02dZ,%.5f,%.5f,%s,%s,u%d,%d,0.%d,%d,obs%d,%s\n",
			i, 1+i%28, i%24, i%60, (i*7)%60, 30+float64(i%100000)/100000, 48+float64(i%77777)/77777,
			[]string{"A", "B"}[i%2], []string{"ground", "fire", "ground"}[i%3], i%50, 1+i%30, 5+i%5,
			[]int{0, 50, 500}[i%3], i%7, notes[i%3])
	}
	return b.Bytes()
}

var benchOptions = Options{Columns: map[Field]string{
	ID: "id", Time: "time", Lon: "lon", Lat: "lat", Side: "side", Kind: "kind", Track: "track",
	Strength: "strength", Confidence: "confidence", PrecisionM: "precision_m", Source: "source",
}}

// BenchmarkImportCSV measures `import csv` without the files: rows read,
// converted and written to a buffered discarding writer, on one
// goroutine. rows/s is the figure; B/row shows that memory does not grow
// with the input (the reader's buffer and the record are reused).
//
//	go test -run '^$' -bench ImportCSV -benchmem ./importer
func BenchmarkImportCSV(b *testing.B) {
	for _, n := range []int{10_000, 1_000_000} {
		data := benchCSV(n)
		b.Run(strconv.Itoa(n)+"rows", func(b *testing.B) {
			im, err := New(benchOptions)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			rows := 0
			for b.Loop() {
				rows += importAll(b, im, data)
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(rows), "B/row")
		})
	}
}

func importAll(b *testing.B, im *Importer, data []byte) int {
	rs, err := im.Rows("bench.csv", bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(io.Discard, 256<<10)
	n := 0
	for {
		r, err := rs.Next()
		if err == io.EOF {
			break
		}
		if err != nil || r.Record == nil {
			b.Fatalf("%v %s", err, r.Reason)
		}
		w.Write(r.Record)
		w.WriteByte('\n')
		n++
	}
	w.Flush()
	return n
}
