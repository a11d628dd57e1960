package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/internal/num"
	"github.com/linewatch/linewatch/sources"
	"github.com/linewatch/linewatch/stream"
)

func init() { register(streamCommand) }

func streamCommand() *cli.Command {
	flags := append(lineFlags(),
		&cli.StringFlag{Name: "in", Value: "nats://embedded", Usage: "sightings from `SOURCE`: - (GeoJSONSeq on standard input), nats://embedded (an embedded NATS JetStream server), nats://HOST:PORT, or http://ADDR (an HTTP ingest endpoint in front of JetStream)"},
		&cli.StringFlag{Name: "state", Value: "linewatch-state", Usage: "keep the checkpoint (and the embedded server's JetStream files) in `DIR`; with nats://HOST:PORT the checkpoint is kept in JetStream (--state-bucket) unless --state is given", TakesFile: true},
		&cli.StringFlag{Name: "rejects", Usage: "write rejected, late and future records to `FILE`, one JSON object per line, or to nats://SUBJECT, a message each", TakesFile: true},
		&cli.StringFlag{Name: "summary", Usage: "at the end, write the run's summary as JSON to `FILE` (default: in words on standard error)", TakesFile: true},
		&cli.StringFlag{Name: "stream", Value: "LINEWATCH_SIGHTINGS", Usage: "JetStream `STREAM` of sightings (created if absent)"},
		&cli.StringFlag{Name: "subject", Value: "linewatch.sightings.>", Usage: "`SUBJECT` the sightings stream captures"},
		&cli.StringFlag{Name: "consumer", Value: "linewatch", Usage: "`NAME` of the durable JetStream consumer"},
		&cli.StringFlag{Name: "alert-stream", Value: "LINEWATCH_ALERTS", Usage: "JetStream `STREAM` created for -o nats://SUBJECT if no stream captures the subject"},
		&cli.DurationFlag{Name: "dedupe-window", Value: 2 * time.Minute, Usage: "`DURATION` within which JetStream drops a record whose id it has stored (streams it creates)"},
		&cli.StringFlag{Name: "retention", Usage: "keep sightings in the JetStream stream for `DURATION` (e.g. 30d) when creating it; default: for ever"},
		&cli.StringFlag{Name: "compression", Value: "none", Usage: "store the sightings stream, when creating it, uncompressed (`ALG` none) or S2-compressed (s2: about half the disk, for a fifth more CPU)"},
		&cli.BoolFlag{Name: "sync-always", Usage: "embedded server: sync JetStream files to disk on every write, so acknowledged records survive a power loss too (slower)"},
		&cli.StringFlag{Name: "nats", Usage: "NATS server `URL` for the HTTP ingest and for -o nats://… (default: the --in server, else an embedded one)"},
		&cli.StringFlag{Name: "nats-listen", Usage: "let other NATS clients reach the embedded server on `HOST:PORT` (port 0: any free one), where they must hold the --nats-nkey key; default: none, the server is reached from this process only — but for --in nats://embedded and -o nats://SUBJECT, whose clients are elsewhere: 127.0.0.1:4222 (\"none\": no listener)"},
		&cli.StringFlag{Name: "nats-nkey", Usage: "NATS user nkey seed `FILE` (nk -gen user): the key the embedded server's listener asks its clients for (default: nats.nk in --state, generated with mode 0600), or the key to connect to nats://HOST:PORT with", TakesFile: true},
		&cli.StringFlag{Name: "nats-creds", Usage: "NATS credentials `FILE` (JWT and seed) to connect to nats://HOST:PORT with", TakesFile: true},
		&cli.StringFlag{Name: "nats-user", Usage: "`USER` name to connect to nats://HOST:PORT with (with --nats-password)"},
		&cli.StringFlag{Name: "nats-password", Usage: "`PASSWORD` of --nats-user (better from the environment: LINEWATCH_NATS_PASSWORD)"},
		&cli.StringFlag{Name: "nats-tls-ca", Usage: "PEM `FILE` of the certificate authorities that sign the NATS servers' certificates (default: the system's); implies TLS", TakesFile: true},
		&cli.StringFlag{Name: "nats-tls-cert", Usage: "PEM certificate `FILE`: of the embedded server's listener, which then speaks TLS only (with --nats-tls-key); or the client certificate presented to nats://HOST:PORT", TakesFile: true},
		&cli.StringFlag{Name: "nats-tls-key", Usage: "PEM private key `FILE` of --nats-tls-cert", TakesFile: true},
		&cli.IntFlag{Name: "replicas", Value: 1, Usage: "copies kept of every stream and key-value bucket linewatch creates, `N` servers of a NATS cluster (3 recommended there; 1 for the embedded server)"},
		&cli.StringFlag{Name: "state-bucket", Value: stream.DefaultStateBucket, Usage: "with nats://HOST:PORT and no --state: the JetStream key-value `BUCKET` that holds the checkpoint and the lease of the engines"},
		&cli.DurationFlag{Name: "lease-ttl", Value: stream.DefaultLeaseTTL, Usage: "with nats://HOST:PORT and no --state: a standby engine takes over `DURATION` after the active one stopped renewing its lease"},
		&cli.StringFlag{Name: "reject-stream", Value: "LINEWATCH_REJECTS", Usage: "JetStream `STREAM` created for --rejects nats://SUBJECT if no stream captures the subject"},
		&cli.Uint64Flag{Name: "ready-max-lag", Usage: "GET /readyz answers 503 while more than `N` records wait in the stream (0: the lag does not count)"},
		&cli.StringFlag{Name: "tokens", Usage: "require bearer tokens on the HTTP ingest: `FILE` of \"TOKEN SOURCE-ID\" lines; each record's source is set to its token's", TakesFile: true},
		&cli.StringFlag{Name: "ingest-token", Usage: "the one bearer token the HTTP ingest requires when neither --tokens nor --sources gives tokens, the first line of `FILE`; records keep their own source (default: " + stream.IngestTokenFile + " in --state, generated with mode 0600)", TakesFile: true},
		sourcesFlag("the sources registry, a YAML `FILE`: each source's token (as --tokens) and affiliation, which corroboration counts (docs/sources.md)"),
		&cli.StringFlag{Name: "max-body", Value: "16MiB", Usage: "largest HTTP request body, `SIZE` in bytes or with KiB, MiB (413 past it)"},
		&cli.StringFlag{Name: "max-inflight", Value: "256MiB", Usage: "memory the HTTP requests under way may hold together, `SIZE` (a request beyond it is answered 503 with Retry-After; one that needs more alone, 413)"},
		&cli.StringFlag{Name: "metrics", Usage: "serve GET /metrics and /healthz on `ADDR` (with --in http://… they are also on its address)"},
		&cli.StringFlag{Name: "metrics-token", Usage: "answer GET /metrics, /healthz and /readyz only to requests with Authorization: Bearer TOKEN, the first line of `FILE` (default: metrics.token in --state, generated with mode 0600)", TakesFile: true},
		&cli.DurationFlag{Name: "checkpoint-every", Value: time.Second, Usage: "checkpoint at least every `DURATION` while records come"},
		&cli.Int64Flag{Name: "checkpoint-records", Value: 50_000, Usage: "checkpoint at least every `N` records"},
		&cli.IntFlag{Name: "workers", Usage: "decode and locate on `N` goroutines (default: one per core); the output never depends on it"},
		&cli.StringFlag{Name: "role", Value: "engine", Usage: "`ROLE`: engine (detect, alert, keep the state), or worker (only prepare the sightings stream's records for the engines: split, decode, validate, locate, judge; any number of them, on any host; needs --nats)"},
		&cli.DurationFlag{Name: "worker-wait", Usage: "engine: take the records --role worker processes prepared, waiting up to `DURATION` for each message of the stream before preparing it itself (0: no workers)"},
		&cli.Float64Flag{Name: "worker-audit", Value: 0.01, Usage: "engine with --worker-wait: prepare this `FRACTION` of the workers' messages again, chosen at random, and stop using workers if one disagrees"},
		&cli.StringFlag{Name: "prepared-stream", Value: stream.DefaultPreparedStream, Usage: "JetStream `STREAM` of the records workers prepared (created if absent)"},
		&cli.StringFlag{Name: "memory-limit", Value: "256MiB", Usage: "soft limit of the heap, `SIZE` (0: none; GOMEMLIMIT, if set, wins): the garbage collector works harder near it, so that under sustained ingest the resident memory stays about there rather than growing to twice what is live; raise it with --max-inflight"},
	)
	flags = append(flags, logFlags()...)
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
	log     *slog.Logger
	line    *geo.Line
	pol     detect.Policy
	inKind  string // "-", "nats" or "http"
	inURL   string // the NATS URL (nats input) or the listen address (http input)
	out     string
	rejects string
	// group: the state is in JetStream, and engines on several hosts take
	// turns (an external NATS server and no --state).
	group   bool
	started time.Time

	sources *sources.Registry
	logCfg  *stream.LogConfig // the tamper-evident log, nil without --log-key

	store   stream.Store
	broker  *stream.Broker
	metrics *stream.Metrics
	servers []*http.Server
}

