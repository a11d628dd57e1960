package stream_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/stream"
)

// The NATS accounts of deploy/nats/accounts.conf, with keys of the test's
// own in place of the example ones, let a worker do its work and nothing
// else: it prepares the sightings for the engines, and cannot publish
// sightings, delete a stream or read the engines' state; a sensor gateway
// cannot publish prepared records. Only workers and engines can.
func TestDeployAccountsWorker(t *testing.T) {
	conf, err := os.ReadFile("../deploy/nats/accounts.conf")
	if err != nil {
		t.Fatal(err)
	}
	// The users of the LINEWATCH account, in the file's order: the
	// engines, a gateway, an alert reader, a worker; then SYS's.
	keys := regexp.MustCompile(`nkey: (U[A-Z2-7]{55})`).FindAllStringSubmatch(string(conf), -1)
	if len(keys) != 5 {
		t.Fatalf("deploy/nats/accounts.conf has %d users, want 5 (engine, gateway, reader, worker, system)", len(keys))
	}
	dir := t.TempDir()
	seeds := map[string]string{}
	for i, role := range []string{"engine", "gateway", "reader", "worker"} {
		kp, err := nkeys.CreateUser()
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := kp.PublicKey()
		seed, _ := kp.Seed()
		seeds[role] = filepath.Join(dir, role+".nk")
		os.WriteFile(seeds[role], seed, 0o600)
		conf = []byte(strings.Replace(string(conf), keys[i][1], pub, 1))
	}
	os.WriteFile(filepath.Join(dir, "accounts.conf"), conf, 0o644)
	main := filepath.Join(dir, "nats.conf")
	os.WriteFile(main, fmt.Appendf(nil, "listen: 127.0.0.1:-1\njetstream { store_dir: %q }\ninclude ./accounts.conf\n", filepath.Join(dir, "js")), 0o644)
	opts, err := server.ProcessConfigFile(main)
	if err != nil {
		t.Fatal(err)
	}
	opts.NoLog, opts.NoSigs = true, true
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server not ready")
	}
	t.Cleanup(srv.Shutdown)
	connect := func(role string) *stream.Broker {
		b, err := stream.StartBroker(context.Background(), stream.BrokerConfig{
			URL: srv.ClientURL(), NKeyFile: seeds[role], Stream: testStream, Subject: testSubject, Duplicates: time.Minute,
		})
		if err != nil {
			t.Fatalf("%s: %v", role, err)
		}
		t.Cleanup(b.Close)
		return b
	}

	line := loadLine(t, "front-2024")
	pol := detect.DefaultPolicy()
	msgs := workerFeed(t, line)[:20]
	engine := connect("engine") // creates the sightings stream
	// A gateway only publishes: a connection with its key, no more.
	opt, err := nats.NkeyOptionFromSeed(seeds["gateway"])
	if err != nil {
		t.Fatal(err)
	}
	gw, err := nats.Connect(srv.ClientURL(), opt)
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	gateway, _ := jetstream.New(gw)
	last := publishMessages(t, gateway, msgs)

	worker := connect("worker")
	refused := func(who string, what string, f func(context.Context) error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		defer cancel()
		if err := f(ctx); err == nil {
			t.Errorf("the %s could %s", who, what)
		}
	}
	refused("worker", "create the prepared stream", func(ctx context.Context) error {
		_, err := stream.EnsurePreparedStream(ctx, worker.JS, stream.DefaultPreparedStream, 1, time.Hour)
		return err
	})
	// An engine with --worker-wait creates it.
	if _, err := stream.EnsurePreparedStream(context.Background(), engine.JS, stream.DefaultPreparedStream, 1, time.Hour); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	stats := new(stream.WorkerStats)
	go func() {
		done <- stream.RunWorker(ctx, stream.WorkerConfig{Broker: worker, Judge: detect.NewJudge(line, pol),
			ConfigID: "test", Build: "build", Group: "linewatch", Stats: stats, Log: testLog(t)})
	}()
	defer func() { cancel(); <-done }()
	waitFor(t, "the worker to prepare every message", 60*time.Second, func() bool { return stats.Messages.Load() >= int64(last) })

	m := stream.NewMetrics()
	remote := newRemote(engine, m, "build", time.Second, 0)
	got, _ := runEngine(t, engine, line, pol, remote, m, last)
	if byWorker, byEngine := remote.Counts(); byWorker != int64(last) {
		t.Errorf("the engine took %d messages from the worker, prepared %d itself; want all %d from the worker", byWorker, byEngine, last)
	}
	want, _ := runEngine(t, engine, line, pol, nil, stream.NewMetrics(), last)
	if string(got) != string(want) {
		t.Error("the alerts with the worker differ from the engine's alone")
	}

	// What each may not do.
	refused("worker", "publish a sighting", func(ctx context.Context) error {
		_, err := worker.JS.Publish(ctx, "linewatch.sightings.w", msgs[0])
		return err
	})
	refused("worker", "delete the sightings stream", func(ctx context.Context) error {
		return worker.JS.DeleteStream(ctx, testStream)
	})
	refused("worker", "read the engines' state", func(ctx context.Context) error {
		_, err := worker.JS.KeyValue(ctx, stream.DefaultStateBucket)
		return err
	})
	refused("worker", "purge the prepared stream", func(ctx context.Context) error {
		st, err := worker.JS.Stream(ctx, stream.DefaultPreparedStream)
		if err != nil {
			t.Fatalf("the worker cannot look at the prepared stream: %v", err)
		}
		return st.Purge(ctx)
	})
	refused("gateway", "publish a prepared message", func(ctx context.Context) error {
		_, err := gateway.Publish(ctx, stream.PreparedSubject("linewatch")+".999", []byte("forged"))
		return err
	})
	info, err := engine.Stream.Info(context.Background())
	if err != nil || info.State.LastSeq != last {
		t.Errorf("the sightings stream ends at %d, want %d (%v)", info.State.LastSeq, last, err)
	}
}
