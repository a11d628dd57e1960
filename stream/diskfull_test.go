package stream_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/stream"
)

// fillUp writes a file into dir until its file system is full and returns
// its name.
func fillUp(t *testing.T, dir string) string {
	t.Helper()
	name := filepath.Join(dir, "filler")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return name
		}
	}
}

// smallDisk mounts a tmpfs of size bytes on a temporary directory, or
// skips the test where mounting is not allowed (not root).
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small file system here (%v: %s): this case needs root", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// A full disk, two ways. On a small file system of its own (root only),
// filled up with a file: writes fail with ENOSPC, as on a real full disk.
// Under a file size limit (RLIMIT_FSIZE, for this process; anyone may set
// it): writes past the limit fail with EFBIG. JetStream takes either
// failure the same way — its file store keeps the write error and refuses
// every later write of the stream with it, without answering the
// publisher — so both reach the path a full disk takes.
// ownProcess names the variable that tells a test binary it runs one
// case in a process of its own.
const ownProcess = "LINEWATCH_TEST_OWN_PROCESS"

// inOwnProcess runs the test t again in a process of its own, the test
// binary run for t alone, and fails t unless it passes there.
func inOwnProcess(t *testing.T) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+strings.ReplaceAll(t.Name(), "/", "$/^")+"$", "-test.v")
	cmd.Env = append(os.Environ(), ownProcess+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("in its own process: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatalf("in its own process it did not pass:\n%s", out)
	}
}

var fullDisks = []struct {
	name string
	what string // what /healthz says
	// ownProcess runs the case in a process of its own: the file size
	// limit is the whole process's, and any file the test binary writes
	// meanwhile (go test's own log of the files tests open among them)
	// fails past it.
	ownProcess bool
	// setUp returns the state directory, and functions that fill its
	// disk and free space again.
	setUp func(t *testing.T) (dir string, fill, free func())
}{
	{"full file system", "no space left", false, func(t *testing.T) (string, func(), func()) {
		dir := smallDisk(t, "8m")
		var filler string
		return dir, func() { filler = fillUp(t, dir) }, func() {
			if err := os.Remove(filler); err != nil {
				t.Fatal(err)
			}
		}
	}},
	{"file size limit", "file too large", true, func(t *testing.T) (string, func(), func()) {
		var old syscall.Rlimit
		if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
			t.Skip(err)
		}
		restore := func() {
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(restore)
		return t.TempDir(), func() {
			lim := syscall.Rlimit{Cur: 64 << 10, Max: old.Max}
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
				t.Skip(err)
			}
		}, restore
	}},
}

// The state's disk fills up under the HTTP ingest: requests are refused
// (nothing is acknowledged that JetStream did not store), /healthz says
// why, and once there is space again the ingest stores records without a
// restart, and the engine consumes them.
func TestIngestDiskFullRecovers(t *testing.T) {
	for _, c := range fullDisks {
		t.Run(c.name, func(t *testing.T) {
			if c.ownProcess && os.Getenv(ownProcess) == "" {
				inOwnProcess(t)
				return
			}
			disk, fill, free := c.setUp(t)
			testDiskFull(t, disk, fill, free, c.what)
		})
	}
}

