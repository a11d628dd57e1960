package stream

import (
	"context"
	"time"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
)

// MaxBatch is the most records a source puts in one batch.
const MaxBatch = 1024

// Batch is a run of consecutive records of a source. The records' text is
// owned by the batch: a source copies it in.
type Batch struct {
	// Seq orders batches: a source numbers them 0, 1, 2, …
	Seq  int
	recs []feed.Record // Raw points into data once the batch is sealed
	data []byte
	offs []int   // where each record's text starts in data
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
}

// item is what a worker made of a record.
type item struct {
	reason string // rejected when not empty
	p      detect.Prepared
}

// Len is the number of records in the batch.
func (b *Batch) Len() int { return len(b.recs) }

func (b *Batch) reset() {
	b.recs, b.data, b.offs, b.refs, b.items = b.recs[:0], b.data[:0], b.offs[:0], b.refs[:0], b.items[:0]
	b.Last, b.Ack = 0, nil
}

// Add copies a record into the batch. ref is the instant in µs that its
// time may not exceed by more than max_future. A source that has sequence
// numbers sets Last once a message's records are all in.
func (b *Batch) Add(r feed.Record, ref int64) {
	b.offs = append(b.offs, len(b.data))
	b.data = append(b.data, r.Raw...)
	r.Raw = nil
	b.recs = append(b.recs, r)
	b.refs = append(b.refs, ref)
}

// seal points each record's Raw into data, once data has stopped growing.
func (b *Batch) seal() {
	b.sealed = time.Now()
	for i := range b.recs {
		end := len(b.data)
		if i+1 < len(b.recs) {
			end = b.offs[i+1]
		}
		b.recs[i].Raw = b.data[b.offs[i]:end:end]
	}
	if cap(b.items) < len(b.recs) {
		b.items = make([]item, len(b.recs))
	}
	b.items = b.items[:len(b.recs)]
}

// Batcher fills batches for a source and hands them on, reusing those the
// driver is done with.
type Batcher struct {
	out  chan<- *Batch
	free <-chan *Batch
	cur  *Batch
	next int
}

// Current returns the batch being filled, taking a new one if needed.
func (bt *Batcher) Current() *Batch {
	if bt.cur == nil {
		select {
		case b := <-bt.free:
			b.reset()
			bt.cur = b
		default:
			bt.cur = &Batch{}
		}
		bt.cur.Seq = bt.next
	}
	return bt.cur
}

// Pending is the number of records in the batch being filled.
func (bt *Batcher) Pending() int {
	if bt.cur == nil {
		return 0
	}
	return len(bt.cur.recs)
}

// Flush hands the batch being filled on, if it holds any record. It
// returns ctx's error if ctx is done first.
func (bt *Batcher) Flush(ctx context.Context) error {
	if bt.cur == nil || len(bt.cur.recs) == 0 && bt.cur.Last == 0 {
		return nil
	}
	b := bt.cur
	b.seal()
	select {
	case bt.out <- b:
	case <-ctx.Done():
		return ctx.Err()
	}
	bt.cur = nil
	bt.next++
	return nil
}

// Source reads records and hands them on in batches.
type Source interface {
	// Run reads records, filling batches from bt, until its input ends
	// (it returns nil: a finite input, such as standard input at its end),
	// ctx is done, or it fails.
	Run(ctx context.Context, bt *Batcher) error
}
