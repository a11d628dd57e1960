// Package batch is the batch driver of the detection engine: it reads
// sighting files on all cores, settles duplicates, and hands the engine
// everything at once (the watermark at the end of time).
package batch

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/internal/hugepage"
	"github.com/linewatch/linewatch/internal/pipeline"
)

// Rejected is a record that was not accepted, and why.
type Rejected struct {
	Record feed.Record
	Reason string
}

// Config is what a batch run needs.
type Config struct {
	Judge   *detect.Judge
	Workers int // 0: GOMAXPROCS
	// Reject, if set, is called for every rejected record, in input order.
	Reject func(Rejected) error
	// Progress, if set, is called from time to time with the records and
	// bytes read so far.
	Progress func(records, bytes int64)
	// Open, if set, reads every input, standard input included, in place
	// of feed's GeoJSON reader: an importer turning CSV rows into
	// sighting records, say (importer.Opener).
	Open Opener
	// Range, if set, keeps the sightings of that time range only.
	Range *TimeRange
}

// An Opener reads inputs that are not GeoJSON as sighting records.
type Opener interface {
	// Open returns the records of the input name read from r; the
	// source closes r, if it is an io.Closer, when it is read to its end.
	// Open is called again for the inputs when conflicting duplicates are
	// settled (standard input is spooled for that), and must give the
	// same records each time.
	Open(name string, r io.Reader) (*feed.Source, error)
	// Rejected says how a rejected record is written to the rejects: as
	// the input has it (a CSV row, say), with the reason.
	Rejected(rec feed.Record, reason string) (feed.Record, string)
	// BytesRead is how many bytes of the inputs were read so far, for
	// Config.Progress.
	BytesRead() int64
}

// Outcome is the result of a run.
type Outcome struct {
	Result detect.Result
	// Counts account for every record read; Outside counts the valid
	// sightings outside the Config's Range.
	Counts feed.Counts
}

// job is a batch of records on its way through the pipeline, with what
// the workers made of each.
type job struct {
	pipeline.Records
	items []item
}

func (j *job) Reset() {
	j.Records.Reset()
	j.items = j.items[:0]
}

type item struct {
	reason  string // rejected when non-empty
	outside bool   // a sighting outside the Range
	dup     bool   // a duplicate of a record of its own batch (twins)
	p       detect.Prepared
	// track holds p's track point, if any, until admit packs it into the
	// worker's TrackSet: none is made anew.
	track detect.TrackPoint
}

// Run reads the inputs ("-" is standard input) and detects.
func Run(cfg Config, inputs []string) (*Outcome, error) {
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	spool, err := newSpool(inputs)
	if err != nil {
		return nil, err
	}
	spool.opener = cfg.Open
	defer spool.close()

	if len(inputs) > maxInputs {
		return nil, fmt.Errorf("at most %d inputs at once, got %d", maxInputs, len(inputs))
	}
	// A run fills tens of megabytes of new heap at once: huge pages take a
	// fault where 4 KiB pages take 512 (hugepage).
	defer hugepage.Heap()()
	c := newCollector(cfg, workers, len(inputs))
	var nrec, nbytes int64
	err = run(inputs, workers, c.readAll(spool),
		func(w int) func(*job) {
			pr := pipeline.NewPreparer(cfg.Judge)
			return func(j *job) {
				prepare(pr, cfg.Range, j)
				c.admit(&c.accs[w], j)
			}
		},
		func(j *job) error {
			if cfg.Progress != nil {
				nrec += int64(j.Len())
				nbytes += int64(j.Size())
				cfg.Progress(nrec, spool.bytesRead(nbytes))
			}
			return c.rejects(j)
		})
	if err != nil {
		return nil, err
	}
	c.merge()
	if len(c.dups) > 0 {
		if err := c.settleDuplicates(spool, inputs, workers); err != nil {
			return nil, err
		}
	}
	return c.finish(), nil
}

