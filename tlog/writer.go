package tlog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"

	"golang.org/x/mod/sumdb/note"
	sumtlog "golang.org/x/mod/sumdb/tlog"
)

// WriterConfig is what a Writer needs.
type WriterConfig struct {
	Storage Storage
	// Origin names the log in its checkpoints (c2sp.org/tlog-checkpoint).
	Origin string
	// Signer is the log's key; Verifier its public key, which a
	// checkpoint found in the storage must verify under.
	Signer   note.Signer
	Verifier note.Verifier
	// Size is the number of entries the engine's own checkpoint says the
	// log held when it was taken (0 for a new engine); Root, if set, that
	// tree's root hash. A restarted engine consumes the records after its
	// checkpoint again, in the same order: the Writer then checks each
	// entry it is given against the one the log holds already, up to the
	// log's published checkpoint, and appends after it.
	Size uint64
	Root *Hash
}

// Writer appends entries to a log in consumption order and writes it as
// c2sp.org/tlog-tiles: hash tiles and entry bundles as they fill, and, at
// each Checkpoint, the partial tiles and bundle of the tree so far, then
// the signed checkpoint. Its methods may be called from several
// goroutines (the engine appends, witnesses' cosignatures arrive over
// HTTP).
//
// What is durable before a checkpoint is published: every tile, bundle,
// signed body and long record the checkpoint's tree needs (Storage.Sync),
// so a crash never leaves a published checkpoint naming something lost.
// Entries appended after the last published checkpoint are in memory only
// until the next one; after a crash the engine consumes them again from
// its own checkpoint, which must record the log's size and root (Tree)
// when it is taken.
type Writer struct {
	mu sync.Mutex
	// pub orders the publishing of checkpoints and cosignatures, which
	// wait on storage without holding mu.
	pub      sync.Mutex
	store    Storage
	origin   string
	signer   note.Signer
	verifier note.Verifier

	size uint64
	// levels[l] holds the hashes at tree level 8l of the unfinished tile
	// of tile level l (fewer than 256).
	levels [][]Hash
	bundle []byte // the unfinished entry bundle, framed
	nb     int    // its entries

	published Checkpoint // the latest checkpoint in storage (Size 0: none)
	latest    []byte     // its signed note, with the cosignatures gathered
	// stored serves the leaf hashes of a log already holding entries past
	// size (a resumed writer): entries appended again must match them.
	stored     sumtlog.HashReader
	storedTile int64
	storedHash []Hash

	partials map[[2]int64][]string // partial tiles written, by level and index
	bodies   map[[32]byte]bool     // bodies stored by this writer
	scratch  []Hash

	// Tiles, bundles and bodies are written by a goroutine of their own,
	// so that storage's latency stays off the engine's path; a checkpoint
	// waits for them.
	ops    chan writeOp
	opsWG  sync.WaitGroup
	opsErr atomic.Pointer[error]
	closed bool
	// spareBundles and spareTiles hold the buffers of full bundles and
	// tiles written and free again: a bundle and a tile every 256
	// entries would otherwise be garbage.
	spareBundles, spareTiles chan []byte
}

// writeOp is a Put (data not nil) or a Delete, or, with done set, a
// marker that everything before it was done.
type writeOp struct {
	name string
	data []byte
	del  bool
	// spare, if set, takes data, to be reused, once it is written.
	spare chan []byte
	done  chan struct{}
}

// ErrDiverged is the error of an entry that differs from the one a log
// holds already at its index: replaying the records after a restart gave
// other entries than the first time, or the log belongs to other records.
// Appending it would fork the log, which a log must never do.
var ErrDiverged = errors.New("the log already holds a different entry here")

