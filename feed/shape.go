package feed

import "unsafe"

// Shapes: the layouts of the records parseFast read, each its text with
// the values cut out (the keys, the punctuation and the white space
// between them) and what stands in each gap. A feed's records mostly
// share a few layouts — the same members in the same order, written by the
// same program — so a record is read by comparing its text with a
// layout's, piece by piece, and reading only its values, with the
// scanners parseFast reads them with. It saves the look at every key (its
// scan, its lookup among the members Decode wants) and at the white space
// around it: an eighth of decoding a record of the common layout.
//
// The layouts share their common beginnings, as a tree of steps: a path
// from a root to a gapEnd is one record's layout, step for step. What
// parseShape accepts, parseFast accepts alike and with the same spans:
// every byte outside the values is that record's, and so is every
// decision parseFast takes on such bytes; each value is read by the
// scanner parseFast would use at that place (a test holds them to it).
type shapes struct {
	steps []shapeStep
	roots []int32 // the first steps
	// tries and misses count the records of the current round, which
	// decides whether shapes are worth trying (shapeRound).
	tries, misses int
	off           int // records still to read without trying shapes
}

// shapeStep is a piece of text that must come next, then a gap.
type shapeStep struct {
	text  string
	gap   uint8
	field int8 // the index in fields of the span the gap's value sets, or -1
	// noObject: the gap, where the learned record has some other value,
	// is a member whose object Decode reads; an object there is not read
	// alike.
	noObject bool
	depth    int     // the nesting a value gap is read at (fastValue)
	next     []int32 // the steps that may follow
}

// What a gap holds.
const (
	gapString uint8 = iota // a string (fastStr)
	gapValue               // any value (fastValue)
	gapOpen                // the start of an object whose members fields name
	gapClose               // the end of that object: its span is set
	gapEnd                 // nothing: the record ends here (white space aside)
)

// numFields is the number of spans in fields; fieldsArray views fields as
// an array of them, so that a step names its span by index.
const numFields = int(unsafe.Sizeof(fields{}) / unsafe.Sizeof(span{}))

type fieldsArray = [numFields]span

// fields must be spans and nothing else for the view to hold.
var _ = [1]struct{}{}[unsafe.Sizeof(fields{})-unsafe.Sizeof(fieldsArray{})]

func (d *Decoder) fieldIndex(sp *span) int8 {
	if sp == nil {
		return -1
	}
	return int8((uintptr(unsafe.Pointer(sp)) - uintptr(unsafe.Pointer(&d.f))) / unsafe.Sizeof(span{}))
}

const (
	// maxShapeSteps bounds the steps of all layouts learned: a feed whose
	// records each have a layout of their own stops being learned from.
	maxShapeSteps = 256
	// A round is shapeRound records; when more than a quarter of them
	// missed every layout, the next shapeRest records are read by
	// parseFast alone, and the layouts are then learned anew.
	shapeRound = 256
	shapeRest  = 8192
)

// parseShaped reads b as one of the Decoder's layouts says, as parseFast
// would, or else with parseFast, learning its layout; it returns false
// when neither could read it.
func (d *Decoder) parseShaped(b []byte) bool {
	sh := &d.shapes
	if sh.off > 0 {
		sh.off--
		return d.parseFast(b)
	}
	if d.parseShape(b) {
		sh.tries++
	} else {
		if !d.parseFast(b) {
			return false
		}
		sh.tries++
		sh.misses++
		d.learnShape(b)
	}
	if sh.tries == shapeRound {
		if sh.misses > shapeRound/4 {
			*sh = shapes{steps: sh.steps[:0], roots: sh.roots[:0], off: shapeRest}
		}
		sh.tries, sh.misses = 0, 0
	}
	return true
}

// parseShape reads b as one of the Decoder's layouts says, as parseFast
// would; it returns false, having found nothing reliable, when b follows
// none.
func (d *Decoder) parseShape(b []byte) bool {
	d.f = fields{}
	f := (*fieldsArray)(unsafe.Pointer(&d.f))
	var open [numFields]int
	i := 0
	next := d.shapes.roots
	for {
		// The step whose text comes next, and whose gap can hold what
		// follows it: layouts may differ in a gap alone (null where
		// another has an object).
		var st *shapeStep
		for _, k := range next {
			c := &d.shapes.steps[k]
			if len(b)-i >= len(c.text) && string(b[i:i+len(c.text)]) == c.text && c.fits(b, i+len(c.text)) {
				st = c
				break
			}
		}
		if st == nil {
			return false
		}
		i += len(st.text)
		next = st.next
		start := i
		var ok bool
		switch st.gap {
		case gapString:
			if i, ok = fastStr(b, i); !ok {
				return false
			}
		case gapValue:
			if i, ok = fastValue(b, i, st.depth); !ok {
				return false
			}
		case gapOpen:
			open[st.field] = i
			continue
		case gapClose:
			start = open[st.field]
		case gapEnd:
			return fastWS(b, i) == len(b)
		}
		if st.field >= 0 {
			f[st.field] = span{start, i, false}
		}
	}
}

