package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// BrokerConfig says which NATS server to use and how its sightings stream
// is laid out.
type BrokerConfig struct {
	// URL is a NATS server URL (nats://HOST:PORT, or tls://…), or several
	// separated by commas (the servers of a cluster, tried in turn); "" or
	// "embedded" starts an embedded server with JetStream.
	URL string
	// StoreDir is where the embedded server keeps its JetStream files (and
	// its listener's generated key).
	StoreDir string
	// Listen is the HOST:PORT the embedded server listens on for other
	// clients (port 0: any free one). "" listens nowhere: the server is
	// reached from this process only, which is all the HTTP ingest needs.
	// A listener always requires a client to prove it holds NKeyFile's key,
	// and speaks TLS when TLSCert and TLSKey are given.
	Listen string
	// NKeyFile is a NATS user nkey seed file (as "nk -gen user" writes
	// it). For the embedded server's listener, only clients holding it are
	// let in; if empty, StoreDir/nats.nk is used, generated (mode 0600) if
	// absent. For an external server, it is the key to connect with.
	NKeyFile string
	// CredsFile is a NATS credentials file (JWT and seed) to connect to an
	// external server with.
	CredsFile string
	// User and Password authenticate to an external server.
	User, Password string
	// TLSCert and TLSKey are the certificate and key (PEM files) of the
	// embedded server's listener; for an external server, the client
	// certificate to present (mutual TLS).
	TLSCert, TLSKey string
	// TLSCA is a PEM file of the certificate authorities that sign an
	// external server's certificate (default: the system's).
	TLSCA string
	// Replicas is how many copies of the sightings stream (and of every
	// stream and bucket made with Replicas) the servers keep: 1 (embedded),
	// 3 on a cluster.
	Replicas int
	// Stream is the JetStream stream of sightings, created if absent and
	// capturing Subject; Duplicates is its window for Nats-Msg-Id dedupe.
	Stream     string
	Subject    string
	Duplicates time.Duration
	// MaxAge, when set, is how long the stream keeps a record (JetStream
	// removes older ones); 0 keeps everything. A record removed before it
	// was processed is reported at the next start.
	MaxAge time.Duration
	// Compression is how the sightings stream is stored, when it is
	// created: uncompressed (JetStream's default and the zero value), or
	// S2-compressed, about half the disk for a fifth more of the process's
	// CPU (JetStream compresses each block of its files when it is full).
	Compression jetstream.StoreCompression
	// SyncAlways makes the embedded server sync its files to disk on every
	// write, so that what was acknowledged survives a power loss too, not
	// only a crash of the process (by default it syncs every 2 minutes).
	SyncAlways bool
	// Log receives what an operator should know (nil: nothing is logged).
	Log *slog.Logger
	// Metrics, if set, shows in /healthz that the embedded server cannot
	// store records.
	Metrics *Metrics
}

// Broker is a connection to a NATS server with JetStream (and the server
// itself when it is embedded).
type Broker struct {
	cfg      BrokerConfig
	embedded *embedded // nil for an external server
	nkey     string    // the key file the embedded server's listener asks for
	nc       *nats.Conn
	JS       jetstream.JetStream
	Stream   jetstream.Stream

	store storeWatch
}

// SyncsAlways tells whether the embedded server syncs its files on every
// write (false for an external server, whose own configuration decides).
func (b *Broker) SyncsAlways() bool {
	if b.embedded == nil {
		return false
	}
	c := b.embedded.server().JetStreamConfig()
	return c != nil && c.SyncAlways
}

// Embedded tells whether a --in or --nats URL means the embedded server.
func Embedded(url string) bool { return url == "" || url == "embedded" || url == "nats://embedded" }

