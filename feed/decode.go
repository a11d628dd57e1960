package feed

import (
	"crypto/sha1"
	"encoding/hex"
	"github.com/linewatch/linewatch/internal/jsontext"
	inum "github.com/linewatch/linewatch/internal/num"
	"strconv"
	"sync"

	"github.com/linewatch/linewatch/detect"
	"github.com/paulmach/orb"
)

// Reject is the error of a record that linewatch does not accept (SPEC §2).
// Its Reason is the text written to the rejects file.
type Reject struct {
	Reason string
}

func (r *Reject) Error() string { return r.Reason }

func reject(reason string) error { return &Reject{Reason: reason} }

// span is the raw text of a value in a record: raw[a:b]. b == 0: absent.
type span struct {
	a, b int
	esc  bool // a string with escapes
}

func (s span) present() bool { return s.b > 0 }

// fields are the values of a record that Decode interprets. Where a key is
// repeated in an object, the last member wins, as in most JSON readers.
type fields struct {
	typ, id, geom, props span
	gtype, gcoords       span // of the geometry object
	// of the properties object
	time, side, kind, track, strength, confidence, precision, source, pid span
}

const (
	objTop = iota
	objGeometry
	objProperties
)

// Decoder decodes and validates sighting records (SPEC §2). It holds
// buffers that it reuses from record to record; one Decoder must not be used
// by two goroutines at once: give each worker its own. The zero value is
// ready to use.
type Decoder struct {
	// Borrow lets a decoded sighting's Coords and Props alias the
	// Decoder's buffer and the raw record instead of owning copies: they
	// are valid until the next Decode and while raw is unchanged. A batch
	// reader that keeps only what makes a violation saves two allocations
	// a record this way, and copies the few it keeps.
	Borrow bool
	// NoFingerprint leaves Sighting.Fingerprint zero, for a reader that
	// has no use for it: hashing the whole record is a few per cent of
	// decoding it.
	NoFingerprint bool

	f      fields
	raw    []byte
	key    []byte // a key with escapes, decoded
	strs   []byte // the strings of the sighting, before they become one string
	pts    []orb.Point
	hash   []byte // the canonical JSON a hash id is made of
	canon  canonicalizer
	intern map[string]string // sides and sources seen, to share their strings
	// recent holds strings of intern by a cheap hash of their text
	// (recentSlot), looked at before the map: a feed has few sides and
	// sources, and the map hashed the whole text of both in every record.
	recent [64]string
	hashed bool   // the last sighting decoded has a hash id
	shapes shapes // the layouts of the records read (parseShape)
}

// HashedID tells whether the sighting Decode made last has no id of its
// own, and so the hash id SPEC §9 makes of its content (its source
// included).
func (d *Decoder) HashedID() bool { return d.hashed }

// NewDecoder returns a Decoder.
func NewDecoder() *Decoder { return new(Decoder) }

var decoders = sync.Pool{New: func() any { return new(Decoder) }}

// Decode decodes one record with a pooled Decoder (see Decoder.Decode).
func Decode(raw []byte, s *detect.Sighting) error {
	d := decoders.Get().(*Decoder)
	err := d.Decode(raw, s)
	d.raw = nil
	decoders.Put(d)
	return err
}

