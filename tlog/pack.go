package tlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// PackName is the file in a log directory that holds its full tiles,
// entry bundles, signed bodies and long records — everything that never
// changes once written — when the directory was opened with NewPackDir.
//
// Creating a file is what writing a log cost most — on ext4 a few hundred
// microseconds of kernel time apiece, two files for every 256 entries —,
// while appending to one open file costs only the bytes copied. So an
// engine appends each such object, once complete, to the pack as a frame,
// and the directory serves it under its c2sp.org/tlog-tiles name
// (Get), to the HTTP handler, `log export` and `verify` alike:
//
//	"LWP1" | CRC-32C of the rest of the head | name length (uint16) |
//	data length (uint32) | CRC-32C of the data | name | data
//
// all big-endian. A frame put again (a resumed writer) is appended again;
// the last one of a name counts. A frame cut short or garbled at the end —
// written after the last Sync, before a crash — is cut off when the
// engine opens the directory again; no checkpoint names it (the writer
// syncs before it publishes one), and the writer puts it again.
const PackName = "tiles.pack"

const (
	packMagic = "LWP1"
	packHead  = 4 + 4 + 2 + 4 + 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// packLoc is where a frame's data lies in the pack.
type packLoc struct {
	off int64
	n   uint32
	crc uint32
}

// pack is the pack file of a Dir: appended to when the Dir writes it,
// read (and read again as it grows, when another process writes it)
// otherwise.
type pack struct {
	path     string
	writable bool

	mu      sync.Mutex
	f       *os.File
	end     int64 // the end of the frames read or written
	index   map[string]packLoc
	buf     []byte
	scanErr error
}

// packed reports whether name is one a Dir puts in its pack: a full tile
// or entry bundle (partial ones are few, and deleted once full), a signed
// body and its note, a long record — everything that, once written, never
// changes.
func packed(name string) bool {
	switch {
	case strings.HasPrefix(name, "tile/"):
		return !strings.Contains(name, ".p/")
	case strings.HasPrefix(name, bodiesDir), strings.HasPrefix(name, recordsDir):
		return true
	}
	return false
}

// openPack opens the pack of a directory for appending: its frames are
// read, and whatever follows the last whole one is cut off.
func openPack(root string) (*pack, error) {
	p := &pack{path: filepath.Join(root, PackName), writable: true, index: map[string]packLoc{}}
	f, err := os.OpenFile(p.path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("log pack: %w", err)
	}
	p.f = f
	if err := p.scan(); err != nil {
		f.Close()
		return nil, err
	}
	if fi, err := f.Stat(); err != nil {
		f.Close()
		return nil, fmt.Errorf("log pack: %w", err)
	} else if fi.Size() > p.end {
		if err := f.Truncate(p.end); err != nil {
			f.Close()
			return nil, fmt.Errorf("log pack: cutting off an unfinished frame: %w", err)
		}
	}
	return p, nil
}

// scan reads the frames' heads from p.end on, up to the first that is not
// whole. Called with p.mu held (or before p is shared).
func (p *pack) scan() error {
	var head [packHead]byte
	var name []byte
	for {
		if _, err := p.f.ReadAt(head[:], p.end); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("log pack: %w", err)
		}
		if string(head[:4]) != packMagic {
			return nil
		}
		nl := int(binary.BigEndian.Uint16(head[8:]))
		dl := binary.BigEndian.Uint32(head[10:])
		name = append(name[:0], make([]byte, nl)...)
		if _, err := p.f.ReadAt(name, p.end+packHead); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("log pack: %w", err)
		}
		c := crc32.Update(crc32.Checksum(head[8:], castagnoli), castagnoli, name)
		if c != binary.BigEndian.Uint32(head[4:]) || checkName(string(name)) != nil {
			return nil
		}
		off := p.end + packHead + int64(nl)
		// The data must be all there: a frame cut short ends the pack.
		if _, err := p.f.ReadAt(head[:1], off+int64(dl)-1); dl > 0 && err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("log pack: %w", err)
		}
		p.index[string(name)] = packLoc{off: off, n: dl, crc: binary.BigEndian.Uint32(head[14:])}
		p.end = off + int64(dl)
	}
}

// put appends a frame.
func (p *pack) put(name string, data []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(name) > 0xffff || int64(len(data)) > 0xffffffff {
		return fmt.Errorf("log pack: %s: too long", name)
	}
	b := append(p.buf[:0], packMagic...)
	b = append(b, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(len(name)))
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	dc := crc32.Checksum(data, castagnoli)
	b = binary.BigEndian.AppendUint32(b, dc)
	b = append(b, name...)
	binary.BigEndian.PutUint32(b[4:], crc32.Checksum(b[8:], castagnoli))
	p.buf = b
	// The head, then the data as it is (not copied after the head): a
	// frame cut between them is cut off like any other.
	if _, err := p.f.WriteAt(b, p.end); err != nil {
		return fmt.Errorf("log pack: %s: %w", name, err)
	}
	off := p.end + int64(len(b))
	if _, err := p.f.WriteAt(data, off); err != nil {
		return fmt.Errorf("log pack: %s: %w", name, err)
	}
	p.index[name] = packLoc{off: off, n: uint32(len(data)), crc: dc}
	p.end = off + int64(len(data))
	return nil
}

// get returns a frame's data, or an error wrapping fs.ErrNotExist. A
// pack another process writes is read again when it lacks the name.
func (p *pack) get(name string) ([]byte, error) {
	p.mu.Lock()
	loc, ok := p.index[name]
	if !ok && !p.writable {
		if p.f == nil {
			f, err := os.Open(p.path)
			if err != nil {
				p.mu.Unlock()
				return nil, err
			}
			p.f = f
		}
		if err := p.scan(); err != nil {
			p.mu.Unlock()
			return nil, err
		}
		loc, ok = p.index[name]
	}
	f := p.f
	p.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
	}
	data := make([]byte, loc.n)
	if _, err := f.ReadAt(data, loc.off); err != nil {
		return nil, fmt.Errorf("log pack: %s: %w", name, err)
	}
	if crc32.Checksum(data, castagnoli) != loc.crc {
		return nil, fmt.Errorf("log pack: %s: its bytes do not match their checksum", name)
	}
	return data, nil
}

// remove forgets a frame (a Delete): the pack keeps its bytes, which a
// later read of the pack from its start would find again.
func (p *pack) remove(name string) {
	p.mu.Lock()
	delete(p.index, name)
	p.mu.Unlock()
}
