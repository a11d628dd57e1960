package sources_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/linewatch/linewatch/sources"
)

type key struct {
	signer note.Signer
	pub    string
}

func newKey(t testing.TB, name string) key {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return key{s, vkey}
}

func write(t testing.TB, dir, name, data string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	k := newKey(t, "observer-7")
	k2 := newKey(t, "osce-2")
	write(t, dir, "osce.pub", k2.pub+"\n")
	write(t, dir, "drone.token", "t0ken\n")
	p := write(t, dir, "sources.yaml", fmt.Sprintf(`
observer-7:
  token: s3cret
  key: %s
  affiliation: UA
osce-2:
  key_file: osce.pub
  affiliation: neutral
drone.12:
  token_file: drone.token
`, k.pub))
	r, err := sources.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(r.IDs(), ","); got != "drone.12,observer-7,osce-2" {
		t.Fatalf("ids %s", got)
	}
	if s := r.ByToken("t0ken"); s == nil || s.ID != "drone.12" || s.Signs() {
		t.Fatalf("token file: %+v", s)
	}
	if s := r.Source("osce-2"); !s.Signs() || s.Affiliation != "neutral" {
		t.Fatalf("osce-2: %+v", s)
	}
	aff := r.Affiliations()
	if len(aff) != 2 || aff["observer-7"] != "UA" {
		t.Fatalf("affiliations %v", aff)
	}
	if err := r.CheckParties("UA", "RU"); err != nil {
		t.Fatal(err)
	}
	if err := r.CheckParties("AA", "BB"); err == nil || !strings.Contains(err.Error(), `source "observer-7": affiliation "UA" is neither a party of the line (AA, BB) nor "neutral"`) {
		t.Fatalf("parties: %v", err)
	}
	if !r.Authenticates() || r.Tokens()["s3cret"] != "observer-7" {
		t.Fatal("tokens")
	}
}

