package report

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/internal/num"
	"github.com/linewatch/linewatch/output"
)

// Timeline layout in pixels.
const (
	tlWidth   = 960.0
	tlLeft    = 52.0
	tlRight   = 14.0
	tlTop     = 30.0
	tlPlotH   = 600.0
	tlLegendH = 46.0
	maxCols   = 1200 // more windows than this are drawn several to a column
)

// cellKey is a timeline cell: a sector and a column of windows.
type cellKey struct {
	sector int
	col    int64
}

type cellSum struct {
	score map[string]int64  // by party, micro-units
	hot   map[string]string // party → episode id, for hot cells
}

// drawTimeline draws sectors (rows, in chainage order) against time
// (columns of windows). Each cell is shaded by the score of the violations
// in it, both parties together; each episode is outlined in its class's
// colour around its sectors and windows. An episode whose violations are
// not in the data (alerts written without --evidence) is hatched over its
// extent instead, as its cells are not known one by one.
func drawTimeline(d *Data, v *view) string {
	secs := d.Line.Sectors()
	index := make(map[string]int, len(secs))
	for _, s := range secs {
		index[s.ID] = s.Index
	}
	pol := &d.Policy
	tMin, tMax := int64(math.MaxInt64), int64(math.MinInt64)
	for _, x := range d.Violations {
		tMin, tMax = min(tMin, x.Time), max(tMax, x.Time)
	}
	for _, e := range d.Episodes {
		tMin, tMax = min(tMin, int64(e.Start)), max(tMax, int64(e.End)-1)
	}
	if tMin > tMax {
		return ""
	}
	w0, w1 := pol.WindowOf(tMin), pol.WindowOf(tMax)
	per := (w1 - w0 + maxCols) / maxCols // windows per column
	ncols := (w1-w0)/per + 1
	col := func(t int64) int64 { return (pol.WindowOf(t) - w0) / per }
	tStart, tEnd := pol.WindowStart(w0), pol.WindowStart(w0+ncols*per)
	if per > 1 {
		v.TimelineNote = fmt.Sprintf("Each column holds %d windows of %s.", per, num.FormatDuration(pol.Window))
	}

	// Cell scores from the violations in the data.
	cells := map[cellKey]*cellSum{}
	known := map[string]int{} // episode id → violations in the data
	for _, x := range d.Violations {
		k := cellKey{index[x.Sector], col(x.Time)}
		c := cells[k]
		if c == nil {
			c = &cellSum{score: map[string]int64{}, hot: map[string]string{}}
			cells[k] = c
		}
		c.score[x.Party] += x.Weight
		if x.Episode != "" {
			c.hot[x.Party] = x.Episode
			known[x.Episode]++
		}
	}
	var maxScore int64
	for _, c := range cells {
		var s int64
		for _, p := range c.score {
			s += p
		}
		maxScore = max(maxScore, s)
	}

	n := float64(len(secs))
	rowH := math.Max(1.5, math.Min(9, tlPlotH/n))
	plotW := tlWidth - tlLeft - tlRight
	plotH := rowH * n
	colW := plotW / float64(ncols)
	height := tlTop + plotH + 20 + tlLegendH
	xAt := func(t int64) float64 { return tlLeft + float64(t-tStart)/float64(tEnd-tStart)*plotW }

	var b svg
	fmt.Fprintf(&b, `<svg id="timeline" viewBox="0 0 %s %s" width="%s" height="%s" role="img" aria-label="Timeline: sectors against time, cells shaded by score, episodes outlined">`+"\n",
		f(tlWidth), f(height), f(tlWidth), f(height))
	b.WriteString(`<defs><pattern id="lw-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#c6dbef"/><line x1="0" y1="0" x2="0" y2="6" stroke="#4292c6" stroke-width="2"/></pattern>`)
	b.WriteString(`<linearGradient id="lw-ramp">`)
	for i := 0; i <= 4; i++ {
		fmt.Fprintf(&b, `<stop offset="%d%%" stop-color="%s"/>`, i*25, ramp(float64(i)/4))
	}
	b.WriteString("</linearGradient></defs>\n")
	fmt.Fprintf(&b, `<rect class="plot" x="%s" y="%s" width="%s" height="%s"/>`+"\n", f(tlLeft), f(tlTop), f(plotW), f(plotH))

	// Time ticks along the top.
	b.WriteString(`<g class="ticks">` + "\n")
	// A label starts at its tick; one that would run off the right edge
	// ends at it instead; one that would touch the label before is left
	// out (its tick stays).
	lastRight := math.Inf(-1)
	for _, tk := range timeTicks(tStart, tEnd) {
		x := xAt(tk.t)
		fmt.Fprintf(&b, `<line x1="%s" y1="%s" x2="%s" y2="%s"/>`, f(x), f(tlTop-4), f(x), f(tlTop+plotH))
		w := labelWidth(tk.label)
		left, anchor := x+2, ""
		if left+w > tlWidth-2 {
			left, anchor = x-2-w, ` text-anchor="end"`
		}
		if left < lastRight+8 {
			continue
		}
		if anchor == "" {
			b.text(left, tlTop-8, `class="tick-label"`, tk.label)
		} else {
			b.text(x-2, tlTop-8, `class="tick-label"`+anchor, tk.label)
		}
		lastRight = left + w
	}
	// Sector labels down the left, and the stretches' boundaries.
	every := everyNth(n, 24)
	for _, s := range secs {
		y := tlTop + float64(s.Index)*rowH
		if s.Index%every == 0 {
			b.text(tlLeft-4, y+math.Min(rowH, 9)-1, `class="tick-label" text-anchor="end"`, s.ID)
		}
		if s.Index > 0 && secs[s.Index-1].Stretch != s.Stretch {
			fmt.Fprintf(&b, `<line class="stretch" x1="%s" y1="%s" x2="%s" y2="%s"/>`, f(tlLeft), f(y), f(tlLeft+plotW), f(y))
		}
	}
	b.WriteString("</g>\n")

	// Cells, in a fixed order.
	keys := make([]cellKey, 0, len(cells))
	for k := range cells {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].col != keys[j].col {
			return keys[i].col < keys[j].col
		}
		return keys[i].sector < keys[j].sector
	})
	logMax := math.Log1p(detect.MicroFloat(maxScore))
	b.WriteString(`<g class="cells">` + "\n")
	for _, k := range keys {
		c := cells[k]
		var total int64
		parties := make([]string, 0, len(c.score))
		for p, s := range c.score {
			total += s
			parties = append(parties, p)
		}
		sort.Strings(parties)
		t := 1.0
		if logMax > 0 {
			t = math.Log1p(detect.MicroFloat(total)) / logMax
		}
		from := pol.WindowStart(w0 + k.col*per)
		to := pol.WindowStart(w0 + (k.col+1)*per)
		tip := fmt.Sprintf("%s, %s", secs[k.sector].ID, period(from, to))
		for _, p := range parties {
			tip += fmt.Sprintf("\n%s: score %s", p, num.FormatMicro(c.score[p]))
			if id := c.hot[p]; id != "" {
				tip += " (hot: " + id + ")"
			}
		}
		class := "cell"
		if len(c.hot) > 0 {
			class += " hot"
		}
		fmt.Fprintf(&b, `<rect class="%s" x="%s" y="%s" width="%s" height="%s" fill="%s">`, class,
			f(tlLeft+float64(k.col)*colW), f(tlTop+float64(k.sector)*rowH), f(math.Max(colW, 0.6)), f(rowH), ramp(0.08+0.92*t))
		b.title(tip)
		b.WriteString("</rect>\n")
	}
	b.WriteString("</g>\n")

	// Episodes: outlined; hatched where their cells are not known.
	b.WriteString(`<g class="ep-outlines">` + "\n")
	var outlined [][4]float64 // x0, y0, x1, y1 of the episodes drawn
	for i := range d.Episodes {
		e := &d.Episodes[i]
		lo, hi := len(secs), -1
		for _, s := range e.Sectors {
			lo, hi = min(lo, index[s]), max(hi, index[s])
		}
		x0 := tlLeft + float64(col(int64(e.Start)))*colW
		x1 := tlLeft + float64(col(int64(e.End)-1)+1)*colW
		y0 := tlTop + float64(lo)*rowH
		y1 := tlTop + float64(hi+1)*rowH
		c, _ := classOf(e.Class)
		if known[e.ID] < e.Violations {
			v.Approximate++
			fmt.Fprintf(&b, `<rect class="ep-area" x="%s" y="%s" width="%s" height="%s" fill="url(#lw-hatch)" %s>`,
				f(x0), f(y0), f(x1-x0), f(y1-y0), attr("data-ep", e.ID))
			b.title(e.ID + ": its cells are not in the alerts (write them with --evidence); score " + num.FormatMicro(int64(e.Score)) + " in all")
			b.WriteString("</rect>\n")
		}
		// The outline's 2 px stroke lies inside the episode's cells, so
		// that the outlines of adjacent episodes stay apart; one over the
		// same cells as another drawn before is drawn inside it.
		level := 0
		for _, o := range outlined {
			if o[0] < x1 && x0 < o[2] && o[1] < y1 && y0 < o[3] {
				level++
			}
		}
		outlined = append(outlined, [4]float64{x0, y0, x1, y1})
		ix := math.Max(0, math.Min(1+2.5*float64(level), (x1-x0-0.5)/2))
		iy := math.Max(0, math.Min(1+2.5*float64(level), (y1-y0-0.5)/2))
		fmt.Fprintf(&b, `<rect class="ep-outline" x="%s" y="%s" width="%s" height="%s" %s %s>`,
			f(x0+ix), f(y0+iy), f(x1-x0-2*ix), f(y1-y0-2*iy), attr("stroke", output.Style[c].Color), attr("data-ep", e.ID))
		b.title(episodeTip(e))
		b.WriteString("</rect>\n")
	}
	b.WriteString("</g>\n")

	// Legend: the shading's scale.
	ly := tlTop + plotH + 22
	fmt.Fprintf(&b, `<g class="legend"><rect x="%s" y="%s" width="220" height="10" fill="url(#lw-ramp)"/>`, f(tlLeft), f(ly))
	if hot := detect.MicroFloat(pol.HotScoreMicro); logMax > 0 && hot <= detect.MicroFloat(maxScore) {
		x := tlLeft + 220*(0.08+0.92*math.Log1p(hot)/logMax)
		fmt.Fprintf(&b, `<line class="hot-mark" x1="%s" y1="%s" x2="%s" y2="%s"/>`, f(x), f(ly-3), f(x), f(ly+13))
		b.text(x, ly-5, `class="tick-label" text-anchor="middle"`, "hot")
	}
	b.text(tlLeft, ly+24, `class="tick-label"`, "score 0")
	b.text(tlLeft+220, ly+24, `class="tick-label" text-anchor="end"`, num.FormatMicro(maxScore)+" (log scale)")
	b.text(tlLeft+240, ly+9, `class="tick-label"`, fmt.Sprintf("cell: %s × %s window; hot at score ≥ %s; outline: episode, coloured by class",
		sectorKm(d), num.FormatDuration(pol.Window), num.FormatMicro(pol.HotScoreMicro)))
	b.WriteString("</g>\n</svg>")
	return b.String()
}

