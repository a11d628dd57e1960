package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/gen"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/stream"
)

// streamFeed is a generated month on the 2024 front with an offensive, a
// bombardment and a raid, bad records and identical duplicates, in time
// order.
func streamFeed(t *testing.T, records int) []byte {
	t.Helper()
	pol := detect.DefaultPolicy()
	l, err := geo.LoadFile(frontLine, pol.LineOptions())
	if err != nil {
		t.Fatal(err)
	}
	sc := gen.DefaultScenario()
	sc.Days, sc.Records, sc.Conflicting = 30, records, 0
	for _, e := range []struct {
		typ  gen.EventType
		spec string
	}{{gen.Offensive, "RU:S040-S042:2024-01-04:6d"}, {gen.Bombardment, "UA:S012-S013:2024-01-10:4d"}, {gen.Raid, "RU:S070:2024-01-20"}} {
		ev, err := gen.ParseEvent(e.typ, e.spec)
		if err != nil {
			t.Fatal(err)
		}
		sc.Events = append(sc.Events, ev)
	}
	var buf bytes.Buffer
	if _, err := gen.Generate(l, sc, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// `stream --in -` gives as closed alerts exactly the episode Features of
// `detect --format geojsonseq`, but for their status, and the same summary.
func TestStreamStdinEqualsDetect(t *testing.T) {
	dir := t.TempDir()
	feed := streamFeed(t, 20_000)
	feedFile := filepath.Join(dir, "feed.ndjson")
	os.WriteFile(feedFile, feed, 0o644)
	d := runBin(t, nil, "detect", "--line", frontLine, "--format", "geojsonseq", "--summary", filepath.Join(dir, "detect.json"), "-o", filepath.Join(dir, "detect.geojsonl"), feedFile)
	if d.code != 0 {
		t.Fatalf("detect: %d %s", d.code, d.stderr)
	}
	s := runBin(t, feed, "stream", "--line", frontLine, "--in", "-", "--summary", filepath.Join(dir, "stream.json"), "-o", filepath.Join(dir, "alerts.geojsonl"), "--rejects", filepath.Join(dir, "rejects.ndjson"))
	if s.code != 0 {
		t.Fatalf("stream: %d %s", s.code, s.stderr)
	}
	want, _ := os.ReadFile(filepath.Join(dir, "detect.geojsonl"))
	alerts, _ := os.ReadFile(filepath.Join(dir, "alerts.geojsonl"))
	var closed []string
	for _, l := range strings.Split(strings.TrimSpace(string(alerts)), "\n") {
		if e, ok := strings.CutSuffix(l, `,"status":"closed"}}`); ok {
			closed = append(closed, e+"}}")
		}
	}
	wantLines := strings.Split(strings.TrimSpace(string(want)), "\n")
	slices.Sort(closed)
	slices.Sort(wantLines)
	if len(wantLines) < 3 || !slices.Equal(closed, wantLines) {
		t.Fatalf("closed alerts:\n%s\ndetect's episodes:\n%s", strings.Join(closed, "\n"), strings.Join(wantLines, "\n"))
	}
	ds, _ := os.ReadFile(filepath.Join(dir, "detect.json"))
	ss, _ := os.ReadFile(filepath.Join(dir, "stream.json"))
	timing := regexp.MustCompile(`,"wall_s":.*`)
	if a, b := timing.ReplaceAllString(string(ds), ""), timing.ReplaceAllString(string(ss), ""); a != b {
		t.Fatalf("summaries differ:\ndetect %s\nstream %s", a, b)
	}
	rejects, _ := os.ReadFile(filepath.Join(dir, "rejects.ndjson"))
	if !bytes.Contains(rejects, []byte(`{"file":"-","line":`)) {
		t.Fatalf("rejects file: %.300s", rejects)
	}
}

func TestStreamUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"stream", "--line", frontLine, "--in", "ftp://x"}, "--in"},
		{[]string{"stream", "--line", frontLine, "--in", "-", "extra"}, "no arguments"},
		{[]string{"stream", "--line", frontLine, "--in", "-", "--max-body", "lots"}, "--max-body"},
		{[]string{"stream", "--in", "-"}, "--line"},
		{[]string{"stream", "--line", frontLine, "--in", "-", "-o", "nats://"}, "subject"},
		{[]string{"stream", "--line", frontLine, "--in", "-", "--nats-listen", "127.0.0.1:0"}, "nothing to do"},
		{[]string{"stream", "--line", frontLine, "--in", "http://127.0.0.1:0", "--nats-nkey", "k.nk"}, "add --nats-listen"},
		{[]string{"stream", "--line", frontLine, "--in", "http://127.0.0.1:0", "--nats-listen", ":0", "--nats-tls-cert", "c.pem"}, "go together"},
		{[]string{"stream", "--line", frontLine, "--in", "nats://10.0.0.1:4222", "--nats-listen", ":0"}, "embedded server"},
		{[]string{"stream", "--line", frontLine, "--in", "nats://embedded", "--nats-creds", "u.creds"}, "not the embedded one"},
		{[]string{"stream", "--line", frontLine, "--in", "-", "--max-inflight", "lots"}, "--max-inflight"},
		{[]string{"stream", "--line", frontLine, "--in", "nats://10.0.0.1:4222,nats://10.0.0.2:4222", "-o", "alerts.geojsonl"}, "a local file cannot follow"},
		{[]string{"stream", "--line", frontLine, "--in", "http://127.0.0.1:0", "--nats", "nats://10.0.0.1:4222", "-o", "nats://a", "--rejects", "r.ndjson"}, "--rejects nats://SUBJECT"},
		{[]string{"stream", "--line", frontLine, "--in", "http://127.0.0.1:0", "--replicas", "3"}, "one copy"},
		{[]string{"stream", "--line", frontLine, "--in", "nats://embedded", "--nats-user", "u"}, "not the embedded one"},
		{[]string{"stream", "--line", frontLine, "--in", "http://127.0.0.1:0", "--lease-ttl", "3s"}, "--lease-ttl"},
		{[]string{"stream", "--line", frontLine, "--in", "-", "--witness-key", "w.pub"}, "give its key, --log-key FILE"},
		{[]string{"stream", "--line", frontLine, "--in", "-", "--log-origin", "x.example"}, "--log-origin is for the log"},
		{[]string{"stream", "--line", frontLine, "--in", "-", "--log-key", "no-such.key"}, "--log-key"},
		{[]string{"stream", "--line", frontLine, "--role", "boss"}, "--role"},
		{[]string{"stream", "--line", frontLine, "--in", "http://127.0.0.1:0", "--compression", "zstd"}, "--compression"},
		{[]string{"stream", "--line", frontLine, "--in", "-", "--worker-wait", "1s"}, "--in -"},
		{[]string{"stream", "--line", frontLine, "--in", "http://127.0.0.1:0", "--worker-wait", "1s", "--worker-audit", "2"}, "fraction"},
		{[]string{"stream", "--line", frontLine, "--role", "worker"}, "--nats nats://HOST:PORT"},
		{[]string{"stream", "--line", frontLine, "--role", "worker", "--in", "http://127.0.0.1:0"}, "--nats nats://HOST:PORT"},
		{[]string{"stream", "--line", frontLine, "--role", "worker", "--nats", "nats://10.0.0.1:4222", "-o", "a.geojsonl"}, "--output is for an engine"},
		{[]string{"stream", "--line", frontLine, "--role", "worker", "--nats", "nats://10.0.0.1:4222", "--state", "d"}, "--state is for an engine"},
		{[]string{"stream", "--line", frontLine, "--role", "worker", "--nats", "nats://10.0.0.1:4222", "--metrics", "127.0.0.1:0"}, "--metrics-token FILE"},
	} {
		wantOneLineError(t, runIn(t, c.args...), c.want)
	}
}