func TestLoadTokensFile(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "tokens", "# sources\ns3cret observer-7\nother drone.12\nthird observer-7\n")
	r, err := sources.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 2 || r.ByToken("third").ID != "observer-7" || r.Source("drone.12").Signs() {
		t.Fatalf("%v", r.IDs())
	}
	for _, bad := range []string{"a b c\n", "a x\na y\n", "# nothing\n"} {
		if _, err := sources.Load(write(t, dir, "bad", bad)); err == nil {
			t.Errorf("%q taken", bad)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	k := newKey(t, "k")
	w := newKey(t, "w")
	tests := []struct{ yaml, want string }{
		{"a: 1\n", `source "a": want a mapping`},
		{"a:\n  tokn: x\n", `line 2: source "a": unknown key "tokn"`},
		{"a:\n  token: x\nb:\n  token: x\n", `source "b": its token is also source "a"'s`},
		{"a:\n  key: nonsense\n", `source "a": key:`},
		{"a:\n  key: " + k.pub + "\n  key_file: f\n", "not both"},
		{"a:\n  key_file: missing.pub\n", `source "a": key_file:`},
		{"a:\n  affiliation: unknown\n", `affiliation "unknown" is what linewatch calls`},
		{"a:\n  token: \"x y\"\n", "white space"},
		{"a:\n  token: ~\n", "must be a string"},
		{"a:\n  key: " + k.pub + "\nb:\n  key: " + k.pub + "\n", `its key is also source "a"'s`},
		{"- a\n", "want a mapping of source ids"},
		{"", "no sources"},
		{"\"\":\n  token: x\n", "cannot be empty"},
	}
	ck, _ := cosignerKey(w.pub)
	tests = append(tests, struct{ yaml, want string }{"a:\n  key: " + ck + "\n", "cosignature key"})
	for _, tc := range tests {
		_, err := sources.Load(write(t, dir, "s.yaml", tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

func body(source string, n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"type":"Feature","id":"r%d","geometry":{"type":"Point","coordinates":[37.5,47.9]},"properties":{"time":"2024-01-01T00:00:00Z","side":"RU","kind":"ground","track":"RU-bn-117","strength":12,"confidence":0.8,"precision_m":50,"source":%q}}`+"\n", i, source)
	}
	return b.Bytes()
}

func TestAuthenticate(t *testing.T) {
	k7 := newKey(t, "observer-7")
	k2 := newKey(t, "osce-2")
	v7, _ := note.NewVerifier(k7.pub)
	v2, _ := note.NewVerifier(k2.pub)
	reg, err := sources.New(
		&sources.Source{ID: "observer-7", Token: "s3cret", Key: k7.pub, Verifier: v7},
		&sources.Source{ID: "osce-2", Key: k2.pub, Verifier: v2},
		&sources.Source{ID: "drone.12", Token: "t0ken"},
	)
	if err != nil {
		t.Fatal(err)
	}
	b := body("observer-7", 3)
	sig7, err := sources.SignBody(k7.signer, "observer-7", b)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := sources.SignBody(k7.signer, "observer-7", b)
	if again != sig7 {
		t.Fatal("signing a body twice gave two signatures")
	}
	sig2, _ := sources.SignBody(k2.signer, "osce-2", b)
	sigOther, _ := sources.SignBody(k7.signer, "osce-2", b) // a key signing for another source
	changed := bytes.Replace(b, []byte("r1"), []byte("r9"), 1)
	tests := []struct {
		name, auth, sig string
		body            []byte
		want            string // source id, or the error
	}{
		{"token and signature", "Bearer s3cret", sig7, b, "observer-7"},
		{"signature alone", "", sig7, b, "observer-7"},
		{"token-only source", "Bearer t0ken", "", b, "drone.12"},
		{"signing source without signature", "Bearer s3cret", "", b, `source "observer-7" signs its bodies: the Linewatch-Signature header is missing`},
		{"nothing", "", "", b, "a bearer token (Authorization: Bearer TOKEN) or a signed body"},
		{"bad token", "Bearer nope", sig7, b, "invalid bearer token"},
		{"basic auth", "Basic czNjcmV0", "", b, "want a bearer token"},
		{"changed body", "", sig7, changed, `the signature of source "observer-7" does not verify`},
		{"another source's signature with a token", "Bearer s3cret", sig2, b, `the bearer token is source "observer-7"'s, the signature source "osce-2"'s`},
		{"signature under another source's name", "", sigOther, b, `does not verify`},
		{"unknown key", "", "stranger AAAAAAAAAAAA", b, "which no registered source has"},
		{"malformed", "", "just-a-name", b, "want the signature line"},
		{"token-only source with a signature", "Bearer t0ken", sig2, b, `the bearer token is source "drone.12"'s, the signature source "osce-2"'s`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src, signed, err := reg.Authenticate(tc.auth, tc.sig, tc.body)
			if err != nil {
				var ae *sources.AuthError
				if !errors.As(err, &ae) {
					t.Fatalf("%v is not an AuthError", err)
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %q, want %q", err, tc.want)
				}
				return
			}
			if src == nil || src.ID != tc.want {
				t.Fatalf("source %+v, want %s", src, tc.want)
			}
			if (signed != nil) != (tc.sig != "") {
				t.Fatalf("signed %v", signed)
			}
			if signed != nil {
				if err := sources.VerifyBody(src, tc.body, signed.Note); err != nil {
					t.Fatalf("the stored note does not verify: %v", err)
				}
			}
		})
	}
	// Without tokens or keys, nothing is asked.
	open, _ := sources.New(&sources.Source{ID: "a", Affiliation: "UA"})
	if src, _, err := open.Authenticate("", "", b); err != nil || src != nil {
		t.Fatal(src, err)
	}
}

func TestVerifyBody(t *testing.T) {
	k := newKey(t, "observer-7")
	other := newKey(t, "observer-7") // same name, another key
	v, _ := note.NewVerifier(k.pub)
	src := &sources.Source{ID: "observer-7", Key: k.pub, Verifier: v}
	b := body("observer-7", 2)
	reg, _ := sources.New(src)
	sig, _ := sources.SignBody(k.signer, "observer-7", b)
	_, signed, err := reg.Authenticate("", sig, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := sources.VerifyBody(src, b, signed.Note); err != nil {
		t.Fatal(err)
	}
	// A signature replaced by another key's, the note of another body.
	forged, _ := note.Sign(&note.Note{Text: sources.NoteText("observer-7", sha(b))}, other.signer)
	otherBody, _ := note.Sign(&note.Note{Text: sources.NoteText("observer-7", sha([]byte("x")))}, k.signer)
	for _, tc := range []struct {
		name   string
		signed []byte
		want   string
	}{
		{"replaced", forged, "not signed by source \"observer-7\"'s key"},
		{"another body", otherBody, "its signed note says"},
	} {
		if err := sources.VerifyBody(src, b, tc.signed); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestCheckRecordSources(t *testing.T) {
	good := body("observer-7", 2)
	recs, err := sources.Records(append(good, "not json\n"...))
	if err != nil || len(recs) != 3 {
		t.Fatal(len(recs), err)
	}
	if err := sources.CheckRecordSources(recs, "observer-7"); err != nil {
		t.Fatal(err)
	}
	mixed, _ := sources.Records(append(good, body("drone.12", 1)...))
	if err := sources.CheckRecordSources(mixed, "observer-7"); err == nil || !strings.Contains(err.Error(), `record 2 (id "r0") names source "drone.12", but the body is signed by "observer-7"`) {
		t.Fatal(err)
	}
	none, _ := sources.Records([]byte(`{"type":"Feature","id":"x","geometry":{"type":"Point","coordinates":[1,2]},"properties":{"time":"2024-01-01T00:00:00Z"}}`))
	if err := sources.CheckRecordSources(none, "observer-7"); err == nil || !strings.Contains(err.Error(), "has no properties.source") {
		t.Fatal(err)
	}
}

// BenchmarkAuthenticate is the ingest's cost of a signed body of 1,000
// records: one SHA-256 of the body and one Ed25519 verification.
func BenchmarkAuthenticate(b *testing.B) {
	k := newKey(b, "observer-7")
	v, _ := note.NewVerifier(k.pub)
	reg, _ := sources.New(&sources.Source{ID: "observer-7", Token: "t", Key: k.pub, Verifier: v})
	data := body("observer-7", 1000)
	sig, _ := sources.SignBody(k.signer, "observer-7", data)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, _, err := reg.Authenticate("Bearer t", sig, data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/record")
}

// BenchmarkSignBody is a source's cost of signing a 1,000-record body.
func BenchmarkSignBody(b *testing.B) {
	k := newKey(b, "observer-7")
	data := body("observer-7", 1000)
	for b.Loop() {
		if _, err := sources.SignBody(k.signer, "observer-7", data); err != nil {
			b.Fatal(err)
		}
	}
}
