//go:build linux

package hostile

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"strings"
	"testing"
	"time"
)

// The lines the cases use. straight runs east along 48° N from 30° E to
// 31.3° E (97 km): A holds the north (left), B the south. front is the
// bundled 2024 front (UA left, RU right).
const (
	front    = "../../fixtures/lines/front-2024.geojson"
	straight = `{"type":"LineString","coordinates":[[30,48],[30.1,48],[30.2,48],[30.3,48],[30.4,48],[30.5,48],[30.6,48],[30.7,48],[30.8,48],[30.9,48],[31,48],[31.1,48],[31.2,48],[31.3,48]]}`
	// threeSectors is a 22 km line: sectors of 10, 10 and 2 km.
	threeSectors = `{"type":"LineString","coordinates":[[30,48],[30.1,48],[30.2,48],[30.3,48]]}`
)

// feature is a sighting as GeoJSON text. props are added to its
// properties as they are (`"k":v` pairs, comma separated).
func feature(id string, lon, lat float64, when time.Time, side, props string) string {
	p := fmt.Sprintf(`"time":%q`, when.UTC().Format(time.RFC3339))
	if side != "" {
		p += fmt.Sprintf(`,"side":%q`, side)
	}
	if props != "" {
		p += "," + props
	}
	return fmt.Sprintf(`{"type":"Feature","id":%q,"geometry":{"type":"Point","coordinates":[%v,%v]},"properties":{%s}}`, id, lon, lat, p)
}

var day0 = time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)

// incursions are n sightings of B north of the straight line (so each an
// incursion), two units a window apart in time, from day0: a sustained
// offensive when they span three windows or more.
func incursions(n int, every time.Duration) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		u := i % 2
		b.WriteString(feature(fmt.Sprintf("b%d", i), 30.05+0.2*float64(i%3), 48.03+0.001*float64(u), day0.Add(time.Duration(i/2)*every), "B",
			fmt.Sprintf(`"track":"u%d","strength":20`, u)))
		b.WriteByte('\n')
	}
	return b.String()
}

// blankGzip is a gzip file, one member, of n MiB of newlines followed by
// tail: about a kilobyte of deflate per MiB of newlines, made without
// compressing them n times. Each MiB is deflated once, ended with a sync
// flush so that it stands alone on a byte boundary, and repeated; the
// tail is deflated on its own the same way, and an empty final stored
// block ends the stream.
func blankGzip(t *testing.T, n int, tail string) []byte {
	t.Helper()
	return repeatGzip(t, '\n', n, tail)
}

// repeatGzip is blankGzip with n MiB of the byte c.
func repeatGzip(t *testing.T, c byte, n int, tail string) []byte {
	t.Helper()
	chunk := bytes.Repeat([]byte{c}, 1<<20)
	deflated := func(data []byte) []byte {
		var b bytes.Buffer
		w, err := flate.NewWriter(&b, flate.BestCompression)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		w.Flush() // sync flush: no final block, byte-aligned
		return b.Bytes()
	}
	block, end := deflated(chunk), deflated([]byte(tail))
	var out bytes.Buffer
	out.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}) // gzip header, no name, no time
	crc := uint32(0)
	for i := 0; i < n; i++ {
		out.Write(block)
		crc = crc32.Update(crc, crc32.IEEETable, chunk)
	}
	out.Write(end)
	crc = crc32.Update(crc, crc32.IEEETable, []byte(tail))
	out.Write([]byte{1, 0, 0, 0xff, 0xff}) // final empty stored block
	binary.Write(&out, binary.LittleEndian, crc)
	binary.Write(&out, binary.LittleEndian, uint32(n<<20+len(tail))) // ISIZE, modulo 2^32
	return out.Bytes()
}

// reader is a reader of s, for standard input.
func reader(s string) io.Reader { return strings.NewReader(s) }