// fits tells whether b[i] can begin what the step's gap holds.
func (st *shapeStep) fits(b []byte, i int) bool {
	switch st.gap {
	case gapString:
		return i < len(b) && b[i] == '"'
	case gapOpen:
		return i < len(b) && b[i] == '{'
	case gapValue:
		return i < len(b) && !(st.noObject && b[i] == '{')
	}
	return true
}

// learnShape adds the layout of b, a record parseFast has just read (d.f
// its spans, which it leaves as they are), to the Decoder's. A record that
// repeats a member Decode wants is not learned from: parseFast clears what
// an earlier one set, which steps do not.
func (d *Decoder) learnShape(b []byte) {
	saved := d.f // member clears spans as it finds objects
	defer func() { d.f = saved }()
	l := shapeLearner{d: d, b: b}
	i, ok := l.object(fastWS(b, 0), objTop, -1)
	if !ok {
		return
	}
	l.step(i, gapEnd, -1, 0, false)
	sh := &d.shapes
	if len(sh.steps)+len(l.steps) > maxShapeSteps {
		return
	}
	// Follow the tree as far as it has the layout's steps, then graft
	// the rest on.
	parent := -1 // the roots
	children := func() *[]int32 {
		if parent < 0 {
			return &sh.roots
		}
		return &sh.steps[parent].next
	}
	k := 0
	for ; k < len(l.steps); k++ {
		found := -1
		for _, n := range *children() {
			if sameStep(&sh.steps[n], &l.steps[k]) {
				found = int(n)
				break
			}
		}
		if found < 0 {
			break
		}
		parent = found
	}
	for ; k < len(l.steps); k++ {
		n := int32(len(sh.steps))
		sh.steps = append(sh.steps, l.steps[k])
		c := children()
		*c = append(*c, n)
		parent = int(n)
	}
}

func sameStep(a, b *shapeStep) bool {
	return a.text == b.text && a.gap == b.gap && a.field == b.field && a.noObject == b.noObject && a.depth == b.depth
}

type shapeLearner struct {
	d     *Decoder
	b     []byte
	from  int // where the text of the next step starts
	seen  [numFields]bool
	steps []shapeStep
}

// step ends the text of a step at i, where its gap is.
func (l *shapeLearner) step(i int, gap uint8, field int8, depth int, noObject bool) {
	l.steps = append(l.steps, shapeStep{text: string(l.b[l.from:i]), gap: gap, field: field,
		depth: depth, noObject: noObject})
	l.from = i
}

// object walks the object at b[i] as fastObject does, making the steps of
// its text and values, and returns the index just past it. The record is
// valid JSON (parseFast read it).
func (l *shapeLearner) object(i, which int, field int8) (int, bool) {
	b := l.b
	if field >= 0 {
		l.step(i, gapOpen, field, 0, false)
	}
	depth := which + 1
	if which == objProperties {
		depth = 2
	}
	i = fastWS(b, i+1)
	for b[i] != '}' {
		ke, _ := fastStr(b, i)
		sp, sub := l.d.member(which, b[i+1:ke-1])
		fi := l.d.fieldIndex(sp)
		if fi >= 0 {
			if l.seen[fi] {
				return 0, false
			}
			l.seen[fi] = true
		}
		i = fastWS(b, fastWS(b, ke)+1) // past ':'
		var ok bool
		switch c := b[i]; {
		case c == '{' && sub >= 0:
			i, ok = l.object(i, sub, fi)
		case c == '"':
			l.step(i, gapString, fi, 0, false)
			i, ok = fastStr(b, i)
		default:
			// A value other than an object, where Decode would read an
			// object's members: an object in its place would not be
			// read alike.
			l.step(i, gapValue, fi, depth, sub >= 0)
			i, ok = fastValue(b, i, depth)
		}
		if !ok {
			return 0, false
		}
		l.from = i // the value is no part of the text
		i = fastWS(b, i)
		if b[i] == ',' {
			i = fastWS(b, i+1)
		}
	}
	i++
	if field >= 0 {
		l.step(i, gapClose, field, 0, false)
	}
	return i, true
}
