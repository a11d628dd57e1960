package stream_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"golang.org/x/mod/sumdb/note"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/sources"
	"github.com/linewatch/linewatch/stream"
	"github.com/linewatch/linewatch/tlog"
	"github.com/linewatch/linewatch/verify"
)

const testOrigin = "linewatch.example/test"

// testLog is a log's key and a directory to keep it in.
func newTestLog(t testing.TB, dir string) *stream.LogConfig {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	st, err := tlog.NewPackDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return &stream.LogConfig{Storage: st, Origin: testOrigin, Signer: s, Verifier: v}
}

// verifyLog runs verify on a log and the alerts made under it, as a party
// would, and fails the test unless every check holds.
func verifyLog(t testing.TB, lc *stream.LogConfig, c *consumer, reg *sources.Registry, alerts []byte) *verify.Report {
	t.Helper()
	var out bytes.Buffer
	rep, err := verify.Run(context.Background(), verify.Config{
		Log: lc.Storage, Keys: []note.Verifier{lc.Verifier}, Line: c.line, Policy: c.pol, Sources: reg,
		Alerts: alerts, Complete: true, Out: &out,
	})
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, out.String())
	}
	return rep
}

func checkpointOf(t testing.TB, st tlog.Fetcher) tlog.Checkpoint {
	t.Helper()
	msg, err := st.Get(context.Background(), tlog.CheckpointName)
	if err != nil {
		t.Fatal(err)
	}
	text, _, _ := strings.Cut(string(msg), "\n\n")
	cp, err := tlog.ParseCheckpoint(text + "\n")
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// The log is exact across restarts: a run stopped half-way and resumed,
// and one resumed from a checkpoint older than the log's (as after a
// crash between the log's checkpoint and the engine's), write the very
// alerts — "log" members included — and the very log of an uninterrupted
// run; every record is a leaf, and verify holds on the log and alerts.
func TestLogResumesExactly(t *testing.T) {
	line := loadLine(t, "front-2024")
	pol := detect.DefaultPolicy()
	data := generate(t, line, scenario(t, 6_000, 9))
	recs := lines(data)
	half := len(recs) / 2

	dir := t.TempDir()
	b := startBroker(t, filepath.Join(dir, "broker"))
	defer b.Close()
	n1 := publish(t, b.JS, []byte(joinLines(recs[:half])))

	// Stopped half-way (its checkpoint saved), then resumed; then taken
	// back to the half-way checkpoint while the log is at the end, and
	// resumed again.
	c := &consumer{line: line, pol: pol, dir: filepath.Join(dir, "c"), broker: b, records: 500}
	c.log = newTestLog(t, filepath.Join(c.dir, "log"))
	c.run(t, uint64(n1))
	saved, err := os.ReadFile(filepath.Join(c.dir, "state", "checkpoint.db"))
	if err != nil {
		t.Fatal(err)
	}
	n2 := publish(t, b.JS, []byte(joinLines(recs[half:])))
	all := uint64(n1 + n2)

	// Uninterrupted.
	ref := &consumer{line: line, pol: pol, dir: filepath.Join(dir, "ref"), broker: b, records: 100_000}
	ref.log = newTestLog(t, filepath.Join(ref.dir, "log"))
	ref.log.Signer, ref.log.Verifier = c.log.Signer, c.log.Verifier
	ref.run(t, all)
	want := ref.alerts(t)
	if !bytes.Contains(want, []byte(`,"log":{"origin":"`+testOrigin+`","size":`)) {
		t.Fatalf("the alerts carry no log member:\n%.400s", want)
	}
	wantCP := checkpointOf(t, ref.log.Storage)
	if wantCP.Size != all {
		t.Fatalf("the log holds %d entries, %d records were consumed", wantCP.Size, all)
	}
	verifyLog(t, ref.log, ref, nil, want)

	c.run(t, all)
	if got := c.alerts(t); !bytes.Equal(got, want) {
		t.Fatal("alerts after a restart differ from an uninterrupted run's")
	}
	if err := os.WriteFile(filepath.Join(c.dir, "state", "checkpoint.db"), saved, 0o600); err != nil {
		t.Fatal(err)
	}
	c.run(t, all)
	if got := c.alerts(t); !bytes.Equal(got, want) {
		t.Fatal("alerts after resuming behind the log differ from an uninterrupted run's")
	}
	if got := checkpointOf(t, c.log.Storage); got != wantCP {
		t.Fatalf("the log's checkpoint is %v, an uninterrupted run's %v", got, wantCP)
	}

	// A fresh state on a log that holds other records: the engine
	// refuses to fork it.
	other := startBroker(t, filepath.Join(dir, "other"))
	defer other.Close()
	publish(t, other.JS, []byte(joinLines(recs[:100])))
	f := &consumer{line: line, pol: pol, dir: filepath.Join(dir, "f"), broker: other, records: 500, log: c.log}
	if err := f.try(t, 100); !errors.Is(err, tlog.ErrDiverged) {
		t.Fatalf("a fresh state on another run's log: %v, want ErrDiverged", err)
	}
}

// A state and a log go together from the first record: a state begun
// without a log is not resumed with one (the log would lack its records),
// nor a state with a log without it (the log would lack what follows).
func TestLogStateMismatch(t *testing.T) {
	line := loadLine(t, "front-2024")
	pol := detect.DefaultPolicy()
	data := generate(t, line, scenario(t, 1_000, 3))
	dir := t.TempDir()
	b := startBroker(t, filepath.Join(dir, "broker"))
	defer b.Close()
	n := publish(t, b.JS, data)

	c := &consumer{line: line, pol: pol, dir: filepath.Join(dir, "nolog"), broker: b, records: 500}
	c.run(t, uint64(n))
	c.log = newTestLog(t, filepath.Join(dir, "log1"))
	if err := c.try(t, uint64(n)); !errors.Is(err, stream.ErrLogState) || !strings.Contains(err.Error(), "begun without a log") {
		t.Fatalf("a state without a log resumed with one: %v", err)
	}

	l := &consumer{line: line, pol: pol, dir: filepath.Join(dir, "withlog"), broker: b, records: 500, log: newTestLog(t, filepath.Join(dir, "log2"))}
	l.run(t, uint64(n))
	l.log = nil
	if err := l.try(t, uint64(n)); !errors.Is(err, stream.ErrLogState) || !strings.Contains(err.Error(), "--log-key") {
		t.Fatalf("a state with a log resumed without: %v", err)
	}
}

// sightingOf is a sighting of a unit of RU over the 2024 front, of source.
func sightingOf(id, source string, day int) string {
	return fmt.Sprintf(`{"type":"Feature","id":%q,"geometry":{"type":"Point","coordinates":[37.8,48.0]},"properties":{"time":"2024-01-%02dT12:00:00Z","side":"RU","source":%q}}`, id, day, source)
}

// Signed messages are logged with their body and each record's ordinal,
// the body and its note stored beside the tiles; a record that names a
// source that signs, without its signature, or another source than its
// message's, is rejected ("unauthenticated"); and verify holds on the log,
// checking each body's signature.
func TestLogSignedMessages(t *testing.T) {
	line := loadLine(t, "front-2024")
	pol := detect.DefaultPolicy()
	dir := t.TempDir()
	b := startBroker(t, filepath.Join(dir, "broker"))
	defer b.Close()

	skey, vkey, _ := note.GenerateKey(rand.Reader, "obs-a")
	signer, _ := note.NewSigner(skey)
	ver, _ := note.NewVerifier(vkey)
	reg, err := sources.New(&sources.Source{ID: "obs-a", Key: vkey, Verifier: ver, Affiliation: "UA"},
		&sources.Source{ID: "drone", Token: "t0k", Affiliation: "RU"})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(sightingOf("a1", "obs-a", 1) + "\n" + sightingOf("a2", "obs-a", 1) + "\n{\"broken\n")
	sig, err := sources.SignBody(signer, "obs-a", body)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pub := func(data []byte, hdr map[string]string) {
		m := &nats.Msg{Subject: "linewatch.sightings.x", Data: data, Header: nats.Header{}}
		for k, v := range hdr {
			m.Header.Set(k, v)
		}
		if _, err := b.JS.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	pub(body, map[string]string{stream.SourceHeader: "obs-a", sources.SignatureHeader: sig})
	// The same records with a signature of another body: unauthenticated.
	badSig, _ := sources.SignBody(signer, "obs-a", []byte("other"))
	pub([]byte(sightingOf("b1", "obs-a", 2)+"\n"), map[string]string{stream.SourceHeader: "obs-a", sources.SignatureHeader: badSig})
	// A record of the signing source, unsigned: unauthenticated.
	pub([]byte(sightingOf("c1", "obs-a", 2)+"\n"), nil)
	// The drone's message, one record of its own and one naming another.
	pub([]byte(sightingOf("d1", "drone", 2)+"\n"+sightingOf("d2", "ghost", 2)+"\n"), map[string]string{stream.SourceHeader: "drone"})

	c := &consumer{line: line, pol: pol, dir: dir, broker: b, records: 500, log: newTestLog(t, filepath.Join(dir, "log")), sources: reg}
	c.run(t, 4)
	rejects, err := os.ReadFile(filepath.Join(dir, "rejects.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"b1", "c1", "d2"} {
		if !bytes.Contains(rejects, []byte(`"id":\"`+id+`\"`)) && !bytes.Contains(rejects, []byte(id)) {
			t.Errorf("record %s is not among the rejects:\n%s", id, rejects)
		}
	}
	if got := bytes.Count(rejects, []byte(`"reason":"unauthenticated"`)); got != 3 {
		t.Errorf("%d unauthenticated rejects, want 3:\n%s", got, rejects)
	}
	es := logEntries(t, c.log.Storage)
	if len(es) != 7 {
		t.Fatalf("%d entries, want 7", len(es))
	}
	sum := sha256.Sum256(body)
	for k := range 3 {
		e := es[k]
		if e.Body == nil || e.Body.Sum != sum || e.Body.Index != uint32(k) || e.Source != "obs-a" || e.Seq != 1 {
			t.Errorf("entry %d: %+v, want record %d of the signed body", k, e, k)
		}
	}
	if es[3].Body != nil || es[3].Source != "" || es[4].Source != "" || es[5].Source != "drone" || es[6].Source != "drone" {
		t.Errorf("entries 3 to 6: %+v %+v %+v %+v", es[3].Entry, es[4].Entry, es[5].Entry, es[6].Entry)
	}
	if got, err := c.log.Storage.Get(ctx, tlog.BodyPath(sum)); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("the stored body: %q %v", got, err)
	}
	rep := verifyLog(t, c.log, c, reg, c.alerts(t))
	if rep.Bodies != 1 || rep.Signed != 3 || rep.Unsigned != 4 {
		t.Fatalf("verify checked %+v", rep)
	}
}

// logEntries reads a log's entries back.
func logEntries(t testing.TB, st tlog.Fetcher) []tlog.DecodedEntry {
	t.Helper()
	cp := checkpointOf(t, st)
	r := tlog.NewReader(st)
	var out []tlog.DecodedEntry
	for n := int64(0); uint64(n)*tlog.TileWidth < cp.Size; n++ {
		es, err := r.Bundle(context.Background(), n, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range es {
			d, err := tlog.ParseEntry(bytes.Clone(e))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, d)
		}
	}
	return out[:cp.Size]
}

// The log in JetStream: objects in an object store, the checkpoint in a
// key-value bucket on condition of its revision, so that once another
// engine has claimed the log, this one's checkpoint is fenced off.
func TestJetStreamLog(t *testing.T) {
	b := startBroker(t, t.TempDir())
	defer b.Close()
	ctx := context.Background()
	kv, err := stream.StateBucket(ctx, b.JS, "state", 1)
	if err != nil {
		t.Fatal(err)
	}
	open := func() *stream.JetStreamLog {
		l, err := stream.OpenJetStreamLog(ctx, b.JS, "state-log", kv, "linewatch", 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Claim(ctx); err != nil {
			t.Fatal(err)
		}
		return l
	}
	a := open()
	if _, err := a.Get(ctx, "tile/0/000"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a missing object: %v", err)
	}
	if _, err := a.Get(ctx, tlog.CheckpointName); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a missing checkpoint: %v", err)
	}
	big := bytes.Repeat([]byte("x"), 3<<20) // more than a message holds
	if err := a.Put(ctx, "records/ab", big); err != nil {
		t.Fatal(err)
	}
	if got, err := a.Get(ctx, "records/ab"); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("got %d bytes, %v", len(got), err)
	}
	if err := a.Delete(ctx, "records/ab"); err != nil {
		t.Fatal(err)
	}
	if err := a.Delete(ctx, "records/ab"); err != nil {
		t.Fatalf("deleting again: %v", err)
	}

	// A writer on it: what it writes, a reader reads back.
	lc := newTestLog(t, t.TempDir())
	lc.Storage = a
	w, err := tlog.NewWriter(ctx, tlog.WriterConfig{Storage: a, Origin: testOrigin, Signer: lc.Signer, Verifier: lc.Verifier})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		e := tlog.Entry{Time: int64(i), Seq: uint64(i + 1), Record: []byte(fmt.Sprint(`{"n":`, i, `}`))}
		l, _ := e.Leaf()
		if _, err := w.Append(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if es := logEntries(t, a); len(es) != 300 || string(es[299].Record) != `{"n":299}` {
		t.Fatalf("read back %d entries", len(es))
	}

	// Another engine claims the log: this one's checkpoints are refused.
	bEngine := open()
	if err := bEngine.Put(ctx, tlog.CheckpointName, []byte("b's")); err != nil {
		t.Fatal(err)
	}
	if err := a.Put(ctx, tlog.CheckpointName, []byte("a's")); !errors.Is(err, stream.ErrFenced) {
		t.Fatalf("a checkpoint after another engine claimed the log: %v, want ErrFenced", err)
	}
	if got, _ := a.Get(ctx, tlog.CheckpointName); string(got) != "b's" {
		t.Fatalf("the checkpoint is %q", got)
	}
}

// The log's HTTP handler serves the checkpoint from storage while no
// writer is open (a standby), and refuses cosignatures for the time being.
func TestLogHandlerWithoutWriter(t *testing.T) {
	lc := newTestLog(t, t.TempDir())
	ctx := context.Background()
	lc.Storage.Put(ctx, tlog.CheckpointName, []byte("a checkpoint\n"))
	h := lc.Handler()
	for _, tc := range []struct {
		method, path string
		code         int
		body         string
	}{
		{"GET", "/checkpoint", 200, "a checkpoint\n"},
		{"POST", "/cosignature", 503, "not being written here now"},
		{"GET", "/tile/0/000", 404, ""},
	} {
		rec := httpDo(h, tc.method, tc.path, nil)
		if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.body) {
			t.Errorf("%s %s: %d %q", tc.method, tc.path, rec.Code, rec.Body.String())
		}
	}
}

func httpDo(h http.Handler, method, path string, body []byte) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, bytes.NewReader(body)))
	return rec
}

