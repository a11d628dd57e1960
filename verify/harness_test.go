package verify_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/keys"
	"github.com/linewatch/linewatch/output"
	"github.com/linewatch/linewatch/sources"
	"github.com/linewatch/linewatch/tlog"
	"github.com/linewatch/linewatch/witness"
)

const origin = "linewatch.example/straight"

// fixture is a joint mechanism in miniature: a line, three sources (one
// party's observer and a neutral patrol, who sign, and a drone with a
// token only), a log, two witnesses, and the alerts the engine made.
type fixture struct {
	line *geo.Line
	pol  detect.Policy
	reg  *sources.Registry

	logS      note.Signer
	logV      note.Verifier
	witnesses []*witness.Witness
	witnessV  []note.Verifier
	srcKeys   map[string]note.Signer

	store  *tlog.Mem
	alerts []byte
}

// message is what JetStream stores: a signed body as posted, or records
// of a source with a token, rewritten with its id.
type message struct {
	seq    uint64
	time   int64 // µs
	source string
	data   []byte
	signed bool
}

func genKey(t *testing.T, name string) (note.Signer, note.Verifier, string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	return s, v, vkey
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	fx := &fixture{srcKeys: map[string]note.Signer{}}
	pol := detect.DefaultPolicy()
	line, err := geo.LoadFile("../fixtures/lines/straight.geojson", pol.LineOptions())
	if err != nil {
		t.Fatal(err)
	}
	fx.line = line
	fx.logS, fx.logV, _ = genKey(t, origin)
	dir := t.TempDir()
	for _, name := range []string{"witness.example/a", "witness.example/b"} {
		priv, pub, err := keys.Generate(name)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, strings.ReplaceAll(name, "/", "_"))
		if err := keys.WriteNew(p, priv); err != nil {
			t.Fatal(err)
		}
		cs, err := keys.Cosigner(p)
		if err != nil {
			t.Fatal(err)
		}
		ck, _ := keys.CosignerKey(pub)
		cv, _ := keys.ParseVerifier(ck)
		fx.witnesses = append(fx.witnesses, &witness.Witness{Signer: cs, Log: fx.logV})
		fx.witnessV = append(fx.witnessV, cv)
	}
	var list []*sources.Source
	for _, s := range []struct{ id, aff string }{{"obs-a", "A"}, {"osce", "neutral"}} {
		sg, v, vkey := genKey(t, s.id)
		fx.srcKeys[s.id] = sg
		list = append(list, &sources.Source{ID: s.id, Key: vkey, Verifier: v, Affiliation: s.aff})
	}
	list = append(list, &sources.Source{ID: "drone", Token: "t0ken", Affiliation: "B"})
	if fx.reg, err = sources.New(list...); err != nil {
		t.Fatal(err)
	}
	pol.Affiliations = detect.NewAffiliations(fx.reg.Affiliations())
	pol.CorroborationMinAffiliations = 2
	fx.pol = pol
	return fx
}

const day = int64(24 * 3600e6)

// feature is a sighting of a unit of B north of the line (A's side).
func feature(id, source string, t int64, unit string) string {
	return fmt.Sprintf(`{"type":"Feature","id":%q,"geometry":{"type":"Point","coordinates":[30.52,48.05]},"properties":{"time":%q,"side":"B","track":%q,"strength":30,"source":%q}}`,
		id, timeOf(t), unit, source)
}

func timeOf(us int64) string {
	return time.UnixMicro(us).UTC().Format(time.RFC3339)
}

// feed is three days of B's offensive, seen by A's observer and the
// neutral patrol (signed bodies) and the drone (token only), a bad record
// in a signed body, then quiet records a week later that close the
// episode.
func (fx *fixture) feed() []message {
	start := int64(19844) * day // 2024-05-01
	var msgs []message
	seq := uint64(0)
	add := func(src string, at int64, recs ...string) {
		seq++
		msgs = append(msgs, message{seq: seq, time: at + 600e6, source: src, data: []byte(strings.Join(recs, "\n") + "\n"), signed: src != "drone"})
	}
	for d := range int64(3) {
		var a, o, dr []string
		for h := range int64(4) {
			t := start + d*day + h*3600e6
			a = append(a, feature(fmt.Sprintf("a-%d-%d", d, h), "obs-a", t, "u1"))
			o = append(o, feature(fmt.Sprintf("o-%d-%d", d, h), "osce", t+60e6, "u2"))
			if h < 2 {
				dr = append(dr, feature(fmt.Sprintf("d-%d-%d", d, h), "drone", t+120e6, "u3"))
			}
		}
		if d == 1 {
			a = append(a, `{"type":"Feature","broken`) // rejected by the engine, logged all the same
		}
		at := start + d*day + 4*3600e6
		add("obs-a", at, a...)
		add("osce", at, o...)
		add("drone", at, dr...)
	}
	quiet := start + 8*day
	add("drone", quiet, fmt.Sprintf(`{"type":"Feature","id":"q1","geometry":{"type":"Point","coordinates":[30.52,47.9]},"properties":{"time":%q,"side":"B","source":"drone"}}`, timeOf(quiet)))
	return msgs
}

