package stream

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync/atomic"
	"time"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/internal/pipeline"
	"github.com/linewatch/linewatch/output"
	"github.com/linewatch/linewatch/sources"
	"github.com/linewatch/linewatch/tlog"
)

// Config is what a Driver needs.
type Config struct {
	Judge   *detect.Judge
	Workers int // decode and prepare on this many goroutines; 0: GOMAXPROCS

	Alerts  AlertSink
	Rejects RecordLog // nil: rejected and late records are only counted

	// Store, if set, holds the checkpoint: the driver restores from it
	// (Restore) and writes it every CheckpointEvery or CheckpointRecords
	// records, whichever comes first, and when Run returns.
	Store             Store
	ConfigID          string // identifies the line and policy (Checkpoint.Config)
	CheckpointEvery   time.Duration
	CheckpointRecords int64

	// Finite: at the end of the input the watermark moves to the end of
	// time and every episode closes (standard input).
	Finite bool

	// Log, if set, is the tamper-evident log the driver keeps
	// (docs/log.md): every record it consumes — accepted, rejected,
	// duplicate or late — is a leaf, in consumption order, appended
	// before any alert is made under a tree that holds it; each alert
	// carries the tree it was made under and its evidence's leaves; and
	// a signed checkpoint covering the alerts of a batch is published
	// before they are written, and at every checkpoint of the driver's.
	Log *LogConfig

	// Sources is the sources registry. A record of a JetStream message
	// that names a source other than the one its message was
	// authenticated as, or a source that signs its bodies (sources.Source.Signs)
	// without coming in a body it signed, is rejected with reason
	// "unauthenticated": nobody but the source vouches for its records.
	// Records from standard input, which authenticates nothing, are not
	// checked (as batch detection does not).
	Sources *sources.Registry

	Metrics *Metrics // may be nil

	// Remote, if set, is where worker processes put the messages they
	// prepared (RunWorker): the driver takes those rather than preparing
	// them itself, and prepares whatever no worker has done in time.
	Remote *Remote
}

// Driver runs the pipeline: batches from a source are decoded and prepared
// on a pool of workers, then offered to the engine in input order by one
// goroutine, which writes the alerts and rejects and takes checkpoints.
type Driver struct {
	cfg    Config
	engine *detect.Stream
	counts Counts
	seq    uint64 // stream sequence of the last record processed
	ref    int64  // the source's "now" at seq (Batcher.Ref)

	log          *tlog.Writer    // nil: no log kept
	logPublished uint64          // the size of the log's latest checkpoint
	logTree      tlog.Checkpoint // the tree when the log was closed
	// alerts are the alerts of the batch being processed, written once a
	// checkpoint of the log covers them; ends are where each ends.
	alerts  []byte
	ends    []int
	aw      *alertWriter // with a log, writes them while the engine goes on
	signing map[string]bool

	rejBuf    []byte
	pendAck   func() // acknowledges what the next checkpoint covers
	sinceCkpt int64  // records since the last checkpoint
	lastCkpt  time.Time
	restored  bool

	closedN   int64         // closed alerts written by this process
	closedMax time.Duration // the longest latency among them

	read atomic.Int64 // batches the source handed on
}

// ClosedLatency is how many closed alerts this process wrote and the
// longest processing time from reading the record that closed an episode
// to writing its alert.
func (d *Driver) ClosedLatency() (n int64, max time.Duration) { return d.closedN, d.closedMax }

// New returns a driver with an empty engine; call Restore to resume from
// a checkpoint.
func New(cfg Config) *Driver {
	if cfg.Workers <= 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	if cfg.CheckpointEvery <= 0 {
		cfg.CheckpointEvery = time.Second
	}
	if cfg.CheckpointRecords <= 0 {
		cfg.CheckpointRecords = 100_000
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics()
	}
	d := &Driver{cfg: cfg, engine: detect.NewStream(cfg.Judge), lastCkpt: time.Now(), signing: map[string]bool{}}
	for _, id := range cfg.Sources.IDs() {
		if cfg.Sources.Source(id).Signs() {
			d.signing[id] = true
		}
	}
	return d
}

// ErrOtherConfig is returned by Restore when the checkpoint was written
// with another configuration (Config.ConfigID).
var ErrOtherConfig = errors.New("the state was written with another line, policy or stream")

