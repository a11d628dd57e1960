package stream

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
)

// RecordLog is where the driver writes rejected records, one a Write: a
// file (Log) or a JetStream subject (NATSLog). Len is its position, which
// a checkpoint records and Truncate goes back to.
type RecordLog interface {
	Write(p []byte) (int, error)
	Flush() error
	Sync() error
	Len() int64
	Truncate(n int64) error
	Close() error
}

// Log is an append-only output file whose length a checkpoint records: a
// restart cuts it back to that length (Truncate) and appends from there.
// Standard output ("-") cannot be cut back; it is written as a stream.
type Log struct {
	name string
	f    *os.File  // nil for standard output
	dst  io.Writer // what w writes to
	cut  bool      // a regular file: it can be cut back and synced
	w    *bufio.Writer
	n    int64 // bytes written, buffered ones included

	closed bool
}

// OpenLog opens name for appending, creating it if needed, without
// changing its contents: call Truncate before writing. "-" is stdout.
func OpenLog(name string, stdout io.Writer) (*Log, error) {
	if name == "-" {
		return &Log{name: "standard output", dst: stdout, w: bufio.NewWriterSize(stdout, 64<<10)}, nil
	}
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err == nil && !fi.Mode().IsRegular() {
		// A pipe or a device: written as a stream, never cut back.
		return &Log{name: name, f: f, dst: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
	}
	return &Log{name: name, f: f, dst: f, cut: true, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

// Name is the file's name.
func (l *Log) Name() string { return l.name }

// Len is the length the file has once flushed.
func (l *Log) Len() int64 { return l.n }

// Truncate cuts the file back to n bytes (what a checkpoint covers) and
// positions it there. A file shorter than n was changed behind the
// checkpoint's back: that is an error.
func (l *Log) Truncate(n int64) error {
	l.w.Reset(l.dst)
	if !l.cut {
		l.n = 0
		return nil
	}
	fi, err := l.f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() < n {
		return fmt.Errorf("%s holds %d bytes, fewer than the %d the checkpoint covers: it was changed or replaced since", l.name, fi.Size(), n)
	}
	if err := l.f.Truncate(n); err != nil {
		return err
	}
	if _, err := l.f.Seek(n, io.SeekStart); err != nil {
		return err
	}
	l.n = n
	return nil
}

// Write appends p.
func (l *Log) Write(p []byte) (int, error) {
	n, err := l.w.Write(p)
	l.n += int64(n)
	return n, err
}

// Flush hands what is buffered to the operating system.
func (l *Log) Flush() error {
	if err := l.w.Flush(); err != nil {
		return fmt.Errorf("writing %s: %w", l.name, err)
	}
	return nil
}

// Sync flushes and makes the file durable (fsync).
func (l *Log) Sync() error {
	if err := l.Flush(); err != nil {
		return err
	}
	if !l.cut {
		return nil
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", l.name, err)
	}
	return nil
}

// Close flushes and closes the file; closing again does nothing.
func (l *Log) Close() error {
	if l.closed {
		return nil
	}
	l.closed = true
	err := l.Flush()
	if l.f != nil {
		err = errors.Join(err, l.f.Close())
	}
	return err
}
