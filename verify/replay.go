package verify

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"golang.org/x/mod/sumdb/note"
	sumtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/internal/num"
	"github.com/linewatch/linewatch/sources"
	"github.com/linewatch/linewatch/stream"
	"github.com/linewatch/linewatch/tlog"
)

var jsonUnmarshal = json.Unmarshal

// replay reads the log's entries once, checking each (logSource), and
// offers their records to the engine through stream.Driver, the very path
// the streaming engine takes: batches decoded and prepared on workers,
// then offered in order, Advance after every record, each record judged
// for max_future against its entry's time, and logged again, with the
// entry's metadata, into a log of its own in memory — so that the alerts
// it makes carry their "log" members, the tree and the evidence leaves,
// as the engine's did. It returns the alerts made.
func (v *verifier) replay(ctx context.Context) ([]byte, error) {
	var buf bytes.Buffer
	out, err := stream.OpenLog("-", &buf)
	if err != nil {
		return nil, err
	}
	sink := stream.NewFileSink(out)
	// The replay's log signs nothing anyone checks: a key of its own.
	skey, vkey, err := note.GenerateKey(rand.Reader, v.rep.Checkpoint.Origin)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	d := stream.New(stream.Config{
		Judge: detect.NewJudge(v.cfg.Line, v.cfg.Policy), Workers: v.cfg.Workers, Alerts: sink,
		CheckpointEvery: time.Hour, CheckpointRecords: 1 << 62,
		Log:     &stream.LogConfig{Storage: tlog.NewMem(), Origin: v.rep.Checkpoint.Origin, Signer: signer, Verifier: verifier},
		Sources: v.cfg.Sources,
	})
	src := &logSource{v: v, dec: feed.NewDecoder()}
	runErr := d.Run(ctx, src)
	if src.failure != nil {
		return nil, src.failure
	}
	if runErr != nil {
		return nil, fmt.Errorf("replay: %w", runErr)
	}
	if err := sink.Flush(); err != nil {
		return nil, err
	}
	if t, c := d.LogTree(), v.rep.Checkpoint; t.Size != c.Size || t.Root != c.Root {
		// The entries were checked against the root as they were read:
		// this is the replay's own check of its log.
		return nil, fmt.Errorf("replay: its log has %d entries of root %s, not the checkpoint's %d of root %s", t.Size, b64(t.Root), c.Size, b64(c.Root))
	}
	return buf.Bytes(), nil
}

// logSource reads the entries of the checkpoint's tree, checks them, and
// hands their records to the driver.
type logSource struct {
	v       *verifier
	dec     *feed.Decoder
	failure error

	root      tlog.RootBuilder
	prevTime  int64
	prevSeq   uint64
	run       *bodyRun // the signed body whose records are being read
	sighting  detect.Sighting
	leafIndex uint64
}

// bodyRun is a signed body being read: its records come one after the
// other, all of them, in order (the engine consumes a body as one
// message).
type bodyRun struct {
	sum    [32]byte
	source string
	first  uint64 // its first leaf
	recs   []feed.Record
	next   int
}

func (s *logSource) fail(err error) error {
	s.failure = err
	return errStop
}

