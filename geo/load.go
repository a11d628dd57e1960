package geo

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/paulmach/orb"
	"github.com/twpayne/go-geom"
	"github.com/twpayne/go-geom/xy/lineintersection"
	"github.com/twpayne/go-geom/xy/lineintersector"
)

// LoadFile reads and validates a line file (GeoJSON, optionally gzipped).
// Errors name the file, the stretch and the coordinate at fault.
func LoadFile(path string, opt Options) (*Line, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("line: %w", err)
	}
	defer f.Close()
	l, err := Load(f, opt)
	if err != nil {
		var ce *CRSError
		if errors.As(err, &ce) {
			ce.Path = path
		}
		return nil, fmt.Errorf("line %s: %w", path, err)
	}
	return l, nil
}

type rawObject struct {
	Type        string            `json:"type"`
	ID          json.RawMessage   `json:"id"`
	CRS         json.RawMessage   `json:"crs"`
	Features    []json.RawMessage `json:"features"`
	Geometry    json.RawMessage   `json:"geometry"`
	Properties  json.RawMessage   `json:"properties"`
	Coordinates json.RawMessage   `json:"coordinates"`
	Geometries  json.RawMessage   `json:"geometries"`
}

type rawProps struct {
	Left    *string  `json:"left"`
	Right   *string  `json:"right"`
	BufferM *float64 `json:"buffer_m"`
	Name    *string  `json:"name"`
}

// Load reads and validates a line: a GeoJSON FeatureCollection, Feature or
// bare geometry of LineStrings and MultiLineStrings. Of a FeatureCollection
// or Feature, opt.Select picks the features that make the line (see
// LoadFeatures).
func Load(r io.Reader, opt Options) (*Line, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		if data, err = io.ReadAll(zr); err != nil {
			return nil, err
		}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var top rawObject
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("not valid GeoJSON: %v", err)
	}
	if err := CheckCRS(top.CRS); err != nil {
		return nil, err
	}
	var stretches []Stretch
	switch top.Type {
	case "FeatureCollection":
		fs, err := collectionFeatures(top.Features)
		if err != nil {
			return nil, err
		}
		return LoadFeatures(fs, opt)
	case "Feature":
		if !opt.Select.IsZero() {
			return LoadFeatures([]Feature{featureOf(0, top)}, opt)
		}
		s, err := featureStretches(top, opt)
		if err != nil {
			return nil, err
		}
		stretches = s
	case "LineString", "MultiLineString":
		if !opt.Select.IsZero() {
			return nil, fmt.Errorf("%s picks features, but the line is a bare %s", opt.Select, top.Type)
		}
		s, err := geometryStretches(data, rawProps{}, opt)
		if err != nil {
			return nil, err
		}
		stretches = s
	case "":
		return nil, errors.New("not GeoJSON: no \"type\"")
	default:
		return nil, fmt.Errorf("a line must be LineStrings or MultiLineStrings, got %s", top.Type)
	}
	if err := validate(stretches); err != nil {
		return nil, err
	}
	return build(stretches, opt), nil
}

func featureStretches(f rawObject, opt Options) ([]Stretch, error) {
	var p rawProps
	if len(f.Properties) > 0 && string(f.Properties) != "null" {
		if err := json.Unmarshal(f.Properties, &p); err != nil {
			return nil, fmt.Errorf("properties: %v (left, right and name are strings, buffer_m a number)", err)
		}
	}
	if len(f.Geometry) == 0 || string(f.Geometry) == "null" {
		return nil, errors.New("no geometry")
	}
	return geometryStretches(f.Geometry, p, opt)
}

func geometryStretches(data []byte, p rawProps, opt Options) ([]Stretch, error) {
	var g rawObject
	if err := json.Unmarshal(data, &g); err != nil {
		return nil, fmt.Errorf("geometry: %v", err)
	}
	st := Stretch{Left: opt.Left, Right: opt.Right, BufferM: opt.BufferM}
	if p.Left != nil {
		st.Left = *p.Left
	}
	if p.Right != nil {
		st.Right = *p.Right
	}
	if p.Name != nil {
		st.Name = *p.Name
	}
	if p.BufferM != nil {
		st.BufferM = *p.BufferM
	}
	if st.Left == "" || st.Right == "" {
		return nil, errors.New("no left and right parties: give each feature left and right properties, or give --left and --right, which apply to a bare geometry and to every feature without its own")
	}
	if st.Left == st.Right {
		return nil, fmt.Errorf("left and right are the same party %q", st.Left)
	}
	if !(st.BufferM >= 0) || math.IsInf(st.BufferM, 0) {
		return nil, fmt.Errorf("buffer_m must be a number ≥ 0, got %v", st.BufferM)
	}
	var lines [][][]float64
	switch g.Type {
	case "LineString":
		var c [][]float64
		if err := json.Unmarshal(g.Coordinates, &c); err != nil {
			return nil, fmt.Errorf("LineString coordinates: %v", err)
		}
		lines = [][][]float64{c}
	case "MultiLineString":
		if err := json.Unmarshal(g.Coordinates, &lines); err != nil {
			return nil, fmt.Errorf("MultiLineString coordinates: %v", err)
		}
		if len(lines) == 0 {
			return nil, errors.New("empty MultiLineString")
		}
	default:
		return nil, fmt.Errorf("geometry %q is not a LineString or MultiLineString", g.Type)
	}
	out := make([]Stretch, 0, len(lines))
	for m, c := range lines {
		s := st
		s.Coords = make(orb.LineString, len(c))
		for i, pos := range c {
			if len(pos) < 2 || len(pos) > 3 {
				return nil, fmt.Errorf("member %d coordinate %d: a position has 2 or 3 numbers, got %d", m, i, len(pos))
			}
			s.Coords[i] = orb.Point{pos[0], pos[1]}
		}
		out = append(out, s)
	}
	return out, nil
}

