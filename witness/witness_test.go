package witness_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/linewatch/linewatch/keys"
	"github.com/linewatch/linewatch/tlog"
	"github.com/linewatch/linewatch/witness"
)

const origin = "linewatch.example/front"

type logKeys struct {
	s note.Signer
	v note.Verifier
}

func newLogKeys(t *testing.T) logKeys {
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	return logKeys{s, v}
}

// build writes a log of n entries whose records are tagged by history, in
// storage st, publishing a checkpoint at the end.
func build(t *testing.T, k logKeys, st tlog.Storage, history string, n int) {
	t.Helper()
	ctx := context.Background()
	w, err := tlog.NewWriter(ctx, tlog.WriterConfig{Storage: st, Origin: origin, Signer: k.s, Verifier: k.v, Size: 0})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := range n {
		e := tlog.Entry{Time: int64(i), Record: fmt.Appendf(nil, `{"history":%q,"i":%d}`, history, i)}
		l, _ := e.Leaf()
		if _, err := w.Append(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
}

// grow appends to a log resumed at its checkpoint.
func grow(t *testing.T, k logKeys, st tlog.Storage, history string, from, to int) {
	t.Helper()
	ctx := context.Background()
	w, err := tlog.NewWriter(ctx, tlog.WriterConfig{Storage: st, Origin: origin, Signer: k.s, Verifier: k.v, Size: uint64(from)})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for i := from; i < to; i++ {
		e := tlog.Entry{Time: int64(i), Record: fmt.Appendf(nil, `{"history":%q,"i":%d}`, history, i)}
		l, _ := e.Leaf()
		if _, err := w.Append(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
}

func newWitness(t *testing.T, k logKeys) (*witness.Witness, note.Verifier) {
	dir := t.TempDir()
	priv, pub, err := keys.Generate("witness.example/ua")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "w.key")
	if err := keys.WriteNew(p, priv); err != nil {
		t.Fatal(err)
	}
	cs, err := keys.Cosigner(p)
	if err != nil {
		t.Fatal(err)
	}
	ck, _ := keys.CosignerKey(pub)
	cv, err := keys.ParseVerifier(ck)
	if err != nil {
		t.Fatal(err)
	}
	return &witness.Witness{Signer: cs, Log: k.v}, cv
}

func cosign(t *testing.T, w *witness.Witness, st tlog.Storage, last []byte) ([]byte, error) {
	t.Helper()
	ctx := context.Background()
	r := tlog.NewReader(st)
	offered, err := r.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := w.Cosign(ctx, r, offered, last)
	return out, err
}

func TestCosignGrowingLog(t *testing.T) {
	k := newLogKeys(t)
	w, cv := newWitness(t, k)
	st := tlog.NewMem()
	build(t, k, st, "a", 100)
	first, err := cosign(t, w, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The cosignature verifies under the witness's cosigner key, and the
	// log's signature is kept.
	if _, err := tlog.OpenCheckpoint(first, []note.Verifier{k.v, cv}, 2); err != nil {
		t.Fatal(err)
	}
	grow(t, k, st, "a", 100, 70000)
	second, err := cosign(t, w, st, first)
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := tlog.OpenCheckpoint(second, []note.Verifier{k.v, cv}, 2)
	if err != nil || sigs.Checkpoint.Size != 70000 {
		t.Fatal(sigs, err)
	}
	// The same checkpoint again is cosigned again.
	if _, err := cosign(t, w, st, second); err != nil {
		t.Fatal(err)
	}
}

// TestCosignRefusesFork shows the witness two histories of one log, each
// validly signed by the log's key: it refuses loudly, naming both roots.
func TestCosignRefusesFork(t *testing.T) {
	k := newLogKeys(t)
	w, _ := newWitness(t, k)
	honest := tlog.NewMem()
	build(t, k, honest, "a", 300)
	last, err := cosign(t, w, honest, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameSize := tlog.NewMem()
	build(t, k, sameSize, "b", 300)
	bigger := tlog.NewMem()
	build(t, k, bigger, "b", 200)
	grow(t, k, bigger, "b", 200, 1000)
	smaller := tlog.NewMem()
	build(t, k, smaller, "a", 100)
	hc, _ := tlog.NewReader(honest).OpenCheckpoint(context.Background(), []note.Verifier{k.v}, 1)
	for _, tc := range []struct {
		name string
		st   tlog.Storage
		why  string
	}{
		{"same size, other root", sameSize, "has the size but not the root of"},
		{"bigger, inconsistent", bigger, "does not extend"},
		{"rolled back", smaller, "rolls back"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := cosign(t, w, tc.st, last)
			var fe *witness.ForkError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want a fork", err)
			}
			msg := err.Error()
			oc, _ := tlog.NewReader(tc.st).OpenCheckpoint(context.Background(), []note.Verifier{k.v}, 1)
			if !strings.HasPrefix(msg, "FORK:") || !strings.Contains(msg, tc.why) ||
				!strings.Contains(msg, b64(hc.Checkpoint.Root)) || !strings.Contains(msg, b64(oc.Checkpoint.Root)) {
				t.Fatalf("message %q names not both roots", msg)
			}
		})
	}
	// A checkpoint signed by another key is no checkpoint of this log.
	other := newLogKeys(t)
	forged := tlog.NewMem()
	build(t, other, forged, "a", 400)
	if _, err := cosign(t, w, forged, last); err == nil || !strings.Contains(err.Error(), "not signed by its key") {
		t.Fatalf("another key: %v", err)
	}
}

func TestStateAndSubmit(t *testing.T) {
	ctx := context.Background()
	k := newLogKeys(t)
	w, cv := newWitness(t, k)
	d, err := tlog.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	build(t, k, d, "a", 10)
	state := filepath.Join(t.TempDir(), "state")
	last, err := witness.LoadState(state)
	if err != nil || last != nil {
		t.Fatal(last, err)
	}
	cos, err := cosign(t, w, d, last)
	if err != nil {
		t.Fatal(err)
	}
	if err := witness.SaveState(state, cos); err != nil {
		t.Fatal(err)
	}
	if got, _ := witness.LoadState(state); string(got) != string(cos) {
		t.Fatal("state not kept")
	}
	// Into a stopped log's directory.
	if _, err := witness.SubmitDir(ctx, d, k.v, cv, cos); err != nil {
		t.Fatal(err)
	}
	if _, err := tlog.NewReader(d).OpenCheckpoint(ctx, []note.Verifier{k.v, cv}, 2); err != nil {
		t.Fatal(err)
	}
	// To a running log over HTTP; a stale checkpoint is ErrStale.
	lw, err := tlog.NewWriter(ctx, tlog.WriterConfig{Storage: d, Origin: origin, Signer: k.s, Verifier: k.v, Size: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer lw.Close()
	srv := httptest.NewServer(http.StripPrefix("/v1", &tlog.Handler{Fetcher: d, Writer: lw, Witnesses: []note.Verifier{cv}}))
	defer srv.Close()
	if _, err := witness.Submit(ctx, srv.URL+"/v1", cos); err != nil {
		t.Fatal(err)
	}
	e := tlog.Entry{Record: []byte(`{}`)}
	l, _ := e.Leaf()
	lw.Append(ctx, l)
	if _, err := lw.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := witness.Submit(ctx, srv.URL+"/v1", cos); !errors.Is(err, witness.ErrStale) {
		t.Fatalf("stale: %v", err)
	}
}
