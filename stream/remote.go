package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// RemoteConfig says where an engine finds the messages worker processes
// prepared, and how long it waits for them.
type RemoteConfig struct {
	Conn *nats.Conn
	JS   jetstream.JetStream
	// Stream is the prepared stream (EnsurePreparedStream, created with
	// Replicas and MaxAge if absent); Group the engines' durable consumer
	// name, which names the subjects (PreparedSubject); Sightings the
	// sightings stream, on which the workers' consumer (WorkersConsumer)
	// shows whether any worker is pulling.
	Stream    string
	Group     string
	Sightings string
	Replicas  int
	MaxAge    time.Duration
	// ConfigID and Build are what a prepared message must name to be
	// used: the engine's line, policy and stream (Config.ConfigID), and
	// its linewatch build (BuildID) — another build may prepare otherwise.
	ConfigID, Build string
	// Wait is the longest a message waits for a worker before the engine
	// prepares it itself; it waits less when its read-ahead window fills
	// up (the workers lag behind) or no worker has been heard of lately.
	Wait time.Duration
	// Audit is the fraction of the messages workers prepared that the
	// engine, choosing at random, prepares again and compares (0 to 1).
	Audit   float64
	Log     *slog.Logger
	Metrics *Metrics // a worker that disagreed is a problem (nil: none kept)
}

// Remote is an engine's side of its workers: Config.Remote. For each
// message of the sightings stream the driver's read-ahead window holds,
// it takes the message a worker prepared — pushed to it as workers publish
// them, or looked up in the prepared stream by subject — checks that it
// was prepared from the very records the engine holds, for the engine's
// line, policy and build, and hands its records on. What no worker has
// prepared in time, or was refused, the engine prepares itself: with no
// worker at all it prepares everything, as without a Remote. Either way
// the engine offers the records to detect.Stream in stream order, so its
// output does not depend on the number or the speed of the workers.
//
// A worker is trusted as far as the operator's NATS permissions let only
// workers and engines publish prepared messages; beyond that the engine
// prepares a random fraction again (RemoteConfig.Audit), and one
// disagreement makes it stop using workers' messages and report a problem.
// The log of records holds the records themselves, whoever prepared them,
// and `linewatch verify` replays them: a worker that lied is caught there.
type Remote struct {
	cfg RemoteConfig
	log *slog.Logger

	stream   jetstream.Stream
	streamAt time.Time // when a lookup of the stream last failed
	sub      *nats.Subscription
	stop     context.CancelFunc
	pulling  atomic.Bool // a worker is waiting for messages on the workers' consumer

	window int           // the driver's read-ahead, in batches
	read   *atomic.Int64 // batches the driver's source handed on

	mu        sync.Mutex
	have      map[uint64][]byte // pushed, not yet taken
	haveBytes int
	waiters   map[uint64]chan struct{}
	said      map[string]bool // refusals logged

	pos      atomic.Uint64 // the last sequence the engine processed
	seen     atomic.Int64  // unix ns: the last prepared message received
	misses   atomic.Int64  // direct gets in a row that found nothing
	probedAt atomic.Int64  // unix ns: the last direct get while missing
	distrust atomic.Bool   // a worker disagreed with the engine

	byWorker, byEngine, refused, agreed, disagreed atomic.Int64
}

// How far ahead of the engine pushed messages are kept, and how large the
// engine's read-ahead window is at least, in batches.
const (
	remoteAheadMsgs  = 4096
	remoteAheadBytes = 64 << 20
	remoteWindow     = 32
)

