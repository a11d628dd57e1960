//go:build linux

package hostile

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// post sends body to the ingest with the token (none if "") and extra
// headers, and returns the status and the answer.
// ingestToken is the bearer token stream generated for its HTTP ingest
// in the state directory, given no tokens.
func ingestToken(t *testing.T, state string) string {
	t.Helper()
	return stateToken(t, state, "ingest.token")
}

// stateToken is the bearer token stream generated in its state directory
// as the file name, which only its owner may read.
func stateToken(t *testing.T, state, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(state, name))
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(state, name)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v, mode %v, want 0600", name, err, fi.Mode())
	}
	return strings.TrimSpace(string(b))
}

func post(t *testing.T, url, token string, body []byte, header ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", url+"/v1/sightings", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/geo+json-seq")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("POST: %v", err)
		return 0, ""
	}
	defer res.Body.Close()
	answer, _ := io.ReadAll(res.Body)
	if res.StatusCode == http.StatusAccepted {
		var a struct{ Accepted int }
		if json.Unmarshal(answer, &a) == nil {
			n, _ := acceptedBy.LoadOrStore(url, new(atomic.Int64))
			n.(*atomic.Int64).Add(int64(a.Accepted))
		}
	}
	return res.StatusCode, string(answer)
}

// acceptedBy counts, for each ingest URL, the records it answered it
// accepted (202).
var acceptedBy sync.Map // string → *atomic.Int64

func acceptedIn(t *testing.T, url string) int64 {
	t.Helper()
	if n, ok := acceptedBy.Load(url); ok {
		return n.(*atomic.Int64).Load()
	}
	return 0
}