// Restore loads the checkpoint, if any: restores the engine and the
// counters, and cuts the output and rejects files back to what it covers.
// Without a checkpoint (or a Store) the files are emptied. It returns the
// stream sequence of the last record the checkpoint covers (0: none), from
// which a source resumes.
//
// With a Log, it opens the log at the size the checkpoint recorded: a log
// that lacks entries the checkpoint counts, or holds others, is an error;
// entries the log holds past it are those the engine consumed after the
// checkpoint, which it checks again as it consumes them anew.
func (d *Driver) Restore() (uint64, error) {
	var cp *Checkpoint
	if d.cfg.Store != nil {
		var err error
		if cp, err = d.cfg.Store.Load(); err != nil {
			return 0, err
		}
	}
	d.closeLog()
	if cp == nil {
		if err := d.cfg.Alerts.Restore(nil); err != nil {
			return 0, err
		}
		if d.cfg.Rejects != nil {
			if err := d.cfg.Rejects.Truncate(0); err != nil {
				return 0, err
			}
		}
		if err := d.openLog(0, nil); err != nil {
			return 0, err
		}
		d.restored = true
		return 0, nil
	}
	if cp.Config != d.cfg.ConfigID {
		return 0, fmt.Errorf("%s: %w; use another --state directory, or the line, policy and stream it was started with", d.cfg.Store.Path(), ErrOtherConfig)
	}
	switch {
	case d.cfg.Log != nil && cp.LogSize == 0 && cp.Counts.Read > 0:
		return 0, fmt.Errorf("%s: %w: it was begun without a log and has consumed %d records, which a log begun now would lack; keep the log from the first record: start a new state", d.cfg.Store.Path(), ErrLogState, cp.Counts.Read)
	case d.cfg.Log == nil && cp.LogSize > 0:
		return 0, fmt.Errorf("%s: %w: its log holds %d entries, and every record consumed from now on must go in it too: give the log's key (--log-key)", d.cfg.Store.Path(), ErrLogState, cp.LogSize)
	}
	if err := d.openLog(cp.LogSize, &cp.LogRoot); err != nil {
		return 0, err
	}
	if err := d.engine.UnmarshalBinary(cp.Engine); err != nil {
		return 0, err
	}
	if err := d.cfg.Alerts.Restore(cp.Alerts); err != nil {
		return 0, err
	}
	if d.cfg.Rejects != nil {
		if err := d.cfg.Rejects.Truncate(cp.Rejects); err != nil {
			return 0, err
		}
	}
	d.counts = cp.Counts
	d.seq, d.ref = cp.Seq, cp.Ref
	d.restored = true
	d.cfg.Metrics.setEngine(&d.counts, d.engine, d.seq)
	return cp.Seq, nil
}

// Counts returns the record counts so far. Call it after Run.
func (d *Driver) Counts() Counts { return d.counts }

// Engine is the engine; read it after Run.
func (d *Driver) Engine() *detect.Stream { return d.engine }

// Summary is the account of the run so far, in the shape of detect's
// (SPEC §5); "isolated" counts violations whose windows closed outside any
// episode, and "episodes" the episodes closed.
func (d *Driver) Summary(wallS float64) output.Summary {
	c := d.counts
	res := &detect.Result{ByType: d.engine.ByType, Classes: d.engine.Classes}
	// The summary counts isolated violations by the length of the list
	// batch keeps; the stream counts them without keeping them.
	res.Isolated = make([]*detect.Violation, d.engine.Isolated)
	return output.Summary{
		Records: c.Counts,
		Result:  res,
		WallS:   wallS,
	}
}

// Seq is the stream sequence of the last record processed.
func (d *Driver) Seq() uint64 { return d.seq }