// validate checks SPEC §1's rules and drops repeated consecutive vertices.
func validate(stretches []Stretch) error {
	parties := [2]string{stretches[0].Left, stretches[0].Right}
	for k := range stretches {
		st := &stretches[k]
		name := stretchName(k, st)
		if !(st.Left == parties[0] && st.Right == parties[1]) && !(st.Left == parties[1] && st.Right == parties[0]) {
			return fmt.Errorf("%s names parties %s/%s, but the line's are %s/%s", name, st.Left, st.Right, parties[0], parties[1])
		}
		dedup := st.Coords[:0:0]
		for i, p := range st.Coords {
			if math.IsNaN(p[0]) || math.IsInf(p[0], 0) || p[0] < -180 || p[0] > 180 {
				return fmt.Errorf("%s coordinate %d: longitude out of range: %v", name, i, p[0])
			}
			if math.IsNaN(p[1]) || math.IsInf(p[1], 0) || p[1] < -90 || p[1] > 90 {
				return fmt.Errorf("%s coordinate %d: latitude out of range: %v", name, i, p[1])
			}
			if len(dedup) == 0 || dedup[len(dedup)-1] != p {
				dedup = append(dedup, p)
			}
		}
		if len(dedup) < 2 {
			return fmt.Errorf("%s has fewer than 2 distinct points", name)
		}
		st.Coords = dedup
	}
	return checkCrossings(stretches)
}

func stretchName(k int, st *Stretch) string {
	if st.Name != "" {
		return fmt.Sprintf("stretch %d (%q)", k, st.Name)
	}
	return fmt.Sprintf("stretch %d", k)
}

type segRef struct{ k, i int }

// checkCrossings rejects stretches that cross or overlap each other or
// themselves; they may touch only end to end. The test is planar in
// lon/lat, which is exact about topology for segments of a few km.
func checkCrossings(stretches []Stretch) error {
	type box struct {
		min, max [2]float64
		ref      segRef
	}
	var boxes []box
	for k, st := range stretches {
		for i := 0; i+1 < len(st.Coords); i++ {
			a, b := st.Coords[i], st.Coords[i+1]
			boxes = append(boxes, box{
				min: [2]float64{math.Min(a[0], b[0]), math.Min(a[1], b[1])},
				max: [2]float64{math.Max(a[0], b[0]), math.Max(a[1], b[1])},
				ref: segRef{k, i},
			})
		}
	}
	var tr rtreeIndex
	for j, b := range boxes {
		tr.Insert(b.min, b.max, j)
	}
	strategy := lineintersector.RobustLineIntersector{}
	coord := func(r segRef, v int) geom.Coord {
		p := stretches[r.k].Coords[r.i+v]
		return geom.Coord{p[0], p[1]}
	}
	isEnd := func(k int, p orb.Point) bool {
		c := stretches[k].Coords
		return p == c[0] || p == c[len(c)-1]
	}
	for j, b := range boxes {
		var err error
		tr.Search(b.min, b.max, func(_, _ [2]float64, o int) bool {
			if o <= j {
				return true
			}
			r1, r2 := b.ref, boxes[o].ref
			res := lineintersector.LineIntersectsLine(strategy, coord(r1, 0), coord(r1, 1), coord(r2, 0), coord(r2, 1))
			if !res.HasIntersection() {
				return true
			}
			adjacent := r1.k == r2.k && r2.i == r1.i+1
			if res.Type() == lineintersection.PointIntersection {
				p := res.Intersection()[0]
				pt := orb.Point{p[0], p[1]}
				if adjacent && pt == stretches[r1.k].Coords[r2.i] {
					return true // consecutive segments share their vertex
				}
				if r1.k != r2.k && isEnd(r1.k, pt) && isEnd(r2.k, pt) {
					return true // stretches touching end to end
				}
				if r1.k == r2.k && len(stretches[r1.k].Coords) > 3 && r1.i == 0 && r2.i == len(stretches[r1.k].Coords)-2 &&
					pt == stretches[r1.k].Coords[0] && pt == stretches[r1.k].Coords[len(stretches[r1.k].Coords)-1] {
					return true // a closed stretch touches itself end to end
				}
				err = fmt.Errorf("%s segment %d–%d crosses %s segment %d–%d at %.6f, %.6f",
					stretchName(r1.k, &stretches[r1.k]), r1.i, r1.i+1, stretchName(r2.k, &stretches[r2.k]), r2.i, r2.i+1, p[0], p[1])
			} else {
				p := res.Intersection()[0]
				err = fmt.Errorf("%s segment %d–%d overlaps %s segment %d–%d near %.6f, %.6f",
					stretchName(r1.k, &stretches[r1.k]), r1.i, r1.i+1, stretchName(r2.k, &stretches[r2.k]), r2.i, r2.i+1, p[0], p[1])
			}
			return false
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Describe is a one-line account of the line, for logs and summaries.
func (l *Line) Describe() string {
	var names []string
	for k := range l.stretches {
		names = append(names, stretchName(k, &l.stretches[k]))
	}
	noun := "stretches"
	if len(l.stretches) == 1 {
		noun = "stretch"
	}
	return fmt.Sprintf("%.1f km in %d %s (%s), %d sectors, parties %s/%s",
		l.LengthKm(), len(l.stretches), noun, strings.Join(names, ", "), len(l.sectors), l.parties[0], l.parties[1])
}