// StartBroker starts the embedded server or connects to the external one,
// and makes sure the sightings stream exists.
func StartBroker(ctx context.Context, cfg BrokerConfig) (*Broker, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	b := &Broker{cfg: cfg}
	opts := []nats.Option{nats.Name("linewatch"), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond),
		// A lost connection is a problem while it lasts.
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if nc.IsClosed() || nc.IsDraining() {
				return // closed on purpose
			}
			msg := "disconnected from the NATS server"
			if err != nil {
				msg += ": " + err.Error()
			}
			cfg.Log.Warn(msg + "; reconnecting")
			if cfg.Metrics != nil {
				cfg.Metrics.SetProblem("connection", msg)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			cfg.Log.Info("reconnected to the NATS server")
			if cfg.Metrics != nil {
				cfg.Metrics.SetProblem("connection", "")
			}
		}),
	}
	url := cfg.URL
	if Embedded(cfg.URL) {
		auth, err := b.startEmbedded()
		if err != nil {
			return nil, err
		}
		opts = append(opts, auth...)
		url = ""
	} else {
		if cfg.NKeyFile != "" {
			opt, err := nats.NkeyOptionFromSeed(cfg.NKeyFile)
			if err != nil {
				return nil, fmt.Errorf("NATS key %s: %w", cfg.NKeyFile, err)
			}
			opts = append(opts, opt)
		}
		if cfg.CredsFile != "" {
			opts = append(opts, nats.UserCredentials(cfg.CredsFile))
		}
		if cfg.User != "" || cfg.Password != "" {
			opts = append(opts, nats.UserInfo(cfg.User, cfg.Password))
		}
		if cfg.TLSCA != "" {
			opts = append(opts, nats.RootCAs(cfg.TLSCA))
		}
		if cfg.TLSCert != "" || cfg.TLSKey != "" {
			opts = append(opts, nats.ClientCert(cfg.TLSCert, cfg.TLSKey))
		}
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		b.Close()
		if Embedded(cfg.URL) {
			return nil, fmt.Errorf("embedded NATS server: %w", err)
		}
		return nil, fmt.Errorf("NATS %s: %w", cfg.URL, err)
	}
	b.nc = nc
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(16384))
	if err != nil {
		b.Close()
		return nil, err
	}
	b.JS = js
	if b.Stream, err = EnsureStream(ctx, js, StreamSpec{Name: cfg.Stream, Subject: cfg.Subject, Duplicates: cfg.Duplicates,
		MaxAge: cfg.MaxAge, Replicas: cfg.Replicas, Compression: cfg.Compression}, cfg.Log); err != nil {
		b.Close()
		return nil, err
	}
	if b.embedded != nil {
		b.store.start(b)
	}
	return b, nil
}

// StreamSpec is a stream linewatch creates.
type StreamSpec struct {
	Name, Subject string
	// Duplicates is the window within which JetStream drops a message whose
	// id (Nats-Msg-Id) it has stored.
	Duplicates time.Duration
	// MaxAge, if set, is how long the stream keeps a message; 0: for ever.
	MaxAge time.Duration
	// Replicas is the number of copies on a cluster (0: 1).
	Replicas int
	// Compression is the stream's storage compression (zero: none).
	Compression jetstream.StoreCompression
}

// ParseCompression reads a stream's compression as the nats command
// names it: none or s2.
func ParseCompression(s string) (jetstream.StoreCompression, error) {
	switch strings.ToLower(s) {
	case "none":
		return jetstream.NoCompression, nil
	case "s2":
		return jetstream.S2Compression, nil
	}
	return 0, fmt.Errorf("%q: want none or s2", s)
}

// EnsureStream returns the stream spec names, creating it (file storage,
// capturing spec.Subject) if it does not exist. An
// existing stream is taken as it is; log (if set) is told when it keeps
// fewer copies than spec asks for. While JetStream does not answer (see
// transient) it tries again, for up to a minute or until ctx is done.
func EnsureStream(ctx context.Context, js jetstream.JetStream, spec StreamSpec, log *slog.Logger) (jetstream.Stream, error) {
	var s jetstream.Stream
	warned := false
	err := retryCtx(ctx, setupWait, apiAttempt, func(ctx context.Context) error {
		var err error
		s, err = ensureStream(ctx, js, spec, log)
		if transient(err) && !warned && log != nil {
			log.Warn("JetStream does not answer yet (a server restarting, a cluster electing its leaders?): trying again for up to "+setupWait.String(),
				"stream", spec.Name, "error", err.Error())
			warned = true
		}
		return err
	})
	return s, err
}

