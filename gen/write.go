package gen

import (
	"bufio"
	"compress/gzip"
	"io"
	"strconv"

	"github.com/linewatch/linewatch/internal/num"
)

// Variants of a written record.
const (
	vNormal uint8 = iota
	vDupIdentical
	vDupConflicting
	vBad
)

// Ways a bad record is bad. Each is rejected by a reader that follows
// SPEC §2; the names are the truth's keys.
const (
	badTruncated    uint8 = iota // invalid JSON: the record cut short
	badNaN                       // invalid JSON: a NaN coordinate
	badMissingTime               // no time
	badZonelessTime              // a time without zone
	badTimeBool                  // a time that is a boolean
	badLatRange                  // a latitude beyond 90
	badUnknownKind               // kind "armour"
	badConfidence                // confidence 1.5
	badStrength                  // strength −3
	badNotFeature                // a bare geometry
	badNoGeometry                // geometry null
	badShortLine                 // a LineString of one position
	numBad
)

var badNames = [numBad]string{
	"invalid_json", "nan_coordinate", "missing_time", "zoneless_time", "time_not_a_string",
	"latitude_out_of_range", "unknown_kind", "confidence_out_of_range", "negative_strength",
	"not_a_feature", "no_geometry", "short_linestring",
}

// item is a record as it is written: which variant, and its id.
type item struct {
	r       rec
	id      int
	variant uint8
	arg     uint8 // vBad: how; vDupConflicting: its revision number less one
}

// recordWriter writes records, adding the duplicates and bad records, in time
// order or (Shuffle) all at once in random order at the end.
type recordWriter struct {
	g      *generator
	dst    io.Writer
	gz     *gzip.Writer
	w      *bufio.Writer
	format Format
	buf    []byte
	first  bool
	nextID int
	items  []item // Shuffle: everything, written by finish
	pBad   float64
	pDup   float64
	counts recordCounts
}

// recordCounts are counted as records are emitted, so they do not depend
// on the order they are written in.
type recordCounts struct {
	total, good                   int
	background, incidents, events int
	ground, fire                  int
	tracked, sidelessFire         int
	imprecise, unattributed       int
	dupIdentical, dupConflicting  int
	bad                           [numBad]int
	byEvent                       map[int16]int
}

func newRecordWriter(g *generator, w io.Writer) *recordWriter {
	o := &recordWriter{g: g, dst: w, format: g.sc.Format, first: true, nextID: 1}
	if g.sc.Gzip {
		o.gz, _ = gzip.NewWriterLevel(w, gzip.BestSpeed)
		w = o.gz
	}
	o.w = bufio.NewWriterSize(w, 1<<20)
	good := 1 - g.sc.Bad - g.sc.Duplicates
	o.pBad, o.pDup = g.sc.Bad/good, g.sc.Duplicates/good
	o.counts.byEvent = map[int16]int{}
	if o.format == GeoJSON {
		o.w.WriteString("{\"type\":\"FeatureCollection\",\"features\":[\n")
	}
	return o
}

// day emits a day's records, in the order given, with their duplicates
// and bad records.
func (o *recordWriter) day(d int, recs []rec) error {
	r := o.g.rng(streamNoise, d)
	for i := range recs {
		rc := &recs[i]
		id := o.nextID
		o.nextID++
		o.emit(item{r: *rc, id: id})
		if o.pDup > 0 && r.Float64() < o.pDup {
			if r.Float64() < o.g.sc.Conflicting {
				o.emit(item{r: *rc, id: id, variant: vDupConflicting, arg: uint8(1 + r.IntN(nSources-1))})
			} else {
				o.emit(item{r: *rc, id: id, variant: vDupIdentical})
			}
		}
		if o.pBad > 0 && r.Float64() < o.pBad {
			how := uint8(r.IntN(int(numBad)))
			if o.format == GeoJSON && how <= badNaN {
				// Invalid JSON inside a FeatureCollection would end the
				// file for a reader: only well-formed faults there.
				how = badMissingTime + uint8(r.IntN(int(numBad-badMissingTime)))
			}
			bid := id // a rejected record does not claim its id
			if r.IntN(2) == 0 {
				bid = o.nextID
				o.nextID++
			}
			o.emit(item{r: *rc, id: bid, variant: vBad, arg: how})
		}
	}
	if o.items != nil {
		return nil
	}
	if err := o.w.Flush(); err != nil {
		return &WriteError{err}
	}
	return nil
}

func (o *recordWriter) emit(it item) {
	c := &o.counts
	c.total++
	switch it.variant {
	case vNormal:
		c.good++
		r := &it.r
		switch r.origin {
		case fromBackground:
			c.background++
		case fromIncident:
			c.incidents++
		default:
			c.events++
			c.byEvent[r.event]++
		}
		if r.kind == kindFire {
			c.fire++
			if r.side < 0 {
				c.sidelessFire++
			}
		} else {
			c.ground++
			if r.side < 0 {
				c.unattributed++
			}
		}
		if r.track != 0 {
			c.tracked++
		}
		if r.prec >= 500 {
			c.imprecise++
		}
	case vDupIdentical:
		c.dupIdentical++
	case vDupConflicting:
		c.dupConflicting++
	case vBad:
		c.bad[it.arg]++
	}
	if o.g.sc.Shuffle {
		o.items = append(o.items, it)
		return
	}
	o.write(&it)
}

