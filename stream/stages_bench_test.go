package stream

import (
	"bytes"
	"context"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/gen"
	"github.com/linewatch/linewatch/geo"
)

// BenchmarkStages measures the CPU time each stage of the streaming
// pipeline takes, one stage at a time on one goroutine (the JetStream
// stages count the embedded server's CPU too), on $LINEWATCH_BENCH_FEED
// or 200,000 generated records in messages of 1,000 records, as the HTTP
// ingest stores them. Each stage reports "cpu-s/Mrec": CPU-seconds per
// million records, the figure docs/scaling.md sizes workers and engines
// with.
//
//	go test -run '^$' -bench Stages -benchtime 1x ./stream/
func BenchmarkStages(b *testing.B) {
	pol := detect.DefaultPolicy()
	line, err := geo.LoadFile("../fixtures/lines/front-2024.geojson", pol.LineOptions())
	if err != nil {
		b.Fatal(err)
	}
	data := benchFeed(b, line)
	judge := detect.NewJudge(line, pol)
	const perMsg = 1000
	// The messages, as batches of one message each.
	var raw [][]byte
	var recs []feed.Record
	src := feed.NewSource("bench", bytes.NewReader(data))
	for {
		r, err := src.Next()
		if err != nil {
			break
		}
		r.Raw = bytes.Clone(r.Raw)
		recs = append(recs, r)
	}
	n := len(recs)
	var batches []*Batch
	for i := 0; i < n; i += perMsg {
		var buf []byte
		for _, r := range recs[i:min(i+perMsg, n)] {
			buf = append(append(buf, r.Raw...), '\n')
		}
		raw = append(raw, buf)
		bt := new(Batch)
		splitMessage(bt, "S", uint64(len(raw)), time.Now().UnixMicro(), buf)
		for j := range bt.Recs { // as the pipeline's reader seals a batch
			bt.Recs[j].Raw = recs[i+j].Raw
		}
		batches = append(batches, bt)
	}
	report := func(b *testing.B, name string, f func()) {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				before := cpuTime()
				f()
				b.ReportMetric((cpuTime()-before).Seconds()/float64(n)*1e6, "cpu-s/Mrec")
			}
		})
	}

	report(b, "split", func() {
		src := feed.NewSource("bench", bytes.NewReader(data))
		for {
			if _, err := src.Next(); err != nil {
				break
			}
		}
	})
	w := newWorker(judge, false, nil)
	report(b, "decode", func() {
		for i := range recs {
			w.pr.Decode(&recs[i])
		}
	})
	report(b, "decode+locate+judge", func() {
		for _, bt := range batches {
			w.prepare(bt)
		}
	})
	var prepared [][]byte
	hdr := &preparedHeader{config: "c", build: "b", worker: "w"}
	report(b, "encode", func() {
		prepared = prepared[:0]
		for _, bt := range batches {
			out, err := appendPrepared(nil, hdr, bt, bt.msgs[0])
			if err != nil {
				b.Fatal(err)
			}
			prepared = append(prepared, out)
		}
	})
	var size int
	for _, p := range prepared {
		size += len(p)
	}
	b.Logf("%d records in %d messages: %d bytes of GeoJSON, %d prepared (%.0f bytes a record)", n, len(raw), len(data), size, float64(size)/float64(n))
	report(b, "take (read + check)", func() {
		for i, bt := range batches {
			m := bt.msgs[0]
			h, err := readPrepared(prepared[i], bt.items[:m.n])
			sum := recordsSum(bt, m)
			if err != nil || !bytes.Equal(h.sum, sum[:]) {
				b.Fatal(err)
			}
		}
	})
	report(b, "engine (in order)", func() {
		out, _ := OpenLog("-", io.Discard)
		d := New(Config{Judge: judge, Alerts: NewFileSink(out)})
		d.restored = true
		for _, bt := range batches {
			w.prepare(bt) // the engine clears what it offered
			before := cpuTime()
			if err := d.process(bt); err != nil {
				b.Fatal(err)
			}
			engineCPU += cpuTime() - before
		}
	})
	b.Run("engine-only", func(b *testing.B) {
		// The previous stage's figure without the preparing it did between
		// batches.
		b.ReportMetric(engineCPU.Seconds()/float64(n)*1e6, "cpu-s/Mrec")
	})

	// JetStream: an embedded server, file storage.
	br, err := StartBroker(context.Background(), BrokerConfig{StoreDir: b.TempDir(), Stream: "S", Subject: "s.>", Duplicates: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()
	publishAll := func(subject func(int) string, msgs [][]byte) {
		for i, m := range msgs {
			if _, err := br.JS.PublishAsync(subject(i), m); err != nil {
				b.Fatal(err)
			}
		}
		<-br.JS.PublishAsyncComplete()
	}
	report(b, "jetstream publish (sightings)", func() {
		publishAll(func(int) string { return "s.gw" }, raw)
	})
	report(b, "jetstream consume (sightings)", func() {
		c, err := br.JS.OrderedConsumer(context.Background(), "S", jetstream.OrderedConsumerConfig{})
		if err != nil {
			b.Fatal(err)
		}
		for range raw {
			m, err := c.Next()
			if err != nil {
				b.Fatal(err)
			}
			m.Data()
		}
	})
	if _, err := EnsurePreparedStream(context.Background(), br.JS, DefaultPreparedStream, 1, time.Hour); err != nil {
		b.Fatal(err)
	}
	seq := 0
	report(b, "jetstream publish (prepared)", func() {
		publishAll(func(int) string { seq++; return preparedSubject("g", uint64(seq)) }, prepared)
	})
}

var engineCPU time.Duration

// cpuTime is the process's CPU time so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchFeed(b *testing.B, line *geo.Line) []byte {
	if name := os.Getenv("LINEWATCH_BENCH_FEED"); name != "" {
		data, err := os.ReadFile(name)
		if err != nil {
			b.Fatal(err)
		}
		return data
	}
	sc := gen.DefaultScenario()
	sc.Days, sc.Records, sc.Conflicting = 60, 200_000, 0
	var buf bytes.Buffer
	if _, err := gen.Generate(line, sc, &buf); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}