func streamAction(c *cli.Context) error {
	if c.Args().Present() {
		return usageError(c, "stream takes no arguments, got %q (sightings come from --in)", c.Args().First())
	}
	switch role := c.String("role"); role {
	case "worker":
		return workerAction(c)
	case "engine":
	default:
		return usageError(c, "--role %q: want engine or worker", role)
	}
	r := &streamRun{c: c, log: logger(c), metrics: stream.NewMetrics(), started: time.Now()}
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
	if err := checkOutputs(c, []string{"output", "rejects", "summary"}, []string{"line", "policy", "tokens", "ingest-token", "metrics-token",
		"nats-nkey", "nats-creds", "nats-tls-cert", "nats-tls-key"}, nil); err != nil {
		return err
	}
	r.out = c.String("output")
	if r.out == "" {
		r.out = "-"
	}
	r.rejects = c.String("rejects")
	for _, o := range []struct{ flag, v string }{{"-o", r.out}, {"--rejects", r.rejects}} {
		if strings.HasPrefix(o.v, "nats://") && strings.TrimPrefix(o.v, "nats://") == "" {
			return usageError(c, "%s nats://SUBJECT needs a subject", o.flag)
		}
	}
	for _, name := range []string{"max-body", "max-inflight"} {
		if _, err := num.ParseSize(c.String(name)); err != nil {
			return usageError(c, "--%s: %v", name, err)
		}
	}
	if err := r.checkNATSFlags(); err != nil {
		return err
	}
	if err := r.checkGroupFlags(); err != nil {
		return err
	}
	if err := r.checkLogFlags(); err != nil {
		return err
	}
	if err := r.checkWorkerFlags(); err != nil {
		return err
	}
	if err := r.load(); err != nil {
		return err
	}
	if r.sources != nil && c.String("tokens") != "" {
		return usageError(c, "--tokens and --sources: give the tokens in the sources file")
	}
	if c.String("ingest-token") != "" && (c.String("tokens") != "" || r.sources.Authenticates()) {
		return usageError(c, "--ingest-token is the one token of an ingest without --tokens or sources with tokens: give one or the other")
	}
	defer r.close()
	return r.run()
}