// coveredSink is an AlertSink that checks, as each alert is written, that
// the log's published checkpoint already covers the tree the alert names,
// and that no two writes overlap.
type coveredSink struct {
	t       *testing.T
	store   tlog.Storage
	ver     note.Verifier
	inWrite atomic.Bool
	n       int
	buf     bytes.Buffer
	stream.AlertSink
}

func (s *coveredSink) Write(alert []byte) error {
	if !s.inWrite.CompareAndSwap(false, true) {
		s.t.Error("two alerts written at once")
	}
	defer s.inWrite.Store(false)
	_, l, err := tlog.CutAlertLog(alert)
	if err != nil || l == nil {
		s.t.Errorf("alert %d without its log member: %v", s.n, err)
		return nil
	}
	msg, err := s.store.Get(context.Background(), tlog.CheckpointName)
	if err != nil {
		s.t.Errorf("alert %d (tree of %d) written before any checkpoint: %v", s.n, l.Size, err)
		return nil
	}
	sigs, err := tlog.OpenCheckpoint(msg, []note.Verifier{s.ver}, 1)
	if err != nil {
		s.t.Fatal(err)
	}
	if sigs.Checkpoint.Size < l.Size {
		s.t.Errorf("alert %d names a tree of %d entries, but the published checkpoint holds %d", s.n, l.Size, sigs.Checkpoint.Size)
	}
	s.n++
	s.buf.Write(alert)
	s.buf.WriteByte('\n')
	return nil
}

