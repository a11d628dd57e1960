package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/sources"
	"github.com/linewatch/linewatch/tlog"
)

// SourceHeader is the header of a sightings message that names the source
// the HTTP ingest authenticated its records as (by token or signature).
// The subject names it too, but with the characters NATS reserves
// replaced, which the log must not lose.
const SourceHeader = "Linewatch-Source"

// NATSSource consumes records from the sightings stream with a durable pull
// consumer. On every start the consumer is recreated to deliver from the
// sequence after the checkpoint's (After), so the position is exact
// whatever was acknowledged; acknowledgements (AckAll) follow checkpoints
// and only tell the server how far the consumer safely got.
//
// While it runs it looks at the stream and the consumer twice a second,
// and stops with an error (Run returns it; Metrics records it, so /healthz
// answers 503) when another client deleted, replaced or paused them,
// changed what they capture or deliver, or removed records from the stream
// before they were consumed: the engine would otherwise go on, consuming
// nothing or missing records, while everything looked well.
type NATSSource struct {
	Broker   *Broker
	Consumer string // durable consumer name
	After    uint64 // the last sequence already processed
	Metrics  *Metrics
	// Sources is the registry whose keys check the signature of a signed
	// message (SourceHeader, sources.SignatureHeader): its records are
	// logged with their body and ordinal (docs/log.md). A message whose
	// signature does not verify is taken as unauthenticated.
	Sources *sources.Registry
	// Log, if set, receives what an operator should know (records the
	// stream dropped before they were processed).
	Log *slog.Logger
}

// Run consumes until ctx is done or the stream or consumer is tampered
// with.
func (s *NATSSource) Run(ctx context.Context, bt *Batcher) error {
	log := s.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	js, stream := s.Broker.JS, s.Broker.cfg.Stream
	info, err := s.Broker.Stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("JetStream stream %s: %w", stream, err)
	}
	if info.State.LastSeq < s.After {
		return fmt.Errorf("JetStream stream %s ends at sequence %d, before the %d the checkpoint covers: it was replaced; start with a new --state",
			stream, info.State.LastSeq, s.After)
	}
	if info.State.Msgs > 0 && info.State.FirstSeq > s.After+1 {
		log.Warn("records were removed from the JetStream stream (limits, purge) before they were processed",
			"stream", stream, "first", s.After+1, "last", info.State.FirstSeq-1)
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
	w := &tamperWatch{src: s, cons: cons, stream: info, consumer: cons.CachedInfo()}
	w.delivered.Store(s.After)
	if info.State.FirstSeq > 0 {
		// Records removed before this start were reported above.
		w.delivered.Store(max(s.After, info.State.FirstSeq-1))
	}

	msgs := make(chan jetstream.Msg, 4*MaxBatch)
	look := make(chan struct{}, 1)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		if md, err := m.Metadata(); err == nil {
			w.deliver(md.Sequence.Stream)
		}
		select {
		case msgs <- m:
		case <-ctx.Done():
		}
	},
		jetstream.PullMaxMessages(4*MaxBatch),
		// Heartbeats every 2 s: a pull request the server lost (JetStream
		// restarted, say) is noticed and made again within 4 s.
		jetstream.PullExpiry(10*time.Second), jetstream.PullHeartbeat(2*time.Second),
		jetstream.ConsumeErrHandler(func(jetstream.ConsumeContext, error) {
			// Missing heartbeats, or the consumer deleted (which ends the
			// subscription): look at once what became of the consumer.
			select {
			case look <- struct{}{}:
			default:
			}
		}))
	if err != nil {
		return fmt.Errorf("JetStream consumer %s: %w", s.Consumer, err)
	}
	defer cc.Stop()
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	tampered := make(chan error, 1)
	go w.run(wctx, look, tampered)

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
		s.addMessage(b, stream, seq, bt.Ref(md.Timestamp.UnixMicro()), m.Headers(), m.Data())
		b.Last = seq
		b.Ack = ackFunc(m)
	}
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-tampered:
			return err
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

// tamperWatch looks at the stream and the consumer while a NATSSource
// runs, and keeps the metrics' view of the stream's last sequence.
type tamperWatch struct {
	src      *NATSSource
	cons     jetstream.Consumer
	stream   *jetstream.StreamInfo   // as the source started
	consumer *jetstream.ConsumerInfo // as the source created it
	// delivered is the highest stream sequence the server delivered (or
	// that was gone before the source started).
	delivered atomic.Uint64
	// suspect counts the looks in a row that found records removed before
	// they were delivered: messages on their way to the client when the
	// stream was cut are delivered a moment later, so it takes two.
	suspect int
}

func (w *tamperWatch) deliver(seq uint64) {
	for {
		d := w.delivered.Load()
		if seq <= d || w.delivered.CompareAndSwap(d, seq) {
			return
		}
	}
}

func (w *tamperWatch) run(ctx context.Context, look <-chan struct{}, tampered chan<- error) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		if err := w.look(ctx); err != nil {
			if m := w.src.Metrics; m != nil {
				m.SetProblem("nats", err.Error())
			}
			tampered <- err
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-look:
		}
	}
}

