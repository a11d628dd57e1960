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

// Counts account for every record read (SPEC §2): read = accepted +
// rejected + duplicate + late. Unattributed and BeyondEnd are among the
// accepted.
type Counts struct {
	Read, Accepted, Rejected, Duplicate, Late int64
	Unattributed, BeyondEnd                   int64
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
}

// Outcome is the result of a run.
type Outcome struct {
	Result detect.Result
	Counts Counts
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
	reason string // rejected when non-empty
	p      detect.Prepared
	canon  []byte // the canonical JSON, when settling conflicts
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
	defer spool.close()

	c := newCollector(cfg, workers)
	err = pipeline(spool, inputs, false, workers, cfg.Progress,
		func(w int, dec *feed.Decoder, j *job) {
			prepare(cfg.Judge, dec, j)
			c.admit(&c.accs[w], j)
		},
		c.rejects)
	if err != nil {
		return nil, err
	}
	c.merge()
	if c.anyConflict() {
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
					progress(nrec, nbytes)
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

func prepare(judge *detect.Judge, dec *feed.Decoder, j *job) {
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
		it.p = judge.Prepare(&s, feed.Fingerprint([]byte(s.ID)))
		own(&it.p)
	}
}

// collector checks duplicates and keeps what judging and aggregating
// need. Workers admit their own batches, with the duplicate check sharded
// behind locks and each worker keeping its own lists; only the rejects
// file waits for input order.
type collector struct {
	cfg    Config
	shards [64]shard
	accs   []acc // one per worker, merged when reading ends
	all    acc
}

// shard is a part of the duplicate check. seen maps an id's hash to the
// fingerprint of the first record accepted with it. Byte-identical
// repeats are settled at once; a repeat that differs is a conflict,
// settled after reading by a second look at the records concerned. Which
// record of an id comes first depends on the workers' timing, but not
// what is finally kept: identical records judge alike, and conflicts are
// settled by content alone.
type shard struct {
	mu        sync.Mutex
	seen      map[uint64]uint64
	dups      map[uint64]int64 // identical repeats counted, by id hash
	conflicts map[uint64]bool
}

// acc is what a worker accepted.
type acc struct {
	counts Counts
	viols  []*detect.Violation
	tracks []*detect.TrackPoint
}

func newCollector(cfg Config, workers int) *collector {
	c := &collector{cfg: cfg, accs: make([]acc, workers)}
	for i := range c.shards {
		c.shards[i] = shard{seen: map[uint64]uint64{}, dups: map[uint64]int64{}, conflicts: map[uint64]bool{}}
	}
	return c
}

func (c *collector) shard(key uint64) *shard { return &c.shards[key>>58] }

// conflicted tells whether an id's records differ (after reading).
func (c *collector) conflicted(key uint64) bool { return c.shard(key).conflicts[key] }

// admit counts a prepared batch and checks its records for duplicates.
func (c *collector) admit(a *acc, j *job) {
	for i := range j.recs {
		a.counts.Read++
		it := &j.items[i]
		if it.reason != "" {
			a.counts.Rejected++
			continue
		}
		p := &it.p
		sh := c.shard(p.Key)
		sh.mu.Lock()
		fp, ok := sh.seen[p.Key]
		switch {
		case !ok:
			sh.seen[p.Key] = p.FP
			sh.mu.Unlock()
			a.accept(p)
		case fp == p.FP && !sh.conflicts[p.Key]:
			sh.dups[p.Key]++
			sh.mu.Unlock()
			a.counts.Duplicate++
		default:
			sh.conflicts[p.Key] = true // counted when settled
			sh.mu.Unlock()
		}
	}
}

// rejects writes a batch's rejected records, in input order.
func (c *collector) rejects(j *job) error {
	if c.cfg.Reject == nil {
		return nil
	}
	for i := range j.recs {
		if r := j.items[i].reason; r != "" {
			if err := c.cfg.Reject(Rejected{Record: j.recs[i], Reason: r}); err != nil {
				return err
			}
		}
	}
	return nil
}

// merge gathers the workers' lists into one.
func (c *collector) merge() {
	for i := range c.accs {
		a := &c.accs[i]
		k := &c.all.counts
		k.Read += a.counts.Read
		k.Accepted += a.counts.Accepted
		k.Rejected += a.counts.Rejected
		k.Duplicate += a.counts.Duplicate
		k.Unattributed += a.counts.Unattributed
		k.BeyondEnd += a.counts.BeyondEnd
		c.all.viols = append(c.all.viols, a.viols...)
		c.all.tracks = append(c.all.tracks, a.tracks...)
		*a = acc{}
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
		a.tracks = append(a.tracks, p.Track)
	}
}

// unaccept takes back what accept counted for a record.
func (a *acc) unaccept(p *detect.Prepared) {
	a.counts.Accepted--
	switch p.Outcome {
	case detect.Unattributed:
		a.counts.Unattributed--
	case detect.BeyondEnd:
		a.counts.BeyondEnd--
	}
}

type candidate struct {
	p     detect.Prepared
	canon []byte
}

// settleConflicts reads the inputs again for the records whose ids came
// with different contents, and keeps, of each id, the one with the
// earliest time, then the smallest canonical JSON (SPEC §2).
// mayConflict tells, without decoding, whether a record may have one of
// the conflicting ids. An id given in the record is somewhere in its text
// as "id": followed by a string without escapes or a number; if none of
// the values so written is a conflicting id, the record's id is not one
// either. Records with escapes, or with no "id" at all (a hash id), are
// decoded to be sure.
func (c *collector) mayConflict(raw []byte) bool {
	if bytes.IndexByte(raw, '\\') >= 0 {
		return true
	}
	found := false
	for rest := raw; ; {
		i := bytes.Index(rest, []byte(`"id"`))
		if i < 0 {
			break
		}
		rest = rest[i+4:]
		v := bytes.TrimLeft(rest, " \t\r\n")
		if len(v) == 0 || v[0] != ':' {
			continue
		}
		v = bytes.TrimLeft(v[1:], " \t\r\n")
		var id []byte
		switch {
		case len(v) > 0 && v[0] == '"':
			end := bytes.IndexByte(v[1:], '"')
			if end < 0 {
				return true
			}
			id = v[1 : 1+end]
		case len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9'):
			end := bytes.IndexAny(v, ",}] \t\r\n")
			if end < 0 {
				return true
			}
			id = v[:end]
		default:
			continue // null, or not a value: no id here
		}
		found = true
		if c.conflicted(feed.Fingerprint(id)) {
			return true
		}
	}
	return !found
}

func (c *collector) anyConflict() bool {
	for i := range c.shards {
		if len(c.shards[i].conflicts) > 0 {
			return true
		}
	}
	return false
}

func (c *collector) settleConflicts(spool *spool, inputs []string, workers int) error {
	byKey := map[uint64][]candidate{}
	err := pipeline(spool, inputs, true, workers, nil,
		func(_ int, dec *feed.Decoder, j *job) {
			var s detect.Sighting
			for i := range j.recs {
				rec := &j.recs[i]
				j.items[i] = item{}
				if rec.Err != "" || !c.mayConflict(rec.Raw) || dec.Decode(rec.Raw, &s) != nil {
					continue
				}
				key := feed.Fingerprint([]byte(s.ID))
				if !c.conflicted(key) {
					continue
				}
				canon, err := feed.Canonical(rec.Raw)
				if err != nil {
					canon = bytes.Clone(rec.Raw)
				}
				j.items[i] = item{p: c.cfg.Judge.Prepare(&s, key), canon: canon}
				own(&j.items[i].p)
				s = detect.Sighting{}
			}
		},
		func(j *job) error {
			for i := range j.items {
				if it := &j.items[i]; it.canon != nil {
					byKey[it.p.Key] = append(byKey[it.p.Key], candidate{p: it.p, canon: it.canon})
				}
			}
			return nil
		})
	if err != nil {
		return err
	}
	drop := map[uint64]bool{}
	var add []*detect.Prepared
	for key, cands := range byKey {
		// Take back the first record accepted in the first pass.
		sh := c.shard(key)
		for i := range cands {
			if cands[i].p.FP == sh.seen[key] {
				c.all.unaccept(&cands[i].p)
				break
			}
		}
		c.all.counts.Duplicate -= sh.dups[key]
		drop[key] = true
		// Ids whose hashes collide are not duplicates of each other.
		slices.SortFunc(cands, func(a, b candidate) int {
			return cmp.Or(cmp.Compare(a.p.ID, b.p.ID), cmp.Compare(a.p.Time, b.p.Time), bytes.Compare(a.canon, b.canon))
		})
		for i := range cands {
			if i > 0 && cands[i].p.ID == cands[i-1].p.ID {
				c.all.counts.Duplicate++
				continue
			}
			add = append(add, &cands[i].p)
		}
	}
	c.all.viols = slices.DeleteFunc(c.all.viols, func(v *detect.Violation) bool { return drop[v.Key()] })
	c.all.tracks = slices.DeleteFunc(c.all.tracks, func(t *detect.TrackPoint) bool { return drop[t.Key()] })
	for _, p := range add {
		c.all.accept(p)
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
// file as it is read, so that conflicting duplicates can be settled.
type spool struct {
	stdin *os.File
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
			return nil, err
		}
		s.stdin = f
	}
	return s, nil
}

func (s *spool) open(name string, again bool) (*feed.Source, error) {
	if name != "-" {
		return feed.Open(name)
	}
	if !again {
		return feed.NewSource("-", io.TeeReader(os.Stdin, s.stdin)), nil
	}
	if _, err := s.stdin.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return feed.NewSource("-", s.stdin), nil
}

func (s *spool) close() {
	if s.stdin != nil {
		s.stdin.Close()
		os.Remove(s.stdin.Name())
	}
}
