package tlog

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Storage holds a log's objects by name: the checkpoint, hash tiles, entry
// bundles, signed bodies and long records (docs/log.md). A directory, a
// map in memory, a JetStream object store or key-value bucket all fit:
//
//   - Put of an immutable object (every one but the checkpoint) writes
//     the same bytes whenever it is repeated, so a retry or a resumed
//     writer may put it again;
//   - the checkpoint is replaced as a whole, never seen half written;
//   - what was Put is durable once Sync returns. The Writer syncs before
//     it publishes a checkpoint, so a published checkpoint never names a
//     tile, bundle or body that a crash could lose;
//   - Put does not keep data once it returns (the Writer reuses it).
type Storage interface {
	// Get returns an object, or an error wrapping fs.ErrNotExist.
	Get(ctx context.Context, name string) ([]byte, error)
	Put(ctx context.Context, name string, data []byte) error
	// Delete removes an object; removing one that does not exist is no
	// error.
	Delete(ctx context.Context, name string) error
	// Sync makes everything Put so far durable.
	Sync(ctx context.Context) error
}

// Fetcher is the read side of a storage: a directory, a Storage, or a log
// served over HTTP (c2sp.org/tlog-tiles GETs).
type Fetcher interface {
	Get(ctx context.Context, name string) ([]byte, error)
}

// checkName refuses names that could leave the storage's root.
func checkName(name string) error {
	if name == "" || strings.HasPrefix(name, "/") || path.Clean(name) != name || strings.HasPrefix(name, "..") || strings.Contains(name, "\\") {
		return fmt.Errorf("log object name %q: not a clean relative path", name)
	}
	return nil
}

// Dir is a log kept in a directory, laid out as it is served over HTTP, so
// that any web server can serve it and any copy of it is a mirror.
type Dir struct {
	root string

	mu      sync.Mutex
	pending map[string]bool // files written since the last Sync
	dirs    map[string]bool // directories created or changed since then
	made    map[string]bool // directories known to exist
	tmp     uint64          // the last temporary file's number
	prefix  string          // this Dir's temporary files' prefix

	// pack holds the objects that never change (PackName): written by a Dir
	// of NewPackDir, only read by another.
	pack *pack
}

// NewDir returns the storage of a log in directory root, created if needed.
func NewDir(root string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	return newDir(root), nil
}

// NewPackDir returns the storage of a log that an engine writes in
// directory root, created if needed: like NewDir's, but full tiles, entry
// bundles, signed bodies and long records are appended to one file
// (PackName) rather than each
// written to a file of its own, which costs the engine far less. The
// directory's Get, the HTTP handler, `log export` and `verify --log DIR`
// read them under their c2sp.org/tlog-tiles names all the same; a static
// mirror of the log is what `log export` writes. One Dir at a time may
// write a directory's pack.
func NewPackDir(root string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	p, err := openPack(root)
	if err != nil {
		return nil, err
	}
	d := newDir(root)
	d.pack = p
	return d, nil
}

// newDir is a Dir of root. Its temporary files' names are its own, even
// beside another Dir of root in this process (an engine and a witness).
func newDir(root string) *Dir {
	var rnd [6]byte
	rand.Read(rnd[:])
	return &Dir{root: root, pending: map[string]bool{}, dirs: map[string]bool{}, made: map[string]bool{},
		prefix: ".tmp-" + hex.EncodeToString(rnd[:]) + "-",
		pack:   &pack{path: filepath.Join(root, PackName), index: map[string]packLoc{}}}
}

// Root is the directory.
func (d *Dir) Root() string { return d.root }

func (d *Dir) Get(_ context.Context, name string) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if !packed(name) {
		return os.ReadFile(filepath.Join(d.root, filepath.FromSlash(name)))
	}
	// The pack first where this Dir writes it (it holds what was put
	// last), the file first where a directory may be a static mirror.
	if d.pack.writable {
		if data, err := d.pack.get(name); !errors.Is(err, fs.ErrNotExist) {
			return data, err
		}
		return os.ReadFile(filepath.Join(d.root, filepath.FromSlash(name)))
	}
	data, err := os.ReadFile(filepath.Join(d.root, filepath.FromSlash(name)))
	if !errors.Is(err, fs.ErrNotExist) {
		return data, err
	}
	if data, perr := d.pack.get(name); !errors.Is(perr, fs.ErrNotExist) {
		return data, perr
	}
	return nil, err
}

