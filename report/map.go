package report

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/internal/num"
	"github.com/linewatch/linewatch/output"
	"github.com/paulmach/orb"
)

// Map size in pixels: the width is fixed, the height follows the line's
// shape within these bounds.
const (
	mapWidth     = 960.0
	mapMaxHeight = 760.0
	mapMinHeight = 360.0
	mapPad       = 48.0
)

// maxPoints is how many violation markers the map draws at most (isolated
// ones first); a bigger run is summed up in the timeline and the table.
const maxPoints = 20000

// noneColour is a sector where nothing was seen.
const noneColour = "#9aa5b1"

// projection is an equirectangular projection centred on the line's mean
// latitude: north is up and, at that latitude, a kilometre is as long
// across as it is up and down, which a scale bar needs. Longitudes are
// taken within 180° of the map's centre, so that a line around the
// antimeridian is drawn where it lies, one piece, with longitudes past
// 180 on its east.
type projection struct {
	lonMin, latMax float64
	lon0           float64 // the longitude at the map's centre
	k              float64 // cos(mean latitude)
	s              float64 // pixels per degree of latitude
	dx, dy         float64 // offsets that centre the drawing
	w, h           float64
}

func (p *projection) xy(lon, lat float64) [2]float64 {
	lon = unwrap(lon, p.lon0)
	return [2]float64{p.dx + (lon-p.lonMin)*p.k*p.s, p.dy + (p.latMax-lat)*p.s}
}

// pts projects a path: each longitude within 180° of the one before (the
// first within 180° of the centre), so that a path across the
// antimeridian goes on across it.
func (p *projection) pts(coords [][2]float64) [][2]float64 {
	out := make([][2]float64, len(coords))
	prev := p.lon0
	for i, c := range coords {
		lon := unwrap(c[0], prev)
		out[i] = p.xy(lon, c[1])
		prev = lon
	}
	return out
}

// unwrap is lon, or lon ± 360 (a multiple of 360), whichever lies within
// 180° of ref; lon itself, to the bit, when it does.
func unwrap(lon, ref float64) float64 {
	if d := lon - ref; d > 180 || d < -180 {
		return ref + math.Remainder(d, 360)
	}
	return lon
}

// newProjection fits the box to the map.
func newProjection(lonMin, lonMax, latMin, latMax float64) *projection {
	p := &projection{lonMin: lonMin, latMax: latMax, lon0: (lonMin + lonMax) / 2, k: math.Cos((latMin + latMax) / 2 * math.Pi / 180)}
	spanX := math.Max((lonMax-lonMin)*p.k, 1e-6)
	spanY := math.Max(latMax-latMin, 1e-6)
	inner := mapWidth - 2*mapPad
	p.s = inner / spanX
	p.w = mapWidth
	p.h = spanY*p.s + 2*mapPad
	if p.h > mapMaxHeight {
		p.s = (mapMaxHeight - 2*mapPad) / spanY
		p.h = mapMaxHeight
	}
	p.h = math.Max(p.h, mapMinHeight)
	p.dx = (p.w - spanX*p.s) / 2
	p.dy = (p.h - spanY*p.s) / 2
	return p
}

