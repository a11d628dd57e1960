package stream_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/stream"
	"github.com/linewatch/linewatch/tlog"
)

// cluster is a NATS cluster of servers in the test process, each with
// JetStream, listening on 127.0.0.1.
type cluster struct {
	opts    []*server.Options
	servers []*server.Server
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startCluster(t testing.TB, n int) *cluster {
	t.Helper()
	c := &cluster{}
	var routes []string
	ports := make([]int, n)
	for i := range n {
		ports[i] = freePort(t)
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", ports[i]))
	}
	dir := t.TempDir()
	for i := range n {
		o := &server.Options{
			ServerName: fmt.Sprintf("n%d", i+1), Host: "127.0.0.1", Port: freePort(t),
			JetStream: true, StoreDir: filepath.Join(dir, fmt.Sprint(i)),
			Cluster: server.ClusterOpts{Name: "lw", Host: "127.0.0.1", Port: ports[i]},
			Routes:  server.RoutesFromStr(strings.Join(routes, ",")),
			NoLog:   true, NoSigs: true,
		}
		c.opts = append(c.opts, o)
		c.servers = append(c.servers, nil)
		c.start(t, i)
	}
	t.Cleanup(func() {
		for _, s := range c.servers {
			if s != nil {
				s.Shutdown()
			}
		}
	})
	waitFor(t, "the cluster to elect a meta leader", 30*time.Second, func() bool {
		for _, s := range c.servers {
			if s != nil && s.JetStreamIsLeader() {
				return true
			}
		}
		return false
	})
	return c
}

func (c *cluster) start(t testing.TB, i int) {
	t.Helper()
	s, err := server.NewServer(c.opts[i].Clone())
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatalf("server %d not ready", i)
	}
	c.servers[i] = s
}

// url is every server's URL, as --in takes them.
func (c *cluster) url() string {
	var u []string
	for _, o := range c.opts {
		u = append(u, fmt.Sprintf("nats://127.0.0.1:%d", o.Port))
	}
	return strings.Join(u, ",")
}

// kill stops server i at once (its files stay).
func (c *cluster) kill(i int) {
	c.servers[i].Shutdown()
	c.servers[i].WaitForShutdown()
	c.servers[i] = nil
}

// leaderOf is the index of the server leading a stream.
func (c *cluster) leaderOf(t testing.TB, js jetstream.JetStream, name string) int {
	t.Helper()
	var leader string
	waitFor(t, "a leader of "+name, 30*time.Second, func() bool {
		s, err := js.Stream(context.Background(), name)
		if err != nil {
			return false
		}
		info, err := s.Info(context.Background())
		if err != nil || info.Cluster == nil {
			return false
		}
		leader = info.Cluster.Leader
		return leader != ""
	})
	for i, o := range c.opts {
		if o.ServerName == leader {
			return i
		}
	}
	t.Fatalf("no server named %q", leader)
	return -1
}

