package tlog_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	sumtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/linewatch/linewatch/tlog"
)

const origin = "linewatch.example/test"

func logKey(t testing.TB) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func entry(i int) tlog.Entry {
	return tlog.Entry{Time: 1_700_000_000_000_000 + int64(i)*1000, Seq: uint64(i/10 + 1), Source: "obs-1",
		Record: fmt.Appendf(nil, `{"type":"Feature","id":"r%d","geometry":{"type":"Point","coordinates":[37.5,47.9]},"properties":{"time":"2024-01-01T00:00:00Z"}}`, i)}
}

func leaf(t testing.TB, e tlog.Entry) tlog.Leaf {
	t.Helper()
	l, err := e.Leaf()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// memTree keeps every stored hash, as golang.org/x/mod/sumdb/tlog's own
// reference computation needs, to check the Writer's roots against.
type memTree struct {
	n  int64
	hs []sumtlog.Hash
}

func (m *memTree) ReadHashes(idx []int64) ([]sumtlog.Hash, error) {
	out := make([]sumtlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = m.hs[x]
	}
	return out, nil
}

func (m *memTree) add(t testing.TB, data []byte) {
	hs, err := sumtlog.StoredHashes(m.n, data, m)
	if err != nil {
		t.Fatal(err)
	}
	m.hs = append(m.hs, hs...)
	m.n++
}

func (m *memTree) leaf(i int) sumtlog.Hash { return m.hs[sumtlog.StoredHashIndex(0, int64(i))] }

func newWriter(t testing.TB, st tlog.Storage, size uint64) *tlog.Writer {
	t.Helper()
	s, v := fixedKey(t)
	w, err := tlog.NewWriter(context.Background(), tlog.WriterConfig{Storage: st, Origin: origin, Signer: s, Verifier: v, Size: size})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

var fixedSigner note.Signer
var fixedVerifier note.Verifier

func fixedKey(t testing.TB) (note.Signer, note.Verifier) {
	if fixedSigner == nil {
		fixedSigner, fixedVerifier = logKey(t)
	}
	return fixedSigner, fixedVerifier
}

func TestEntryRoundTrip(t *testing.T) {
	long := bytes.Repeat([]byte("x"), tlog.MaxEntry)
	body := &tlog.BodyRef{Sum: sha256.Sum256([]byte("body")), Index: 77}
	tests := []struct {
		name  string
		e     tlog.Entry
		apart bool
	}{
		{"plain", entry(3), false},
		{"no source, standard input", tlog.Entry{Time: -5, Record: []byte(`{}`)}, false},
		{"signed", tlog.Entry{Time: 9, Seq: 4, Source: "s", Body: body, Record: []byte(`{"a":1}`)}, false},
		{"too long: apart", tlog.Entry{Time: 9, Source: "s", Record: long}, true},
		{"signed, too long", tlog.Entry{Time: 9, Source: "s", Body: body, Record: long}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l, err := tc.e.Leaf()
			if err != nil {
				t.Fatal(err)
			}
			if len(l.Data) > tlog.MaxEntry {
				t.Fatalf("entry of %d bytes", len(l.Data))
			}
			if l.Hash != sumtlog.RecordHash(l.Data) {
				t.Fatal("hash is not the RFC 6962 leaf hash")
			}
			if (l.Record != nil) != tc.apart {
				t.Fatalf("apart = %v", l.Record != nil)
			}
			// Framed, as a bundle holds it, and hashed where it lies: the
			// same entry and leaf hash.
			framed, apart, err := tc.e.AppendFramed([]byte("before"))
			if err != nil {
				t.Fatal(err)
			}
			if want := binary.BigEndian.AppendUint16([]byte("before"), uint16(len(l.Data))); !bytes.Equal(framed, append(want, l.Data...)) {
				t.Fatal("AppendFramed is not the entry after its length")
			}
			if !bytes.Equal(apart, l.Record) {
				t.Fatal("AppendFramed and Leaf put a different record apart")
			}
			if h := tlog.NewLeafHasher(); h.Hash(l.Data) != l.Hash || h.Hash(l.Data) != l.Hash {
				t.Fatal("LeafHasher's hash is not the leaf's")
			}
			d, err := tlog.ParseEntry(l.Data)
			if err != nil {
				t.Fatal(err)
			}
			if d.Time != tc.e.Time || d.Seq != tc.e.Seq || d.Source != tc.e.Source {
				t.Fatalf("got %+v", d)
			}
			if (d.Body == nil) != (tc.e.Body == nil) || d.Body != nil && *d.Body != *tc.e.Body {
				t.Fatalf("body %+v", d.Body)
			}
			if tc.apart {
				if d.RecordAt == nil || *d.RecordAt != sha256.Sum256(tc.e.Record) || len(d.Record) != 0 {
					t.Fatal("a record apart is named by its SHA-256")
				}
			} else if !bytes.Equal(d.Record, tc.e.Record) {
				t.Fatalf("record %q", d.Record)
			}
		})
	}
	if _, err := (&tlog.Entry{Source: strings.Repeat("s", 256)}).Leaf(); err == nil {
		t.Error("a source id of 256 bytes was taken")
	}
	if b, _, err := (&tlog.Entry{Source: strings.Repeat("s", 256)}).AppendFramed([]byte("before")); err == nil || string(b) != "before" {
		t.Errorf("AppendFramed of a source id of 256 bytes: %q, %v; want the buffer as it was and an error", b, err)
	}
	for _, bad := range [][]byte{nil, {1, 0}, append([]byte{2, 0}, make([]byte, 17)...), append([]byte{1, 4}, make([]byte, 17)...)} {
		if _, err := tlog.ParseEntry(bad); err == nil {
			t.Errorf("ParseEntry(%x) took it", bad)
		}
	}
}

func TestPaths(t *testing.T) {
	tests := []struct {
		path string
		tile sumtlog.Tile
	}{
		{"tile/0/000", sumtlog.Tile{H: 8, L: 0, N: 0, W: 256}},
		{"tile/1/x001/x234/067", sumtlog.Tile{H: 8, L: 1, N: 1234067, W: 256}},
		{"tile/2/005.p/17", sumtlog.Tile{H: 8, L: 2, N: 5, W: 17}},
		{"tile/entries/x001/000.p/255", sumtlog.Tile{H: 8, L: -1, N: 1000, W: 255}},
	}
	for _, tc := range tests {
		got, err := tlog.ParseTilePath(tc.path)
		if err != nil || got != tc.tile {
			t.Errorf("ParseTilePath(%q) = %+v, %v", tc.path, got, err)
		}
		w := tc.tile.W
		if w == 256 {
			w = 0
		}
		var p string
		if tc.tile.L < 0 {
			p = tlog.EntriesPath(tc.tile.N, w)
		} else {
			p = tlog.TilePath(tc.tile.L, tc.tile.N, w)
		}
		if p != tc.path {
			t.Errorf("path of %+v = %q, want %q", tc.tile, p, tc.path)
		}
		// x/mod's layout differs only by the height in the path.
		xp := strings.Replace(tc.tile.Path(), "tile/8/", "tile/", 1)
		xp = strings.Replace(xp, "tile/data/", "tile/entries/", 1)
		if xp != tc.path {
			t.Errorf("x/mod path %q, mapped %q, want %q", tc.tile.Path(), xp, tc.path)
		}
	}
	for _, bad := range []string{"tile/0/1", "tile/0/x1/000", "tile/00/000", "tile/0/000.p/256", "tile/0/000.p/0", "tile/x/000", "tiles/0/000", "tile/0/x000/001"} {
		if _, err := tlog.ParseTilePath(bad); err == nil {
			t.Errorf("ParseTilePath(%q) took it", bad)
		}
	}
}

// TestWriterRoots appends entries and checks every checkpoint's root
// against x/mod's reference computation, and every tile against the root.
func TestWriterRoots(t *testing.T) {
	ctx := context.Background()
	st := tlog.NewMem()
	w := newWriter(t, st, 0)
	var ref memTree
	checkAt := map[int]bool{1: true, 2: true, 3: true, 255: true, 256: true, 257: true, 512: true, 1000: true, 65536: true, 70000: true}
	r := tlog.NewReader(st)
	_, v := fixedKey(t)
	for i := 0; i < 70000; i++ {
		l := leaf(t, entry(i))
		idx, err := w.Append(ctx, l)
		if err != nil {
			t.Fatal(err)
		}
		if idx != uint64(i) {
			t.Fatalf("index %d, want %d", idx, i)
		}
		ref.add(t, l.Data)
		if !checkAt[i+1] {
			continue
		}
		c, err := w.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := sumtlog.TreeHash(int64(i+1), &ref)
		if c.Size != uint64(i+1) || c.Root != want {
			t.Fatalf("at %d: checkpoint %v, want root %x", i+1, c, want)
		}
		sigs, err := r.OpenCheckpoint(ctx, []note.Verifier{v}, 1)
		if err != nil {
			t.Fatal(err)
		}
		if sigs.Checkpoint != c {
			t.Fatalf("published %v, want %v", sigs.Checkpoint, c)
		}
		// Every leaf hash read from the tiles, checked against the root,
		// is the entry's.
		hs, err := r.LeafHashes(ctx, c, 0, c.Size)
		if err != nil {
			t.Fatalf("at %d: %v", i+1, err)
		}
		for j := range hs {
			if hs[j] != ref.leaf(j) {
				t.Fatalf("at %d: leaf %d differs", i+1, j)
			}
		}
		// The entry bundles hold the entries, in order.
		for n := int64(0); uint64(n)*256 < c.Size; n++ {
			es, err := r.Bundle(ctx, n, c.Size)
			if err != nil {
				t.Fatal(err)
			}
			for k, e := range es {
				if sumtlog.RecordHash(e) != hs[int(n)*256+k] {
					t.Fatalf("bundle %d entry %d", n, k)
				}
			}
		}
	}
	// The tiles of a tree of 70,000 (c2sp.org/tlog-tiles' example): 273
	// full level-0 tiles, one partial of width 112, one full level-1 tile,
	// one partial of width 17 and a partial level-2 tile of width 1; and
	// the bundles alike. Partials of earlier checkpoints are gone.
	var tiles, bundles []string
	for _, n := range st.Names() {
		switch {
		case strings.HasPrefix(n, "tile/entries/"):
			bundles = append(bundles, n)
		case strings.HasPrefix(n, "tile/"):
			tiles = append(tiles, n)
		}
	}
	if len(tiles) != 273+1+1+1+1 || len(bundles) != 274 {
		t.Fatalf("%d tiles, %d bundles", len(tiles), len(bundles))
	}
	for _, p := range []string{"tile/0/273.p/112", "tile/1/000", "tile/1/001.p/17", "tile/2/000.p/1", "tile/entries/273.p/112"} {
		if !slices.Contains(st.Names(), p) {
			t.Errorf("%s missing", p)
		}
	}
}

// TestWriterResume: after a crash, the engine consumes again from its own
// checkpoint; the writer checks the entries it is given again against the
// log's and appends past its checkpoint.
func TestWriterResume(t *testing.T) {
	ctx := context.Background()
	st := tlog.NewMem()
	w := newWriter(t, st, 0)
	var ref memTree
	for i := range 1000 {
		l := leaf(t, entry(i))
		ref.add(t, l.Data)
		if _, err := w.Append(ctx, l); err != nil {
			t.Fatal(err)
		}
		if i+1 == 600 {
			if _, err := w.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The engine's checkpoint was at 300: entries 300 to 599 are in the
	// log, 600 to 999 were lost with the process.
	root300, _ := sumtlog.TreeHash(300, &ref)
	s, v := fixedKey(t)
	w2, err := tlog.NewWriter(ctx, tlog.WriterConfig{Storage: st, Origin: origin, Signer: s, Verifier: v, Size: 300, Root: &root300})
	if err != nil {
		t.Fatal(err)
	}
	if c := w2.Tree(); c.Size != 300 || c.Root != root300 {
		t.Fatalf("resumed at %v", c)
	}
	for i := 300; i < 1200; i++ {
		l := leaf(t, entry(i))
		if i >= 1000 {
			ref.add(t, l.Data)
		}
		if _, err := w2.Append(ctx, l); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if i+1 == 450 {
			// A checkpoint below the published one is not published.
			c, err := w2.Checkpoint(ctx)
			if err != nil || c.Size != 450 {
				t.Fatal(c, err)
			}
			got, _ := tlog.NewReader(st).OpenCheckpoint(ctx, []note.Verifier{v}, 1)
			if got.Checkpoint.Size != 600 {
				t.Fatalf("the log moved back to %d", got.Checkpoint.Size)
			}
		}
	}
	c, err := w2.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := sumtlog.TreeHash(1200, &ref)
	if c.Root != want {
		t.Fatal("root after resuming differs")
	}

	// Resuming with other records than the log holds is refused: the log
	// never forks.
	w3, err := tlog.NewWriter(ctx, tlog.WriterConfig{Storage: st, Origin: origin, Signer: s, Verifier: v, Size: 1100})
	if err != nil {
		t.Fatal(err)
	}
	other := entry(1100)
	other.Time++
	if _, err := w3.Append(ctx, leaf(t, other)); !errors.Is(err, tlog.ErrDiverged) {
		t.Fatalf("a different entry 1100: %v", err)
	}
	// So is an engine checkpoint past the log's, a root that is not the
	// log's, another origin or another key.
	bad := []tlog.WriterConfig{
		{Storage: st, Origin: origin, Signer: s, Verifier: v, Size: 1300},
		{Storage: st, Origin: origin, Signer: s, Verifier: v, Size: 300, Root: &want},
		{Storage: st, Origin: origin + "2", Signer: s, Verifier: v, Size: 300},
	}
	s2, v2 := logKey(t)
	bad = append(bad, tlog.WriterConfig{Storage: st, Origin: origin, Signer: s2, Verifier: v2})
	for i, cfg := range bad {
		if _, err := tlog.NewWriter(ctx, cfg); err == nil {
			t.Errorf("config %d taken", i)
		}
	}
}

// TestAppendFramed: entries appended in runs of framed entries make the
// same log, object for object and byte for byte, as entries appended one
// at a time, whatever the runs' lengths and where they fall against the
// bundles; a resumed writer checks each against the log's.
func TestAppendFramed(t *testing.T) {
	ctx := context.Background()
	const n = 1300
	leaves := make([]tlog.Leaf, n)
	for i := range leaves {
		leaves[i] = leaf(t, entry(i))
	}
	// framedRun frames entries from to to (excluded) one after the other.
	framedRun := func(from, to int) ([]byte, []tlog.Hash) {
		var b []byte
		var hs []tlog.Hash
		for i := from; i < to; i++ {
			e := entry(i)
			b, _, _ = e.AppendFramed(b)
			hs = append(hs, leaves[i].Hash)
		}
		return b, hs
	}
	// write appends entries from to n to w in runs of the given lengths
	// (cycled; 0: one at a time with Append), with a checkpoint at 700.
	write := func(t *testing.T, w *tlog.Writer, from int, runs []int) {
		for i, k := from, 0; i < n; k++ {
			m := min(runs[k%len(runs)], n-i)
			if i < 700 && i+max(m, 1) > 700 {
				m = 700 - i
			}
			if m == 0 {
				if _, err := w.Append(ctx, leaves[i]); err != nil {
					t.Fatal(err)
				}
				i++
			} else {
				b, hs := framedRun(i, i+m)
				idx, err := w.AppendFramed(ctx, b, hs)
				if err != nil || idx != uint64(i) {
					t.Fatalf("run at %d: index %d, %v", i, idx, err)
				}
				i += m
			}
			if i == 700 {
				if _, err := w.Checkpoint(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := w.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
	}
	objects := func(st *tlog.Mem) map[string][]byte {
		m := map[string][]byte{}
		for _, name := range st.Names() {
			m[name], _ = st.Get(ctx, name)
		}
		return m
	}
	want := tlog.NewMem()
	write(t, newWriter(t, want, 0), 0, []int{0})
	tests := []struct {
		name string
		runs []int
	}{
		{"one entry a run", []int{1}},
		{"a bundle a run", []int{256}},
		{"runs across bundles", []int{7, 300, 1024, 1, 255, 3}},
		{"runs and single appends", []int{100, 0, 0, 513}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := tlog.NewMem()
			write(t, newWriter(t, st, 0), 0, tc.runs)
			if got := objects(st); !maps.EqualFunc(got, objects(want), bytes.Equal) {
				t.Fatalf("objects %v, want %v", slices.Sorted(maps.Keys(got)), want.Names())
			}
		})
	}
	t.Run("resumed", func(t *testing.T) {
		// The log holds 1300 entries, published; the engine's checkpoint
		// was at 500: runs across the published size are checked, then
		// appended.
		st := tlog.NewMem()
		write(t, newWriter(t, st, 0), 0, []int{0})
		s, v := fixedKey(t)
		w, err := tlog.NewWriter(ctx, tlog.WriterConfig{Storage: st, Origin: origin, Signer: s, Verifier: v, Size: 500})
		if err != nil {
			t.Fatal(err)
		}
		b, hs := framedRun(500, n)
		if _, err := w.AppendFramed(ctx, b, hs); err != nil {
			t.Fatal(err)
		}
		if c, _ := w.Checkpoint(ctx); c.Size != n {
			t.Fatalf("size %d", c.Size)
		}
		if got := objects(st); !maps.EqualFunc(got, objects(want), bytes.Equal) {
			t.Fatal("the resumed log's objects differ")
		}
		// An entry that differs from the log's, in the middle of a run:
		// refused, the entries before it appended.
		w, err = tlog.NewWriter(ctx, tlog.WriterConfig{Storage: st, Origin: origin, Signer: s, Verifier: v, Size: 500})
		if err != nil {
			t.Fatal(err)
		}
		b, hs = framedRun(500, 600)
		hs[40][0] ^= 1
		if _, err := w.AppendFramed(ctx, b, hs); !errors.Is(err, tlog.ErrDiverged) || !strings.Contains(err.Error(), "entry 540") {
			t.Fatalf("a different entry 540: %v", err)
		}
		if w.Size() != 540 {
			t.Fatalf("size %d after the refused entry, want 540", w.Size())
		}
	})
	t.Run("refused", func(t *testing.T) {
		w := newWriter(t, tlog.NewMem(), 0)
		b, hs := framedRun(0, 10)
		long := tlog.Entry{Record: bytes.Repeat([]byte("x"), tlog.MaxEntry)}
		bl, _, _ := long.AppendFramed(nil)
		for name, run := range map[string]struct {
			b  []byte
			hs []tlog.Hash
		}{
			"fewer hashes than entries": {b, hs[:9]},
			"more hashes than entries":  {b[:len(b)-1], hs},
			"a record stored apart":     {bl, hs[:1]},
		} {
			if _, err := w.AppendFramed(ctx, run.b, run.hs); err == nil {
				t.Errorf("%s: taken", name)
			}
		}
	})
}

func TestOpenCheckpointQuorum(t *testing.T) {
	s, v := logKey(t)
	c := tlog.Checkpoint{Origin: origin, Size: 5, Root: sha256.Sum256([]byte("x"))}
	s2, v2 := logKey(t)
	_, v3 := logKey(t)
	msg, err := c.Sign(s, s2)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tlog.OpenCheckpoint(msg, []note.Verifier{v, v2, v3}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got.Checkpoint != c || len(got.Signed) != 2 || len(got.Missing) != 1 {
		t.Fatalf("%+v", got)
	}
	if _, err := tlog.OpenCheckpoint(msg, []note.Verifier{v, v2, v3}, 3); err == nil || !strings.Contains(err.Error(), "signed by 2 of the 3 keys given, 3 required") {
		t.Fatalf("3 of 3: %v", err)
	}
	// Re-signed by a key not given: nothing verifies.
	msg3, _ := c.Sign(s2)
	if _, err := tlog.OpenCheckpoint(msg3, []note.Verifier{v}, 1); err == nil || !strings.Contains(err.Error(), "signed by 0 of the 1 keys given") || !strings.Contains(err.Error(), "ignored") {
		t.Fatalf("another key: %v", err)
	}
	// A changed checkpoint does not verify.
	bad := bytes.Replace(msg, []byte("\n5\n"), []byte("\n6\n"), 1)
	if _, err := tlog.OpenCheckpoint(bad, []note.Verifier{v}, 1); err == nil || !strings.Contains(err.Error(), "does not verify") {
		t.Fatalf("altered: %v", err)
	}
}

func TestMergeCosignatures(t *testing.T) {
	ctx := context.Background()
	st := tlog.NewMem()
	w := newWriter(t, st, 0)
	_, logV := fixedKey(t)
	for i := range 10 {
		if _, err := w.Append(ctx, leaf(t, entry(i))); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	latest := w.Latest()
	ws, wv := logKey(t)
	ws2, wv2 := logKey(t)
	n, err := note.Open(latest, note.VerifierList(logV))
	if err != nil {
		t.Fatal(err)
	}
	cos, _ := note.Sign(&note.Note{Text: n.Text}, ws)
	added, err := w.AddCosignature(ctx, cos, []note.Verifier{wv, wv2})
	if err != nil || len(added) != 1 {
		t.Fatalf("added %v, %v", added, err)
	}
	cos2, _ := note.Sign(&note.Note{Text: n.Text}, ws2)
	if _, err := w.AddCosignature(ctx, cos2, []note.Verifier{wv, wv2}); err != nil {
		t.Fatal(err)
	}
	// The stored checkpoint carries all three signatures.
	got, err := tlog.NewReader(st).OpenCheckpoint(ctx, []note.Verifier{logV, wv, wv2}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got.Signed[0] != logV.Name() {
		t.Fatalf("signed %v", got.Signed)
	}
	// Statuses: an unknown witness, a bad signature, a stale checkpoint.
	other, _ := logKey(t)
	unknown, _ := note.Sign(&note.Note{Text: n.Text}, other)
	tampered := bytes.Replace(cos2, []byte("\n10\n"), []byte("\n11\n"), 1)
	stale := tlog.Checkpoint{Origin: origin, Size: 3}
	staleMsg, _ := note.Sign(&note.Note{Text: stale.Text()}, ws)
	for _, tc := range []struct {
		name string
		msg  []byte
		code int
	}{{"unknown witness", unknown, 403}, {"tampered", tampered, 403}, {"stale", staleMsg, 409}, {"garbage", []byte("x"), 400}} {
		_, err := w.AddCosignature(ctx, tc.msg, []note.Verifier{wv, wv2})
		var se *tlog.StatusError
		if !errors.As(err, &se) || se.Code != tc.code {
			t.Errorf("%s: %v, want %d", tc.name, err, tc.code)
		}
	}
}

// TestHTTP serves a log directory over HTTP and reads it back.
func TestHTTP(t *testing.T) {
	ctx := context.Background()
	dir, err := tlog.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w := newWriter(t, dir, 0)
	for i := range 300 {
		if _, err := w.Append(ctx, leaf(t, entry(i))); err != nil {
			t.Fatal(err)
		}
	}
	c, err := w.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ws, wv := logKey(t)
	srv := httptest.NewServer(http.StripPrefix("/v1", &tlog.Handler{Fetcher: dir, Writer: w, Witnesses: []note.Verifier{wv}}))
	defer srv.Close()
	f, err := tlog.Open(srv.URL + "/v1")
	if err != nil {
		t.Fatal(err)
	}
	r := tlog.NewReader(f)
	_, logV := fixedKey(t)
	sigs, err := r.OpenCheckpoint(ctx, []note.Verifier{logV}, 1)
	if err != nil || sigs.Checkpoint != c {
		t.Fatal(sigs, err)
	}
	if _, err := r.LeafHashes(ctx, c, 0, 300); err != nil {
		t.Fatal(err)
	}
	es, err := r.Bundle(ctx, 1, c.Size)
	if err != nil || len(es) != 44 {
		t.Fatal(len(es), err)
	}
	// A witness posts its cosignature.
	cos, _ := note.Sign(&note.Note{Text: sigs.Note.Text}, ws)
	resp, err := http.Post(srv.URL+"/v1/cosignature", "text/plain", bytes.NewReader(cos))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST cosignature: %s", resp.Status)
	}
	if _, err := r.OpenCheckpoint(ctx, []note.Verifier{logV, wv}, 2); err != nil {
		t.Fatal(err)
	}
	// Not found is a 404, names outside the log are refused.
	for _, p := range []string{"/v1/tile/0/009", "/v1/../checkpoint", "/v1/etc/passwd"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("GET %s: %s", p, resp.Status)
		}
	}
}

func TestRootBuilder(t *testing.T) {
	var ref memTree
	var b tlog.RootBuilder
	for i := range 1100 {
		l := leaf(t, entry(i))
		ref.add(t, l.Data)
		b.Add(l.Hash)
		want, _ := sumtlog.TreeHash(int64(i+1), &ref)
		if b.Root() != want || b.Size() != uint64(i+1) {
			t.Fatalf("at %d: root differs", i+1)
		}
	}
	var empty tlog.RootBuilder
	if empty.Root() != sha256.Sum256(nil) {
		t.Fatal("the empty tree's root is SHA-256 of nothing")
	}
}

func TestAlertLog(t *testing.T) {
	alert := []byte(`{"type":"Feature","id":"X","geometry":null,"properties":{"id":"X","title":"a,\"log\":{x","status":"closed"}}`)
	l := tlog.AlertLog{Origin: origin, Size: 12, Root: sha256.Sum256([]byte("r")), Evidence: []uint64{3, 0, 11}}
	withLog, err := tlog.AppendAlertLog(bytes.Clone(alert), l)
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(withLog) {
		t.Fatalf("not JSON: %s", withLog)
	}
	back, got, err := tlog.CutAlertLog(append(withLog, '\n'))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, alert) || got.Origin != l.Origin || got.Size != 12 || got.Root != l.Root || !slices.Equal(got.Evidence, l.Evidence) {
		t.Fatalf("got %s, %+v", back, got)
	}
	if back, got, err := tlog.CutAlertLog(alert); err != nil || got != nil || !bytes.Equal(back, alert) {
		t.Fatalf("an alert without log: %s %v %v", back, got, err)
	}
	for _, bad := range []string{
		`{"properties":{"log":{"origin":"o","size":1,"root":"AA==","evidence":[]}}}`,
		`{"properties":{"a":1,"log":{"origin":"o","size":1,"evidence":[]}}}`,
		`{"properties":{"a":1,"log":{"origin":"o","size":-1,"root":"` + base64.StdEncoding.EncodeToString(make([]byte, 32)) + `","evidence":[]}}}`,
		`{"properties":{"a":1,"log":{"origin":"o","size":1,"root":"` + base64.StdEncoding.EncodeToString(make([]byte, 32)) + `","evidence":[],"x":1}}}`,
	} {
		if _, _, err := tlog.CutAlertLog([]byte(bad)); err == nil && strings.Contains(bad, `"a":1`) {
			t.Errorf("%s taken", bad)
		}
	}
}

// TestExport copies a log into a directory, which reads as the same log.
func TestExport(t *testing.T) {
	ctx := context.Background()
	src := tlog.NewMem()
	w := newWriter(t, src, 0)
	body := []byte("a body\n")
	sum := sha256.Sum256(body)
	if err := w.AddBody(sum, body, []byte("its note")); err != nil {
		t.Fatal(err)
	}
	for i := range 700 {
		e := entry(i)
		if i == 5 {
			e.Body = &tlog.BodyRef{Sum: sum}
		}
		if i == 6 {
			e.Record = bytes.Repeat([]byte("y"), 70000)
		}
		if _, err := w.Append(ctx, leaf(t, e)); err != nil {
			t.Fatal(err)
		}
		if i == 299 {
			if _, err := w.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	c, err := w.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dst, _ := tlog.NewDir(t.TempDir())
	got, err := tlog.Export(ctx, tlog.NewReader(src), dst)
	if err != nil || got != c {
		t.Fatal(got, err)
	}
	r := tlog.NewReader(dst)
	_, v := fixedKey(t)
	if s, err := r.OpenCheckpoint(ctx, []note.Verifier{v}, 1); err != nil || s.Checkpoint != c {
		t.Fatal(s, err)
	}
	if _, err := r.LeafHashes(ctx, c, 0, c.Size); err != nil {
		t.Fatal(err)
	}
	if b, n, err := r.Body(ctx, sum); err != nil || string(b) != string(body) || string(n) != "its note" {
		t.Fatal(err)
	}
	if _, err := r.Record(ctx, sha256.Sum256(bytes.Repeat([]byte("y"), 70000))); err != nil {
		t.Fatal(err)
	}
	// A broken source is not copied as if it were sound.
	bad := tlog.NewMem()
	for _, n := range src.Names() {
		d, _ := src.Get(ctx, n)
		if n == "tile/entries/001" {
			d[100] ^= 1
		}
		bad.Put(ctx, n, d)
	}
	if _, err := tlog.Export(ctx, tlog.NewReader(bad), tlog.NewMem()); err == nil || !strings.Contains(err.Error(), "not a sound copy") {
		t.Fatalf("a changed bundle: %v", err)
	}
}

// A directory opened for reading (Open) is a Dir a witness puts its
// cosigned checkpoint in; and two Dirs of one directory in one process
// (an engine and a witness beside it) put without trampling each other's
// temporary files.
func TestDirPut(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	f, err := tlog.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	opened, ok := f.(*tlog.Dir)
	if !ok {
		t.Fatalf("Open of a directory gave a %T", f)
	}
	made, err := tlog.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	errs := make(chan error, 2*n)
	for i := range n {
		for j, d := range []*tlog.Dir{opened, made} {
			go func() {
				errs <- d.Put(ctx, fmt.Sprintf("body/%d-%d", j, i), bytes.Repeat([]byte{byte(j)}, 64<<10))
			}()
		}
	}
	for range 2 * n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		for j, d := range []*tlog.Dir{opened, made} {
			got, err := d.Get(ctx, fmt.Sprintf("body/%d-%d", j, i))
			if err != nil || !bytes.Equal(got, bytes.Repeat([]byte{byte(j)}, 64<<10)) {
				t.Fatalf("body/%d-%d: %d bytes, %v", j, i, len(got), err)
			}
		}
	}
	if err := opened.Sync(ctx); err != nil {
		t.Fatal(err)
	}
}

// A directory of NewPackDir holds the full tiles and bundles in its pack,
// and serves them, to itself, to a Dir that reads it and to an export,
// byte for byte as a log kept in files would; what a crash leaves half
// written at the pack's end is cut off, and a changed byte is caught.
func TestPackDir(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	packed, err := tlog.NewPackDir(root)
	if err != nil {
		t.Fatal(err)
	}
	// A reader that opened the directory before: it reads the pack again
	// as the engine appends to it.
	early, err := tlog.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := early.Get(ctx, "tile/entries/000"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a bundle not yet written: %v", err)
	}
	mem := tlog.NewMem()
	wp, wm := newWriter(t, packed, 0), newWriter(t, mem, 0)
	const n = 700
	body := []byte(strings.Repeat(`{"type":"Feature"}`+"\n", 50))
	sum := sha256.Sum256(body)
	for i := range n {
		for _, w := range []*tlog.Writer{wp, wm} {
			if i == 100 {
				if err := w.AddBody(sum, body, []byte("a signed note\n")); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := w.Append(ctx, leaf(t, entry(i))); err != nil {
				t.Fatal(err)
			}
			if i == 299 || i == n-1 {
				if _, err := w.Checkpoint(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	wp.Close()
	wm.Close()
	if _, err := os.Stat(filepath.Join(root, "tile", "entries", "000")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a full bundle written as a file of its own: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(tlog.BodyPath(sum)))); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a signed body written as a file of its own: %v", err)
	}
	if !slices.Contains(mem.Names(), tlog.BodyPath(sum)+".note") {
		t.Fatal("the signed body was not kept")
	}
	reader, err := tlog.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	same := func(what string, f tlog.Fetcher) {
		t.Helper()
		for _, name := range mem.Names() {
			want, _ := mem.Get(ctx, name)
			got, err := f.Get(ctx, name)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%s: %s: %d bytes, want %d: %v", what, name, len(got), len(want), err)
			}
		}
	}
	same("the packed directory", packed)
	same("the directory read", reader)
	same("the directory read while written", early)
	out := t.TempDir()
	dst, _ := tlog.NewDir(out)
	if _, err := tlog.Export(ctx, tlog.NewReader(reader), dst); err != nil {
		t.Fatal(err)
	}
	files := 0
	err = filepath.WalkDir(out, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		name := filepath.ToSlash(rel)
		got, _ := os.ReadFile(p)
		if want, err := mem.Get(ctx, name); err != nil || !bytes.Equal(got, want) {
			t.Errorf("exported %s differs from the log kept in memory: %v", name, err)
		}
		files++
		return nil
	})
	if err != nil || files < 2*(n/256)+2 {
		t.Fatalf("%d files exported: %v", files, err)
	}

	// A frame cut short at the end, as a crash leaves it: cut off when
	// the directory is opened again, and the log resumes.
	pack := filepath.Join(root, tlog.PackName)
	whole, err := os.ReadFile(pack)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pack, append(bytes.Clone(whole), whole[:300]...), 0o644); err != nil {
		t.Fatal(err)
	}
	again, err := tlog.NewPackDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(pack); fi.Size() != int64(len(whole)) {
		t.Fatalf("the pack is %d bytes after reopening, want %d", fi.Size(), len(whole))
	}
	same("the directory reopened", again)
	w := newWriter(t, again, n)
	if _, err := w.Append(ctx, leaf(t, entry(n))); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	w.Close()

	// A byte changed in a bundle in the pack.
	data, _ := os.ReadFile(pack)
	i := bytes.Index(data, []byte("tile/entries/000"))
	data[i+len("tile/entries/000")+40] ^= 1
	os.WriteFile(pack, data, 0o644)
	changed, _ := tlog.Open(root)
	if _, err := changed.Get(ctx, "tile/entries/000"); err == nil || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("a changed byte in the pack: %v", err)
	}
}

// TestPackDirReadsOlderFiles: a log directory an earlier engine wrote kept
// each signed body in a file of its own. An engine resuming it with the
// pack, and a reader, still find those bodies, and a body put again goes
// into the pack.
func TestPackDirReadsOlderFiles(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	body := []byte(`{"type":"Feature"}` + "\n")
	name := tlog.BodyPath(sha256.Sum256(body))
	older, err := tlog.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if err := older.Put(ctx, name, body); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(name))); err != nil {
		t.Fatalf("the older layout: %v", err)
	}
	packed, err := tlog.NewPackDir(root)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := tlog.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	for what, f := range map[string]tlog.Fetcher{"the engine's directory": packed, "a reader": reader} {
		if got, err := f.Get(ctx, name); err != nil || !bytes.Equal(got, body) {
			t.Errorf("%s: %q, %v", what, got, err)
		}
	}
	other := []byte(`{"type":"Feature","id":2}` + "\n")
	oname := tlog.BodyPath(sha256.Sum256(other))
	if err := packed.Put(ctx, oname, other); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(oname))); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a body put with the pack made a file: %v", err)
	}
	if got, err := packed.Get(ctx, oname); err != nil || !bytes.Equal(got, other) {
		t.Fatalf("the packed body: %q, %v", got, err)
	}
}