// Decode decodes the GeoJSON Feature raw into s and validates it as SPEC §2
// and §9 say. A record that is not accepted gives a *Reject whose Reason
// says why; s is then zeroed or partly filled, and must not be used.
//
// Checks come in this order, so a record with several faults is rejected
// for the first: JSON, Feature, geometry, coordinates, time, kind,
// confidence, strength, precision_m, and last the types of side, track and
// source. JSON here is I-JSON (RFC 7493): besides the syntax of RFC 8259,
// invalid UTF-8, a lone surrogate escape (\ud800) or a number too large for
// a double (1e400), anywhere in the record, make it invalid JSON; NaN and
// Infinity are not JSON. A repeated key is no error: the last member wins.
//
// Unless Borrow is set, s does not keep raw: its strings, Coords and Props
// are its own, so raw may be reused as soon as Decode returns.
func (d *Decoder) Decode(raw []byte, s *detect.Sighting) error {
	*s = detect.Sighting{}
	d.raw, d.hashed = raw, false
	if !d.parseShaped(raw) {
		if err := d.parse(raw); err != nil {
			return reject("invalid JSON: " + err.Error())
		}
	}
	f := &d.f

	// Feature
	if f.typ.b == 0 || !d.isString(f.typ, "Feature") {
		return reject("not a Feature")
	}
	if f.props.present() && raw[f.props.a] != '{' && raw[f.props.a] != 'n' {
		return reject("properties must be an object or null, got " + d.clip(f.props))
	}
	idSpan, err := d.pickID()
	if err != nil {
		return err
	}

	// geometry and coordinates
	if err := d.geometry(s); err != nil {
		return err
	}

	// time
	switch {
	case !f.time.present():
		return reject("time is missing")
	case raw[f.time.a] == 'n':
		return reject("time is null")
	case raw[f.time.a] == '"':
		text := d.str(f.time)
		t, err := inum.ParseRFC3339(text, true)
		switch err {
		case inum.ErrTimeNoZone:
			return reject("time has no zone: " + clip(text))
		case inum.ErrTimeSyntax:
			return reject("time is not an RFC 3339 date-time: " + d.clip(f.time))
		case inum.ErrTimeRange:
			return reject("time out of range: " + d.clip(f.time))
		}
		s.Time = t
	case isNumStart(raw[f.time.a]):
		// The scanner has checked the number's syntax: the only error left
		// is its range.
		t, err := inum.ParseEpoch(raw[f.time.a:f.time.b])
		if err != nil {
			return reject("time out of range: " + d.clip(f.time))
		}
		s.Time = t
	default:
		return reject("time must be an RFC 3339 date-time or a number of epoch seconds, got " + d.clip(f.time))
	}
	if s.Time < detect.MinTime || s.Time > detect.MaxTime {
		return reject("time out of range: " + d.clip(f.time))
	}

	// kind
	if f.kind.present() && raw[f.kind.a] != 'n' {
		switch {
		case d.isString(f.kind, "ground"):
			s.Kind = detect.Ground
		case d.isString(f.kind, "fire"):
			s.Kind = detect.Fire
		default:
			return reject("kind must be ground or fire, got " + d.clip(f.kind))
		}
	}

	// confidence, strength, precision_m
	if s.Confidence, err = d.number(f.confidence, "confidence", 1); err != nil {
		return err
	}
	if !(s.Confidence > 0 && s.Confidence <= 1) {
		return reject("confidence must be in (0, 1], got " + d.clip(f.confidence))
	}
	if s.Strength, err = d.number(f.strength, "strength", 1); err != nil {
		return err
	}
	if s.Strength < 0 {
		return reject("strength must not be negative, got " + d.clip(f.strength))
	}
	if s.PrecisionM, err = d.number(f.precision, "precision_m", 0); err != nil {
		return err
	}
	if s.PrecisionM < 0 {
		return reject("precision_m must not be negative, got " + d.clip(f.precision))
	}
	s.Strength += 0 // -0 is 0
	s.PrecisionM += 0

	// side, track, source: a string, or a number as its JSON text.
	side, err := d.textProp(f.side, "side")
	if err != nil {
		return err
	}
	track, err := d.textProp(f.track, "track")
	if err != nil {
		return err
	}
	source, err := d.textProp(f.source, "source")
	if err != nil {
		return err
	}

	// The strings of the sighting share one allocation: the id, and the
	// track, side and source unless they were seen before.
	d.strs = d.strs[:0]
	if idSpan.present() {
		d.strs = d.appendText(d.strs, idSpan)
	} else {
		d.strs = d.appendHashID(d.strs, s, side, track, source)
		d.hashed = true
	}
	idEnd := len(d.strs)
	d.strs = d.appendText(d.strs, track)
	trackEnd := len(d.strs)
	sideStr, sideKnown := d.interned(side)
	if !sideKnown {
		d.strs = d.appendText(d.strs, side)
	}
	sideEnd := len(d.strs)
	sourceStr, sourceKnown := d.interned(source)
	if !sourceKnown {
		d.strs = d.appendText(d.strs, source)
	}
	all := string(d.strs)
	s.ID = all[:idEnd]
	s.Track = all[idEnd:trackEnd]
	if sideKnown {
		s.Side = sideStr
	} else {
		s.Side = all[trackEnd:sideEnd]
		d.remember(s.Side)
	}
	if sourceKnown {
		s.Source = sourceStr
	} else {
		s.Source = all[sideEnd:]
		d.remember(s.Source)
	}

	if f.props.present() && raw[f.props.a] == '{' {
		if d.Borrow {
			s.Props = raw[f.props.a:f.props.b:f.props.b]
		} else {
			s.Props = make([]byte, f.props.b-f.props.a)
			copy(s.Props, raw[f.props.a:f.props.b])
		}
	} else {
		s.Props = nil
	}
	if !d.NoFingerprint {
		s.Fingerprint = Fingerprint(raw)
	}
	return nil
}