func (s *logSource) Run(ctx context.Context, bt *stream.Batcher) error {
	v := s.v
	c := v.rep.Checkpoint
	for n := int64(0); uint64(n)*tlog.TileWidth < c.Size; n++ {
		entries, err := v.r.Bundle(ctx, n, c.Size)
		if err != nil {
			return s.fail(mismatch("%v: the log lost entries the signed tree holds", err))
		}
		start := uint64(n) * tlog.TileWidth
		end := min(start+tlog.TileWidth, c.Size)
		if uint64(len(entries)) < end-start {
			return s.fail(mismatch("%s holds %d entries, the signed tree needs %d: entries were removed", tlog.EntriesPath(n, int(end-start)%tlog.TileWidth), len(entries), end-start))
		}
		hashes, err := v.r.LeafHashes(ctx, c, start, end)
		if err != nil {
			return s.fail(mismatch("the log's tiles do not hash to the signed root: %v", err))
		}
		for k, data := range entries[:end-start] {
			i := start + uint64(k)
			h := sumtlog.RecordHash(data)
			if h != hashes[k] {
				return s.fail(mismatch("leaf %d: its entry hashes to %s, but the signed tree holds %s there: the entry was changed, removed or moved after it was logged", i, b64(h), b64(hashes[k])))
			}
			s.root.Add(h)
			rec, d, err := s.entry(ctx, i, data, h)
			if err != nil {
				return s.fail(err)
			}
			b := bt.Current()
			b.AddRecord(feed.Record{File: "log", Line: int(i + 1), Index: -1, Raw: rec},
				stream.RecordMeta{Ref: d.Time, Seq: d.Seq, Source: d.Source, Body: d.Body})
			if bt.Pending() >= stream.MaxBatch {
				b.Last = i + 1
				if err := bt.Flush(ctx); err != nil {
					return err
				}
			}
		}
	}
	if s.run != nil {
		return s.fail(s.incomplete(c.Size))
	}
	if r := s.root.Root(); r != c.Root {
		return s.fail(mismatch("the entries hash to %s, not to the signed root %s", b64(r), b64(c.Root)))
	}
	v.rep.Entries = c.Size
	if c.Size > 0 {
		bt.Current().Last = c.Size
	}
	return bt.Flush(ctx)
}

// entry checks one entry and returns its record and the entry.
func (s *logSource) entry(ctx context.Context, i uint64, data []byte, h tlog.Hash) ([]byte, *tlog.DecodedEntry, error) {
	v := s.v
	d, err := tlog.ParseEntry(data)
	if err != nil {
		return nil, nil, mismatch("leaf %d: %v", i, err)
	}
	rec := d.Record
	if d.RecordAt != nil {
		if rec, err = v.r.Record(ctx, *d.RecordAt); err != nil {
			return nil, nil, mismatch("leaf %d: %v", i, err)
		}
	}
	if i > 0 {
		if d.Time < s.prevTime {
			return nil, nil, mismatch("leaf %d: stored at %s, before leaf %d (%s): the log's times never go back, so leaf %d was inserted, moved or back-dated",
				i, num.FormatTime(d.Time), i-1, num.FormatTime(s.prevTime), i)
		}
		if d.Seq != 0 && s.prevSeq != 0 {
			if d.Seq < s.prevSeq {
				return nil, nil, mismatch("leaf %d: from broker message %d, after leaf %d from message %d: the log's sequence never goes back, so leaf %d was inserted or moved", i, d.Seq, i-1, s.prevSeq, i)
			}
			if d.Seq == s.prevSeq && d.Time != s.prevTime {
				return nil, nil, mismatch("leaf %d: broker message %d stored at %s, but leaf %d says %s: one message has one time", i, d.Seq, num.FormatTime(d.Time), i-1, num.FormatTime(s.prevTime))
			}
		}
	}
	s.prevTime, s.prevSeq = d.Time, d.Seq
	if err := s.source(ctx, i, &d, rec); err != nil {
		return nil, nil, err
	}
	if w := v.wanted[i]; w != nil {
		w.seen, w.hash = true, h
		if s.dec.Decode(rec, &s.sighting) == nil {
			w.id, w.source = s.sighting.ID, s.sighting.Source
		}
	}
	return rec, &d, nil
}