// slowSync is a storage whose Sync waits until it is let go.
type slowSync struct {
	*tlog.Mem
	syncing chan struct{} // a Sync has begun
	release chan struct{}
}

func (s *slowSync) Sync(ctx context.Context) error {
	select {
	case s.syncing <- struct{}{}:
	default:
	}
	<-s.release
	return s.Mem.Sync(ctx)
}

// TestAppendWhileCheckpointing: a checkpoint waiting on storage does not
// hold up appending; it publishes the tree it took, and the next one
// publishes the rest.
func TestAppendWhileCheckpointing(t *testing.T) {
	ctx := context.Background()
	st := &slowSync{Mem: tlog.NewMem(), syncing: make(chan struct{}, 1), release: make(chan struct{})}
	w := newWriter(t, st, 0)
	defer w.Close()
	released := false
	defer func() {
		if !released { // a failure: let the checkpoint end, and Close
			close(st.release)
		}
	}()
	for i := range 300 {
		if _, err := w.Append(ctx, leaf(t, entry(i))); err != nil {
			t.Fatal(err)
		}
	}
	want := w.Tree()
	type result struct {
		c   tlog.Checkpoint
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := w.Checkpoint(ctx)
		done <- result{c, err}
	}()
	<-st.syncing
	appended := make(chan error, 1)
	go func() {
		for i := 300; i < 600; i++ {
			if _, err := w.Append(ctx, leaf(t, entry(i))); err != nil {
				appended <- err
				return
			}
		}
		appended <- nil
	}()
	select {
	case err := <-appended:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("appending waited for the checkpoint's sync")
	}
	close(st.release)
	released = true
	r := <-done
	if r.err != nil || r.c != want {
		t.Fatalf("the checkpoint published %+v (%v), want the tree taken when it began, %+v", r.c, r.err, want)
	}
	msg, _ := st.Get(ctx, tlog.CheckpointName)
	sigs, err := tlog.OpenCheckpoint(msg, []note.Verifier{fixedVerifier}, 1)
	if err != nil || sigs.Checkpoint != want {
		t.Fatalf("stored checkpoint %+v (%v), want %+v", sigs, err, want)
	}
	c, err := w.Checkpoint(ctx)
	if err != nil || c.Size != 600 || c != w.Tree() {
		t.Fatalf("the next checkpoint: %+v, %v", c, err)
	}
}