func testDiskFull(t *testing.T, disk string, fill, free func(), what string) {
	m := stream.NewMetrics()
	b, err := stream.StartBroker(context.Background(), stream.BrokerConfig{
		StoreDir: disk, Stream: testStream, Subject: testSubject, Duplicates: time.Minute, Metrics: m,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	h := stream.NewIngest(stream.IngestConfig{
		JS: b.JS, Subject: testSubject, MaxRecord: 1 << 20, MaxFuture: detect.DefaultPolicy().MaxFuture,
		Metrics: m, AckTimeout: 2 * time.Second, StoreError: b.StoreError,
	})
	srv := httptest.NewServer(stream.Mux(h, m, ""))
	defer srv.Close()
	line := loadLine(t, "front-2024")
	pol := detect.DefaultPolicy()
	log, err := stream.OpenLog(filepath.Join(t.TempDir(), "alerts.geojsonl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	sink := stream.NewFileSink(log)
	defer sink.Close()
	d := stream.New(stream.Config{Judge: detect.NewJudge(line, pol), Alerts: sink, Metrics: m})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx, &stream.NATSSource{Broker: b, Consumer: "linewatch", Metrics: m}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("the driver stopped: %v", err)
		}
	}()
	f := &ingestFixture{broker: b, srv: srv, metrics: m}
	healthCode := func() int {
		res, err := http.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}

	if a := f.post(t, seqType, sighting("before", 1)+"\n"); a.code != 202 {
		t.Fatalf("before: %d %s", a.code, a.body)
	}
	// The engine consumes before the disk fills: it creates its consumer
	// as it starts, which a full disk refuses (and it would stop, as at
	// any start it cannot make).
	waitFor(t, "the engine to consume the first record", 30*time.Second, func() bool { return m.Health().Read == 1 })
	fill()
	// Records big enough to need new blocks of the file system.
	pad := `{"type":"Feature","id":"%s","geometry":{"type":"Point","coordinates":[37.5,47.9]},"properties":{"time":"2024-01-01T00:03:00Z","side":"RU","note":"` + strings.Repeat("n", 200_000) + `"}}`
	full := 0
	for i := range 3 {
		a := f.post(t, seqType, strings.Replace(pad, "%s", "full"+string(rune('a'+i)), 1)+"\n")
		if a.code == 202 {
			continue // stored in space the file system still had
		}
		if a.code != 503 {
			t.Fatalf("disk full: %d %s", a.code, a.body)
		}
		full++
	}
	if full == 0 {
		t.Fatal("the disk is full and every request was acknowledged")
	}
	waitFor(t, "/healthz to report the full disk", 10*time.Second, func() bool { return healthCode() == http.StatusServiceUnavailable })
	hz := m.Health()
	if !strings.Contains(strings.Join(hz.Problems, " "), what) {
		t.Fatalf("health while the disk is full: %+v", hz)
	}

	free()
	waitFor(t, "the ingest to store records again", 30*time.Second, func() bool {
		return f.post(t, seqType, strings.Replace(pad, "%s", "after", 1)+"\n").code == 202
	})
	if code := healthCode(); code != 200 {
		t.Fatalf("healthz after recovery: %d %+v", code, m.Health())
	}
	got := f.stored(t)
	if len(got) < 2 || !strings.Contains(got[0], `"before"`) || !strings.Contains(got[len(got)-1], `"after"`) {
		t.Fatalf("stored %d records", len(got))
	}
	waitFor(t, "the engine to consume every record stored", 30*time.Second, func() bool {
		h := m.Health()
		return h.Read == int64(len(got)) && *h.Lag == 0
	})
}

// The disk of the engine's state (and output) fills up while it consumes:
// it cannot write its alerts or its checkpoint. It says so in /healthz,
// waits, and once there is space again resumes from its last checkpoint,
// as a restart would: the alerts are those of an uninterrupted run.
func TestDriverDiskFullResumes(t *testing.T) {
	disk := smallDisk(t, "8m")
	line := loadLine(t, "front-2024")
	pol := detect.DefaultPolicy()
	data := generate(t, line, scenario(t, 8_000, 12))
	want, _ := runReader(t, line, pol, data, false, "")
	recs := lines(data)
	half := len(recs) / 2

	b := startBroker(t, t.TempDir())
	defer b.Close()
	store, err := stream.OpenStore(filepath.Join(disk, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	log, err := stream.OpenLog(filepath.Join(disk, "alerts.geojsonl"), nil)
	if err != nil {
		t.Fatal(err)
	}
	sink := stream.NewFileSink(log)
	defer sink.Close()
	m := stream.NewMetrics()
	d := stream.New(stream.Config{Judge: detect.NewJudge(line, pol), Alerts: sink, Store: store, ConfigID: "test",
		CheckpointRecords: 500, Metrics: m})
	after, err := d.Restore()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := stream.RunResuming(ctx, d, after, func(after uint64) stream.Source {
			return &stream.NATSSource{Broker: b, Consumer: "linewatch", After: after, Metrics: m}
		}, nil)
		done <- err
	}()
	consumed := func(n int) func() bool {
		return func() bool {
			select {
			case err := <-done:
				t.Fatalf("the driver stopped: %v", err)
			default:
			}
			h := m.Health()
			return h.Consumed != nil && *h.Consumed == uint64(n)
		}
	}
	n1 := publish(t, b.JS, []byte(joinLines(recs[:half])))
	waitFor(t, "the first half to be consumed", 30*time.Second, consumed(n1))
	filler := fillUp(t, disk)
	n2 := publish(t, b.JS, []byte(joinLines(recs[half:])))
	waitFor(t, "/healthz to report the full disk", 30*time.Second, func() bool {
		return strings.Contains(strings.Join(m.Health().Problems, " "), "no space left")
	})
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "everything to be consumed", 60*time.Second, consumed(n1+n2))
	waitFor(t, "/healthz to be ok again", 30*time.Second, func() bool { return m.Health().Status == "ok" })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(disk, "alerts.geojsonl"))
	if !bytes.Equal(got, want) {
		t.Fatalf("alerts after the disk was full differ from an uninterrupted run's: %d bytes, want %d", len(got), len(want))
	}
}
