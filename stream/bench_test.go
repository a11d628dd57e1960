package stream_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/gen"
	"github.com/linewatch/linewatch/sources"
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

// BenchmarkIngest posts bodies of 1,000 records to the HTTP ingest, which
// stores them in the embedded JetStream, one request at a time (no engine
// consumes them): with tokens (records rewritten, stored a message per
// 1,000) and signed (stored as signed).
func BenchmarkIngest(b *testing.B) {
	for _, signed := range []bool{false, true} {
		name := "token"
		if signed {
			name = "signed"
		}
		b.Run(name, func(b *testing.B) { benchIngest(b, signed) })
	}
}

func benchIngest(b *testing.B, signed bool) {
	line := loadLine(b, "front-2024")
	sc := gen.DefaultScenario()
	sc.Days, sc.Records, sc.Conflicting, sc.Bad = 60, 50_000, 0, 0
	var buf bytes.Buffer
	if _, err := gen.Generate(line, sc, &buf); err != nil {
		b.Fatal(err)
	}
	feed := regexp.MustCompile(`"source":"[^"]*"`).ReplaceAll(buf.Bytes(), []byte(`"source":"obs"`))
	var bodies [][]byte
	recs := bytes.SplitAfter(feed, []byte("\n"))
	for i := 0; i+1000 <= len(recs); i += 1000 {
		bodies = append(bodies, bytes.Join(recs[i:i+1000], nil))
	}
	br := startBroker(b, b.TempDir())
	defer br.Close()
	skey, vkey, _ := note.GenerateKey(rand.Reader, "obs")
	signer, _ := note.NewSigner(skey)
	ver, _ := note.NewVerifier(vkey)
	src := &sources.Source{ID: "obs", Token: "t0k"}
	if signed {
		src = &sources.Source{ID: "obs", Key: vkey, Verifier: ver}
	}
	reg, _ := sources.New(src)
	h := stream.NewIngest(stream.IngestConfig{JS: br.JS, Subject: testSubject, MaxRecord: 1<<20 - 1024, Sources: reg,
		MaxFuture: detect.DefaultPolicy().MaxFuture})
	sigs := make([]string, len(bodies))
	for i, body := range bodies {
		sigs[i], _ = sources.SignBody(signer, "obs", body)
	}
	b.ResetTimer()
	n := 0
	for i := 0; b.Loop(); i++ {
		k := i % len(bodies)
		req := httptest.NewRequest(http.MethodPost, "/v1/sightings", bytes.NewReader(bodies[k]))
		req.Header.Set("Content-Type", "application/geo+json-seq")
		if signed {
			req.Header.Set(sources.SignatureHeader, sigs[k])
		} else {
			req.Header.Set("Authorization", "Bearer t0k")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusAccepted {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
		n += 1000
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