// source checks what ties a record to its source.
func (s *logSource) source(ctx context.Context, i uint64, d *tlog.DecodedEntry, rec []byte) error {
	v := s.v
	reg := v.cfg.Sources
	if d.Body == nil {
		if s.run != nil {
			return s.incomplete(i)
		}
		if src := reg.Source(d.Source); src != nil && src.Signs() {
			return mismatch("leaf %d: source %q signs its bodies, but this record comes with no signed body: that source did not post it", i, d.Source)
		}
		// A record that names another source than the one its message was
		// authenticated as, or a source that signs, is the engine's to
		// reject ("unauthenticated"): the replay does the same.
		v.rep.Unsigned++
		return nil
	}
	ref := d.Body
	if s.run != nil && (s.run.sum != ref.Sum || int(ref.Index) != s.run.next) {
		if s.run.sum == ref.Sum {
			return mismatch("leaf %d: record %d of body %s follows record %d of it (leaf %d): records of the body were dropped, inserted or moved",
				i, ref.Index, short(ref.Sum), s.run.next-1, i-1)
		}
		return s.incomplete(i)
	}
	if s.run == nil {
		if ref.Index != 0 {
			return mismatch("leaf %d: record %d of body %s, whose records before it are not the leaves before it: records were dropped or moved", i, ref.Index, short(ref.Sum))
		}
		src := reg.Source(d.Source)
		if src == nil || !src.Signs() {
			return mismatch("leaf %d: a record of a body signed by source %q, whom the sources file gives no key: its signature cannot be checked (give --sources with the engine's registry)", i, d.Source)
		}
		body, signed, err := v.r.Body(ctx, ref.Sum)
		if err != nil {
			return mismatch("leaf %d: %v", i, err)
		}
		if err := sources.VerifyBody(src, body, signed); err != nil {
			return mismatch("body %s (source %q, from leaf %d): %v", short(ref.Sum), src.ID, i, err)
		}
		recs, err := sources.Records(body)
		if err != nil {
			return mismatch("body %s: %v", short(ref.Sum), err)
		}
		if err := sources.CheckRecordSources(recs, src.ID); err != nil {
			return mismatch("body %s (source %q): %v", short(ref.Sum), src.ID, err)
		}
		s.run = &bodyRun{sum: ref.Sum, source: src.ID, first: i, recs: recs}
		v.rep.Bodies++
	}
	r := s.run
	if d.Source != r.source {
		return mismatch("leaf %d: a record of body %s, signed by source %q, logged as source %q's", i, short(ref.Sum), r.source, d.Source)
	}
	if int(ref.Index) >= len(r.recs) {
		return mismatch("leaf %d: record %d of body %s, which holds %d records", i, ref.Index, short(ref.Sum), len(r.recs))
	}
	if !bytes.Equal(r.recs[ref.Index].Raw, rec) {
		return mismatch("leaf %d: its record is not record %d of body %s as source %q signed it: the record was changed", i, ref.Index, short(ref.Sum), r.source)
	}
	r.next++
	if r.next == len(r.recs) {
		s.run = nil
	}
	v.rep.Signed++
	return nil
}

// incomplete is the mismatch of a body whose records stop before its end.
func (s *logSource) incomplete(at uint64) error {
	r := s.run
	return mismatch("body %s (source %q, from leaf %d): records %d to %d of its %d are not in the log (leaf %d is not of it): they were dropped",
		short(r.sum), r.source, r.first, r.next, len(r.recs)-1, len(r.recs), at)
}

// checkAlerts checks that each alert's tree is the checkpoint tree's at
// its size, and each evidence leaf's inclusion and id.
func (v *verifier) checkAlerts(ctx context.Context) error {
	c := v.rep.Checkpoint
	hr := v.r.HashReader(ctx, c)
	for _, a := range v.alerts {
		if a.log.Size > c.Size {
			return mismatch("%s was made under a tree of %d entries, larger than the checkpoint's %d: fetch a newer checkpoint", a.name(), a.log.Size, c.Size)
		}
		root, err := sumtlog.TreeHash(int64(a.log.Size), hr)
		if err != nil {
			return mismatch("%s: the root of the log's first %d entries: %v", a.name(), a.log.Size, err)
		}
		if root != a.log.Root {
			return mismatch("%s was made under a tree of %d entries with root %s, but the log's tree has root %s at that size: the alert's tree is not this log's",
				a.name(), a.log.Size, b64(a.log.Root), b64(root))
		}
		for j, x := range a.log.Evidence {
			w := v.wanted[x]
			if w == nil || !w.seen {
				return mismatch("%s: evidence leaf %d was not read", a.name(), x)
			}
			if w.id != a.ids[j] {
				return mismatch("%s: evidence %d is id %q, but leaf %d holds the record of id %q", a.name(), j, a.ids[j], x, w.id)
			}
			proof, err := sumtlog.ProveRecord(int64(a.log.Size), int64(x), hr)
			if err == nil {
				err = sumtlog.CheckRecord(proof, int64(a.log.Size), a.log.Root, int64(x), w.hash)
			}
			if err != nil {
				return mismatch("%s: evidence %d (id %q) is not included at leaf %d of its tree: %v", a.name(), j, a.ids[j], x, err)
			}
			v.rep.Evidence++
		}
		v.rep.Alerts++
	}
	if len(v.alerts) > 0 {
		v.printf("alerts: %d, each made under a tree the checkpoint's extends; %d evidence leaves included, each holding its id", v.rep.Alerts, v.rep.Evidence)
	}
	return nil
}

