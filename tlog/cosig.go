package tlog

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"golang.org/x/mod/sumdb/note"
)

// StatusError is an error with the HTTP status it calls for, and a body
// to answer with (the latest checkpoint, for a 409).
type StatusError struct {
	Code int
	Msg  string
	Body []byte
}

func (e *StatusError) Error() string { return e.Msg }

func statusErr(code int, body []byte, format string, args ...any) error {
	return &StatusError{Code: code, Msg: fmt.Sprintf(format, args...), Body: body}
}

// MergeCosignatures adds a witness's cosignatures to the log's latest
// checkpoint. cosigned is that checkpoint as the witness returns it: the
// same note text with the witness's signature line(s) (other lines, the
// log's own included, are ignored). Each signature line of a witness
// given must verify. The result is the latest checkpoint with the log's
// signature first, then one cosignature per witness — the newest — in
// the order of their names; added names the witnesses whose cosignature
// is new.
//
// Errors are *StatusError: 409 (with the latest checkpoint as the body)
// when cosigned is not the latest checkpoint — the witness checks the
// new one and tries again —, 403 when it holds no valid cosignature of a
// witness given, 400 when it is not a note.
func MergeCosignatures(latest, cosigned []byte, log note.Verifier, witnesses []note.Verifier) (merged []byte, added []string, err error) {
	if latest == nil {
		return nil, nil, statusErr(http.StatusConflict, nil, "the log has published no checkpoint yet")
	}
	cur, err := note.Open(latest, note.VerifierList(log))
	if err != nil {
		return nil, nil, fmt.Errorf("the log's own checkpoint: %w", err)
	}
	sub, err := note.Open(cosigned, note.VerifierList(witnesses...))
	var unverified *note.UnverifiedNoteError
	var invalid *note.InvalidSignatureError
	switch {
	case errors.As(err, &unverified):
		return nil, nil, statusErr(http.StatusForbidden, nil, "no cosignature by a witness this log knows")
	case errors.As(err, &invalid):
		return nil, nil, statusErr(http.StatusForbidden, nil, "the cosignature by %s (key %08x) does not verify", invalid.Name, invalid.Hash)
	case err != nil:
		return nil, nil, statusErr(http.StatusBadRequest, nil, "not a signed checkpoint: %v", err)
	}
	if sub.Text != cur.Text {
		c, perr := ParseCheckpoint(sub.Text)
		what := "another text"
		if perr == nil {
			what = c.String()
		}
		lc, _ := ParseCheckpoint(cur.Text)
		return nil, nil, statusErr(http.StatusConflict, latest, "the cosigned checkpoint (%s) is not the log's latest (%s)", what, lc)
	}
	type id struct {
		name string
		hash uint32
	}
	byKey := map[id]note.Signature{}
	isLog := func(s note.Signature) bool { return s.Name == log.Name() && s.Hash == log.KeyHash() }
	var logSigs []note.Signature
	// The latest's own cosignatures: it was written by this function, so
	// each verified under a witness key when it came; keep those of keys
	// still given.
	prev, _ := note.Open(latest, note.VerifierList(append([]note.Verifier{log}, witnesses...)...))
	if prev == nil {
		prev = cur
	}
	for _, s := range prev.Sigs {
		if isLog(s) {
			logSigs = append(logSigs, s)
		} else {
			byKey[id{s.Name, s.Hash}] = s
		}
	}
	for _, s := range sub.Sigs {
		k := id{s.Name, s.Hash}
		if old, ok := byKey[k]; ok && old.Base64 == s.Base64 {
			continue
		}
		byKey[k] = s
		added = append(added, s.Name)
	}
	sigs := logSigs
	var ws []note.Signature
	for _, s := range byKey {
		ws = append(ws, s)
	}
	slices.SortFunc(ws, func(a, b note.Signature) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.Hash, b.Hash)) })
	sigs = append(sigs, ws...)
	merged, err = note.Sign(&note.Note{Text: cur.Text, Sigs: sigs})
	if err != nil {
		return nil, nil, err
	}
	return merged, added, nil
}
