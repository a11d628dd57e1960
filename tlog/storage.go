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
}

// NewDir returns the storage of a log in directory root, created if needed.
func NewDir(root string) (*Dir, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("log directory: %w", err)
	}
	return &Dir{root: root, pending: map[string]bool{}, dirs: map[string]bool{}}, nil
}

// Root is the directory.
func (d *Dir) Root() string { return d.root }

func (d *Dir) Get(_ context.Context, name string) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(filepath.Join(d.root, filepath.FromSlash(name)))
	if err != nil {
		return nil, err
	}
	return data, nil
}

// Put writes a temporary file and renames it into place, so that a reader
// (a web server, a copy) never sees a file half written.
func (d *Dir) Put(_ context.Context, name string, data []byte) error {
	if err := checkName(name); err != nil {
		return err
	}
	p := filepath.Join(d.root, filepath.FromSlash(name))
	dir := filepath.Dir(p)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(dir, ".tmp-"+hex.EncodeToString(rnd[:]))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return err
	}
	if err := os.Rename(f.Name(), p); err != nil {
		os.Remove(f.Name())
		return err
	}
	d.mu.Lock()
	d.pending[p] = true
	for q := dir; ; q = filepath.Dir(q) {
		d.dirs[q] = true
		if q == d.root || len(q) <= len(d.root) {
			break
		}
	}
	d.mu.Unlock()
	return nil
}

func (d *Dir) Delete(_ context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
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
