package stream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/internal/pipeline"
)

// WorkerConfig is what RunWorker needs.
type WorkerConfig struct {
	// Broker is the connection to the NATS servers; the messages of its
	// sightings stream are what the worker prepares.
	Broker *Broker
	Judge  *detect.Judge
	// ConfigID and Build go into every prepared message: an engine uses
	// only those that name its own (RemoteConfig).
	ConfigID, Build string
	// Group is the engines' durable consumer name (--consumer). The
	// workers share the durable consumer GROUP-workers on the sightings
	// stream, and publish on PreparedSubject(Group).
	Group string
	// PreparedStream is the stream of prepared messages, created (with
	// Replicas and MaxAge) if absent.
	PreparedStream string
	Replicas       int
	MaxAge         time.Duration
	// Threads is the number of goroutines that prepare (0: GOMAXPROCS).
	Threads int
	// Name names the worker in its prepared messages, and so in the
	// engines' logs (default: host name and process id).
	Name    string
	Metrics *Metrics     // problems, and the worker's figures (WorkerStats)
	Stats   *WorkerStats // may be nil
	Log     *slog.Logger // nil: nothing is logged
}

// WorkerStats are a worker's figures.
type WorkerStats struct {
	Messages, Records, Skipped, Already, Failed atomic.Int64
}

var (
	descWorkerMsgs    = prometheus.NewDesc("linewatch_worker_messages_total", "Sightings messages this worker prepared and published.", nil, nil)
	descWorkerRecs    = prometheus.NewDesc("linewatch_worker_records_total", "Records in the messages this worker prepared.", nil, nil)
	descWorkerSkipped = prometheus.NewDesc("linewatch_worker_skipped_total", "Sightings messages skipped: the engine had checkpointed past them.", nil, nil)
	descWorkerAlready = prometheus.NewDesc("linewatch_worker_already_total", "Prepared messages another worker had published first.", nil, nil)
	descWorkerFailed  = prometheus.NewDesc("linewatch_worker_failed_total", "Prepared messages JetStream did not store (the sightings message is delivered again).", nil, nil)
)

// Describe implements prometheus.Collector.
func (s *WorkerStats) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descWorkerMsgs, descWorkerRecs, descWorkerSkipped, descWorkerAlready, descWorkerFailed} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (s *WorkerStats) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descWorkerMsgs, prometheus.CounterValue, float64(s.Messages.Load()))
	ch <- prometheus.MustNewConstMetric(descWorkerRecs, prometheus.CounterValue, float64(s.Records.Load()))
	ch <- prometheus.MustNewConstMetric(descWorkerSkipped, prometheus.CounterValue, float64(s.Skipped.Load()))
	ch <- prometheus.MustNewConstMetric(descWorkerAlready, prometheus.CounterValue, float64(s.Already.Load()))
	ch <- prometheus.MustNewConstMetric(descWorkerFailed, prometheus.CounterValue, float64(s.Failed.Load()))
}

// WorkersConsumer is the durable consumer the workers of an engine group
// share on the sightings stream.
func WorkersConsumer(group string) string { return group + "-workers" }

// BuildID identifies the running linewatch build: the SHA-256 of its
// executable, shortened. An engine uses the prepared messages of workers of
// its own build only, as another build may prepare a record otherwise.
func BuildID() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("build id: %w", err)
	}
	f, err := os.Open(exe)
	if err != nil {
		return "", fmt.Errorf("build id: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("build id: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)[:8]), nil
}

