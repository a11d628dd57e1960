package importer

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"github.com/linewatch/linewatch/internal/jsontext"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/linewatch/linewatch/feed"
)

// OpenFile opens a CSV or GeoJSON file for reading, gunzipped when its name ends in
// .gz or it starts with the gzip magic bytes.
func OpenFile(name string) (io.ReadCloser, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err == nil && fi.IsDir() {
		f.Close()
		return nil, errors.New(name + " is a directory")
	}
	br := bufio.NewReaderSize(f, 64<<10)
	if isGzip(name, br) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, err
		}
		return &readCloser{Reader: zr, close: func() error { return errors.Join(zr.Close(), f.Close()) }}, nil
	}
	return &readCloser{Reader: br, close: f.Close}, nil
}

// isGzip tells whether the file name, read by br, is gzipped: its name
// ends in .gz or it starts with the gzip magic bytes.
func isGzip(name string, br *bufio.Reader) bool {
	magic, _ := br.Peek(2)
	return strings.HasSuffix(name, ".gz") || len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r *readCloser) Close() error { return r.close() }

// rejectTag opens the record a Source gives for a rejected row.
const rejectTag = `["linewatch:import-reject",`

// Source returns a feed.Source whose records are the rows of the CSV or
// GeoJSON file r converted to sightings, for the batch driver (`detect
// --from`). The record of the row that starts on line N of the file is on
// line N of the source, so that rejects name the file's lines; a Feature
// of a FeatureCollection is on the line of its ordinal, and the record of
// a rejected one names its index. A rejected row is
// a record that feed rejects (not a Feature); RejectedRow turns it back
// into the row's text and the importer's reason. The source closes r (if
// it is an io.Closer) at its end.
func (im *Importer) Source(name string, r io.Reader) (*feed.Source, error) {
	rows, err := im.Rows(name, r)
	if err != nil {
		if c, ok := r.(io.Closer); ok {
			c.Close()
		}
		return nil, err
	}
	sr := &sourceReader{rows: rows}
	sr.closer, _ = r.(io.Closer)
	return feed.NewSource(name, sr), nil
}

// sourceReader writes the rows of a file as GeoJSONSeq, each on the line
// of the CSV file it started on.
type sourceReader struct {
	rows    *Rows
	closer  io.Closer
	line    int // lines written
	buf     []byte
	pending []byte
	err     error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	for len(s.pending) == 0 {
		if s.err != nil {
			return 0, s.err
		}
		s.fill()
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

// fill converts rows until some 32 KB are ready or the file ends.
func (s *sourceReader) fill() {
	b := s.buf[:0]
	for len(b) < 32<<10 {
		r, err := s.rows.Next()
		if err != nil {
			s.err = err
			if s.closer != nil {
				if cerr := s.closer.Close(); cerr != nil && err == io.EOF {
					s.err = cerr
				}
				s.closer = nil
			}
			break
		}
		for s.line+1 < r.Line {
			b = append(b, '\n')
			s.line++
		}
		if r.Record != nil {
			b = append(b, r.Record...)
		} else {
			b = append(b, rejectTag...)
			b = jsontext.AppendString(b, []byte(r.Reason))
			b = append(b, ',')
			b = jsontext.AppendString(b, r.Text[:min(len(r.Text), feed.MaxRejectText+4)])
			b = append(b, ',')
			b = strconv.AppendInt(b, int64(r.Index), 10)
			b = append(b, ']')
		}
		b = append(b, '\n')
		s.line++
	}
	s.buf = b
	s.pending = b
}

// RejectedRow tells whether rec, a record of a Source, stands for a
// rejected row; if so it returns the record with the row's text and the
// importer's reason.
func RejectedRow(rec feed.Record) (feed.Record, string, bool) {
	if !bytes.HasPrefix(rec.Raw, []byte(rejectTag)) {
		return rec, "", false
	}
	var v [4]any
	if err := json.Unmarshal(rec.Raw, &v); err != nil {
		return rec, "", false
	}
	reason, _ := v[1].(string)
	text, _ := v[2].(string)
	rec.Raw = []byte(text)
	if i, _ := v[3].(float64); i >= 0 {
		// A Feature of a GeoJSON FeatureCollection: named by its index.
		rec.Line, rec.Index = 0, int(i)
	}
	return rec, reason, true
}
