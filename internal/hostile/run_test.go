//go:build linux

package hostile

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// built is the linewatch binary under test and the folder to remove
// after the tests ("" for LINEWATCH_BIN's).
var built struct {
	once      sync.Once
	bin, temp string
	err       error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.temp != "" {
		os.RemoveAll(built.temp)
	}
	os.Exit(code)
}

// linewatch is the binary under test, built once (not with the race
// detector, whose memory would blur the memory bounds). It skips the
// test under -short.
func linewatch(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("the hostile-input suite runs without -short")
	}
	built.once.Do(func() {
		if b := os.Getenv("LINEWATCH_BIN"); b != "" {
			built.bin = b
			return
		}
		if built.temp, built.err = os.MkdirTemp("", "linewatch-hostile"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.temp, "linewatch")
		out, err := exec.Command("go", "build", "-o", built.bin, "github.com/linewatch/linewatch/cmd/linewatch").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.bin
}

// bounds are what a run may take: wall time, and peak resident memory.
type bounds struct {
	wall time.Duration
	mb   int
}

// result is how a run of linewatch ended.
type result struct {
	code           int
	stdout, stderr string
	peakMB         float64 // peak resident set size (VmHWM), as last seen
	wall           time.Duration
}

// run runs linewatch with args and stdin (nil: none) within b: past its
// time or memory, the process is killed and the test fails. The run's
// figures go to the test log (go test -v shows them).
func run(t *testing.T, b bounds, stdin io.Reader, args ...string) result {
	t.Helper()
	return runAt(t, b, "", stdin, args...)
}

// runAt is run in the folder dir.
func runAt(t *testing.T, b bounds, dir string, stdin io.Reader, args ...string) result {
	t.Helper()
	p := startAt(t, b, dir, stdin, args...)
	r := p.wait(t)
	t.Logf("linewatch %s: exit %d, %.2f s, peak %.0f MB", shortArgs(args), r.code, r.wall.Seconds(), r.peakMB)
	return r
}

// proc is a running linewatch whose memory is watched.
type proc struct {
	cmd    *exec.Cmd
	b      bounds
	began  time.Time
	stdout bytes.Buffer
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{}
	err    error
	killed string // why the watchdog killed it
	hwmKB  int    // the peak resident set size last read
	ctx    context.Context
	cancel context.CancelFunc
}

// start starts linewatch; the watchdog kills it past b.
func start(t *testing.T, b bounds, stdin io.Reader, args ...string) *proc {
	t.Helper()
	return startAt(t, b, "", stdin, args...)
}

// startEnv is start with more variables in the environment.
func startEnv(t *testing.T, b bounds, env []string, stdin io.Reader, args ...string) *proc {
	t.Helper()
	return startIn(t, b, "", env, stdin, args...)
}

// startAt is start in the folder dir.
func startAt(t *testing.T, b bounds, dir string, stdin io.Reader, args ...string) *proc {
	t.Helper()
	return startIn(t, b, dir, nil, stdin, args...)
}

func startIn(t *testing.T, b bounds, dir string, env []string, stdin io.Reader, args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), b.wall)
	p := &proc{b: b, done: make(chan struct{}), ctx: ctx, cancel: cancel}
	p.cmd = exec.CommandContext(ctx, linewatch(t), args...)
	p.cmd.Dir = dir
	if env != nil {
		p.cmd.Env = append(os.Environ(), env...)
	}
	p.cmd.Stdin = stdin
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = lockedWriter{&p.mu, &p.stderr}
	p.cmd.WaitDelay = 5 * time.Second
	p.began = time.Now()
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	go p.watch()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
		cancel()
	})
	return p
}

// watch reads the process's memory in /proc every 5 ms: its peak
// resident set size (VmHWM, which the kernel keeps for the program since
// it was started, so that a reading any time after a peak sees it), and
// its resident set size now, killing it once that passes the bound. (The
// kernel's rusage is no use here: a child's ru_maxrss counts the memory
// of the test process it was forked from.)
func (p *proc) watch() {
	status := fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-p.done:
			return
		case <-tick.C:
		}
		data, err := os.ReadFile(status)
		if err != nil {
			continue
		}
		if m := vmHWM.FindSubmatch(data); m != nil {
			kb, _ := strconv.Atoi(string(m[1]))
			p.mu.Lock()
			p.hwmKB = max(p.hwmKB, kb)
			p.mu.Unlock()
		}
		if m := vmRSS.FindSubmatch(data); m != nil {
			kb, _ := strconv.Atoi(string(m[1]))
			if kb > p.b.mb*1024 {
				p.mu.Lock()
				p.killed = fmt.Sprintf("resident memory %d MB, over its bound of %d MB", kb/1024, p.b.mb)
				p.mu.Unlock()
				p.cmd.Process.Kill()
				return
			}
		}
	}
}