func (o *recordWriter) write(it *item) {
	b := o.buf[:0]
	if o.format == GeoJSON && !o.first {
		b = append(b, ",\n"...)
	}
	o.first = false
	b = o.appendFeature(b, it)
	if o.format == GeoJSONSeq {
		b = append(b, '\n')
	}
	o.w.Write(b)
	o.buf = b
}

func (o *recordWriter) finish() error {
	if o.g.sc.Shuffle {
		r := o.g.rng(streamShuffle, 0)
		r.Shuffle(len(o.items), func(i, j int) { o.items[i], o.items[j] = o.items[j], o.items[i] })
		for i := range o.items {
			o.write(&o.items[i])
		}
		o.items = nil
	}
	if o.format == GeoJSON {
		if !o.first {
			o.w.WriteByte('\n')
		}
		o.w.WriteString("]}\n")
	}
	err := o.w.Flush()
	if o.gz != nil && err == nil {
		err = o.gz.Close()
	}
	if err != nil {
		return &WriteError{err}
	}
	return nil
}

// appendFeature writes the record as a GeoJSON Feature, with append-style
// formatting: coordinates with 6 decimals, times in RFC 3339 UTC.
func (o *recordWriter) appendFeature(b []byte, it *item) []byte {
	r := &it.r
	how := uint8(255)
	if it.variant == vBad {
		how = it.arg
	}
	if how == badNotFeature {
		return o.appendGeometry(b, r, how)
	}
	start := len(b)
	b = append(b, `{"type":"Feature","id":"s`...)
	b = appendPad6(b, it.id)
	b = append(b, `","geometry":`...)
	if how == badNoGeometry {
		b = append(b, "null"...)
	} else {
		b = o.appendGeometry(b, r, how)
	}
	b = append(b, `,"properties":{`...)
	switch how {
	case badMissingTime:
	case badTimeBool:
		b = append(b, `"time":true,`...)
	default:
		b = append(b, `"time":"`...)
		b = num.AppendTime(b, r.t)
		if how == badZonelessTime {
			b = b[:len(b)-1] // the Z
		}
		b = append(b, `",`...)
	}
	if r.side >= 0 {
		b = append(b, `"side":"`...)
		b = append(b, o.g.line.Parties()[r.side]...)
		b = append(b, `",`...)
	}
	switch {
	case how == badUnknownKind:
		b = append(b, `"kind":"armour"`...)
	case r.kind == kindFire:
		b = append(b, `"kind":"fire"`...)
	default:
		b = append(b, `"kind":"ground"`...)
	}
	if r.track != 0 {
		b = append(b, `,"track":"`...)
		b = append(b, o.g.tracks[r.track-1]...)
		b = append(b, '"')
	}
	b = append(b, `,"strength":`...)
	if how == badStrength {
		b = append(b, "-3"...)
	} else {
		b = strconv.AppendInt(b, int64(r.strength), 10)
	}
	b = append(b, `,"confidence":`...)
	if how == badConfidence {
		b = append(b, "1.5"...)
	} else {
		b = appendHundredths(b, r.conf)
	}
	b = append(b, `,"precision_m":`...)
	b = strconv.AppendInt(b, int64(r.prec), 10)
	b = append(b, `,"source":"`...)
	b = append(b, o.g.sources[r.source]...)
	b = append(b, '"')
	if it.variant == vDupConflicting {
		// The same observer's revised report of the sighting: the same id
		// and source (so a duplicate, SPEC §2) with other content, which
		// is carried, not judged.
		b = append(b, `,"revision":`...)
		b = strconv.AppendInt(b, int64(it.arg)+1, 10)
	}
	b = append(b, `}}`...)
	if how == badTruncated {
		b = b[:start+(len(b)-start)/2]
	}
	return b
}

var shapeNames = [...]string{shapePoint: "Point", shapeLine: "LineString", shapeMulti: "MultiPoint"}

func (o *recordWriter) appendGeometry(b []byte, r *rec, how uint8) []byte {
	n := int(r.n)
	shape := r.shape
	if how == badShortLine {
		shape, n = shapeLine, 1
	}
	b = append(b, `{"type":"`...)
	b = append(b, shapeNames[shape]...)
	b = append(b, `","coordinates":`...)
	if shape != shapePoint {
		b = append(b, '[')
	}
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		if how == badNaN && i == 0 {
			b = append(b, "NaN"...)
		} else {
			b = strconv.AppendFloat(b, r.coords[i][0], 'f', 6, 64)
		}
		b = append(b, ',')
		if how == badLatRange && i == 0 {
			b = append(b, "91.5"...)
		} else {
			b = strconv.AppendFloat(b, r.coords[i][1], 'f', 6, 64)
		}
		b = append(b, ']')
	}
	if shape != shapePoint {
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendHundredths writes c/100 in its shortest form: 1, 0.8, 0.83.
func appendHundredths(b []byte, c uint8) []byte {
	if c >= 100 {
		return append(b, '1')
	}
	b = append(b, '0', '.', '0'+c/10)
	if c%10 != 0 {
		b = append(b, '0'+c%10)
	}
	return b
}