// run reads the inputs through the pipeline: read(f, i, name) adds the
// records of input i; worker(w) makes worker w's function; sink takes the
// batches in input order, so that whatever it does (write rejects)
// follows the input.
func run(inputs []string, workers int, read func(f *pipeline.Feeder[*job], i int, name string) error,
	worker func(w int) func(*job), sink func(*job) error) error {
	cfg := pipeline.Config[*job]{
		Workers: workers,
		Batches: workers*3 + 2,
		New:     func() *job { return new(job) },
		Worker:  worker,
		Sink:    sink,
	}
	return pipeline.Run(context.Background(), cfg, func(f *pipeline.Feeder[*job]) error {
		for i, name := range inputs {
			if err := f.Input(i); err != nil {
				return err
			}
			if err := read(f, i, name); err != nil {
				return err
			}
		}
		return nil
	})
}

// readAll adds every record of an input, and notes its format.
func (c *collector) readAll(spool *spool) func(f *pipeline.Feeder[*job], i int, name string) error {
	return func(f *pipeline.Feeder[*job], i int, name string) error {
		src, err := spool.open(name, false)
		if err != nil {
			return err
		}
		err = f.ReadBlocks(src)
		c.formats[i], _ = src.Format()
		if cerr := src.Close(); err == nil && cerr != nil {
			return cerr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
}

// prepare decodes and prepares the records of a batch.
func prepare(pr *pipeline.Preparer, rng *TimeRange, j *job) {
	j.items = slices.Grow(j.items[:0], j.Len())[:j.Len()]
	for i := range j.Recs {
		it := &j.items[i]
		*it = item{}
		s, reason := pr.Decode(&j.Recs[i])
		switch {
		case reason != "":
			it.reason = reason
		case !rng.Contains(s.Time):
			it.outside = true
		default:
			it.p = pr.PrepareWith(&it.track)
		}
	}
}

// collector checks duplicates and keeps what judging and aggregating
// need. Records are duplicates when they share their id and their source
// (SPEC §2), so the key of a record is a hash of both (feed.DupKey).
// Workers admit their own batches provisionally, each into its own
// lists, noting every accepted record's key and where it stands in the
// input; when reading ends, the notes of each bucket go through a hash
// table that finds the keys seen more than once (repeats). Their records
// are taken back and read again, only they, to be settled by content
// alone (settleDuplicates). Duplicates within a batch are settled by its
// worker before it notes them (twins). 16 bytes a record take far less
// memory than a hash map of the ids, and what is kept does not depend on
// which worker came first. Only the rejects file waits for input order.
type collector struct {
	cfg  Config
	accs []acc // one per worker, merged when reading ends
	all  acc
	dups map[uint64]bool // keys seen more than once
	// again lists, for each input, the offsets (feed.Record.Offset) of
	// the records of keys seen more than once, in order.
	again   [][]uint64
	formats []feed.Format // of each input
}

// idNote is an accepted record's key (id and source) and where it stands:
// the index of its input, its offset there and its outcome, so that
// counts can be corrected for the duplicates found later (see at).
type idNote struct{ key, at uint64 }

// at packs an input's index, a record's offset in it (below maxOffset) and
// its outcome.
func at(input int, off int64, outcome detect.Outcome) uint64 {
	var o uint64
	switch outcome {
	case detect.Unattributed:
		o = 1
	case detect.BeyondEnd:
		o = 2
	}
	return uint64(input)<<48 | uint64(off)<<2 | o
}

// maxInputs and maxOffset bound what an idNote can tell: 65,536 inputs of
// up to 64 TiB each.
const (
	maxInputs = 1 << 16
	maxOffset = 1<<46 - 1
)

// noteBuckets partition the notes by the top bits of the id hash, so that
// each bucket is sorted and scanned on its own, on all cores. A bucket
// grows in chunks, so that growing never copies nor doubles it.
const (
	noteBuckets   = 256
	noteChunkBits = 10
	noteChunk     = 1 << noteChunkBits
)

// acc is what a worker accepted.
type acc struct {
	counts feed.Counts
	viols  []*detect.Violation
	tracks detect.TrackSet
	notes  [noteBuckets][][]idNote
	twins  []int32 // twins' table
}

func newCollector(cfg Config, workers, inputs int) *collector {
	return &collector{cfg: cfg, accs: make([]acc, workers), dups: map[uint64]bool{}, again: make([][]uint64, inputs),
		formats: make([]feed.Format, inputs)}
}

// admit counts a prepared batch and accepts its records provisionally.
func (c *collector) admit(a *acc, j *job) {
	if sameBatch {
		a.twins = twins(j, a.twins)
	}
	for i := range j.Recs {
		a.counts.Read++
		it := &j.items[i]
		if it.reason != "" {
			a.counts.Rejected++
			continue
		}
		if it.outside {
			a.counts.Outside++
			continue
		}
		if it.dup {
			a.counts.Duplicate++
			continue
		}
		p := &it.p
		bucket := &a.notes[p.Key>>56]
		if n := len(*bucket); n == 0 || len((*bucket)[n-1]) == noteChunk {
			*bucket = append(*bucket, make([]idNote, 0, noteChunk))
		}
		last := &(*bucket)[len(*bucket)-1]
		*last = append(*last, idNote{p.Key, at(j.Input, min(j.Recs[i].Offset, maxOffset), p.Outcome)})
		a.accept(p)
	}
}

// sameBatch turns twins on; tests turn it off to send every duplicate
// through settleDuplicates.
var sameBatch = true

// twins settles the duplicates a batch holds among its own records, and
// marks all but the one kept (item.dup), before admit notes any: a record
// repeated mostly stands near the one it repeats (a retry, a message sent
// twice), and one settled here is neither noted nor read again when the
// input ends. The rule is settleDuplicates' (keeps): whichever part of a
// key's records it is applied to first, the record it keeps from all of
// them is the same. Records whose keys collide with other ids or sources
// are left to settleDuplicates. table is scratch space (a key's slot
// holds 1 + the index of the record kept so far), returned for the next
// batch.
func twins(j *job, table []int32) []int32 {
	table, mask := openTable(table, len(j.Recs))
	for i := range j.Recs {
		it := &j.items[i]
		if it.reason != "" || it.outside {
			continue
		}
		s := it.p.Key & mask
		for table[s] != 0 && j.items[table[s]-1].p.Key != it.p.Key {
			s = (s + 1) & mask
		}
		if table[s] == 0 {
			table[s] = int32(i) + 1
			continue
		}
		k := int(table[s]) - 1
		kept := &j.items[k].p
		if kept.ID != it.p.ID || kept.Source != it.p.Source {
			continue // another id or source with the same key
		}
		if keeps(kept.Time, j.Recs[k].Raw, it.p.Time, j.Recs[i].Raw) {
			it.dup = true
		} else {
			j.items[k].dup = true
			table[s] = int32(i) + 1
		}
	}
	return table
}

// keeps says whether, of two records of one id and source, the first (at
// time ta, raw text a) is kept rather than the second (SPEC §2): the one
// with the earlier time, then the smaller canonical JSON, then (for
// records equal in both, which differ only in how they are written) the
// smaller raw text, so that which is kept never depends on their order.
func keeps(ta int64, a []byte, tb int64, b []byte) bool {
	if ta != tb {
		return ta < tb
	}
	if bytes.Equal(a, b) {
		return true
	}
	if c := bytes.Compare(canonical(a), canonical(b)); c != 0 {
		return c < 0
	}
	return bytes.Compare(a, b) <= 0
}

// canonical is a record's canonical JSON, or its raw text if it has none.
func canonical(raw []byte) []byte {
	canon, err := feed.Canonical(raw)
	if err != nil {
		return raw
	}
	return canon
}

// rejects writes a batch's rejected records, in input order.
func (c *collector) rejects(j *job) error {
	if c.cfg.Reject == nil {
		return nil
	}
	for i := range j.Recs {
		if r := j.items[i].reason; r != "" {
			rj := Rejected{Record: j.Recs[i], Reason: r}
			if c.cfg.Open != nil {
				rj.Record, rj.Reason = c.cfg.Open.Rejected(rj.Record, rj.Reason)
			}
			if err := c.cfg.Reject(rj); err != nil {
				return err
			}
		}
	}
	return nil
}

// merge gathers the workers' lists into one and takes back what the
// records of keys seen more than once left, to be settled by
// settleDuplicates.
func (c *collector) merge() {
	var buckets [noteBuckets][][]idNote
	for i := range c.accs {
		a := &c.accs[i]
		c.all.counts.Add(a.counts)
		c.all.viols = append(c.all.viols, a.viols...)
		c.all.tracks.Merge(&a.tracks)
		for b := range a.notes {
			buckets[b] = append(buckets[b], a.notes[b]...)
		}
		*a = acc{}
	}
	// Scan the buckets on all cores; the notes of keys seen more than
	// once are taken back under a lock (they are few).
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan [][]idNote)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var table []uint32
			var dups []idNote
			for chunks := range next {
				dups, table = repeats(chunks, dups[:0], table)
				if len(dups) > 0 {
					mu.Lock()
					for _, n := range dups {
						c.takeBack(n)
					}
					mu.Unlock()
				}
			}
		}()
	}
	for b := range buckets {
		next <- buckets[b]
		buckets[b] = nil
	}
	close(next)
	wg.Wait()
	for _, offs := range c.again {
		slices.Sort(offs)
	}
	if len(c.dups) > 0 {
		c.all.viols = slices.DeleteFunc(c.all.viols, func(v *detect.Violation) bool { return c.dups[v.Key()] })
		// Track points keep no key, but their id and source: the key is
		// worked out from a view of the id (no copy of it).
		c.all.tracks.DeleteFunc(func(id []byte, source string) bool {
			return c.dups[feed.DupKey(unsafe.String(unsafe.SliceData(id), len(id)), source)]
		})
	}
}

