package stream_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/linewatch/linewatch/stream"
)

// An engine or worker started while its NATS server has no JetStream
// quorum yet — a cluster server just restarted, two of three down — waits
// for JetStream to answer instead of giving up on the first request: it
// sets up its streams and state bucket once the cluster is back.
func TestStartWaitsForJetStream(t *testing.T) {
	c := startCluster(t, 3)
	connectCluster(t, c) // creates the sightings stream, 3 replicas
	c.kill(0)
	c.kill(1)
	only := fmt.Sprintf("nats://127.0.0.1:%d", c.opts[2].Port)
	type result struct {
		b   *stream.Broker
		err error
	}
	done := make(chan result, 1)
	go func() {
		ctx := context.Background()
		b, err := stream.StartBroker(ctx, stream.BrokerConfig{URL: only, Stream: testStream, Subject: testSubject,
			Duplicates: time.Minute, Replicas: 3, Log: testLog(t)})
		if err == nil {
			_, err = stream.StateBucket(ctx, b.JS, stream.DefaultStateBucket, 3)
		}
		if err == nil {
			_, err = stream.EnsureStream(ctx, b.JS, stream.StreamSpec{Name: "ALERTS", Subject: "alerts", Replicas: 3}, nil)
		}
		if err == nil {
			_, err = stream.EnsurePreparedStream(ctx, b.JS, stream.DefaultPreparedStream, 3, time.Hour)
		}
		done <- result{b, err}
	}()
	// JetStream's requests time out after 5 s: the cluster is back after
	// more than that.
	time.Sleep(6 * time.Second)
	c.start(t, 0)
	c.start(t, 1)
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("started while the cluster had no quorum: %v", r.err)
		}
		r.b.Close()
	case <-time.After(90 * time.Second):
		t.Fatal("still setting up 90 s after the cluster came back")
	}
}

// A stop (SIGTERM: the context cancelled) ends the wait at once.
func TestStartWaitingForJetStreamStops(t *testing.T) {
	// One server of a cluster of three whose other two never come: it
	// never has a JetStream quorum.
	o := &server.Options{
		ServerName: "alone", Host: "127.0.0.1", Port: freePort(t), JetStream: true, StoreDir: t.TempDir(),
		Cluster: server.ClusterOpts{Name: "lw", Host: "127.0.0.1", Port: freePort(t)},
		Routes:  server.RoutesFromStr(fmt.Sprintf("nats://127.0.0.1:%d,nats://127.0.0.1:%d", freePort(t), freePort(t))),
		NoLog:   true, NoSigs: true,
	}
	srv, err := server.NewServer(o)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	defer srv.Shutdown()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := stream.StartBroker(ctx, stream.BrokerConfig{URL: srv.ClientURL(),
			Stream: testStream, Subject: testSubject, Duplicates: time.Minute, Replicas: 3})
		done <- err
	}()
	time.Sleep(500 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("started without JetStream")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still waiting for JetStream 10 s after the stop")
	}
}
