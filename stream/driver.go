package stream

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/internal/pipeline"
	"github.com/linewatch/linewatch/output"
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

	Metrics *Metrics // may be nil
}

// Driver runs the pipeline: batches from a source are decoded and prepared
// on a pool of workers, then offered to the engine in input order by one
// goroutine, which writes the alerts and rejects and takes checkpoints.
type Driver struct {
	cfg    Config
	engine *detect.Stream
	counts Counts
	seq    uint64 // stream sequence of the last record processed

	rejBuf    []byte
	pendAck   func() // acknowledges what the next checkpoint covers
	sinceCkpt int64  // records since the last checkpoint
	lastCkpt  time.Time
	restored  bool

	closedN   int64         // closed alerts written by this process
	closedMax time.Duration // the longest latency among them
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
	return &Driver{cfg: cfg, engine: detect.NewStream(cfg.Judge), lastCkpt: time.Now()}
}

// ErrOtherConfig is returned by Restore when the checkpoint was written
// with another configuration (Config.ConfigID).
var ErrOtherConfig = errors.New("the state was written with another line, policy or stream")

// Restore loads the checkpoint, if any: restores the engine and the
// counters, and cuts the output and rejects files back to what it covers.
// Without a checkpoint (or a Store) the files are emptied. It returns the
// stream sequence of the last record the checkpoint covers (0: none), from
// which a source resumes.
func (d *Driver) Restore() (uint64, error) {
	var cp *Checkpoint
	if d.cfg.Store != nil {
		var err error
		if cp, err = d.cfg.Store.Load(); err != nil {
			return 0, err
		}
	}
	if cp == nil {
		if err := d.cfg.Alerts.Restore(nil); err != nil {
			return 0, err
		}
		if d.cfg.Rejects != nil {
			if err := d.cfg.Rejects.Truncate(0); err != nil {
				return 0, err
			}
		}
		d.restored = true
		return 0, nil
	}
	if cp.Config != d.cfg.ConfigID {
		return 0, fmt.Errorf("%s: %w; use another --state directory, or the line, policy and stream it was started with", d.cfg.Store.Path(), ErrOtherConfig)
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
	d.seq = cp.Seq
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
	// The sink: each batch offered to the engine in input order, and a
	// checkpoint when due — after so many records, or so much time even
	// while the input is idle.
	var sinkErr error
	sink := func(b *Batch) error {
		if sinkErr = d.process(b); sinkErr != nil {
			return sinkErr
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
	cfg := pipeline.Config[*Batch]{
		Workers: d.cfg.Workers,
		Batches: 2*d.cfg.Workers + 4,
		New:     func() *Batch { return new(Batch) },
		Worker: func(int) func(*Batch) {
			return newWorker(d.cfg.Judge).prepare
		},
		Sink:  sink,
		Every: d.cfg.CheckpointEvery,
		Tick:  tick,
	}
	runErr := pipeline.Run(ctx, cfg, func(f *pipeline.Feeder[*Batch]) error {
		bt := &Batcher{f: f}
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
		d.cfg.Alerts.Flush()
		return runErr
	}
	if ended && d.cfg.Finite {
		for _, a := range d.engine.Finish() {
			if err := d.emit(a); err != nil {
				return err
			}
		}
		if err := d.cfg.Alerts.Flush(); err != nil {
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
// after each.
func (d *Driver) process(b *Batch) error {
	alerts := false
	closed := 0
	for i := range b.Recs {
		it := &b.items[i]
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
		for _, a := range d.engine.Advance() {
			alerts = true
			if a.Status == detect.Closed {
				closed++
			}
			if err := d.emit(a); err != nil {
				return err
			}
		}
	}
	if b.Last != 0 {
		d.seq = b.Last
	}
	if b.Ack != nil {
		d.pendAck = b.Ack
	}
	d.sinceCkpt += int64(b.Len())
	if alerts {
		if err := d.cfg.Alerts.Flush(); err != nil {
			return err
		}
		if closed > 0 && !b.sealed.IsZero() {
			lat := time.Since(b.sealed)
			d.closedN += int64(closed)
			d.closedMax = max(d.closedMax, lat)
			for range closed {
				d.cfg.Metrics.closedLatency.Observe(lat.Seconds())
			}
		}
	}
	d.cfg.Metrics.setEngine(&d.counts, d.engine, d.seq)
	return nil
}

func (d *Driver) emit(a detect.Alert) error {
	d.counts.Alerts[a.Status]++
	return d.cfg.Alerts.Write(a)
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
func (d *Driver) checkpoint() error {
	d.lastCkpt = time.Now()
	d.sinceCkpt = 0
	if d.cfg.Store == nil {
		// Nothing to resume from: just hand the output on.
		err := d.cfg.Alerts.Flush()
		if d.cfg.Rejects != nil {
			err = errors.Join(err, d.cfg.Rejects.Flush())
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
	eng, err := d.engine.MarshalBinary()
	if err != nil {
		return err
	}
	cp := &Checkpoint{Config: d.cfg.ConfigID, Seq: d.seq, Counts: d.counts, Alerts: d.cfg.Alerts.State(),
		Engine: eng, Written: time.Now().UTC()}
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

// worker decodes and prepares records; one per goroutine.
type worker struct {
	pr        *pipeline.Preparer
	maxFuture int64
}

func newWorker(j *detect.Judge) *worker {
	return &worker{pr: pipeline.NewPreparer(j), maxFuture: j.Policy().MaxFuture.Microseconds()}
}

func (w *worker) prepare(b *Batch) {
	b.items = slices.Grow(b.items[:0], b.Len())[:b.Len()]
	for i := range b.Recs {
		it := &b.items[i]
		*it = item{}
		s, reason := w.pr.Decode(&b.Recs[i])
		switch {
		case reason != "":
			it.reason = reason
		case s.Time-b.refs[i] > w.maxFuture:
			it.reason = reasonFuture
		default:
			it.p = w.pr.Prepare()
		}
	}
}