// process is a linewatch stream process whose standard error is read as
// it comes.
type process struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr strings.Builder
	done   chan error
}

func startStream(t *testing.T, args ...string) *process {
	t.Helper()
	return startStreamWith(t, nil, args...)
}

// startStreamWith starts linewatch with the app flags global, then the
// stream command with args.
func startStreamWith(t *testing.T, global []string, args ...string) *process {
	t.Helper()
	argv := append(append(append([]string{}, global...), "stream"), args...)
	p := &process{cmd: exec.Command(binary, argv...), done: make(chan error, 1)}
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() { p.cmd.Process.Kill() })
	return p
}

func (p *process) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// await waits for a line of standard error matching re and returns its
// first group.
func (p *process) await(t *testing.T, re string) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := rx.FindStringSubmatch(p.log()); m != nil {
			return m[1]
		}
		select {
		case err := <-p.done:
			t.Fatalf("linewatch stream exited (%v):\n%s", err, p.log())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no %q on standard error:\n%s", re, p.log())
	return ""
}

// stop sends SIGTERM and wants exit status 0.
func (p *process) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.log())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit after SIGTERM:\n%s", p.log())
	}
}

// health is the answer of url's /healthz to the bearer token of the file
// tokenFile.
func health(t *testing.T, url, tokenFile string) map[string]any {
	t.Helper()
	var h map[string]any
	if err := json.Unmarshal(get(t, url+"/healthz", tokenFile), &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// get is the body of url's answer to the bearer token of the file
// tokenFile, failing the test unless the status is 200 or 503.
func get(t *testing.T, url, tokenFile string) []byte {
	t.Helper()
	tok, err := stream.LoadToken(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil || (res.StatusCode != http.StatusOK && res.StatusCode != http.StatusServiceUnavailable) {
		t.Fatalf("GET %s: %s %v %s", url, res.Status, err, body)
	}
	return body
}

// Records published to the embedded NATS server by another client come out
// as the alerts standard input gives; SIGTERM checkpoints and exits 0, and
// a restart resumes after the last record processed.
func TestStreamEmbeddedNATS(t *testing.T) {
	dir := t.TempDir()
	feed := streamFeed(t, 8_000)
	std := runBin(t, feed, "stream", "--line", frontLine, "--in", "-", "-o", filepath.Join(dir, "stdin.geojsonl"))
	if std.code != 0 {
		t.Fatal(std.stderr)
	}
	args := []string{"--line", frontLine, "--state", filepath.Join(dir, "state"), "--nats-listen", "127.0.0.1:0",
		"--metrics", "127.0.0.1:0", "-o", filepath.Join(dir, "alerts.geojsonl"), "--checkpoint-records", "1000"}
	recs := strings.SplitAfter(strings.TrimSpace(string(feed)), "\n")
	half := len(recs) / 2
	published := 0
	for round, part := range [][]string{recs[:half], recs[half:]} {
		p := startStream(t, args...)
		natsURL := p.await(t, `NATS JetStream server on (nats://[^\s"]+)`)
		metrics := "http://" + p.await(t, `metrics on http://(\S+)/metrics`)
		token := filepath.Join(dir, "state", stream.MetricsTokenFile)
		if round == 0 {
			// Closed by default: the token was generated into the state.
			for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
				res, err := http.Get(metrics + path)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusUnauthorized {
					t.Errorf("GET %s without the token: %s, want 401", path, res.Status)
				}
			}
			if fi, err := os.Stat(token); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("the generated token: %v %v", fi, err)
			}
		}
		if round == 1 {
			p.await(t, fmt.Sprintf(`consuming the JetStream stream.* (after=%d)\n`, published))
		}
		key, err := nats.NkeyOptionFromSeed(filepath.Join(dir, "state", "nats.nk"))
		if err != nil {
			t.Fatal(err)
		}
		nc, err := nats.Connect(natsURL, key)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range part {
			if err := nc.Publish("linewatch.sightings.test", []byte(r)); err != nil {
				t.Fatal(err)
			}
		}
		nc.Flush()
		nc.Close()
		published += len(part)
		deadline := time.Now().Add(60 * time.Second)
		for {
			h := health(t, metrics, token)
			if h["consumed_seq"] == float64(published) && h["lag"] == float64(0) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("not caught up: %v\n%s", h, p.log())
			}
			time.Sleep(50 * time.Millisecond)
		}
		p.stop(t)
		if !strings.Contains(p.log(), fmt.Sprintf("stopped after sequence %d", published)) {
			t.Fatalf("standard error:\n%s", p.log())
		}
	}
	got, _ := os.ReadFile(filepath.Join(dir, "alerts.geojsonl"))
	want, _ := os.ReadFile(filepath.Join(dir, "stdin.geojsonl"))
	// Standard input ends: its last alerts close what is still open.
	if len(got) == 0 || !bytes.HasPrefix(want, got) {
		t.Fatalf("the alerts via NATS are not those of standard input (%d and %d bytes)", len(got), len(want))
	}
	for _, l := range strings.Split(strings.TrimSpace(string(want[len(got):])), "\n") {
		if l != "" && !strings.HasSuffix(l, `"status":"closed"}}`) {
			t.Fatalf("standard input has more than the closing alerts: %.200s", l)
		}
	}

	// The same state with another policy is refused.
	pol := filepath.Join(dir, "policy.yaml")
	os.WriteFile(pol, []byte("hot_score: 6\n"), 0o644)
	r := runBin(t, nil, append([]string{"stream", "--policy", pol}, args...)...)
	if r.code != 2 || !strings.Contains(r.stderr, "another line, policy or stream") {
		t.Fatalf("another policy on the same state: %d %s", r.code, r.stderr)
	}
}