func (r *streamRun) run() error {
	c := r.c
	judge := detect.NewJudge(r.line, r.pol)
	durable := r.inKind != "-"
	if durable && !r.group {
		st, err := stream.OpenStore(c.String("state"))
		if err != nil {
			return unusable(err)
		}
		r.store = st
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if r.inKind != "-" || strings.HasPrefix(r.out, "nats://") || strings.HasPrefix(r.rejects, "nats://") {
		if err := r.startBroker(ctx); err != nil {
			return err
		}
	}
	id, err := configID(c, r.pol, r.sources)
	if err != nil {
		return unusable(err)
	}
	origin := id
	if r.broker != nil {
		if info := r.broker.Stream.CachedInfo(); info != nil {
			// The same line and policy on the same sightings stream give
			// the same alerts: that is one analysis.
			origin += "@" + strconv.FormatInt(info.Created.UnixNano(), 10)
		}
	}
	sink, err := r.openSink(ctx, origin)
	if err != nil {
		return err
	}
	defer sink.Close()
	rejects, err := r.openRejects(ctx, origin)
	if err != nil {
		return err
	}
	if rejects != nil {
		defer rejects.Close()
	}
	var lease *stream.Lease
	var kvStore *stream.KVStore
	if r.group {
		if kvStore, lease, err = r.openGroupState(ctx); err != nil {
			return err
		}
		r.store = kvStore
	}
	if r.logCfg, err = r.openLog(ctx); err != nil {
		return err
	}
	cfg := stream.Config{
		Judge: judge, Workers: c.Int("workers"), Alerts: sink, Rejects: rejects,
		Store: r.store, ConfigID: id,
		CheckpointEvery: c.Duration("checkpoint-every"), CheckpointRecords: c.Int64("checkpoint-records"),
		Finite: r.inKind == "-", Metrics: r.metrics, Log: r.logCfg, Sources: r.sources,
	}
	if cfg.Remote, err = r.remote(id); err != nil {
		return err
	}
	source := func(after uint64) stream.Source {
		r.log.Info("consuming the JetStream stream", "stream", c.String("stream"), "after", after)
		return &stream.NATSSource{Broker: r.broker, Consumer: c.String("consumer"), After: after, Metrics: r.metrics,
			Sources: r.sources, Log: r.log}
	}
	var d *stream.Driver
	var after uint64
	if !r.group {
		d = stream.New(cfg)
		if after, err = d.Restore(); err != nil {
			if errors.Is(err, stream.ErrOtherConfig) {
				return unusable(err)
			}
			return unusable(fmt.Errorf("restoring the checkpoint: %w", err))
		}
	}
	r.addProbes(kvStore)
	if err := r.startServers(); err != nil {
		return err
	}
	var runErr error
	switch {
	case r.inKind == "-":
		runErr = d.Run(ctx, &stream.ReaderSource{Name: "-", R: c.App.Reader})
	case r.group:
		d, runErr = stream.RunGroup(ctx, stream.GroupConfig{Engine: cfg, Store: kvStore, Lease: lease, Source: source, Log: r.log})
		if errors.Is(runErr, stream.ErrOtherConfig) || errors.Is(runErr, stream.ErrLogState) {
			runErr = unusable(runErr)
		}
	default:
		d, runErr = stream.RunResuming(ctx, d, after, source, r.log)
	}
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
		var ee *exitError
		if errors.As(runErr, &ee) {
			return runErr
		}
		return failed(runErr)
	}
	if d == nil {
		r.log.Info("stopped while standing by")
		return nil
	}
	return r.summary(d)
}

