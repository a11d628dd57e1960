package stream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	"golang.org/x/mod/sumdb/note"

	"github.com/linewatch/linewatch/tlog"
)

// LogConfig is the tamper-evident log a driver keeps (Config.Log,
// docs/log.md): where its objects go, its origin, its key, and the
// witnesses whose cosignatures it gathers. One LogConfig serves the
// drivers a process runs in turn — after a full disk, a takeover in a
// group —: each opens the log at its checkpoint's size and closes it when
// its run ends, and Handler serves the log through whichever is open.
type LogConfig struct {
	Storage tlog.Storage
	// Origin names the log in its checkpoints.
	Origin string
	// Signer is the log's key; Verifier its public key.
	Signer   note.Signer
	Verifier note.Verifier
	// Witnesses are the cosignature keys (type 0x04) of the witnesses
	// whose cosignatures POST /v1/cosignature takes.
	Witnesses []note.Verifier
	// Published, if set, is called with every new checkpoint the driver
	// publishes (the signed note), on one of the driver's goroutines, one
	// call at a time: it must not block (publishing it to NATS
	// asynchronously, say).
	Published func(signed []byte)

	cur atomic.Pointer[tlog.Writer]
}

// Claimer is a Storage written by one engine of a group at a time: Claim
// makes this engine the one whose checkpoints count, so that a checkpoint
// written afterwards by an engine that held the log before fails with
// ErrFenced (JetStreamLog).
type Claimer interface {
	Claim(ctx context.Context) error
}

// ErrLogState is the error of a state whose checkpoint and log do not go
// together: a state begun without a log resumed with one, or the reverse.
var ErrLogState = errors.New("the state and the log do not go together")

// Writer is the log's writer open now, or nil.
func (l *LogConfig) Writer() *tlog.Writer { return l.cur.Load() }

// Handler serves the log over HTTP (tlog.Handler), relative to where it is
// mounted: its checkpoint with the cosignatures gathered, tiles, entry
// bundles, signed bodies and long records, to anyone — any party may
// mirror the log —, and POST cosignature, which takes cosignatures by the
// Witnesses only, each verified.
func (l *LogConfig) Handler() http.Handler {
	return &tlog.Handler{Fetcher: l.Storage, Current: l.Writer, Witnesses: l.Witnesses}
}

// openLog opens the log at size entries (root: their root hash, nil for
// none), when the driver keeps one.
func (d *Driver) openLog(size uint64, root *tlog.Hash) error {
	lc := d.cfg.Log
	if lc == nil {
		return nil
	}
	ctx := context.Background()
	if c, ok := lc.Storage.(Claimer); ok {
		if err := c.Claim(ctx); err != nil {
			return err
		}
	}
	w, err := tlog.NewWriter(ctx, tlog.WriterConfig{Storage: lc.Storage, Origin: lc.Origin,
		Signer: lc.Signer, Verifier: lc.Verifier, Size: size, Root: root})
	if err != nil {
		return err
	}
	d.log = w
	d.logPublished = 0
	if latest := w.Latest(); latest != nil {
		if c, err := tlog.OpenCheckpoint(latest, []note.Verifier{lc.Verifier}, 1); err == nil {
			d.logPublished = c.Checkpoint.Size
		}
	}
	lc.cur.Store(w)
	d.cfg.Metrics.setLogSize(w.Size())
	return nil
}

// LogTree is the tree head of the log the driver kept: its entries so
// far, published or not (zero without a log).
func (d *Driver) LogTree() tlog.Checkpoint {
	if d.log != nil {
		return d.log.Tree()
	}
	return d.logTree
}

// closeLog closes the log's writer, if open.
func (d *Driver) closeLog() {
	if d.log == nil {
		return
	}
	d.logTree = d.log.Tree()
	d.cfg.Log.cur.CompareAndSwap(d.log, nil)
	d.log.Close()
	d.log = nil
}

// logCheckpoint publishes the log's tree so far, if it grew, and tells
// Published of it.
func (d *Driver) logCheckpoint() error {
	tree, err := d.log.Checkpoint(context.Background())
	if err != nil {
		return fmt.Errorf("checkpoint of the log: %w", err)
	}
	if tree.Size > d.logPublished {
		d.logPublished = tree.Size
		d.cfg.Metrics.setLogSize(tree.Size)
		if p := d.cfg.Log.Published; p != nil {
			p(d.log.Latest())
		}
	}
	return nil
}
