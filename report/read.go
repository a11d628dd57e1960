package report

import (
	"bytes"
	"compress/gzip"
	"io"
)

// ReadAll reads what detect or stream wrote, whole, for Parse: gunzipped
// if it is gzipped.
func ReadAll(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(data, []byte{0x1f, 0x8b}) {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		return io.ReadAll(zr)
	}
	return data, nil
}