// checkNATSFlags refuses NATS flags that the other flags make pointless.
func (r *streamRun) checkNATSFlags() error {
	c := r.c
	embedded := r.natsURL() == ""
	listen := r.natsListen()
	noBroker := r.inKind == "-" && !strings.HasPrefix(r.out, "nats://") && !strings.HasPrefix(r.rejects, "nats://")
	switch {
	case noBroker && !strings.HasPrefix(r.rejects, "nats://") && (c.IsSet("nats-listen") || c.IsSet("nats") || c.String("nats-nkey") != "" || c.String("nats-creds") != "" || c.String("nats-tls-cert") != "" ||
		c.String("nats-user") != "" || c.String("nats-tls-ca") != "" || c.IsSet("replicas")):
		return usageError(c, "--in - with a file output uses no NATS server: the --nats flags have nothing to do")
	case !embedded && c.IsSet("nats-listen"):
		return usageError(c, "--nats-listen is for the embedded server, not %s", r.natsURL())
	case embedded && c.String("nats-creds") != "":
		return usageError(c, "--nats-creds is to connect to a NATS server, nats://HOST:PORT, not the embedded one")
	case embedded && (c.String("nats-user") != "" || c.String("nats-password") != "" || c.String("nats-tls-ca") != ""):
		return usageError(c, "--nats-user, --nats-password and --nats-tls-ca are to connect to a NATS server, nats://HOST:PORT, not the embedded one")
	case embedded && c.Int("replicas") > 1:
		return usageError(c, "--replicas %d: the embedded server is one server, it keeps one copy; replicas are for a NATS cluster (nats://HOST:PORT,…)", c.Int("replicas"))
	case c.Int("replicas") < 1 || c.Int("replicas") > 5:
		return usageError(c, "--replicas %d: JetStream keeps 1 to 5 copies", c.Int("replicas"))
	case embedded && listen == "" && (c.String("nats-nkey") != "" || c.String("nats-tls-cert") != "" || c.String("nats-tls-key") != ""):
		return usageError(c, "--nats-nkey, --nats-tls-cert and --nats-tls-key are for the embedded server's listener: add --nats-listen HOST:PORT")
	case (c.String("nats-tls-cert") == "") != (c.String("nats-tls-key") == ""):
		return usageError(c, "--nats-tls-cert and --nats-tls-key go together")
	}
	return nil
}

