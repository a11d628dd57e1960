package detect

import (
	"cmp"
	"encoding/binary"
	"slices"
	"sync"

	"github.com/paulmach/orb"
)

// TrackSet holds the track points of a batch run until every record is
// in, packed: a point takes about 56 bytes and no pointer, where a
// *TrackPoint with its strings and the slice holding it takes about 170
// and keeps the collector busy. A batch of ten million sightings holds
// millions of them. Judge.PairSet judges them as Judge.PairTracks judges
// the same points unpacked.
//
// Each worker fills its own TrackSet; Merge gathers them. The zero value
// is ready to use.
type TrackSet struct {
	chunks [][]packedPoint // each at most setChunk long
	// text holds each point's id and track, from an 8-byte boundary, in
	// chunks of textChunk bytes (an id too long for one has a chunk of its
	// own); a point's place in it counts from the start of its chunk
	// numbered as if every chunk were textChunk long.
	text    [][]byte
	attrs   []partySource // a point's party and source
	attrIdx map[partySource]uint32
	details []packedDetail
	n       int
}

// packedPoint is a TrackPoint, its strings held elsewhere.
type packedPoint struct {
	time   int64
	pos    orb.Point
	text   uint32 // where its id and track are, in textUnit bytes from the start of the set's text
	track  uint32 // a hash of its party and track
	detail uint32 // 1 + index in details; 0: none
	attr   uint32 // index in attrs, with overBit
}

// overBit marks in packedPoint.attr a point on the other party's side
// (depth > 0): of a point that cannot be a violation, only that sign of
// its depth is needed, as the previous point of a track's next.
const overBit = 1 << 31

type partySource struct{ party, source string }

// packedDetail is what a point that can be a violation needs besides.
type packedDetail struct {
	TrackDetail
	depth float64
	key   uint64
}

const (
	setChunk     = 4096 // points a chunk
	setChunkBits = 12   // log2(setChunk)
	textUnit     = 8
	textChunk    = 1 << 20 // bytes a chunk of text
)

// Len is the number of points in the set.
func (ts *TrackSet) Len() int { return ts.n }

// Add adds a point.
func (ts *TrackSet) Add(p *TrackPoint) {
	pp := packedPoint{time: p.Time, pos: p.Pos, track: uint32(trackHash(p.Party, p.Track))}
	pp.attr = ts.attr(partySource{p.Party, p.Source})
	if p.DepthM > 0 {
		pp.attr |= overBit
	}
	if p.Detail != nil {
		ts.details = append(ts.details, packedDetail{*p.Detail, p.DepthM, p.key})
		pp.detail = uint32(len(ts.details))
	}
	pp.text = ts.addText(p.ID, p.Track)
	if n := len(ts.chunks); n == 0 || len(ts.chunks[n-1]) == setChunk {
		ts.chunks = append(ts.chunks, make([]packedPoint, 0, setChunk))
	}
	last := &ts.chunks[len(ts.chunks)-1]
	*last = append(*last, pp)
	ts.n++
}

func (ts *TrackSet) attr(ps partySource) uint32 {
	i, ok := ts.attrIdx[ps]
	if !ok {
		if ts.attrIdx == nil {
			ts.attrIdx = map[partySource]uint32{}
		}
		if len(ts.attrs) >= overBit-1 {
			panic("detect: more than 2³¹ parties and sources in a TrackSet")
		}
		i = uint32(len(ts.attrs))
		ts.attrs = append(ts.attrs, ps)
		ts.attrIdx[ps] = i
	}
	return i
}

// addText writes an id and a track and returns where.
func (ts *TrackSet) addText(id, track string) uint32 {
	need := textUnit + 2*binary.MaxVarintLen64 + len(id) + len(track)
	c := len(ts.text) - 1
	if c < 0 || len(ts.text[c])+need > textChunk {
		ts.text = append(ts.text, make([]byte, 0, max(textChunk, need)))
		c++
	}
	t := ts.text[c]
	for len(t)%textUnit != 0 {
		t = append(t, 0)
	}
	at := (c*textChunk + len(t)) / textUnit
	if at > 1<<32-1 {
		panic("detect: more than 32 GiB of track point ids in a TrackSet")
	}
	t = binary.AppendUvarint(t, uint64(len(id)))
	t = append(t, id...)
	t = binary.AppendUvarint(t, uint64(len(track)))
	t = append(t, track...)
	ts.text[c] = t
	return uint32(at)
}

