// Command chaos is the chaos test of linewatch on a NATS cluster, run by
// scripts/cluster: three nats-server processes clustered on 127.0.0.1,
// two `linewatch stream` engines (one active, one standby) with their
// state in JetStream, two workers (`linewatch stream --role worker`) that
// prepare the records for them, and a feed posted over HTTP while it
// kills -9 the server leading the sightings stream, then the active
// engine, then a worker, then restarts all three. It checks that
//
//   - every record JetStream stored was processed exactly once (the
//     engine's count of records read equals the records in the stream,
//     which holds each batch once);
//   - the alert stream holds, byte for byte and in order, the alerts of an
//     uninterrupted run (`stream --in -` on the same feed) and the late
//     rejects likewise;
//   - every closed alert is an episode `detect` finds in the same records;
//   - the engines kept the tamper-evident log in JetStream through the
//     kills (--log-key): it holds every record stored, once, and
//     `linewatch verify --complete` holds on a copy of it and the alerts
//     (whose "log" members name the trees the log had; the uninterrupted
//     run's are compared without them, as its log's instants differ);
//   - the engine took messages the workers prepared;
//
// and reports the failover time, the records/s processed before, during
// and after the chaos, and the share of the messages workers prepared.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

var (
	linewatch  = flag.String("linewatch", "", "linewatch `BINARY`")
	natsServer = flag.String("nats-server", "", "nats-server `BINARY`")
	records    = flag.Int("records", 60000, "records in the feed")
	rate       = flag.Int("rate", 3000, "records posted per second")
	seed       = flag.Int64("seed", 1, "the feed's seed")
	work       = flag.String("work", "", "work `DIR` (default: a temporary one, removed unless the test fails)")
	ttl        = flag.Duration("lease-ttl", 5*time.Second, "the engines' --lease-ttl")
	line       = flag.String("line", "fixtures/lines/front-2024.geojson", "the line")
	noWorkers  = flag.Bool("no-workers", false, "run the engines alone, without workers (for comparison)")
)

func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "cluster: "+format+"\n", args...)
}

func fatal(format string, args ...any) {
	say("FAIL: "+format, args...)
	cleanup()
	os.Exit(1)
}

var (
	procsMu sync.Mutex
	procs   []*exec.Cmd
	keep    bool
)

func cleanup() {
	procsMu.Lock()
	defer procsMu.Unlock()
	for _, p := range procs {
		if !exitedLocked(p) {
			p.Process.Kill()
		}
	}
	if !keep {
		os.RemoveAll(*work)
	} else {
		say("work directory kept: %s", *work)
	}
}

// usedPorts are the ports freePort gave: once closed, a port may be
// handed out again, and two servers of the cluster would want it.
var usedPorts = map[int]bool{}

func freePort() int {
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fatal("%v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !usedPorts[port] {
			usedPorts[port] = true
			return port
		}
	}
}