// natsURL is the external NATS server's URL, "" for the embedded one.
func (r *streamRun) natsURL() string {
	if r.inKind == "nats" {
		return r.inURL
	}
	if u := r.c.String("nats"); !stream.Embedded(u) {
		return u
	}
	return ""
}

// natsListen is where the embedded server listens ("" nowhere): where
// --nats-listen says, else 127.0.0.1:4222 when its clients are other
// processes (NATS input, NATS output), else nowhere.
func (r *streamRun) natsListen() string {
	if r.c.IsSet("nats-listen") {
		if l := r.c.String("nats-listen"); l != "none" {
			return l
		}
		return ""
	}
	if r.inKind == "nats" || strings.HasPrefix(r.out, "nats://") {
		return "127.0.0.1:4222"
	}
	return ""
}

// startBroker starts the embedded NATS server or connects to the one named.
func (r *streamRun) startBroker(ctx context.Context) error {
	c := r.c
	cfg := stream.BrokerConfig{
		URL: r.natsURL(), StoreDir: c.String("state"), Listen: r.natsListen(),
		NKeyFile: c.String("nats-nkey"), CredsFile: c.String("nats-creds"),
		User: c.String("nats-user"), Password: c.String("nats-password"),
		TLSCert: c.String("nats-tls-cert"), TLSKey: c.String("nats-tls-key"), TLSCA: c.String("nats-tls-ca"),
		Replicas: c.Int("replicas"),
		Stream:   c.String("stream"), Subject: c.String("subject"), Duplicates: c.Duration("dedupe-window"),
		SyncAlways: c.Bool("sync-always"), Log: r.log, Metrics: r.metrics,
	}
	var err error
	if cfg.Compression, err = stream.ParseCompression(c.String("compression")); err != nil {
		return usageError(c, "--compression: %v", err)
	}
	if v := c.String("retention"); v != "" {
		d, ok := num.ParseDuration(v)
		if !ok || d <= 0 {
			return usageError(c, "--retention %q: want a duration > 0 such as 72h or 30d", v)
		}
		cfg.MaxAge = d
	}
	b, err := stream.StartBroker(ctx, cfg)
	if err != nil {
		return unusable(err)
	}
	r.broker = b
	switch {
	case cfg.URL != "":
		r.log.Info("connected to NATS", "url", b.ClientURL(), "stream", cfg.Stream, "subjects", cfg.Subject)
	case b.ClientURL() != "":
		r.log.Info("embedded NATS JetStream server on "+b.ClientURL(), "nkey", b.KeyFile(), "stream", cfg.Stream, "subjects", cfg.Subject,
			"example", "nats --server "+b.ClientURL()+" --nkey "+b.KeyFile()+" pub "+stream.PublishSubject(cfg.Subject, "gw1")+" FEATURE")
	default:
		r.log.Info("embedded NATS JetStream server, reached from this process only", "stream", cfg.Stream, "subjects", cfg.Subject)
	}
	return nil
}

