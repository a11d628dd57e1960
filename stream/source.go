package stream

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/linewatch/linewatch/feed"
)

// ReaderSource reads a GeoJSONSeq (or NDJSON, or FeatureCollection) stream,
// gzipped or not, such as standard input. Its records are batched as they
// come: a batch is handed on when it is full, and also whenever the source
// is about to wait for more input, so that a slow feed is processed (and
// alerted on) at once.
type ReaderSource struct {
	Name string // the name in rejects lines ("-" for standard input)
	R    io.Reader
	// Now is the clock records are checked against for max_future
	// (default time.Now).
	Now func() time.Time
}

// Run reads until the end of the input.
func (s *ReaderSource) Run(ctx context.Context, bt *Batcher) error {
	now := s.Now
	if now == nil {
		now = time.Now
	}
	ref := bt.Ref(now().UnixMicro())
	var flushErr error
	fr := &flushReader{r: s.R, before: func() {
		// About to read: hand on what is complete, so that nothing waits
		// for input that may be slow to come.
		if flushErr == nil && bt.Pending() > 0 {
			flushErr = bt.Flush(ctx)
		}
		ref = bt.Ref(now().UnixMicro())
	}}
	br := bufio.NewReaderSize(fr, 64<<10)
	var r io.Reader = br
	magic, err := br.Peek(2)
	if err != nil && err != io.EOF {
		return fmt.Errorf("read %s: %w", s.Name, err)
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("read %s: %w", s.Name, err)
		}
		defer zr.Close()
		r = zr
	}
	src := feed.NewSource(s.Name, r)
	for {
		rec, err := src.Next()
		if flushErr != nil {
			return flushErr
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err // feed's errors name the input: "read -: unexpected EOF"
		}
		bt.Current().Add(rec, ref)
		if bt.Pending() >= MaxBatch {
			if err := bt.Flush(ctx); err != nil {
				return err
			}
		}
	}
}

// flushReader calls before ahead of every read of r.
type flushReader struct {
	r      io.Reader
	before func()
}

func (f *flushReader) Read(p []byte) (int, error) {
	f.before()
	return f.r.Read(p)
}
