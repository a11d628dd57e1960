package report

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// svg builds SVG markup; every text and attribute value goes through esc.
type svg struct{ strings.Builder }

func esc(s string) string { return html.EscapeString(s) }

// f formats a pixel coordinate: one decimal is plenty on screen.
func f(x float64) string {
	if x == math.Trunc(x) {
		return strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strconv.FormatFloat(x, 'f', 1, 64)
}

// title appends a tooltip (SVG <title>, shown by every browser on hover).
func (b *svg) title(t string) {
	if t != "" {
		b.WriteString("<title>")
		b.WriteString(esc(t))
		b.WriteString("</title>")
	}
}

// path appends a path through pts: d is the path data, attrs already escaped.
func (b *svg) path(d, attrs, tip string) {
	fmt.Fprintf(b, `<path d="%s" %s>`, d, attrs)
	b.title(tip)
	b.WriteString("</path>\n")
}

func (b *svg) text(x, y float64, attrs, s string) {
	fmt.Fprintf(b, `<text x="%s" y="%s" %s>%s</text>`+"\n", f(x), f(y), attrs, esc(s))
}

// pathData is the data of a polyline through the points.
func pathData(pts [][2]float64) string {
	var sb strings.Builder
	for i, p := range pts {
		if i == 0 {
			sb.WriteByte('M')
		} else {
			sb.WriteByte('L')
		}
		sb.WriteString(f(p[0]))
		sb.WriteByte(',')
		sb.WriteString(f(p[1]))
	}
	return sb.String()
}

// attr is one escaped attribute.
func attr(name, value string) string { return name + `="` + esc(value) + `"` }

// ramp is the colour of t in [0, 1] on a light-to-dark blue scale, the
// timeline's shading of scores (kept apart from the classes' reds, orange
// and purple, which outline the episodes).
func ramp(t float64) string {
	stops := [][3]float64{{222, 235, 247}, {158, 202, 225}, {66, 146, 198}, {8, 81, 156}, {8, 48, 107}}
	t = math.Max(0, math.Min(1, t))
	x := t * float64(len(stops)-1)
	i := int(x)
	if i >= len(stops)-1 {
		i = len(stops) - 2
	}
	u := x - float64(i)
	var c [3]int
	for k := range c {
		c[k] = int(math.Round(stops[i][k] + (stops[i+1][k]-stops[i][k])*u))
	}
	return fmt.Sprintf("#%02x%02x%02x", c[0], c[1], c[2])
}

// niceStep is the smallest of 1, 2, 5 × 10ⁿ that is ≥ x.
func niceStep(x float64) float64 {
	if x <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= x*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// everyNth is how many of n items to skip between labels so that about
// want of them are labelled: a round number, at least 1 (a few items are
// each labelled).
func everyNth(n, want float64) int {
	return max(1, int(niceStep(n/want)))
}