// Put writes an object. The checkpoint, signed bodies and long records
// are written to a temporary file renamed into place, so that a reader (a
// web server, a copy) never sees one half written, even when it is put
// again. Tiles and entry bundles are written in place: creating a file is
// what a log's writing costs most, and a Writer puts a tile again only
// while no published checkpoint names it, so no reader asks for it yet.
// A Dir of NewPackDir appends all but the checkpoint and partial tiles to
// its pack instead.
func (d *Dir) Put(_ context.Context, name string, data []byte) error {
	if err := checkName(name); err != nil {
		return err
	}
	if d.pack.writable && packed(name) {
		if err := d.pack.put(name, data); err != nil {
			return err
		}
		d.mu.Lock()
		d.pending[d.pack.path] = true
		d.dirs[d.root] = true // which holds the pack's entry
		d.mu.Unlock()
		return nil
	}
	p := filepath.Join(d.root, filepath.FromSlash(name))
	dir := filepath.Dir(p)
	d.mu.Lock()
	made := d.made[dir]
	d.tmp++
	n := d.tmp
	d.mu.Unlock()
	if !made {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if strings.HasPrefix(name, "tile/") {
		if err := writeFile(p, data); err != nil {
			return err
		}
	} else {
		tmp := filepath.Join(dir, d.prefix+strconv.FormatUint(n, 10))
		if err := writeFile(tmp, data); err != nil {
			os.Remove(tmp)
			return err
		}
		if err := os.Rename(tmp, p); err != nil {
			os.Remove(tmp)
			return err
		}
	}
	d.mu.Lock()
	d.pending[p] = true
	for q := dir; ; q = filepath.Dir(q) {
		d.made[q] = true
		d.dirs[q] = true
		if q == d.root || len(q) <= len(d.root) {
			break
		}
	}
	d.mu.Unlock()
	return nil
}

// writeFile writes data to a file, created or truncated.
func writeFile(name string, data []byte) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (d *Dir) Delete(_ context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if d.pack.writable && packed(name) {
		d.pack.remove(name)
	}
	err := os.Remove(filepath.Join(d.root, filepath.FromSlash(name)))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Sync makes the files written since the last Sync durable, and their
// directories (which hold the renames): on Linux with one syncfs(2) of the
// file system, elsewhere with an fsync of each.
func (d *Dir) Sync(context.Context) error {
	d.mu.Lock()
	files, dirs := slices.Sorted(maps.Keys(d.pending)), slices.Sorted(maps.Keys(d.dirs))
	d.pending, d.dirs = map[string]bool{}, map[string]bool{}
	d.mu.Unlock()
	if len(files) == 0 && len(dirs) == 0 {
		return nil
	}
	if ok, err := syncFS(d.root); ok {
		return err
	}
	for _, name := range files {
		if err := syncPath(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	// Deepest first, so that a directory's entry in its parent is synced
	// after what it holds.
	slices.Reverse(dirs)
	for _, name := range dirs {
		if err := syncPath(name); err != nil {
			return err
		}
	}
	return nil
}

func syncPath(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", name, err)
	}
	return nil
}

// Mem is a log kept in memory, for tests and for building a log to copy.
type Mem struct {
	mu      sync.Mutex
	objects map[string][]byte
}

// NewMem returns an empty storage in memory.
func NewMem() *Mem { return &Mem{objects: map[string][]byte{}} }

func (m *Mem) Get(_ context.Context, name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	data, ok := m.objects[name]
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
	}
	return slices.Clone(data), nil
}

func (m *Mem) Put(_ context.Context, name string, data []byte) error {
	if err := checkName(name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.objects[name] = slices.Clone(data)
	return nil
}

func (m *Mem) Delete(_ context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.objects, name)
	return nil
}

func (m *Mem) Sync(context.Context) error { return nil }

// Names lists the objects held, sorted.
func (m *Mem) Names() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.objects))
}