// repeats appends to dups the notes of the keys that chunks hold more than
// once, in no particular order: one pass puts every key in a hash table
// (open addressing, on the key's low bits), flagging those found there
// already; a second picks out the notes of the flagged ones. table is
// scratch space, returned for the next call.
func repeats(chunks [][]idNote, dups []idNote, table []uint32) ([]idNote, []uint32) {
	n := 0
	for _, ch := range chunks {
		n += len(ch)
	}
	table, mask := openTable(table, n)
	// An entry is 1 + where the key's first note is (chunk, index), its
	// top bit set once the key is seen again.
	const again = 1 << 31
	find := func(key uint64) int {
		s := key & mask
		for {
			e := table[s]
			if e == 0 {
				return int(s)
			}
			ref := e&^again - 1
			if chunks[ref>>noteChunkBits][ref&(noteChunk-1)].key == key {
				return int(s)
			}
			s = (s + 1) & mask
		}
	}
	seen := false
	for c, ch := range chunks {
		for i := range ch {
			s := find(ch[i].key)
			if table[s] == 0 {
				table[s] = uint32(c<<noteChunkBits|i) + 1
			} else {
				table[s] |= again
				seen = true
			}
		}
	}
	if !seen {
		return dups, table
	}
	for _, ch := range chunks {
		for i := range ch {
			if table[find(ch[i].key)]&again != 0 {
				dups = append(dups, ch[i])
			}
		}
	}
	return dups, table
}

