package stream_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/sources"
	"github.com/linewatch/linewatch/stream"
)

const (
	testStream  = "LINEWATCH_SIGHTINGS"
	testSubject = "linewatch.sightings.>"
)

// startBroker starts an embedded NATS server with JetStream in a temporary
// directory, reached in the process only.
func startBroker(t testing.TB, dir string) *stream.Broker {
	t.Helper()
	b, err := stream.StartBroker(context.Background(), stream.BrokerConfig{
		StoreDir: dir, Stream: testStream, Subject: testSubject, Duplicates: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// publish stores each line of data as one message, as an outside producer
// would (no message id: nothing is dropped).
func publish(t testing.TB, js jetstream.JetStream, data []byte) int {
	t.Helper()
	n := 0
	wait := func() {
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(30 * time.Second):
			t.Fatal("publishing timed out")
		}
	}
	for _, l := range lines(data) {
		if _, err := js.PublishAsync("linewatch.sightings.test", []byte(l)); err != nil {
			t.Fatal(err)
		}
		if n++; n%4096 == 0 {
			wait() // within the client's limit of messages awaiting an answer
		}
	}
	wait()
	return n
}

// consumer runs a driver on the broker's stream until it has processed
// sequence upTo, then stops it (as SIGTERM does).
type consumer struct {
	line    *geo.Line
	pol     detect.Policy
	dir     string // state and output
	broker  *stream.Broker
	records int64 // checkpoint every … records
	log     *stream.LogConfig
	sources *sources.Registry
}

func (c *consumer) run(t testing.TB, upTo uint64) {
	t.Helper()
	if err := c.try(t, upTo); err != nil {
		t.Fatal(err)
	}
}

// try is run, returning the error that stopped the driver.
func (c *consumer) try(t testing.TB, upTo uint64) error {
	t.Helper()
	store, err := stream.OpenStore(filepath.Join(c.dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	log, err := stream.OpenLog(filepath.Join(c.dir, "alerts.geojsonl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	rejects, err := stream.OpenLog(filepath.Join(c.dir, "rejects.ndjson"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rejects.Close()
	sink := stream.NewFileSink(log)
	defer sink.Close()
	m := stream.NewMetrics()
	d := stream.New(stream.Config{
		Judge: detect.NewJudge(c.line, c.pol), Alerts: sink, Rejects: rejects, Store: store, ConfigID: "test",
		CheckpointRecords: c.records, Metrics: m, Log: c.log, Sources: c.sources,
	})
	after, err := d.Restore()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- d.Run(ctx, &stream.NATSSource{Broker: c.broker, Consumer: "linewatch", After: after, Metrics: m, Sources: c.sources})
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-done:
			cancel()
			if err == nil {
				err = errors.New("the driver stopped")
			}
			return err
		case <-time.After(20 * time.Millisecond):
		}
		if h := m.Health(); h.Consumed != nil && *h.Consumed >= upTo {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the records to be processed")
		}
	}
	cancel()
	if err := <-done; err != nil {
		return err
	}
	if d.Seq() != upTo {
		t.Fatalf("processed up to sequence %d, want %d", d.Seq(), upTo)
	}
	return nil
}

func (c *consumer) alerts(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.dir, "alerts.geojsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Records published to the embedded server come out as the same alerts
// as from standard input; a run stopped half-way and restarted on the same
// state gives the alerts of an uninterrupted run, even when the output
// file holds more than the checkpoint covers (as after a crash).
func TestNATSEqualsReaderAndResumes(t *testing.T) {
	line := loadLine(t, "front-2024")
	pol := detect.DefaultPolicy()
	data := generate(t, line, scenario(t, 8_000, 5))
	want, _ := runReader(t, line, pol, data, false, "")
	if len(want) == 0 {
		t.Fatal("no alerts from standard input")
	}
	recs := lines(data)
	half := len(recs) / 2
	first := []byte(joinLines(recs[:half]))
	second := []byte(joinLines(recs[half:]))

	dir := t.TempDir()
	b := startBroker(t, filepath.Join(dir, "broker"))
	defer b.Close()
	c := &consumer{line: line, pol: pol, dir: dir, broker: b, records: 500}
	n1 := publish(t, b.JS, first)
	c.run(t, uint64(n1))
	// As if the process died after writing alerts its checkpoint does not
	// cover: the restart cuts them off.
	f, err := os.OpenFile(filepath.Join(dir, "alerts.geojsonl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"type":"Feature","written after the checkpoint":true}` + "\n")
	f.Close()
	n2 := publish(t, b.JS, second)
	c.run(t, uint64(n1+n2))
	if got := c.alerts(t); !bytes.Equal(got, want) {
		t.Fatalf("alerts via JetStream with a restart differ from standard input's:\ngot %d bytes, want %d", len(got), len(want))
	}

	// A fresh consumer on a fresh state over the whole stream: the same.
	c2 := &consumer{line: line, pol: pol, dir: t.TempDir(), broker: b, records: 100_000}
	c2.run(t, uint64(n1+n2))
	if got := c2.alerts(t); !bytes.Equal(got, want) {
		t.Fatalf("alerts via JetStream differ from standard input's")
	}
}

func joinLines(l []string) string {
	var b bytes.Buffer
	for _, s := range l {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	return b.String()
}

// An external server (here: an embedded one listening on TCP, reached
// with its generated key) works as the embedded one does, and the
// consumer's acknowledgements follow the checkpoints.
func TestExternalNATSAndAcks(t *testing.T) {
	line := loadLine(t, "front-2024")
	pol := detect.DefaultPolicy()
	data := generate(t, line, scenario(t, 3_000, 6))
	want, _ := runReader(t, line, pol, data, false, "")

	dir := t.TempDir()
	server, err := stream.StartBroker(context.Background(), stream.BrokerConfig{
		StoreDir: dir, Listen: "127.0.0.1:0", Stream: testStream, Subject: testSubject, Duplicates: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	if server.KeyFile() != filepath.Join(dir, stream.KeyFileName) {
		t.Fatalf("key file %q", server.KeyFile())
	}
	b, err := stream.StartBroker(context.Background(), stream.BrokerConfig{
		URL: server.ClientURL(), NKeyFile: server.KeyFile(), Stream: testStream, Subject: testSubject, Duplicates: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// Many records to a message, as the HTTP ingest publishes them.
	recs := lines(data)
	n := 0
	for i := 0; i < len(recs); i += 100 {
		if _, err := b.JS.Publish(context.Background(), "linewatch.sightings.gw", []byte(joinLines(recs[i:min(i+100, len(recs))]))); err != nil {
			t.Fatal(err)
		}
		n++
	}
	c := &consumer{line: line, pol: pol, dir: t.TempDir(), broker: b, records: 700}
	c.run(t, uint64(n))
	if got := c.alerts(t); !bytes.Equal(got, want) {
		t.Fatalf("alerts from messages of 100 records differ from standard input's")
	}
	cons, err := b.JS.Consumer(context.Background(), testStream, "linewatch")
	if err != nil {
		t.Fatal(err)
	}
	info, err := cons.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.AckFloor.Stream != uint64(n) {
		t.Fatalf("ack floor %d, want %d: acks must follow the checkpoint", info.AckFloor.Stream, n)
	}
}

// -o nats://SUBJECT: alerts are published with ids that make a re-emission
// after a restart a duplicate JetStream drops.
func TestNATSSink(t *testing.T) {
	line := loadLine(t, "front-2024")
	pol := detect.DefaultPolicy()
	data := generate(t, line, scenario(t, 3_000, 7))
	want, _ := runReader(t, line, pol, data, true, "")
	b := startBroker(t, t.TempDir())
	defer b.Close()
	ctx := context.Background()
	as, err := stream.EnsureStream(ctx, b.JS, stream.StreamSpec{Name: "LINEWATCH_ALERTS", Subject: "linewatch.alerts", Duplicates: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	run := func(state []byte) []byte {
		sink := stream.NewNATSSink(b.JS, "linewatch.alerts")
		if err := sink.Restore(state); err != nil {
			t.Fatal(err)
		}
		d := stream.New(stream.Config{Judge: detect.NewJudge(line, pol), Alerts: sink, Finite: true})
		if err := d.Run(ctx, &stream.ReaderSource{Name: "-", R: bytes.NewReader(data)}); err != nil {
			t.Fatal(err)
		}
		return sink.State()
	}
	run(nil)
	run(nil) // the same alerts again, as after a restart from the start
	info, err := as.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []byte
	for seq := uint64(1); seq <= info.State.LastSeq; seq++ {
		m, err := as.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		got = append(append(got, m.Data...), '\n')
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the alert stream holds %d messages, not the %d alerts once each", info.State.Msgs, len(lines(want)))
	}
}

// A retention and syncing on every write reach the stream and the server.
func TestRetentionAndSyncAlways(t *testing.T) {
	b, err := stream.StartBroker(context.Background(), stream.BrokerConfig{
		StoreDir: t.TempDir(), Stream: testStream, Subject: testSubject, Duplicates: time.Minute,
		MaxAge: 72 * time.Hour, SyncAlways: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	info, err := b.Stream.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.MaxAge != 72*time.Hour {
		t.Fatalf("stream keeps records for %v, want 72h", info.Config.MaxAge)
	}
	if !b.SyncsAlways() {
		t.Fatal("the embedded server does not sync on every write")
	}
	if _, err := b.JS.Publish(context.Background(), "linewatch.sightings.t", []byte(`{"type":"Feature"}`)); err != nil {
		t.Fatalf("publishing with SyncAlways: %v", err)
	}
	other := startBroker(t, t.TempDir())
	defer other.Close()
	if other.SyncsAlways() {
		t.Fatal("syncing on every write without asking for it")
	}
}

// The sightings stream is created with the compression asked for, and a
// stream that exists keeps its own.
func TestStreamCompression(t *testing.T) {
	for _, tc := range []struct {
		flag string
		want jetstream.StoreCompression
	}{{"none", jetstream.NoCompression}, {"S2", jetstream.S2Compression}} {
		c, err := stream.ParseCompression(tc.flag)
		if err != nil || c != tc.want {
			t.Fatalf("ParseCompression(%q) = %v, %v", tc.flag, c, err)
		}
	}
	if _, err := stream.ParseCompression("zstd"); err == nil {
		t.Error("zstd taken")
	}
	dir := t.TempDir()
	open := func(c jetstream.StoreCompression) jetstream.StoreCompression {
		b, err := stream.StartBroker(context.Background(), stream.BrokerConfig{
			StoreDir: dir, Stream: testStream, Subject: testSubject, Duplicates: time.Minute, Compression: c,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		info, err := b.Stream.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return info.Config.Compression
	}
	if got := open(jetstream.S2Compression); got != jetstream.S2Compression {
		t.Errorf("created with %v, want S2", got)
	}
	if got := open(jetstream.NoCompression); got != jetstream.S2Compression {
		t.Errorf("an existing stream became %v", got)
	}
}
