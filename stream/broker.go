package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linewatch/linewatch/feed"
)

// BrokerConfig says which NATS server to use and how its sightings stream
// is laid out.
type BrokerConfig struct {
	// URL is a NATS server URL (nats://HOST:PORT); "" or "embedded" starts
	// an embedded server with JetStream.
	URL string
	// StoreDir is where the embedded server keeps its JetStream files.
	StoreDir string
	// Host and Port the embedded server listens on for other clients
	// (default 127.0.0.1; Port 0 takes a free port, -1 does not listen).
	Host string
	Port int
	// Stream is the JetStream stream of sightings, created if absent and
	// capturing Subject; Duplicates is its window for Nats-Msg-Id dedupe.
	Stream     string
	Subject    string
	Duplicates time.Duration
	// MaxAge, when set, is how long the stream keeps a record (JetStream
	// removes older ones); 0 keeps everything. A record removed before it
	// was processed is reported at the next start.
	MaxAge time.Duration
	// SyncAlways makes the embedded server sync its files to disk on every
	// write, so that what was acknowledged survives a power loss too, not
	// only a crash of the process (by default it syncs every 2 minutes).
	SyncAlways bool
}

// Broker is a connection to a NATS server with JetStream (and the server
// itself when it is embedded).
type Broker struct {
	cfg    BrokerConfig
	srv    *server.Server // nil for an external server
	nc     *nats.Conn
	JS     jetstream.JetStream
	Stream jetstream.Stream
}

// SyncsAlways tells whether the embedded server syncs its files on every
// write (false for an external server, whose own configuration decides).
func (b *Broker) SyncsAlways() bool {
	if b.srv == nil {
		return false
	}
	c := b.srv.JetStreamConfig()
	return c != nil && c.SyncAlways
}

// Embedded tells whether a --in or --nats URL means the embedded server.
func Embedded(url string) bool { return url == "" || url == "embedded" || url == "nats://embedded" }

// StartBroker starts the embedded server or connects to the external one,
// and makes sure the sightings stream exists.
func StartBroker(ctx context.Context, cfg BrokerConfig) (*Broker, error) {
	b := &Broker{cfg: cfg}
	var opts []nats.Option
	opts = append(opts, nats.Name("linewatch"), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond))
	url := cfg.URL
	if Embedded(cfg.URL) {
		host := cfg.Host
		if host == "" {
			host = "127.0.0.1"
		}
		sopts := &server.Options{
			ServerName: "linewatch",
			Host:       host,
			Port:       cfg.Port,
			JetStream:  true,
			StoreDir:   filepath.Join(cfg.StoreDir, "jetstream"),
			NoSigs:     true,
			NoLog:      true,
			SyncAlways: cfg.SyncAlways,
		}
		switch cfg.Port {
		case 0:
			sopts.Port = server.RANDOM_PORT
		case -1:
			sopts.DontListen = true
		}
		srv, err := server.NewServer(sopts)
		if err != nil {
			return nil, fmt.Errorf("embedded NATS server: %w", err)
		}
		go srv.Start()
		if !srv.ReadyForConnections(30 * time.Second) {
			srv.Shutdown()
			if cfg.Port > 0 {
				return nil, fmt.Errorf("embedded NATS server: not ready (is port %d in use?)", cfg.Port)
			}
			return nil, errors.New("embedded NATS server: not ready")
		}
		b.srv = srv
		opts = append(opts, nats.InProcessServer(srv))
		url = ""
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("NATS %s: %w", cfg.URL, err)
	}
	b.nc = nc
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(16384))
	if err != nil {
		b.Close()
		return nil, err
	}
	b.JS = js
	if b.Stream, err = EnsureStream(ctx, js, cfg.Stream, cfg.Subject, cfg.Duplicates, cfg.MaxAge); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// EnsureStream returns the stream named name, creating it (file storage,
// capturing subject, with a duplicate window, keeping records for maxAge
// or, if 0, for ever) if it does not exist.
func EnsureStream(ctx context.Context, js jetstream.JetStream, name, subject string, dups, maxAge time.Duration) (jetstream.Stream, error) {
	s, err := js.Stream(ctx, name)
	if err == nil {
		return s, nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("JetStream stream %s: %w", name, err)
	}
	s, err = js.CreateStream(ctx, jetstream.StreamConfig{
		Name:        name,
		Description: "linewatch",
		Subjects:    []string{subject},
		Storage:     jetstream.FileStorage,
		Retention:   jetstream.LimitsPolicy,
		Duplicates:  dups,
		MaxAge:      maxAge,
		Compression: jetstream.S2Compression,
	})
	if err != nil {
		return nil, fmt.Errorf("creating JetStream stream %s on %s: %w", name, subject, err)
	}
	return s, nil
}

// ClientURL is the URL other clients reach the server at ("" for an
// embedded server that does not listen).
func (b *Broker) ClientURL() string {
	if b.srv == nil {
		return b.nc.ConnectedUrl()
	}
	if b.cfg.Port == -1 {
		return ""
	}
	return b.srv.ClientURL()
}

// Addr is the embedded server's listening address (nil if none).
func (b *Broker) Addr() net.Addr {
	if b.srv == nil {
		return nil
	}
	return b.srv.Addr()
}

