package sources

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/feed"
)

// SignatureHeader is the HTTP header that carries a body's signature.
const SignatureHeader = "Linewatch-Signature"

// noteHeader is the first line of a body's note text: what the note is.
const noteHeader = "linewatch/sightings/v1"

// NoteText is the text a source signs for a body: what it is, the source's
// id and the body's SHA-256, one a line:
//
//	linewatch/sightings/v1
//	source observer-7
//	sha256 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=
//
// The text holds nothing else, so the note of a body is a function of the
// body, the source and its key (Ed25519 signatures are deterministic): a
// request sent again is signed again the same.
func NoteText(source string, sum [32]byte) string {
	return noteHeader + "\nsource " + source + "\nsha256 " + base64.StdEncoding.EncodeToString(sum[:]) + "\n"
}

// SignBody signs a body for source with its key and returns the
// Linewatch-Signature header's value: the note's signature line without
// its em dash ("NAME BASE64").
func SignBody(s note.Signer, source string, body []byte) (string, error) {
	if err := CheckID(source); err != nil {
		return "", err
	}
	msg, err := note.Sign(&note.Note{Text: NoteText(source, sha256.Sum256(body))}, s)
	if err != nil {
		return "", err
	}
	i := bytes.LastIndex(msg, []byte("\n\u2014 "))
	if i < 0 {
		return "", errors.New("signing: no signature line")
	}
	return strings.TrimSuffix(string(msg[i+len("\n\u2014 "):]), "\n"), nil
}

// Signed is a body's proof of origin: its SHA-256 and the source's
// signed note naming it, which the log stores beside the body.
type Signed struct {
	Sum  [32]byte
	Note []byte
}

// AuthError is why a request is not authenticated: the ingest answers 401.
type AuthError struct{ Msg string }

func (e *AuthError) Error() string { return e.Msg }

func authErr(format string, args ...any) error {
	return &AuthError{fmt.Sprintf(format, args...)}
}

// Authenticate tells which source posted a request, from its bearer token
// (the Authorization header's value) and its Linewatch-Signature header,
// given the body as read (after any Content-Encoding is undone):
//
//   - a source with a key must sign: its request is refused without a
//     valid signature of this very body;
//   - a source without a key proves itself with its token;
//   - with both a token and a signature, they must name one source;
//   - a registry with no token and no key asks nothing: the source is nil.
//
// It costs one SHA-256 of the body and one Ed25519 verification. Errors
// are *AuthError, each saying what is wrong.
func (r *Registry) Authenticate(authorization, signature string, body []byte) (*Source, *Signed, error) {
	var src *Source
	if a := strings.TrimSpace(authorization); a != "" {
		scheme, tok, _ := strings.Cut(a, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return nil, nil, authErr("Authorization: want a bearer token (Authorization: Bearer TOKEN)")
		}
		if src = r.ByToken(strings.TrimSpace(tok)); src == nil {
			return nil, nil, authErr("invalid bearer token")
		}
	}
	signature = strings.TrimSpace(signature)
	if signature == "" {
		switch {
		case src != nil && src.Signs():
			return nil, nil, authErr("source %q signs its bodies: the %s header is missing", src.ID, SignatureHeader)
		case src == nil && r.Authenticates():
			return nil, nil, authErr("a bearer token (Authorization: Bearer TOKEN) or a signed body (%s) is required", SignatureHeader)
		}
		return src, nil, nil
	}
	name, sig64, ok := strings.Cut(signature, " ")
	raw, err := base64.StdEncoding.DecodeString(sig64)
	if !ok || err != nil || len(raw) < 5 {
		return nil, nil, authErr("%s: want the signature line of the body's signed note, \"KEY-NAME BASE64\"", SignatureHeader)
	}
	hash := uint32(raw[0])<<24 | uint32(raw[1])<<16 | uint32(raw[2])<<8 | uint32(raw[3])
	signer := r.ByKey(name, hash)
	switch {
	case signer == nil && src != nil:
		return nil, nil, authErr("the body is signed by key %s+%08x, which is not source %q's", name, hash, src.ID)
	case signer == nil:
		return nil, nil, authErr("the body is signed by key %s+%08x, which no registered source has", name, hash)
	case src != nil && signer != src:
		return nil, nil, authErr("the bearer token is source %q's, the signature source %q's", src.ID, signer.ID)
	}
	sum := sha256.Sum256(body)
	msg := []byte(NoteText(signer.ID, sum) + "\n\u2014 " + name + " " + sig64 + "\n")
	if _, err := note.Open(msg, note.VerifierList(signer.Verifier)); err != nil {
		return nil, nil, authErr("the signature of source %q does not verify: the body received (SHA-256 %s) is not the one it signed", signer.ID, base64.StdEncoding.EncodeToString(sum[:]))
	}
	return signer, &Signed{Sum: sum, Note: msg}, nil
}

// VerifyBody checks a stored body's signed note: it names src and the
// body's SHA-256, and verifies under src's key. verify calls it on every
// body a log holds.
func VerifyBody(src *Source, body, signed []byte) error {
	if src == nil || !src.Signs() {
		return errors.New("the source has no key to check the signature with")
	}
	sum := sha256.Sum256(body)
	n, err := note.Open(signed, note.VerifierList(src.Verifier))
	if err != nil {
		var bad *note.InvalidSignatureError
		var unv *note.UnverifiedNoteError
		switch {
		case errors.As(err, &bad):
			return fmt.Errorf("the signature by %s does not verify under source %q's key", bad.Name, src.ID)
		case errors.As(err, &unv):
			var by []string
			for _, s := range unv.Note.UnverifiedSigs {
				by = append(by, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
			}
			return fmt.Errorf("not signed by source %q's key %s+%08x (signed by %s)", src.ID, src.Verifier.Name(), src.Verifier.KeyHash(), strings.Join(by, ", "))
		}
		return fmt.Errorf("its signed note: %w", err)
	}
	if want := NoteText(src.ID, sum); n.Text != want {
		return fmt.Errorf("its signed note says %q, not %q", n.Text, want)
	}
	return nil
}

// Records cuts a signed body into its records as the engine reads it: as
// SPEC §9 splits a file (a FeatureCollection, an RS text sequence, or
// lines). A record's ordinal here is the Index of its log entry's body
// reference.
func Records(body []byte) ([]feed.Record, error) {
	src := feed.NewBytesSource("body", body)
	var recs []feed.Record
	for {
		rec, err := src.Next()
		if err == io.EOF {
			return recs, nil
		}
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec.Clone())
	}
}

// CheckRecordSources checks that every record of a signed body that
// decodes names the signing source as its properties.source: a source
// signs for itself only, so one cannot slip records of another into its
// body. A record that does not decode is rejected by the engine whatever
// it says.
func CheckRecordSources(recs []feed.Record, source string) error {
	dec := feed.NewDecoder()
	var s detect.Sighting
	for i, r := range recs {
		if r.Err != "" || dec.Decode(r.Raw, &s) != nil {
			continue
		}
		if s.Source != source {
			if s.Source == "" {
				return fmt.Errorf("record %d (id %q) has no properties.source; a signed body's records name their source, %q", i, s.ID, source)
			}
			return fmt.Errorf("record %d (id %q) names source %q, but the body is signed by %q", i, s.ID, s.Source, source)
		}
	}
	return nil
}