// Run processes what src reads until src's input ends, ctx is done or
// something fails; then it writes a last checkpoint of what it processed.
// Records read but not yet processed when ctx is done are left to the next
// run (a broker delivers them again; standard input has no durability).
// At the end of a finite input the engine finishes: every episode closes.
func (d *Driver) Run(ctx context.Context, src Source) (err error) {
	if !d.restored {
		if _, err := d.Restore(); err != nil {
			return err
		}
	}
	defer d.closeLog()
	if d.log != nil {
		d.aw = newAlertWriter(d)
		defer func() {
			if werr := d.aw.close(); err == nil {
				err = werr
			}
			d.aw = nil
		}()
	}
	// The sink: each batch offered to the engine in input order, and a
	// checkpoint when due — after so many records, or so much time even
	// while the input is idle.
	var sinkErr error
	sink := func(b *Batch) error {
		if d.aw != nil {
			if sinkErr = d.aw.failed(); sinkErr != nil {
				return sinkErr
			}
		}
		if sinkErr = d.process(b); sinkErr != nil {
			return sinkErr
		}
		if d.cfg.Remote != nil {
			d.cfg.Remote.advance(d.seq)
		}
		if d.sinceCkpt >= d.cfg.CheckpointRecords || time.Since(d.lastCkpt) >= d.cfg.CheckpointEvery {
			sinkErr = d.checkpoint()
		}
		return sinkErr
	}
	tick := func() error {
		if d.sinceCkpt > 0 && time.Since(d.lastCkpt) >= d.cfg.CheckpointEvery {
			sinkErr = d.checkpoint()
		}
		return sinkErr
	}
	workers, batches, prepare := d.cfg.Workers, 2*d.cfg.Workers+4, (*worker).prepare
	if r := d.cfg.Remote; r != nil {
		if err := r.open(ctx, d.seq); err != nil {
			return err
		}
		defer r.close()
		workers, batches, prepare = r.pipeline(batches, &d.read)
	}
	// Read here, not by the workers as they start: a worker may start
	// as the run ends, when closing the log clears d.log.
	logging, signing := d.log != nil, d.signing
	cfg := pipeline.Config[*Batch]{
		Workers: workers,
		Batches: batches,
		New:     func() *Batch { return new(Batch) },
		Worker: func(int) func(*Batch) {
			w := newWorker(d.cfg.Judge, logging, signing)
			return func(b *Batch) { prepare(w, b) }
		},
		Sink:  sink,
		Every: d.cfg.CheckpointEvery,
		Tick:  tick,
	}
	runErr := pipeline.Run(ctx, cfg, func(f *pipeline.Feeder[*Batch]) error {
		bt := &Batcher{f: f, ref: d.ref, read: &d.read}
		err := src.Run(f.Context(), bt)
		if err == nil {
			err = bt.Flush(f.Context())
		}
		return err
	})
	// ended: the source's input ended and every record was processed;
	// otherwise ctx stopped the run, and records read but not processed
	// are left to the next run (a source's error as it stops is no news).
	ended := runErr == nil
	if sinkErr == nil && runErr != nil && ctx.Err() != nil {
		runErr = nil
	}
	if runErr != nil {
		// Leave the last checkpoint as it is: a restart resumes from it.
		if d.aw != nil {
			d.aw.drain()
		}
		d.cfg.Alerts.Flush()
		return runErr
	}
	if ended && d.cfg.Finite {
		tree := d.tree()
		for _, a := range d.engine.Finish() {
			d.emit(a, tree)
		}
		if err := d.writeAlerts(); err != nil {
			return err
		}
	}
	if err := d.checkpoint(); err != nil {
		return err
	}
	d.cfg.Metrics.setEngine(&d.counts, d.engine, d.seq)
	return nil
}