// drawMap draws the map: graticule, sectors coloured by the worst class
// seen, episodes, violations, party labels, scale bar and north arrow.
func drawMap(d *Data, v *view) string {
	line := d.Line
	lonMin, lonMax, latMin, latMax := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
	grow := func(lon, lat float64) {
		lonMin, lonMax = math.Min(lonMin, lon), math.Max(lonMax, lon)
		latMin, latMax = math.Min(latMin, lat), math.Max(latMax, lat)
	}
	// The line's longitudes unwrapped along it: across the antimeridian
	// they go on past 180 (or below -180).
	prev := math.NaN()
	for _, st := range line.Stretches() {
		for _, c := range st.Coords {
			lon := c[0]
			if !math.IsNaN(prev) {
				lon = unwrap(lon, prev)
			}
			grow(lon, c[1])
			prev = lon
		}
	}
	lon0 := (lonMin + lonMax) / 2
	vlon := func(x Violation) float64 { return unwrap(x.Lon, lon0) }
	// The violations near the line, and the bulk of those farther away,
	// are framed; a few far ones would squeeze the line into a corner,
	// so they are marked at the frame's edge instead.
	outside := map[int]bool{}
	cut := frameReach(d.Violations, vlon, lonMin, lonMax, latMin, latMax)
	for i, x := range d.Violations {
		if boxDistKm(vlon(x), x.Lat, lonMin, lonMax, latMin, latMax) > cut {
			outside[i] = true
		}
	}
	for i, x := range d.Violations {
		if !outside[i] {
			grow(vlon(x), x.Lat)
		}
	}
	// Room for the party labels beside the line.
	mLat := math.Max((latMax-latMin)*0.06, 0.05)
	mLon := math.Max((lonMax-lonMin)*0.06, 0.05/math.Cos(latMin*math.Pi/180))
	lonMin, lonMax, latMin, latMax = lonMin-mLon, lonMax+mLon, latMin-mLat, latMax+mLat
	p := newProjection(lonMin, lonMax, latMin, latMax)

	var b svg
	fmt.Fprintf(&b, `<svg id="map" viewBox="0 0 %s %s" width="%s" height="%s" role="img" aria-label="Map of the agreed line, its sectors, episodes and violations">`+"\n",
		f(p.w), f(p.h), f(p.w), f(p.h))
	fmt.Fprintf(&b, `<rect class="bg" x="0" y="0" width="%s" height="%s"/>`+"\n", f(p.w), f(p.h))
	drawGraticule(&b, p)

	// Sectors, coloured by the worst class seen in them.
	worst := map[string]detect.Class{}
	seen := map[string]bool{}
	eps := map[string][]string{}
	iso := map[string]int{}
	for _, e := range d.Episodes {
		c, _ := classOf(e.Class)
		for _, s := range e.Sectors {
			if !seen[s] || c > worst[s] {
				worst[s] = c
			}
			seen[s] = true
			eps[s] = append(eps[s], e.ID)
		}
	}
	for _, x := range d.Violations {
		if x.Episode == "" {
			iso[x.Sector]++
			seen[x.Sector] = true
		}
	}
	var linePts [][2]float64
	b.WriteString(`<g class="sectors">` + "\n")
	for _, s := range line.Sectors() {
		colour, class := noneColour, "none"
		if seen[s.ID] {
			colour, class = output.Style[worst[s.ID]].Color, worst[s.ID].String()
		}
		tip := fmt.Sprintf("sector %s, km %s–%s", s.ID, num.Format(s.KmFrom, 3), num.Format(s.KmTo, 3))
		if s.StretchName != "" {
			tip += " (" + s.StretchName + ")"
		}
		switch {
		case !seen[s.ID]:
			tip += "\nno violation"
		default:
			tip += "\nworst: " + strings.ReplaceAll(class, "_", " ")
			if n := len(eps[s.ID]); n > 0 {
				tip += fmt.Sprintf("\n%s: %s", plural(n, "episode"), strings.Join(eps[s.ID], ", "))
			}
			if n := iso[s.ID]; n > 0 {
				tip += fmt.Sprintf("\n%s", plural(n, "isolated violation"))
			}
		}
		pts := p.pts(orbCoords(line.Substring(s.Stretch, s.KmFrom, s.KmTo)))
		linePts = append(linePts, pts...)
		b.path(pathData(pts), attr("class", "sector "+class)+" "+attr("stroke", colour), tip)
	}
	b.WriteString("</g>\n")
	obstacles := linePts

	// Isolated violations, then the episodes over them, then the
	// episodes' violations: an episode stays in sight in a sea of
	// isolated incidents. Isolated ones are drawn first, so that a cap on
	// markers keeps them.
	drawn := 0
	points := func(inEpisodes bool) {
		fmt.Fprintf(&b, `<g class="violations %s">`+"\n", map[bool]string{false: "isolated", true: "evidence"}[inEpisodes])
		for i := range d.Violations {
			x := &d.Violations[i]
			if (x.Episode != "") != inEpisodes {
				continue
			}
			if outside[i] {
				continue
			}
			if drawn == maxPoints {
				v.PointsCut = true
				break
			}
			drawn++
			c, _ := classOf(x.Class)
			q := p.xy(x.Lon, x.Lat)
			r := "2.2"
			attrs := attr("class", "violation "+x.Class)
			if inEpisodes {
				r = "1.6"
				attrs += " " + attr("data-ep", x.Episode)
			}
			obstacles = append(obstacles, q)
			fmt.Fprintf(&b, `<circle cx="%s" cy="%s" r="%s" %s fill="%s">`, f(q[0]), f(q[1]), r, attrs, output.Style[c].Color)
			b.title(violationTip(x))
			b.WriteString("</circle>\n")
		}
		b.WriteString("</g>\n")
	}
	points(false)
	b.WriteString(`<g class="episodes">` + "\n")
	for i := range d.Episodes {
		e := &d.Episodes[i]
		if len(e.Coords) < 2 {
			continue
		}
		c, _ := classOf(e.Class)
		st := output.Style[c]
		b.path(pathData(p.pts(e.Coords)), attr("class", "episode "+e.Class)+" "+attr("data-ep", e.ID)+" "+
			attr("stroke", st.Color)+" "+attr("stroke-width", fmt.Sprint(st.Width+4)), episodeTip(e))
	}
	b.WriteString("</g>\n")
	points(true)
	v.PointsDrawn = drawn

	obstacles = append(obstacles, drawOutside(&b, p, d.Violations, outside)...)
	v.Outside = len(outside)
	obstacles = append(obstacles, drawSectorLabels(&b, p, line)...)
	drawParties(&b, p, line, obstacles)
	drawScaleBar(&b, p)
	drawNorthArrow(&b, p)
	b.WriteString("</svg>")
	return b.String()
}

