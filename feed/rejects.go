package feed

import (
	"bufio"
	"github.com/linewatch/linewatch/internal/jsontext"
	"io"
	"strconv"
	"sync"
	"unicode/utf8"
)

// MaxRejectText is the most bytes of a record's text the rejects file holds.
const MaxRejectText = 4096

// RejectWriter writes the rejects file (SPEC §5): one JSON object a line
// for each rejected or late record,
//
//	{"file":"a.geojsons","line":3,"reason":"time is missing","record":"{…}"}
//
// with "line" (1-based, in a sequence) or "index" (0-based, in a
// FeatureCollection), and the record's text cut at 4096 bytes on a
// character boundary. Its methods may be called from several goroutines.
type RejectWriter struct {
	mu  sync.Mutex
	w   *bufio.Writer
	buf []byte
	err error
}

// NewRejectWriter returns a RejectWriter writing to w. Call Flush at the end.
func NewRejectWriter(w io.Writer) *RejectWriter {
	return &RejectWriter{w: bufio.NewWriterSize(w, 64<<10)}
}

// Write writes the line of record r, rejected for reason (for a record the
// splitter rejected, r.Err; for a late one, "late").
func (w *RejectWriter) Write(r Record, reason string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.buf = AppendReject(w.buf[:0], r, reason)
	_, w.err = w.w.Write(w.buf)
	return w.err
}

// Flush writes what is buffered to the underlying writer.
func (w *RejectWriter) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	w.err = w.w.Flush()
	return w.err
}

// AppendReject appends the rejects-file line of record r, rejected for
// reason, newline included, to dst.
func AppendReject(dst []byte, r Record, reason string) []byte {
	dst = append(dst, `{"file":`...)
	dst = jsontext.AppendString(dst, []byte(r.File))
	if r.Index >= 0 {
		dst = append(dst, `,"index":`...)
		dst = strconv.AppendInt(dst, int64(r.Index), 10)
	} else {
		dst = append(dst, `,"line":`...)
		dst = strconv.AppendInt(dst, int64(r.Line), 10)
	}
	dst = append(dst, `,"reason":`...)
	dst = jsontext.AppendString(dst, []byte(reason))
	dst = append(dst, `,"record":`...)
	dst = jsontext.AppendString(dst, cutText(r.Raw, MaxRejectText))
	return append(dst, '}', '\n')
}

// cutText returns the longest start of b of at most n bytes that does not
// end inside a UTF-8 character.
func cutText(b []byte, n int) []byte {
	if len(b) <= n {
		return b
	}
	for k := n; k > n-utf8.UTFMax && k > 0; k-- {
		if utf8.RuneStart(b[k]) {
			return b[:k]
		}
	}
	return b[:n] // not UTF-8 there: cut anywhere
}
