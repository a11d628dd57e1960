package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/linewatch/linewatch/detect"

	"github.com/linewatch/linewatch/keys"
	"github.com/linewatch/linewatch/policy"
	"github.com/linewatch/linewatch/sources"
	"github.com/linewatch/linewatch/tlog"
)

// writeLog writes a log of one signed body of obs-a's, records tagged
// by tag, with the log's key in keyFile.
func writeLog(t *testing.T, dir, keyFile, logPub string, body []byte, signed []byte) {
	t.Helper()
	ctx := context.Background()
	s, err := keys.Signer(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := keys.Verifier(logPub)
	if err != nil {
		t.Fatal(err)
	}
	st, err := tlog.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	w, err := tlog.NewWriter(ctx, tlog.WriterConfig{Storage: st, Origin: "linewatch.example/test", Signer: s, Verifier: v})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	sum := sha256.Sum256(body)
	if err := w.AddBody(sum, body, signed); err != nil {
		t.Fatal(err)
	}
	recs, _ := sources.Records(body)
	for k, r := range recs {
		e := tlog.Entry{Time: 1714521600e6 + 3600e6, Seq: 1, Source: "obs-a", Body: &tlog.BodyRef{Sum: sum, Index: uint32(k)}, Record: r.Raw}
		l, _ := e.Leaf()
		if _, err := w.Append(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
}

func obsBody(tag string) []byte {
	var b strings.Builder
	for i := range 3 {
		fmt.Fprintf(&b, `{"type":"Feature","id":"%s%d","geometry":{"type":"Point","coordinates":[30.52,48.05]},"properties":{"time":"2024-05-01T00:0%d:00Z","side":"B","source":"obs-a"}}`+"\n", tag, i, i)
	}
	return []byte(b.String())
}

// TestTrustCommands: keys, a source's signature, a witness cosigning and
// refusing a fork, an export, and verify passing and failing, as a
// party runs them.
func TestTrustCommands(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	r := runIn(t, "key", "generate", "-o", p("log.key"), "linewatch.example/test")
	if r.code != 0 {
		t.Fatalf("key generate: %d %s", r.code, r.stderr)
	}
	logPub := strings.TrimSpace(r.stdout)
	if fi, err := os.Stat(p("log.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	wantOneLineError(t, runIn(t, "key", "generate", "-o", p("log.key"), "again"), "never overwritten")
	if r = runIn(t, "key", "public", p("log.key")); strings.TrimSpace(r.stdout) != logPub {
		t.Fatalf("key public: %q", r.stdout)
	}
	r = runIn(t, "key", "generate", "--cosigner", "-o", p("w.key"), "witness.example/ua")
	wPub := strings.TrimSpace(r.stdout)
	if !keys.IsCosigner(wPub) {
		t.Fatalf("--cosigner printed %q", wPub)
	}
	r = runIn(t, "key", "generate", "-o", p("obs.key"), "obs-a")
	obsPub := strings.TrimSpace(r.stdout)

	// The source signs its body; the ingest's check accepts it.
	body := obsBody("r")
	r = runBin(t, body, "sign", "--key", p("obs.key"), "--source", "obs-a")
	if r.code != 0 {
		t.Fatalf("sign: %s", r.stderr)
	}
	ov, _, _ := keys.Verifier(obsPub)
	reg, _ := sources.New(&sources.Source{ID: "obs-a", Key: obsPub, Verifier: ov, Affiliation: "A"})
	_, signed, err := reg.Authenticate("", strings.TrimSpace(r.stdout), body)
	if err != nil {
		t.Fatal(err)
	}
	logDir := p("log")
	writeLog(t, logDir, p("log.key"), logPub, body, signed.Note)

	// A witness cosigns the stopped log's checkpoint, into its directory.
	r = runIn(t, "cosign", "--key", p("w.key"), "--log", logDir, "--log-key", logPub, "--state", p("w.state"))
	if r.code != 0 || !strings.Contains(r.stderr, "cosigned linewatch.example/test size 3") {
		t.Fatalf("cosign: %d %s", r.code, r.stderr)
	}
	r = runIn(t, "log", "export", "--from", logDir, "-o", p("export"))
	if r.code != 0 {
		t.Fatalf("export: %s", r.stderr)
	}
	srcFile := writeTemp(t, "sources.yaml", "obs-a:\n  key: "+obsPub+"\n  affiliation: A\n")
	alerts := writeTemp(t, "alerts.geojsonl", "")
	args := []string{"verify", "--log", p("export"), "--key", logPub, "--key", wPub, "--min-signatures", "2", "--line", straightLine, "--sources", srcFile, alerts}
	r = runBin(t, nil, args...)
	if r.code != 0 || !strings.Contains(r.stdout, "signed by 2 of the 2 keys given") || !strings.Contains(r.stdout, "verified: every check holds") {
		t.Fatalf("verify: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// A signature replaced: exit 1, named.
	other := writeTemp(t, "other.yaml", "obs-a:\n  key: "+logPub+"\n  affiliation: A\n")
	bad := append([]string{}, args...)
	bad[len(bad)-2] = other
	r = runBin(t, nil, bad...)
	if r.code != 1 || !strings.Contains(r.stderr, "MISMATCH: body") || !strings.Contains(r.stderr, `not signed by source "obs-a"'s key`) {
		t.Fatalf("verify under another key: %d %s", r.code, r.stderr)
	}
	// Usage errors: exit 2.
	wantOneLineError(t, runIn(t, "verify", "--log", p("export"), "--line", straightLine, alerts), "--key PUB is required")
	wantOneLineError(t, runIn(t, "verify", "--log", p("export"), "--key", logPub, "--min-signatures", "3", "--line", straightLine, alerts), "--min-signatures 3")

	// The log forks: another history of the same size, signed by the same
	// key. The witness refuses, loudly, and keeps its state.
	forked := p("forked")
	writeLog(t, forked, p("log.key"), logPub, obsBody("x"), signed.Note)
	before, _ := os.ReadFile(p("w.state"))
	r = runIn(t, "cosign", "--key", p("w.key"), "--log", forked, "--log-key", logPub, "--state", p("w.state"), "--no-submit")
	if r.code != 1 || !strings.Contains(r.stderr, "FORK: ") || strings.Count(r.stderr, "(size 3, root ") != 2 {
		t.Fatalf("cosign of a fork: %d %s", r.code, r.stderr)
	}
	if after, _ := os.ReadFile(p("w.state")); string(after) != string(before) {
		t.Fatal("the witness's state changed after a fork")
	}
}

// stream --sources gives its alerts the same corroboration as detect
// --sources.
func TestStreamSources(t *testing.T) {
	feed := strings.ReplaceAll(offensiveFeed(), `"strength":30}`, `"strength":30,"source":"obs-a"}`)
	reg := writeTemp(t, "sources.yaml", "obs-a:\n  affiliation: A\n")
	pol := writeTemp(t, "p.yaml", "corroboration_min_affiliations: 2\n")
	in := writeTemp(t, "s.ndjson", feed)
	d := runIn(t, "detect", "--line", straightLine, "--policy", pol, "--sources", reg, "--format", "geojsonseq", "-q", in)
	s := runBin(t, []byte(feed), "stream", "--line", straightLine, "--policy", pol, "--sources", reg, "--in", "-")
	if d.code != 0 || s.code != 0 {
		t.Fatalf("detect %d %s; stream %d %s", d.code, d.stderr, s.code, s.stderr)
	}
	var closed string
	for _, l := range strings.Split(s.stdout, "\n") {
		if strings.Contains(l, `"status":"closed"`) {
			closed = l
		}
	}
	episode, _, _ := strings.Cut(d.stdout, "\n")
	if closed == "" || strings.TrimSuffix(closed, `,"status":"closed"}}`) != strings.TrimSuffix(episode, "}}") {
		t.Fatalf("stream's closed alert:\n%s\nis not detect's episode:\n%s", closed, episode)
	}
	if !strings.Contains(closed, `"corroborated":{"holds":false,"affiliations":1`) {
		t.Fatalf("no corroboration in %s", closed)
	}
}

// A stream state begun before corroboration existed resumes: with the
// default corroboration_min_affiliations and no sources, the state's id
// is what it was (the policy's JSON then had no such key).
func TestConfigIDKeepsEarlierStates(t *testing.T) {
	app := streamCommand()
	set := flag.NewFlagSet("stream", flag.ContinueOnError)
	for _, f := range app.Flags {
		f.Apply(set)
	}
	if err := set.Parse([]string{"--line", straightLine}); err != nil {
		t.Fatal(err)
	}
	c := cli.NewContext(newApp(nil, nil, nil), set, nil)
	pol := detect.DefaultPolicy()
	got, err := configID(c, pol, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	data, _ := os.ReadFile(straightLine)
	h.Write(data)
	p := policy.JSON(pol)
	h.Write(bytes.Replace(p, []byte(`,"corroboration_min_affiliations":1`), nil, 1))
	fmt.Fprintf(h, "\x00%s\x00%s\x00%v\x00%s", "", "", 0.0, "LINEWATCH_SIGHTINGS")
	if want := hex.EncodeToString(h.Sum(nil)[:16]); got != want {
		t.Fatalf("state id %s, earlier %s: states begun before would be refused", got, want)
	}
	pol.CorroborationMinAffiliations = 2
	if other, _ := configID(c, pol, nil); other == got {
		t.Fatal("another corroboration threshold, the same state id")
	}
}
