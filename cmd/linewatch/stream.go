package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/sources"
	"github.com/linewatch/linewatch/stream"
)

func init() { register(streamCommand) }

func streamCommand() *cli.Command {
	flags := append(lineFlags(),
		&cli.StringFlag{Name: "in", Value: "nats://embedded", Usage: "sightings from `SOURCE`: - (GeoJSONSeq on standard input), nats://embedded (an embedded NATS JetStream server), nats://HOST:PORT, or http://ADDR (an HTTP ingest endpoint in front of JetStream)"},
		&cli.StringFlag{Name: "state", Value: "linewatch-state", Usage: "keep the checkpoint (and the embedded server's JetStream files) in `DIR`", TakesFile: true},
		&cli.StringFlag{Name: "rejects", Usage: "write rejected, late and future records to `FILE`, one JSON object per line", TakesFile: true},
		&cli.StringFlag{Name: "summary", Usage: "at the end, write the run's summary as JSON to `FILE` (default: in words on standard error)", TakesFile: true},
		&cli.StringFlag{Name: "stream", Value: "LINEWATCH_SIGHTINGS", Usage: "JetStream `STREAM` of sightings (created if absent)"},
		&cli.StringFlag{Name: "subject", Value: "linewatch.sightings.>", Usage: "`SUBJECT` the sightings stream captures"},
		&cli.StringFlag{Name: "consumer", Value: "linewatch", Usage: "`NAME` of the durable JetStream consumer"},
		&cli.StringFlag{Name: "alert-stream", Value: "LINEWATCH_ALERTS", Usage: "JetStream `STREAM` created for -o nats://SUBJECT if no stream captures the subject"},
		&cli.DurationFlag{Name: "dedupe-window", Value: 2 * time.Minute, Usage: "`DURATION` within which JetStream drops a record whose id it has stored (streams it creates)"},
		&cli.StringFlag{Name: "retention", Usage: "keep sightings in the JetStream stream for `DURATION` (e.g. 30d) when creating it; default: for ever"},
		&cli.BoolFlag{Name: "sync-always", Usage: "embedded server: sync JetStream files to disk on every write, so acknowledged records survive a power loss too (slower)"},
		&cli.StringFlag{Name: "nats", Usage: "NATS server `URL` for the HTTP ingest and for -o nats://… (default: the --in server, else an embedded one)"},
		&cli.IntFlag{Name: "nats-port", Value: 4222, Usage: "`PORT` the embedded NATS server listens on, on 127.0.0.1 (0: any free port; -1: none, in-process only)"},
		&cli.StringFlag{Name: "tokens", Usage: "require bearer tokens on the HTTP ingest: `FILE` of \"TOKEN SOURCE-ID\" lines; each record's source is set to its token's", TakesFile: true},
		sourcesFlag("the sources registry, a YAML `FILE`: each source's token (as --tokens) and affiliation, which corroboration counts (docs/sources.md)"),
		&cli.StringFlag{Name: "max-body", Value: "16MiB", Usage: "largest HTTP request body, `SIZE` in bytes or with KiB, MiB (413 past it)"},
		&cli.StringFlag{Name: "metrics", Usage: "serve GET /metrics and /healthz on `ADDR` (with --in http://… they are also on its address)"},
		&cli.DurationFlag{Name: "checkpoint-every", Value: time.Second, Usage: "checkpoint at least every `DURATION` while records come"},
		&cli.Int64Flag{Name: "checkpoint-records", Value: 50_000, Usage: "checkpoint at least every `N` records"},
		&cli.IntFlag{Name: "workers", Usage: "decode and locate on `N` goroutines (default: one per core); the output never depends on it"},
		&cli.StringFlag{Name: "memory-limit", Value: "1GiB", Usage: "soft limit of the heap, `SIZE` (0: none; GOMEMLIMIT, if set, wins): the embedded JetStream server caches the last seconds of what it stores, which at a high ingest rate would otherwise let the heap grow to twice that"},
	)
	return &cli.Command{
		Name:  "stream",
		Usage: "detect continuously on a live feed, alerting as episodes open, escalate and close",
		UsageText: "linewatch stream --line L.geojson [--policy P.yaml] [--state DIR] [--in -|http://ADDR|nats://URL]\n" +
			"  [-o OUT|nats://SUBJECT] [--rejects FILE]",
		Description: "Judges sightings as they arrive and writes alerts — episode Features with \"status\" opened,\n" +
			"updated, escalated or closed — as GeoJSONSeq. Event time drives everything: windows close when\n" +
			"the watermark (latest time seen minus allowed_lateness) passes them. With --in - the input\n" +
			"ends with standard input: every episode then closes and the command exits. Otherwise records come\n" +
			"from a JetStream stream (an embedded server by default, or fed over HTTP: POST /v1/sightings),\n" +
			"and the state in --state DIR makes a restart, even after kill -9, write exactly the alerts an\n" +
			"uninterrupted run would have (cutting -o back to what the last checkpoint covers). SIGTERM writes\n" +
			"a checkpoint and exits 0. Examples:\n\n" +
			"  linewatch stream --line fixtures/lines/front-2024.geojson --in - -o alerts.geojsonl < sightings.ndjson\n" +
			"  linewatch stream --line fixtures/lines/front-2024.geojson --in http://127.0.0.1:8080 -o alerts.geojsonl",
		Flags:  flags,
		Action: streamAction,
	}
}

