package geo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// benchLine is the bundled line when present, else a synthetic winding
// line of the same size.
func benchLine(b *testing.B) *Line {
	b.Helper()
	if _, err := os.Stat("../fixtures/lines/front-2024.geojson"); err == nil {
		l, err := LoadFile("../fixtures/lines/front-2024.geojson", Options{})
		if err != nil {
			b.Fatal(err)
		}
		return l
	}
	var sb strings.Builder
	sb.WriteString(`{"type":"LineString","coordinates":[`)
	for i := 0; i < 500; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, "[%.6f,%.6f]", 33+float64(i)*0.02, 47+0.05*math.Sin(float64(i)/7))
	}
	sb.WriteString("]}")
	l, err := Load(strings.NewReader(sb.String()), Options{Left: "UA", Right: "RU"})
	if err != nil {
		b.Fatal(err)
	}
	return l
}

// locatePoints are n points spread along the line, each offset across it
// by a distance drawn by off.
func locatePoints(l *Line, n int, off func(r *rand.Rand) float64) [][2]float64 {
	r := rand.New(rand.NewPCG(1, 2))
	pts := make([][2]float64, n)
	for i := range pts {
		p, azi := l.PointAt(r.Float64() * l.LengthKm())
		d := off(r)
		if r.IntN(2) == 0 {
			d = -d
		}
		pts[i] = Destination(p, azi+90, d)
	}
	return pts
}

func benchLocate(b *testing.B, pts [][2]float64, l *Line) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := pts[i%len(pts)]
		_ = l.Locate(p[0], p[1])
	}
}

// BenchmarkLocate is the typical query: sightings cluster near the line,
// at distances drawn from an exponential law of mean 3 km (at most 50 km).
func BenchmarkLocate(b *testing.B) {
	l := benchLine(b)
	benchLocate(b, locatePoints(l, 4096, func(r *rand.Rand) float64 {
		return math.Min(r.ExpFloat64()*3000, 50000)
	}), l)
}

// BenchmarkFar is Far where Locate is asked in BenchmarkLocateFar: most
// points are far enough for it to answer (the cells made beforehand, as in
// a long run).
func BenchmarkFar(b *testing.B) {
	l := benchLine(b)
	pts := locatePoints(l, 4096, func(r *rand.Rand) float64 { return r.Float64() * 30000 })
	answered := 0
	for _, p := range pts {
		if _, _, ok := l.Far(p[0], p[1]); ok {
			answered++
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := pts[i%len(pts)]
		_, _, _ = l.Far(p[0], p[1])
	}
	b.ReportMetric(float64(answered)/float64(len(pts)), "answered")
}

// BenchmarkLocateFar is the hard case: points uniformly up to 30 km off.
func BenchmarkLocateFar(b *testing.B) {
	l := benchLine(b)
	benchLocate(b, locatePoints(l, 4096, func(r *rand.Rand) float64 {
		return r.Float64() * 30000
	}), l)
}

func BenchmarkLoad(b *testing.B) {
	data, err := os.ReadFile("../fixtures/lines/front-2024.geojson")
	if err != nil {
		b.Skip("no bundled line")
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := Load(strings.NewReader(string(data)), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// crossPairs are n movements across the line: each starts on one side at
// a distance drawn by off and ends as far on the other side.
func crossPairs(l *Line, n int, off func(r *rand.Rand) float64) [][2][2]float64 {
	r := rand.New(rand.NewPCG(3, 4))
	pairs := make([][2][2]float64, n)
	for i := range pairs {
		p, azi := l.PointAt(r.Float64() * l.LengthKm())
		d := off(r)
		turn := azi + 90 + (r.Float64()*2-1)*40
		pairs[i] = [2][2]float64{Destination(p, turn, -d), Destination(p, turn, d)}
	}
	return pairs
}

func benchCross(b *testing.B, l *Line, pairs [][2][2]float64) {
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p := pairs[i%len(pairs)]
		_, _ = l.Cross(p[0], p[1])
	}
}

// BenchmarkCross is a crossing of the usual kind: a track whose two
// fixes lie up to a few km either side of the line.
func BenchmarkCross(b *testing.B) {
	l := benchLine(b)
	benchCross(b, l, crossPairs(l, 4096, func(r *rand.Rand) float64 { return 100 + r.Float64()*3000 }))
}

// BenchmarkCrossLong is a pair 200–900 km long, which needs more than a
// plane to meet the line where its geodesic does.
func BenchmarkCrossLong(b *testing.B) {
	l := benchLine(b)
	benchCross(b, l, crossPairs(l, 512, func(r *rand.Rand) float64 { return 100000 + r.Float64()*350000 }))
}

// BenchmarkLoadManyStretches loads a line of 20,000 two-point stretches
// touching end to end: validation and the joints between stretches take
// time in proportion to n log n (a line of 100,000 stretches took a minute
// when every pair of stretch ends was compared).
func BenchmarkLoadManyStretches(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"type":"FeatureCollection","features":[`)
	const n = 20000
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"type":"Feature","properties":{"left":"A","right":"B"},"geometry":{"type":"LineString","coordinates":[[%.6f,%.6f],[%.6f,%.6f]]}}`,
			20+float64(i)*0.001, 48+0.01*math.Sin(float64(i)/7), 20+float64(i+1)*0.001, 48+0.01*math.Sin(float64(i+1)/7))
	}
	sb.WriteString("]}")
	data := sb.String()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := Load(strings.NewReader(data), Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
