package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linewatch/linewatch/keys"
	"github.com/linewatch/linewatch/sources"
	"github.com/linewatch/linewatch/stream"
	"github.com/linewatch/linewatch/tlog"
)

// The joint mechanism end to end, as separate processes: three observers
// (one of each party, and a neutral mission) sign what they post over
// HTTP; the engine logs every record and checkpoints; two parties'
// witnesses, each a linewatch process of its own, cosign from the engine's
// URL; a copy of the log is exported from the URL; with the engine
// stopped, verify with three signatures holds on the copy and the alerts;
// a byte changed in the copy's entries, and an alert edited, are each
// caught and named.
func TestJointMechanism(t *testing.T) {
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	gen := func(args ...string) string {
		t.Helper()
		r := runBin(t, nil, append([]string{"key", "generate"}, args...)...)
		if r.code != 0 {
			t.Fatalf("key generate %v: %s", args, r.stderr)
		}
		return strings.TrimSpace(r.stdout)
	}
	logPub := gen("-o", p("log.key"), "linewatch.example/front")
	wPub := []string{gen("--cosigner", "-o", p("ua.key"), "witness.ua.example"), gen("--cosigner", "-o", p("ru.key"), "witness.ru.example")}
	observers := []struct{ id, aff string }{{"ua-patrol", "UA"}, {"ru-observer", "RU"}, {"osce", "neutral"}}
	var reg strings.Builder
	signers := map[string]string{}
	for _, o := range observers {
		pub := gen("-o", p(o.id+".key"), o.id)
		fmt.Fprintf(&reg, "%s:\n  key: %s\n  affiliation: %s\n", o.id, pub, o.aff)
		signers[o.id] = p(o.id + ".key")
	}
	srcFile := p("sources.yaml")
	os.WriteFile(srcFile, []byte(reg.String()), 0o644)

	engine := startStream(t, "--line", frontLine, "--in", "http://127.0.0.1:0", "--state", p("state"), "-o", p("alerts.geojsonl"),
		"--sources", srcFile, "--log-key", p("log.key"), "--witness-key", wPub[0], "--witness-key", wPub[1],
		"--checkpoint-every", "200ms", "--nats-listen", "127.0.0.1:0")
	natsURL := engine.await(t, `NATS JetStream server on (nats://[^\s"]+)`)
	url := engine.await(t, `HTTP ingest on (http://[^/\s]+)`)

	// Each observer posts its share of the feed, 250 records a body, in
	// the feed's order; every record names its observer.
	feed := strings.SplitAfter(strings.TrimSpace(string(streamFeed(t, 6_000))), "\n")
	sourceRx := regexp.MustCompile(`"source":"[^"]*"`)
	posted := 0
	for i := 0; i < len(feed); i += 250 {
		o := observers[(i/250)%len(observers)]
		body := []byte(sourceRx.ReplaceAllString(strings.Join(feed[i:min(i+250, len(feed))], ""), `"source":"`+o.id+`"`) + "\n")
		s, err := keys.Signer(signers[o.id])
		if err != nil {
			t.Fatal(err)
		}
		sig, err := sources.SignBody(s, o.id, body)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, url+"/v1/sightings", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/geo+json-seq")
		req.Header.Set(sources.SignatureHeader, sig)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusAccepted {
			t.Fatalf("%s's body %d: %d", o.id, i/250, res.StatusCode)
		}
		recs, _ := sources.Records(body)
		posted += len(recs)
	}
	// An unsigned body of a signing observer is refused.
	res, err := http.Post(url+"/v1/sightings", "application/geo+json-seq", strings.NewReader(feed[0]))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an unsigned body: %d, want 401", res.StatusCode)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		h := health(t, url, p("state/"+stream.MetricsTokenFile))
		if h["records_read"] == float64(posted) && h["log_size"] == float64(posted) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the engine did not log every record: %v\n%s", h, engine.log())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The checkpoints are published to JetStream too.
	key, err := nats.NkeyOptionFromSeed(p("state/nats.nk"))
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(natsURL, key)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	ls, err := js.Stream(ctx, "LINEWATCH_LOG")
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		last, err := ls.GetLastMsgForSubject(ctx, "linewatch.log.checkpoints")
		if err == nil && strings.HasPrefix(string(last.Data), fmt.Sprintf("linewatch.example/front\n%d\n", posted)) &&
			last.Header.Get("Nats-Msg-Id") == fmt.Sprintf("checkpoint:%d", posted) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the last checkpoint on NATS: %v %+v", err, last)
		}
	}
	nc.Close()

	// The witnesses cosign, pulling from the engine and posting back.
	for i, w := range []string{"ua", "ru"} {
		r := runBin(t, nil, "cosign", "--key", p(w+".key"), "--log", url+"/v1", "--log-key", logPub, "--state", p(w+".state"), "-o", p(w+".cosigned"))
		if r.code != 0 || !strings.Contains(r.stderr, fmt.Sprintf("cosigned linewatch.example/front size %d", posted)) {
			t.Fatalf("witness %s: %d %s", w, r.code, r.stderr)
		}
		res, err := http.Get(url + "/v1/checkpoint")
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(res.Body)
		res.Body.Close()
		if n := strings.Count(b.String(), "\n— "); n != 2+i {
			t.Fatalf("the engine's checkpoint has %d signatures after %d witnesses:\n%s", n, i+1, b.String())
		}
	}
	r := runBin(t, nil, "log", "export", "--from", url+"/v1", "-o", p("export"))
	if r.code != 0 {
		t.Fatalf("log export: %s", r.stderr)
	}
	engine.stop(t)

	verifyArgs := func(logDir, alerts string) []string {
		return []string{"verify", "--log", logDir, "--key", logPub, "--key", wPub[0], "--key", wPub[1], "--min-signatures", "3",
			"--line", frontLine, "--sources", srcFile, "--complete", alerts}
	}
	r = runBin(t, nil, verifyArgs(p("export"), p("alerts.geojsonl"))...)
	if r.code != 0 || !strings.Contains(r.stdout, "signed by 3 of the 3 keys given") || !strings.Contains(r.stdout, "verified: every check holds") {
		t.Fatalf("verify: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, fmt.Sprintf("%d records in %d signed bodies", posted, (len(feed)+249)/250)) {
		t.Fatalf("verify did not check every body:\n%s", r.stdout)
	}

	// A byte changed in an exported record.
	bad := p("tampered")
	copyDir(t, p("export"), bad)
	bundle := filepath.Join(bad, filepath.FromSlash(tlog.EntriesPath(3, 0)))
	data, err := os.ReadFile(bundle)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(data, []byte(`"strength":`))
	data[i+len(`"strength":`)] ^= 1 // a digit, another digit
	os.WriteFile(bundle, data, 0o644)
	r = runBin(t, nil, verifyArgs(bad, p("alerts.geojsonl"))...)
	m := regexp.MustCompile(`MISMATCH: leaf (\d+): its entry hashes to \S+, but the signed tree holds`).FindStringSubmatch(r.stderr)
	if r.code != 1 || m == nil {
		t.Fatalf("a byte changed in the entries: %d %s", r.code, r.stderr)
	}
	if leaf, _ := strconv.Atoi(m[1]); leaf < 3*256 || leaf >= 4*256 {
		t.Fatalf("a byte changed in the entries of bundle 3: %d %s", r.code, r.stderr)
	}

	// An alert edited after the fact.
	alerts, _ := os.ReadFile(p("alerts.geojsonl"))
	// The first alert says its episode began a kilometre further on.
	edited := bytes.Replace(alerts, []byte(`"km_from":`), []byte(`"km_from":1`), 1)
	if bytes.Equal(edited, alerts) {
		t.Fatal("no alert to edit")
	}
	os.WriteFile(p("edited.geojsonl"), edited, 0o644)
	r = runBin(t, nil, verifyArgs(p("export"), p("edited.geojsonl"))...)
	if r.code != 1 || !regexp.MustCompile(`MISMATCH: alert 1 \(episode \S+, opened\) differs from the replay's: "km_from" is 1\d+\.\d+ in it, \d+\.\d+ in the replay's`).MatchString(r.stderr) {
		t.Fatalf("an alert edited: %d %s", r.code, r.stderr)
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Standard input cannot continue a log an earlier run began: the second
// run on the same state is refused, saying what to do; a witness key that
// is not one is a usage error.
func TestStreamLogOnStandardInput(t *testing.T) {
	dir := t.TempDir()
	r := runIn(t, "key", "generate", "-o", filepath.Join(dir, "log.key"), "linewatch.example/stdin")
	if r.code != 0 {
		t.Fatal(r.stderr)
	}
	feed := streamFeed(t, 2_000)
	args := []string{"stream", "--line", frontLine, "--in", "-", "--state", filepath.Join(dir, "state"), "-o", filepath.Join(dir, "alerts.geojsonl"),
		"--log-key", filepath.Join(dir, "log.key")}
	if r := runBin(t, feed, args...); r.code != 0 || !strings.Contains(r.stderr, "log_size=") {
		t.Fatalf("first run: %d %s", r.code, r.stderr)
	}
	wantOneLineError(t, runBin(t, feed, args...), "holds the records of an earlier run")
	wantOneLineError(t, runBin(t, feed, append(args[:len(args):len(args)], "--state", filepath.Join(dir, "other"), "--witness-key", "not-a-key")...), "--witness-key")
}
