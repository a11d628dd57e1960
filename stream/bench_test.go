package stream_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"testing"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/gen"
	"github.com/linewatch/linewatch/stream"
)

// BenchmarkReaderSource runs the whole pipeline on a GeoJSONSeq feed in
// memory: $LINEWATCH_BENCH_FEED if set, else 200,000 generated records;
// without the log, then with it (kept in a directory).
func BenchmarkReaderSource(b *testing.B) {
	b.Run("nolog", func(b *testing.B) { benchReader(b, false) })
	b.Run("log", func(b *testing.B) { benchReader(b, true) })
}

// benchReader runs the pipeline, with the log in a directory or without.
func benchReader(b *testing.B, withLog bool) {
	pol := detect.DefaultPolicy()
	line := loadLine(b, "front-2024")
	var data []byte
	if name := os.Getenv("LINEWATCH_BENCH_FEED"); name != "" {
		var err error
		if data, err = os.ReadFile(name); err != nil {
			b.Fatal(err)
		}
	} else {
		sc := gen.DefaultScenario()
		sc.Days, sc.Records, sc.Conflicting = 60, 200_000, 0
		var buf bytes.Buffer
		if _, err := gen.Generate(line, sc, &buf); err != nil {
			b.Fatal(err)
		}
		data = buf.Bytes()
	}
	n := bytes.Count(data, []byte{'\n'})
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		log, _ := stream.OpenLog("-", io.Discard)
		cfg := stream.Config{Judge: detect.NewJudge(line, pol), Alerts: stream.NewFileSink(log), Finite: true}
		if withLog {
			cfg.Log = newTestLog(b, b.TempDir())
		}
		d := stream.New(cfg)
		if err := d.Run(context.Background(), &stream.ReaderSource{Name: "-", R: bytes.NewReader(data)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