// process offers a batch's records to the engine, in order, advancing
// after each; with a log, each record is its next leaf, appended with the
// run of records before it once the engine makes alerts, or the batch
// ends.
func (d *Driver) process(b *Batch) error {
	closed := 0
	lr := logRun{b: b}
	if d.log != nil {
		lr.base = d.log.Size()
	}
	for i := range b.Recs {
		it := &b.items[i]
		if d.log != nil {
			if err := d.logRecord(&lr, i); err != nil {
				return err
			}
		}
		d.counts.Read++
		if it.reason != "" {
			d.counts.Rejected++
			if it.reason == reasonFuture {
				d.counts.Future++
			}
			if err := d.reject(&b.Recs[i], it.reason); err != nil {
				return err
			}
		} else {
			switch d.engine.Add(&it.p) {
			case detect.Accepted:
				d.counts.Accepted++
				switch it.p.Outcome {
				case detect.Unattributed:
					d.counts.Unattributed++
				case detect.BeyondEnd:
					d.counts.BeyondEnd++
				}
			case detect.Duplicate:
				d.counts.Duplicate++
			case detect.Late:
				d.counts.Late++
				if err := d.reject(&b.Recs[i], "late"); err != nil {
					return err
				}
			}
		}
		it.p = detect.Prepared{}
		if as := d.engine.Advance(); len(as) > 0 {
			// Made under the tree of the records consumed so far, this
			// one included.
			if err := d.appendRun(&lr, i+1); err != nil {
				return err
			}
			tree := d.tree()
			for _, a := range as {
				if a.Status == detect.Closed {
					closed++
				}
				d.emit(a, tree)
			}
		}
	}
	if err := d.appendRun(&lr, len(b.Recs)); err != nil {
		return err
	}
	if b.Last != 0 {
		d.seq, d.ref = b.Last, b.ref
	}
	if b.Ack != nil {
		d.pendAck = b.Ack
	}
	d.sinceCkpt += int64(b.Len())
	if len(d.ends) > 0 {
		if d.aw != nil {
			// Written once a checkpoint of the log covers them, while
			// the engine goes on.
			if err := d.aw.add(closed, b.sealed); err != nil {
				return err
			}
		} else {
			if err := d.writeAlerts(); err != nil {
				return err
			}
			if closed > 0 && !b.sealed.IsZero() {
				d.observeClosed(closed, time.Since(b.sealed))
			}
		}
	}
	d.cfg.Metrics.setEngine(&d.counts, d.engine, d.seq)
	return nil
}

// logRun is the run of a batch's records that the driver has consumed
// but not yet appended to the log: their entries lie one after the other
// in the batch's leafBuf, and go to the log in one AppendFramed — one
// lock and one copy a run —, before anything reads the log's tree.
type logRun struct {
	b    *Batch
	base uint64 // the log's size before the batch: record i is leaf base+i
	from int    // the run's first record
}

// logRecord makes record i of the batch the log's leaf lr.base+i, and
// hands the index on to what the engine makes of it: it is appended with
// the run it ends, or at once if its record is stored apart; a signed
// body is added before its first record.
func (d *Driver) logRecord(lr *logRun, i int) error {
	b := lr.b
	it := &b.items[i]
	if k := b.metas[i].body; k >= 0 && !b.bodies[k].added && b.bodies[k].data != nil {
		bb := &b.bodies[k]
		if err := d.log.AddBody(bb.sum, bb.data, bb.note); err != nil {
			return err
		}
		bb.added = true
	}
	it.p.Leaf = lr.base + uint64(i)
	switch {
	case it.apart:
		if err := d.appendRun(lr, i); err != nil {
			return err
		}
		at := it.leafAt + 2 // the entry, after its length
		l := tlog.Leaf{Data: b.leafBuf[at:it.leafEnd], Hash: b.hashes[i], Record: b.Recs[i].Raw}
		if _, err := d.log.Append(context.Background(), l); err != nil {
			return err
		}
		lr.from = i + 1
	case i > lr.from && it.leafAt != b.items[i-1].leafEnd:
		// Not framed right after the record before (a worker's message
		// audited, prepared twice): a run of its own.
		return d.appendRun(lr, i)
	}
	return nil
}

// appendRun appends the records of the run up to record to (excluded) to
// the log.
func (d *Driver) appendRun(lr *logRun, to int) error {
	if d.log == nil || to <= lr.from {
		return nil
	}
	b, from := lr.b, lr.from
	lr.from = to
	framed := b.leafBuf[b.items[from].leafAt:b.items[to-1].leafEnd]
	idx, err := d.log.AppendFramed(context.Background(), framed, b.hashes[from:to])
	if err != nil {
		return err
	}
	if want := lr.base + uint64(from); idx != want {
		return fmt.Errorf("log: record %d of the batch went to leaf %d, not %d", from, idx, want)
	}
	return nil
}

// tree is the log's tree head now (zero without a log).
func (d *Driver) tree() tlog.Checkpoint {
	if d.log == nil {
		return tlog.Checkpoint{}
	}
	return d.log.Tree()
}

