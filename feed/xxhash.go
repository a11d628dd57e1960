package feed

import (
	"encoding/binary"
	"math/bits"
	"unsafe"
)

// xxHash64 (seed 0), the algorithm of github.com/Cyan4973/xxHash: fast,
// well distributed and the same on every machine and run, which a
// fingerprint kept in checkpoints must be.
const (
	xxPrime1 uint64 = 11400714785074694791
	xxPrime2 uint64 = 14029467366897019727
	xxPrime3 uint64 = 1609587929392839161
	xxPrime4 uint64 = 9650029242287828579
	xxPrime5 uint64 = 2870177450012600261
)

func xxRound(acc, input uint64) uint64 {
	acc += input * xxPrime2
	acc = bits.RotateLeft64(acc, 31)
	return acc * xxPrime1
}

func xxMerge(acc, val uint64) uint64 {
	acc ^= xxRound(0, val)
	return acc*xxPrime1 + xxPrime4
}

// Fingerprint returns the 64-bit xxHash of b (seed 0): the
// Sighting.Fingerprint of a record whose raw text is b.
func Fingerprint(b []byte) uint64 {
	n := len(b)
	var h uint64
	if n >= 32 {
		p1, p2 := xxPrime1, xxPrime2
		v1 := p1 + p2
		v2 := xxPrime2
		v3 := uint64(0)
		v4 := -p1
		for len(b) >= 32 {
			v1 = xxRound(v1, binary.LittleEndian.Uint64(b[0:8]))
			v2 = xxRound(v2, binary.LittleEndian.Uint64(b[8:16]))
			v3 = xxRound(v3, binary.LittleEndian.Uint64(b[16:24]))
			v4 = xxRound(v4, binary.LittleEndian.Uint64(b[24:32]))
			b = b[32:]
		}
		h = bits.RotateLeft64(v1, 1) + bits.RotateLeft64(v2, 7) + bits.RotateLeft64(v3, 12) + bits.RotateLeft64(v4, 18)
		h = xxMerge(h, v1)
		h = xxMerge(h, v2)
		h = xxMerge(h, v3)
		h = xxMerge(h, v4)
	} else {
		h = xxPrime5
	}
	h += uint64(n)
	for ; len(b) >= 8; b = b[8:] {
		h ^= xxRound(0, binary.LittleEndian.Uint64(b))
		h = bits.RotateLeft64(h, 27)*xxPrime1 + xxPrime4
	}
	if len(b) >= 4 {
		h ^= uint64(binary.LittleEndian.Uint32(b)) * xxPrime1
		h = bits.RotateLeft64(h, 23)*xxPrime2 + xxPrime3
		b = b[4:]
	}
	for _, c := range b {
		h ^= uint64(c) * xxPrime5
		h = bits.RotateLeft64(h, 11) * xxPrime1
	}
	h ^= h >> 33
	h *= xxPrime2
	h ^= h >> 29
	h *= xxPrime3
	h ^= h >> 32
	return h
}

// DupKey is the duplicate check's key of a sighting: a 64-bit hash of its
// id and its source (SPEC §2: records duplicate each other only when they
// share both; "" is no source). A sighting without a source has the
// Fingerprint of its id. Different ids or sources may share a key (it is a
// hash): a key names candidates, which the id and source then settle.
func DupKey(id, source string) uint64 {
	k := fingerprintString(id)
	if source == "" {
		return k
	}
	return xxMerge(k, fingerprintString(source))
}

// fingerprintString is Fingerprint of a string's bytes, without copying
// them.
func fingerprintString(s string) uint64 {
	return Fingerprint(unsafe.Slice(unsafe.StringData(s), len(s)))
}
