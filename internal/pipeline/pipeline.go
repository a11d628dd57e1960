// Package pipeline is linewatch's one ordered record pipeline: one
// goroutine reads records into batches, a pool of workers processes the
// batches (decodes, judges, annotates), and a sink takes them in the order
// they were read. Batch detection, the streaming engine and locate all run
// on it; each brings its own batch type, workers and sink.
//
// A fixed pool of batches circulates — reader, workers, sink, back to the
// reader — so that memory stays flat whatever the size of the input: the
// reader waits for a free batch while the workers or the sink lag behind.
//
//	type chunk struct {
//		pipeline.Records
//		out []byte
//	}
//	err := pipeline.Run(ctx, pipeline.Config[*chunk]{
//		New:    func() *chunk { return new(chunk) },
//		Worker: func(int) func(*chunk) { return annotate },
//		Sink:   func(c *chunk) error { _, err := w.Write(c.out); return err },
//	}, func(f *pipeline.Feeder[*chunk]) error { return f.ReadSource(src, nil) })
package pipeline

import (
	"context"
	"io"
	"runtime"
	"sync"
	"time"

	"github.com/linewatch/linewatch/feed"
)

// Records are the records of a batch with their text, copied in (a
// feed.Source reuses its buffers). Embed Records in a batch type: it makes
// the type a Batch.
type Records struct {
	// Recs are the records. Their Raw is set when the batch is handed to
	// the workers, and points into the batch's own buffer.
	Recs []feed.Record
	// Input is which of the reader's inputs the records come from, as
	// the reader said (Feeder.Input): a batch holds records of one.
	Input int
	text  []byte
	ends  []int // where each record's text ends in text
	seq   int   // the batch's place in the input
	// lines is set when text holds whole lines of a file, not yet split
	// (Feeder.ReadBlocks): the worker splits them.
	lines *feed.Source
}

// Add copies a record into the batch.
func (r *Records) Add(rec feed.Record) {
	r.text = append(r.text, rec.Raw...)
	r.ends = append(r.ends, len(r.text))
	rec.Raw = nil
	r.Recs = append(r.Recs, rec)
}

// Len is the number of records in the batch.
func (r *Records) Len() int { return len(r.Recs) }

// Size is the length of the records' text in bytes.
func (r *Records) Size() int { return len(r.text) }

// Reset empties the batch, keeping its buffers.
func (r *Records) Reset() {
	r.Recs, r.text, r.ends, r.lines = r.Recs[:0], r.text[:0], r.ends[:0], nil
	// A few huge records must not keep their memory for good.
	if cap(r.text) > 4*DefaultMaxBytes {
		r.text = nil
	}
}

// seal points each record's Raw into text, once text has stopped growing.
func (r *Records) seal() {
	start := 0
	for i, end := range r.ends {
		r.Recs[i].Raw = r.text[start:end:end]
		start = end
	}
}

func (r *Records) records() *Records { return r }

// split cuts the lines of a batch that ReadBlocks filled into its records,
// where they lie in text.
func (r *Records) split() {
	for {
		rec, err := r.lines.Next()
		if err != nil { // io.EOF: a Source of bytes has no other error
			break
		}
		r.Recs = append(r.Recs, rec)
	}
	r.lines = nil
}

// Batch is what flows through a pipeline: a type that embeds Records and
// holds besides whatever its workers make of the records. Reset is called
// when the batch is taken to be filled again; a type with more fields
// defines its own Reset, which calls Records.Reset.
type Batch interface {
	Reset()
	records() *Records
}

// How full a batch gets before the Feeder hands it on, by default.
const (
	DefaultMaxRecords = 1024
	DefaultMaxBytes   = 1 << 20
)