// NewWriter opens a log for appending: a new one, or one the storage holds
// already, which it resumes at cfg.Size.
func NewWriter(ctx context.Context, cfg WriterConfig) (*Writer, error) {
	if err := CheckOrigin(cfg.Origin); err != nil {
		return nil, err
	}
	if cfg.Signer == nil || cfg.Verifier == nil {
		return nil, errors.New("log: a signer and its verifier are required")
	}
	if cfg.Signer.Name() != cfg.Verifier.Name() || cfg.Signer.KeyHash() != cfg.Verifier.KeyHash() {
		return nil, fmt.Errorf("log: the public key %s+%08x is not the signing key's (%s+%08x)",
			cfg.Verifier.Name(), cfg.Verifier.KeyHash(), cfg.Signer.Name(), cfg.Signer.KeyHash())
	}
	w := &Writer{store: cfg.Storage, origin: cfg.Origin, signer: cfg.Signer, verifier: cfg.Verifier,
		levels: [][]Hash{nil}, partials: map[[2]int64][]string{}, bodies: map[[32]byte]bool{}, storedTile: -1}
	if err := w.open(ctx, cfg); err != nil {
		return nil, err
	}
	w.ops = make(chan writeOp, 256)
	w.spareBundles, w.spareTiles = make(chan []byte, 32), make(chan []byte, 32)
	w.opsWG.Add(1)
	go w.writeLoop()
	return w, nil
}

func (w *Writer) open(ctx context.Context, cfg WriterConfig) error {
	msg, err := cfg.Storage.Get(ctx, CheckpointName)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if cfg.Size > 0 {
			return fmt.Errorf("log: the engine's checkpoint counts %d entries, but the log holds no checkpoint: it was lost or replaced", cfg.Size)
		}
		return nil
	case err != nil:
		return fmt.Errorf("log: %w", err)
	}
	sigs, err := OpenCheckpoint(msg, []note.Verifier{cfg.Verifier}, 1)
	if err != nil {
		return fmt.Errorf("log: %w", err)
	}
	cp := sigs.Checkpoint
	if cp.Origin != cfg.Origin {
		return fmt.Errorf("log: its checkpoint is of origin %q, not %q", cp.Origin, cfg.Origin)
	}
	if cfg.Size > cp.Size {
		return fmt.Errorf("log: the engine's checkpoint counts %d entries, but the log's checkpoint only %d: the log lost entries", cfg.Size, cp.Size)
	}
	w.published, w.latest = cp, msg
	tr := &tileReader{ctx: ctx, f: cfg.Storage, tree: cp.Size}
	w.stored = sumtlog.TileHashReader(sumtlog.Tree{N: int64(cp.Size), Hash: cp.Root}, tr)
	if err := w.load(ctx, tr, cfg.Size); err != nil {
		return fmt.Errorf("log: resuming at %d entries: %w", cfg.Size, err)
	}
	root := w.rootLocked()
	want, err := sumtlog.TreeHash(int64(cfg.Size), w.stored)
	if err != nil {
		return fmt.Errorf("log: resuming at %d entries: %w", cfg.Size, err)
	}
	if root != want {
		return fmt.Errorf("log: resuming at %d entries: its tiles give root %s, its checkpoint's tree %s", cfg.Size, b64(root), b64(want))
	}
	if cfg.Root != nil && *cfg.Root != root {
		return fmt.Errorf("log: at %d entries its root is %s, the engine's checkpoint says %s: the log is not the one the engine wrote", cfg.Size, b64(root), b64(*cfg.Root))
	}
	return nil
}

// writeLoop does the writes queued, in order. After an error it does no
// more: the next Append or Checkpoint returns the error.
func (w *Writer) writeLoop() {
	defer w.opsWG.Done()
	ctx := context.Background()
	for op := range w.ops {
		if op.done != nil {
			close(op.done)
			continue
		}
		if w.asyncErr() != nil {
			continue
		}
		var err error
		if op.del {
			err = w.store.Delete(ctx, op.name)
		} else {
			err = w.store.Put(ctx, op.name, op.data)
		}
		if err != nil {
			err = fmt.Errorf("log: %w", err)
			w.opsErr.CompareAndSwap(nil, &err)
		}
		if op.spare != nil {
			select {
			case op.spare <- op.data[:0]:
			default:
			}
		}
	}
}

