package keys_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/linewatch/linewatch/keys"
)

func TestGenerateWriteRead(t *testing.T) {
	priv, pub, err := keys.Generate("example.org/log")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(pub, "example.org/log+") || len(strings.SplitN(pub, "+", 3)[1]) != 8 {
		t.Fatalf("public key %q", pub)
	}
	path := filepath.Join(t.TempDir(), "log.key")
	if err := keys.WriteNew(path, priv); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %04o, want 0600", fi.Mode().Perm())
	}
	// Never overwritten.
	err = keys.WriteNew(path, priv)
	if err == nil || !strings.Contains(err.Error(), "never overwritten") {
		t.Fatalf("second write: %v", err)
	}
	// The public key derived from the file is the one printed.
	got, err := keys.ReadPrivate(path)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := keys.Public(got); err != nil || p != pub {
		t.Fatalf("Public = %q, %v; want %q", p, err, pub)
	}
	// A signature by the file's signer verifies under the public key.
	s, err := keys.Signer(path)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := note.Sign(&note.Note{Text: "hello\n"}, s)
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := keys.Verifier(pub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(msg, note.VerifierList(v)); err != nil {
		t.Fatal(err)
	}
}

func TestReadPrivateRefusesOpenFile(t *testing.T) {
	priv, _, _ := keys.Generate("k")
	path := filepath.Join(t.TempDir(), "k.key")
	if err := os.WriteFile(path, []byte(priv), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.ReadPrivate(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("got %v", err)
	}
}

func TestCosignerKey(t *testing.T) {
	dir := t.TempDir()
	priv, pub, _ := keys.Generate("witness.example/a")
	path := filepath.Join(dir, "w.key")
	if err := keys.WriteNew(path, priv); err != nil {
		t.Fatal(err)
	}
	ck, err := keys.CosignerKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	if ck == pub || !keys.IsCosigner(ck) || keys.IsCosigner(pub) {
		t.Fatalf("cosigner key %q of %q", ck, pub)
	}
	if ck2, err := keys.CosignerKey(priv); err != nil || ck2 != ck {
		t.Fatalf("from the private key: %q, %v", ck2, err)
	}
	if ck3, err := keys.CosignerKey(ck); err != nil || ck3 != ck {
		t.Fatalf("of itself: %q, %v", ck3, err)
	}
	cs, err := keys.Cosigner(path)
	if err != nil {
		t.Fatal(err)
	}
	text := "example.org/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
	msg, err := note.Sign(&note.Note{Text: text}, cs)
	if err != nil {
		t.Fatal(err)
	}
	cv, err := keys.ParseVerifier(ck)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(msg, note.VerifierList(cv)); err != nil {
		t.Fatalf("cosignature: %v", err)
	}
	// The plain key does not accept a cosignature: the key ids differ.
	pv, _ := keys.ParseVerifier(pub)
	if _, err := note.Open(msg, note.VerifierList(pv)); err == nil {
		t.Fatal("a cosignature verified under the plain key")
	}
}

func TestParseVerifierErrors(t *testing.T) {
	_, pub, _ := keys.Generate("k")
	parts := strings.SplitN(pub, "+", 3)
	tests := []struct{ key, want string }{
		{"nonsense", "neither a key"},
		{parts[0] + "+00000000+" + parts[2], "hash"},
		{parts[0] + "+" + parts[1] + "+!!!", "not base64"},
	}
	for _, tc := range tests {
		_, _, err := keys.Verifier(tc.key)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.key, err, tc.want)
		}
	}
	ck, _ := keys.CosignerKey(pub)
	cp := strings.SplitN(ck, "+", 3)
	if _, err := keys.ParseVerifier(cp[0] + "+00000000+" + cp[2]); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("cosigner key with a wrong hash: %v", err)
	}
}

func TestCheckName(t *testing.T) {
	for _, n := range []string{"", "a b", "a+b", "a\tb"} {
		if keys.CheckName(n) == nil {
			t.Errorf("%q accepted", n)
		}
	}
	if err := keys.CheckName("example.org/log-1"); err != nil {
		t.Error(err)
	}
}