func connectCluster(t testing.TB, c *cluster) *stream.Broker {
	t.Helper()
	b, err := stream.StartBroker(context.Background(), stream.BrokerConfig{
		URL: c.url(), Stream: testStream, Subject: testSubject, Duplicates: time.Minute, Replicas: 3,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// A checkpoint in a key-value bucket comes back as it was saved, in chunks
// when it is large; once another engine has claimed it, the first one's
// writes are refused (fenced), and the chunks of replaced checkpoints are
// gone.
func TestKVStoreChunksAndFence(t *testing.T) {
	b := startBroker(t, t.TempDir())
	defer b.Close()
	ctx := context.Background()
	kv, err := stream.StateBucket(ctx, b.JS, "state", 1)
	if err != nil {
		t.Fatal(err)
	}
	a := stream.OpenKVStore(b.JS, kv, "engine", 1024)
	if cp, err := a.Load(); err != nil || cp != nil {
		t.Fatalf("empty bucket: %v %v", cp, err)
	}
	big := bytes.Repeat([]byte("engine state "), 1000) // 13 kB: 13 chunks
	for i := range 3 {
		cp := &stream.Checkpoint{Config: "c", Seq: uint64(100 + i), Engine: big, Alerts: []byte{1}}
		if err := a.Save(cp); err != nil {
			t.Fatal(err)
		}
	}
	other := stream.OpenKVStore(b.JS, kv, "engine", 1024)
	cp, err := other.Claim()
	if err != nil {
		t.Fatal(err)
	}
	if cp == nil || cp.Seq != 102 || !bytes.Equal(cp.Engine, big) {
		t.Fatalf("loaded %+v", cp)
	}
	err = a.Save(&stream.Checkpoint{Config: "c", Seq: 103, Engine: big})
	if !errors.Is(err, stream.ErrFenced) {
		t.Fatalf("a checkpoint written after another engine claimed the state: %v, want ErrFenced", err)
	}
	if err := other.Save(&stream.Checkpoint{Config: "c", Seq: 104, Engine: []byte("small")}); err != nil {
		t.Fatal(err)
	}
	if err := other.Sweep(); err != nil {
		t.Fatal(err)
	}
	keys, err := kv.ListKeysFiltered(ctx, "engine.chunk.>")
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for k := range keys.Keys() {
		left = append(left, k)
	}
	if len(left) != 0 {
		t.Fatalf("chunks of replaced checkpoints left: %v", left)
	}
	cp, err = stream.OpenKVStore(b.JS, kv, "engine", 1024).Load()
	if err != nil || cp.Seq != 104 || string(cp.Engine) != "small" {
		t.Fatalf("last checkpoint: %+v %v", cp, err)
	}
}

// A NATSLog resumed at a checkpoint publishes none of what the stream
// holds again, whoever wrote it; a writer that lost its place is refused.
func TestNATSLogResumesAndFences(t *testing.T) {
	b := startBroker(t, t.TempDir())
	defer b.Close()
	ctx := context.Background()
	st, err := stream.EnsureStream(ctx, b.JS, stream.StreamSpec{Name: "ALERTS", Subject: "alerts", Duplicates: time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	write := func(l *stream.NATSLog, from, to int) error {
		for i := from; i <= to; i++ {
			if _, err := l.Write([]byte(fmt.Sprintf("message %d\n", i))); err != nil {
				return err
			}
		}
		return l.Sync()
	}
	a := stream.NewNATSLog(b.JS, "alerts", "alert")
	a.Origin = "analysis"
	if err := a.Truncate(0); err != nil {
		t.Fatal(err)
	}
	if err := write(a, 1, 5); err != nil {
		t.Fatal(err)
	}
	// Another engine resumes from a checkpoint at 3: 4 and 5 are there.
	c := stream.NewNATSLog(b.JS, "alerts", "alert")
	c.Origin = "analysis"
	if err := c.Truncate(3); err != nil {
		t.Fatal(err)
	}
	if err := write(c, 4, 8); err != nil {
		t.Fatal(err)
	}
	// The first one, still at 5, writes 6: the same message, a duplicate.
	if err := write(a, 6, 6); err != nil {
		t.Fatalf("writing what the stream holds already: %v", err)
	}
	var got []string
	info, _ := st.Info(ctx)
	for seq := uint64(1); seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(m.Data))
	}
	if want := "message 1,message 2,message 3,message 4,message 5,message 6,message 7,message 8"; strings.Join(got, ",") != want {
		t.Fatalf("stream holds %q", got)
	}
	// Past the duplicate window, its next message is refused.
	time.Sleep(1500 * time.Millisecond)
	if err := write(a, 7, 7); !errors.Is(err, stream.ErrFenced) {
		t.Fatalf("a writer behind the stream: %v, want ErrFenced", err)
	}
	// Resuming a log at a position past what the stream holds is an error,
	// and so is another analysis's stream.
	if err := c.Truncate(9); err == nil || !strings.Contains(err.Error(), "fewer than") {
		t.Fatalf("checkpoint past the stream: %v", err)
	}
	o := stream.NewNATSLog(b.JS, "alerts", "alert")
	o.Origin = "another"
	if err := o.Truncate(0); err == nil || !strings.Contains(err.Error(), "another analysis") {
		t.Fatalf("another analysis's stream: %v", err)
	}
}

// engine is one engine of a group, run by RunGroup on its own connection.
type engine struct {
	broker  *stream.Broker
	metrics *stream.Metrics
	cancel  context.CancelFunc
	done    chan error
}

// startEngine starts an engine of the group; with keys (a LogConfig
// without storage), it keeps the log in JetStream.
func startEngine(t testing.TB, c *cluster, line *geo.Line, pol detect.Policy, ttl time.Duration, keys *stream.LogConfig) *engine {
	t.Helper()
	b := connectCluster(t, c)
	ctx := context.Background()
	if _, err := stream.EnsureStream(ctx, b.JS, stream.StreamSpec{Name: "LINEWATCH_ALERTS", Subject: "linewatch.alerts", Duplicates: time.Minute, Replicas: 3}, nil); err != nil {
		t.Fatal(err)
	}
	kv, err := stream.StateBucket(ctx, b.JS, "linewatch", 3)
	if err != nil {
		t.Fatal(err)
	}
	sink := stream.NewNATSSink(b.JS, "linewatch.alerts")
	sink.SetOrigin("test")
	m := stream.NewMetrics()
	e := &engine{broker: b, metrics: m, done: make(chan error, 1)}
	var lc *stream.LogConfig
	if keys != nil {
		st, err := stream.OpenJetStreamLog(ctx, b.JS, "linewatch-log", kv, "linewatch", 3)
		if err != nil {
			t.Fatal(err)
		}
		lc = &stream.LogConfig{Storage: st, Origin: keys.Origin, Signer: keys.Signer, Verifier: keys.Verifier}
	}
	g := stream.GroupConfig{
		Engine: stream.Config{Judge: detect.NewJudge(line, pol), Alerts: sink, ConfigID: "test", CheckpointRecords: 300, Metrics: m, Log: lc},
		Store:  stream.OpenKVStore(b.JS, kv, "linewatch", int(b.Conn().MaxPayload())-8<<10),
		Lease:  stream.NewLease(b.JS, kv, "linewatch", ttl, testLog(t)),
		Log:    testLog(t),
		Source: func(after uint64) stream.Source {
			return &stream.NATSSource{Broker: b, Consumer: "linewatch", After: after, Metrics: m}
		},
	}
	rctx, cancel := context.WithCancel(ctx)
	e.cancel = cancel
	go func() {
		_, err := stream.RunGroup(rctx, g)
		e.done <- err
	}()
	return e
}

// consumed is the last sequence the engine processed (0: none).
func (e *engine) consumed() uint64 {
	if h := e.metrics.Health(); h.Consumed != nil {
		return *h.Consumed
	}
	return 0
}

// Two engines on a 3-node cluster: one is active, the other waits. When
// the server leading the sightings stream is killed, and then the active
// engine is cut off from the cluster, the standby takes over from the last
// checkpoint, and the alert stream holds exactly the alerts of an
// uninterrupted run, once each, in order. The engines keep the log in
// JetStream: the standby takes it over with the state, and verify holds on
// it and the alerts, "log" members and all.
func TestGroupFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("a NATS cluster: not with -short")
	}
	line := loadLine(t, "front-2024")
	pol := detect.DefaultPolicy()
	data := generate(t, line, scenario(t, 6_000, 11))
	recs := lines(data)
	third := len(recs) / 3

	c := startCluster(t, 3)
	pub := connectCluster(t, c)
	const ttl = 2 * time.Second
	keys := newTestLog(t, t.TempDir())
	e1 := startEngine(t, c, line, pol, ttl, keys)
	waitFor(t, "an active engine", 20*time.Second, func() bool { return e1.metrics.Role() == stream.RoleActive })
	e2 := startEngine(t, c, line, pol, ttl, keys)
	time.Sleep(500 * time.Millisecond)
	if r := e2.metrics.Role(); r != stream.RoleStandby {
		t.Fatalf("second engine: %q, want standby", r)
	}

	// What the stream holds: while its leader changes, a message published
	// without an id may be lost, or stored twice.
	stored := func() uint64 {
		info, err := pub.Stream.Info(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return info.State.LastSeq
	}
	publish(t, pub.JS, []byte(joinLines(recs[:third])))
	n := stored()
	waitFor(t, "the first third", 60*time.Second, func() bool { return e1.consumed() >= n })

	// The server leading the sightings stream dies; the cluster elects
	// another, and the engine goes on.
	c.kill(c.leaderOf(t, pub.JS, testStream))
	publish(t, pub.JS, []byte(joinLines(recs[third:2*third])))
	n = stored()
	waitFor(t, "the second third", 60*time.Second, func() bool { return e1.consumed() >= n })

	// The active engine is cut off: its connection closes, as when its
	// host is gone. The standby takes over once the lease expires.
	cut := time.Now()
	e1.broker.Conn().Close()
	waitFor(t, "the standby to take over", 30*time.Second, func() bool { return e2.metrics.Role() == stream.RoleActive })
	t.Logf("failover in %s (lease TTL %s)", time.Since(cut).Round(time.Millisecond), ttl)
	publish(t, pub.JS, []byte(joinLines(recs[2*third:])))
	n = stored()
	waitFor(t, "the rest", 60*time.Second, func() bool { return e2.consumed() >= n })
	e2.cancel()
	if err := <-e2.done; err != nil {
		t.Fatal(err)
	}
	e1.cancel()
	<-e1.done

	// An uninterrupted run on the records the stream holds (without a
	// log: the trees differ, its records' instants being others).
	want, _ := runReader(t, line, pol, streamData(t, pub.JS, testStream), false, "")
	logged := streamData(t, pub.JS, "LINEWATCH_ALERTS")
	var got []byte
	for _, l := range lines(logged) {
		a, al, err := tlog.CutAlertLog([]byte(l))
		if err != nil || al == nil {
			t.Fatalf("alert without a log member (%v): %.200s", err, l)
		}
		got = append(append(got, a...), '\n')
	}
	if len(lines(want)) < 10 || !bytes.Equal(got, want) {
		t.Fatalf("alert stream: %d alerts, want %d, or not the same bytes", len(lines(got)), len(lines(want)))
	}
	kv, err := stream.StateBucket(context.Background(), pub.JS, "linewatch", 3)
	if err != nil {
		t.Fatal(err)
	}
	st, err := stream.OpenJetStreamLog(context.Background(), pub.JS, "linewatch-log", kv, "linewatch", 3)
	if err != nil {
		t.Fatal(err)
	}
	if cp := checkpointOf(t, st); cp.Size != n {
		t.Fatalf("the log holds %d entries, the stream %d records", cp.Size, n)
	}
	lc := &stream.LogConfig{Storage: st, Verifier: keys.Verifier}
	verifyLog(t, lc, &consumer{line: line, pol: pol}, nil, logged)
}

// testLog logs to the test's output with -v.
func testLog(t testing.TB) *slog.Logger {
	if !testing.Verbose() {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}

// streamData is a stream's messages, a line each.
func streamData(t testing.TB, js jetstream.JetStream, name string) []byte {
	t.Helper()
	ctx := context.Background()
	st, err := js.Stream(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var b []byte
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		b = append(append(b, bytes.TrimSuffix(m.Data, []byte("\n"))...), '\n')
	}
	return b
}