// parse checks raw as JSON and finds the values of fields.
func (d *Decoder) parse(raw []byte) error {
	d.f = fields{}
	s := scanner{b: raw}
	s.ws()
	var err error
	if s.i < len(raw) && raw[s.i] == '{' {
		err = d.object(&s, objTop)
	} else {
		err = s.value(0)
	}
	if err != nil {
		return err
	}
	s.ws()
	if s.i != len(raw) {
		return s.unexpected("text after the JSON value")
	}
	return nil
}

// object checks the object at s.i and records the members that fields
// names.
func (d *Decoder) object(s *scanner, which int) error {
	b := s.b
	s.i++ // {
	s.ws()
	if s.i < len(b) && b[s.i] == '}' {
		s.i++
		return nil
	}
	depth := which + 1
	if which == objProperties {
		depth = 2
	}
	for {
		if s.i >= len(b) || b[s.i] != '"' {
			return s.unexpected("object (want a key)")
		}
		ks, ke, kesc, err := s.str()
		if err != nil {
			return err
		}
		s.ws()
		if s.i >= len(b) || b[s.i] != ':' {
			return s.unexpected("object (want ':' after a key)")
		}
		s.i++
		s.ws()
		key := b[ks:ke]
		if kesc {
			d.key = unescape(d.key[:0], key)
			key = d.key
		}
		sp, sub := d.member(which, key)
		if sp == nil {
			err = s.value(depth)
		} else {
			start, esc := s.i, false
			switch {
			case s.i >= len(b):
				err = s.end("object")
			case b[s.i] == '{' && sub >= 0:
				err = d.object(s, sub)
			case b[s.i] == '"':
				_, _, esc, err = s.str()
			default:
				err = s.value(depth)
			}
			*sp = span{start, s.i, esc}
		}
		if err != nil {
			return err
		}
		s.ws()
		if s.i >= len(b) {
			return s.end("object")
		}
		switch b[s.i] {
		case ',':
			s.i++
			s.ws()
		case '}':
			s.i++
			return nil
		default:
			return s.unexpected("object (want ',' or '}')")
		}
	}
}