// Config is what a pipeline runs.
type Config[B Batch] struct {
	// Workers is the number of worker goroutines; 0: GOMAXPROCS.
	Workers int
	// Batches is the number of batches in circulation; 0: 2 × Workers + 2.
	Batches int
	// MaxRecords and MaxBytes: Feeder.Add hands a batch on once it holds
	// that many records or bytes of text; 0: the defaults.
	MaxRecords, MaxBytes int

	// New makes an empty batch for the pool.
	New func() B
	// Worker returns the function worker w (0 ≤ w < Workers) calls on each
	// batch, on its own goroutine: per-worker state (a decoder, say) lives
	// in its closure.
	Worker func(w int) func(B)
	// Sink takes the processed batches, in the order they were read, on
	// Run's goroutine. An error stops the pipeline: Run returns it.
	Sink func(B) error
	// Tick, if set, is called every Every on Run's goroutine, never during
	// a call of Sink: for work that must happen in time even when batches
	// come slowly (from a live feed), such as a checkpoint. An error stops
	// the pipeline as a Sink's does.
	Tick  func() error
	Every time.Duration
}

// Feeder fills batches for a pipeline's reader and hands them on. Its
// methods return an error once the pipeline is stopping (the sink failed
// or the context is done): the reader should then return.
type Feeder[B Batch] struct {
	ctx                  context.Context
	free                 <-chan B
	work                 chan<- B
	cur                  B
	has                  bool
	seq                  int
	input                int
	maxRecords, maxBytes int
}

// Context is done when the pipeline stops.
func (f *Feeder[B]) Context() context.Context { return f.ctx }

// Current returns the batch being filled, taking a free one (and waiting
// for it) if there is none.
func (f *Feeder[B]) Current() (B, error) {
	if f.has {
		return f.cur, nil
	}
	select {
	case b := <-f.free:
		b.Reset()
		b.records().Input = f.input
		f.cur, f.has = b, true
		return b, nil
	case <-f.ctx.Done():
		var zero B
		return zero, f.ctx.Err()
	}
}

// Input says which input the records added next come from (see
// Records.Input), handing the batch being filled on first.
func (f *Feeder[B]) Input(i int) error {
	if f.has && f.cur.records().Input != i {
		if r := f.cur.records(); r.Len() == 0 {
			r.Input = i
		} else if err := f.Flush(); err != nil {
			return err
		}
	}
	f.input = i
	return nil
}

// Pending is the number of records in the batch being filled.
func (f *Feeder[B]) Pending() int {
	if !f.has {
		return 0
	}
	return f.cur.records().Len()
}

// Add copies a record into the batch being filled, and hands the batch on
// once it is full.
func (f *Feeder[B]) Add(rec feed.Record) error {
	b, err := f.Current()
	if err != nil {
		return err
	}
	r := b.records()
	r.Add(rec)
	if r.Len() >= f.maxRecords || r.Size() >= f.maxBytes {
		return f.Flush()
	}
	return nil
}

// Flush hands the batch being filled on, if one was taken, even empty (a
// batch may stand for input that held no record).
func (f *Feeder[B]) Flush() error {
	if !f.has {
		return nil
	}
	r := f.cur.records()
	r.seq = f.seq
	r.seal()
	select {
	case f.work <- f.cur:
	case <-f.ctx.Done():
		return f.ctx.Err()
	}
	var zero B
	f.cur, f.has = zero, false
	f.seq++
	return nil
}

// ReadSource adds the records of src to the pipeline: all of them, or
// those keep returns true for if keep is not nil (a filter on the reader's
// goroutine spares the others the copy into a batch). Its error is src's,
// unwrapped, or the pipeline's.
func (f *Feeder[B]) ReadSource(src *feed.Source, keep func(feed.Record) bool) error {
	for {
		rec, err := src.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if keep != nil && !keep(rec) {
			continue
		}
		if err := f.Add(rec); err != nil {
			return err
		}
	}
}