// RunWorker prepares messages of the sightings stream for the engines of a
// group until ctx is done: the stateless part of detection — split,
// decode, validate, locate, judge (detect.Judge.Prepare), the max_future
// check against the message's JetStream time — exactly as the engine's own
// pipeline does it, one prepared message per sightings message, published
// on PREFIX.SEQ (PreparedSubject) on condition that the subject is still
// empty, so that the first one stored stands whoever prepares it again.
// A sightings message is acknowledged once its prepared message is
// stored; one a worker took and did not acknowledge (it died) is delivered
// to another after a while. Messages the engines have already checkpointed
// past are skipped. Any number of workers may run, and none: an engine
// prepares itself whatever no worker has prepared in time.
//
// A worker keeps no state. It stops only when ctx is done; whatever else
// goes wrong (the cluster loses its quorum, the consumer is deleted) it
// logs, waits and starts again.
func RunWorker(ctx context.Context, cfg WorkerConfig) error {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Threads <= 0 {
		cfg.Threads = runtime.GOMAXPROCS(0)
	}
	if cfg.PreparedStream == "" {
		cfg.PreparedStream = DefaultPreparedStream
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultPreparedMaxAge
	}
	if cfg.Name == "" {
		host, _ := os.Hostname()
		cfg.Name = fmt.Sprintf("%s/%d", host, os.Getpid())
	}
	if cfg.Stats == nil {
		cfg.Stats = new(WorkerStats)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	wait := time.Second
	for {
		started := time.Now()
		err := runWorker(ctx, &cfg)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(started) > time.Minute {
			wait = time.Second
		}
		cfg.Metrics.SetProblem("worker", err.Error())
		cfg.Log.Error("the worker stopped; starting again", "error", err.Error(), "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// workBatch is a worker's batch: records of sightings messages, what was
// made of them, and the messages to acknowledge.
type workBatch struct {
	Batch
	src []jetstream.Msg // per message of Batch.msgs
	out [][]byte        // per message: its prepared message (nil: none)
}

func (b *workBatch) Reset() {
	b.Batch.Reset()
	clear(b.src)
	b.src, b.out = b.src[:0], b.out[:0]
}

// pendingPub is a prepared message published and not yet acknowledged.
type pendingPub struct {
	f   jetstream.PubAckFuture
	src jetstream.Msg
	n   int
}

func runWorker(ctx context.Context, cfg *WorkerConfig) error {
	b := cfg.Broker
	js, stream := b.JS, b.cfg.Stream
	if _, err := EnsurePreparedStream(ctx, js, cfg.PreparedStream, cfg.Replicas, cfg.MaxAge); err != nil {
		return err
	}
	var floor atomic.Uint64 // the engines' checkpointed sequence, as last seen
	engineFloor := func(ctx context.Context) (uint64, bool) {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		c, err := js.Consumer(ctx, stream, cfg.Group)
		if err != nil {
			return 0, false
		}
		return c.CachedInfo().AckFloor.Stream, true
	}
	cons, err := workersConsumer(ctx, js, stream, cfg.Group, engineFloor)
	if err != nil {
		return err
	}
	cfg.Metrics.SetProblem("worker", "")
	cfg.Log.Info("preparing the sightings stream's messages for the engines", "stream", stream, "consumer", WorkersConsumer(cfg.Group),
		"subject", PreparedSubject(cfg.Group)+".SEQ", "worker", cfg.Name, "threads", cfg.Threads)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			if f, ok := engineFloor(ctx); ok {
				floor.Store(f)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()

	msgs := make(chan jetstream.Msg, 4*MaxBatch)
	gone := make(chan error, 1)
	cc, err := cons.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-ctx.Done():
		}
	}, jetstream.PullMaxBytes(4<<20), jetstream.PullExpiry(10*time.Second), jetstream.PullHeartbeat(2*time.Second),
		jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
			if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
				select {
				case gone <- fmt.Errorf("JetStream consumer %s: %w", WorkersConsumer(cfg.Group), err):
				default:
				}
			}
		}))
	if err != nil {
		return fmt.Errorf("JetStream consumer %s: %w", WorkersConsumer(cfg.Group), err)
	}
	defer cc.Stop()

	// Acknowledge each sightings message once its prepared message is
	// stored, in the order they were published.
	pending := make(chan pendingPub, 1024)
	var acks sync.WaitGroup
	acks.Add(1)
	go func() {
		defer acks.Done()
		for p := range pending {
			cfg.ack(ctx, p)
		}
	}()

	hdr := preparedHeader{config: cfg.ConfigID, build: cfg.Build, worker: cfg.Name}
	maxPayload := int(b.Conn().MaxPayload()) - 1024
	pcfg := pipeline.Config[*workBatch]{
		Workers: cfg.Threads,
		New:     func() *workBatch { return new(workBatch) },
		Worker: func(int) func(*workBatch) {
			// No leaves (the log is the engine's) and no check of the
			// messages' sources: the engine does both with what it takes.
			w := newWorker(cfg.Judge, false, nil)
			return func(wb *workBatch) {
				w.prepare(&wb.Batch)
				for _, m := range wb.msgs {
					var out []byte
					if m.n > 0 {
						var err error
						out, err = appendPrepared(nil, &hdr, &wb.Batch, m)
						if err != nil || len(out) > maxPayload {
							// The engine prepares it itself.
							cfg.Log.Warn("a prepared message cannot be published: the engine prepares it", "seq", m.seq, "bytes", len(out), "error", fmt.Sprint(err))
							out = nil
						}
					}
					wb.out = append(wb.out, out)
				}
			}
		},
		Sink: func(wb *workBatch) error {
			for i, m := range wb.msgs {
				src := wb.src[i]
				if wb.out[i] == nil {
					src.Ack()
					continue
				}
				pm := &nats.Msg{Subject: preparedSubject(cfg.Group, m.seq), Data: wb.out[i], Header: nats.Header{}}
				pm.Header.Set(jetstream.ExpectedLastSubjSeqHeader, "0")
				f, err := js.PublishMsgAsync(pm)
				if err != nil {
					cfg.Stats.Failed.Add(1)
					src.NakWithDelay(time.Second)
					continue
				}
				select {
				case pending <- pendingPub{f: f, src: src, n: m.n}:
				case <-ctx.Done():
					return ctx.Err()
				}
			}
			return nil
		},
	}
	runErr := make(chan error, 1)
	go func() {
		runErr <- pipeline.Run(ctx, pcfg, func(f *pipeline.Feeder[*workBatch]) error {
			for {
				var m jetstream.Msg
				select {
				case <-f.Context().Done():
					return f.Context().Err()
				case m = <-msgs:
				}
				// Take what has arrived, up to a full batch, then hand it on.
				for {
					if err := cfg.add(f, m, stream, floor.Load()); err != nil {
						return err
					}
					if f.Pending() >= MaxBatch {
						break
					}
					select {
					case m = <-msgs:
						continue
					default:
					}
					break
				}
				if err := f.Flush(); err != nil {
					return err
				}
			}
		})
	}()
	select {
	case err = <-runErr:
	case err = <-gone:
		cancel()
		<-runErr // the sink is done with pending
	}
	// What was published and not yet stored is delivered again later.
	cancel()
	close(pending)
	acks.Wait()
	return err
}