// member returns the span that holds the value of the member key of an
// object (nil for a member Decode has no use for), and for geometry and
// properties which object they are. A repeated key wins over the earlier
// one, clearing what that one's object held.
func (d *Decoder) member(which int, key []byte) (sp *span, sub int) {
	f := &d.f
	switch which {
	case objTop:
		switch string(key) {
		case "type":
			return &f.typ, -1
		case "id":
			return &f.id, -1
		case "geometry":
			f.gtype, f.gcoords = span{}, span{}
			return &f.geom, objGeometry
		case "properties":
			f.time, f.side, f.kind, f.track, f.strength = span{}, span{}, span{}, span{}, span{}
			f.confidence, f.precision, f.source, f.pid = span{}, span{}, span{}, span{}
			return &f.props, objProperties
		}
	case objGeometry:
		switch string(key) {
		case "type":
			return &f.gtype, -1
		case "coordinates":
			return &f.gcoords, -1
		}
	case objProperties:
		switch string(key) {
		case "time":
			return &f.time, -1
		case "side":
			return &f.side, -1
		case "kind":
			return &f.kind, -1
		case "track":
			return &f.track, -1
		case "strength":
			return &f.strength, -1
		case "confidence":
			return &f.confidence, -1
		case "precision_m":
			return &f.precision, -1
		case "source":
			return &f.source, -1
		case "id":
			return &f.pid, -1
		}
	}
	return nil, -1
}

// str returns the content of the string value sp, escapes decoded. The
// result may share d's scratch space: use it before the next call.
func (d *Decoder) str(sp span) []byte {
	c := d.raw[sp.a+1 : sp.b-1]
	if !sp.esc {
		return c
	}
	d.key = unescape(d.key[:0], c)
	return d.key
}

// isString tells whether sp is the JSON string want.
func (d *Decoder) isString(sp span, want string) bool {
	return sp.present() && d.raw[sp.a] == '"' && string(d.str(sp)) == want
}

// clip returns the raw text of sp for a message.
func (d *Decoder) clip(sp span) string { return clip(d.raw[sp.a:sp.b]) }

func isNumStart(c byte) bool { return c == '-' || c >= '0' && c <= '9' }

// pickID returns the id of the record: Feature id, else properties.id; a
// span that is not present means none (null and "" are none).
func (d *Decoder) pickID() (span, error) {
	for k, sp := range [2]span{d.f.id, d.f.pid} {
		if !sp.present() {
			continue
		}
		switch c := d.raw[sp.a]; {
		case c == 'n':
		case c == '"':
			if sp.b-sp.a > 2 {
				return sp, nil
			}
		case isNumStart(c):
			return sp, nil
		default:
			name := "id"
			if k == 1 {
				name = "properties.id"
			}
			return span{}, reject(name + " must be a string or a number, got " + d.clip(sp))
		}
	}
	return span{}, nil
}

// number returns the value of an optional number.
func (d *Decoder) number(sp span, name string, def float64) (float64, error) {
	if !sp.present() || d.raw[sp.a] == 'n' {
		return def, nil
	}
	if !isNumStart(d.raw[sp.a]) {
		return 0, reject(name + " must be a number, got " + d.clip(sp))
	}
	v, ok := parseFloat(d.raw[sp.a:sp.b])
	if !ok { // the scanner has rejected it already
		return 0, reject(name + " is too large for a double: " + d.clip(sp))
	}
	return v, nil
}

// textProp checks an optional string (or number) property; it returns the span
// to take its text from, not present when absent, null or "".
func (d *Decoder) textProp(sp span, name string) (span, error) {
	if !sp.present() {
		return sp, nil
	}
	switch c := d.raw[sp.a]; {
	case c == 'n':
		return span{}, nil
	case c == '"':
		if sp.b-sp.a == 2 {
			return span{}, nil
		}
		return sp, nil
	case isNumStart(c):
		return sp, nil
	}
	return span{}, reject(name + " must be a string, got " + d.clip(sp))
}

// appendText appends the text of a string (escapes decoded) or the JSON text
// of a number.
func (d *Decoder) appendText(dst []byte, sp span) []byte {
	switch {
	case !sp.present():
		return dst
	case d.raw[sp.a] != '"':
		return append(dst, d.raw[sp.a:sp.b]...)
	case sp.esc:
		return unescape(dst, d.raw[sp.a+1:sp.b-1])
	default:
		return append(dst, d.raw[sp.a+1:sp.b-1]...)
	}
}