var (
	vmRSS = regexp.MustCompile(`VmRSS:\s+(\d+) kB`)
	vmHWM = regexp.MustCompile(`VmHWM:\s+(\d+) kB`)
)

// stderrText is what the process has written on standard error so far.
func (p *proc) stderrText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// await waits for a line of standard error to match re and returns its
// first group.
func (p *proc) await(t *testing.T, re string) string {
	t.Helper()
	rx := regexp.MustCompile(re)
	for {
		if m := rx.FindStringSubmatch(p.stderrText()); m != nil {
			return m[1]
		}
		select {
		case <-p.done:
			t.Fatalf("linewatch ended before saying %q: %s", re, p.stderrText())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// stop sends SIGTERM (the streaming service writes its checkpoint and
// summary and exits 0) and waits for the end.
func (p *proc) stop(t *testing.T) result {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	return p.wait(t)
}

// wait waits for the end, failing the test if the watchdog or the time
// bound killed the process.
func (p *proc) wait(t *testing.T) result {
	t.Helper()
	<-p.done
	timedOut := p.ctx.Err() == context.DeadlineExceeded
	p.cancel()
	r := result{stdout: p.stdout.String(), stderr: p.stderrText(), wall: time.Since(p.began)}
	if st := p.cmd.ProcessState; st != nil {
		r.code = st.ExitCode()
	}
	p.mu.Lock()
	killed := p.killed
	r.peakMB = float64(p.hwmKB) / 1024
	p.mu.Unlock()
	if killed == "" && timedOut {
		killed = fmt.Sprintf("still running after its bound of %s", p.b.wall)
	}
	if killed != "" {
		t.Fatalf("linewatch %s killed: %s\nstderr: %.2000s", shortArgs(p.cmd.Args[1:]), killed, r.stderr)
	}
	if r.peakMB > float64(p.b.mb) {
		t.Fatalf("linewatch %s: peak resident memory %.0f MB, over its bound of %d MB", shortArgs(p.cmd.Args[1:]), r.peakMB, p.b.mb)
	}
	return r
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// shortArgs is the command line for the log, temporary folders left out.
func shortArgs(args []string) string {
	s := strings.Join(args, " ")
	return regexp.MustCompile(`/tmp/\S*?/(\d+/)?`).ReplaceAllString(s, "")
}

// ---- what every run promises ----

// noCrash fails the test if standard error shows a panic or a stack trace.
func noCrash(t *testing.T, r result) {
	t.Helper()
	for _, s := range []string{"panic:", "goroutine ", "runtime error", "fatal error:", ".go:"} {
		if strings.Contains(r.stderr, s) {
			t.Fatalf("standard error shows a crash (%q):\n%.3000s", s, r.stderr)
		}
	}
}

// oneLineError checks a run that failed with code: one line on standard
// error, "linewatch: …", that says want.
func oneLineError(t *testing.T, r result, code int, want string) {
	t.Helper()
	noCrash(t, r)
	if r.code != code {
		t.Errorf("exit status %d, want %d; stderr %q", r.code, code, r.stderr)
	}
	if strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "linewatch: ") || !strings.HasSuffix(r.stderr, "\n") {
		t.Errorf("standard error is not one line \"linewatch: …\": %q", r.stderr)
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("standard error %q does not say %q", r.stderr, want)
	}
}

// ok checks a run that succeeded.
func ok(t *testing.T, r result) {
	t.Helper()
	noCrash(t, r)
	if r.code != 0 {
		t.Fatalf("exit status %d; stderr %.2000s", r.code, r.stderr)
	}
}

// counts are a summary's record counts.
type counts struct {
	Read, Accepted, Rejected, Duplicate, Late, Outside int
}

// summary reads a --summary file and checks that its counts add up.
func summary(t *testing.T, path string) counts {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s struct{ Records counts }
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatalf("summary %s: %v", path, err)
	}
	k := s.Records
	if k.Read != k.Accepted+k.Rejected+k.Duplicate+k.Late+k.Outside {
		t.Errorf("the counts do not add up: %+v", k)
	}
	return k
}

// lines is the number of lines of a file.
func lines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for sc.Scan() {
		n++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return n
}

// write writes a file in dir and returns its path.
func write(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