// compare finds each alert given among the replay's, in order, byte for
// byte, "log" members included: the replay logs the records as the engine
// did, so its alerts name the same trees and evidence leaves.
func (v *verifier) compare(replayed []byte) error {
	type ralert struct {
		bytes  []byte
		log    *tlog.AlertLog
		id     string
		status string
	}
	var rs []ralert
	for line := range bytes.Lines(replayed) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		body, l, err := tlog.CutAlertLog(line)
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		var f struct {
			Properties struct{ ID, Status string } `json:"properties"`
		}
		if err := json.Unmarshal(body, &f); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		rs = append(rs, ralert{body, l, f.Properties.ID, f.Properties.Status})
	}
	v.rep.Replayed = len(rs)
	matched := make([]bool, len(rs))
	cursor := 0
	for _, a := range v.alerts {
		j := cursor
		for ; j < len(rs); j++ {
			if bytes.Equal(rs[j].bytes, a.bytes) && (rs[j].log == nil || sameLog(rs[j].log, a.log)) {
				break
			}
		}
		if j == len(rs) {
			for k := range rs {
				if !matched[k] && rs[k].id == a.id && rs[k].status == a.status {
					if bytes.Equal(rs[k].bytes, a.bytes) {
						return mismatch("%s differs from the replay's in its \"log\" member: it says %s; the replay's: %s", a.name(), logText(a.log), logText(rs[k].log))
					}
					return mismatch("%s differs from the replay's: %s", a.name(), firstDifference(a.bytes, rs[k].bytes))
				}
			}
			return mismatch("%s is not one the records of the log make: the replay made no %s alert of episode %s (was the engine's line, policy or sources file another?)", a.name(), a.status, a.id)
		}
		matched[j] = true
		cursor = j + 1
	}
	if v.cfg.Complete {
		for k, m := range matched {
			if !m {
				return mismatch("the replay made alert %d (episode %s, %s), which the alerts given lack: an alert was withheld", k+1, rs[k].id, rs[k].status)
			}
		}
	}
	if v.cfg.Complete {
		v.printf("replay: %d records through the engine made %d alerts, exactly the %d given, byte for byte", v.rep.Entries, len(rs), len(v.alerts))
	} else {
		v.printf("replay: %d records through the engine made %d alerts; the %d given are among them, byte for byte", v.rep.Entries, len(rs), len(v.alerts))
	}
	return nil
}

func logText(l *tlog.AlertLog) string {
	if l == nil {
		return "nothing"
	}
	return fmt.Sprintf("tree size %d, root %s, evidence leaves %v", l.Size, b64(l.Root), l.Evidence)
}

func sameLog(a, b *tlog.AlertLog) bool {
	return a.Origin == b.Origin && a.Size == b.Size && a.Root == b.Root && slices.Equal(a.Evidence, b.Evidence)
}

// firstDifference names the first property (or the geometry) in which two
// alerts differ.
func firstDifference(got, want []byte) string {
	type feature struct {
		Geometry   json.RawMessage            `json:"geometry"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	var a, b feature
	if json.Unmarshal(got, &a) != nil || json.Unmarshal(want, &b) != nil {
		return "their bytes differ"
	}
	if !bytes.Equal(a.Geometry, b.Geometry) {
		return "its geometry is not the replay's"
	}
	var keys []string
	for k := range a.Properties {
		keys = append(keys, k)
	}
	for k := range b.Properties {
		if _, ok := a.Properties[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		x, y := a.Properties[k], b.Properties[k]
		if !bytes.Equal(x, y) {
			switch {
			case x == nil:
				return fmt.Sprintf("%q is missing from it; the replay's is %s", k, clip(y))
			case y == nil:
				return fmt.Sprintf("%q is in it (%s) but not in the replay's", k, clip(x))
			}
			return fmt.Sprintf("%q is %s in it, %s in the replay's", k, clip(x), clip(y))
		}
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("their bytes differ at byte %d", i)
		}
	}
	return "their lengths differ"
}

func clip(b []byte) string {
	if len(b) > 120 {
		return string(b[:117]) + "..."
	}
	return string(b)
}