// openTable readies table, scratch space reused from call to call, as an
// empty hash table of open addressing for n keys: a power of two of at
// least twice as many slots, all 0. mask picks a slot from a key.
func openTable[T int32 | uint32](table []T, n int) ([]T, uint64) {
	size := 16
	for size < 2*n {
		size *= 2
	}
	if cap(table) < size {
		table = make([]T, size)
	}
	table = table[:size]
	clear(table)
	return table, uint64(size - 1)
}

// takeBack uncounts a record of a key seen more than once and notes where
// it is, to be read again.
func (c *collector) takeBack(n idNote) {
	k := &c.all.counts
	c.dups[n.key] = true
	input := n.at >> 48
	c.again[input] = append(c.again[input], n.at&(1<<48-1)>>2)
	k.Accepted--
	switch n.at & 3 {
	case 1:
		k.Unattributed--
	case 2:
		k.BeyondEnd--
	}
}

// accept counts an accepted record and keeps its violation or track point.
func (a *acc) accept(p *detect.Prepared) {
	a.counts.Accepted++
	switch p.Outcome {
	case detect.Unattributed:
		a.counts.Unattributed++
	case detect.BeyondEnd:
		a.counts.BeyondEnd++
	}
	if p.Violation != nil {
		a.viols = append(a.viols, p.Violation)
	}
	if p.Track != nil {
		a.tracks.Add(p.Track)
	}
}