// NewRemote returns an engine's side of its workers.
func NewRemote(cfg RemoteConfig) *Remote {
	if cfg.Stream == "" {
		cfg.Stream = DefaultPreparedStream
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultPreparedMaxAge
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Remote{cfg: cfg, log: log, said: map[string]bool{}}
}

// open subscribes to the prepared messages, for a driver resuming after
// sequence after. The prepared stream not answering is no error: the
// engine prepares what it does not find.
func (r *Remote) open(ctx context.Context, after uint64) error {
	r.mu.Lock()
	r.have, r.haveBytes, r.waiters = map[uint64][]byte{}, 0, map[uint64]chan struct{}{}
	r.mu.Unlock()
	r.pos.Store(after)
	r.findStream(ctx)
	wctx, stop := context.WithCancel(context.Background())
	r.stop = stop
	r.lookForWorkers(ctx)
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-t.C:
				r.lookForWorkers(wctx)
			}
		}
	}()
	sub, err := r.cfg.Conn.Subscribe(PreparedSubject(r.cfg.Group)+".>", r.receive)
	if err != nil {
		return fmt.Errorf("subscribing to the workers' prepared messages: %w", err)
	}
	// A message dropped for want of room is looked up by its subject.
	sub.SetPendingLimits(-1, 256<<20)
	r.sub = sub
	return nil
}

func (r *Remote) close() {
	if r.stop != nil {
		r.stop()
	}
	if r.sub != nil {
		r.sub.Unsubscribe()
		r.sub = nil
	}
	r.mu.Lock()
	r.have, r.haveBytes = nil, 0
	r.mu.Unlock()
}

// findStream looks the prepared stream up (creating it if absent), at
// most every few seconds while it does not answer.
func (r *Remote) findStream(ctx context.Context) jetstream.Stream {
	r.mu.Lock()
	s, at := r.stream, r.streamAt
	r.mu.Unlock()
	if s != nil || time.Since(at) < 5*time.Second {
		return s
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s, err := EnsurePreparedStream(ctx, r.cfg.JS, r.cfg.Stream, r.cfg.Replicas, r.cfg.MaxAge)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.streamAt = time.Now()
		r.log.Warn("the workers' prepared stream does not answer: the engine prepares what it does not receive", "error", err.Error())
		return nil
	}
	r.stream = s
	return s
}

// lookForWorkers notes whether a worker is pulling from the workers'
// consumer, and says when that changes.
func (r *Remote) lookForWorkers(ctx context.Context) {
	if r.cfg.Sightings == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	pulling := false
	if c, err := r.cfg.JS.Consumer(ctx, r.cfg.Sightings, WorkersConsumer(r.cfg.Group)); err == nil {
		pulling = c.CachedInfo().NumWaiting > 0
	} else if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return // cannot tell
	}
	if r.pulling.Swap(pulling) != pulling {
		if pulling {
			r.log.Info("workers are pulling: the engine takes what they prepare", "consumer", WorkersConsumer(r.cfg.Group))
		} else {
			r.log.Info("no worker is pulling: the engine prepares what it does not receive", "consumer", WorkersConsumer(r.cfg.Group))
		}
	}
}

// alive tells whether workers are about: one is pulling, or a prepared
// message came lately.
func (r *Remote) alive() bool {
	return r.pulling.Load() || time.Since(time.Unix(0, r.seen.Load())) <= r.cfg.Wait+time.Second
}

// receive takes a prepared message as a worker publishes it.
func (r *Remote) receive(m *nats.Msg) {
	i := strings.LastIndexByte(m.Subject, '.')
	seq, err := strconv.ParseUint(m.Subject[i+1:], 10, 64)
	if err != nil {
		return
	}
	r.seen.Store(time.Now().UnixNano())
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.have == nil {
		return
	}
	ch := r.waiters[seq]
	pos := r.pos.Load()
	_, dup := r.have[seq]
	// The first one received stands, as the stream keeps the first stored.
	if !dup && seq > pos && (ch != nil || seq <= pos+remoteAheadMsgs && r.haveBytes+len(m.Data) <= remoteAheadBytes) {
		r.have[seq] = m.Data
		r.haveBytes += len(m.Data)
	}
	if ch != nil {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// take removes and returns the message prepared for seq, if received.
func (r *Remote) take(seq uint64) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	data, ok := r.have[seq]
	if ok {
		delete(r.have, seq)
		r.haveBytes -= len(data)
	}
	return data
}

// advance records that the engine processed up to seq: what was
// received for it and before is dropped.
func (r *Remote) advance(seq uint64) {
	r.pos.Store(seq)
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.have) < 64 {
		return
	}
	for s, data := range r.have {
		if s <= seq {
			delete(r.have, s)
			r.haveBytes -= len(data)
		}
	}
}