// interned returns the string already made for the text of sp, if any.
func (d *Decoder) interned(sp span) (string, bool) {
	if !sp.present() {
		return "", true
	}
	if d.raw[sp.a] != '"' || sp.esc {
		return "", false
	}
	b := d.raw[sp.a+1 : sp.b-1]
	k := recentSlot(b)
	if v := d.recent[k]; v == string(b) && len(b) > 0 {
		return v, true
	}
	v, ok := d.intern[string(b)]
	if ok {
		d.recent[k] = v
	}
	return v, ok
}

// recentSlot is where Decoder.recent keeps a string of text b: from its
// length and last two bytes, which tell "obs-07" from "obs-08" and "UA"
// from "RU".
func recentSlot(b []byte) int {
	n := len(b)
	if n < 2 {
		return n
	}
	return (n*7 + int(b[n-2])*13 + int(b[n-1])) & 63
}

func (d *Decoder) remember(v string) {
	if d.intern == nil {
		d.intern = make(map[string]string)
	}
	if len(d.intern) < 1024 {
		d.intern[v] = v
	}
}

// appendHashID appends the id of a record without one (SPEC §9): "h-" and
// the first 20 hex digits of the SHA-1 of the RFC 8785 JSON of
// [time in epoch seconds, geometry as given, side, track, kind, source].
func (d *Decoder) appendHashID(dst []byte, s *detect.Sighting, side, track, source span) []byte {
	h := append(d.hash[:0], '[')
	h = appendEpochSeconds(h, s.Time)
	h = append(h, ',')
	w := walker{b: d.raw, i: d.f.geom.a}
	h = d.canon.value(h, &w)
	for k, sp := range [4]span{side, track, {}, source} {
		h = append(h, ',')
		switch {
		case k == 2:
			h = append(h, '"')
			h = append(h, s.Kind.String()...)
			h = append(h, '"')
		case !sp.present():
			h = append(h, "null"...)
		default:
			n := len(h)
			h = d.appendText(h, sp)
			d.key = append(d.key[:0], h[n:]...)
			h = jsontext.AppendString(h[:n], d.key)
		}
	}
	h = append(h, ']')
	d.hash = h
	sum := sha1.Sum(h)
	dst = append(dst, 'h', '-')
	return hex.AppendEncode(dst, sum[:10])
}

// appendEpochSeconds appends t µs as a number of seconds in RFC 8785 form:
// the double nearest to it, written as ECMAScript writes numbers.
func appendEpochSeconds(dst []byte, t int64) []byte {
	var buf [32]byte
	b := buf[:0]
	if t < 0 {
		b = append(b, '-')
		t = -t
	}
	b = strconv.AppendInt(b, t/1e6, 10)
	if frac := t % 1e6; frac != 0 {
		b = append(b, '.')
		for div := int64(1e5); frac != 0; div /= 10 {
			b = append(b, byte('0'+frac/div))
			frac %= div
		}
	}
	if isES6(b) {
		return append(dst, b...)
	}
	f, _ := strconv.ParseFloat(string(b), 64)
	return appendES6(dst, f)
}