// engine consumes the messages as the streaming engine does once it logs:
// each record becomes a leaf, in consumption order, then is judged
// (future against the message's stored time), offered and advanced; each
// alert carries the tree it was made under and its evidence leaves. At
// the end a checkpoint is published.
func (fx *fixture) engine(t *testing.T, msgs []message) {
	t.Helper()
	ctx := context.Background()
	fx.store = tlog.NewMem()
	w, err := tlog.NewWriter(ctx, tlog.WriterConfig{Storage: fx.store, Origin: origin, Signer: fx.logS, Verifier: fx.logV})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	judge := detect.NewJudge(fx.line, fx.pol)
	eng := detect.NewStream(judge)
	dec := feed.NewDecoder()
	leafOf := map[[2]string]uint64{} // (id, source) of the records accepted → leaf
	var alerts bytes.Buffer
	maxFuture := fx.pol.MaxFuture.Microseconds()
	for _, m := range msgs {
		recs, err := sources.Records(m.data)
		if err != nil {
			t.Fatal(err)
		}
		var ref *tlog.BodyRef
		if m.signed {
			sum := sha256.Sum256(m.data)
			sig, err := sources.SignBody(fx.srcKeys[m.source], m.source, m.data)
			if err != nil {
				t.Fatal(err)
			}
			_, signed, err := fx.reg.Authenticate("", sig, m.data)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.AddBody(sum, m.data, signed.Note); err != nil {
				t.Fatal(err)
			}
			ref = &tlog.BodyRef{Sum: sum}
		}
		for k, r := range recs {
			e := tlog.Entry{Time: m.time, Seq: m.seq, Source: m.source, Record: r.Raw}
			if ref != nil {
				e.Body = &tlog.BodyRef{Sum: ref.Sum, Index: uint32(k)}
			}
			l, err := e.Leaf()
			if err != nil {
				t.Fatal(err)
			}
			idx, err := w.Append(ctx, l)
			if err != nil {
				t.Fatal(err)
			}
			var s detect.Sighting
			if r.Err == "" && dec.Decode(r.Raw, &s) == nil && s.Time-m.time <= maxFuture {
				p := judge.Prepare(&s, feed.DupKey(s.ID, s.Source))
				if eng.Add(&p) == detect.Accepted {
					leafOf[[2]string{s.ID, s.Source}] = idx
				}
			}
			for _, a := range eng.Advance() {
				tree := w.Tree()
				al := tlog.AlertLog{Origin: origin, Size: tree.Size, Root: tree.Root}
				for j, v := range a.Episode.Evidence {
					if j == 50 {
						break
					}
					al.Evidence = append(al.Evidence, leafOf[[2]string{v.ID, v.Source}])
				}
				line, err := tlog.AppendAlertLog(output.AppendAlert(nil, fx.line, fx.pol, a), al)
				if err != nil {
					t.Fatal(err)
				}
				alerts.Write(line)
				alerts.WriteByte('\n')
				if _, err := w.Checkpoint(ctx); err != nil { // a checkpoint at every alert
					t.Fatal(err)
				}
			}
		}
	}
	if _, err := w.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	// The witnesses cosign, and the log gathers their cosignatures.
	r := tlog.NewReader(fx.store)
	for _, wi := range fx.witnesses {
		offered, err := r.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cos, _, err := wi.Cosign(ctx, r, offered, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.AddCosignature(ctx, cos, fx.witnessV); err != nil {
			t.Fatal(err)
		}
	}
	fx.alerts = alerts.Bytes()
}

// clone copies a log's storage, to tamper with.
func clone(t *testing.T, m *tlog.Mem) *tlog.Mem {
	t.Helper()
	ctx := context.Background()
	c := tlog.NewMem()
	for _, n := range m.Names() {
		d, _ := m.Get(ctx, n)
		c.Put(ctx, n, d)
	}
	return c
}

// entries reads a log's entries back.
func entries(t *testing.T, st tlog.Storage) []tlog.DecodedEntry {
	t.Helper()
	ctx := context.Background()
	r := tlog.NewReader(st)
	msg, err := r.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cp, err := parseCheckpoint(msg)
	if err != nil {
		t.Fatal(err)
	}
	var out []tlog.DecodedEntry
	for b := int64(0); uint64(b)*256 < cp.Size; b++ {
		es, err := r.Bundle(ctx, b, cp.Size)
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
	return out
}

func parseCheckpoint(msg []byte) (tlog.Checkpoint, error) {
	text, _, _ := strings.Cut(string(msg), "\n\n")
	return tlog.ParseCheckpoint(text + "\n")
}

// rebuild writes a new log of the given entries, signed with the log's
// key, with the original's bodies: what an operator holding the log's key
// could do.
func (fx *fixture) rebuild(t *testing.T, es []tlog.DecodedEntry) *tlog.Mem {
	t.Helper()
	ctx := context.Background()
	st := tlog.NewMem()
	for _, n := range fx.store.Names() {
		if strings.HasPrefix(n, "bodies/") || strings.HasPrefix(n, "records/") {
			d, _ := fx.store.Get(ctx, n)
			st.Put(ctx, n, d)
		}
	}
	w, err := tlog.NewWriter(ctx, tlog.WriterConfig{Storage: st, Origin: origin, Signer: fx.logS, Verifier: fx.logV})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, e := range es {
		l, err := e.Entry.Leaf()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Append(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

func noteText(source string, sum [32]byte) string { return sources.NoteText(source, sum) }