// pipeline sizes the driver's pipeline for waiting on workers: a window of
// batches read ahead, each with a goroutine of its own (waiting costs no
// CPU; preparing is bounded by GOMAXPROCS), and returns the prepare
// function.
func (r *Remote) pipeline(batches int, read *atomic.Int64) (workers, window int, prepare func(*worker, *Batch)) {
	n := max(batches, remoteWindow)
	r.window, r.read = n, read
	return n, n, r.prepare
}

// prepare fills b.items: each message's records from what a worker
// prepared, or here.
func (r *Remote) prepare(w *worker, b *Batch) {
	b.items = b.items[:0]
	for range b.Len() {
		b.items = append(b.items, item{})
	}
	w.startLeaves(b)
	done := 0
	for _, m := range b.msgs {
		if m.first > done {
			w.prepareRange(b, done, m.first)
		}
		if m.n > 0 {
			if r.fill(w, b, m) {
				w.taken(b, m.first, m.first+m.n)
			} else {
				w.prepareRange(b, m.first, m.first+m.n)
				r.byEngine.Add(1)
			}
		}
		done = m.first + m.n
	}
	if done < b.Len() {
		w.prepareRange(b, done, b.Len())
	}
}

// fill fills the records of message m from what a worker prepared, and
// tells whether it did.
func (r *Remote) fill(w *worker, b *Batch, m message) bool {
	data := r.await(m.seq, b)
	if data == nil {
		return false
	}
	items := b.items[m.first : m.first+m.n]
	h, err := readPrepared(data, items)
	if err != nil {
		r.refuse(h.worker, err.Error())
		return false
	}
	switch sum := recordsSum(b, m); {
	case h.config != r.cfg.ConfigID:
		r.refuse(h.worker, "it was prepared with another line, policy or sightings stream: give the workers the engines' --line, --policy, --sources and --stream")
	case h.build != r.cfg.Build:
		r.refuse(h.worker, fmt.Sprintf("it was prepared by another linewatch build (%s; this one is %s): run the same linewatch on workers and engines", h.build, r.cfg.Build))
	case h.seq != m.seq || h.stored != m.ref || !bytes.Equal(h.sum, sum[:]) || h.records != m.n:
		r.refuse(h.worker, fmt.Sprintf("it was prepared from other records than message %d of the sightings stream holds", m.seq))
	default:
		if r.cfg.Audit > 0 && rand.Float64() < r.cfg.Audit {
			r.audit(w, b, m, h.worker)
		}
		r.byWorker.Add(1)
		return true
	}
	return false
}

// await returns the message a worker prepared for seq, waiting for it
// while it may come in time; nil when the engine is to prepare it.
func (r *Remote) await(seq uint64, b *Batch) []byte {
	if r.distrust.Load() {
		return nil
	}
	ch := make(chan struct{}, 1)
	r.mu.Lock()
	r.waiters[seq] = ch
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.waiters, seq)
		r.mu.Unlock()
	}()
	if data := r.take(seq); data != nil {
		return data
	}
	if data := r.direct(seq); data != nil {
		return data
	}
	deadline := b.sealed.Add(r.cfg.Wait)
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if data := r.take(seq); data != nil {
			return data
		}
		// The engine does it: the time is up, the window is filling up
		// behind this batch (the workers lag behind), or no worker is
		// about.
		if !time.Now().Before(deadline) || r.read.Load()-b.readNo >= int64(r.window/2) || !r.alive() {
			return nil
		}
		select {
		case <-ch:
		case <-tick.C:
		case <-timer.C:
		}
	}
}