// geometry checks the geometry and its coordinates and fills s.Shape and
// s.Coords.
func (d *Decoder) geometry(s *detect.Sighting) error {
	f, raw := &d.f, d.raw
	if !f.geom.present() || raw[f.geom.a] == 'n' {
		return reject("geometry is missing")
	}
	if raw[f.geom.a] != '{' {
		return reject("geometry must be an object, got " + d.clip(f.geom))
	}
	switch {
	case !f.gtype.present():
		return reject("geometry type is missing")
	case d.isString(f.gtype, "Point"):
		s.Shape = detect.Point
	case d.isString(f.gtype, "LineString"):
		s.Shape = detect.LineString
	case d.isString(f.gtype, "MultiPoint"):
		s.Shape = detect.MultiPoint
	default:
		return reject("geometry type must be Point, LineString or MultiPoint, got " + d.clip(f.gtype))
	}
	if !f.gcoords.present() || raw[f.gcoords.a] == 'n' {
		return reject("geometry coordinates are missing")
	}
	if raw[f.gcoords.a] != '[' {
		if s.Shape == detect.Point {
			return reject("Point coordinates must be a position (an array of numbers), got " + d.clip(f.gcoords))
		}
		return reject(shapeName(s.Shape) + " coordinates must be an array of positions, got " + d.clip(f.gcoords))
	}
	d.pts = d.pts[:0]
	w := walker{b: raw, i: f.gcoords.a}
	var coordErr error
	if s.Shape == detect.Point {
		coordErr = d.position(&w, 1)
	} else {
		w.i++ // [
		w.ws()
		for n := 1; raw[w.i] != ']'; n++ {
			if raw[w.i] != '[' {
				return reject(shapeName(s.Shape) + " coordinates must be an array of positions, got " + clip(raw[f.gcoords.a:f.gcoords.b]))
			}
			if err := d.position(&w, n); err != nil && coordErr == nil {
				coordErr = err
			}
			w.ws()
			if raw[w.i] == ',' {
				w.i++
				w.ws()
			}
		}
		n := len(d.pts)
		if s.Shape == detect.LineString && n < 2 {
			return reject("LineString must have at least 2 positions, got " + strconv.Itoa(n))
		}
		if s.Shape == detect.MultiPoint && n < 1 {
			return reject("MultiPoint must have at least 1 position, got 0")
		}
	}
	if coordErr != nil {
		return coordErr
	}
	if d.Borrow {
		s.Coords = d.pts[:len(d.pts):len(d.pts)]
		return nil
	}
	s.Coords = make([]orb.Point, len(d.pts))
	copy(s.Coords, d.pts)
	return nil
}

// position reads the position (an array) at w.i, the n-th of the geometry,
// into d.pts, and moves past it.
func (d *Decoder) position(w *walker, n int) error {
	raw := d.raw
	w.i++ // [
	w.ws()
	var p orb.Point
	k := 0
	var err error
	for raw[w.i] != ']' {
		k++
		start := w.i
		// The common number is read as it is passed (fastFloat).
		x, exact := 0.0, false
		if end, f, ok := fastFloat(raw, w.i); ok {
			w.i, x, exact = end, f, true
		} else {
			w.skip()
		}
		v := raw[start:w.i]
		if err == nil {
			switch {
			case !isNumStart(v[0]):
				err = reject("coordinate " + strconv.Itoa(k) + " of position " + strconv.Itoa(n) + " is not a number: " + clip(v))
			case k <= 2:
				ok := true
				if !exact {
					x, ok = parseFloat(v)
				}
				lim := 180.0
				if k == 2 {
					lim = 90
				}
				if !ok || !(x >= -lim && x <= lim) {
					err = reject("coordinate " + strconv.Itoa(k) + " of position " + strconv.Itoa(n) + " is out of range: " + clip(v))
				}
				p[k-1] = x + 0 // -0 is 0
			}
		}
		w.ws()
		if raw[w.i] == ',' {
			w.i++
			w.ws()
		}
	}
	w.i++ // ]
	if err == nil && (k < 2 || k > 3) {
		err = reject("position " + strconv.Itoa(n) + " has " + strconv.Itoa(k) + " numbers, want 2 or 3")
	}
	d.pts = append(d.pts, p)
	return err
}

func shapeName(sh detect.Shape) string {
	switch sh {
	case detect.Point:
		return "Point"
	case detect.LineString:
		return "LineString"
	}
	return "MultiPoint"
}
