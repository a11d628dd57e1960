// Package batch is the batch driver of the detection engine: it reads
// sighting files on all cores, settles duplicates, and hands the engine
// everything at once (the watermark at the end of time).
package batch

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
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

const batchSize = 1024

// job is a batch of raw records, copied out of the reader's buffers.
type job struct {
	seq   int
	recs  []feed.Record // Raw points into data
	data  []byte
	offs  []int // where each record starts in data
	items []item
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
	err = pipeline(spool, inputs, false, workers, cfg.Progress,
		func(w int, dec *feed.Decoder, j *job) {
			prepare(cfg.Judge, cfg.Range, dec, j)
			c.admit(&c.accs[w], j)
		},
		c.rejects)
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

// pipeline reads the inputs in batches, has workers process each batch,
// and hands the batches to take in input order, so that whatever take
// does (count, write rejects) follows the input.
func pipeline(spool *spool, inputs []string, again bool, workers int, progress func(int64, int64),
	work func(w int, dec *feed.Decoder, j *job), take func(*job) error) error {
	// A fixed pool of batches circulates: reading waits for a free one, so
	// memory stays flat whatever the input's size.
	pool := workers*3 + 2
	jobs := make(chan *job, pool)
	done := make(chan *job, pool)
	free := make(chan *job, pool)
	for range pool {
		free <- &job{}
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dec := feed.NewDecoder()
			dec.Borrow = true // what is kept is copied in prepare
			for j := range jobs {
				work(w, dec, j)
				done <- j
			}
		}()
	}
	readErr := make(chan error, 1)
	go func() {
		readErr <- readAll(spool, inputs, again, jobs, free, progress)
		close(jobs)
		wg.Wait()
		close(done)
	}()
	pending := map[int]*job{}
	next := 0
	var takeErr error
	for j := range done {
		pending[j.seq] = j
		for {
			j, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			if takeErr == nil {
				takeErr = take(j)
			}
			free <- j
		}
	}
	if err := <-readErr; err != nil {
		return err
	}
	return takeErr
}

func readAll(spool *spool, inputs []string, again bool, jobs chan<- *job, free <-chan *job, progress func(int64, int64)) error {
	seq := 0
	var nrec, nbytes int64
	var j *job
	flush := func() {
		if j != nil && len(j.recs) > 0 {
			jobs <- j
			seq++
		}
		j = nil
	}
	for _, name := range inputs {
		src, err := spool.open(name, again)
		if err != nil {
			return err
		}
		for {
			rec, err := src.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				src.Close()
				return fmt.Errorf("%s: %w", name, err)
			}
			if j == nil {
				j = <-free
				j.recs, j.data, j.offs, j.items = j.recs[:0], j.data[:0], j.offs[:0], j.items[:0]
				j.seq = seq
			}
			// Raw is reused by the source: copy it; fix the slices up
			// once the batch's buffer stops moving.
			j.offs = append(j.offs, len(j.data))
			j.data = append(j.data, rec.Raw...)
			nrec++
			nbytes += int64(len(rec.Raw))
			rec.Raw = nil
			j.recs = append(j.recs, rec)
			j.items = append(j.items, item{})
			if len(j.recs) == batchSize {
				fixRaw(j)
				flush()
				if progress != nil {
					progress(nrec, spool.bytesRead(nbytes))
				}
			}
		}
		if err := src.Close(); err != nil {
			return err
		}
	}
	if j != nil {
		fixRaw(j)
	}
	flush()
	return nil
}

// fixRaw points each record's Raw into the batch's data, once data has
// stopped moving.
func fixRaw(j *job) {
	for i := range j.recs {
		end := len(j.data)
		if i+1 < len(j.recs) {
			end = j.offs[i+1]
		}
		j.recs[i].Raw = j.data[j.offs[i]:end:end]
	}
}

// own copies what a prepared record keeps of its borrowed raw text.
func own(p *detect.Prepared) {
	if p.Violation != nil && p.Violation.Props != nil {
		p.Violation.Props = bytes.Clone(p.Violation.Props)
	}
	if p.Track != nil && p.Track.Detail != nil && p.Track.Detail.Props != nil {
		p.Track.Detail.Props = bytes.Clone(p.Track.Detail.Props)
	}
}

func prepare(judge *detect.Judge, rng *TimeRange, dec *feed.Decoder, j *job) {
	var s detect.Sighting
	for i := range j.recs {
		rec := &j.recs[i]
		it := &j.items[i]
		*it = item{}
		if rec.Err != "" {
			it.reason = rec.Err
			continue
		}
		if err := dec.Decode(rec.Raw, &s); err != nil {
			var rj *feed.Reject
			if errors.As(err, &rj) {
				it.reason = rj.Reason
			} else {
				it.reason = err.Error()
			}
			continue
		}
		if !rng.Contains(s.Time) {
			it.outside = true
			continue
		}
		it.p = judge.Prepare(&s, feed.DupKey(s.ID, s.Source))
		own(&it.p)
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
	tracks []*detect.TrackPoint
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
	for i := range j.recs {
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
	for i := range j.recs {
		if r := j.items[i].reason; r != "" {
			rj := Rejected{Record: j.recs[i], Reason: r}
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
		c.all.tracks = append(c.all.tracks, a.tracks...)
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
		c.all.viols = keepOnce(c.all.viols, (*detect.Violation).Key, c.dupKeys, c.conflicts)
		c.all.tracks = keepOnce(c.all.tracks, (*detect.TrackPoint).Key, c.dupKeys, c.conflicts)
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

// keepOnce drops what the records of conflicting ids left, and all but one
// copy of what identical duplicates left (the copies are equal).
func keepOnce[T any](xs []T, key func(T) uint64, dup, conflict map[uint64]bool) []T {
	kept := map[uint64]bool{}
	return slices.DeleteFunc(xs, func(x T) bool {
		k := key(x)
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
	})
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
		a.tracks = append(a.tracks, p.Track)
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
	err := pipeline(spool, inputs, true, workers, nil,
		func(_ int, dec *feed.Decoder, j *job) {
			var s detect.Sighting
			for i := range j.recs {
				rec := &j.recs[i]
				// The records of conflicting keys, known by their
				// fingerprints, without decoding the others.
				if rec.Err != "" || !c.conflictFPs[feed.Fingerprint(rec.Raw)&^3] || dec.Decode(rec.Raw, &s) != nil || !c.cfg.Range.Contains(s.Time) {
					continue
				}
				key := feed.DupKey(s.ID, s.Source)
				if !c.conflicts[key] {
					continue
				}
				canon, err := feed.Canonical(rec.Raw)
				if err != nil {
					canon = bytes.Clone(rec.Raw)
				}
				p := c.cfg.Judge.Prepare(&s, key)
				own(&p)
				mu.Lock()
				byKey[key] = append(byKey[key], candidate{p: p, canon: canon})
				mu.Unlock()
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
	viols := append(c.all.viols, judge.PairTracks(c.all.tracks)...)
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