// Merge moves the points of o into ts, leaving o empty.
func (ts *TrackSet) Merge(o *TrackSet) {
	remap := make([]uint32, len(o.attrs))
	for i, ps := range o.attrs {
		remap[i] = ts.attr(ps)
	}
	// o's text goes after ts's.
	textShift := uint32(len(ts.text) * textChunk / textUnit)
	detailShift := uint32(len(ts.details))
	for _, ch := range o.chunks {
		for i := range ch {
			p := &ch[i]
			p.attr = p.attr&overBit | remap[p.attr&^overBit]
			p.text += textShift
			if p.detail != 0 {
				p.detail += detailShift
			}
		}
	}
	ts.chunks = append(ts.chunks, o.chunks...)
	ts.text = append(ts.text, o.text...)
	ts.details = append(ts.details, o.details...)
	ts.n += o.n
	*o = TrackSet{}
}

// DeleteFunc removes the points for which del, given the id and source of
// the record a point came from, returns true. id is valid only during the
// call.
func (ts *TrackSet) DeleteFunc(del func(id []byte, source string) bool) {
	ts.n = 0
	for c, ch := range ts.chunks {
		ch = slices.DeleteFunc(ch, func(p packedPoint) bool {
			id, _ := ts.idTrack(&p)
			return del(id, ts.attrs[p.attr&^overBit].source)
		})
		ts.chunks[c] = ch
		ts.n += len(ch)
	}
}

func (ts *TrackSet) at(g uint32) *packedPoint {
	return &ts.chunks[g>>setChunkBits][g&(setChunk-1)]
}

// idTrack returns the id and track of a point, as views of the set's text:
// copy them to keep them.
func (ts *TrackSet) idTrack(p *packedPoint) (id, track []byte) {
	off := int(p.text) * textUnit
	t := ts.text[off/textChunk][off%textChunk:]
	n, k := binary.Uvarint(t)
	id, t = t[k:k+int(n)], t[k+int(n):]
	n, k = binary.Uvarint(t)
	return id, t[k : k+int(n)]
}

// point unpacks a point.
func (ts *TrackSet) point(p *packedPoint) *TrackPoint {
	ps := ts.attrs[p.attr&^overBit]
	id, track := ts.idTrack(p)
	tp := &TrackPoint{Party: ps.party, Track: string(track), Time: p.time, ID: string(id), Source: ps.source, Pos: p.pos}
	if p.detail != 0 {
		d := &ts.details[p.detail-1]
		tp.Detail = &TrackDetail{}
		*tp.Detail = d.TrackDetail
		tp.DepthM, tp.key = d.depth, d.key
	} else if p.attr&overBit != 0 {
		// Only the sign counts in judging the next point.
		tp.DepthM = 1
	} else {
		tp.DepthM = -1
	}
	return tp
}

// PairSet judges the points of ts, each against the previous judged point
// of its track, and returns the violations they make: the very ones
// PairTracks returns for the same points, in another order. It works on
// workers goroutines (at least one), a share of the tracks each.
func (j *Judge) PairSet(ts *TrackSet, workers int) []*Violation {
	// The points in buckets by the top bits of their track's hash, each in
	// input order: a counting sort.
	const bucketBits = 16
	start := make([]int, 1<<bucketBits+1)
	for _, ch := range ts.chunks {
		for i := range ch {
			start[ch[i].track>>(32-bucketBits)+1]++
		}
	}
	for i := 1; i < len(start); i++ {
		start[i] += start[i-1]
	}
	order := make([]uint32, ts.n)
	next := slices.Clone(start[:len(start)-1])
	for c, ch := range ts.chunks {
		for i := range ch {
			b := ch[i].track >> (32 - bucketBits)
			order[next[b]] = uint32(c)<<setChunkBits | uint32(i)
			next[b]++
		}
	}
	next = nil
	// Then the tracks of each bucket, on workers goroutines taking shares
	// of about equal numbers of points.
	workers = max(workers, 1)
	out := make([][]*Violation, workers)
	var wg sync.WaitGroup
	b0 := 0
	for w := range workers {
		b1 := b0
		for b1 < 1<<bucketBits && start[b1] < ts.n*(w+1)/workers {
			b1++
		}
		if w == workers-1 {
			b1 = 1 << bucketBits
		}
		wg.Add(1)
		go func(w, b0, b1 int) {
			defer wg.Done()
			for b := b0; b < b1; b++ {
				out[w] = j.pairBucket(ts, order[start[b]:start[b+1]], out[w])
			}
		}(w, b0, b1)
		b0 = b1
	}
	wg.Wait()
	return slices.Concat(out...)
}

