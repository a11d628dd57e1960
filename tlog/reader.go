package tlog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	sumtlog "golang.org/x/mod/sumdb/tlog"
)

// Open returns a Fetcher for a log: a directory, or the URL prefix of a log
// served over HTTP (http:// or https://).
func Open(loc string) (Fetcher, error) {
	if strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://") {
		u, err := url.Parse(loc)
		if err != nil {
			return nil, fmt.Errorf("log %s: %w", loc, err)
		}
		return &HTTP{Prefix: strings.TrimSuffix(u.String(), "/")}, nil
	}
	fi, err := os.Stat(loc)
	if err != nil {
		return nil, fmt.Errorf("log: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("log %s: not a directory (a log is a directory of tiles, or an http:// URL)", loc)
	}
	return newDir(loc), nil
}

// HTTP fetches a log's objects with plain GETs under a URL prefix, as
// c2sp.org/tlog-tiles serves them: any web server holding a copy of a log
// directory is a mirror.
type HTTP struct {
	Prefix string
	Client *http.Client // default: a client with a 1-minute timeout
}

// maxObject bounds what one GET may return: a full entry bundle of long
// entries, or a signed body.
const maxObject = 80 << 20

func (h *HTTP) Get(ctx context.Context, name string) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	c := h.Client
	if c == nil {
		c = &http.Client{Timeout: time.Minute}
	}
	u := h.Prefix + "/" + name
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, fmt.Errorf("GET %s: %w", u, fs.ErrNotExist)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxObject+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	if len(data) > maxObject {
		return nil, fmt.Errorf("GET %s: more than %d bytes", u, maxObject)
	}
	return data, nil
}

// tileReader reads tiles for golang.org/x/mod/sumdb/tlog's TileHashReader,
// which checks every tile it reads against the tree's root. A partial
// tile that is gone (its full tile replaced it) is read from the full one.
type tileReader struct {
	ctx context.Context
	f   Fetcher
	// tree, if not 0, is the size of a tree whose tiles the storage holds:
	// its partial tiles are wider than those of a smaller tree, and hold
	// them.
	tree uint64
	// cache, if set, keeps the tiles above level 0 once verified: every
	// proof of a level-0 tile needs them again.
	cache *tileCache
}

type tileCache struct {
	mu sync.Mutex
	m  map[sumtlog.Tile][]byte
}

func (c *tileCache) get(t sumtlog.Tile) ([]byte, bool) {
	if c == nil || t.L < 1 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.m[t]
	return d, ok
}

func (c *tileCache) put(t sumtlog.Tile, d []byte) {
	if c == nil || t.L < 1 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) > 1<<14 {
		clear(c.m)
	}
	c.m[t] = d
}

func (r *tileReader) Height() int { return TileHeight }

func (r *tileReader) ReadTiles(tiles []sumtlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		if d, ok := r.cache.get(t); ok {
			out[i] = d
			continue
		}
		data, err := r.read(t)
		if err != nil {
			return nil, err
		}
		out[i] = data
	}
	return out, nil
}

// SaveTiles is told of the tiles TileHashReader has verified.
func (r *tileReader) SaveTiles(tiles []sumtlog.Tile, data [][]byte) {
	for i, t := range tiles {
		r.cache.put(t, data[i])
	}
}

