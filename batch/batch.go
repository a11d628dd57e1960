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
	spool.opener = cfg.Open
	defer spool.close()

	c := newCollector(cfg, workers)
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
				cfg.Progress(nrec, spool.bytesRead(nbytes))
			}
			return c.rejects(j)
		})
	if err != nil {
		return nil, err
	}
	c.merge()
	if len(c.conflicts) > 0 {
		if err := c.settleConflicts(spool, inputs, workers); err != nil {
			return nil, err
		}
	}
	return c.finish(), nil
}

// run reads the inputs through the pipeline: those records keep returns
// true for (all if keep is nil); worker(w) makes worker w's function; sink
// takes the batches in input order, so that whatever it does (write
// rejects) follows the input.
func run(spool *spool, inputs []string, again bool, workers int, keep func(feed.Record) bool,
	worker func(w int) func(*job), sink func(*job) error) error {
	cfg := pipeline.Config[*job]{
		Workers: workers,
		Batches: workers*3 + 2,
		New:     func() *job { return new(job) },
		Worker:  worker,
		Sink:    sink,
	}
	return pipeline.Run(context.Background(), cfg, func(f *pipeline.Feeder[*job]) error {
		for _, name := range inputs {
			src, err := spool.open(name, again)
			if err != nil {
				return err
			}
			err = f.ReadSource(src, keep)
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
// lists, noting every accepted record's key and fingerprint; when
// reading ends, the notes are sorted and merged, which finds the ids seen
// more than once. Sorting 16 bytes a record takes far less memory than a
// hash map of the ids, and what is kept does not depend on which worker
// came first: identical records judge alike, and conflicting ones are
// settled by content alone. Only the rejects file waits for input order.
type collector struct {
	cfg       Config
	accs      []acc // one per worker, merged when reading ends
	all       acc
	dupKeys   map[uint64]bool // keys seen again, byte for byte
	conflicts map[uint64]bool // keys seen with different contents
	// conflictFPs are the fingerprints (outcome bits cleared) of the
	// records of conflicting keys: reading the inputs again, only the
	// records with one of them need decoding.
	conflictFPs map[uint64]bool
}

// idNote is an accepted record's key (id and source) and fingerprint; the
// fingerprint's low two bits hold the record's outcome, so that counts
// can be corrected for the duplicates found later.
type idNote struct{ key, fp uint64 }

// noteBuckets partition the notes by the top bits of the id hash, so that
// each bucket is sorted and scanned on its own, on all cores. A bucket
// grows in chunks, so that growing never copies nor doubles it.
const (
	noteBuckets = 256
	noteChunk   = 1024
)

// acc is what a worker accepted.
type acc struct {
	counts feed.Counts
	viols  []*detect.Violation
	tracks detect.TrackSet
	notes  [noteBuckets][][]idNote
}

func newCollector(cfg Config, workers int) *collector {
	return &collector{cfg: cfg, accs: make([]acc, workers), dupKeys: map[uint64]bool{}, conflicts: map[uint64]bool{},
		conflictFPs: map[uint64]bool{}}
}

func outcomeBits(o detect.Outcome) uint64 {
	switch o {
	case detect.Unattributed:
		return 1
	case detect.BeyondEnd:
		return 2
	}
	return 0
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
		*last = append(*last, idNote{p.Key, p.FP&^3 | outcomeBits(p.Outcome)})
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

// merge gathers the workers' lists into one and settles the duplicates
// that are byte for byte the same; ids with differing records are marked
// as conflicts, all their records taken back, to be settled by
// settleConflicts.
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
	// Sort and scan the buckets on all cores; runs of one id hash are
	// settled under a lock (they are rare).
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
				slices.SortFunc(notes, func(a, b idNote) int { return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.fp, b.fp)) })
				for i := 0; i < len(notes); {
					j := i + 1
					for j < len(notes) && notes[j].key == notes[i].key {
						j++
					}
					if j-i > 1 {
						mu.Lock()
						c.settleRun(notes[i:j])
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
	if len(c.dupKeys) > 0 || len(c.conflicts) > 0 {
		drop := dropAgain(c.dupKeys, c.conflicts)
		c.all.viols = slices.DeleteFunc(c.all.viols, func(v *detect.Violation) bool { return drop(v.Key()) })
		// Track points keep no key, but their id and source: the key is
		// worked out from a view of the id (no copy of it).
		drop = dropAgain(c.dupKeys, c.conflicts)
		c.all.tracks.DeleteFunc(func(id []byte, source string) bool {
			return drop(feed.DupKey(unsafe.String(unsafe.SliceData(id), len(id)), source))
		})
	}
}

// settleRun settles the records of one key.
func (c *collector) settleRun(run []idNote) {
	k := &c.all.counts
	same := true
	for _, n := range run[1:] {
		same = same && n.fp == run[0].fp
	}
	if same {
		c.dupKeys[run[0].key] = true
		extra := int64(len(run) - 1)
		k.Accepted -= extra
		k.Duplicate += extra
		switch run[0].fp & 3 {
		case 1:
			k.Unattributed -= extra
		case 2:
			k.BeyondEnd -= extra
		}
		return
	}
	c.conflicts[run[0].key] = true
	for _, n := range run {
		c.conflictFPs[n.fp&^3] = true
		k.Accepted--
		switch n.fp & 3 {
		case 1:
			k.Unattributed--
		case 2:
			k.BeyondEnd--
		}
	}
}

// dropAgain tells, called with the keys of what records left one after
// the other, which to drop: what conflicting ids left, and all but the
// first copy of what identical duplicates left (the copies are equal).
func dropAgain(dup, conflict map[uint64]bool) func(key uint64) bool {
	kept := map[uint64]bool{}
	return func(k uint64) bool {
		if conflict[k] {
			return true
		}
		if !dup[k] {
			return false
		}
		if kept[k] {
			return true
		}
		kept[k] = true
		return false
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
	canon []byte
}

// settleConflicts reads the inputs again for the records whose ids came
// with different contents from one source, and keeps, of each id and
// source, the one with the earliest time, then the smallest canonical JSON
// (SPEC §2).
func (c *collector) settleConflicts(spool *spool, inputs []string, workers int) error {
	var mu sync.Mutex
	byKey := map[uint64][]candidate{}
	// The records of conflicting keys, known by their fingerprints, are
	// picked out as they are read; only they are decoded.
	keep := func(rec feed.Record) bool {
		return rec.Err == "" && c.conflictFPs[feed.Fingerprint(rec.Raw)&^3]
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
					if !c.conflicts[key] {
						continue
					}
					canon, err := feed.Canonical(rec.Raw)
					if err != nil {
						canon = bytes.Clone(rec.Raw)
					}
					mu.Lock()
					byKey[key] = append(byKey[key], candidate{p: p, canon: canon})
					mu.Unlock()
				}
			}
		},
		func(*job) error { return nil })
	if err != nil {
		return err
	}
	for _, cands := range byKey {
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

func (s *spool) close() {
	if s.stdin != nil {
		s.stdin.Close()
		if !s.unlinked {
			os.Remove(s.stdin.Name())
		}
	}
}