// waitRead waits until the engine's /metrics count n records read.
func waitRead(t *testing.T, url, token string, n int64) {
	t.Helper()
	want := fmt.Sprintf("linewatch_records_total{outcome=\"read\"} %d\n", n)
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest("GET", url+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		var text []byte
		if res, err := http.DefaultClient.Do(req); err == nil {
			text, _ = io.ReadAll(res.Body)
			res.Body.Close()
		}
		if bytes.Contains(text, []byte(want)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the engine has not read the %d records the ingest accepted; /metrics:\n%s", n, text)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ingestCounts reads the ingest's answer.
func ingestCounts(t *testing.T, answer string) (accepted, rejected, duplicate int) {
	t.Helper()
	var a struct{ Accepted, Rejected, Duplicate int }
	if err := json.Unmarshal([]byte(answer), &a); err != nil {
		t.Fatalf("answer %.300q: %v", answer, err)
	}
	return a.Accepted, a.Rejected, a.Duplicate
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	io.WriteString(w, s)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The streaming service's doors, one service started as a deployment
// would start it: HTTP ingest with two observers' tokens, /metrics and
// /healthz behind their token, and the embedded NATS server listening
// for other clients. Nothing gets in without its credentials, one
// observer cannot suppress another's records, hostile bodies are
// answered without memory past the ingest's ceiling, and at the end every
// record is accounted for.
func TestStreamingService(t *testing.T) {
	t.Parallel()
	linewatch(t)
	dir := t.TempDir()
	line := write(t, dir, "line.geojson", []byte(straight))
	tokens := write(t, dir, "tokens", []byte("tokA observer-A\ntokB observer-B\n"))
	metricsToken := write(t, dir, "metrics.token", []byte("m3trics\n"))
	alerts, sum := filepath.Join(dir, "alerts.geojsonl"), filepath.Join(dir, "summary.json")
	// The ingest's ceiling (--max-inflight, 256 MiB) and the embedded
	// server's cache, over the service's own 60 MB or so.
	p := start(t, bounds{wall: 90 * time.Second, mb: 700}, nil, "stream", "--line", line, "--left", "A", "--right", "B",
		"--state", filepath.Join(dir, "state"), "--in", "http://127.0.0.1:0", "--tokens", tokens, "--metrics-token", metricsToken,
		"--nats-listen", "127.0.0.1:0", "-o", alerts, "--summary", sum)
	url := "http://" + p.await(t, `HTTP ingest on http://(\S+)/v1/sightings`)
	natsURL := p.await(t, `NATS JetStream server on (nats://[^\s"]+)`)

	t.Run("metrics need their token", func(t *testing.T) {
		for _, path := range []string{"/metrics", "/healthz"} {
			for _, c := range []struct {
				auth string
				want int
			}{{"", 401}, {"Bearer wrong", 401}, {"Bearer tokA", 401}, {"Bearer m3trics", 200}} {
				req, _ := http.NewRequest("GET", url+path, nil)
				if c.auth != "" {
					req.Header.Set("Authorization", c.auth)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != c.want {
					t.Errorf("GET %s with %q: %d, want %d", path, c.auth, res.StatusCode, c.want)
				}
			}
		}
	})

	t.Run("NATS refuses a client without the key", func(t *testing.T) {
		if nc, err := nats.Connect(natsURL, nats.Timeout(5*time.Second), nats.MaxReconnects(0)); err == nil {
			nc.Close()
			t.Errorf("an unauthenticated client connected to %s", natsURL)
		}
		key, err := nats.NkeyOptionFromSeed(filepath.Join(dir, "state", "nats.nk"))
		if err != nil {
			t.Fatalf("the key in --state: %v", err)
		}
		nc, err := nats.Connect(natsURL, key, nats.Timeout(5*time.Second), nats.MaxReconnects(0))
		if err != nil {
			t.Fatalf("a client with the key in --state: %v", err)
		}
		nc.Close()
	})

	t.Run("requests without a token are refused", func(t *testing.T) {
		body := []byte(feature("anon", 30.5, 48.03, day0, "B", "") + "\n")
		for _, tok := range []string{"", "m3trics", "tokC"} {
			if code, _ := post(t, url, tok, body); code != 401 {
				t.Errorf("POST with token %q: %d, want 401", tok, code)
			}
		}
	})

	t.Run("another source's ids suppress nothing", func(t *testing.T) {
		// A first posts harmless records under the ids B will use, and
		// one of them twice (a duplicate within A's request).
		var a, b strings.Builder
		for i := 1; i <= 3; i++ {
			id := fmt.Sprintf("obsB-%04d", i)
			fmt.Fprintln(&a, feature(id, 30.5, 47.97, day0.Add(time.Duration(i)*time.Hour), "B", ""))
			fmt.Fprintln(&b, feature(id, 30.5, 48.03, day0.Add(time.Duration(i)*time.Hour), "B", `"source":"spoofed"`))
		}
		fmt.Fprintln(&a, feature("obsB-0001", 30.5, 47.97, day0.Add(time.Hour), "B", ""))
		code, answer := post(t, url, "tokA", []byte(a.String()))
		if acc, _, dup := ingestCounts(t, answer); code != 202 || acc != 3 || dup != 1 {
			t.Fatalf("A's request: %d %s", code, answer)
		}
		code, answer = post(t, url, "tokB", []byte(b.String()))
		if acc, _, dup := ingestCounts(t, answer); code != 202 || acc != 3 || dup != 0 {
			t.Fatalf("B's request: %d %s", code, answer)
		}
		// B's incursions in one window make a hot cell: its alert names
		// them (and the summary, at the end, counts all three).
		deadline := time.Now().Add(30 * time.Second)
		for {
			data, _ := os.ReadFile(alerts)
			if strings.Contains(string(data), `"party":"B"`) && strings.Contains(string(data), `"evidence":["obsB-0001","obsB-0002"`) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no alert with B's three incursions as evidence; alerts:\n%.2000s", data)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("a gzip body without Content-Encoding", func(t *testing.T) {
		var s strings.Builder
		for i := 0; i < 20; i++ {
			fmt.Fprintln(&s, feature(fmt.Sprint("gz", i), 30.2, 47.97, day0.Add(time.Duration(i)*time.Minute), "B", ""))
		}
		code, answer := post(t, url, "tokA", gzipped(t, s.String()))
		if acc, rej, _ := ingestCounts(t, answer); code != 202 || acc != 20 || rej != 0 {
			t.Errorf("gzip without Content-Encoding: %d %.300s", code, answer)
		}
	})

	t.Run("all rejected is not accepted", func(t *testing.T) {
		code, answer := post(t, url, "tokA", []byte("not json\n{\"type\":\"Feature\"}\n"))
		if acc, rej, _ := ingestCounts(t, answer); code != 422 || acc != 0 || rej != 2 {
			t.Errorf("a request of bad records: %d %.300s", code, answer)
		}
	})

	t.Run("leading blanks, one and 24 at once", func(t *testing.T) {
		// 120 MiB of newlines, then a record: 120 KB of gzip, within the
		// 8 times 16 MiB an inflated body may reach. Before the sniff was
		// bounded, 130 KB cost 700 MB, and 24 such requests 7.25 GB.
		body := func(id string) []byte {
			return blankGzip(t, 120, feature(id, 30.3, 47.97, day0.Add(5*time.Hour), "B", "")+"\n")
		}
		code, answer := post(t, url, "tokA", body("blank-0"), "Content-Encoding", "gzip")
		if acc, _, _ := ingestCounts(t, answer); code != 202 || acc != 1 {
			t.Fatalf("one request of leading blanks: %d %.300s", code, answer)
		}
		// Plain, under --max-body: 15 MiB of spaces and newlines.
		plain := append(bytes.Repeat([]byte(" \n"), 15<<19), feature("blank-plain", 30.3, 47.97, day0.Add(5*time.Hour), "B", "")+"\n"...)
		code, answer = post(t, url, "tokA", plain)
		if acc, _, _ := ingestCounts(t, answer); code != 202 || acc != 1 {
			t.Fatalf("15 MiB of blanks: %d %.300s", code, answer)
		}
		var wg sync.WaitGroup
		codes := make([]int, 24)
		for i := range codes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes[i], _ = post(t, url, "tokA", body(fmt.Sprint("blank-", i+1)), "Content-Encoding", "gzip")
			}()
		}
		wg.Wait()
		accepted := 0
		for _, c := range codes {
			switch c {
			case 202:
				accepted++
			case 503: // over the in-flight ceiling: "retry"
			default:
				t.Errorf("answers %v: only 202 or 503 expected", codes)
			}
		}
		if accepted == 0 {
			t.Errorf("answers %v: none accepted", codes)
		}
		t.Logf("24 concurrent requests of leading blanks: %v", codes)
	})

	// A record the ingest answered for is stored in JetStream; the engine
	// reads it a moment later, and one still unread at SIGTERM stays in the
	// stream for the next start. So wait until the engine has read them all
	// before stopping it, and compare its summary with the ingest's answers.
	waitRead(t, url, "m3trics", acceptedIn(t, url))
	r := p.stop(t)
	ok(t, r)
	t.Logf("the service: peak resident memory %.0f MB over %.1f s", r.peakMB, r.wall.Seconds())
	// What the ingest answered it accepted (202) is what the engine read:
	// the ingest answers for what it rejects or finds twice in a request.
	k := summary(t, sum)
	if int64(k.Read) != acceptedIn(t, url) || k.Accepted != k.Read {
		t.Errorf("the engine's counts %+v, the ingest accepted %d", k, acceptedIn(t, url))
	}
	var s struct{ Violations struct{ Incursion int } }
	data, _ := os.ReadFile(sum)
	if json.Unmarshal(data, &s); s.Violations.Incursion != 3 {
		t.Errorf("%d incursions, want B's 3: %s", s.Violations.Incursion, data)
	}
}

// Standard input may be gzipped, as a file may: stream --in - reads it.
func TestStreamGzippedStandardInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	line := write(t, dir, "line.geojson", []byte(straight))
	sum := filepath.Join(dir, "summary.json")
	in := gzipped(t, incursions(30, time.Hour)+"{broken\n")
	ok(t, run(t, bounds{wall: 20 * time.Second, mb: 200}, bytes.NewReader(in), "stream", "--line", line, "--left", "A", "--right", "B",
		"--in", "-", "--summary", sum, "-o", filepath.Join(dir, "alerts.geojsonl")))
	if k := summary(t, sum); k.Read != 31 || k.Accepted != 30 || k.Rejected != 1 {
		t.Errorf("%+v, want 31 read, 30 accepted, 1 rejected", k)
	}
}

// A gzip file cut short is an error that says so once, on one line,
// whichever command reads it: detect and locate refuse the file (exit 2);
// stream, which has already judged and alerted on what came before the
// cut, ends as a failed run (exit 1).
func TestTruncatedGzip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	line := write(t, dir, "line.geojson", []byte(straight))
	gz := gzipped(t, incursions(3000, time.Minute))
	cut := gz[:len(gz)/2]
	in := write(t, dir, "cut.ndjson.gz", cut)
	lw := []string{"--line", line, "--left", "A", "--right", "B"}
	b := bounds{wall: 20 * time.Second, mb: 200}
	for _, c := range []struct {
		args  []string
		stdin []byte
		code  int
	}{
		{append(append([]string{"detect"}, lw...), "-o", filepath.Join(dir, "alerts"), in), nil, 2},
		{append(append([]string{"detect"}, lw...), "-o", filepath.Join(dir, "alerts"), "-"), cut, 2},
		{append(append([]string{"locate"}, lw...), "-o", filepath.Join(dir, "located"), in), nil, 2},
		{append(append([]string{"stream"}, lw...), "--in", "-", "-o", filepath.Join(dir, "stream")), cut, 1},
	} {
		r := run(t, b, bytes.NewReader(c.stdin), c.args...)
		oneLineError(t, r, c.code, "unexpected EOF")
		if n := strings.Count(r.stderr, "read "); n != 1 {
			t.Errorf("%s: %q says \"read\" %d times", c.args[0], r.stderr, n)
		}
	}
}

// While the state's disk is full, the service acknowledges nothing it
// has not stored: POST is answered 503 at once with the reason, and
// /healthz says so (503); once space is back it takes records again by
// itself, without a restart, and every record it acknowledged is read.
// It once answered 503 after 30 s to every request until restarted,
// with /healthz "ok" and nothing logged. The state lies on a 64 MB tmpfs:
// the case needs root and mount, and is skipped without them.
func TestStreamingServiceDiskFull(t *testing.T) {
	t.Parallel()
	linewatch(t)
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(state, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", state).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", state).Run() }) // after the process has stopped (its cleanup runs first)
	line := write(t, dir, "line.geojson", []byte(straight))
	sum := filepath.Join(dir, "summary.json")
	p := start(t, bounds{wall: 90 * time.Second, mb: 500}, nil, "stream", "--line", line, "--left", "A", "--right", "B",
		"--state", state, "--in", "http://127.0.0.1:0", "-o", filepath.Join(dir, "alerts.geojsonl"), "--summary", sum)
	url := "http://" + p.await(t, `HTTP ingest on http://(\S+)/v1/sightings`)
	metricsToken := stateToken(t, state, "metrics.token")
	health := func() int {
		req, _ := http.NewRequest(http.MethodGet, url+"/healthz", nil)
		req.Header.Set("Authorization", "Bearer "+metricsToken)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	n := 0
	send := func() (int, string) {
		n++
		return post(t, url, ingestToken(t, state), []byte(feature(fmt.Sprint("d", n), 30.5, 47.97, day0.Add(time.Duration(n)*time.Minute), "B", "")+"\n"))
	}
	if code, answer := send(); code != 202 || health() != 200 {
		t.Fatalf("before the disk fills: %d %s, /healthz %d", code, answer, health())
	}
	filler := filepath.Join(state, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	for chunk := bytes.Repeat([]byte{1}, 1<<20); ; {
		if _, err := f.Write(chunk); err != nil {
			break
		}
	}
	f.Close()
	var full, reason string
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, answer := send()
		if code == 503 && health() == 503 {
			full, reason = fmt.Sprint(code), answer
			break
		}
		if code != 202 && code != 503 {
			t.Fatalf("with the disk full: %d %s\nstderr: %.2000s", code, answer, p.stderrText())
		}
		if time.Now().After(deadline) {
			t.Fatalf("the disk is full and requests are still answered %d (%s), /healthz %d", code, answer, health())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("with the disk full: %s %s", full, reason)
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		code, answer := send()
		if code == 202 && health() == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("space is back and requests are still answered %d (%s), /healthz %d", code, answer, health())
		}
		time.Sleep(200 * time.Millisecond)
	}
	waitRead(t, url, metricsToken, acceptedIn(t, url))
	r := p.stop(t)
	ok(t, r)
	if !strings.Contains(r.stderr, "level=WARN") && !strings.Contains(r.stderr, "level=ERROR") {
		t.Errorf("nothing logged about the full disk:\n%s", r.stderr)
	}
	if k := summary(t, sum); int64(k.Read) != acceptedIn(t, url) {
		t.Errorf("read %d, the ingest accepted %d", k.Read, acceptedIn(t, url))
	}
}

// A client holding the NATS key that deletes the engine's consumer, or
// the stream itself, stops the engine loudly: it exits with status 1 and
// says why, instead of consuming nothing while POST still answers 202
// and /healthz "ok".
func TestStreamingServiceTampering(t *testing.T) {
	t.Parallel()
	linewatch(t)
	for _, tamper := range []string{"delete the consumer", "delete the stream"} {
		t.Run(tamper, func(t *testing.T) {
			dir := t.TempDir()
			line := write(t, dir, "line.geojson", []byte(straight))
			p := start(t, bounds{wall: 60 * time.Second, mb: 400}, nil, "stream", "--line", line, "--left", "A", "--right", "B",
				"--state", filepath.Join(dir, "state"), "--in", "http://127.0.0.1:0", "--nats-listen", "127.0.0.1:0",
				"-o", filepath.Join(dir, "alerts.geojsonl"))
			url := "http://" + p.await(t, `HTTP ingest on http://(\S+)/v1/sightings`)
			natsURL := p.await(t, `NATS JetStream server on (nats://[^\s"]+)`)
			p.await(t, `(consuming the JetStream stream)`)
			// Closed by default: no token, no record.
			if code, answer := post(t, url, "", []byte(feature("a", 30.5, 47.97, day0, "B", "")+"\n")); code != 401 {
				t.Fatalf("POST without a token: %d %s", code, answer)
			}
			if code, answer := post(t, url, ingestToken(t, filepath.Join(dir, "state")), []byte(feature("a", 30.5, 47.97, day0, "B", "")+"\n")); code != 202 {
				t.Fatalf("POST: %d %s", code, answer)
			}
			key, err := nats.NkeyOptionFromSeed(filepath.Join(dir, "state", "nats.nk"))
			if err != nil {
				t.Fatal(err)
			}
			nc, err := nats.Connect(natsURL, key, nats.Timeout(5*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			js, err := jetstream.New(nc)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if tamper == "delete the consumer" {
				err = js.DeleteConsumer(ctx, "LINEWATCH_SIGHTINGS", "linewatch")
			} else {
				err = js.DeleteStream(ctx, "LINEWATCH_SIGHTINGS")
			}
			if err != nil {
				t.Fatalf("%s: %v", tamper, err)
			}
			select {
			case <-p.done:
			case <-time.After(30 * time.Second):
				t.Fatalf("after they %s, the engine still runs:\n%s", tamper, p.stderrText())
			}
			r := p.wait(t)
			noCrash(t, r)
			last := r.stderr[strings.LastIndex(strings.TrimSuffix(r.stderr, "\n"), "\n")+1:]
			want := map[string]string{"delete the consumer": "consumer linewatch", "delete the stream": "LINEWATCH_SIGHTINGS"}[tamper]
			if r.code != 1 || !strings.HasPrefix(last, "linewatch: ") || !strings.Contains(last, want) {
				t.Errorf("exit %d, last line %q; want 1 and a line that names %s", r.code, last, want)
			}
		})
	}
}

// With --log-format json, everything stream writes on standard error is
// a JSON log record, the error that ends a run too.
func TestStreamLogsJSON(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	line := write(t, dir, "line.geojson", []byte(straight))
	b := bounds{wall: 20 * time.Second, mb: 200}
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"--log-format", "json", "stream", "--line", line, "--left", "A", "--right", "B", "--in", "-", "-o", os.DevNull}, 0},
		{[]string{"--log-format", "json", "stream", "--line", filepath.Join(dir, "missing.geojson"), "--in", "-"}, 2},
		{[]string{"--log-format", "json", "stream", "--line", line, "--left", "A", "--right", "B", "--in", "-", "--policy", write(t, dir, "p.yaml", []byte("window: -1h\n"))}, 2},
	} {
		r := run(t, b, reader(incursions(20, time.Hour)+"{bad\n"), c.args...)
		noCrash(t, r)
		if r.code != c.code {
			t.Errorf("%s: exit %d, want %d", shortArgs(c.args), r.code, c.code)
		}
		for _, l := range strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n") {
			var rec struct{ Level, Msg string }
			if err := json.Unmarshal([]byte(l), &rec); err != nil || rec.Level == "" || rec.Msg == "" {
				t.Errorf("%s: a line of standard error is no JSON log record: %q", shortArgs(c.args), l)
			}
		}
	}
}
