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
	"sync"
	"unsafe"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/internal/pipeline"
)

// Counts account for every record read (SPEC §2): read = accepted +
// rejected + duplicate + late + outside. Unattributed and BeyondEnd are
// among the accepted; Outside are the valid sightings outside the
// Config's Range.
type Counts struct {
	Read, Accepted, Rejected, Duplicate, Late int64
	Unattributed, BeyondEnd                   int64
	Outside                                   int64
}

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
	// Open, if set, opens an input other than standard input in place of
	// feed.Open: an importer turning CSV rows into sighting records, say.
	// It is called again for the inputs when conflicting duplicates are
	// settled, and must give the same records each time.
	Open func(name string) (*feed.Source, error)
	// Range, if set, keeps the sightings of that time range only.
	Range *TimeRange
}

// Outcome is the result of a run.
type Outcome struct {
	Result detect.Result
	Counts Counts
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
	p       detect.Prepared
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
	spool.openFile = cfg.Open
	defer spool.close()

	if len(inputs) > maxInputs {
		return nil, fmt.Errorf("at most %d inputs at once, got %d", maxInputs, len(inputs))
	}
	c := newCollector(cfg, workers, len(inputs))
	var nrec, nbytes int64
	err = run(spool, inputs, false, workers, nil,
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
				cfg.Progress(nrec, nbytes)
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

// run reads the inputs through the pipeline: of input i, the records
// keep(i) returns true for (all if keep is nil); worker(w) makes worker w's
// function; sink takes the batches in input order, so that whatever it
// does (write rejects) follows the input.
func run(spool *spool, inputs []string, again bool, workers int, keep func(input int) func(feed.Record) bool,
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
			src, err := spool.open(name, again)
			if err != nil {
				return err
			}
			var k func(feed.Record) bool
			if keep != nil {
				k = keep(i)
			}
			err = f.ReadSource(src, k)
			if cerr := src.Close(); err == nil && cerr != nil {
				return cerr
			}
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		return nil
	})
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
			it.p = pr.Prepare()
		}
	}
}

// collector checks duplicates and keeps what judging and aggregating
// need. Records are duplicates when they share their id and their source
// (SPEC §2), so the key of a record is a hash of both (feed.DupKey).
// Workers admit their own batches provisionally, each into its own
// lists, noting every accepted record's key and where it stands in the
// input; when reading ends, the notes are sorted and merged, which finds
// the keys seen more than once. Their records are taken back and read
// again, only they, to be settled by content alone (settleDuplicates).
// Sorting 16 bytes a record takes far less memory than a hash map of the
// ids, and what is kept does not depend on which worker came first. Only
// the rejects file waits for input order.
type collector struct {
	cfg  Config
	accs []acc // one per worker, merged when reading ends
	all  acc
	dups map[uint64]bool // keys seen more than once
	// again lists, for each input, the ordinals (ordinal) of the records
	// of keys seen more than once, in order.
	again [][]uint64
}

// idNote is an accepted record's key (id and source) and where it stands:
// the index of its input, its ordinal there and its outcome, so that
// counts can be corrected for the duplicates found later (see at).
type idNote struct{ key, at uint64 }

// at packs an input's index, a record's ordinal in it and its outcome.
func at(input int, ord uint64, outcome detect.Outcome) uint64 {
	var o uint64
	switch outcome {
	case detect.Unattributed:
		o = 1
	case detect.BeyondEnd:
		o = 2
	}
	return uint64(input)<<48 | ord<<2 | o
}

// maxInputs and maxOrdinal bound what an idNote can tell.
const (
	maxInputs  = 1 << 16
	maxOrdinal = 1<<46 - 1
)

// ordinal is where a record stands in its input: its line, or its index in
// a FeatureCollection (plus one). Records come in the order of their
// ordinals.
func ordinal(rec *feed.Record) uint64 {
	if rec.Index >= 0 {
		return uint64(rec.Index) + 1
	}
	return uint64(rec.Line)
}

// noteBuckets partition the notes by the top bits of the id hash, so that
// each bucket is sorted and scanned on its own, on all cores. A bucket
// grows in chunks, so that growing never copies nor doubles it.
const (
	noteBuckets = 256
	noteChunk   = 1024
)

// acc is what a worker accepted.
type acc struct {
	counts Counts
	viols  []*detect.Violation
	tracks detect.TrackSet
	notes  [noteBuckets][][]idNote
}

func newCollector(cfg Config, workers, inputs int) *collector {
	return &collector{cfg: cfg, accs: make([]acc, workers), dups: map[uint64]bool{}, again: make([][]uint64, inputs)}
}

