package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/linewatch/linewatch/stream"
)

// listeningPorts is the TCP ports process pid listens on (Linux /proc).
func listeningPorts(t *testing.T, pid int) []int {
	t.Helper()
	inodes := map[string]bool{}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for _, fd := range fds {
		l, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			inodes[strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]")] = true
		}
	}
	var ports []int
	for _, name := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || fs[3] != "0A" || !inodes[fs[9]] { // 0A: LISTEN
				continue
			}
			_, hexPort, _ := strings.Cut(fs[1], ":")
			p, _ := strconv.ParseInt(hexPort, 16, 32)
			ports = append(ports, int(p))
		}
		f.Close()
	}
	return ports
}

// The HTTP ingest in front of the embedded server, as a new user starts
// it, opens the HTTP port and no other: the NATS server is reachable in
// the process only, so nothing can publish around the tokens.
func TestStreamHTTPOpensNoNATSPort(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	os.WriteFile(tokens, []byte("s3cret observer-1\n"), 0o600)
	p := startStream(t, "--line", frontLine, "--state", filepath.Join(dir, "state"), "--in", "http://127.0.0.1:0",
		"--tokens", tokens, "-o", filepath.Join(dir, "alerts.geojsonl"))
	addr := p.await(t, `HTTP ingest on http://(\S+)/v1/sightings`)
	ports := listeningPorts(t, p.cmd.Process.Pid)
	if len(ports) != 1 || !strings.HasSuffix(addr, ":"+strconv.Itoa(ports[0])) {
		t.Fatalf("listens on %v, want only the HTTP ingest %s\n%s", ports, addr, p.log())
	}
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/sightings", strings.NewReader(
		`{"type":"Feature","id":"a","geometry":{"type":"Point","coordinates":[37.5,47.9]},"properties":{"time":"2024-01-01T00:00:00Z","side":"RU"}}`+"\n"))
	req.Header.Set("Content-Type", "application/geo+json-seq")
	req.Header.Set("Authorization", "Bearer s3cret")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 202 {
		t.Fatalf("POST: %s", res.Status)
	}
	p.stop(t)
	if _, err := os.Stat(filepath.Join(dir, "state", "nats.nk")); !os.IsNotExist(err) {
		t.Fatalf("credentials written for a server that does not listen: %v", err)
	}
}

// --nats-listen opens the embedded server to other clients, and only to
// those holding the nkey generated into the state directory (mode 0600).
func TestStreamNATSListenerNeedsTheKey(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	p := startStream(t, "--line", frontLine, "--state", state, "--nats-listen", "127.0.0.1:0",
		"--metrics", "127.0.0.1:0", "-o", filepath.Join(dir, "alerts.geojsonl"))
	url := p.await(t, `NATS JetStream server on (nats://[^\s"]+)`)
	metrics := "http://" + p.await(t, `metrics on http://(\S+)/metrics`)
	key := filepath.Join(state, "nats.nk")
	if !strings.Contains(p.log(), key) {
		t.Fatalf("the log does not say where the key is:\n%s", p.log())
	}
	fi, err := os.Stat(key)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	if nc, err := nats.Connect(url, nats.MaxReconnects(0)); err == nil {
		nc.Close()
		t.Fatal("a client without credentials connected")
	} else if !strings.Contains(strings.ToLower(err.Error()), "authorization") {
		t.Fatalf("without credentials: %v, want an authorization error", err)
	}
	opt, err := nats.NkeyOptionFromSeed(key)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(url, opt)
	if err != nil {
		t.Fatalf("with the key: %v", err)
	}
	defer nc.Close()
	rec := `{"type":"Feature","id":"k1","geometry":{"type":"Point","coordinates":[37.5,47.9]},"properties":{"time":"2024-01-01T00:00:00Z","side":"RU"}}`
	if err := nc.Publish("linewatch.sightings.k", []byte(rec)); err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	deadline := time.Now().Add(30 * time.Second)
	token := filepath.Join(state, stream.MetricsTokenFile)
	for health(t, metrics, token)["records_read"] != float64(1) {
		if time.Now().After(deadline) {
			t.Fatalf("the record published with the key was not read: %v", health(t, metrics, token))
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.stop(t)
}

// With --log-format json every line the stream command writes on standard
// error is a JSON log record, in a pipe and as a service.
func TestStreamLogsJSON(t *testing.T) {
	dir := t.TempDir()
	feed := streamFeed(t, 2_000)
	r := runBin(t, feed, "--log-format", "json", "stream", "--line", frontLine, "--in", "-", "-o", filepath.Join(dir, "pipe.geojsonl"))
	if r.code != 0 {
		t.Fatalf("stream --in -: %d %s", r.code, r.stderr)
	}
	wantJSONLines(t, r.stderr, "records")

	cmd := []string{"--line", frontLine, "--state", filepath.Join(dir, "state"), "--in", "http://127.0.0.1:0", "-o", filepath.Join(dir, "alerts.geojsonl")}
	p := startStreamWith(t, []string{"--log-format", "json"}, cmd...)
	p.await(t, `"msg":"HTTP ingest on (http://\S+)"`)
	p.stop(t)
	wantJSONLines(t, p.log(), "stopped")

	// The error that ends a run, too.
	r = runBin(t, nil, "--log-format", "json", "stream", "--line", filepath.Join(dir, "absent.geojson"), "--in", "-")
	if r.code != 2 {
		t.Fatalf("a missing line: %d %s", r.code, r.stderr)
	}
	wantJSONLines(t, r.stderr, "absent.geojson")
	if n := strings.Count(strings.TrimSpace(r.stderr), "\n"); n != 0 {
		t.Fatalf("%d lines for one error:\n%s", n+1, r.stderr)
	}
}

func wantJSONLines(t *testing.T, stderr, mention string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec["msg"] == nil || rec["level"] == nil {
			t.Fatalf("not a JSON log record: %q\n%s", l, stderr)
		}
	}
	if !strings.Contains(stderr, mention) {
		t.Fatalf("standard error does not mention %q:\n%s", mention, stderr)
	}
}