// ErrClosed is the error of a Writer used after Close.
var ErrClosed = errors.New("log: the writer is closed")

func (w *Writer) usable() error {
	if w.closed {
		return ErrClosed
	}
	return w.asyncErr()
}

func (w *Writer) asyncErr() error {
	if p := w.opsErr.Load(); p != nil {
		return *p
	}
	return nil
}

// put queues a write; data must not change afterwards.
func (w *Writer) put(name string, data []byte) { w.ops <- writeOp{name: name, data: data} }

// flush waits until every write queued is done, and returns the first
// error.
func (w *Writer) flush() error {
	<-w.barrier()
	return w.asyncErr()
}

// barrier queues a mark behind the writes queued so far, and returns a
// channel closed once they are done.
func (w *Writer) barrier() <-chan struct{} {
	done := make(chan struct{})
	w.ops <- writeOp{done: done}
	return done
}

// Close waits for the writes under way and stops the writer. Entries
// appended since the last Checkpoint are not published.
func (w *Writer) Close() error {
	w.pub.Lock() // after a checkpoint under way
	defer w.pub.Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.flush()
	close(w.ops)
	w.opsWG.Wait()
	return err
}

func b64(h Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

// load rebuilds the unfinished tiles and bundle of the tree of size n from
// storage.
func (w *Writer) load(ctx context.Context, tr *tileReader, n uint64) error {
	w.size = n
	for l := 0; l == 0 || n>>(TileHeight*l) > 0; l++ {
		if l >= len(w.levels) {
			w.levels = append(w.levels, nil)
		}
		count := int(n >> (TileHeight * l) & (TileWidth - 1))
		if count == 0 {
			continue
		}
		idx := int64(n >> (TileHeight * (l + 1)))
		data, err := tr.read(sumtlog.Tile{H: TileHeight, L: l, N: idx, W: count})
		if err != nil {
			return err
		}
		for i := range count {
			var h Hash
			copy(h[:], data[i*sumtlog.HashSize:])
			w.levels[l] = append(w.levels[l], h)
		}
	}
	if count := int(n & (TileWidth - 1)); count > 0 {
		data, err := tr.read(sumtlog.Tile{H: TileHeight, L: -1, N: int64(n >> TileHeight), W: count})
		if err != nil {
			return err
		}
		entries, err := SplitBundle(data)
		if err != nil {
			return err
		}
		if len(entries) < count {
			return fmt.Errorf("%s holds %d entries, fewer than %d", EntriesPath(int64(n>>TileHeight), count), len(entries), count)
		}
		for _, e := range entries[:count] {
			w.bundle = binary.BigEndian.AppendUint16(w.bundle, uint16(len(e)))
			w.bundle = append(w.bundle, e...)
		}
		w.nb = count
	}
	return nil
}

// Append adds a leaf at the end of the log and returns its index.
func (w *Writer) Append(ctx context.Context, l Leaf) (uint64, error) {
	if len(l.Data) > MaxEntry {
		return 0, fmt.Errorf("log entry of %d bytes: at most %d", len(l.Data), MaxEntry)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return 0, err
	}
	i := w.size
	if err := w.check(i, l.Hash); err != nil {
		return 0, err
	}
	if i >= w.published.Size && l.Record != nil {
		w.put(RecordPath(sha256.Sum256(l.Record)), bytes.Clone(l.Record))
	}
	w.bundle = binary.BigEndian.AppendUint16(w.bundle, uint16(len(l.Data)))
	w.bundle = append(w.bundle, l.Data...)
	w.nb++
	w.grow(l.Hash)
	return i, nil
}

// AppendFramed adds entries at the end of the log and returns the first's
// index: framed holds them one after the other as Entry.AppendFramed
// frames them, each after its length, and hashes their leaf hashes. It is
// Append for a run of entries, none of them with its record stored apart
// (those go through Append): one lock and one copy into the entry bundle
// a run rather than a record. On an error, the entries before the one it
// names are appended.
func (w *Writer) AppendFramed(ctx context.Context, framed []byte, hashes []Hash) (uint64, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return 0, err
	}
	first := w.size
	from, off := 0, 0 // framed[from:off] is counted in w.nb, not yet in w.bundle
	var err error
	for _, h := range hashes {
		if len(framed)-off < 2+2 {
			err = fmt.Errorf("log: entry %d: framed entries cut short", w.size)
			break
		}
		n := 2 + int(binary.BigEndian.Uint16(framed[off:]))
		if len(framed)-off < n {
			err = fmt.Errorf("log: entry %d: framed entries cut short", w.size)
			break
		}
		if framed[off+3]&flagRecordAt != 0 {
			err = fmt.Errorf("log: entry %d: its record is stored apart, which Append does", w.size)
			break
		}
		if err = w.check(w.size, h); err != nil {
			break
		}
		off += n
		w.nb++
		if w.nb == TileWidth {
			w.bundle = append(w.bundle, framed[from:off]...)
			from = off
		}
		w.grow(h)
	}
	w.bundle = append(w.bundle, framed[from:off]...)
	if err == nil && off != len(framed) {
		err = fmt.Errorf("log: %d bytes of framed entries after the last of %d hashes", len(framed)-off, len(hashes))
	}
	return first, err
}