// emit formats an alert, with the log's member when there is a log, to be
// written at the end of the batch.
func (d *Driver) emit(a detect.Alert, tree tlog.Checkpoint) {
	d.counts.Alerts[a.Status]++
	d.alerts = output.AppendAlert(d.alerts, d.cfg.Judge.Line(), d.cfg.Judge.Policy(), a)
	if d.log != nil {
		l := tlog.AlertLog{Origin: tree.Origin, Size: tree.Size, Root: tree.Root}
		for j, v := range a.Episode.Evidence {
			if j == output.MaxEvidence {
				break
			}
			l.Evidence = append(l.Evidence, v.Leaf)
		}
		var err error
		if d.alerts, err = tlog.AppendAlertLog(d.alerts, l); err != nil {
			panic(err) // output.AppendAlert always ends a Feature with its properties
		}
	}
	d.ends = append(d.ends, len(d.alerts))
}

// observeClosed counts closed alerts written lat after the record that
// closed them was read.
func (d *Driver) observeClosed(closed int, lat time.Duration) {
	d.closedN += int64(closed)
	d.closedMax = max(d.closedMax, lat)
	for range closed {
		d.cfg.Metrics.closedLatency.Observe(lat.Seconds())
	}
}

// writeAlerts writes the alerts made since the last call and flushes
// them; with a log, a checkpoint covering them is published first, so that
// no alert leaves before the tree it names is signed and durable.
func (d *Driver) writeAlerts() error {
	if d.aw != nil {
		if err := d.aw.drain(); err != nil {
			return err
		}
	}
	if len(d.ends) == 0 {
		return nil
	}
	if err := d.publish(d.alerts, d.ends); err != nil {
		return err
	}
	d.alerts, d.ends = d.alerts[:0], d.ends[:0]
	return nil
}

// publish writes alerts (each ending at one of ends) and flushes them;
// with a log, a checkpoint covering them is published first.
func (d *Driver) publish(alerts []byte, ends []int) error {
	if d.log != nil {
		if err := d.logCheckpoint(); err != nil {
			return err
		}
	}
	start := 0
	for _, end := range ends {
		if err := d.cfg.Alerts.Write(alerts[start:end]); err != nil {
			return err
		}
		start = end
	}
	return d.cfg.Alerts.Flush()
}

func (d *Driver) reject(r *feed.Record, reason string) error {
	if d.cfg.Rejects == nil {
		return nil
	}
	d.rejBuf = feed.AppendReject(d.rejBuf[:0], *r, reason)
	_, err := d.cfg.Rejects.Write(d.rejBuf)
	return err
}

// checkpoint makes the output durable, then writes the checkpoint, then
// acknowledges to the broker what it covers.
//
// With a log, the log's checkpoint comes between: the output, then the
// log's tree so far (its tiles and entries durable, its checkpoint signed
// and published), then the driver's checkpoint, which records the log's
// size and root, so that a restart finds in the log every entry the
// checkpoint counts.
func (d *Driver) checkpoint() error {
	d.lastCkpt = time.Now()
	d.sinceCkpt = 0
	switch {
	case d.aw != nil && d.cfg.Store == nil:
		// Nothing to resume from: the log's checkpoint is published,
		// and the output handed on, by the alert writer, while the
		// engine goes on.
		if d.cfg.Rejects != nil {
			if err := d.cfg.Rejects.Flush(); err != nil {
				return err
			}
		}
		return d.aw.add(0, time.Time{})
	case d.aw != nil:
		// The alerts handed to the writer first: the checkpoint records
		// the output as written.
		if err := d.aw.drain(); err != nil {
			return err
		}
	}
	if d.cfg.Store == nil {
		// Nothing to resume from: just hand the output on.
		err := d.cfg.Alerts.Flush()
		if d.cfg.Rejects != nil {
			err = errors.Join(err, d.cfg.Rejects.Flush())
		}
		if d.log != nil && err == nil {
			err = d.logCheckpoint()
		}
		return err
	}
	if err := d.cfg.Alerts.Sync(); err != nil {
		return err
	}
	if d.cfg.Rejects != nil {
		if err := d.cfg.Rejects.Sync(); err != nil {
			return err
		}
	}
	var tree tlog.Checkpoint
	if d.log != nil {
		if err := d.logCheckpoint(); err != nil {
			return err
		}
		tree = d.log.Tree()
	}
	eng, err := d.engine.MarshalBinary()
	if err != nil {
		return err
	}
	cp := &Checkpoint{Config: d.cfg.ConfigID, Seq: d.seq, Ref: d.ref, Counts: d.counts, Alerts: d.cfg.Alerts.State(),
		Engine: eng, LogSize: tree.Size, LogRoot: tree.Root, Written: time.Now().UTC()}
	if d.cfg.Rejects != nil {
		cp.Rejects = d.cfg.Rejects.Len()
	}
	if err := d.cfg.Store.Save(cp); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	d.cfg.Metrics.checkpointed()
	// Written: whatever kept the engine from writing is over.
	d.cfg.Metrics.SetProblem("engine", "")
	if d.pendAck != nil {
		d.pendAck()
		d.pendAck = nil
	}
	return nil
}

