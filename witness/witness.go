// Package witness is a party's witness of a linewatch log: it checks that
// the log's latest checkpoint extends the last one it cosigned — a
// consistency proof computed from the log's own tiles — and cosigns it
// (c2sp.org/tlog-cosignature, Ed25519 cosignature/v1). It never cosigns a
// fork: two checkpoints of one size with different roots, or a larger
// tree that does not contain the one it cosigned.
//
// The witness pulls: it reads the log over plain HTTP (or from a copy of
// its directory) and hands its cosignature back to the log (Submit: POST
// <log>/cosignature), which gathers the cosignatures of its latest
// checkpoint and serves them with it. docs/log.md says why this
// direction rather than the log pushing to witnesses
// (c2sp.org/tlog-witness's add-checkpoint).
package witness

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	sumtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/linewatch/linewatch/tlog"
)

// Witness cosigns one log's checkpoints.
type Witness struct {
	// Signer is the witness's cosignature/v1 signer (keys.Cosigner).
	Signer note.Signer
	// Log is the log's public key: a checkpoint must carry its signature.
	Log note.Verifier
}

// ForkError is a checkpoint that contradicts the one the witness cosigned
// before: the log showed two histories, and at least one party was shown
// a false one.
type ForkError struct {
	Cosigned, Offered tlog.Checkpoint
	Why               string
}

func (e *ForkError) Error() string {
	return fmt.Sprintf("FORK: the log's checkpoint (size %d, root %s) %s the one this witness cosigned (size %d, root %s); refusing to cosign: keep both checkpoints as evidence",
		e.Offered.Size, b64(e.Offered.Root), e.Why, e.Cosigned.Size, b64(e.Cosigned.Root))
}

func b64(h tlog.Hash) string { return base64.StdEncoding.EncodeToString(h[:]) }

// Cosign checks the checkpoint offered (the log's latest, as fetched)
// against last, the checkpoint this witness cosigned before (nil: none),
// and returns it cosigned: its text, the log's signature and the
// witness's. The tiles for the consistency proof are read through r.
// Errors: a *ForkError for a fork or a rollback; other errors when the
// checkpoint or the tiles cannot be read or verified.
func (w *Witness) Cosign(ctx context.Context, r *tlog.Reader, offered, last []byte) ([]byte, tlog.Checkpoint, error) {
	n, err := note.Open(offered, note.VerifierList(w.Log))
	if err != nil {
		return nil, tlog.Checkpoint{}, fmt.Errorf("the log's checkpoint is not signed by its key %s+%08x: %w", w.Log.Name(), w.Log.KeyHash(), err)
	}
	cp, err := tlog.ParseCheckpoint(n.Text)
	if err != nil {
		return nil, cp, err
	}
	if cp.Size == 0 && cp.Root != sha256.Sum256(nil) {
		return nil, cp, fmt.Errorf("a checkpoint of size 0 must have the empty tree's root, not %s", b64(cp.Root))
	}
	if last != nil {
		ln, err := note.Open(last, note.VerifierList(w.Log))
		if err != nil {
			return nil, cp, fmt.Errorf("the state's checkpoint: %w", err)
		}
		prev, err := tlog.ParseCheckpoint(ln.Text)
		if err != nil {
			return nil, cp, fmt.Errorf("the state's checkpoint: %w", err)
		}
		if prev.Origin != cp.Origin {
			return nil, cp, fmt.Errorf("the state is of log %q, the checkpoint of log %q: use one state file per log", prev.Origin, cp.Origin)
		}
		switch {
		case cp.Size < prev.Size:
			return nil, cp, &ForkError{Cosigned: prev, Offered: cp, Why: "is smaller than (rolls back)"}
		case cp.Size == prev.Size:
			if cp.Root != prev.Root {
				return nil, cp, &ForkError{Cosigned: prev, Offered: cp, Why: "has the size but not the root of"}
			}
		case prev.Size > 0:
			hr := r.HashReader(ctx, cp)
			proof, err := sumtlog.ProveTree(int64(cp.Size), int64(prev.Size), hr)
			if err != nil {
				return nil, cp, fmt.Errorf("consistency proof from size %d to %d from the log's tiles: %w", prev.Size, cp.Size, err)
			}
			if err := sumtlog.CheckTree(proof, int64(cp.Size), cp.Root, int64(prev.Size), prev.Root); err != nil {
				return nil, cp, &ForkError{Cosigned: prev, Offered: cp, Why: "does not extend"}
			}
		}
	}
	var logSigs []note.Signature
	logSigs = append(logSigs, n.Sigs...)
	cosigned, err := note.Sign(&note.Note{Text: n.Text, Sigs: logSigs}, w.Signer)
	if err != nil {
		return nil, cp, err
	}
	return cosigned, cp, nil
}

// LoadState reads the checkpoint a witness cosigned last; nil when the
// file does not exist yet.
func LoadState(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("witness state: %w", err)
	}
	return data, nil
}

// SaveState records the checkpoint just cosigned, atomically (a new file
// renamed over the old, synced): a witness must remember what it signed
// before it hands the signature out.
func SaveState(path string, cosigned []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".witness-*")
	if err != nil {
		return fmt.Errorf("witness state: %w", err)
	}
	_, err = f.Write(cosigned)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("witness state: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// ErrStale is Submit's error when the log has moved on to a newer
// checkpoint: cosign the new one.
var ErrStale = errors.New("the log has a newer checkpoint")

// Submit hands a cosigned checkpoint to a log served over HTTP (POST
// <prefix>/cosignature) and returns the log's checkpoint with the
// cosignatures gathered.
func Submit(ctx context.Context, prefix string, cosigned []byte) ([]byte, error) {
	u := strings.TrimSuffix(prefix, "/") + "/cosignature"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(cosigned))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		return nil, fmt.Errorf("POST %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch resp.StatusCode {
	case http.StatusOK:
		return body, nil
	case http.StatusConflict:
		return nil, fmt.Errorf("POST %s: %w", u, ErrStale)
	}
	msg, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	return nil, fmt.Errorf("POST %s: %s: %s", u, resp.Status, msg)
}

// SubmitDir adds a cosignature to a log directory's checkpoint (a stopped
// engine's log, or a copy): the checkpoint must still be the one cosigned.
func SubmitDir(ctx context.Context, dir *tlog.Dir, logKey, witness note.Verifier, cosigned []byte) ([]byte, error) {
	latest, err := dir.Get(ctx, tlog.CheckpointName)
	if err != nil {
		return nil, err
	}
	merged, _, err := tlog.MergeCosignatures(latest, cosigned, logKey, []note.Verifier{witness})
	if err != nil {
		var se *tlog.StatusError
		if errors.As(err, &se) && se.Code == http.StatusConflict {
			return nil, fmt.Errorf("%s: %w", dir.Root(), ErrStale)
		}
		return nil, err
	}
	if err := dir.Put(ctx, tlog.CheckpointName, merged); err != nil {
		return nil, err
	}
	return merged, dir.Sync(ctx)
}
