package stream

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/internal/pipeline"
	"github.com/linewatch/linewatch/tlog"
)

// MaxBatch is the most records a source puts in one batch.
const MaxBatch = 1024

// Batch is a run of consecutive records of a source. The records' text is
// owned by the batch: a source copies it in.
type Batch struct {
	pipeline.Records
	metas []meta // per record: where it came from
	// bodies are the signed bodies the batch's records were cut from.
	bodies []batchBody
	// Last is the broker's stream sequence of the last record (0 when the
	// source has none).
	Last uint64
	// ref is the source's running "now" (µs) once the batch's records are
	// in: where a resumed source starts from (Batcher.Ref).
	ref int64
	// sealed is when the source handed the batch on: the start of the
	// processing time an alert's latency is measured from.
	sealed time.Time
	// Ack, if set, acknowledges to the broker every record up to and
	// including the batch's last; the driver calls it once a checkpoint
	// covers them.
	Ack func()

	items []item
	// leafBuf holds the records' log entries, framed (each after its
	// length) as entry bundles frame them, and hashes their leaf hashes,
	// by record.
	leafBuf []byte
	hashes  []tlog.Hash
	// msgs are the broker messages the records came in, in order (none
	// from a source that has no messages): the unit a worker prepares.
	msgs []message
	// readNo numbers the batch among those its source handed on (from 1).
	readNo int64
}

// RecordMeta is what a record's log entry holds besides the record: where
// and when it came in (docs/log.md). Entry and Leaf turn it and the record
// into the log's leaf; both touch nothing shared, so that whatever
// prepares the records — the driver's workers, a worker process — can
// hash their leaves.
type RecordMeta struct {
	// Ref is the instant (µs) the record's message was stored in
	// JetStream (for standard input: read), never before the record
	// before it: the "now" the max_future rule measures against, and the
	// entry's time.
	Ref int64
	// Seq is the JetStream stream sequence of its message (0: standard
	// input).
	Seq uint64
	// Source is the source its message was authenticated as, by token or
	// signature ("" when none was).
	Source string
	// Body, for a record of a signed body, names the body and the
	// record's ordinal in it; nil otherwise.
	Body *tlog.BodyRef
}

// Entry is the record's log entry.
func (m *RecordMeta) Entry(raw []byte) tlog.Entry {
	return tlog.Entry{Time: m.Ref, Seq: m.Seq, Source: m.Source, Body: m.Body, Record: raw}
}

// AppendLeaf appends the record's entry to buf, framed as an entry bundle
// frames it (tlog.Entry.AppendFramed), and returns buf grown, the entry's
// RFC 6962 leaf hash, computed with h, and whether the record is too long
// for its entry, to be stored apart (tlog.Leaf.Record).
func (m *RecordMeta) AppendLeaf(h *tlog.LeafHasher, raw, buf []byte) (_ []byte, _ tlog.Hash, apart bool, err error) {
	e := m.Entry(raw)
	start := len(buf)
	buf, rec, err := e.AppendFramed(buf)
	if err != nil {
		return buf, tlog.Hash{}, false, err
	}
	return buf, h.Hash(buf[start+2:]), rec != nil, nil
}

// meta is a record's RecordMeta as a batch keeps it.
type meta struct {
	ref    int64
	seq    uint64
	source string
	body   int32 // index in the batch's bodies; -1: none
	index  uint32
}

// batchBody is a signed body some of a batch's records were cut from.
type batchBody struct {
	sum        [32]byte
	data, note []byte // nil when it is not to be stored (a replay)
	added      bool   // handed to the log
}

// item is what a worker made of a record.
type item struct {
	reason string // rejected when not empty
	p      detect.Prepared
	// The record's leaf, when the driver keeps a log: its entry, framed,
	// is leafBuf[leafAt:leafEnd], its leaf hash hashes[i].
	leafAt, leafEnd int32
	apart           bool // the record is stored apart from its entry
}

// Reset empties the batch for reuse.
func (b *Batch) Reset() {
	b.Records.Reset()
	b.metas, b.items, b.bodies, b.msgs = b.metas[:0], b.items[:0], b.bodies[:0], b.msgs[:0]
	b.leafBuf = b.leafBuf[:0]
	b.Last, b.Ack, b.ref, b.readNo = 0, nil, 0, 0
}

// Add copies a record into the batch. ref is the instant in µs that its
// time may not exceed by more than max_future. A source that has sequence
// numbers sets Last once a message's records are all in.
func (b *Batch) Add(r feed.Record, ref int64) {
	b.Records.Add(r)
	b.metas = append(b.metas, meta{ref: ref, body: -1})
}

// AddRecord copies a record into the batch with where it came from. For a
// record of a signed body, the body is the one AddBody gave last (or, when
// its data is not to be stored, as in a replay, the one m.Body names).
func (b *Batch) AddRecord(r feed.Record, m RecordMeta) {
	b.Records.Add(r)
	mt := meta{ref: m.Ref, seq: m.Seq, source: m.Source, body: -1}
	if m.Body != nil {
		if n := len(b.bodies); n == 0 || b.bodies[n-1].sum != m.Body.Sum {
			b.bodies = append(b.bodies, batchBody{sum: m.Body.Sum})
		}
		mt.body, mt.index = int32(len(b.bodies)-1), m.Body.Index
	}
	b.metas = append(b.metas, mt)
}

// AddBody adds the signed body whose records follow (AddRecord), with its
// signed note: the driver stores both in the log before the body's first
// record.
func (b *Batch) AddBody(sum [32]byte, data, note []byte) {
	b.bodies = append(b.bodies, batchBody{sum: sum, data: data, note: note})
}

// recordMeta is record i's RecordMeta; ref is filled in when the record
// has a body.
func (b *Batch) recordMeta(i int, ref *tlog.BodyRef) RecordMeta {
	mt := &b.metas[i]
	m := RecordMeta{Ref: mt.ref, Seq: mt.seq, Source: mt.source}
	if mt.body >= 0 {
		*ref = tlog.BodyRef{Sum: b.bodies[mt.body].sum, Index: mt.index}
		m.Body = ref
	}
	return m
}

// Batcher fills batches for a source and hands them on, in the driver's
// pipeline.
type Batcher struct {
	f    *pipeline.Feeder[*Batch]
	cur  *Batch
	err  error         // the driver stopped
	ref  int64         // the latest Ref
	read *atomic.Int64 // batches handed on, if counted
}

// Ref returns the instant a source's records read now are judged against
// for max_future, and logged with: t (µs), or the one it returned before
// if t is earlier — a clock that went back (a new JetStream leader, an
// adjusted system clock) must not make the log's times go back. A resumed
// driver starts from the checkpoint's, so the same records get the same
// instants again.
func (bt *Batcher) Ref(t int64) int64 {
	bt.ref = max(bt.ref, t)
	return bt.ref
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
	bt.cur.ref = bt.ref
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