func run(name string, args ...string) {
	cmd := exec.Command(name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	defer func() { stderr.WriteTo(io.Discard) }()
	if err := cmd.Run(); err != nil {
		fatal("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
}

// start starts a process logging to file, and keeps it for cleanup.
func start(logFile string, name string, args ...string) *exec.Cmd {
	f, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fatal("%v", err)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		fatal("%s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); f.Close(); close(done) }()
	procsMu.Lock()
	procs = append(procs, cmd)
	waited[cmd] = done
	procsMu.Unlock()
	return cmd
}

// waited closes a process's channel once it has exited and been waited
// for (its ProcessState is then set).
var waited = map[*exec.Cmd]chan struct{}{}

func exitedLocked(cmd *exec.Cmd) bool {
	select {
	case <-waited[cmd]:
		return true
	default:
		return false
	}
}

// exited tells whether cmd has exited.
func exited(cmd *exec.Cmd) bool {
	procsMu.Lock()
	done := waited[cmd]
	procsMu.Unlock()
	select {
	case <-done:
		return true
	default:
		return false
	}
}

func kill9(cmd *exec.Cmd) {
	cmd.Process.Signal(syscall.SIGKILL)
	for !exited(cmd) {
		time.Sleep(10 * time.Millisecond)
	}
}

// server is one nats-server of the cluster.
type server struct {
	name       string
	port, http int
	conf, log  string
	cmd        *exec.Cmd
}

func (s *server) start() {
	s.cmd = start(s.log, *natsServer, "-c", s.conf)
	waitFor("nats-server "+s.name, 20*time.Second, func() bool {
		if exited(s.cmd) {
			fatal("nats-server %s exited; its log: %s", s.name, tail(s.log))
		}
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

func waitFor(what string, d time.Duration, cond func() bool) {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			fatal("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// engine is one linewatch stream process.
type engine struct {
	name string
	port int
	log  string
	cmd  *exec.Cmd
	args []string
}

type health struct {
	Status   string  `json:"status"`
	Read     int64   `json:"records_read"`
	LogSize  *uint64 `json:"log_size"`
	Role     string  `json:"role"`
	Lag      *uint64 `json:"lag"`
	Consumed *uint64 `json:"consumed_seq"`
}

func (e *engine) start() {
	e.cmd = start(e.log, *linewatch, e.args...)
	waitFor("engine "+e.name+" to answer", 30*time.Second, func() bool {
		if exited(e.cmd) {
			fatal("%s exited before it answered; its log: %s", e.name, tail(e.log))
		}
		_, ok := e.health()
		return ok
	})
}

func (e *engine) health() (health, bool) {
	var h health
	c := http.Client{Timeout: time.Second}
	res, err := c.Do(metricsRequest(fmt.Sprintf("http://127.0.0.1:%d/healthz", e.port)))
	if err != nil {
		return h, false
	}
	defer res.Body.Close()
	return h, json.NewDecoder(res.Body).Decode(&h) == nil
}

func (e *engine) role() string {
	h, _ := e.health()
	return h.Role
}

func main() {
	flag.Parse()
	if *linewatch == "" || *natsServer == "" {
		flag.Usage()
		os.Exit(2)
	}
	if *work == "" {
		var err error
		if *work, err = os.MkdirTemp("", "linewatch-cluster."); err != nil {
			fatal("%v", err)
		}
	} else {
		keep = true
	}
	begin := time.Now()

	// The feed, and what an uninterrupted run and detect make of it.
	feed := filepath.Join(*work, "feed.ndjson")
	run(*linewatch, "gen", "--line", *line, "--seed", fmt.Sprint(*seed), "--start", "2024-01-01", "--days", "45",
		"--records", fmt.Sprint(*records), "--tracked", "0.2", "--bad", "0.01", "--duplicates", "0.01",
		"--offensive", "RU:S040-S042:2024-01-05:6d", "--bombardment", "UA:S012-S013:2024-01-20:4d",
		"--raid", "RU:S070:2024-02-01", "--quiet", "-o", feed+".gen")
	holdBack(feed+".gen", feed)
	ref := refRun(feed)
	logKey := filepath.Join(*work, "log.key")
	logPub := output(*linewatch, "key", "generate", "-o", logKey, "cluster.example/log")
	// One ingest token for both engines, as a group's operator gives it.
	tokenFile := filepath.Join(*work, "ingest.token")
	if err := os.WriteFile(tokenFile, []byte(ingestToken+"\n"), 0o600); err != nil {
		fatal("%v", err)
	}
	metricsFile := filepath.Join(*work, "metrics.token")
	if err := os.WriteFile(metricsFile, []byte(metricsToken+"\n"), 0o600); err != nil {
		fatal("%v", err)
	}

	// The cluster.
	servers := make([]*server, 3)
	var routes []string
	cports := make([]int, 3)
	for i := range servers {
		cports[i] = freePort()
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", cports[i]))
	}
	var urls []string
	for i := range servers {
		s := &server{name: fmt.Sprintf("n%d", i+1), port: freePort(), http: freePort()}
		s.conf = filepath.Join(*work, s.name+".conf")
		s.log = filepath.Join(*work, s.name+".log")
		conf := fmt.Sprintf(`server_name: %s
listen: 127.0.0.1:%d
http: 127.0.0.1:%d
jetstream { store_dir: %q, max_memory_store: 256MB, max_file_store: 8GB }
cluster { name: linewatch, listen: 127.0.0.1:%d, routes: [%s] }
`, s.name, s.port, s.http, filepath.Join(*work, s.name), cports[i], strings.Join(routes, ", "))
		if err := os.WriteFile(s.conf, []byte(conf), 0o644); err != nil {
			fatal("%v", err)
		}
		servers[i] = s
		urls = append(urls, fmt.Sprintf("nats://127.0.0.1:%d", s.port))
	}
	for _, s := range servers {
		s.start()
	}
	nc, err := nats.Connect(strings.Join(urls, ","), nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		fatal("connecting to the cluster: %v", err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	waitFor("JetStream on the cluster", 30*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := js.AccountInfo(ctx)
		return err == nil
	})
	say("3 nats-servers clustered: %s", strings.Join(urls, ","))

	// Two engines.
	mk := func(name string) *engine {
		e := &engine{name: name, port: freePort(), log: filepath.Join(*work, name+".log")}
		e.args = []string{"stream", "--line", *line, "--in", fmt.Sprintf("http://127.0.0.1:%d", e.port),
			"--nats", strings.Join(urls, ","), "--replicas", "3", "-o", "nats://linewatch.alerts",
			"--rejects", "nats://linewatch.rejects", "--lease-ttl", ttl.String(), "--checkpoint-records", "5000",
			"--log-key", logKey, "--ingest-token", tokenFile, "--metrics-token", metricsFile}
		if !*noWorkers {
			e.args = append(e.args, "--worker-wait", "1s")
		}
		return e
	}
	// Two workers.
	mkWorker := func(name string) *engine {
		w := &engine{name: name, port: freePort(), log: filepath.Join(*work, name+".log")}
		w.args = []string{"stream", "--role", "worker", "--line", *line, "--nats", strings.Join(urls, ","), "--replicas", "3",
			"--metrics", fmt.Sprintf("127.0.0.1:%d", w.port), "--metrics-token", metricsFile}
		return w
	}
	w1, w2 := mkWorker("worker-1"), mkWorker("worker-2")
	workers := []*engine{w1, w2}
	if *noWorkers {
		workers = nil
	}
	for _, w := range workers {
		w.start()
	}
	if workers != nil {
		say("worker-1 and worker-2 prepare for the engines")
	}
	a, b := mk("engine-a"), mk("engine-b")
	a.start()
	waitFor("engine-a to be active", 30*time.Second, func() bool { return a.role() == "active" })
	b.start()
	waitFor("engine-b to stand by", 30*time.Second, func() bool { return b.role() == "standby" })
	say("engine-a active, engine-b standby")

	// The monitor: records read by the active engine, over time.
	type sample struct {
		t    time.Duration
		read int64
	}
	var (
		monMu   sync.Mutex
		samples []sample
	)
	t0 := time.Now()
	stopMon := make(chan struct{})
	both := []*engine{a, b}
	go func() {
		var best int64 // the records read, as last seen (none is active during a failover)
		for {
			for _, e := range both {
				if h, ok := e.health(); ok && h.Role == "active" {
					best = max(best, h.Read)
				}
			}
			monMu.Lock()
			samples = append(samples, sample{time.Since(t0), best})
			monMu.Unlock()
			select {
			case <-stopMon:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()

	// The load, in order, into an engine's ingest (the other's while one
	// is down).
	posted := make(chan int, 1024)
	loadDone := make(chan error, 1)
	go func() { loadDone <- load(feed, []int{b.port, a.port}, posted) }()
	total := countLines(feed)
	var marks []time.Duration
	mark := func(what string) {
		marks = append(marks, time.Since(t0))
		say("%6.2f s  %s", time.Since(t0).Seconds(), what)
	}
	waitPosted := func(frac float64) {
		for n := range posted {
			if float64(n) >= frac*float64(total) {
				return
			}
		}
	}

	waitPosted(0.2)
	leader := leaderOf(js, "LINEWATCH_SIGHTINGS", servers)
	mark("kill -9 " + leader.name + ", the leader of the sightings stream")
	kill9(leader.cmd)
	waitPosted(0.4)
	// The active engine, whichever it is: losing the leader of the
	// sightings stream may have cost engine-a its lease, and engine-b may
	// have taken over.
	waitFor("one engine active, the other standing by", 60*time.Second, func() bool {
		ra, rb := a.role(), b.role()
		if ra == "standby" && rb == "active" {
			a, b = b, a
			return true
		}
		return ra == "active" && rb == "standby"
	})
	mark("kill -9 " + a.name + ", the active engine")
	killed := time.Now()
	kill9(a.cmd)
	waitFor(b.name+" to take over", 60*time.Second, func() bool { return b.role() == "active" })
	failover := time.Since(killed)
	mark(fmt.Sprintf("%s active: failover in %.2f s", b.name, failover.Seconds()))
	waitPosted(0.55)
	mark("kill -9 worker-1")
	if workers != nil {
		kill9(w1.cmd)
	}
	waitPosted(0.7)
	mark("restart " + leader.name)
	leader.start()
	// At once, and connected to that server alone: its JetStream has not
	// caught up with the cluster yet, and the engine must wait for it
	// rather than exit.
	mark("restart " + a.name + ", on " + leader.name + " alone")
	a.args = slices.Clone(a.args)
	a.args[slices.Index(a.args, "--nats")+1] = fmt.Sprintf("nats://127.0.0.1:%d", leader.port)
	a.start()
	waitFor(a.name+" to stand by", 30*time.Second, func() bool { return a.role() == "standby" })
	mark(a.name + " standby")
	mark("restart worker-1")
	if workers != nil {
		w1.start()
	}
	for range posted {
	}
	if err := <-loadDone; err != nil {
		fatal("posting the feed: %v", err)
	}
	mark("feed posted")
	stored := streamRecords(js, "LINEWATCH_SIGHTINGS")
	waitFor(b.name+" to process every record", 120*time.Second, func() bool {
		h, ok := b.health()
		return ok && h.Read >= int64(stored.records)
	})
	mark("every record processed")
	close(stopMon)
	h, _ := b.health()
	waitFor("the log's checkpoint to cover every record", 30*time.Second, func() bool {
		h, ok := b.health()
		return ok && h.LogSize != nil && *h.LogSize == uint64(stored.records)
	})
	logCopy := filepath.Join(*work, "log")
	run(*linewatch, "log", "export", "--from", fmt.Sprintf("http://127.0.0.1:%d/v1", b.port), "-o", logCopy)

	// Stop: SIGTERM, exit 0; the standby too.
	byWorker, byEngine := metric(b.port, `linewatch_prepared_messages_total{by="worker"}`), metric(b.port, `linewatch_prepared_messages_total{by="engine"}`)
	for _, e := range append([]*engine{b, a}, workers...) {
		e.cmd.Process.Signal(syscall.SIGTERM)
		waitFor(e.name+" to exit", 60*time.Second, func() bool { return exited(e.cmd) })
		if !e.cmd.ProcessState.Success() {
			fatal("%s exited with %v on SIGTERM; its log: %s", e.name, e.cmd.ProcessState, tail(e.log))
		}
	}

	// The checks.
	if stored.dups > 0 {
		fatal("the sightings stream holds %d batches twice", stored.dups)
	}
	if h.Read != int64(stored.records) {
		fatal("the engines read %d records, the stream holds %d: not exactly once", h.Read, stored.records)
	}
	logged := subjectMessages(js, "LINEWATCH_ALERTS")
	alertFile := filepath.Join(*work, "alerts.geojsonl")
	os.WriteFile(alertFile, logged, 0o644)
	cmd := exec.Command(*linewatch, "verify", "--log", logCopy, "--key", logPub, "--line", *line, "--complete", alertFile)
	if out, err := cmd.CombinedOutput(); err != nil {
		fatal("verify on the log the engines kept: %v\n%s", err, out)
	}
	alerts := withoutLog(logged)
	if !bytes.Contains(logged, []byte(`,"log":{"origin":"cluster.example/log"`)) {
		fatal("the alerts name no tree of the log")
	}
	if len(alerts) < 10 || !bytes.HasPrefix(ref.alerts, alerts) {
		fatal("the alert stream (%d bytes) is not the start of the uninterrupted run's alerts (%d bytes)", len(alerts), len(ref.alerts))
	}
	rest := ref.alerts[len(alerts):]
	for _, l := range lines(rest) {
		// Only what the end of standard input closes may be missing.
		if !strings.HasSuffix(l, `"status":"closed"}}`) && !strings.HasSuffix(l, `"status":"updated"}}`) && !strings.HasSuffix(l, `"status":"escalated"}}`) {
			fatal("the uninterrupted run has an alert the cluster lacks: %.200s", l)
		}
	}
	closed := 0
	for _, l := range lines(alerts) {
		if e, ok := strings.CutSuffix(l, `,"status":"closed"}}`); ok {
			closed++
			if !slices.Contains(ref.detect, e+"}}") {
				fatal("closed alert not among detect's episodes: %.300s", l)
			}
		}
	}
	if closed == 0 {
		fatal("no closed alert to compare with detect")
	}
	if byWorker == 0 && workers != nil {
		fatal("%s took no message from the workers (%.0f prepared itself)", b.name, byEngine)
	}
	rejects := lateRejects(subjectMessages(js, "LINEWATCH_REJECTS"))
	if !slices.Equal(rejects, ref.late) {
		i := 0
		for i < min(len(rejects), len(ref.late)) && rejects[i] == ref.late[i] {
			i++
		}
		cl, rf := "(none)", "(none)"
		if i < len(rejects) {
			cl = rejects[i]
		}
		if i < len(ref.late) {
			rf = ref.late[i]
		}
		os.WriteFile(filepath.Join(*work, "cluster-rejects.ndjson"), subjectMessages(js, "LINEWATCH_REJECTS"), 0o644)
		fatal("late rejects: %d in the cluster, %d in the uninterrupted run; the first difference, at %d:\n  cluster: %.300s\n  uninterrupted: %.300s",
			len(rejects), len(ref.late), i, cl, rf)
	}
	say("ok: %d records processed once each; %d alerts (%d closed, each one of detect's episodes) and %d late rejects, byte for byte those of an uninterrupted run",
		h.Read, len(lines(alerts)), closed, len(rejects))
	say("ok: the log holds the %d records, and verify holds on it and the alerts", stored.records)

	// The figures.
	monMu.Lock()
	rateIn := func(from, to time.Duration) float64 {
		var r0, r1 int64
		var t0, t1 time.Duration
		for _, s := range samples {
			if s.t <= from {
				r0, t0 = s.read, s.t
			}
			if s.t <= to {
				r1, t1 = s.read, s.t
			}
		}
		if t1 <= t0 {
			return 0
		}
		return float64(r1-r0) / (t1 - t0).Seconds()
	}
	say("records/s processed: before %.0f, during the chaos %.0f, after %.0f (feed posted at %d/s)",
		rateIn(0, marks[0]), rateIn(marks[0], marks[7]), rateIn(marks[7], marks[9]), *rate)
	say("messages %s took from the workers: %.0f; prepared itself: %.0f (the engine prepares what no worker did within --worker-wait 1s)", b.name, byWorker, byEngine)
	say("failover (kill -9 of the active engine to the standby active): %.2f s, lease TTL %s", failover.Seconds(), *ttl)
	if keep {
		var b strings.Builder
		for _, s := range samples {
			fmt.Fprintf(&b, "%.2f\t%d\n", s.t.Seconds(), s.read)
		}
		os.WriteFile(filepath.Join(*work, "records-read.tsv"), []byte(b.String()), 0o644)
	}
	say("passed in %.1f s", time.Since(begin).Seconds())
	monMu.Unlock()
	cleanup()
}

// output runs a command and returns its standard output, trimmed.
func output(name string, args ...string) string {
	cmd := exec.Command(name, args...)
	cmd.Stderr = io.Discard
	out, err := cmd.Output()
	if err != nil {
		fatal("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// withoutLog is alerts without their "log" members.
func withoutLog(alerts []byte) []byte {
	var b []byte
	for _, l := range lines(alerts) {
		if i := strings.LastIndex(l, `,"log":{`); i >= 0 {
			l = l[:i] + "}}"
		}
		b = append(append(b, l...), '\n')
	}
	return b
}

// holdBack holds every 97th record back by 2,000 records: late records.
func holdBack(in, out string) {
	ls := readLines(in)
	held := map[int]string{}
	var b strings.Builder
	for i, l := range ls {
		n := i + 1
		if n%97 == 0 {
			held[n+2000] = l
		} else {
			b.WriteString(l + "\n")
		}
		if h, ok := held[n]; ok {
			b.WriteString(h + "\n")
			delete(held, n)
		}
	}
	keys := make([]int, 0, len(held))
	for k := range held {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		b.WriteString(held[k] + "\n")
	}
	if err := os.WriteFile(out, []byte(b.String()), 0o644); err != nil {
		fatal("%v", err)
	}
}

type reference struct {
	alerts []byte
	detect []string
	late   []string
}

func refRun(feed string) reference {
	var r reference
	dir := filepath.Join(*work, "ref")
	os.MkdirAll(dir, 0o755)
	in, _ := os.Open(feed)
	cmd := exec.Command(*linewatch, "stream", "--line", *line, "--in", "-", "-o", filepath.Join(dir, "alerts.geojsonl"),
		"--rejects", filepath.Join(dir, "rejects.ndjson"))
	cmd.Stdin, cmd.Stderr = in, io.Discard
	if err := cmd.Run(); err != nil {
		fatal("the uninterrupted run: %v", err)
	}
	in.Close()
	r.alerts, _ = os.ReadFile(filepath.Join(dir, "alerts.geojsonl"))
	rej, _ := os.ReadFile(filepath.Join(dir, "rejects.ndjson"))
	r.late = lateRejects(rej)
	// detect on the same records: those the stream did not find late
	// (SPEC §6: a closed episode equals batch's when none was late).
	late := map[string]int{}
	for _, l := range lines(rej) {
		var rj struct{ Reason, Record string }
		if json.Unmarshal([]byte(l), &rj) == nil && rj.Reason == "late" {
			late[rj.Record]++
		}
	}
	var same strings.Builder
	for _, l := range readLines(feed) {
		if late[l] > 0 {
			late[l]--
			continue
		}
		same.WriteString(l + "\n")
	}
	sameFile := filepath.Join(dir, "on-time.ndjson")
	os.WriteFile(sameFile, []byte(same.String()), 0o644)
	run(*linewatch, "detect", "--line", *line, "--format", "geojsonseq", "-o", filepath.Join(dir, "detect.geojsonl"), sameFile)
	r.detect = readLines(filepath.Join(dir, "detect.geojsonl"))
	return r
}

// lateRejects is the late rejects, from "reason" on (where they came from
// differs: standard input or a JetStream message).
func lateRejects(data []byte) []string {
	var out []string
	for _, l := range lines(data) {
		if i := strings.Index(l, `"reason":"late"`); i >= 0 {
			out = append(out, l[i:])
		}
	}
	return out
}

// load posts the feed in batches of 500 records at the rate asked, one
// request at a time (so the stream keeps the feed's order), sending a
// batch again until it is answered (JetStream drops a batch stored twice).
// metricsToken is the bearer token the processes' /metrics and /healthz
// ask for.
const metricsToken = "chaos-metrics-token-0123456789abcdef"

// metricsRequest is a GET of url with the metrics token.
func metricsRequest(url string) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+metricsToken)
	return req
}

// ingestToken is the bearer token the engines' HTTP ingest asks for.
const ingestToken = "chaos-ingest-token-0123456789abcdef"

func load(feed string, ports []int, posted chan<- int) error {
	defer close(posted)
	ls := readLines(feed)
	p := 0
	client := &http.Client{Timeout: 60 * time.Second}
	const batch = 500
	start := time.Now()
	for i := 0; i < len(ls); i += batch {
		body := strings.Join(ls[i:min(i+batch, len(ls))], "\n") + "\n"
		for try := 0; ; try++ {
			url := fmt.Sprintf("http://127.0.0.1:%d/v1/sightings", ports[p])
			req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
			if err != nil {
				return err
			}
			req.Header.Set("Content-Type", "application/geo+json-seq")
			req.Header.Set("Authorization", "Bearer "+ingestToken)
			res, err := client.Do(req)
			if err != nil {
				p = (p + 1) % len(ports) // that engine is down: the other
			} else {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == http.StatusAccepted || res.StatusCode == http.StatusUnprocessableEntity {
					break
				}
				err = errors.New(res.Status)
			}
			if try == 600 {
				return fmt.Errorf("batch %d: %v", i/batch, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		n := min(i+batch, len(ls))
		posted <- n
		if ahead := time.Duration(float64(n)/float64(*rate)*float64(time.Second)) - time.Since(start); ahead > 0 {
			time.Sleep(ahead)
		}
	}
	return nil
}

type storedRecords struct{ records, dups int }

// streamRecords counts the records in a stream's messages, and the
// messages that hold the same batch as another.
func streamRecords(js jetstream.JetStream, name string) storedRecords {
	var s storedRecords
	seen := map[string]bool{}
	for _, m := range messages(js, name) {
		s.records += bytes.Count(m, []byte("\n"))
		if !bytes.HasSuffix(m, []byte("\n")) {
			s.records++
		}
		if seen[string(m)] {
			s.dups++
		}
		seen[string(m)] = true
	}
	return s
}

// subjectMessages is a stream's messages, a line each.
func subjectMessages(js jetstream.JetStream, name string) []byte {
	var b []byte
	for _, m := range messages(js, name) {
		b = append(append(b, m...), '\n')
	}
	return b
}

func messages(js jetstream.JetStream, name string) [][]byte {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, name)
	if err != nil {
		fatal("stream %s: %v", name, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		fatal("stream %s: %v", name, err)
	}
	var out [][]byte
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			fatal("stream %s message %d: %v", name, seq, err)
		}
		out = append(out, m.Data)
	}
	return out
}

// metric is the value of a metric the process on port serves (0 if none).
func metric(port int, name string) float64 {
	c := http.Client{Timeout: 5 * time.Second}
	res, err := c.Do(metricsRequest(fmt.Sprintf("http://127.0.0.1:%d/metrics", port)))
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return 0
}

func leaderOf(js jetstream.JetStream, name string, servers []*server) *server {
	var leader string
	waitFor("the leader of "+name, 30*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		st, err := js.Stream(ctx, name)
		if err != nil {
			return false
		}
		info, err := st.Info(ctx)
		if err != nil || info.Cluster == nil {
			return false
		}
		leader = info.Cluster.Leader
		return leader != ""
	})
	for _, s := range servers {
		if s.name == leader {
			return s
		}
	}
	fatal("no server %q", leader)
	return nil
}

func readLines(name string) []string {
	data, err := os.ReadFile(name)
	if err != nil {
		fatal("%v", err)
	}
	return lines(data)
}

func lines(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		if l := sc.Text(); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func countLines(name string) int { return len(readLines(name)) }

func tail(name string) string {
	data, _ := os.ReadFile(name)
	if len(data) > 2000 {
		data = data[len(data)-2000:]
	}
	return string(data)
}