// admit counts a prepared batch and accepts its records provisionally.
func (c *collector) admit(a *acc, j *job) {
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
		p := &it.p
		bucket := &a.notes[p.Key>>56]
		if n := len(*bucket); n == 0 || len((*bucket)[n-1]) == noteChunk {
			*bucket = append(*bucket, make([]idNote, 0, noteChunk))
		}
		last := &(*bucket)[len(*bucket)-1]
		*last = append(*last, idNote{p.Key, at(j.Input, min(ordinal(&j.Recs[i]), maxOrdinal), p.Outcome)})
		a.accept(p)
	}
}

// rejects writes a batch's rejected records, in input order.
func (c *collector) rejects(j *job) error {
	if c.cfg.Reject == nil {
		return nil
	}
	for i := range j.Recs {
		if r := j.items[i].reason; r != "" {
			if err := c.cfg.Reject(Rejected{Record: j.Recs[i], Reason: r}); err != nil {
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
		k := &c.all.counts
		k.Read += a.counts.Read
		k.Accepted += a.counts.Accepted
		k.Rejected += a.counts.Rejected
		k.Unattributed += a.counts.Unattributed
		k.BeyondEnd += a.counts.BeyondEnd
		k.Outside += a.counts.Outside
		c.all.viols = append(c.all.viols, a.viols...)
		c.all.tracks.Merge(&a.tracks)
		for b := range a.notes {
			buckets[b] = append(buckets[b], a.notes[b]...)
		}
		*a = acc{}
	}
	// Sort and scan the buckets on all cores; runs of one id hash are
	// taken back under a lock (they are rare).
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan [][]idNote)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for chunks := range next {
				// One bucket at a time is gathered into one slice.
				n := 0
				for _, ch := range chunks {
					n += len(ch)
				}
				notes := make([]idNote, 0, n)
				for i, ch := range chunks {
					notes = append(notes, ch...)
					chunks[i] = nil
				}
				slices.SortFunc(notes, func(a, b idNote) int { return cmp.Compare(a.key, b.key) })
				for i := 0; i < len(notes); {
					j := i + 1
					for j < len(notes) && notes[j].key == notes[i].key {
						j++
					}
					if j-i > 1 {
						mu.Lock()
						c.takeBack(notes[i:j])
						mu.Unlock()
					}
					i = j
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
	for _, ords := range c.again {
		slices.Sort(ords)
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

// takeBack uncounts the records of one key, seen more than once, and notes
// where they are, to be read again.
func (c *collector) takeBack(run []idNote) {
	k := &c.all.counts
	c.dups[run[0].key] = true
	for _, n := range run {
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

// settleDuplicates reads the inputs again for the records of the keys seen
// more than once, and keeps, of each id and source, the one with the
// earliest time, then the smallest canonical JSON (SPEC §2): identical
// records are equal in both, and any one of them is kept.
func (c *collector) settleDuplicates(spool *spool, inputs []string, workers int) error {
	var mu sync.Mutex
	byKey := map[uint64][]candidate{}
	// The records to read again are picked out by their ordinals as they
	// are read; only they are decoded.
	keep := func(input int) func(feed.Record) bool {
		want := c.again[input]
		return func(rec feed.Record) bool {
			ord := ordinal(&rec)
			for len(want) > 0 && want[0] < ord {
				want = want[1:]
			}
			return len(want) > 0 && want[0] == ord
		}
	}
	err := run(spool, inputs, true, workers, keep,
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
			canon, err := feed.Canonical(cands[i].raw)
			if err != nil {
				canon = cands[i].raw
			}
			cands[i].canon = canon
		}
		// Ids and sources whose hashes collide are not duplicates of each
		// other.
		slices.SortFunc(cands, func(a, b candidate) int {
			return cmp.Or(cmp.Compare(a.p.ID, b.p.ID), cmp.Compare(a.p.Source, b.p.Source),
				cmp.Compare(a.p.Time, b.p.Time), bytes.Compare(a.canon, b.canon))
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
	openFile func(string) (*feed.Source, error)
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
		if s.openFile != nil {
			return s.openFile(name)
		}
		return feed.Open(name)
	}
	// Standard input may be gzipped, as a file may (feed.Open): what is
	// copied is what was read, and it is decompressed again when read again.
	if !again {
		return feed.OpenReader("-", io.TeeReader(os.Stdin, s.stdin))
	}
	if _, err := s.stdin.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return feed.OpenReader("-", s.stdin)
}

func (s *spool) close() {
	if s.stdin != nil {
		s.stdin.Close()
		if !s.unlinked {
			os.Remove(s.stdin.Name())
		}
	}
}