// read returns a tile's data; for a hash tile exactly W hashes, for an
// entry bundle its first W entries' framed bytes.
func (r *tileReader) read(t sumtlog.Tile) ([]byte, error) {
	data, err := r.f.Get(r.ctx, tilePath(t))
	if errors.Is(err, fs.ErrNotExist) && t.W < TileWidth {
		full := t
		full.W = TileWidth
		data, err = r.f.Get(r.ctx, tilePath(full))
		l := max(t.L, 0)
		if wider := full; errors.Is(err, fs.ErrNotExist) && int64(r.tree>>(TileHeight*(l+1))) == t.N {
			wider.W = int(r.tree >> (TileHeight * l) & (TileWidth - 1))
			if wider.W > t.W {
				data, err = r.f.Get(r.ctx, tilePath(wider))
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", tilePath(t), err)
	}
	if t.L < 0 {
		n, off := 0, 0
		for n < t.W && off+2 <= len(data) {
			off += 2 + (int(data[off])<<8 | int(data[off+1]))
			n++
		}
		if n < t.W || off > len(data) {
			return nil, fmt.Errorf("%s holds fewer than %d entries", tilePath(t), t.W)
		}
		return data[:off], nil
	}
	if len(data) < t.W*sumtlog.HashSize {
		return nil, fmt.Errorf("%s holds %d bytes, fewer than %d hashes", tilePath(t), len(data), t.W)
	}
	return data[:t.W*sumtlog.HashSize], nil
}

// Reader reads a log through a Fetcher, checking what it reads against a
// checkpoint.
type Reader struct {
	f     Fetcher
	cache *tileCache
}

// NewReader returns a reader of the log f fetches.
func NewReader(f Fetcher) *Reader {
	return &Reader{f: f, cache: &tileCache{m: map[sumtlog.Tile][]byte{}}}
}

// Fetcher is where the reader reads from.
func (r *Reader) Fetcher() Fetcher { return r.f }

// Checkpoint fetches the log's latest checkpoint, signatures and all.
func (r *Reader) Checkpoint(ctx context.Context) ([]byte, error) {
	data, err := r.f.Get(ctx, CheckpointName)
	if err != nil {
		return nil, fmt.Errorf("log checkpoint: %w", err)
	}
	return data, nil
}

// OpenCheckpoint fetches the latest checkpoint and checks its signatures
// (see OpenCheckpoint).
func (r *Reader) OpenCheckpoint(ctx context.Context, trusted []note.Verifier, min int) (*Signatures, error) {
	msg, err := r.Checkpoint(ctx)
	if err != nil {
		return nil, err
	}
	return OpenCheckpoint(msg, trusted, min)
}

// HashReader reads the tree's stored hashes from its tiles, each tile
// checked against the checkpoint's root as it is read.
func (r *Reader) HashReader(ctx context.Context, c Checkpoint) sumtlog.HashReader {
	return sumtlog.TileHashReader(sumtlog.Tree{N: int64(c.Size), Hash: c.Root}, &tileReader{ctx: ctx, f: r.f, cache: r.cache})
}

// TreeHash is the root of the first n entries of the checkpoint's tree,
// from tiles checked against its root.
func (r *Reader) TreeHash(ctx context.Context, c Checkpoint, n uint64) (Hash, error) {
	if n > c.Size {
		return Hash{}, fmt.Errorf("a tree of %d entries is larger than the checkpoint's (%d)", n, c.Size)
	}
	return sumtlog.TreeHash(int64(n), r.HashReader(ctx, c))
}

// LeafHashes reads the leaf hashes of entries [start, end) of the
// checkpoint's tree from its level-0 tiles, checked against its root.
func (r *Reader) LeafHashes(ctx context.Context, c Checkpoint, start, end uint64) ([]Hash, error) {
	if end > c.Size || start > end {
		return nil, fmt.Errorf("entries %d to %d are not in a tree of %d", start, end, c.Size)
	}
	idx := make([]int64, 0, end-start)
	for i := start; i < end; i++ {
		idx = append(idx, sumtlog.StoredHashIndex(0, int64(i)))
	}
	return r.HashReader(ctx, c).ReadHashes(idx)
}

// Bundle reads entry bundle n as the tree of the given size has it: its
// entries, not yet checked against any hash.
func (r *Reader) Bundle(ctx context.Context, n int64, size uint64) ([][]byte, error) {
	w := TileWidth
	if uint64(n+1)*TileWidth > size {
		w = int(size - uint64(n)*TileWidth)
	}
	if w <= 0 {
		return nil, fmt.Errorf("entry bundle %d is beyond a tree of %d", n, size)
	}
	tr := &tileReader{ctx: ctx, f: r.f}
	data, err := tr.read(sumtlog.Tile{H: TileHeight, L: -1, N: n, W: w})
	if err != nil {
		return nil, err
	}
	entries, err := SplitBundle(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EntriesPath(n, w), err)
	}
	return entries, nil
}

// Body fetches a signed body and its signed note, and checks the body's
// hash.
func (r *Reader) Body(ctx context.Context, sum [32]byte) (body, signed []byte, err error) {
	if body, err = r.f.Get(ctx, BodyPath(sum)); err != nil {
		return nil, nil, fmt.Errorf("signed body %s: %w", hex.EncodeToString(sum[:]), err)
	}
	if got := sha256.Sum256(body); got != sum {
		return nil, nil, fmt.Errorf("signed body %s: its bytes hash to %s: the file was changed", hex.EncodeToString(sum[:]), hex.EncodeToString(got[:]))
	}
	if signed, err = r.f.Get(ctx, BodyPath(sum)+".note"); err != nil {
		return nil, nil, fmt.Errorf("signed body %s: its signature: %w", hex.EncodeToString(sum[:]), err)
	}
	return body, signed, nil
}

// Record fetches a record stored apart from its entry, checking its hash.
func (r *Reader) Record(ctx context.Context, sum [32]byte) ([]byte, error) {
	data, err := r.f.Get(ctx, RecordPath(sum))
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", hex.EncodeToString(sum[:]), err)
	}
	if sha256.Sum256(data) != sum {
		return nil, fmt.Errorf("record %s: its bytes do not hash to its name: the file was changed", hex.EncodeToString(sum[:]))
	}
	return data, nil
}