// check checks the leaf hash h of entry i against the one the log holds
// already, if it does (a resumed writer).
func (w *Writer) check(i uint64, h Hash) error {
	if i >= w.published.Size {
		return nil
	}
	stored, err := w.storedLeaf(i)
	if err != nil {
		return fmt.Errorf("log: entry %d: %w", i, err)
	}
	if stored != h {
		return fmt.Errorf("log: entry %d hashes to %s, the log holds %s there: %w", i, b64(h), b64(stored), ErrDiverged)
	}
	return nil
}

// grow adds the leaf hash h of the entry last put in the bundle (w.nb
// counts it) to the tree, and queues the tiles and the bundle it fills.
func (w *Writer) grow(h Hash) {
	w.levels[0] = append(w.levels[0], h)
	w.size++
	for lv := 0; len(w.levels[lv]) == TileWidth; lv++ {
		n := int64(w.size>>(TileHeight*(lv+1))) - 1
		if end := uint64(n+1) << (TileHeight * (lv + 1)); end > w.published.Size {
			var buf []byte
			select {
			case buf = <-w.spareTiles:
			default:
			}
			w.putFull(lv, n, TilePath(lv, n, 0), appendTile(buf, w.levels[lv]), w.spareTiles)
		}
		if lv+1 == len(w.levels) {
			w.levels = append(w.levels, nil)
		}
		w.levels[lv+1] = append(w.levels[lv+1], w.perfect(w.levels[lv]))
		w.levels[lv] = w.levels[lv][:0]
	}
	if w.nb == TileWidth {
		n := int64(w.size>>TileHeight) - 1
		if w.size > w.published.Size {
			w.putFull(-1, n, EntriesPath(n, 0), w.bundle, w.spareBundles)
			select { // the old one is being written
			case b := <-w.spareBundles:
				w.bundle = b
			default:
				w.bundle = make([]byte, 0, cap(w.bundle))
			}
		} else {
			w.bundle = w.bundle[:0]
		}
		w.nb = 0
	}
}

// storedLeaf is the hash the log holds for leaf i, read tile by tile and
// checked against the published checkpoint's root.
func (w *Writer) storedLeaf(i uint64) (Hash, error) {
	tile := int64(i >> TileHeight)
	if tile != w.storedTile {
		start := uint64(tile) << TileHeight
		end := min(start+TileWidth, w.published.Size)
		idx := make([]int64, 0, end-start)
		for j := start; j < end; j++ {
			idx = append(idx, sumtlog.StoredHashIndex(0, int64(j)))
		}
		hs, err := w.stored.ReadHashes(idx)
		if err != nil {
			return Hash{}, err
		}
		w.storedTile, w.storedHash = tile, hs
	}
	return w.storedHash[i&(TileWidth-1)], nil
}

