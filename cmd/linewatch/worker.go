package main

import (
	"context"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/stream"
)

// engineOnly are the stream flags a worker has no use for: it writes no
// alerts, rejects or state, and serves no ingest.
var engineOnly = []string{"output", "rejects", "summary", "state", "state-bucket", "lease-ttl", "alert-stream", "reject-stream",
	"tokens", "max-body", "max-inflight", "checkpoint-every", "checkpoint-records", "nats-listen", "sync-always", "retention",
	"ready-max-lag", "worker-wait", "worker-audit"}

// workerAction runs `linewatch stream --role worker`: it prepares the
// sightings stream's messages for the engines of a group until SIGTERM.
func workerAction(c *cli.Context) error {
	for _, name := range engineOnly {
		if c.IsSet(name) {
			return usageError(c, "--%s is for an engine: a worker (--role worker) only prepares records for the engines", name)
		}
	}
	if c.String("metrics") != "" && c.String("metrics-token") == "" {
		return usageError(c, "--metrics: a worker answers /metrics, /healthz and /readyz only with a bearer token, and keeps no state to generate one in: give --metrics-token FILE")
	}
	r := &streamRun{c: c, log: logger(c), metrics: stream.NewMetrics(), started: time.Now(), inKind: "nats", out: "-"}
	in, url := c.String("in"), c.String("nats")
	switch {
	case c.IsSet("in") && strings.HasPrefix(in, "nats://") && !stream.Embedded(in):
		r.inURL = in
	case c.IsSet("in"):
		return usageError(c, "--in %s: a worker reads the sightings stream from the engines' NATS servers: give --nats nats://HOST:PORT,…", in)
	case url == "" || stream.Embedded(url):
		return usageError(c, "a worker needs the engines' NATS servers: --nats nats://HOST:PORT,… (an engine's embedded server listens with --nats-listen)")
	default:
		r.inURL = url
	}
	if err := r.checkNATSFlags(); err != nil {
		return err
	}
	if err := r.load(); err != nil {
		return err
	}
	// The engines use what a worker prepared only if it names their
	// configuration and their build.
	id, err := configID(c, r.pol, r.sources)
	if err != nil {
		return unusable(err)
	}
	build, err := stream.BuildID()
	if err != nil {
		return unusable(err)
	}
	defer r.close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := r.startBroker(ctx); err != nil {
		return err
	}
	r.metrics.SetRole(stream.RoleWorker)
	stats := new(stream.WorkerStats)
	r.metrics.AddCollector(stats)
	r.metrics.AddProbe("nats", r.broker.Probe)
	r.metrics.AddProbe("consumer", r.broker.ConsumerProbe(stream.WorkersConsumer(c.String("consumer"))))
	if err := r.startServers(); err != nil {
		return err
	}
	err = stream.RunWorker(ctx, stream.WorkerConfig{
		Broker: r.broker, Judge: detect.NewJudge(r.line, r.pol), ConfigID: id, Build: build,
		Group: c.String("consumer"), PreparedStream: c.String("prepared-stream"), Replicas: c.Int("replicas"),
		Threads: c.Int("workers"), Metrics: r.metrics, Stats: stats, Log: r.log,
	})
	for _, s := range r.servers {
		stream.Shutdown(s)
	}
	r.servers = nil
	if err != nil {
		return failed(err)
	}
	r.log.Info("worker stopped", "messages", stats.Messages.Load(), "records", stats.Records.Load(),
		"skipped", stats.Skipped.Load(), "already", stats.Already.Load())
	return nil
}

// checkWorkerFlags refuses an engine's worker flags where they cannot
// apply.
func (r *streamRun) checkWorkerFlags() error {
	c := r.c
	switch wait := c.Duration("worker-wait"); {
	case wait < 0:
		return usageError(c, "--worker-wait %s: a duration ≥ 0", wait)
	case wait > 0 && r.inKind == "-":
		return usageError(c, "--worker-wait: workers prepare the messages of a JetStream stream; with --in - there is none")
	}
	if a := c.Float64("worker-audit"); a < 0 || a > 1 {
		return usageError(c, "--worker-audit %v: a fraction from 0 to 1", a)
	}
	return nil
}

// remote is the engine's side of its workers, with --worker-wait (nil
// without).
func (r *streamRun) remote(id string) (*stream.Remote, error) {
	c := r.c
	if c.Duration("worker-wait") <= 0 {
		return nil, nil
	}
	build, err := stream.BuildID()
	if err != nil {
		return nil, unusable(err)
	}
	rm := stream.NewRemote(stream.RemoteConfig{
		Conn: r.broker.Conn(), JS: r.broker.JS, Stream: c.String("prepared-stream"), Group: c.String("consumer"), Sightings: c.String("stream"),
		Replicas: c.Int("replicas"), ConfigID: id, Build: build,
		Wait: c.Duration("worker-wait"), Audit: c.Float64("worker-audit"), Log: r.log, Metrics: r.metrics,
	})
	r.metrics.AddCollector(rm)
	r.log.Info("taking what workers prepare", "subject", stream.PreparedSubject(c.String("consumer"))+".SEQ",
		"wait", c.Duration("worker-wait").String(), "audit", c.Float64("worker-audit"), "build", build)
	return rm, nil
}
