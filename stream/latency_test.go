package stream_test

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/gen"
	"github.com/linewatch/linewatch/stream"
)

// timedSink notes when the first closed alert is written and flushed.
type timedSink struct {
	stream.AlertSink
	closed  bool
	flushed chan time.Time
}

func (s *timedSink) Write(alert []byte) error {
	if bytes.HasSuffix(alert, []byte(`"status":"closed"}}`)) {
		s.closed = true
	}
	return s.AlertSink.Write(alert)
}

func (s *timedSink) Flush() error {
	err := s.AlertSink.Flush()
	if s.closed {
		select {
		case s.flushed <- time.Now():
		default:
		}
	}
	return err
}

// A closed alert leaves (is flushed to the output) as soon as the record
// that moved the watermark past its episode is processed: not at the next
// checkpoint, which is an hour away here. How soon is a figure for
// benchmarks (scripts/streambench gives the latency histogram), not a
// bound a test on a busy machine can hold.
func TestAlertLatency(t *testing.T) {
	line := loadLine(t, "front-2024")
	pol := detect.DefaultPolicy()
	sc := gen.DefaultScenario()
	sc.Days, sc.Records, sc.Seed = 20, 5_000, 8
	sc.Events = []gen.Event{mustEvent(t, gen.Offensive, "RU:S040-S042:2024-01-15:5d")}
	data := generate(t, line, sc)

	dir := t.TempDir()
	b := startBroker(t, filepath.Join(dir, "broker"))
	defer b.Close()
	n := publish(t, b.JS, data)
	log, err := stream.OpenLog(filepath.Join(dir, "alerts.geojsonl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	sink := &timedSink{AlertSink: stream.NewFileSink(log), flushed: make(chan time.Time, 1)}
	defer sink.Close()
	m := stream.NewMetrics()
	d := stream.New(stream.Config{Judge: detect.NewJudge(line, pol), Alerts: sink, Metrics: m,
		CheckpointEvery: time.Hour, CheckpointRecords: 1 << 40})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, &stream.NATSSource{Broker: b, Consumer: "linewatch", Metrics: m}) }()
	waitFor(t, "the feed to be processed", time.Minute, func() bool {
		h := m.Health()
		return h.Consumed != nil && *h.Consumed == uint64(n)
	})
	if h := m.Health(); h.OpenEpisodes == 0 {
		t.Fatal("no episode open at the end of the feed")
	}
	select {
	case <-sink.flushed:
		t.Fatal("an episode closed before the last record")
	default:
	}
	rec := `{"type":"Feature","id":"late-news","geometry":{"type":"Point","coordinates":[37.5,47.9]},"properties":{"time":"2024-03-01T00:00:00Z","side":"UA"}}`
	start := time.Now()
	if _, err := b.JS.Publish(ctx, "linewatch.sightings.test", []byte(rec)); err != nil {
		t.Fatal(err)
	}
	stored := time.Now()
	select {
	case at := <-sink.flushed:
		lat := at.Sub(stored)
		t.Logf("closed alert flushed %.2f ms after JetStream stored the record (%.2f ms after it was sent)",
			float64(lat.Microseconds())/1000, float64(at.Sub(start).Microseconds())/1000)
	case <-time.After(30 * time.Second):
		t.Fatal("no closed alert flushed: it waits for something other than its record")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