func (r *streamRun) openSink(ctx context.Context, origin string) (stream.AlertSink, error) {
	if subject, ok := strings.CutPrefix(r.out, "nats://"); ok {
		if err := r.ensureStream(ctx, r.c.String("alert-stream"), subject); err != nil {
			return nil, err
		}
		sink := stream.NewNATSSink(r.broker.JS, subject)
		sink.SetOrigin(origin)
		return sink, nil
	}
	log, err := stream.OpenLog(r.out, r.c.App.Writer)
	if err != nil {
		return nil, unusable(fmt.Errorf("output: %w", err))
	}
	return stream.NewFileSink(log), nil
}

// ensureStream makes sure a stream captures subject, creating name if none
// does.
func (r *streamRun) ensureStream(ctx context.Context, name, subject string) error {
	if _, err := r.broker.JS.StreamNameBySubject(ctx, subject); err == nil {
		return nil
	}
	_, err := stream.EnsureStream(ctx, r.broker.JS, stream.StreamSpec{Name: name, Subject: subject,
		Duplicates: r.c.Duration("dedupe-window"), Replicas: r.c.Int("replicas")}, r.log)
	if err != nil {
		return unusable(err)
	}
	return nil
}

// openRejects opens --rejects: a file, or a JetStream subject.
func (r *streamRun) openRejects(ctx context.Context, origin string) (stream.RecordLog, error) {
	name := r.rejects
	if name == "" {
		return nil, nil
	}
	if subject, ok := strings.CutPrefix(name, "nats://"); ok {
		if err := r.ensureStream(ctx, r.c.String("reject-stream"), subject); err != nil {
			return nil, err
		}
		l := stream.NewNATSLog(r.broker.JS, subject, "reject")
		l.Origin = origin
		return l, nil
	}
	l, err := stream.OpenLog(name, r.c.App.Writer)
	if err != nil {
		return nil, unusable(fmt.Errorf("rejects: %w", err))
	}
	return l, nil
}

// checkGroupFlags decides whether the engine is one of a group (an
// external NATS server and no --state), and refuses what a group cannot
// do: its state and output live in JetStream, where an engine on another
// host can take them over, which a local file cannot follow.
func (r *streamRun) checkGroupFlags() error {
	c := r.c
	r.group = r.inKind != "-" && r.natsURL() != "" && !c.IsSet("state")
	if !r.group {
		if c.IsSet("lease-ttl") || c.IsSet("state-bucket") {
			return usageError(c, "--lease-ttl and --state-bucket are for engines whose state is in JetStream: nats://HOST:PORT without --state")
		}
		return nil
	}
	const why = "with nats://HOST:PORT the state is kept in JetStream, and an engine on another host may take it over, which a local file cannot follow"
	if !strings.HasPrefix(r.out, "nats://") {
		return usageError(c, "-o %s: %s: write the alerts to -o nats://SUBJECT, or keep the state here with --state DIR (one engine alone)", r.out, why)
	}
	if r.rejects != "" && !strings.HasPrefix(r.rejects, "nats://") {
		return usageError(c, "--rejects %s: %s: write them to --rejects nats://SUBJECT, or keep the state here with --state DIR", r.rejects, why)
	}
	if ttl := c.Duration("lease-ttl"); ttl < time.Second {
		return usageError(c, "--lease-ttl %s: at least 1s", ttl)
	}
	return nil
}

// openGroupState opens the checkpoint and the lease in the state bucket.
func (r *streamRun) openGroupState(ctx context.Context) (*stream.KVStore, *stream.Lease, error) {
	c := r.c
	kv, err := stream.StateBucket(ctx, r.broker.JS, c.String("state-bucket"), c.Int("replicas"))
	if err != nil {
		return nil, nil, unusable(err)
	}
	chunk := int(r.broker.Conn().MaxPayload()) - 8<<10
	st := stream.OpenKVStore(r.broker.JS, kv, c.String("consumer"), chunk)
	lease := stream.NewLease(r.broker.JS, kv, c.String("consumer"), c.Duration("lease-ttl"), r.log)
	r.log.Info("state in JetStream: engines with the same --consumer take turns", "checkpoint", st.Path(), "lease", lease.Key(), "lease_ttl", c.Duration("lease-ttl").String())
	return st, lease, nil
}

