package verify_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/linewatch/linewatch/tlog"
	"github.com/linewatch/linewatch/verify"
)

func (fx *fixture) config(st tlog.Fetcher, alerts []byte) verify.Config {
	return verify.Config{
		Log: st, Keys: append([]note.Verifier{fx.logV}, fx.witnessV...), MinSignatures: 3,
		Line: fx.line, Policy: fx.pol, Sources: fx.reg, Alerts: alerts, Complete: true, Workers: 2,
	}
}

func built(t *testing.T) *fixture {
	t.Helper()
	fx := newFixture(t)
	fx.engine(t, fx.feed())
	return fx
}

func TestVerifyHolds(t *testing.T) {
	fx := built(t)
	var out bytes.Buffer
	cfg := fx.config(fx.store, fx.alerts)
	cfg.Out = &out
	rep, err := verify.Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if rep.Bodies != 6 || rep.Signed != 6*4+1 || rep.Unsigned != 7 || rep.Entries != rep.Signed+rep.Unsigned {
		t.Errorf("report %+v", rep)
	}
	if rep.Alerts == 0 || rep.Evidence == 0 || rep.Replayed != rep.Alerts || len(rep.SignedBy) != 3 {
		t.Errorf("report %+v", rep)
	}
	if !strings.Contains(string(fx.alerts), `"status":"closed"`) || !strings.Contains(string(fx.alerts), `"corroborated":{"holds":true,"affiliations":3,"neutral":8`) {
		t.Errorf("the feed should close a corroborated offensive:\n%s", fx.alerts)
	}
	for _, want := range []string{"signed by 3 of the 3 keys given", "entries: 32", "25 records in 6 signed bodies", "evidence leaves included", "exactly the"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, out.String())
		}
	}
	// One alert alone, as a party is shown it, verifies too.
	lines := bytes.SplitAfter(fx.alerts, []byte("\n"))
	cfg.Alerts, cfg.Complete, cfg.Out = lines[len(lines)-2], false, nil
	if _, err := verify.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyCatchesTampering: each change to the log, its signatures or