// direct looks the message prepared for seq up in the prepared stream:
// what was prepared before this engine subscribed (it took over, or
// lagged behind). While lookups find nothing and no worker is heard of,
// it looks only once a second.
func (r *Remote) direct(seq uint64) []byte {
	now := time.Now()
	if r.misses.Load() >= 32 && !r.alive() {
		last := r.probedAt.Load()
		if now.UnixNano()-last < int64(time.Second) || !r.probedAt.CompareAndSwap(last, now.UnixNano()) {
			return nil
		}
	}
	s := r.findStream(context.Background())
	if s == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), min(2*time.Second, max(r.cfg.Wait, 100*time.Millisecond)))
	defer cancel()
	m, err := s.GetLastMsgForSubject(ctx, preparedSubject(r.cfg.Group, seq))
	if err != nil {
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			r.misses.Add(1)
		}
		return nil
	}
	r.misses.Store(0)
	r.seen.Store(time.Now().UnixNano())
	return m.Data
}

// refuse logs (once per worker and reason) why a worker's message is not
// used.
func (r *Remote) refuse(worker, why string) {
	r.refused.Add(1)
	key := worker + "\x00" + why
	r.mu.Lock()
	said := r.said[key]
	if !said && len(r.said) < 1000 {
		r.said[key] = true
	}
	r.mu.Unlock()
	if !said {
		r.log.Warn("a worker's prepared message is not used: the engine prepares it (said once per worker and reason)", "worker", worker, "why", why)
	}
}

// audit prepares message m again here and compares: the engine's records
// replace the worker's in b.items, and a difference is a problem.
func (r *Remote) audit(w *worker, b *Batch, m message, worker string) {
	theirs := make([][]byte, m.n)
	for i := range m.n {
		theirs[i], _ = appendRecord(nil, &b.items[m.first+i])
	}
	w.prepareRange(b, m.first, m.first+m.n)
	var ours []byte
	for i := range m.n {
		ours, _ = appendRecord(ours[:0], &b.items[m.first+i])
		if bytes.Equal(ours, theirs[i]) {
			continue
		}
		r.disagreed.Add(1)
		first := !r.distrust.Swap(true)
		msg := fmt.Sprintf("worker %q prepared record %d of message %d otherwise than this engine: workers' messages are no longer used; alerts made before may be wrong — check them with linewatch verify", worker, i, m.seq)
		if first {
			r.log.Error(msg, "worker", worker, "seq", m.seq, "record", i)
		}
		if r.cfg.Metrics != nil {
			r.cfg.Metrics.SetProblem("workers", msg)
		}
		return
	}
	r.agreed.Add(1)
}

var (
	descPrepared = prometheus.NewDesc("linewatch_prepared_messages_total", "Messages of the sightings stream the engine took prepared from a worker (by=\"worker\") or prepared itself (by=\"engine\").", []string{"by"}, nil)
	descRefused  = prometheus.NewDesc("linewatch_prepared_refused_total", "Workers' prepared messages not used: malformed, or prepared with another configuration, build or records.", nil, nil)
	descAudits   = prometheus.NewDesc("linewatch_prepared_audits_total", "Workers' prepared messages the engine prepared again and compared, by result.", []string{"result"}, nil)
)

// Describe implements prometheus.Collector.
func (r *Remote) Describe(ch chan<- *prometheus.Desc) {
	ch <- descPrepared
	ch <- descRefused
	ch <- descAudits
}

// Collect implements prometheus.Collector.
func (r *Remote) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descPrepared, prometheus.CounterValue, float64(r.byWorker.Load()), "worker")
	ch <- prometheus.MustNewConstMetric(descPrepared, prometheus.CounterValue, float64(r.byEngine.Load()), "engine")
	ch <- prometheus.MustNewConstMetric(descRefused, prometheus.CounterValue, float64(r.refused.Load()))
	ch <- prometheus.MustNewConstMetric(descAudits, prometheus.CounterValue, float64(r.agreed.Load()), "agreed")
	ch <- prometheus.MustNewConstMetric(descAudits, prometheus.CounterValue, float64(r.disagreed.Load()), "disagreed")
}

// Counts returns how many messages the engine took from workers and how
// many it prepared itself, since the process started.
func (r *Remote) Counts() (byWorker, byEngine int64) { return r.byWorker.Load(), r.byEngine.Load() }