// addProbes gives /readyz its checks.
func (r *streamRun) addProbes(kvStore *stream.KVStore) {
	if r.broker != nil {
		r.metrics.AddProbe("nats", r.broker.Probe)
	}
	if r.inKind != "-" {
		probe := r.broker.ConsumerProbe(r.c.String("consumer"))
		r.metrics.AddProbe("consumer", func(ctx context.Context) string {
			if r.metrics.Role() == stream.RoleStandby {
				return "" // the active engine's
			}
			return probe(ctx)
		})
	}
	if kvStore != nil {
		r.metrics.AddProbe("state", kvStore.Probe)
	}
	r.metrics.SetMaxLag(r.c.Uint64("ready-max-lag"))
}

// startServers starts the HTTP ingest and the metrics endpoint.
func (r *streamRun) startServers() error {
	c := r.c
	if r.inKind != "http" && c.String("metrics") == "" {
		return nil
	}
	token, err := r.metricsToken()
	if err != nil {
		return err
	}
	if r.inKind == "http" {
		maxBody, _ := num.ParseSize(c.String("max-body"))
		maxInFlight, _ := num.ParseSize(c.String("max-inflight"))
		cfg := stream.IngestConfig{
			JS: r.broker.JS, Subject: c.String("subject"), MaxBody: maxBody, MaxInFlight: maxInFlight,
			MaxRecord: int(r.broker.Conn().MaxPayload()) - 1024, MaxFuture: r.pol.MaxFuture, Metrics: r.metrics,
			StoreError: r.broker.StoreError, Log: r.log,
		}
		if name := c.String("tokens"); name != "" {
			reg, err := sources.LoadTokens(name)
			if err != nil {
				return unusable(err)
			}
			cfg.Tokens = reg.Tokens()
		}
		if r.sources.Authenticates() {
			cfg.Sources = r.sources
		}
		tokenFile := ""
		if cfg.Tokens == nil && cfg.Sources == nil {
			// No tokens given: the ingest is closed all the same, by a
			// token of its own that the operator hands to its clients.
			tokenFile = c.String("ingest-token")
			var created bool
			var err error
			if tokenFile == "" {
				tokenFile = filepath.Join(c.String("state"), stream.IngestTokenFile)
				if err = os.MkdirAll(c.String("state"), 0o700); err == nil {
					cfg.Token, created, err = stream.EnsureToken(tokenFile)
				}
			} else {
				cfg.Token, err = stream.LoadToken(tokenFile)
			}
			if err != nil {
				return unusable(fmt.Errorf("--ingest-token: %w", err))
			}
			if created {
				r.log.Info("generated the HTTP ingest's bearer token (mode 0600): clients send Authorization: Bearer TOKEN", "file", tokenFile)
			}
		}
		mux := stream.Mux(stream.NewIngest(cfg), r.metrics, token)
		mountLog(mux, r.logCfg)
		srv, addr, err := stream.Serve(r.inURL, mux)
		if err != nil {
			return unusable(fmt.Errorf("--in http://%s: %w", r.inURL, err))
		}
		r.servers = append(r.servers, srv)
		attrs := []any{"metrics", "/metrics", "health", "/healthz", "ready", "/readyz"}
		if tokenFile != "" {
			attrs = append(attrs, "token_file", tokenFile)
		}
		r.log.Info(fmt.Sprintf("HTTP ingest on http://%s/v1/sightings", addr), attrs...)
	}
	if addr := c.String("metrics"); addr != "" {
		mux := stream.Mux(nil, r.metrics, token)
		mountLog(mux, r.logCfg)
		srv, a, err := stream.Serve(addr, mux)
		if err != nil {
			return unusable(fmt.Errorf("--metrics %s: %w", addr, err))
		}
		r.servers = append(r.servers, srv)
		r.log.Info(fmt.Sprintf("metrics on http://%s/metrics", a), "health", "/healthz", "ready", "/readyz")
	}
	return nil
}