// kmPerDegree is the length of a degree of latitude, near enough for
// framing a map.
const kmPerDegree = 111.2

// boxDistKm is roughly how far (lon, lat) lies from the box, in km.
func boxDistKm(lon, lat, lonMin, lonMax, latMin, latMax float64) float64 {
	k := math.Cos((latMin + latMax) / 2 * math.Pi / 180)
	dx := math.Max(0, math.Max(lonMin-lon, lon-lonMax)) * k
	dy := math.Max(0, math.Max(latMin-lat, lat-latMax))
	return math.Hypot(dx, dy) * kmPerDegree
}

// frameReach is how far from the line's box (in km) the map's frame
// reaches out for violations: an eighth of the line's extent (at least
// 25 km), or farther if that leaves out more than a tenth of them.
func frameReach(vs []Violation, lon func(Violation) float64, lonMin, lonMax, latMin, latMax float64) float64 {
	k := math.Cos((latMin + latMax) / 2 * math.Pi / 180)
	reach := math.Max(25, math.Hypot((lonMax-lonMin)*k, latMax-latMin)*kmPerDegree/8)
	if len(vs) == 0 {
		return reach
	}
	dist := make([]float64, len(vs))
	for i, x := range vs {
		dist[i] = boxDistKm(lon(x), x.Lat, lonMin, lonMax, latMin, latMax)
	}
	sort.Float64s(dist)
	return math.Max(reach, dist[(len(dist)-1)*9/10])
}

// drawOutside marks the violations outside the map's frame at its edge,
// in the direction in which they lie, one mark with their count for
// those that would share a place. It returns where the marks are.
func drawOutside(b *svg, p *projection, vs []Violation, outside map[int]bool) (marks [][2]float64) {
	if len(outside) == 0 {
		return nil
	}
	type mark struct {
		at, dir [2]float64
		n       int
		worst   detect.Class
		far     float64
		ids     []string
	}
	byPlace := map[[2]int]*mark{}
	var order [][2]int
	cx, cy := p.w/2, p.h/2
	hw, hh := p.w/2-16, p.h/2-16
	for i := range vs {
		if !outside[i] {
			continue
		}
		x := &vs[i]
		q := p.xy(x.Lon, x.Lat)
		vx, vy := q[0]-cx, q[1]-cy
		t := 1.0
		if vx != 0 {
			t = math.Min(t, hw/math.Abs(vx))
		}
		if vy != 0 {
			t = math.Min(t, hh/math.Abs(vy))
		}
		at := [2]float64{cx + vx*t, cy + vy*t}
		key := [2]int{int(math.Floor(at[0] / 40)), int(math.Floor(at[1] / 40))}
		m := byPlace[key]
		if m == nil {
			n := math.Hypot(vx, vy)
			m = &mark{at: at, dir: [2]float64{vx / n, vy / n}}
			byPlace[key] = m
			order = append(order, key)
		}
		c, _ := classOf(x.Class)
		if m.n == 0 || c > m.worst {
			m.worst = c
		}
		m.n++
		m.far = math.Max(m.far, geo.Distance([2]float64{x.Lon, x.Lat}, [2]float64{p.lonMin + (cx-p.dx)/(p.k*p.s), p.latMax - (cy-p.dy)/p.s})/1000)
		if len(m.ids) < 20 {
			m.ids = append(m.ids, x.ID)
		}
	}
	b.WriteString(`<g class="outside-marks">` + "\n")
	for _, key := range order {
		m := byPlace[key]
		u, n := m.dir, [2]float64{-m.dir[1], m.dir[0]}
		tip := [2]float64{m.at[0] + 7*u[0], m.at[1] + 7*u[1]}
		l := [2]float64{m.at[0] - 4*u[0] + 5*n[0], m.at[1] - 4*u[1] + 5*n[1]}
		r := [2]float64{m.at[0] - 4*u[0] - 5*n[0], m.at[1] - 4*u[1] - 5*n[1]}
		label := [2]float64{m.at[0] - 14*u[0], m.at[1] - 14*u[1] + 4}
		tipText := fmt.Sprintf("%s outside the map, up to %s km from its centre: %s", plural(m.n, "violation"),
			num.Format(m.far, 0), strings.Join(m.ids, ", "))
		if m.n > len(m.ids) {
			tipText += ", …"
		}
		fmt.Fprintf(b, `<g class="outside" data-x="%s" data-y="%s">`, f(m.at[0]), f(m.at[1]))
		b.title(tipText)
		fmt.Fprintf(b, `<path d="M%s,%sL%s,%sL%s,%sZ" fill="%s"/>`, f(tip[0]), f(tip[1]), f(l[0]), f(l[1]), f(r[0]), f(r[1]), output.Style[m.worst].Color)
		b.text(label[0], label[1], `class="outside-count" text-anchor="middle"`, fmt.Sprint(m.n))
		b.WriteString("</g>\n")
		marks = append(marks, m.at, label)
	}
	b.WriteString("</g>\n")
	return marks
}

