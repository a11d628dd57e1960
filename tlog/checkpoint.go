package tlog

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
)

// Checkpoint is a tree head: the log's origin, its size and the root hash
// of its first Size entries (c2sp.org/tlog-checkpoint).
type Checkpoint struct {
	Origin string
	Size   uint64
	Root   Hash
}

// Text is the checkpoint's note text: the origin, the size and the root
// hash in base64, each on its own line. linewatch writes no extension
// lines.
func (c Checkpoint) Text() string {
	return c.Origin + "\n" + strconv.FormatUint(c.Size, 10) + "\n" + base64.StdEncoding.EncodeToString(c.Root[:]) + "\n"
}

func (c Checkpoint) String() string {
	return fmt.Sprintf("%s size %d root %s", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root[:]))
}

// CheckOrigin tells whether s can be a log's origin: not empty, without
// spaces, "+" or control characters (a schema-less URL such as
// example.org/linewatch is recommended).
func CheckOrigin(s string) error {
	if s == "" {
		return errors.New("a log origin is required")
	}
	if strings.ContainsAny(s, "+ \u00a0") || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("log origin %q: no spaces, control characters or \"+\"", s)
	}
	return nil
}

// ParseCheckpoint reads a checkpoint's note text.
func ParseCheckpoint(text string) (Checkpoint, error) {
	var c Checkpoint
	lines := strings.SplitAfter(text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		return c, errors.New("checkpoint: want three lines (origin, size, root hash), each ending in a newline")
	}
	if len(lines) > 4 {
		return c, fmt.Errorf("checkpoint: %d extension lines; linewatch's checkpoints have none", len(lines)-4)
	}
	origin, size, root := strings.TrimSuffix(lines[0], "\n"), strings.TrimSuffix(lines[1], "\n"), strings.TrimSuffix(lines[2], "\n")
	if err := CheckOrigin(origin); err != nil {
		return c, fmt.Errorf("checkpoint: %w", err)
	}
	n, err := strconv.ParseUint(size, 10, 64)
	if err != nil || strconv.FormatUint(n, 10) != size {
		return c, fmt.Errorf("checkpoint: size %q is not a decimal number without leading zeros", size)
	}
	h, err := base64.StdEncoding.DecodeString(root)
	if err != nil || len(h) != len(c.Root) {
		return c, fmt.Errorf("checkpoint: root hash %q is not 32 bytes in base64", root)
	}
	c.Origin, c.Size = origin, n
	copy(c.Root[:], h)
	return c, nil
}

// Sign signs the checkpoint with the log's key (and any others given).
func (c Checkpoint) Sign(signers ...note.Signer) ([]byte, error) {
	return note.Sign(&note.Note{Text: c.Text()}, signers...)
}

// Signatures is the outcome of checking a checkpoint's signatures
// against a set of trusted keys.
type Signatures struct {
	Checkpoint Checkpoint
	Note       *note.Note
	// Signed are the names of the trusted keys whose signatures verified,
	// in the order the keys were given; Missing those that did not sign.
	Signed, Missing []string
	// Unknown are the names on signature lines of keys not trusted,
	// which are ignored (c2sp.org/signed-note).
	Unknown []string
}

// OpenCheckpoint verifies a signed checkpoint: at least min of the given
// keys (a log's key, witnesses' cosignature keys) must have signed it. A
// signature line that names a trusted key but does not verify makes the
// whole checkpoint invalid, as c2sp.org/signed-note asks.
func OpenCheckpoint(msg []byte, trusted []note.Verifier, min int) (*Signatures, error) {
	type id struct {
		name string
		hash uint32
	}
	var vs []note.Verifier
	seen := map[id]bool{}
	for _, v := range trusted {
		k := id{v.Name(), v.KeyHash()}
		if !seen[k] {
			seen[k] = true
			vs = append(vs, v)
		}
	}
	n, err := note.Open(msg, note.VerifierList(vs...))
	var unverified *note.UnverifiedNoteError
	switch {
	case errors.As(err, &unverified):
		n = unverified.Note
	case err != nil:
		var bad *note.InvalidSignatureError
		if errors.As(err, &bad) {
			return nil, fmt.Errorf("checkpoint: the signature by %s (key %08x) does not verify: the checkpoint was altered after it was signed, or the signature line was", bad.Name, bad.Hash)
		}
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	c, err := ParseCheckpoint(n.Text)
	if err != nil {
		return nil, err
	}
	s := &Signatures{Checkpoint: c, Note: n}
	got := map[id]bool{}
	for _, sig := range n.Sigs {
		got[id{sig.Name, sig.Hash}] = true
	}
	for _, v := range vs {
		if got[id{v.Name(), v.KeyHash()}] {
			s.Signed = append(s.Signed, v.Name())
		} else {
			s.Missing = append(s.Missing, v.Name())
		}
	}
	for _, sig := range n.UnverifiedSigs {
		s.Unknown = append(s.Unknown, fmt.Sprintf("%s (key %08x)", sig.Name, sig.Hash))
	}
	if len(s.Signed) < min {
		msg := fmt.Sprintf("checkpoint %s: signed by %d of the %d keys given, %d required", c, len(s.Signed), len(vs), min)
		if len(s.Signed) > 0 {
			msg += "; signed by " + strings.Join(s.Signed, ", ")
		}
		if len(s.Missing) > 0 {
			msg += "; no signature by " + strings.Join(s.Missing, ", ")
		}
		if len(s.Unknown) > 0 {
			msg += "; signatures by keys not given, ignored: " + strings.Join(s.Unknown, ", ")
		}
		return s, errors.New(msg)
	}
	return s, nil
}