func tileData(hs []Hash) []byte {
	return appendTile(make([]byte, 0, len(hs)*sumtlog.HashSize), hs)
}

// appendTile appends the tile of hashes hs to data.
func appendTile(data []byte, hs []Hash) []byte {
	for _, h := range hs {
		data = append(data, h[:]...)
	}
	return data
}

// putFull writes a full tile or bundle and removes the partial ones this
// writer wrote for it, which readers no longer need (c2sp.org/tlog-tiles
// lets a log delete them; readers fall back to the full tile).
func (w *Writer) putFull(l int, n int64, path string, data []byte, spare chan []byte) {
	w.ops <- writeOp{name: path, data: data, spare: spare}
	k := [2]int64{int64(l), n}
	for _, p := range w.partials[k] {
		w.ops <- writeOp{name: p, del: true}
	}
	delete(w.partials, k)
}

// perfect is the root hash of a perfect subtree whose leaves (at some
// level) are hs, a power of two of them.
func (w *Writer) perfect(hs []Hash) Hash {
	w.scratch = append(w.scratch[:0], hs...)
	s := w.scratch
	for len(s) > 1 {
		for i := 0; i < len(s)/2; i++ {
			s[i] = sumtlog.NodeHash(s[2*i], s[2*i+1])
		}
		s = s[:len(s)/2]
	}
	return s[0]
}

// rootLocked is the RFC 6962 root of the tree so far: the unfinished tiles,
// from the highest level down, are perfect subtrees of decreasing sizes
// once each is cut into powers of two; folding them from the right gives
// the root.
func (w *Writer) rootLocked() Hash {
	var subs []Hash
	for l := len(w.levels) - 1; l >= 0; l-- {
		hs := w.levels[l]
		for len(hs) > 0 {
			p := 1
			for p*2 <= len(hs) {
				p *= 2
			}
			subs = append(subs, w.perfect(hs[:p]))
			hs = hs[p:]
		}
	}
	if len(subs) == 0 {
		return sha256.Sum256(nil)
	}
	acc := subs[len(subs)-1]
	for i := len(subs) - 2; i >= 0; i-- {
		acc = sumtlog.NodeHash(subs[i], acc)
	}
	return acc
}

// Size is the number of entries appended.
func (w *Writer) Size() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.size
}

// Tree is the tree head of the entries appended so far, signed or not:
// what an alert made now was made under, and what the engine's checkpoint
// records.
func (w *Writer) Tree() Checkpoint {
	w.mu.Lock()
	defer w.mu.Unlock()
	return Checkpoint{Origin: w.origin, Size: w.size, Root: w.rootLocked()}
}

// Checkpoint makes the tree so far durable and publishes its signed
// checkpoint: the partial tiles and bundle, a sync, the checkpoint, a
// sync. A tree no larger than the published one is not published again
// (a log never moves its checkpoint back); its head is returned all the
// same.
//
// Appending goes on while a checkpoint waits for its writes and syncs:
// the tree is taken, and its partial tiles queued, under the writer's
// lock, which the waiting does not hold. Checkpoints (and cosignatures)
// are published one at a time.
func (w *Writer) Checkpoint(ctx context.Context) (Checkpoint, error) {
	w.pub.Lock()
	defer w.pub.Unlock()
	w.mu.Lock()
	c := Checkpoint{Origin: w.origin, Size: w.size, Root: w.rootLocked()}
	if err := w.usable(); err != nil {
		w.mu.Unlock()
		return c, err
	}
	if c.Size <= w.published.Size {
		defer w.mu.Unlock()
		if c.Size == w.published.Size && c.Root != w.published.Root {
			return c, fmt.Errorf("log: at %d entries the root is %s, the published checkpoint says %s: %w", c.Size, b64(c.Root), b64(w.published.Root), ErrDiverged)
		}
		return c, nil
	}
	for l, hs := range w.levels {
		if len(hs) == 0 {
			continue
		}
		n := int64(w.size >> (TileHeight * (l + 1)))
		p := TilePath(l, n, len(hs))
		w.put(p, tileData(hs))
		w.partials[[2]int64{int64(l), n}] = append(w.partials[[2]int64{int64(l), n}], p)
	}
	if w.nb > 0 {
		n := int64(w.size >> TileHeight)
		p := EntriesPath(n, w.nb)
		w.put(p, bytes.Clone(w.bundle))
		w.partials[[2]int64{-1, n}] = append(w.partials[[2]int64{-1, n}], p)
	}
	done := w.barrier() // after everything the tree needs
	w.mu.Unlock()

	<-done
	if err := w.asyncErr(); err != nil {
		return c, err
	}
	if err := w.store.Sync(ctx); err != nil {
		return c, fmt.Errorf("log: %w", err)
	}
	msg, err := c.Sign(w.signer)
	if err != nil {
		return c, fmt.Errorf("log: signing the checkpoint: %w", err)
	}
	if err := w.store.Put(ctx, CheckpointName, msg); err != nil {
		return c, fmt.Errorf("log: %w", err)
	}
	if err := w.store.Sync(ctx); err != nil {
		return c, fmt.Errorf("log: %w", err)
	}
	w.mu.Lock()
	w.published, w.latest = c, msg
	w.mu.Unlock()
	return c, nil
}

