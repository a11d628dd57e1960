package locate

import (
	"context"
	"fmt"
	"io"

	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/internal/pipeline"
)

// Stats count the records of a run: Read = Annotated + Rejected.
type Stats struct{ Read, Annotated, Rejected int }

// WriteError is a failure to write the output or the rejects.
type WriteError struct{ Err error }

func (e *WriteError) Error() string { return e.Err.Error() }
func (e *WriteError) Unwrap() error { return e.Err }

// chunk is a batch of records on its way through the pipeline: read in
// order, annotated by a pool of workers, written in order.
type chunk struct {
	pipeline.Records
	out     []byte // the annotated Features, one per line
	rejects []rejected
}

func (b *chunk) Reset() {
	b.Records.Reset()
	b.out, b.rejects = b.out[:0], b.rejects[:0]
	// A few huge records must not keep their memory for good.
	if cap(b.out) > 4*pipeline.DefaultMaxBytes {
		b.out = nil
	}
}

type rejected struct {
	rec    int // index in Recs
	reason string
}

// Run annotates the records of inputs (files as feed.Open reads them, "-"
// for standard input) with workers goroutines, writes them to out in input
// order, one Feature per line, and the rejected ones to rejects (if not
// nil). An error reading an input ends the run; an error writing is a
// *WriteError.
func Run(l *geo.Line, inputs []string, out io.Writer, rejects *feed.RejectWriter, workers int) (Stats, error) {
	var st Stats
	var writeErr error
	cfg := pipeline.Config[*chunk]{
		Workers: max(workers, 1),
		New:     func() *chunk { return new(chunk) },
		Worker: func(int) func(*chunk) {
			a := NewAnnotator(l)
			return a.annotateBatch
		},
		Sink: func(b *chunk) error {
			st.Read += b.Len()
			st.Rejected += len(b.rejects)
			st.Annotated += b.Len() - len(b.rejects)
			writeErr = writeBatch(b, out, rejects)
			return writeErr
		},
	}
	err := pipeline.Run(context.Background(), cfg, func(f *pipeline.Feeder[*chunk]) error {
		for _, name := range inputs {
			src, err := feed.Open(name)
			if err != nil {
				return fmt.Errorf("input: %w", err)
			}
			err = f.ReadBlocks(src)
			src.Close()
			if err != nil {
				return fmt.Errorf("input %s: %w", name, err)
			}
		}
		return nil
	})
	if writeErr != nil {
		return st, &WriteError{writeErr}
	}
	return st, err
}

// annotateBatch annotates the records of b into b.out.
func (a *Annotator) annotateBatch(b *chunk) {
	for i := range b.Recs {
		r := &b.Recs[i]
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
			if err := rejects.Write(b.Recs[r.rec], r.reason); err != nil {
				return fmt.Errorf("writing rejects: %w", err)
			}
		}
	}
	return nil
}
