package tlog

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"

	sumtlog "golang.org/x/mod/sumdb/tlog"
)

// Hash is an RFC 6962 hash (SHA-256).
type Hash = sumtlog.Hash

// Entry is one record as the engine consumed it: a leaf of the log. It holds
// what a replay needs to reproduce detection exactly — the record's bytes,
// and the instant the engine measured max_future against — and what a
// verifier needs to tie the record to its source: the authenticated source
// and, for a source that signs, the signed body the record was cut from.
// docs/log.md specifies its encoding.
type Entry struct {
	// Time is the instant the record was stored (JetStream's timestamp of
	// its message) or, from standard input, read: the engine's "now" for
	// the max_future rule, in µs since the Unix epoch.
	Time int64
	// Seq is the broker stream sequence of the message the record came in
	// (0: standard input, which has none).
	Seq uint64
	// Source is the source the ingest authenticated (by token or
	// signature), "" when none was.
	Source string
	// Body, for a record of a signed body, names the body and the record's
	// place in it; nil otherwise.
	Body *BodyRef
	// Record is the record's text exactly as the engine consumed it.
	Record []byte
}

// BodyRef names the signed request body a record was cut from.
type BodyRef struct {
	// Sum is the body's SHA-256: what the source's signed note names, and
	// the body's name in the log's storage (bodies/<hex>).
	Sum [32]byte
	// Index is the record's 0-based ordinal among the body's records, as
	// SPEC §9 splits a file.
	Index uint32
}

const (
	entryVersion = 1

	flagBody     = 1 << 0 // a BodyRef follows the source
	flagRecordAt = 1 << 1 // the record is stored apart: its SHA-256 stands in its place

	// MaxEntry is the longest entry an entry bundle frames (a big-endian
	// uint16 length, c2sp.org/tlog-tiles).
	MaxEntry = 1<<16 - 1
	// MaxSource is the longest source id an entry holds.
	MaxSource = 255
)

// Leaf is an entry encoded for the log.
type Leaf struct {
	Data []byte // the entry's bytes, at most MaxEntry
	Hash Hash   // its RFC 6962 leaf hash
	// Record, when the record was too long to go inline, is the record,
	// to be stored apart under records/<hex SHA-256>; nil otherwise.
	Record []byte
}

// Leaf encodes the entry and hashes it. It touches nothing shared: the
// engine's workers call it in parallel, and only Writer.Append runs in
// consumption order.
func (e *Entry) Leaf() (Leaf, error) {
	data, apart, err := e.AppendBinary(nil)
	if err != nil {
		return Leaf{}, err
	}
	return Leaf{Data: data, Hash: sumtlog.RecordHash(data), Record: apart}, nil
}

// AppendFramed appends the entry as an entry bundle frames it — its
// length (big-endian uint16), then its encoding (AppendBinary) — to b. An
// engine's workers frame each record's entry where the record is still
// in their cache, so that the Writer takes them with AppendFramed in one
// copy, a run of entries at a time.
func (e *Entry) AppendFramed(b []byte) (framed, apart []byte, err error) {
	start := len(b)
	out, apart, err := e.AppendBinary(append(b, 0, 0))
	if err != nil {
		return b, nil, err
	}
	binary.BigEndian.PutUint16(out[start:], uint16(len(out)-start-2))
	return out, apart, nil
}

// LeafHasher computes RFC 6962 leaf hashes, SHA-256(0x00 ‖ entry), of
// entries wherever they lie, such as inside a run of framed entries,
// without copying them after a 0x00 byte first. It is not safe for
// concurrent use: one per goroutine.
type LeafHasher struct {
	d   hash.Hash
	sum [sha256.Size]byte
}

// NewLeafHasher returns a LeafHasher.
func NewLeafHasher() *LeafHasher { return &LeafHasher{d: sha256.New()} }

var leafPrefix = []byte{0x00}

// Hash is the leaf hash of entry.
func (h *LeafHasher) Hash(entry []byte) Hash {
	h.d.Reset()
	h.d.Write(leafPrefix)
	h.d.Write(entry)
	return Hash(h.d.Sum(h.sum[:0]))
}

// AppendBinary appends the entry's encoding to b. A record that would make
// the entry longer than MaxEntry goes apart: the entry holds its SHA-256,
// and the record is returned to be stored under records/<hex>.
func (e *Entry) AppendBinary(b []byte) (data, apart []byte, err error) {
	if len(e.Source) > MaxSource {
		return nil, nil, fmt.Errorf("log entry: source id of %d bytes, at most %d", len(e.Source), MaxSource)
	}
	start := len(b)
	var flags byte
	if e.Body != nil {
		flags |= flagBody
	}
	head := 1 + 1 + 8 + 8 + 1 + len(e.Source)
	if e.Body != nil {
		head += 32 + 4
	}
	if head+len(e.Record) > MaxEntry {
		flags |= flagRecordAt
		apart = e.Record
	}
	b = append(b, entryVersion, flags)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Time))
	b = binary.BigEndian.AppendUint64(b, e.Seq)
	b = append(b, byte(len(e.Source)))
	b = append(b, e.Source...)
	if e.Body != nil {
		b = append(b, e.Body.Sum[:]...)
		b = binary.BigEndian.AppendUint32(b, e.Body.Index)
	}
	if apart != nil {
		sum := sha256.Sum256(e.Record)
		b = append(b, sum[:]...)
	} else {
		b = append(b, e.Record...)
	}
	if len(b)-start > MaxEntry {
		return nil, nil, errors.New("log entry: too long") // cannot happen: the head is bounded
	}
	return b, apart, nil
}

// DecodedEntry is an entry read back. When RecordAt is set, Record is empty
// and the record is stored apart under records/<hex RecordAt>.
type DecodedEntry struct {
	Entry
	RecordAt *[32]byte
}

// ParseEntry decodes an entry. Record (and Source) point into data.
func ParseEntry(data []byte) (DecodedEntry, error) {
	var d DecodedEntry
	if len(data) < 19 {
		return d, fmt.Errorf("entry of %d bytes: too short", len(data))
	}
	if data[0] != entryVersion {
		return d, fmt.Errorf("entry version %d, want %d", data[0], entryVersion)
	}
	flags := data[1]
	if flags&^(flagBody|flagRecordAt) != 0 {
		return d, fmt.Errorf("entry flags %#02x: unknown bits", flags)
	}
	d.Time = int64(binary.BigEndian.Uint64(data[2:]))
	d.Seq = binary.BigEndian.Uint64(data[10:])
	n := int(data[18])
	rest := data[19:]
	if len(rest) < n {
		return d, errors.New("entry: source id cut short")
	}
	d.Source, rest = string(rest[:n]), rest[n:]
	if flags&flagBody != 0 {
		if len(rest) < 36 {
			return d, errors.New("entry: body reference cut short")
		}
		d.Body = &BodyRef{Index: binary.BigEndian.Uint32(rest[32:])}
		copy(d.Body.Sum[:], rest)
		rest = rest[36:]
	}
	if flags&flagRecordAt != 0 {
		if len(rest) != 32 {
			return d, fmt.Errorf("entry: a record stored apart needs its 32-byte SHA-256, got %d bytes", len(rest))
		}
		d.RecordAt = new([32]byte)
		copy(d.RecordAt[:], rest)
		return d, nil
	}
	d.Record = rest
	return d, nil
}