func (s *coveredSink) Flush() error         { return nil }
func (s *coveredSink) Sync() error          { return nil }
func (s *coveredSink) State() []byte        { return nil }
func (s *coveredSink) Restore([]byte) error { return nil }
func (s *coveredSink) Close() error         { return nil }

// TestAlertsLeaveAfterTheirCheckpoint: the engine writes each alert only
// once a published checkpoint of the log covers the tree it names, though
// it consumes on while the log syncs; and the alerts are those of a run
// without the log, but for their log members.
func TestAlertsLeaveAfterTheirCheckpoint(t *testing.T) {
	pol := detect.DefaultPolicy()
	line := loadLine(t, "front-2024")
	feed := bytes.NewBuffer(generate(t, line, scenario(t, 60_000, 7)))
	lc := newTestLog(t, t.TempDir())
	sink := &coveredSink{t: t, store: lc.Storage, ver: lc.Verifier}
	// Checkpoints of its own every 5,000 records too, which, with
	// nothing to resume from, publish the log's as the alerts do.
	d := stream.New(stream.Config{Judge: detect.NewJudge(line, pol), Alerts: sink, Finite: true, Log: lc,
		CheckpointRecords: 5000, CheckpointEvery: time.Hour})
	if err := d.Run(context.Background(), &stream.ReaderSource{Name: "-", R: bytes.NewReader(feed.Bytes())}); err != nil {
		t.Fatal(err)
	}
	if sink.n < 3 {
		t.Fatalf("%d alerts: the scenario should make more", sink.n)
	}
	// When Run returns, the log's last checkpoint holds every record.
	msg, err := lc.Storage.Get(context.Background(), tlog.CheckpointName)
	if err != nil {
		t.Fatal(err)
	}
	last, err := tlog.OpenCheckpoint(msg, []note.Verifier{lc.Verifier}, 1)
	if err != nil || int64(last.Checkpoint.Size) != d.Counts().Read {
		t.Fatalf("the last checkpoint %+v (%v), for %d records read", last, err, d.Counts().Read)
	}

	var plain bytes.Buffer
	out, _ := stream.OpenLog("-", &plain)
	d = stream.New(stream.Config{Judge: detect.NewJudge(line, pol), Alerts: stream.NewFileSink(out), Finite: true})
	if err := d.Run(context.Background(), &stream.ReaderSource{Name: "-", R: bytes.NewReader(feed.Bytes())}); err != nil {
		t.Fatal(err)
	}
	var cut bytes.Buffer
	for _, l := range bytes.SplitAfter(sink.buf.Bytes(), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		a, _, err := tlog.CutAlertLog(l)
		if err != nil {
			t.Fatal(err)
		}
		cut.Write(a)
		cut.WriteByte('\n')
	}
	if cut.String() != plain.String() {
		t.Errorf("the alerts written with the log differ from those without it, log members aside:\n%.600s\nwant\n%.600s", cut.String(), plain.String())
	}
}