// scripts/crashtest: kill -9 at random moments, restart, and the alerts
// are those of an uninterrupted run; the log the engine kept through the
// kills verifies, its alerts exactly what it makes.
func TestStreamCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: real processes for about 20 s")
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("crash test needs curl")
	}
	cmd := exec.Command("bash", "../../scripts/crashtest", "30000", "5")
	cmd.Env = append(os.Environ(), "CRASHTEST_BIN="+binary)
	out, err := cmd.CombinedOutput()
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("crashtest: %v", err)
	}
}

// A worker process (--role worker) prepares the messages an engine
// process consumes: the alerts are standard input's, and the engine took
// the worker's messages; both stop on SIGTERM with status 0.
func TestStreamWorkerProcess(t *testing.T) {
	dir := t.TempDir()
	feed := streamFeed(t, 6_000)
	std := runBin(t, feed, "stream", "--line", frontLine, "--in", "-", "-o", filepath.Join(dir, "stdin.geojsonl"))
	if std.code != 0 {
		t.Fatal(std.stderr)
	}
	e := startStream(t, "--line", frontLine, "--state", filepath.Join(dir, "state"), "--nats-listen", "127.0.0.1:0",
		"--metrics", "127.0.0.1:0", "-o", filepath.Join(dir, "alerts.geojsonl"), "--worker-wait", "5s", "--worker-audit", "0.5")
	natsURL := e.await(t, `NATS JetStream server on (nats://[^\s"]+)`)
	metrics := "http://" + e.await(t, `metrics on http://(\S+)/metrics`)
	key, token := filepath.Join(dir, "state", "nats.nk"), filepath.Join(dir, "state", stream.MetricsTokenFile)
	w := startStream(t, "--role", "worker", "--line", frontLine, "--nats", natsURL, "--nats-nkey", key, "--metrics", "127.0.0.1:0", "--metrics-token", token)
	wmetrics := "http://" + w.await(t, `metrics on http://(\S+)/metrics`)
	w.await(t, `(preparing) the sightings stream's messages`)
	e.await(t, `(workers are pulling)`)
	if h := health(t, wmetrics, token); h["role"] != "worker" || h["status"] != "ok" {
		t.Fatalf("the worker's /healthz: %v", h)
	}
	opt, err := nats.NkeyOptionFromSeed(key)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(natsURL, opt)
	if err != nil {
		t.Fatal(err)
	}
	recs := strings.SplitAfter(strings.TrimSpace(string(feed)), "\n")
	msgs := 0
	for i := 0; i < len(recs); i += 300 {
		if err := nc.Publish("linewatch.sightings.test", []byte(strings.Join(recs[i:min(i+300, len(recs))], ""))); err != nil {
			t.Fatal(err)
		}
		msgs++
	}
	nc.Flush()
	nc.Close()
	waitFor := time.Now().Add(60 * time.Second)
	for {
		h := health(t, metrics, token)
		if h["consumed_seq"] == float64(msgs) {
			break
		}
		if time.Now().After(waitFor) {
			t.Fatalf("not caught up: %v\n%s", h, e.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	text := get(t, metrics+"/metrics", token)
	m := regexp.MustCompile(`linewatch_prepared_messages_total\{by="worker"\} (\d+)`).FindSubmatch(text)
	if m == nil || string(m[1]) == "0" {
		t.Fatalf("the engine took no message from the worker:\n%s\nworker:\n%s", text, w.log())
	}
	w.stop(t)
	e.stop(t)
	got, _ := os.ReadFile(filepath.Join(dir, "alerts.geojsonl"))
	want, _ := os.ReadFile(filepath.Join(dir, "stdin.geojsonl"))
	if len(got) == 0 || !bytes.HasPrefix(want, got) {
		t.Fatalf("the alerts with a worker are not those of standard input (%d and %d bytes)", len(got), len(want))
	}
	for _, l := range strings.Split(strings.TrimSpace(string(want[len(got):])), "\n") {
		if l != "" && !strings.HasSuffix(l, `"status":"closed"}}`) {
			t.Fatalf("standard input has more than the closing alerts: %.200s", l)
		}
	}
	if !strings.Contains(w.log(), "worker stopped") {
		t.Fatalf("the worker's log:\n%s", w.log())
	}
}
