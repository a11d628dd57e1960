package feed

import (
	"math/bits"

	"github.com/cespare/xxhash/v2"
)

// Fingerprint returns the 64-bit xxHash (XXH64, seed 0) of b: the
// Sighting.Fingerprint of a record whose raw text is b. It is the same on
// every machine and run, which a fingerprint kept in checkpoints must be.
func Fingerprint(b []byte) uint64 { return xxhash.Sum64(b) }

// DupKey is the duplicate check's key of a sighting: a 64-bit hash of its
// id and its source (SPEC §2: records duplicate each other only when they
// share both; "" is no source). A sighting without a source has the
// Fingerprint of its id. Different ids or sources may share a key (it is a
// hash): a key names candidates, which the id and source then settle.
//
// Keys are kept in checkpoints, so their values must not change: the
// source's hash is folded into the id's with XXH64's own merge step.
func DupKey(id, source string) uint64 {
	k := xxhash.Sum64String(id)
	if source == "" {
		return k
	}
	return xxMerge(k, xxhash.Sum64String(source))
}

// xxMerge is XXH64's merge of an accumulator into a hash (XXH64_mergeRound).
func xxMerge(acc, val uint64) uint64 {
	const (
		prime1 uint64 = 11400714785074694791
		prime2 uint64 = 14029467366897019727
		prime4 uint64 = 9650029242287828579
	)
	acc ^= bits.RotateLeft64(val*prime2, 31) * prime1
	return acc*prime1 + prime4
}
