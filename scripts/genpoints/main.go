// Command genpoints writes N GeoJSON Point Features, one per line, spread
// along an agreed line and across it (exponential offsets, mean 3 km), for
// benchmarking locate and detect on inputs of any size:
//
//	go run ./scripts/genpoints -line fixtures/lines/front-2024.geojson -n 1000000 > points.geojsonseq
//
// The output depends only on its flags.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"

	"github.com/linewatch/linewatch/geo"
)

func main() {
	linePath := flag.String("line", "fixtures/lines/front-2024.geojson", "the agreed line")
	n := flag.Int("n", 1000000, "number of points")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	l, err := geo.LoadFile(*linePath, geo.Options{Left: "A", Right: "B"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "genpoints:", err)
		os.Exit(2)
	}
	r := rand.New(rand.NewPCG(*seed, 7))
	w := bufio.NewWriterSize(os.Stdout, 1<<16)
	parties := l.Parties()
	t0 := int64(1714521600) // 2024-05-01T00:00:00Z
	var b []byte
	for i := 0; i < *n; i++ {
		p, azi := l.PointAt(r.Float64() * l.LengthKm())
		d := math.Min(r.ExpFloat64()*3000, 50000)
		if r.IntN(2) == 0 {
			d = -d
		}
		q := geo.Destination(p, azi+90, d)
		b = append(b[:0], `{"type":"Feature","id":"p`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `","geometry":{"type":"Point","coordinates":[`...)
		b = strconv.AppendFloat(b, math.Round(q[0]*1e6)/1e6, 'f', -1, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, math.Round(q[1]*1e6)/1e6, 'f', -1, 64)
		b = append(b, `]},"properties":{"time":`...)
		b = strconv.AppendInt(b, t0+int64(i)*60, 10)
		b = append(b, `,"side":"`...)
		b = append(b, parties[r.IntN(2)]...)
		b = append(b, `","kind":"ground","track":"t`...)
		b = strconv.AppendInt(b, int64(r.IntN(500)), 10)
		b = append(b, `"}}`+"\n"...)
		if _, err := w.Write(b); err != nil {
			fmt.Fprintln(os.Stderr, "genpoints:", err)
			os.Exit(1)
		}
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "genpoints:", err)
		os.Exit(1)
	}
}