// ensureStream is one attempt of EnsureStream.
func ensureStream(ctx context.Context, js jetstream.JetStream, spec StreamSpec, log *slog.Logger) (jetstream.Stream, error) {
	name := spec.Name
	s, err := js.Stream(ctx, name)
	if err == nil {
		info := s.CachedInfo()
		if log == nil || info == nil {
			return s, nil
		}
		if info.Config.Replicas < max(spec.Replicas, 1) {
			log.Warn("the JetStream stream keeps fewer copies than --replicas asks for; change it with: nats stream edit "+name+" --replicas "+fmt.Sprint(spec.Replicas),
				"stream", name, "replicas", info.Config.Replicas, "want", spec.Replicas)
		}
		if info.Config.Compression != spec.Compression {
			log.Info("the JetStream stream was created with another compression than asked for now, and keeps it; change it with: nats stream edit "+name+" --compression "+strings.ToLower(spec.Compression.String()),
				"stream", name, "compression", strings.ToLower(info.Config.Compression.String()), "asked", strings.ToLower(spec.Compression.String()))
		}
		return s, nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("JetStream stream %s: %w", name, err)
	}
	s, err = js.CreateStream(ctx, jetstream.StreamConfig{
		Name:        name,
		Description: "linewatch",
		Subjects:    []string{spec.Subject},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Duplicates:  spec.Duplicates,
		MaxAge:      spec.MaxAge,
		Replicas:    max(spec.Replicas, 1),
		Compression: spec.Compression,
	})
	if err != nil {
		return nil, fmt.Errorf("creating JetStream stream %s on %s: %w", name, spec.Subject, err)
	}
	return s, nil
}

// ClientURL is the URL other clients reach the server at ("" for an
// embedded server that does not listen).
func (b *Broker) ClientURL() string {
	if b.embedded == nil {
		return b.nc.ConnectedUrl()
	}
	if b.cfg.Listen == "" {
		return ""
	}
	return b.embedded.server().ClientURL()
}

// KeyFile is the nkey seed file clients of the embedded server's listener
// authenticate with ("" when it does not listen).
func (b *Broker) KeyFile() string { return b.nkey }

// Addr is the embedded server's listening address (nil if none).
func (b *Broker) Addr() net.Addr {
	if b.embedded == nil || b.cfg.Listen == "" {
		return nil
	}
	return b.embedded.server().Addr()
}

// Conn is the NATS connection.
func (b *Broker) Conn() *nats.Conn { return b.nc }

// Close drains the connection and shuts the embedded server down.
func (b *Broker) Close() {
	b.store.stop()
	if b.nc != nil {
		b.nc.Drain()
		for i := 0; i < 100 && !b.nc.IsClosed(); i++ {
			time.Sleep(10 * time.Millisecond)
		}
		b.nc.Close()
	}
	if b.embedded != nil {
		b.embedded.shutdown()
	}
}

// PublishSubject is the subject a record from source is published on,
// under the stream's subject: linewatch.sightings.> gives
// linewatch.sightings.SOURCE, with characters NATS reserves replaced.
func PublishSubject(pattern, source string) string {
	tok := sanitizeToken(source)
	switch {
	case strings.HasSuffix(pattern, ".>") || pattern == ">":
		return strings.TrimSuffix(pattern, ">") + tok
	case strings.Contains(pattern, "*"):
		parts := strings.Split(pattern, ".")
		for i, p := range parts {
			if p == "*" {
				parts[i] = tok
			}
		}
		return strings.Join(parts, ".")
	}
	return pattern
}

func sanitizeToken(s string) string {
	if s == "" {
		return "ingest"
	}
	b := []byte(s)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

// Probe tells why the broker cannot serve now ("" when it can): the
// connection is down, JetStream does not answer, or (embedded) cannot
// store.
func (b *Broker) Probe(ctx context.Context) string {
	if st := b.nc.Status(); st != nats.CONNECTED {
		return "not connected to NATS (" + strings.ToLower(st.String()) + ")"
	}
	if err := b.StoreError(); err != nil {
		return "JetStream cannot store: " + err.Error()
	}
	if _, err := b.JS.AccountInfo(ctx); err != nil {
		return "JetStream does not answer: " + err.Error()
	}
	return ""
}

// ConsumerProbe tells whether the durable consumer name exists on the
// sightings stream.
func (b *Broker) ConsumerProbe(name string) Probe {
	return func(ctx context.Context) string {
		if _, err := b.JS.Consumer(ctx, b.cfg.Stream, name); err != nil {
			return "JetStream consumer " + name + " on " + b.cfg.Stream + ": " + err.Error()
		}
		return ""
	}
}
