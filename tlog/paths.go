package tlog

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	sumtlog "golang.org/x/mod/sumdb/tlog"
)

// TileHeight is the height of the log's tiles: 256 hashes a tile
// (c2sp.org/tlog-tiles).
const TileHeight = 8

// TileWidth is the number of hashes (or entries) in a full tile (bundle).
const TileWidth = 1 << TileHeight

// Names of the objects of a log in its storage and over HTTP, under the
// log's prefix (c2sp.org/tlog-tiles, and docs/log.md for bodies and
// records).
const (
	CheckpointName = "checkpoint"
	bodiesDir      = "bodies/"
	recordsDir     = "records/"
)

// TilePath is the path of the hash tile at level l, index n, of width w
// (w < TileWidth: a partial tile): tile/<L>/<N>[.p/<W>].
func TilePath(l int, n int64, w int) string {
	return "tile/" + strconv.Itoa(l) + "/" + indexPath(n) + partial(w)
}

// EntriesPath is the path of the entry bundle of index n and width w:
// tile/entries/<N>[.p/<W>].
func EntriesPath(n int64, w int) string {
	return "tile/entries/" + indexPath(n) + partial(w)
}

// BodyPath is where a signed body is stored: bodies/<hex SHA-256>; its
// signed note is at BodyPath + ".note".
func BodyPath(sum [32]byte) string { return bodiesDir + hex.EncodeToString(sum[:]) }

// RecordPath is where a record too long for its entry is stored.
func RecordPath(sum [32]byte) string { return recordsDir + hex.EncodeToString(sum[:]) }

func partial(w int) string {
	if w <= 0 || w >= TileWidth {
		return ""
	}
	return ".p/" + strconv.Itoa(w)
}

// indexPath writes n as 3-digit path elements, all but the last prefixed
// by x: 1234067 is x001/x234/067.
func indexPath(n int64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n /= 1000; n > 0; n /= 1000 {
		s = fmt.Sprintf("x%03d/", n%1000) + s
	}
	return s
}

// tilePath maps a tile of golang.org/x/mod/sumdb/tlog (height 8; level -1
// for data, as it calls entry bundles) to its C2SP path. Its hashing is
// the same; only the path layout differs (x/mod puts the height in it).
func tilePath(t sumtlog.Tile) string {
	w := t.W
	if w == TileWidth {
		w = 0
	}
	if t.L < 0 {
		return EntriesPath(t.N, w)
	}
	return TilePath(t.L, t.N, w)
}

// ParseTilePath reads a C2SP tile or entry bundle path back into an x/mod
// tile (level -1 for an entry bundle).
func ParseTilePath(path string) (sumtlog.Tile, error) {
	bad := func() (sumtlog.Tile, error) { return sumtlog.Tile{}, fmt.Errorf("%q is not a tile path", path) }
	rest, ok := strings.CutPrefix(path, "tile/")
	if !ok {
		return bad()
	}
	level, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return bad()
	}
	t := sumtlog.Tile{H: TileHeight, W: TileWidth}
	if level == "entries" {
		t.L = -1
	} else {
		l, err := strconv.Atoi(level)
		if err != nil || l < 0 || l > 63 || strconv.Itoa(l) != level {
			return bad()
		}
		t.L = l
	}
	idx, w, isPartial := strings.Cut(rest, ".p/")
	if isPartial {
		n, err := strconv.Atoi(w)
		if err != nil || n < 1 || n >= TileWidth || strconv.Itoa(n) != w {
			return bad()
		}
		t.W = n
	}
	parts := strings.Split(idx, "/")
	for i, p := range parts {
		if i < len(parts)-1 {
			var ok bool
			if p, ok = strings.CutPrefix(p, "x"); !ok {
				return bad()
			}
		}
		if len(p) != 3 {
			return bad()
		}
		d, err := strconv.Atoi(p)
		if err != nil || d < 0 {
			return bad()
		}
		t.N = t.N*1000 + int64(d)
	}
	if indexPath(t.N) != idx {
		return bad()
	}
	return t, nil
}