// look returns an error when the stream or the consumer is not as the
// source left it. A server that does not answer is no such error: the
// consumer reports the missing heartbeats and resumes when it answers.
func (w *tamperWatch) look(ctx context.Context) error {
	b, name, cname := w.src.Broker, w.stream.Config.Name, w.consumer.Name
	settling := b.settling()
	// What was delivered before the look was in the stream before it.
	before := w.delivered.Load()
	info, err := b.Stream.Info(ctx)
	if err != nil {
		if errors.Is(err, jetstream.ErrStreamNotFound) && !settling && ctx.Err() == nil {
			return fmt.Errorf("JetStream stream %s was deleted under the running engine: the records it held are gone and its sequence numbers no longer match the checkpoint's", name)
		}
		return nil
	}
	if m := w.src.Metrics; m != nil {
		m.setStreamLast(info.State.LastSeq)
	}
	if !info.Created.Equal(w.stream.Created) {
		return fmt.Errorf("JetStream stream %s was deleted and created again under the running engine: its sequence numbers no longer match the checkpoint's", name)
	}
	if !slices.Equal(info.Config.Subjects, w.stream.Config.Subjects) {
		return fmt.Errorf("JetStream stream %s was changed under the running engine: it captures %q, not %q", name, info.Config.Subjects, w.stream.Config.Subjects)
	}
	// And what is not delivered even after it, but gone from the stream,
	// will never be.
	d := w.delivered.Load()
	switch {
	case info.State.LastSeq < before:
		return fmt.Errorf("JetStream stream %s ends at sequence %d, before the %d already consumed: it was reset under the running engine", name, info.State.LastSeq, before)
	case info.State.FirstSeq > d+1:
		if w.suspect++; w.suspect >= 2 {
			return fmt.Errorf("JetStream stream %s lost records %d to %d before the engine consumed them (purged, or removed by its limits)", name, d+1, info.State.FirstSeq-1)
		}
	default:
		w.suspect = 0
	}

	ci, err := w.cons.Info(ctx)
	if err != nil {
		if errors.Is(err, jetstream.ErrConsumerNotFound) && !settling && ctx.Err() == nil {
			return fmt.Errorf("JetStream consumer %s was deleted under the running engine: restart it to resume from its checkpoint", cname)
		}
		return nil
	}
	if !ci.Created.Equal(w.consumer.Created) {
		return fmt.Errorf("JetStream consumer %s was deleted and created again by another client: restart the engine to resume from its checkpoint", cname)
	}
	if ci.Paused {
		return fmt.Errorf("JetStream consumer %s was paused by another client (for %s): restart the engine to resume from its checkpoint", cname, ci.PauseRemaining.Round(time.Second))
	}
	was, is := &w.consumer.Config, &ci.Config
	if is.FilterSubject != was.FilterSubject || !slices.Equal(is.FilterSubjects, was.FilterSubjects) ||
		is.DeliverPolicy != was.DeliverPolicy || is.AckPolicy != was.AckPolicy || is.OptStartSeq != was.OptStartSeq {
		return fmt.Errorf("JetStream consumer %s was changed by another client: restart the engine to resume from its checkpoint", cname)
	}
	return nil
}

// addMessage adds the records of a message to a batch. A message holds
// one record or many (GeoJSONSeq, NDJSON, a FeatureCollection), as a file
// does; a record's file is "nats:STREAM/SEQ" and its line is its line in
// the message. A message signed by its source (the HTTP ingest stores a
// signed body as it was signed) is added as a signed body, its records
// with their ordinals, if its signature verifies.
func (s *NATSSource) addMessage(b *Batch, stream string, seq uint64, ref int64, h nats.Header, data []byte) {
	first := b.Len()
	defer func() { b.msgs = append(b.msgs, message{seq: seq, ref: ref, first: first, n: b.Len() - first}) }()
	name := "nats:" + stream + "/" + strconv.FormatUint(seq, 10)
	m := RecordMeta{Ref: ref, Seq: seq, Source: h.Get(SourceHeader)}
	if sig := h.Get(sources.SignatureHeader); sig != "" {
		src, signed, err := s.authenticate(sig, data)
		if err == nil && (m.Source == "" || m.Source == src.ID) {
			b.AddBody(signed.Sum, data, signed.Note)
			m.Source, m.Body = src.ID, &tlog.BodyRef{Sum: signed.Sum}
			addRecords(b, name, data, m)
			return
		}
		if err == nil {
			err = fmt.Errorf("signed by source %q, but the message says %q", src.ID, m.Source)
		}
		s.warn("a signed message whose signature does not hold: its records are taken as unauthenticated", "seq", seq, "error", err.Error())
		m.Source = ""
	}
	if m.Source != "" && (sources.CheckID(m.Source) != nil || s.signs(m.Source)) {
		// A source that signs is one only by its signature.
		s.warn("a message names its source without proof: its records are taken as unauthenticated", "seq", seq, "source", m.Source)
		m.Source = ""
	}
	addRecords(b, name, data, m)
}

func (s *NATSSource) authenticate(sig string, data []byte) (*sources.Source, *sources.Signed, error) {
	if s.Sources == nil {
		return nil, nil, errors.New("no sources registry to check it with")
	}
	src, signed, err := s.Sources.Authenticate("", sig, data)
	if err == nil && signed == nil {
		err = errors.New("no signature")
	}
	return src, signed, err
}

func (s *NATSSource) signs(id string) bool {
	src := s.Sources.Source(id)
	return src != nil && src.Signs()
}

func (s *NATSSource) warn(msg string, args ...any) {
	if s.Log != nil {
		s.Log.Warn(msg, args...)
	}
}

// addRecords adds the records of a message, name, to b, each with m. The
// records of a signed body (m.Body) are numbered within it, split as
// sources.Records splits it.
func addRecords(b *Batch, name string, data []byte, m RecordMeta) {
	if m.Body == nil && oneRecord(data) {
		b.AddRecord(feed.Record{File: name, Line: 1, Index: -1, Raw: bytes.TrimSpace(data)}, m)
		return
	}
	fs := feed.NewBytesSource(name, data)
	for {
		rec, err := fs.Next()
		if err != nil { // io.EOF: a Source over bytes has no other error
			return
		}
		b.AddRecord(rec, m)
		if m.Body != nil {
			m.Body.Index++
		}
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
