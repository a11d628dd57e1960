package importer

import (
	"bufio"
	"compress/gzip"
	"io"
	"sync/atomic"

	"github.com/linewatch/linewatch/feed"
)

// Opener reads the batch driver's inputs through an Importer (`detect
// --from`): it is a batch.Opener, turning each CSV or GeoJSON file's rows
// into sighting records, and the rejected rows back into the rows'
// text and the importer's reasons for the rejects file.
type Opener struct {
	im   *Importer
	read atomic.Int64
}

// NewOpener returns an Opener of the files im reads.
func NewOpener(im *Importer) *Opener { return &Opener{im: im} }

// Open returns the records of the file name read from r, gunzipped when
// name ends in .gz or r starts with the gzip magic bytes. The source
// closes r, if it is an io.Closer, at its end.
func (o *Opener) Open(name string, r io.Reader) (*feed.Source, error) {
	closer, _ := r.(io.Closer)
	br := bufio.NewReaderSize(&countingReader{r: r, n: &o.read}, 64<<10)
	var in io.Reader = br
	if isGzip(name, br) {
		zr, err := gzip.NewReader(br)
		if err != nil {
			if closer != nil {
				closer.Close()
			}
			return nil, err
		}
		in = zr
	}
	if closer != nil {
		in = &readCloser{Reader: in, close: closer.Close}
	}
	return o.im.Source(name, in)
}

// Rejected turns a rejected record of a source Open made back into the
// row's text and the importer's reason; any other record it returns as it
// is.
func (o *Opener) Rejected(rec feed.Record, reason string) (feed.Record, string) {
	if r, why, ok := RejectedRow(rec); ok {
		return r, why
	}
	return rec, reason
}

// BytesRead is how many bytes of the files the sources have read so far,
// before gunzipping: progress through the inputs.
func (o *Opener) BytesRead() int64 { return o.read.Load() }

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}
