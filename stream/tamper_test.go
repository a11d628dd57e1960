package stream_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/stream"
)

// Someone with access to the server deletes the engine's consumer, deletes
// its stream or pauses the consumer: the driver stops with an error that
// says so, and /healthz stops answering ok; it never goes on quietly
// consuming nothing.
func TestTamperingStopsTheDriver(t *testing.T) {
	line := loadLine(t, "front-2024")
	pol := detect.DefaultPolicy()
	data := generate(t, line, scenario(t, 400, 11))
	for _, c := range []struct {
		name   string
		tamper func(ctx context.Context, js jetstream.JetStream) error
		says   string
	}{
		{"consumer deleted", func(ctx context.Context, js jetstream.JetStream) error {
			return js.DeleteConsumer(ctx, testStream, "linewatch")
		}, "consumer linewatch was deleted"},
		{"stream deleted", func(ctx context.Context, js jetstream.JetStream) error {
			return js.DeleteStream(ctx, testStream)
		}, "stream LINEWATCH_SIGHTINGS was deleted"},
		{"consumer paused", func(ctx context.Context, js jetstream.JetStream) error {
			_, err := js.PauseConsumer(ctx, testStream, "linewatch", time.Now().Add(time.Hour))
			return err
		}, "paused"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			b := startBroker(t, filepath.Join(dir, "broker"))
			defer b.Close()
			log, err := stream.OpenLog(filepath.Join(dir, "alerts.geojsonl"), nil)
			if err != nil {
				t.Fatal(err)
			}
			sink := stream.NewFileSink(log)
			defer sink.Close()
			m := stream.NewMetrics()
			d := stream.New(stream.Config{Judge: detect.NewJudge(line, pol), Alerts: sink, Metrics: m})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- d.Run(ctx, &stream.NATSSource{Broker: b, Consumer: "linewatch", Metrics: m}) }()
			n := publish(t, b.JS, data)
			waitFor(t, "the records to be processed", 30*time.Second, func() bool {
				select {
				case err := <-done:
					t.Fatalf("the driver stopped before the %s: %v", c.name, err)
				default:
				}
				h := m.Health()
				return h.Consumed != nil && *h.Consumed == uint64(n)
			})
			if err := c.tamper(ctx, b.JS); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err == nil || errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), c.says) {
					t.Fatalf("the driver stopped with %v, want an error saying %q", err, c.says)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("the driver goes on after the %s (health %+v)", c.name, m.Health())
			}
			if h := m.Health(); h.Status == "ok" {
				t.Fatalf("health after the %s: %+v", c.name, h)
			}
		})
	}
}

// Records purged from the stream before the engine consumed them are
// lost: /healthz says so at once, and the driver stops with that error.
func TestPurgeOfUnconsumedRecordsStopsTheDriver(t *testing.T) {
	line := loadLine(t, "front-2024")
	pol := detect.DefaultPolicy()
	dir := t.TempDir()
	b := startBroker(t, filepath.Join(dir, "broker"))
	defer b.Close()
	// The rejects go to a pipe nobody reads yet: once its buffer is full
	// the driver waits, and so does the consumer, with most records still
	// in the stream.
	pr, pw := io.Pipe()
	rejects, err := stream.OpenLog("-", pw)
	if err != nil {
		t.Fatal(err)
	}
	log, err := stream.OpenLog(filepath.Join(dir, "alerts.geojsonl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	sink := stream.NewFileSink(log)
	defer sink.Close()
	m := stream.NewMetrics()
	d := stream.New(stream.Config{Judge: detect.NewJudge(line, pol), Alerts: sink, Rejects: rejects, Metrics: m})
	const n = 30_000
	var bad strings.Builder
	for i := range n {
		fmt.Fprintf(&bad, "{\"not a sighting\": %d}\n", i)
	}
	publish(t, b.JS, []byte(bad.String()))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, &stream.NATSSource{Broker: b, Consumer: "linewatch", Metrics: m}) }()
	cons, err := b.JS.Consumer(ctx, testStream, "linewatch")
	for err != nil {
		time.Sleep(10 * time.Millisecond)
		cons, err = b.JS.Consumer(ctx, testStream, "linewatch")
	}
	waitFor(t, "the consumer to stop short of the end", 30*time.Second, func() bool {
		a, _ := cons.Info(ctx)
		time.Sleep(200 * time.Millisecond)
		b, _ := cons.Info(ctx)
		return a != nil && b != nil && a.Delivered.Stream == b.Delivered.Stream && b.Delivered.Stream > 0 && b.Delivered.Stream < n
	})
	if err := b.Stream.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "/healthz to report the lost records", 10*time.Second, func() bool {
		return strings.Contains(strings.Join(m.Health().Problems, " "), "lost records")
	})
	go io.Copy(io.Discard, pr)
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "lost records") || !strings.Contains(err.Error(), fmt.Sprintf("to %d before", n)) {
			t.Fatalf("the driver stopped with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the driver goes on after records it had not consumed were purged")
	}
}