func orbCoords(ls orb.LineString) [][2]float64 {
	out := make([][2]float64, len(ls))
	for i, c := range ls {
		out[i] = c
	}
	return out
}

// drawGraticule draws meridians and parallels at a round step across the
// whole map, labelled at the edges.
func drawGraticule(b *svg, p *projection) {
	lonMin, lonMax := p.lonMin-p.dx/(p.k*p.s), p.lonMin+(p.w-p.dx)/(p.k*p.s)
	latMax, latMin := p.latMax+p.dy/p.s, p.latMax-(p.h-p.dy)/p.s
	step := niceStep(math.Max(lonMax-lonMin, latMax-latMin) / 6)
	b.WriteString(`<g class="graticule">` + "\n")
	for lon := math.Ceil(lonMin/step) * step; lon <= lonMax; lon += step {
		if math.Abs(lon-p.lon0) > 180 {
			continue // a map wider than the world (a ring around a pole) shows each meridian once
		}
		a, c := p.xy(lon, latMax), p.xy(lon, latMin)
		fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s"/>`, f(a[0]), f(a[1]), f(c[0]), f(c[1]))
		b.text(a[0]+3, 12, `class="grat-label"`, degrees(unwrap(lon, 0), "E", "W"))
	}
	for lat := math.Ceil(latMin/step) * step; lat <= latMax; lat += step {
		a, c := p.xy(lonMin, lat), p.xy(lonMax, lat)
		fmt.Fprintf(b, `<line x1="%s" y1="%s" x2="%s" y2="%s"/>`, f(a[0]), f(a[1]), f(c[0]), f(c[1]))
		b.text(3, a[1]-3, `class="grat-label"`, degrees(lat, "N", "S"))
	}
	b.WriteString("</g>\n")
}

func degrees(x float64, pos, neg string) string {
	h := pos
	if x < 0 {
		h, x = neg, -x
	}
	return num.Format(x, 4) + "°" + h
}

// drawSectorLabels names every few sectors at their start, on the left of
// the line, and returns where the labels are.
func drawSectorLabels(b *svg, p *projection, line *geo.Line) (labels [][2]float64) {
	secs := line.Sectors()
	every := everyNth(float64(len(secs)), 12)
	b.WriteString(`<g class="sector-labels">` + "\n")
	offset := p.kmPerPx() * 1000 * 9 // 9 px
	for _, s := range secs {
		if s.Index%every != 0 {
			continue
		}
		at, azi := line.PointAt(s.KmFrom + 1e-9)
		q := p.xy(at[0], at[1])
		fmt.Fprintf(b, `<circle class="tick" cx="%s" cy="%s" r="2"/>`, f(q[0]), f(q[1]))
		l := geo.Destination([2]float64(at), azi-90, offset)
		lq := p.xy(l[0], l[1])
		b.text(lq[0], lq[1]+3, `class="sector-label" text-anchor="middle"`, s.ID)
		labels = append(labels, lq, [2]float64{lq[0] - 10, lq[1]}, [2]float64{lq[0] + 10, lq[1]})
	}
	b.WriteString("</g>\n")
	return labels
}