const reasonFuture = "future"

// reasonUnauthenticated is the reason of a record that names a source
// that did not vouch for it (Config.Sources).
const reasonUnauthenticated = "unauthenticated"

// worker decodes and prepares records; one per goroutine.
type worker struct {
	pr        *pipeline.Preparer
	maxFuture int64
	log       bool             // compute each record's leaf
	lh        *tlog.LeafHasher // with this
	signing   map[string]bool  // the sources that sign their bodies
}

func newWorker(j *detect.Judge, log bool, signing map[string]bool) *worker {
	return &worker{pr: pipeline.NewPreparer(j), maxFuture: j.Policy().MaxFuture.Microseconds(), log: log,
		lh: tlog.NewLeafHasher(), signing: signing}
}

func (w *worker) prepare(b *Batch) {
	b.items = slices.Grow(b.items[:0], b.Len())[:b.Len()]
	w.startLeaves(b)
	w.prepareRange(b, 0, b.Len())
}

// startLeaves empties the batch's leaves, to be computed record by record.
func (w *worker) startLeaves(b *Batch) {
	b.leafBuf = b.leafBuf[:0]
	if w.log {
		b.hashes = slices.Grow(b.hashes[:0], b.Len())[:b.Len()]
	}
}

// prepareRange prepares records from to to (excluded) of b into b.items.
func (w *worker) prepareRange(b *Batch, from, to int) {
	for i := from; i < to; i++ {
		it := &b.items[i]
		*it = item{}
		if w.log {
			w.leaf(b, i)
		}
		m := &b.metas[i]
		s, reason := w.pr.Decode(&b.Recs[i])
		switch {
		case reason != "":
			it.reason = reason
		case s.Time-m.ref > w.maxFuture:
			it.reason = reasonFuture
		case !w.vouched(m, s.Source):
			it.reason = reasonUnauthenticated
		default:
			it.p = w.pr.Prepare()
		}
	}
}

// vouched tells whether a record that says it is from source came as its
// message says: a message authenticated as a source holds only that
// source's records, and a source that signs is one only in a body it
// signed.
func (w *worker) vouched(m *meta, source string) bool {
	return m.seq == 0 || !(m.source != "" && source != m.source || w.signing[source] && (m.body < 0 || m.source != source))
}

// taken completes records from to to (excluded) of b, which a worker
// process prepared: their leaves are the engine's to compute (a worker
// does not know the instants the log has), and whether their messages
// vouch for their sources its to check.
func (w *worker) taken(b *Batch, from, to int) {
	for i := from; i < to; i++ {
		it := &b.items[i]
		if w.log {
			w.leaf(b, i)
		}
		if it.reason == "" && !w.vouched(&b.metas[i], it.p.Source) {
			it.reason, it.p = reasonUnauthenticated, detect.Prepared{}
		}
	}
}

// leaf encodes record i's log entry into the batch, framed, and hashes
// it.
func (w *worker) leaf(b *Batch, i int) {
	var ref tlog.BodyRef
	m := b.recordMeta(i, &ref)
	it := &b.items[i]
	start := len(b.leafBuf)
	buf, h, apart, err := m.AppendLeaf(w.lh, b.Recs[i].Raw, b.leafBuf)
	if err != nil {
		// Only a source id longer than an entry holds, which the ingest
		// and the sources registry refuse: log it without its source.
		m.Source = ""
		buf, h, apart, _ = m.AppendLeaf(w.lh, b.Recs[i].Raw, b.leafBuf)
	}
	b.leafBuf, b.hashes[i] = buf, h
	it.leafAt, it.leafEnd = int32(start), int32(len(buf))
	it.apart = apart
}