// add puts a sightings message into the batch being filled, or skips it
// when the engines have checkpointed past it.
func (cfg *WorkerConfig) add(f *pipeline.Feeder[*workBatch], m jetstream.Msg, stream string, floor uint64) error {
	md, err := m.Metadata()
	if err != nil {
		m.Term() // not a JetStream message
		return nil
	}
	seq := md.Sequence.Stream
	if seq <= floor {
		cfg.Stats.Skipped.Add(1)
		m.Ack()
		return nil
	}
	wb, err := f.Current()
	if err != nil {
		return err
	}
	splitMessage(&wb.Batch, stream, seq, md.Timestamp.UnixMicro(), m.Data())
	wb.src = append(wb.src, m)
	return nil
}

// ack waits for a prepared message to be stored, then acknowledges its
// sightings message.
func (cfg *WorkerConfig) ack(ctx context.Context, p pendingPub) {
	select {
	case <-p.f.Ok():
		cfg.Stats.Messages.Add(1)
		cfg.Stats.Records.Add(int64(p.n))
		p.src.Ack()
		return
	case err := <-p.f.Err():
		if wrongLastSeq(err) {
			cfg.Stats.Already.Add(1) // stored before, by this worker or another
			p.src.Ack()
			return
		}
		// Try once more, waiting out a cluster electing a leader.
		err = retry(10*time.Second, apiAttempt, func(ctx context.Context) error {
			_, err := cfg.Broker.JS.PublishMsg(ctx, p.f.Msg())
			return err
		})
		switch {
		case err == nil:
			cfg.Stats.Messages.Add(1)
			cfg.Stats.Records.Add(int64(p.n))
			p.src.Ack()
		case wrongLastSeq(err):
			cfg.Stats.Already.Add(1)
			p.src.Ack()
		default:
			cfg.Stats.Failed.Add(1)
			cfg.Log.Warn("a prepared message was not stored; its sightings message will be delivered again", "subject", p.f.Msg().Subject, "error", err.Error())
			p.src.NakWithDelay(time.Second)
		}
	case <-ctx.Done():
	}
}

// wrongLastSeq tells whether a publish was refused because the subject
// already holds a message.
func wrongLastSeq(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// workersConsumer returns the workers' shared durable consumer, creating
// it if absent to deliver from after what the engines checkpointed (what
// they have done needs no worker), or from the start.
func workersConsumer(ctx context.Context, js jetstream.JetStream, stream, group string, floor func(context.Context) (uint64, bool)) (jetstream.Consumer, error) {
	name := WorkersConsumer(group)
	c, err := js.Consumer(ctx, stream, name)
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("JetStream consumer %s: %w", name, err)
	}
	cc := jetstream.ConsumerConfig{
		Durable:       name,
		Description:   "linewatch workers: prepare the sightings for the engines of " + group,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       15 * time.Second,
		MaxAckPending: 4096,
		MaxDeliver:    -1,
	}
	if f, ok := floor(ctx); ok {
		cc.DeliverPolicy, cc.OptStartSeq = jetstream.DeliverByStartSequencePolicy, f+1
	}
	c, err = js.CreateConsumer(ctx, stream, cc)
	if errors.Is(err, jetstream.ErrConsumerExists) {
		return js.Consumer(ctx, stream, name) // another worker made it first
	}
	if err != nil {
		return nil, fmt.Errorf("creating JetStream consumer %s: %w", name, err)
	}
	return c, nil
}

// RoleWorker is a worker's role, as /healthz and /readyz show it.
const RoleWorker = "worker"

// splitMessage adds the records of a message of the sightings stream to
// a worker's batch, cut as the engine cuts them (NATSSource.addMessage;
// the engine compares the records, and prepares a message itself where
// they differ).
func splitMessage(b *Batch, stream string, seq uint64, ref int64, data []byte) {
	first := b.Len()
	defer func() { b.msgs = append(b.msgs, message{seq: seq, ref: ref, first: first, n: b.Len() - first}) }()
	name := "nats:" + stream + "/" + strconv.FormatUint(seq, 10)
	m := RecordMeta{Ref: ref, Seq: seq}
	addRecords(b, name, data, m)
}