// drawParties writes each party's name on its side of each stretch, once
// on a short stretch and once in each half of a long one, where the names
// cover the fewest of the line, the markers and the sector labels.
func drawParties(b *svg, p *projection, line *geo.Line, obstacles [][2]float64) {
	total := line.LengthKm()
	offset := p.kmPerPx() * 1000 * 34 // 34 px from the line
	// cost of a label centred at q: what it would hide, and leaving the map.
	cost := func(q [2]float64) float64 {
		c := 0.0
		if q[0] < 24 || q[0] > p.w-24 || q[1] < 24 || q[1] > p.h-30 {
			c += 1000
		}
		for _, o := range obstacles {
			dx, dy := (o[0]-q[0])/22, (o[1]-q[1])/13
			if d := dx*dx + dy*dy; d < 1 {
				c += 1 - d
			}
		}
		return c
	}
	type label struct {
		xy    [2]float64
		party string
	}
	b.WriteString(`<g class="parties">` + "\n")
	for _, st := range line.Stretches() {
		ranges := [][2]float64{{0.1, 0.9}}
		if st.KmTo-st.KmFrom > total/3 {
			ranges = [][2]float64{{0.08, 0.48}, {0.52, 0.92}}
		}
		for _, r := range ranges {
			var best []label
			bestCost := math.Inf(1)
			for u := r[0]; u <= r[1]+1e-9; u += (r[1] - r[0]) / 16 {
				pt, azi := line.PointAt(st.KmFrom + (st.KmTo-st.KmFrom)*u)
				var ls []label
				c := 0.0
				for _, side := range []struct {
					party string
					turn  float64
				}{{st.Left, -90}, {st.Right, 90}} {
					q := geo.Destination([2]float64(pt), azi+side.turn, offset)
					xy := p.xy(q[0], q[1])
					ls = append(ls, label{xy, side.party})
					c += cost(xy)
				}
				if c < bestCost-1e-9 {
					best, bestCost = ls, c
				}
			}
			for _, l := range best {
				b.text(l.xy[0], l.xy[1]+5, `class="party" text-anchor="middle"`, l.party)
				obstacles = append(obstacles, l.xy)
			}
		}
	}
	b.WriteString("</g>\n")
}

// kmPerPx is the ground distance of one horizontal pixel at the map's
// mean latitude.
func (p *projection) kmPerPx() float64 {
	lat := math.Acos(p.k) * 180 / math.Pi
	oneDeg := geo.Distance([2]float64{0, lat}, [2]float64{1, lat}) / 1000 // km in a degree of longitude
	return oneDeg / (p.k * p.s)
}

// drawScaleBar draws a bar of a round number of kilometres, about a fifth
// of the map wide, bottom left.
func drawScaleBar(b *svg, p *projection) {
	kmpp := p.kmPerPx()
	km := niceStep(p.w / 5 * kmpp)
	if km*1.0/kmpp > p.w/4 {
		km /= 2
	}
	px := km / kmpp
	x0, y0 := 20.0, p.h-22
	fmt.Fprintf(b, `<g class="scalebar"><rect x="%s" y="%s" width="%s" height="6" class="bar-a"/>`, f(x0), f(y0), f(px/2))
	fmt.Fprintf(b, `<rect x="%s" y="%s" width="%s" height="6" class="bar-b"/>`, f(x0+px/2), f(y0), f(px/2))
	b.text(x0, y0-4, `class="scale-label"`, "0")
	b.text(x0+px, y0-4, `class="scale-label" text-anchor="end"`, num.Format(km, 3)+" km")
	b.WriteString("</g>\n")
}

// drawNorthArrow draws an arrow pointing north (up: the projection keeps
// meridians vertical), top right.
func drawNorthArrow(b *svg, p *projection) {
	x, y := p.w-30, 28.0
	fmt.Fprintf(b, `<g class="north" aria-label="north"><path d="M%s,%sL%s,%sL%s,%sL%s,%sZ"/>`,
		f(x), f(y), f(x+8), f(y+24), f(x), f(y+18), f(x-8), f(y+24))
	b.text(x, y-4, `text-anchor="middle"`, "N")
	b.WriteString("</g>\n")
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