// Conn is the NATS connection.
func (b *Broker) Conn() *nats.Conn { return b.nc }

// Close drains the connection and shuts the embedded server down.
func (b *Broker) Close() {
	if b.nc != nil {
		b.nc.Drain()
		for i := 0; i < 100 && !b.nc.IsClosed(); i++ {
			time.Sleep(10 * time.Millisecond)
		}
		b.nc.Close()
	}
	if b.srv != nil {
		b.srv.Shutdown()
		b.srv.WaitForShutdown()
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

// NATSSource consumes records from the sightings stream with a durable pull
// consumer. On every start the consumer is recreated to deliver from the
// sequence after the checkpoint's (After), so the position is exact
// whatever was acknowledged; acknowledgements (AckAll) follow checkpoints
// and only tell the server how far the consumer safely got.
type NATSSource struct {
	Broker   *Broker
	Consumer string // durable consumer name
	After    uint64 // the last sequence already processed
	Metrics  *Metrics
	// Logf, if set, reports what an operator should know (records the
	// stream dropped before they were processed).
	Logf func(format string, args ...any)
}

// Run consumes until ctx is done.
func (s *NATSSource) Run(ctx context.Context, bt *Batcher) error {
	js, stream := s.Broker.JS, s.Broker.cfg.Stream
	info, err := s.Broker.Stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("JetStream stream %s: %w", stream, err)
	}
	if info.State.LastSeq < s.After {
		return fmt.Errorf("JetStream stream %s ends at sequence %d, before the %d the checkpoint covers: it was replaced; start with a new --state",
			stream, info.State.LastSeq, s.After)
	}
	if info.State.Msgs > 0 && info.State.FirstSeq > s.After+1 && s.Logf != nil {
		s.Logf("JetStream stream %s starts at sequence %d: records %d to %d were removed (limits, purge) before they were processed",
			stream, info.State.FirstSeq, s.After+1, info.State.FirstSeq-1)
	}
	err = js.DeleteConsumer(ctx, stream, s.Consumer)
	if err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("JetStream consumer %s: %w", s.Consumer, err)
	}
	cons, err := js.CreateConsumer(ctx, stream, jetstream.ConsumerConfig{
		Durable:       s.Consumer,
		Description:   "linewatch stream: resumes after its checkpoint",
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:   s.After + 1,
		AckPolicy:     jetstream.AckAllPolicy,
		AckWait:       5 * time.Minute,
		MaxAckPending: -1,
	})
	if err != nil {
		return fmt.Errorf("JetStream consumer %s: %w", s.Consumer, err)
	}
	msgs := make(chan jetstream.Msg, 4*MaxBatch)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-ctx.Done():
		}
	}, jetstream.PullMaxMessages(4*MaxBatch), jetstream.ConsumeErrHandler(func(jetstream.ConsumeContext, error) {}))
	if err != nil {
		return fmt.Errorf("JetStream consumer %s: %w", s.Consumer, err)
	}
	defer cc.Stop()
	go s.watchLast(ctx)

	last := s.After
	add := func(m jetstream.Msg) {
		md, err := m.Metadata()
		if err != nil {
			return // not a JetStream message
		}
		seq := md.Sequence.Stream
		if seq <= last {
			return // delivered again (an ack that came late): done already
		}
		last = seq
		b := bt.Current()
		addMessage(b, stream, seq, md.Timestamp.UnixMicro(), m.Data())
		b.Last = seq
		b.Ack = ackFunc(m)
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m := <-msgs:
			add(m)
		}
		// Take what has arrived, up to a full batch, then hand it on.
	drain:
		for bt.Pending() < MaxBatch {
			select {
			case m := <-msgs:
				add(m)
			default:
				break drain
			}
		}
		if err := bt.Flush(ctx); err != nil {
			return err
		}
	}
}

// addMessage adds the records of a message to a batch. A message holds
// one record or many (GeoJSONSeq, NDJSON, a FeatureCollection), as a file
// does; a record's file is "nats:STREAM/SEQ" and its line is its line in the
// message.
func addMessage(b *Batch, stream string, seq uint64, ref int64, data []byte) {
	name := "nats:" + stream + "/" + strconv.FormatUint(seq, 10)
	if oneRecord(data) {
		b.Add(feed.Record{File: name, Line: 1, Index: -1, Raw: bytes.TrimSpace(data)}, ref)
		return
	}
	src := feed.NewSource(name, bytes.NewReader(data))
	for {
		rec, err := src.Next()
		if err != nil { // io.EOF; a bytes.Reader has no other error
			return
		}
		b.Add(rec, ref)
	}
}

// oneRecord tells whether a message is one record on one line, which needs
// no splitting.
func oneRecord(data []byte) bool {
	d := bytes.TrimSpace(data)
	return len(d) > 0 && d[0] == '{' && bytes.IndexByte(d, '\n') < 0 && !bytes.Contains(d, []byte("FeatureCollection"))
}

func ackFunc(m jetstream.Msg) func() {
	return func() { m.Ack() }
}

// watchLast keeps the metrics' view of the stream's last sequence, for the
// consumer lag.
func (s *NATSSource) watchLast(ctx context.Context) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		if info, err := s.Broker.Stream.Info(ctx); err == nil && s.Metrics != nil {
			s.Metrics.setStreamLast(info.State.LastSeq)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