// ReadBlocks adds the records of src to the pipeline, as ReadSource does
// with no filter, but hands a file of lines on in blocks of whole lines
// that the workers split: the reader then only copies each block, where
// splitting and copying each record made it the pipeline's slowest
// stage. A batch holds one block of up to blockBytes (or the Feeder's
// bytes, if fewer), however many records that is.
func (f *Feeder[B]) ReadBlocks(src *feed.Source) error {
	for {
		if f.Pending() > 0 {
			// A record Next returned goes on alone, before the block.
			if err := f.Flush(); err != nil {
				return err
			}
		}
		block, line, base, ok := src.Block(min(f.maxBytes, blockBytes))
		if !ok {
			rec, err := src.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := f.Add(rec); err != nil {
				return err
			}
			continue
		}
		b, err := f.Current()
		if err != nil {
			return err
		}
		r := b.records()
		r.text = append(r.text[:0], block...)
		r.lines = feed.NewLinesSource(src.Name(), r.text, line, base, src.MaxRecord)
		if err := f.Flush(); err != nil {
			return err
		}
	}
}

// Run runs the pipeline: read, on a goroutine of its own, fills batches
// from the Feeder until its input ends; the batch being filled when it
// returns is handed on. Every batch read reaches the sink, in order, unless
// the pipeline stops first.
//
// Run returns nil when read returned nil and the sink has taken every
// batch; read's error (once the sink has taken every batch read before it);
// or, stopping at once, the sink's or Tick's error, or ctx's error when ctx
// is done. On a stop Run does not wait for read to return (it may be
// blocked reading a slow input): the reader and the workers wind down in
// the background, their batches taken from them and dropped.
func Run[B Batch](ctx context.Context, cfg Config[B], read func(*Feeder[B]) error) error {
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	n := cfg.Batches
	if n <= 0 {
		n = 2*workers + 2
	}
	f := &Feeder[B]{maxRecords: cfg.MaxRecords, maxBytes: cfg.MaxBytes}
	if f.maxRecords <= 0 {
		f.maxRecords = DefaultMaxRecords
	}
	if f.maxBytes <= 0 {
		f.maxBytes = DefaultMaxBytes
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	free := make(chan B, n)
	for range n {
		free <- cfg.New()
	}
	work := make(chan B, n)
	done := make(chan B, n)
	f.ctx, f.free, f.work = ctx, free, work

	readErr := make(chan error, 1)
	go func() {
		err := read(f)
		if ferr := f.Flush(); err == nil {
			err = ferr
		}
		readErr <- err
		close(work)
	}()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			process := cfg.Worker(w)
			for b := range work {
				if r := b.records(); r.lines != nil {
					r.split()
				}
				process(b)
				done <- b
			}
		}()
	}
	go func() {
		wg.Wait()
		close(done)
	}()

	var tick <-chan time.Time
	if cfg.Tick != nil && cfg.Every > 0 {
		t := time.NewTicker(cfg.Every)
		defer t.Stop()
		tick = t.C
	}
	// The workers finish batches in any order; a ring of n slots puts them
	// back in order, as at most n are out at once, numbered next, next+1, …
	ring := make([]B, n)
	held := make([]bool, n)
	next := 0
	stop := func(err error) error {
		cancel()
		go func() { // let the reader and workers finish what they hold
			for range done {
			}
		}()
		return err
	}
	for {
		select {
		case b, ok := <-done:
			if !ok {
				return <-readErr
			}
			k := b.records().seq % n
			ring[k], held[k] = b, true
			for held[next%n] {
				k := next % n
				b := ring[k]
				var zero B
				ring[k], held[k] = zero, false
				next++
				if err := cfg.Sink(b); err != nil {
					return stop(err)
				}
				free <- b
			}
		case <-tick:
			if err := cfg.Tick(); err != nil {
				return stop(err)
			}
		case <-ctx.Done():
			return stop(ctx.Err())
		}
	}
}

// blockBytes bounds the blocks ReadBlocks hands on: past 128 KiB detect
// runs no faster and takes more memory.
const blockBytes = 128 << 10