// the alerts is caught, with a message that says what and where.
func TestVerifyCatchesTampering(t *testing.T) {
	fx := built(t)
	ctx := context.Background()
	orig := entries(t, fx.store)
	leafOf := func(id string) int {
		for i, e := range orig {
			if bytes.Contains(e.Record, []byte(`"id":"`+id+`"`)) {
				return i
			}
		}
		t.Fatalf("no record %s", id)
		return -1
	}
	type tamper struct {
		name string
		// change returns the log and alerts to verify, and may narrow the
		// keys trusted (an operator holding the log's key rebuilt it).
		change func(cfg *verify.Config)
		want   string
	}
	at := func(id string) string { return "leaf " + strconv.Itoa(leafOf(id)) + ": " }
	logKeyOnly := func(cfg *verify.Config) { cfg.Keys, cfg.MinSignatures = []note.Verifier{fx.logV}, 1 }
	editBundle := func(cfg *verify.Config, edit func([]byte) []byte) {
		st := clone(t, fx.store)
		d, _ := st.Get(ctx, "tile/entries/000.p/32")
		st.Put(ctx, "tile/entries/000.p/32", edit(d))
		cfg.Log = st
	}
	tests := []tamper{
		{"a byte changed in a stored record", func(cfg *verify.Config) {
			editBundle(cfg, func(d []byte) []byte { return bytes.Replace(d, []byte(`"a-1-2"`), []byte(`"a-1-3"`), 1) })
		}, at("a-1-2") + "its entry hashes to"},
		{"a record dropped from the bundle", func(cfg *verify.Config) {
			editBundle(cfg, func(d []byte) []byte {
				es, _ := tlog.SplitBundle(d)
				var b []byte
				for i, e := range es {
					if i != 20 {
						b = append(b, byte(len(e)>>8), byte(len(e)))
						b = append(b, e...)
					}
				}
				return b
			})
		}, "tile/entries/000.p/32 holds fewer than 32 entries"},
		{"a record dropped, the log rebuilt and re-signed", func(cfg *verify.Config) {
			i := leafOf("o-1-2")
			cfg.Log = fx.rebuild(t, append(append([]tlog.DecodedEntry{}, orig[:i]...), orig[i+1:]...))
			logKeyOnly(cfg)
		}, at("o-1-2") + "record 3 of body"},
		{"a body's last record dropped, rebuilt", func(cfg *verify.Config) {
			i := leafOf("o-1-3")
			cfg.Log = fx.rebuild(t, append(append([]tlog.DecodedEntry{}, orig[:i]...), orig[i+1:]...))
			logKeyOnly(cfg)
		}, `(source "osce", from leaf ` + strconv.Itoa(leafOf("o-1-0")) + `): records 3 to 3 of its 4 are not in the log`},
		{"a record dropped, checked against the witnesses", func(cfg *verify.Config) {
			i := leafOf("d-1-1")
			cfg.Log = fx.rebuild(t, append(append([]tlog.DecodedEntry{}, orig[:i]...), orig[i+1:]...))
		}, "signed by 1 of the 3 keys given, 3 required"},
		{"two records swapped, rebuilt", func(cfg *verify.Config) {
			es := append([]tlog.DecodedEntry{}, orig...)
			i := leafOf("a-0-1")
			es[i], es[i+1] = es[i+1], es[i]
			cfg.Log = fx.rebuild(t, es)
			logKeyOnly(cfg)
		}, "record 2 of body"},
		{"two unsigned records swapped, rebuilt", func(cfg *verify.Config) {
			es := append([]tlog.DecodedEntry{}, orig...)
			i := leafOf("d-0-0")
			es[i], es[i+1] = es[i+1], es[i]
			cfg.Log = fx.rebuild(t, es)
			logKeyOnly(cfg)
		}, "was made under a tree of"},
		{"a record inserted with a back-dated time", func(cfg *verify.Config) {
			i := leafOf("d-2-0")
			fake := orig[i]
			fake.Record = bytes.Replace(bytes.Clone(fake.Record), []byte(`"d-2-0"`), []byte(`"d-9-9"`), 1)
			fake.Time -= day
			es := append(append(append([]tlog.DecodedEntry{}, orig[:i+2]...), fake), orig[i+2:]...)
			cfg.Log = fx.rebuild(t, es)
			logKeyOnly(cfg)
		}, "before leaf"},
		{"the checkpoint re-signed by a key not given", func(cfg *verify.Config) {
			other, _, _ := genKey(t, origin)
			st := clone(t, fx.store)
			msg, _ := st.Get(ctx, "checkpoint")
			c, _ := parseCheckpoint(msg)
			resigned, _ := c.Sign(other)
			st.Put(ctx, "checkpoint", resigned)
			cfg.Log = st
			logKeyOnly(cfg)
		}, "signed by 0 of the 1 keys given, 1 required; no signature by " + origin + "; signatures by keys not given, ignored"},
		{"an alert edited after the fact", func(cfg *verify.Config) {
			cfg.Alerts = bytes.Replace(bytes.Clone(fx.alerts), []byte(`"class":"sustained_offensive"`), []byte(`"class":"escalation"`), 1)
		}, `differs from the replay's: "class" is "escalation" in it, "sustained_offensive" in the replay's`},
		{"an alert's tree edited", func(cfg *verify.Config) {
			cfg.Alerts = bytes.Replace(bytes.Clone(fx.alerts), []byte(`"size":`), []byte(`"size":1`), 1)
		}, "was made under a tree of"},
		{"an alert's evidence leaf edited", func(cfg *verify.Config) {
			cfg.Alerts = bytes.Replace(bytes.Clone(fx.alerts), []byte(`"evidence":[0,`), []byte(`"evidence":[1,`), 1)
		}, "evidence 0 is id"},
		{"an alert moved to a later tree of the log", func(cfg *verify.Config) {
			// Its tree is the log's, its evidence included in it: only the
			// replay can tell it was not made there.
			lines := bytes.SplitAfter(bytes.Clone(fx.alerts), []byte("\n"))
			body, l, _ := tlog.CutAlertLog(lines[0])
			c, _ := parseCheckpoint(must(fx.store.Get(ctx, "checkpoint")))
			l.Size++
			l.Root, _ = tlog.NewReader(fx.store).TreeHash(ctx, c, l.Size)
			moved, _ := tlog.AppendAlertLog(body, *l)
			lines[0] = append(moved, '\n')
			cfg.Alerts = bytes.Join(lines, nil)
		}, `alert 1 (episode B-S003-20240501T000000Z, opened) differs from the replay's in its "log" member: it says tree size`},
		{"an alert withheld", func(cfg *verify.Config) {
			lines := bytes.SplitAfter(fx.alerts, []byte("\n"))
			cfg.Alerts = bytes.Join(append(lines[:1:1], lines[2:]...), nil)
		}, "an alert was withheld"},
		{"a source's signature replaced", func(cfg *verify.Config) {
			st := clone(t, fx.store)
			sum := orig[0].Body.Sum
			impostor, _, _ := genKey(t, "obs-a")
			b, _ := st.Get(ctx, tlog.BodyPath(sum))
			forged, _ := note.Sign(&note.Note{Text: noteText("obs-a", sha256.Sum256(b))}, impostor)
			st.Put(ctx, tlog.BodyPath(sum)+".note", forged)
			cfg.Log = st
		}, `not signed by source "obs-a"'s key`},
		{"a signed body edited", func(cfg *verify.Config) {
			st := clone(t, fx.store)
			sum := orig[0].Body.Sum
			b, _ := st.Get(ctx, tlog.BodyPath(sum))
			st.Put(ctx, tlog.BodyPath(sum), bytes.Replace(b, []byte("a-0-0"), []byte("a-0-7"), 1))
			cfg.Log = st
		}, "the file was changed"},
		{"a signing source's record logged unsigned", func(cfg *verify.Config) {
			es := append([]tlog.DecodedEntry{}, orig...)
			i := leafOf("a-0-0")
			for j := i; j < i+4; j++ {
				es[j].Body = nil
			}
			cfg.Log = fx.rebuild(t, es)
			logKeyOnly(cfg)
		}, `source "obs-a" signs its bodies, but this record comes with no signed body`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fx.config(fx.store, fx.alerts)
			tc.change(&cfg)
			_, err := verify.Run(ctx, cfg)
			var m *verify.Mismatch
			if !errors.As(err, &m) {
				t.Fatalf("got %v, want a mismatch", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("message %q, want %q", err, tc.want)
			}
			t.Log(err)
		})
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
