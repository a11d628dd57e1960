// Decode benchmarks. The figures below were measured with
//
//	go test -tags candidates -run XXX -bench . -count 5 -benchmem ./feed/
//
// on a shared 2-core AMD EPYC VM (nproc = 2, Go 1.26, load average 3–5
// from other work, so wall times carry noise; cpu-ns/op is the process's
// CPU time per operation). Medians of 5 runs; the typical record is 292
// bytes: a Point with time, side, kind, track, confidence, strength,
// source and two other properties.
//
//	benchmark                       ns/op  cpu-ns/op  B/op  allocs/op
//	Decode/typical                    529        546   232          3
//	Decode/hash_id (no id)            933        953   240          3
//	Decode/linestring (3 positions)   567        566   152          3
//	DecodeParallel (2 goroutines)     264          -   232          3
//	Source/lines (split only)          23         24    13          0
//	Source/FeatureCollection           246        247    13          0
//	SplitDecode (lines, 1 core)       569        567   245          3
//	Canonical (whole typical record) 1252       1238     0          0
//	Fingerprint (xxHash64, 292 B)      22         22     0          0
//
// Candidates for Decode (candidates_test.go, build tag "candidates"), each
// extracting the same fields from the typical record but checking less:
//
//	encoding/json (3 Unmarshal calls)      6110   5529  1720  41
//	github.com/goccy/go-json v0.12.0       1525   1444   920  26
//	github.com/valyala/fastjson v1.6.10    1059    927   240   6  (*)
//	  with fastjson.Validate first         1300   1227   240   6  (*)
//	hand-written scanner (Decode)           541    574   232   3
//
// The hand-written scanner is the fastest and the only one that checks
// everything SPEC §2 asks in one pass (UTF-8, lone surrogates, numbers too
// large for a double, NaN) while keeping the raw text of properties and the
// exact text of number ids, so Decode uses it; no dependency is needed.
// bytedance/sonic was not measured: it needs amd64-specific JIT code and
// several dependencies, and fastjson's figures bound what a tree-building
// parser costs here. (*) fastjson is no longer a dependency of linewatch,
// and its candidate is gone with it; the figures stay for the record.

package feed

import (
	"bytes"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/linewatch/linewatch/detect"
)

// cpuTime returns the CPU time the process has used. Benchmarks report it
// per operation (cpu-ns/op) beside the wall time, as the wall time of a
// busy shared machine says little.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs op b.N times, reporting the CPU time per operation.
func measure(b *testing.B, op func()) {
	b.ReportAllocs()
	start := cpuTime()
	n := 0
	for b.Loop() {
		op()
		n++
	}
	b.ReportMetric(float64(cpuTime()-start)/float64(n), "cpu-ns/op")
}

func BenchmarkDecode(b *testing.B) {
	records := map[string]string{
		"typical": typical,
		"hash id": `{"type":"Feature","geometry":{"type":"Point","coordinates":[37.61234,47.95321]},` +
			`"properties":{"time":"2024-05-01T10:15:30.250Z","side":"RU","kind":"ground","track":"RU-btg-12",` +
			`"confidence":0.8,"strength":12,"source":"drone-7","unit":"3rd company","note":"column moving west"}}`,
		"linestring": `{"type":"Feature","id":"s-000124","geometry":{"type":"LineString","coordinates":[[37.61234,47.95321],[37.60111,47.95002],[37.59001,47.94877]]},` +
			`"properties":{"time":1714558530.25,"side":"RU","kind":"fire","confidence":0.9,"precision_m":50}}`,
	}
	for _, name := range []string{"typical", "hash id", "linestring"} {
		raw := []byte(records[name])
		b.Run(name, func(b *testing.B) {
			d := NewDecoder()
			var s detect.Sighting
			b.SetBytes(int64(len(raw)))
			measure(b, func() {
				if err := d.Decode(raw, &s); err != nil {
					b.Fatal(err)
				}
			})
		})
	}
}

// BenchmarkDecodeGenerated decodes, as batch and stream workers do
// (Borrow), records of a generated feed with 40 % tracked points and 40 %
// fire (testdata/generated.ndjson: 64 records of `scripts/bench`'s fire
// feed, of which it takes those accepted); an op is one record.
func BenchmarkDecodeGenerated(b *testing.B) {
	data, err := os.ReadFile("testdata/generated.ndjson")
	if err != nil {
		b.Fatal(err)
	}
	d := NewDecoder()
	d.Borrow = true
	var s detect.Sighting
	var recs [][]byte // the accepted ones
	for _, rec := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
		if d.Decode(rec, &s) == nil {
			recs = append(recs, rec)
		}
	}
	b.SetBytes(int64(len(data) / len(recs)))
	i := 0
	measure(b, func() {
		if err := d.Decode(recs[i%len(recs)], &s); err != nil {
			b.Fatal(err)
		}
		i++
	})
}

func BenchmarkDecodeParallel(b *testing.B) {
	raw := []byte(typical)
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		d := NewDecoder()
		var s detect.Sighting
		for pb.Next() {
			if err := d.Decode(raw, &s); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkSource(b *testing.B) {
	var lines, fc bytes.Buffer
	fc.WriteString(`{"type":"FeatureCollection","features":[`)
	for i := 0; i < 10000; i++ {
		lines.WriteString(typical)
		lines.WriteByte('\n')
		if i > 0 {
			fc.WriteByte(',')
		}
		fc.WriteString(typical)
	}
	fc.WriteString("]}")
	for name, in := range map[string][]byte{"lines": lines.Bytes(), "FeatureCollection": fc.Bytes()} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(in)) / 10000)
			n := 0
			var s *Source
			measure(b, func() {
				if n%10000 == 0 {
					s = NewSource("f", bytes.NewReader(in))
				}
				if _, err := s.Next(); err != nil && err != io.EOF {
					b.Fatal(err)
				}
				n++
			})
		})
	}
}

// BenchmarkSplitDecode splits newline-delimited records and decodes each:
// the feed stage of the batch tool on one core.
func BenchmarkSplitDecode(b *testing.B) {
	var lines bytes.Buffer
	for i := 0; i < 10000; i++ {
		lines.WriteString(typical)
		lines.WriteByte('\n')
	}
	in := lines.Bytes()
	d := NewDecoder()
	var sg detect.Sighting
	n := 0
	var s *Source
	b.SetBytes(int64(len(typical) + 1))
	measure(b, func() {
		if n%10000 == 0 {
			s = NewSource("f", bytes.NewReader(in))
		}
		r, err := s.Next()
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Decode(r.Raw, &sg); err != nil {
			b.Fatal(err)
		}
		n++
	})
}

func BenchmarkCanonical(b *testing.B) {
	raw := []byte(typical)
	var c canonicalizer
	var dst []byte
	measure(b, func() {
		var err error
		if dst, err = c.append(dst[:0], raw); err != nil {
			b.Fatal(err)
		}
	})
}

func BenchmarkFingerprint(b *testing.B) {
	raw := []byte(typical)
	b.SetBytes(int64(len(raw)))
	measure(b, func() { Fingerprint(raw) })
}