// streamRun is one run of the stream command, wired from its flags.
type streamRun struct {
	c       *cli.Context
	line    *geo.Line
	pol     detect.Policy
	inKind  string // "-", "nats" or "http"
	inURL   string // the NATS URL (nats input) or the listen address (http input)
	out     string
	started time.Time

	sources *sources.Registry

	store   *stream.Store
	broker  *stream.Broker
	metrics *stream.Metrics
	servers []*http.Server
}

func streamAction(c *cli.Context) error {
	if c.Args().Present() {
		return usageError(c, "stream takes no arguments, got %q (sightings come from --in)", c.Args().First())
	}
	r := &streamRun{c: c, metrics: stream.NewMetrics(), started: time.Now()}
	in := c.String("in")
	switch {
	case in == "-":
		r.inKind = "-"
	case strings.HasPrefix(in, "http://"):
		r.inKind, r.inURL = "http", strings.TrimPrefix(in, "http://")
		if r.inURL == "" {
			return usageError(c, "--in http://ADDR needs an address, as in http://127.0.0.1:8080")
		}
	case strings.HasPrefix(in, "nats://"):
		r.inKind, r.inURL = "nats", in
		if stream.Embedded(in) {
			r.inURL = ""
		}
	case in == "embedded":
		r.inKind = "nats"
	default:
		return usageError(c, "--in %q: want -, http://ADDR, nats://embedded or nats://HOST:PORT", in)
	}
	r.out = c.String("output")
	if r.out == "" {
		r.out = "-"
	}
	if strings.HasPrefix(r.out, "nats://") && strings.TrimPrefix(r.out, "nats://") == "" {
		return usageError(c, "-o nats://SUBJECT needs a subject")
	}
	if _, err := parseSize(c.String("max-body")); err != nil {
		return usageError(c, "--max-body: %v", err)
	}
	if ml := c.String("memory-limit"); ml != "0" && os.Getenv("GOMEMLIMIT") == "" {
		n, err := parseSize(ml)
		if err != nil {
			return usageError(c, "--memory-limit: %v", err)
		}
		debug.SetMemoryLimit(n)
	}
	var err error
	if r.line, r.pol, err = loadLine(c); err != nil {
		return err
	}
	if r.sources, err = loadSources(c, r.line, &r.pol); err != nil {
		return err
	}
	if r.sources != nil {
		if c.String("tokens") != "" {
			return usageError(c, "--tokens and --sources: give the tokens in the sources file")
		}
		for _, id := range r.sources.IDs() {
			if r.sources.Source(id).Signs() {
				return unusable(fmt.Errorf("sources %s: source %q has a key, and stream does not check signed bodies yet: give it a token instead", c.String("sources"), id))
			}
		}
	}
	defer r.close()
	return r.run()
}

