package tlog

import (
	"context"
	"fmt"

	sumtlog "golang.org/x/mod/sumdb/tlog"
)

// Export copies the tree of a log's latest checkpoint into to: every tile
// and entry bundle the tree needs, the signed bodies and long records its
// entries name, then the checkpoint (with the cosignatures it carries),
// last, so that a copy cut short has no checkpoint naming what it lacks.
// The entries are checked to hash to the checkpoint's root on the way;
// signatures are verify's to check. It returns the checkpoint copied.
func Export(ctx context.Context, from *Reader, to Storage) (Checkpoint, error) {
	msg, err := from.Checkpoint(ctx)
	if err != nil {
		return Checkpoint{}, err
	}
	text, _, ok := cutNote(msg)
	if !ok {
		return Checkpoint{}, fmt.Errorf("log checkpoint: not a signed note")
	}
	c, err := ParseCheckpoint(text)
	if err != nil {
		return c, err
	}
	tr := &tileReader{ctx: ctx, f: from.f, tree: c.Size}
	for _, t := range sumtlog.NewTiles(TileHeight, 0, int64(c.Size)) {
		data, err := tr.read(t)
		if err != nil {
			return c, err
		}
		if err := to.Put(ctx, tilePath(t), data); err != nil {
			return c, err
		}
	}
	var root RootBuilder
	copied := map[string]bool{}
	for n := int64(0); uint64(n)*TileWidth < c.Size; n++ {
		w := int(min(c.Size-uint64(n)*TileWidth, TileWidth))
		data, err := tr.read(sumtlog.Tile{H: TileHeight, L: -1, N: n, W: w})
		if err != nil {
			return c, err
		}
		entries, err := SplitBundle(data)
		if err != nil {
			return c, err
		}
		for _, e := range entries {
			root.Add(sumtlog.RecordHash(e))
			d, err := ParseEntry(e)
			if err != nil {
				return c, fmt.Errorf("entry %d: %w", root.Size()-1, err)
			}
			var names []string
			if d.Body != nil {
				names = append(names, BodyPath(d.Body.Sum), BodyPath(d.Body.Sum)+".note")
			}
			if d.RecordAt != nil {
				names = append(names, RecordPath(*d.RecordAt))
			}
			for _, name := range names {
				if copied[name] {
					continue
				}
				obj, err := from.f.Get(ctx, name)
				if err != nil {
					return c, fmt.Errorf("entry %d: %w", root.Size()-1, err)
				}
				if err := to.Put(ctx, name, obj); err != nil {
					return c, err
				}
				copied[name] = true
			}
		}
		if err := to.Put(ctx, tilePath(sumtlog.Tile{H: TileHeight, L: -1, N: n, W: w}), data); err != nil {
			return c, err
		}
	}
	if root.Root() != c.Root {
		return c, fmt.Errorf("the log's entries hash to %s, not to its checkpoint's root %s: it is not a sound copy", b64(root.Root()), b64(c.Root))
	}
	if err := to.Sync(ctx); err != nil {
		return c, err
	}
	if err := to.Put(ctx, CheckpointName, msg); err != nil {
		return c, err
	}
	return c, to.Sync(ctx)
}

// cutNote splits a signed note into its text (with its final newline) and
// its signature lines.
func cutNote(msg []byte) (text string, sigs string, ok bool) {
	s := string(msg)
	for i := len(s) - 2; i >= 0; i-- {
		if s[i] == '\n' && s[i+1] == '\n' {
			return s[:i+1], s[i+2:], true
		}
	}
	return "", "", false
}