// load sets the memory limit and reads the line, the policy and the
// sources' registry, for an engine and a worker alike.
func (r *streamRun) load() error {
	if err := setMemoryLimit(r.c); err != nil {
		return err
	}
	var err error
	if r.line, r.pol, err = loadLine(r.c); err != nil {
		return err
	}
	r.sources, err = loadSources(r.c, r.line, &r.pol)
	return err
}

// metricsToken is the bearer token /metrics, /healthz and /readyz ask
// for: --metrics-token's, else an engine's own in --state, generated the
// first time, so that no door of the service answers a stranger. (A
// worker keeps no state: it is given one, or serves no metrics.)
func (r *streamRun) metricsToken() (string, error) {
	c := r.c
	if name := c.String("metrics-token"); name != "" {
		tok, err := stream.LoadToken(name)
		if err != nil {
			return "", unusable(fmt.Errorf("--metrics-token: %w", err))
		}
		return tok, nil
	}
	name := filepath.Join(c.String("state"), stream.MetricsTokenFile)
	var tok string
	var created bool
	err := os.MkdirAll(c.String("state"), 0o700)
	if err == nil {
		tok, created, err = stream.EnsureToken(name)
	}
	if err != nil {
		return "", unusable(fmt.Errorf("--metrics-token: %w", err))
	}
	if created {
		r.log.Info("generated the bearer token of /metrics, /healthz and /readyz (mode 0600): scrapers and probes send Authorization: Bearer TOKEN", "file", name)
	}
	return tok, nil
}

func (r *streamRun) summary(d *stream.Driver) error {
	sum := d.Summary(time.Since(r.started).Seconds())
	if name := r.c.String("summary"); name != "" {
		if err := os.WriteFile(name, sum.AppendJSON(nil), 0o644); err != nil {
			return failed(fmt.Errorf("summary: %w", err))
		}
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
	attrs := []any{"read", k.Read, "accepted", k.Accepted, "rejected", k.Rejected, "duplicate", k.Duplicate, "late", k.Late,
		"violations", violations, "episodes_closed", closed, "episodes_open", e.Open()}
	if r.logCfg != nil {
		t := d.LogTree()
		attrs = append(attrs, "log_size", t.Size, "log_root", base64.StdEncoding.EncodeToString(t.Root[:]))
	}
	if n, lat := d.ClosedLatency(); n > 0 {
		attrs = append(attrs, "closed_alerts", n, "closed_alert_latency_max_ms", float64(lat.Microseconds())/1000)
	}
	if r.inKind == "-" {
		r.log.Info("standard input ended: every episode closed; records "+countsText(k), append(attrs, "wall_s", sum.WallS)...)
		return nil
	}
	r.log.Info(fmt.Sprintf("stopped after sequence %d, checkpoint written; since the state began: records %s", d.Seq(), countsText(k)),
		append([]any{"seq", d.Seq()}, attrs...)...)
	return nil
}

// countsText is the record counts in words.
func countsText(k stream.Counts) string {
	return fmt.Sprintf("%d read (%d accepted, %d rejected, %d duplicate, %d late)", k.Read, k.Accepted, k.Rejected, k.Duplicate, k.Late)
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

// setMemoryLimit sets the Go runtime's soft memory limit from
// --memory-limit, unless it is 0 or GOMEMLIMIT sets one.
func setMemoryLimit(c *cli.Context) error {
	if ml := c.String("memory-limit"); ml != "0" && os.Getenv("GOMEMLIMIT") == "" {
		n, err := num.ParseSize(ml)
		if err != nil {
			return usageError(c, "--memory-limit: %v", err)
		}
		debug.SetMemoryLimit(n)
	}
	return nil
}

// configID is stream.ConfigID of the line, policy and sources' registry
// the flags name.
func configID(c *cli.Context, pol detect.Policy, reg *sources.Registry) (string, error) {
	data, err := os.ReadFile(c.String("line"))
	if err != nil {
		return "", err
	}
	line := stream.LineConfig{File: data, Left: c.String("left"), Right: c.String("right"), BufferM: c.Float64("buffer-m")}
	return stream.ConfigID(line, pol, reg.Affiliations(), c.String("stream"), reg.Signers()...), nil
}
