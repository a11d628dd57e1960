package locate

import (
	"fmt"
	"io"
	"sync"

	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/geo"
)

// Stats count the records of a run: Read = Annotated + Rejected.
type Stats struct{ Read, Annotated, Rejected int }

// WriteError is a failure to write the output or the rejects.
type WriteError struct{ Err error }

func (e *WriteError) Error() string { return e.Err.Error() }
func (e *WriteError) Unwrap() error { return e.Err }

// The pipeline. One goroutine reads the records and copies them into
// batches; a pool of workers annotates the batches; the calling goroutine
// writes them in input order. A fixed number of batches circulates, so
// memory stays flat whatever the size of the input.
const (
	batchRecords = 1024
	batchBytes   = 1 << 20
)

// chunk is a batch of records on its way through the pipeline.
type chunk struct {
	seq     int
	raw     []byte        // the records' text, one after the other
	ends    []int         // where each record's text ends in raw
	recs    []feed.Record // the records; their Raw points into raw
	out     []byte        // the annotated Features, one per line
	rejects []rejected
}

// shrink lets go of buffers that a few huge records grew, so that memory
// stays flat.
func (b *chunk) shrink() {
	const keep = 4 * batchBytes
	if cap(b.raw) > keep {
		b.raw = nil
	}
	if cap(b.out) > keep {
		b.out = nil
	}
}

type rejected struct {
	rec    int // index in recs
	reason string
}

// Run annotates the records of inputs (files as feed.Open reads them, "-"
// for standard input) with workers goroutines, writes them to out in input
// order, one Feature per line, and the rejected ones to rejects (if not
// nil). An error reading an input ends the run; an error writing is a
// *WriteError.
func Run(l *geo.Line, inputs []string, out io.Writer, rejects *feed.RejectWriter, workers int) (Stats, error) {
	workers = max(workers, 1)
	nb := 2*workers + 2
	free := make(chan *chunk, nb)
	for range nb {
		free <- &chunk{}
	}
	work := make(chan *chunk, nb)
	done := make(chan *chunk, nb)
	stop := make(chan struct{}) // closed when the writer gives up

	var readErr error
	go func() {
		defer close(work)
		readErr = readBatches(inputs, free, work, stop)
	}()

	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := NewAnnotator(l)
			for b := range work {
				a.annotateBatch(b)
				done <- b
			}
		}()
	}
	go func() {
		wg.Wait()
		close(done)
	}()

	var st Stats
	var writeErr error
	pending := map[int]*chunk{}
	next := 0
	for b := range done {
		pending[b.seq] = b
		for {
			b, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			if writeErr == nil {
				st.Read += len(b.recs)
				st.Rejected += len(b.rejects)
				st.Annotated += len(b.recs) - len(b.rejects)
				writeErr = writeBatch(b, out, rejects)
				if writeErr != nil {
					close(stop)
				}
			}
			b.shrink()
			free <- b
		}
	}
	if readErr != nil {
		return st, readErr
	}
	if writeErr != nil {
		return st, &WriteError{writeErr}
	}
	return st, nil
}

// readBatches reads the records of inputs into batches taken from free and
// sends them, numbered, to work.
func readBatches(inputs []string, free <-chan *chunk, work chan<- *chunk, stop <-chan struct{}) error {
	seq := 0
	var b *chunk
	take := func() bool {
		select {
		case b = <-free:
		case <-stop:
			return false
		}
		b.seq, seq = seq, seq+1
		b.raw, b.ends, b.recs, b.out, b.rejects = b.raw[:0], b.ends[:0], b.recs[:0], b.out[:0], b.rejects[:0]
		return true
	}
	send := func() {
		// Raw of each record points into raw once raw stops growing.
		off := 0
		for i, end := range b.ends {
			b.recs[i].Raw = b.raw[off:end:end]
			off = end
		}
		work <- b
		b = nil
	}
	for _, name := range inputs {
		src, err := feed.Open(name)
		if err != nil {
			return fmt.Errorf("input: %w", err)
		}
		for {
			rec, err := src.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				src.Close()
				if b != nil {
					send()
				}
				return fmt.Errorf("input %s: %w", name, err)
			}
			if b == nil && !take() {
				src.Close()
				return nil
			}
			b.raw = append(b.raw, rec.Raw...)
			b.ends = append(b.ends, len(b.raw))
			rec.Raw = nil
			b.recs = append(b.recs, rec)
			if len(b.recs) == batchRecords || len(b.raw) >= batchBytes {
				send()
			}
		}
		src.Close()
	}
	if b != nil {
		send()
	}
	return nil
}

// annotateBatch annotates the records of b into b.out.
func (a *Annotator) annotateBatch(b *chunk) {
	for i := range b.recs {
		r := &b.recs[i]
		if r.Err != "" {
			b.rejects = append(b.rejects, rejected{i, r.Err})
			continue
		}
		var reason string
		b.out, reason = a.Annotate(b.out, r.Raw)
		if reason != "" {
			b.rejects = append(b.rejects, rejected{i, reason})
		}
	}
}

func writeBatch(b *chunk, out io.Writer, rejects *feed.RejectWriter) error {
	if _, err := out.Write(b.out); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	if rejects != nil {
		for _, r := range b.rejects {
			if err := rejects.Write(b.recs[r.rec], r.reason); err != nil {
				return fmt.Errorf("writing rejects: %w", err)
			}
		}
	}
	return nil
}
