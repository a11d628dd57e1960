package stream

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/internal/pipeline"
)

// MaxBatch is the most records a source puts in one batch.
const MaxBatch = 1024

// Batch is a run of consecutive records of a source. The records' text is
// owned by the batch: a source copies it in.
type Batch struct {
	pipeline.Records
	refs []int64 // per record: the instant (µs) the future check measures against
	// Last is the broker's stream sequence of the last record (0 when the
	// source has none).
	Last uint64
	// sealed is when the source handed the batch on: the start of the
	// processing time an alert's latency is measured from.
	sealed time.Time
	// Ack, if set, acknowledges to the broker every record up to and
	// including the batch's last; the driver calls it once a checkpoint
	// covers them.
	Ack func()

	items []item
	// msgs are the broker messages the records came in, in order (none
	// from a source that has no messages): the unit a worker prepares.
	msgs []message
	// readNo numbers the batch among those its source handed on (from 1).
	readNo int64
}

// item is what a worker made of a record.
type item struct {
	reason string // rejected when not empty
	p      detect.Prepared
}

// Reset empties the batch for reuse.
func (b *Batch) Reset() {
	b.Records.Reset()
	b.refs, b.items, b.msgs = b.refs[:0], b.items[:0], b.msgs[:0]
	b.Last, b.Ack, b.readNo = 0, nil, 0
}

// Add copies a record into the batch. ref is the instant in µs that its
// time may not exceed by more than max_future. A source that has sequence
// numbers sets Last once a message's records are all in.
func (b *Batch) Add(r feed.Record, ref int64) {
	b.Records.Add(r)
	b.refs = append(b.refs, ref)
}

// Batcher fills batches for a source and hands them on, in the driver's
// pipeline.
type Batcher struct {
	f    *pipeline.Feeder[*Batch]
	cur  *Batch
	err  error         // the driver stopped
	read *atomic.Int64 // batches handed on, if counted
}

// Current returns the batch being filled, taking a new one if needed (it
// waits while every batch is in use: the driver lags behind). Once the
// driver stops, it returns a batch that is never handed on, and Flush
// returns an error.
func (bt *Batcher) Current() *Batch {
	if bt.cur == nil {
		b, err := bt.f.Current()
		if err != nil {
			b, bt.err = new(Batch), err
		}
		bt.cur = b
	}
	return bt.cur
}

// Pending is the number of records in the batch being filled.
func (bt *Batcher) Pending() int {
	if bt.cur == nil {
		return 0
	}
	return bt.cur.Len()
}

// Flush hands the batch being filled on, if it holds any record or a
// stream sequence. It returns ctx's error if ctx is done first.
func (bt *Batcher) Flush(ctx context.Context) error {
	if bt.err != nil {
		return bt.err
	}
	if bt.cur == nil || bt.cur.Len() == 0 && bt.cur.Last == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	bt.cur.sealed = time.Now()
	if bt.read != nil {
		bt.cur.readNo = bt.read.Add(1)
	}
	if err := bt.f.Flush(); err != nil {
		return err
	}
	bt.cur = nil
	return nil
}

// Source reads records and hands them on in batches.
type Source interface {
	// Run reads records, filling batches from bt, until its input ends
	// (it returns nil: a finite input, such as standard input at its end),
	// ctx is done, or it fails.
	Run(ctx context.Context, bt *Batcher) error
}
