// Package keys makes and reads the Ed25519 keys of linewatch's trust layer,
// in the signed-note formats of C2SP (c2sp.org/signed-note): a private key
// "PRIVATE+KEY+NAME+HASH+BASE64" kept in a file of mode 0600, and its public
// verifier key "NAME+HASH+BASE64", which is what a party hands to others.
//
// One key pair serves three roles:
//
//   - a log key signs the log's checkpoints (signature type 0x01);
//   - a source key signs the bodies a source posts (type 0x01);
//   - a witness (cosigner) key signs timestamped cosignatures of
//     checkpoints (c2sp.org/tlog-cosignature, type 0x04). Its public key is
//     the same Ed25519 key written with type 0x04, a different key hash:
//     CosignerKey derives it from either key form.
//
// The signing itself is golang.org/x/mod/sumdb/note's (Ed25519 notes) and
// github.com/transparency-dev/formats/note's (cosignature/v1); this package
// only reads, writes and derives keys.
package keys

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// Generate makes a new Ed25519 key pair named name (a schema-less URL such
// as example.org/linewatch is recommended; no spaces or "+").
func Generate(name string) (private, public string, err error) {
	if err := CheckName(name); err != nil {
		return "", "", err
	}
	private, public, err = note.GenerateKey(rand.Reader, name)
	if err != nil {
		return "", "", fmt.Errorf("key %q: %w", name, err)
	}
	return private, public, nil
}

// CheckName tells whether name can name a key: not empty, valid UTF-8,
// without spaces or "+".
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("a key name is required")
	case strings.ContainsAny(name, "+ \t\r\n\u00a0\u2028\u2029") || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return fmt.Errorf("key name %q: no spaces, control characters or \"+\"", name)
	case !isUTF8(name):
		return fmt.Errorf("key name %q: not valid UTF-8", name)
	}
	return nil
}