func (r *streamRun) run() error {
	c := r.c
	judge := detect.NewJudge(r.line, r.pol)
	durable := r.inKind != "-"
	if durable {
		var err error
		if r.store, err = stream.OpenStore(c.String("state")); err != nil {
			return unusable(err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if r.inKind != "-" || strings.HasPrefix(r.out, "nats://") {
		if err := r.startBroker(ctx); err != nil {
			return err
		}
	}
	sink, err := r.openSink(ctx)
	if err != nil {
		return err
	}
	defer sink.Close()
	var rejects *stream.Log
	if name := c.String("rejects"); name != "" {
		if rejects, err = stream.OpenLog(name, c.App.Writer); err != nil {
			return unusable(fmt.Errorf("rejects: %w", err))
		}
		defer rejects.Close()
	}
	id, err := configID(c, r.pol, r.sources)
	if err != nil {
		return unusable(err)
	}
	d := stream.New(stream.Config{
		Judge: judge, Workers: c.Int("workers"), Alerts: sink, Rejects: rejects,
		Store: r.store, ConfigID: id,
		CheckpointEvery: c.Duration("checkpoint-every"), CheckpointRecords: c.Int64("checkpoint-records"),
		Finite: r.inKind == "-", Metrics: r.metrics,
	})
	after, err := d.Restore()
	if err != nil {
		if errors.Is(err, stream.ErrOtherConfig) {
			return unusable(err)
		}
		return unusable(fmt.Errorf("restoring the checkpoint: %w", err))
	}
	if err := r.startServers(); err != nil {
		return err
	}
	var src stream.Source
	if r.inKind == "-" {
		src = &stream.ReaderSource{Name: "-", R: c.App.Reader}
	} else {
		src = &stream.NATSSource{Broker: r.broker, Consumer: c.String("consumer"), After: after, Metrics: r.metrics, Logf: r.logf}
		r.logf("consuming JetStream stream %s after sequence %d", c.String("stream"), after)
	}
	runErr := d.Run(ctx, src)
	// Let requests under way be answered (their records are in JetStream:
	// the next run consumes them) before the broker goes.
	for _, s := range r.servers {
		stream.Shutdown(s)
	}
	r.servers = nil
	if err := sink.Close(); err != nil {
		runErr = errors.Join(runErr, err)
	}
	if runErr != nil {
		return failed(runErr)
	}
	return r.summary(d)
}

// startBroker starts the embedded NATS server or connects to the one named.
func (r *streamRun) startBroker(ctx context.Context) error {
	c := r.c
	url := r.inURL
	if r.inKind != "nats" {
		url = c.String("nats")
	}
	cfg := stream.BrokerConfig{
		URL: url, StoreDir: c.String("state"), Port: c.Int("nats-port"),
		Stream: c.String("stream"), Subject: c.String("subject"), Duplicates: c.Duration("dedupe-window"),
		SyncAlways: c.Bool("sync-always"),
	}
	if v := c.String("retention"); v != "" {
		d, ok := detect.ParseDuration(v)
		if !ok || d <= 0 {
			return usageError(c, "--retention %q: want a duration > 0 such as 72h or 30d", v)
		}
		cfg.MaxAge = d
	}
	if cfg.Port < -1 || cfg.Port > 65535 {
		return usageError(c, "--nats-port %d: want a port, 0 (any free one) or -1 (none)", cfg.Port)
	}
	b, err := stream.StartBroker(ctx, cfg)
	if err != nil {
		return unusable(err)
	}
	r.broker = b
	if stream.Embedded(url) {
		if u := b.ClientURL(); u != "" {
			r.logf("embedded NATS JetStream server on %s (stream %s, subjects %s)", u, cfg.Stream, cfg.Subject)
		}
	}
	return nil
}

func (r *streamRun) openSink(ctx context.Context) (stream.AlertSink, error) {
	if subject, ok := strings.CutPrefix(r.out, "nats://"); ok {
		if _, err := r.broker.JS.StreamNameBySubject(ctx, subject); err != nil {
			if _, err := stream.EnsureStream(ctx, r.broker.JS, r.c.String("alert-stream"), subject, r.c.Duration("dedupe-window"), 0); err != nil {
				return nil, unusable(err)
			}
		}
		return stream.NewNATSSink(r.broker.JS, subject, r.line, r.pol), nil
	}
	log, err := stream.OpenLog(r.out, r.c.App.Writer)
	if err != nil {
		return nil, unusable(fmt.Errorf("output: %w", err))
	}
	return stream.NewFileSink(log, r.line, r.pol), nil
}

// startServers starts the HTTP ingest and the metrics endpoint.
func (r *streamRun) startServers() error {
	c := r.c
	if r.inKind == "http" {
		maxBody, _ := parseSize(c.String("max-body"))
		cfg := stream.IngestConfig{
			JS: r.broker.JS, Subject: c.String("subject"), MaxBody: maxBody,
			MaxRecord: int(r.broker.Conn().MaxPayload()) - 1024, MaxFuture: r.pol.MaxFuture, Metrics: r.metrics,
		}
		if name := c.String("tokens"); name != "" {
			var err error
			if cfg.Tokens, err = stream.LoadTokens(name); err != nil {
				return unusable(err)
			}
		}
		if r.sources.Authenticates() {
			cfg.Tokens = r.sources.Tokens()
		}
		srv, addr, err := stream.Serve(r.inURL, stream.Mux(stream.NewIngest(cfg), r.metrics))
		if err != nil {
			return unusable(fmt.Errorf("--in http://%s: %w", r.inURL, err))
		}
		r.servers = append(r.servers, srv)
		r.logf("HTTP ingest on http://%s/v1/sightings (metrics on /metrics, health on /healthz)", addr)
	}
	if addr := c.String("metrics"); addr != "" {
		srv, a, err := stream.Serve(addr, stream.Mux(nil, r.metrics))
		if err != nil {
			return unusable(fmt.Errorf("--metrics %s: %w", addr, err))
		}
		r.servers = append(r.servers, srv)
		r.logf("metrics on http://%s/metrics", a)
	}
	return nil
}

func (r *streamRun) summary(d *stream.Driver) error {
	sum := d.Summary(time.Since(r.started).Seconds())
	if name := r.c.String("summary"); name != "" {
		if err := os.WriteFile(name, sum.AppendJSON(nil), 0o644); err != nil {
			return failed(fmt.Errorf("summary: %w", err))
		}
		return nil
	}
	if n, lat := d.ClosedLatency(); n > 0 {
		defer fmt.Fprintf(r.c.App.ErrWriter, "closed alerts: %d, written at most %.1f ms after the record that closed them was read\n",
			n, float64(lat.Microseconds())/1000)
	}
	if r.inKind == "-" {
		return sum.WriteText(r.c.App.ErrWriter)
	}
	// The counts run from the start of the state, over every run.
	k, e := d.Counts(), d.Engine()
	closed := 0
	for _, n := range e.Classes {
		closed += n
	}
	violations := 0
	for _, n := range e.ByType {
		violations += n
	}
	r.logf("stopped after sequence %d, checkpoint written; since the state began: %d records read (%d accepted, %d rejected, %d duplicate, %d late), violations: %d, episodes closed: %d, open: %d",
		d.Seq(), k.Read, k.Accepted, k.Rejected, k.Duplicate, k.Late, violations, closed, e.Open())
	return nil
}

func (r *streamRun) logf(format string, args ...any) {
	fmt.Fprintf(r.c.App.ErrWriter, "linewatch stream: "+format+"\n", args...)
}

func (r *streamRun) close() {
	for _, s := range r.servers {
		s.Close()
	}
	if r.broker != nil {
		r.broker.Close()
	}
	if r.store != nil {
		r.store.Close()
	}
}

// configID identifies what a state was computed with: the line, the
// policy, the sources' affiliations and the JetStream stream whose
// sequence numbers it counts.
func configID(c *cli.Context, pol detect.Policy, reg *sources.Registry) (string, error) {
	h := sha256.New()
	data, err := os.ReadFile(c.String("line"))
	if err != nil {
		return "", err
	}
	h.Write(data)
	p, _ := pol.MarshalJSON()
	if pol.CorroborationMinAffiliations == 1 {
		// The default, which states begun before corroboration existed
		// had without the key: their id stays what it was.
		p = bytes.Replace(p, []byte(`,"corroboration_min_affiliations":1`), nil, 1)
	}
	h.Write(p)
	fmt.Fprintf(h, "\x00%s\x00%s\x00%v\x00%s", c.String("left"), c.String("right"), c.Float64("buffer-m"), c.String("stream"))
	if aff := reg.Affiliations(); len(aff) > 0 {
		// Only with affiliations, so that a state begun without them
		// resumes as before.
		for _, id := range slices.Sorted(maps.Keys(aff)) {
			fmt.Fprintf(h, "\x00%s=%s", id, aff[id])
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:16]), nil
}

// parseSize reads a size in bytes: 1048576, 512KiB, 16MiB, 1GiB (KB, MB
// and GB are read as powers of 1024 as well).
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"B", 1}} {
		if v, ok := strings.CutSuffix(t, u.suffix); ok {
			t, mult = strings.TrimSpace(v), u.m
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 || n > (1<<40)/mult {
		return 0, fmt.Errorf("want a size such as 16MiB, got %q", s)
	}
	return n * mult, nil
}