// Latest is the latest published checkpoint, with the cosignatures
// gathered for it; nil before the first.
func (w *Writer) Latest() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.latest)
}

// AddBody stores a signed body and its signed note (once: a body is named
// by its SHA-256). The engine calls it before appending the body's
// records, so the checkpoint that covers them covers the body too.
//
// sum must be the body's SHA-256: the one its signature was checked
// against, which the caller has. AddBody does not hash the body again —
// it would be the third time, after the ingest and the engine checked the
// signature — and a reader checks every body against its name
// (Reader.Body), so a wrong one could not pass unnoticed.
//
// The log keeps body and signed, without copying them, until they are
// written: the caller must not change them afterwards. (The engine hands
// it the message the body came in, which nothing changes.)
func (w *Writer) AddBody(sum [32]byte, body, signed []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.bodies[sum] {
		return nil
	}
	if err := w.usable(); err != nil {
		return err
	}
	w.put(BodyPath(sum), body)
	w.put(BodyPath(sum)+".note", signed)
	if len(w.bodies) > 1<<14 {
		clear(w.bodies) // a memo, not a record: putting a body again is harmless
	}
	w.bodies[sum] = true
	return nil
}

// AddCosignature gathers a witness's cosignature of the latest checkpoint
// (see MergeCosignatures) and publishes the checkpoint with it.
func (w *Writer) AddCosignature(ctx context.Context, cosigned []byte, witnesses []note.Verifier) ([]string, error) {
	w.pub.Lock()
	defer w.pub.Unlock()
	w.mu.Lock()
	latest := w.latest
	w.mu.Unlock()
	merged, added, err := MergeCosignatures(latest, cosigned, w.verifier, witnesses)
	if err != nil || len(added) == 0 {
		return added, err
	}
	if err := w.store.Put(ctx, CheckpointName, merged); err != nil {
		return nil, fmt.Errorf("log: %w", err)
	}
	if err := w.store.Sync(ctx); err != nil {
		return nil, fmt.Errorf("log: %w", err)
	}
	w.mu.Lock()
	w.latest = merged
	w.mu.Unlock()
	return added, nil
}

// SplitBundle cuts an entry bundle into its entries (big-endian uint16
// lengths, c2sp.org/tlog-tiles).
func SplitBundle(data []byte) ([][]byte, error) {
	var out [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			return out, errors.New("entry bundle: a length cut short")
		}
		n := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+n {
			return out, fmt.Errorf("entry bundle: entry %d of %d bytes cut short at %d", len(out), n, len(data)-2)
		}
		out = append(out, data[2:2+n])
		data = data[2+n:]
	}
	return out, nil
}

func nodeHash(l, r Hash) Hash { return sumtlog.NodeHash(l, r) }

func emptyRoot() Hash { return sha256.Sum256(nil) }