type candidate struct {
	p     detect.Prepared
	raw   []byte
	canon []byte // made only for records that differ
}

// readAgain adds the records of an input to read again (again): from a
// plain file of lines, each where it stands; from any other input, picked
// out by their offsets as the input is read.
func (c *collector) readAgain(spool *spool) func(f *pipeline.Feeder[*job], i int, name string) error {
	return func(f *pipeline.Feeder[*job], i int, name string) error {
		want := c.again[i]
		if len(want) == 0 {
			return nil
		}
		if c.formats[i] == feed.Lines {
			if file, done := spool.plain(name); file != nil {
				defer done()
				lr := lineReader{f: file}
				for _, off := range want {
					line, err := lr.line(int64(off))
					if err != nil {
						return fmt.Errorf("%s: %w", name, err)
					}
					if err := f.Add(feed.Record{File: name, Index: -1, Raw: line, Offset: int64(off)}); err != nil {
						return err
					}
				}
				return nil
			}
		}
		src, err := spool.open(name, true)
		if err != nil {
			return err
		}
		err = f.ReadSource(src, func(rec feed.Record) bool {
			for len(want) > 0 && want[0] < uint64(rec.Offset) {
				want = want[1:]
			}
			return len(want) > 0 && want[0] == uint64(rec.Offset)
		})
		if cerr := src.Close(); err == nil && cerr != nil {
			return cerr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
}

// lineReader reads the lines of a file that start at given offsets, in
// increasing order: each the record a feed.Source of lines found there,
// without its newline and a carriage return before it.
//
// What one read of the file brought is kept for the lines after it: a
// duplicate mostly stands next to the record it repeats, and one read then
// serves both. A read asks for a little more than two typical records,
// then twice as much while the newline is not in sight, whatever room the
// window has: once a long record had grown it, every read asked for all of
// it.
type lineReader struct {
	f   io.ReaderAt
	win []byte // what the last read brought, from off
	off int64
}

// line returns the line at off, valid until the next call.
func (r *lineReader) line(off int64) ([]byte, error) {
	if k := off - r.off; k >= 0 && k < int64(len(r.win)) {
		if i := bytes.IndexByte(r.win[k:], '\n'); i >= 0 {
			return trimCR(r.win[k : k+int64(i)]), nil
		}
	}
	r.win, r.off = r.win[:0], off
	for step := 1024; ; step = min(2*step, 1<<20) {
		n := len(r.win)
		r.win = slices.Grow(r.win, step)[:n+step]
		m, err := r.f.ReadAt(r.win[n:], off+int64(n))
		r.win = r.win[:n+m]
		if i := bytes.IndexByte(r.win[n:], '\n'); i >= 0 {
			return trimCR(r.win[:n+i]), nil
		}
		if err == io.EOF {
			return trimCR(r.win), nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}

// settleDuplicates reads the inputs again for the records of the keys seen
// more than once, and keeps, of each id and source, the one with the
// earliest time, then the smallest canonical JSON (SPEC §2): identical
// records are equal in both, and any one of them is kept.
func (c *collector) settleDuplicates(spool *spool, inputs []string, workers int) error {
	var mu sync.Mutex
	byKey := map[uint64][]candidate{}
	err := run(inputs, workers, c.readAgain(spool),
		func(int) func(*job) {
			pr := pipeline.NewPreparer(c.cfg.Judge)
			return func(j *job) {
				for i := range j.Recs {
					rec := &j.Recs[i]
					s, reason := pr.Decode(rec)
					if reason != "" || !c.cfg.Range.Contains(s.Time) {
						continue
					}
					p := pr.Prepare()
					key := p.Key
					if !c.dups[key] {
						continue
					}
					mu.Lock()
					byKey[key] = append(byKey[key], candidate{p: p, raw: bytes.Clone(rec.Raw)})
					mu.Unlock()
				}
			}
		},
		func(*job) error { return nil })
	if err != nil {
		return err
	}
	for _, cands := range byKey {
		if !slices.ContainsFunc(cands, func(c candidate) bool { return !bytes.Equal(c.raw, cands[0].raw) }) {
			// Copies of one record: any is the one kept.
			c.all.counts.Duplicate += int64(len(cands) - 1)
			c.all.accept(&cands[0].p)
			continue
		}
		for i := range cands {
			cands[i].canon = canonical(cands[i].raw)
		}
		// Ids and sources whose hashes collide are not duplicates of each
		// other. Within an id and source, the order is keeps'.
		slices.SortFunc(cands, func(a, b candidate) int {
			return cmp.Or(cmp.Compare(a.p.ID, b.p.ID), cmp.Compare(a.p.Source, b.p.Source),
				cmp.Compare(a.p.Time, b.p.Time), bytes.Compare(a.canon, b.canon), bytes.Compare(a.raw, b.raw))
		})
		for i := range cands {
			if i > 0 && cands[i].p.ID == cands[i-1].p.ID && cands[i].p.Source == cands[i-1].p.Source {
				c.all.counts.Duplicate++
				continue
			}
			c.all.accept(&cands[i].p)
		}
	}
	return nil
}

func (c *collector) finish() *Outcome {
	judge := c.cfg.Judge
	viols := append(c.all.viols, judge.PairSet(&c.all.tracks, len(c.accs))...)
	res := detect.Aggregate(judge.Line(), judge.Policy(), viols)
	return &Outcome{Result: res, Counts: c.all.counts}
}

// spool makes standard input readable twice: it is copied to a temporary
// file as it is read, so that conflicting duplicates can be settled. The
// file is removed as soon as it is made (it lives on while open), so a
// killed process leaves none behind.
type spool struct {
	stdin    *os.File
	unlinked bool // stdin's file is already removed
	opener   Opener
}

func newSpool(inputs []string) (*spool, error) {
	s := &spool{}
	n := 0
	for _, in := range inputs {
		if in == "-" {
			n++
		}
	}
	if n > 1 {
		return nil, errors.New("standard input (-) can be read only once")
	}
	if n == 1 {
		f, err := os.CreateTemp("", "linewatch-stdin-*")
		if err != nil {
			return nil, fmt.Errorf("a copy of standard input: %w", err)
		}
		// Unlinked at once: the open file serves the run, and nothing is
		// left behind however the process ends (kill -9 included). Where
		// an open file cannot be removed, close removes it.
		if os.Remove(f.Name()) == nil {
			s.unlinked = true
		}
		s.stdin = f
	}
	return s, nil
}

func (s *spool) open(name string, again bool) (*feed.Source, error) {
	if name != "-" {
		if s.opener == nil {
			return feed.Open(name)
		}
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		return s.opener.Open(name, f)
	}
	// Standard input may be gzipped, as a file may (feed.Open): what is
	// copied is what was read, and it is decompressed again when read again.
	var r io.Reader
	if !again {
		r = io.TeeReader(os.Stdin, s.stdin)
	} else {
		if _, err := s.stdin.Seek(0, io.SeekStart); err != nil {
			return nil, err
		}
		r = struct{ io.Reader }{s.stdin} // the spool is not the source's to close
	}
	if s.opener != nil {
		return s.opener.Open(name, r)
	}
	return feed.OpenReader("-", r)
}

// bytesRead is the progress through the inputs: the bytes the opener read,
// or else n, the bytes of the records read.
func (s *spool) bytesRead(n int64) int64 {
	if s.opener != nil {
		return s.opener.BytesRead()
	}
	return n
}

// plain opens an input again to read it at offsets: a file, or the copy
// of standard input, that is not gzipped (as feed.Open tells); nil for
// any other, and for every input of an Opener (an importer's records,
// from a file or standard input). done closes what it opened.
func (s *spool) plain(name string) (f *os.File, done func()) {
	if s.opener != nil || name != "-" && strings.HasSuffix(name, ".gz") {
		return nil, nil
	}
	f, done = s.stdin, func() {}
	if name != "-" {
		var err error
		if f, err = os.Open(name); err != nil {
			return nil, nil
		}
		done = func() { f.Close() }
	}
	var magic [2]byte
	if n, _ := f.ReadAt(magic[:], 0); n == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		done()
		return nil, nil
	}
	return f, done
}

func (s *spool) close() {
	if s.stdin != nil {
		s.stdin.Close()
		if !s.unlinked {
			os.Remove(s.stdin.Name())
		}
	}
}