// pairBucket judges the points of the tracks whose hashes fall in one
// bucket, given by their indices, and appends the violations they make to
// out.
func (j *Judge) pairBucket(ts *TrackSet, idx []uint32, out []*Violation) []*Violation {
	// By track hash, then time: input mostly comes in time order.
	slices.SortFunc(idx, func(a, b uint32) int {
		p, q := ts.at(a), ts.at(b)
		return cmp.Or(cmp.Compare(p.track, q.track), cmp.Compare(p.time, q.time))
	})
	for len(idx) > 0 {
		// A run of one hash: one track, or (rarely) several whose hashes
		// collide, sorted then by party and track.
		h := ts.at(idx[0]).track
		n := 1
		for n < len(idx) && ts.at(idx[n]).track == h {
			n++
		}
		run := idx[:n]
		idx = idx[n:]
		if !ts.oneTrack(run) {
			slices.SortStableFunc(run, func(a, b uint32) int { return ts.compareTracks(ts.at(a), ts.at(b)) })
		}
		for len(run) > 0 {
			n := 1
			for n < len(run) && ts.compareTracks(ts.at(run[0]), ts.at(run[n])) == 0 {
				n++
			}
			out = j.pairTrack(ts, run[:n], out)
			run = run[n:]
		}
	}
	return out
}

// oneTrack tells whether the points are all of one track.
func (ts *TrackSet) oneTrack(idx []uint32) bool {
	first := ts.at(idx[0])
	for _, g := range idx[1:] {
		if ts.compareTracks(first, ts.at(g)) != 0 {
			return false
		}
	}
	return true
}

// compareTracks orders points by party, then track.
func (ts *TrackSet) compareTracks(p, q *packedPoint) int {
	if c := cmp.Compare(ts.attrs[p.attr&^overBit].party, ts.attrs[q.attr&^overBit].party); c != 0 {
		return c
	}
	_, pt := ts.idTrack(p)
	_, qt := ts.idTrack(q)
	return cmp.Compare(string(pt), string(qt))
}

// pairTrack judges the points of one track, sorted by time, and appends the
// violations they make to out.
func (j *Judge) pairTrack(ts *TrackSet, idx []uint32, out []*Violation) []*Violation {
	// Ties in time are broken by id, then source (compareTrackPoints).
	for i := 0; i < len(idx); {
		t := ts.at(idx[i]).time
		k := i + 1
		for k < len(idx) && ts.at(idx[k]).time == t {
			k++
		}
		if k-i > 1 {
			slices.SortFunc(idx[i:k], func(a, b uint32) int {
				p, q := ts.at(a), ts.at(b)
				pid, _ := ts.idTrack(p)
				qid, _ := ts.idTrack(q)
				return cmp.Or(cmp.Compare(string(pid), string(qid)),
					cmp.Compare(ts.attrs[p.attr&^overBit].source, ts.attrs[q.attr&^overBit].source))
			})
		}
		i = k
	}
	var prev *packedPoint
	for _, g := range idx {
		p := ts.at(g)
		if p.detail != 0 {
			// Only a point that can be a violation needs judging, and
			// unpacking.
			var pp *TrackPoint
			if prev != nil {
				pp = ts.point(prev)
			}
			if v := j.JudgeTrackPoint(pp, ts.point(p)); v != nil {
				out = append(out, v)
			}
		}
		prev = p
	}
	return out
}