// labelWidth is the width in pixels a tick label takes at most (10 px
// type; digits and capitals are the widest).
func labelWidth(s string) float64 { return 6.2 * float64(utf8.RuneCountInString(s)) }

func sectorKm(d *Data) string { return num.Format(d.Line.SectorKm(), 3) + " km sector" }

type tick struct {
	t     int64
	label string
}

// timeTicks are round instants between start and end (µs): hours, days,
// Mondays, months or years, whichever gives a handful. When the first
// round instant lies half a step or more after the start, the start gets
// a tick too, labelled with the day, month or year it falls in, so that
// the axis says where it begins.
func timeTicks(start, end int64) []tick {
	from, to := num.Time(start), num.Time(end)
	span := to.Sub(from)
	var next func(time.Time) time.Time
	var first time.Time
	layout := "Jan 2"
	day := time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
	switch {
	case span <= 3*24*time.Hour:
		first = from.Truncate(6 * time.Hour)
		next = func(t time.Time) time.Time { return t.Add(6 * time.Hour) }
		layout = "Jan 2 15:04"
	case span <= 20*24*time.Hour:
		first = day
		next = func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
	case span <= 75*24*time.Hour:
		first = day.AddDate(0, 0, (8-int(day.Weekday()))%7) // a Monday
		next = func(t time.Time) time.Time { return t.AddDate(0, 0, 7) }
	case span <= 400*24*time.Hour:
		first = time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)
		next = func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }
		layout = "Jan 2006"
	case span <= 3*366*24*time.Hour:
		first = time.Date(from.Year(), from.Month()-(from.Month()-1)%3, 1, 0, 0, 0, 0, time.UTC)
		next = func(t time.Time) time.Time { return t.AddDate(0, 3, 0) }
		layout = "Jan 2006"
	default:
		step := max(1, int(niceStep(span.Hours()/24/365/8)))
		y := from.Year() - (from.Year()%step+step)%step // a multiple of the step
		first = time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
		next = func(t time.Time) time.Time { return t.AddDate(step, 0, 0) }
		layout = "2006"
	}
	var out []tick
	prev := first
	for t := first; !t.After(to) && len(out) < 40; prev, t = t, next(t) {
		if t.Before(from) {
			continue
		}
		if len(out) == 0 && t.After(from) && t.Sub(from)*2 >= next(prev).Sub(prev) {
			out = append(out, tick{start, from.Format(layout)})
		}
		out = append(out, tick{t.UnixMicro(), t.Format(layout)})
	}
	if len(out) == 0 {
		out = append(out, tick{start, from.Format(layout)})
	}
	return out
}

// period is a span of time for people: dates alone when both ends are
// midnights.
func period(from, to int64) string {
	return when(from) + " to " + when(to)
}

// when is an instant for people: the date alone at midnight UTC.
func when(us int64) string {
	s := num.FormatTime(us)
	if strings.HasSuffix(s, "T00:00:00Z") {
		return strings.TrimSuffix(s, "T00:00:00Z")
	}
	return strings.Replace(strings.TrimSuffix(s, "Z"), "T", " ", 1) + " UTC"
}