func isUTF8(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// WriteNew writes a private key to a new file of mode 0600. It never
// replaces an existing file: losing a key that others trust cannot be
// undone.
func WriteNew(path, private string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists: a key file is never overwritten; choose another name or remove it yourself", path)
		}
		return err
	}
	if _, err := f.WriteString(private + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// ReadPrivate reads a private key file written by WriteNew (or any file
// holding one "PRIVATE+KEY+…" line). A file that others can read is
// refused: the key would no longer be the holder's alone.
func ReadPrivate(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("private key: %w", err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("private key %s: mode %04o lets others read it; chmod 600 %s", path, fi.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("private key: %w", err)
	}
	k := strings.TrimSpace(string(data))
	if !strings.HasPrefix(k, "PRIVATE+KEY+") {
		return "", fmt.Errorf("private key %s: not a signed-note private key (PRIVATE+KEY+NAME+HASH+DATA)", path)
	}
	if _, err := note.NewSigner(k); err != nil {
		return "", fmt.Errorf("private key %s: %w", path, err)
	}
	return k, nil
}

// Signer reads a private key file and returns its note signer (Ed25519,
// type 0x01): the signer of checkpoints and of sources' bodies.
func Signer(path string) (note.Signer, error) {
	k, err := ReadPrivate(path)
	if err != nil {
		return nil, err
	}
	return note.NewSigner(k)
}

// Cosigner reads a private key file and returns its cosignature/v1 signer
// (c2sp.org/tlog-cosignature, Ed25519, type 0x04): a witness's signer.
func Cosigner(path string) (note.Signer, error) {
	k, err := ReadPrivate(path)
	if err != nil {
		return nil, err
	}
	s, err := fnote.NewSignerForCosignatureV1(k)
	if err != nil {
		return nil, fmt.Errorf("private key %s: %w", path, err)
	}
	return s, nil
}

// Public returns the verifier key of a private key.
func Public(private string) (string, error) {
	s, err := note.NewSigner(private)
	if err != nil {
		return "", err
	}
	// PRIVATE+KEY+NAME+HASH+DATA; DATA, in base64, may hold "+" too.
	parts := strings.SplitN(private, "+", 5)
	if len(parts) != 5 {
		return "", errors.New("malformed private key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", errors.New("not an Ed25519 private key")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(s.Name(), pub)
}

// CosignerKey returns the cosignature/v1 verifier key (type 0x04) of an
// Ed25519 key given as a private key or as a verifier key (type 0x01), the
// key others configure to check a witness's cosignatures.
func CosignerKey(key string) (string, error) {
	if strings.HasPrefix(key, "PRIVATE+KEY+") {
		pub, err := Public(key)
		if err != nil {
			return "", err
		}
		key = pub
	}
	if t, err := keyType(key); err == nil && t == 4 {
		return key, nil
	}
	return fnote.VKeyToCosignatureV1(key)
}

// keyType is the signature type byte of a verifier key.
func keyType(vkey string) (byte, error) {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		return 0, fmt.Errorf("verifier key %q: want NAME+HASH+DATA", short(vkey))
	}
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) < 2 {
		return 0, fmt.Errorf("verifier key %q: its key data is not base64", short(vkey))
	}
	return raw[0], nil
}

func short(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

// Verifier returns the verifier of a public key: an Ed25519 note key (type
// 0x01: a log's or a source's) or an Ed25519 cosignature/v1 key (type
// 0x04: a witness's). arg is the key itself, or the name of a file
// holding it.
func Verifier(arg string) (note.Verifier, string, error) {
	vkey := strings.TrimSpace(arg)
	v, err := ParseVerifier(vkey)
	if err == nil {
		return v, vkey, nil
	}
	data, ferr := os.ReadFile(arg)
	if ferr != nil {
		if looksLikeKey(vkey) {
			return nil, "", err // a key, wrong: say what is wrong with it
		}
		return nil, "", fmt.Errorf("public key %q: neither a key (NAME+HASH+DATA) nor a readable file: %w", short(arg), ferr)
	}
	vkey = strings.TrimSpace(string(data))
	if v, err = ParseVerifier(vkey); err != nil {
		return nil, "", fmt.Errorf("%s: %w", arg, err)
	}
	return v, vkey, nil
}

// looksLikeKey tells whether s has the shape of a key (NAME+HASH+DATA or
// PRIVATE+KEY+…) rather than of a file name.
func looksLikeKey(s string) bool {
	if strings.HasPrefix(s, "PRIVATE+") {
		return true
	}
	parts := strings.SplitN(s, "+", 3)
	if len(parts) != 3 || len(parts[1]) != 8 || strings.ContainsAny(s, " \t\n") {
		return false
	}
	for _, c := range parts[1] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// ParseVerifier parses a verifier key of type 0x01 or 0x04.
func ParseVerifier(vkey string) (note.Verifier, error) {
	if strings.HasPrefix(vkey, "PRIVATE+") {
		return nil, errors.New("a private key where a public key belongs: give the NAME+HASH+DATA line that 'linewatch key public' prints")
	}
	t, err := keyType(vkey)
	if err != nil {
		return nil, err
	}
	var v note.Verifier
	switch t {
	case 1:
		v, err = note.NewVerifier(vkey)
	case 4:
		v, err = fnote.NewVerifierForCosignatureV1(vkey)
	default:
		return nil, fmt.Errorf("verifier key %q: signature type %#02x; linewatch uses Ed25519 keys (0x01) and Ed25519 cosignature keys (0x04)", short(vkey), t)
	}
	if err != nil {
		return nil, fmt.Errorf("verifier key %q: %w", short(vkey), err)
	}
	// A key whose hash does not match its name and data is a mistyped or
	// altered key: its signatures would be looked for under a wrong id.
	if h := strings.SplitN(vkey, "+", 3)[1]; h != fmt.Sprintf("%08x", v.KeyHash()) {
		return nil, fmt.Errorf("verifier key %q: its hash %s does not match its name and key data (%08x)", short(vkey), h, v.KeyHash())
	}
	return v, nil
}

// IsCosigner tells whether a verifier key is a cosignature/v1 key.
func IsCosigner(vkey string) bool {
	t, err := keyType(vkey)
	return err == nil && t == 4
}
