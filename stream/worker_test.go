package stream_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/mod/sumdb/note"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/stream"
	"github.com/linewatch/linewatch/tlog"
)

// workerFeed is a feed cut into messages as gateways and the HTTP ingest
// store them: one record, a few, a few hundred; with bad records,
// duplicates, records late for the watermark and two from the far future.
func workerFeed(t testing.TB, line *geo.Line) [][]byte {
	t.Helper()
	recs := lines(generate(t, line, scenario(t, 4_000, 5)))
	// Late: a few records held back by 600 places.
	for i := 100; i+600 < len(recs); i += 500 {
		r := recs[i]
		recs = append(recs[:i], recs[i+1:]...)
		recs = append(recs[:i+600], append([]string{r}, recs[i+600:]...)...)
	}
	future := `{"type":"Feature","id":"far-%d","geometry":{"type":"Point","coordinates":[37.5,48.0]},"properties":{"time":"2999-01-01T00:00:00Z","side":"RU","kind":"ground"}}`
	recs = append(recs[:50], append([]string{fmt.Sprintf(future, 1)}, recs[50:]...)...)
	recs = append(recs, fmt.Sprintf(future, 2))
	var msgs [][]byte
	sizes := []int{1, 3, 40, 250, 1, 1, 120}
	for i, k := 0, 0; i < len(recs); k++ {
		n := min(sizes[k%len(sizes)], len(recs)-i)
		msgs = append(msgs, []byte(strings.Join(recs[i:i+n], "\n")+"\n"))
		i += n
	}
	return msgs
}

// publishMessages stores the messages in order and returns the last
// sequence.
func publishMessages(t testing.TB, js jetstream.JetStream, msgs [][]byte) uint64 {
	t.Helper()
	var last uint64
	for _, m := range msgs {
		ack, err := js.Publish(context.Background(), "linewatch.sightings.gw", m)
		if err != nil {
			t.Fatal(err)
		}
		last = ack.Sequence
	}
	return last
}

// listeningBroker starts an embedded server that other connections (the
// workers') reach.
func listeningBroker(t testing.TB) *stream.Broker {
	t.Helper()
	b, err := stream.StartBroker(context.Background(), stream.BrokerConfig{
		StoreDir: t.TempDir(), Listen: "127.0.0.1:0", Stream: testStream, Subject: testSubject, Duplicates: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// testWorker is a worker on its own connection.
type testWorker struct {
	stats  *stream.WorkerStats
	cancel context.CancelFunc
	done   chan error
}

func startWorker(t testing.TB, b *stream.Broker, line *geo.Line, pol detect.Policy, name, config, build string) *testWorker {
	t.Helper()
	wb, err := stream.StartBroker(context.Background(), stream.BrokerConfig{
		URL: b.ClientURL(), NKeyFile: b.KeyFile(), Stream: testStream, Subject: testSubject, Duplicates: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &testWorker{stats: new(stream.WorkerStats), cancel: cancel, done: make(chan error, 1)}
	go func() {
		w.done <- stream.RunWorker(ctx, stream.WorkerConfig{
			Broker: wb, Judge: detect.NewJudge(line, pol), ConfigID: config, Build: build, Group: "linewatch",
			Threads: 2, Name: name, Stats: w.stats, Log: testLog(t),
		})
		wb.Close()
	}()
	t.Cleanup(w.stop)
	return w
}

func (w *testWorker) stop() {
	if w.cancel != nil {
		w.cancel()
		<-w.done
		w.cancel = nil
	}
}

// runEngine runs a driver on the broker's stream, with the workers'
// messages if remote is set, until it has processed sequence upTo; it
// returns the alerts and the rejects.
func runEngine(t testing.TB, b *stream.Broker, line *geo.Line, pol detect.Policy, remote *stream.Remote, m *stream.Metrics, upTo uint64) (alerts, rejects []byte) {
	t.Helper()
	return runEngineLog(t, b, line, pol, remote, m, upTo, nil)
}

// runEngineLog is runEngine keeping the tamper-evident log lc.
func runEngineLog(t testing.TB, b *stream.Broker, line *geo.Line, pol detect.Policy, remote *stream.Remote, m *stream.Metrics, upTo uint64, lc *stream.LogConfig) (alerts, rejects []byte) {
	t.Helper()
	var out, rej bytes.Buffer
	log, _ := stream.OpenLog("-", &out)
	rlog, _ := stream.OpenLog("-", &rej)
	d := stream.New(stream.Config{
		Judge: detect.NewJudge(line, pol), Alerts: stream.NewFileSink(log), Rejects: rlog,
		ConfigID: "test", Metrics: m, Remote: remote, Log: lc,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- d.Run(ctx, &stream.NATSSource{Broker: b, Consumer: "linewatch", Metrics: m})
	}()
	waitFor(t, "the records to be processed", 120*time.Second, func() bool {
		select {
		case err := <-done:
			t.Fatalf("the driver stopped: %v", err)
		default:
		}
		h := m.Health()
		return h.Consumed != nil && *h.Consumed >= upTo
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rlog.Flush()
	return out.Bytes(), rej.Bytes()
}

// With the tamper-evident log, what workers prepared is logged as what
// the engine prepares itself: the engine computes every leaf, so the
// alerts — whose "log" members name the tree and the evidence leaves —
// are byte for byte those of the engine alone on the same messages.
func TestWorkersKeepTheLog(t *testing.T) {
	line := loadLine(t, "front-2024")
	pol := detect.DefaultPolicy()
	msgs := workerFeed(t, line)
	b := listeningBroker(t)
	var ws []*testWorker
	for i := range 2 {
		ws = append(ws, startWorker(t, b, line, pol, fmt.Sprintf("w%d", i+1), "test", "build"))
	}
	last := publishMessages(t, b.JS, msgs)
	waitFor(t, "the workers to prepare every message", 120*time.Second, func() bool {
		var n int64
		for _, w := range ws {
			n += w.stats.Messages.Load() + w.stats.Already.Load()
		}
		return n >= int64(last)
	})
	wantLog := newTestLog(t, t.TempDir())
	want, _ := runEngineLog(t, b, line, pol, nil, stream.NewMetrics(), last, wantLog)
	if !bytes.Contains(want, []byte(`"log":{`)) {
		t.Fatalf("the alerts name no log: %.300s", want)
	}
	// Audited, a message's records are prepared twice, so their entries
	// are framed twice in their batch: the log must take each once.
	for _, audit := range []float64{0, 1} {
		t.Run(fmt.Sprintf("audit %v", audit), func(t *testing.T) {
			m := stream.NewMetrics()
			remote := newRemote(b, m, "build", 2*time.Second, audit)
			lc := newTestLog(t, t.TempDir())
			got, _ := runEngineLog(t, b, line, pol, remote, m, last, lc)
			if byWorker, _ := remote.Counts(); byWorker != int64(last) {
				t.Fatalf("the engine took %d of %d messages from workers", byWorker, last)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("with workers the alerts differ from the engine alone's:\n%.600s\nwant\n%.600s", got, want)
			}
			sameEntries(t, lc, wantLog)
		})
	}
}

// sameEntries checks that two logs hold the same tree and the same
// entries, bundle for bundle.
func sameEntries(t *testing.T, got, want *stream.LogConfig) {
	t.Helper()
	ctx := context.Background()
	open := func(lc *stream.LogConfig) (*tlog.Reader, tlog.Checkpoint) {
		r := tlog.NewReader(lc.Storage)
		sigs, err := r.OpenCheckpoint(ctx, []note.Verifier{lc.Verifier}, 1)
		if err != nil {
			t.Fatal(err)
		}
		return r, sigs.Checkpoint
	}
	rg, cg := open(got)
	rw, cw := open(want)
	if cg.Size != cw.Size || cg.Root != cw.Root {
		t.Fatalf("log of %d entries, root %x; want %d, %x", cg.Size, cg.Root, cw.Size, cw.Root)
	}
	for n := int64(0); uint64(n)*256 < cw.Size; n++ {
		bg, err := rg.Bundle(ctx, n, cg.Size)
		if err != nil {
			t.Fatal(err)
		}
		bw, err := rw.Bundle(ctx, n, cw.Size)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(bg, bw, bytes.Equal) {
			t.Fatalf("entry bundle %d differs", n)
		}
	}
}

func newRemote(b *stream.Broker, m *stream.Metrics, build string, wait time.Duration, audit float64) *stream.Remote {
	return stream.NewRemote(stream.RemoteConfig{
		Conn: b.Conn(), JS: b.JS, Group: "linewatch", Sightings: testStream, ConfigID: "test", Build: build,
		Wait: wait, Audit: audit, Metrics: m,
	})
}

// The engine's alerts and rejects do not depend on the number of workers
// or their speed: byte for byte the same with none (the engine alone), 1,
// 2 and 3 workers, whether the workers prepared everything before the
// engine started or run beside it while the feed comes in, one of them
// stopping half-way.
func TestWorkersDoNotChangeAlerts(t *testing.T) {
	line := loadLine(t, "front-2024")
	pol := detect.DefaultPolicy()
	msgs := workerFeed(t, line)

	b := listeningBroker(t)
	last := publishMessages(t, b.JS, msgs)
	wantAlerts, wantRejects := runEngine(t, b, line, pol, nil, stream.NewMetrics(), last)
	if len(lines(wantAlerts)) < 10 || !strings.Contains(string(wantRejects), `"reason":"late"`) || !strings.Contains(string(wantRejects), `"reason":"future"`) {
		t.Fatalf("the feed makes %d alerts and rejects %q…: too little to compare", len(lines(wantAlerts)), firstN(wantRejects, 300))
	}

	for _, mode := range []string{"ahead", "beside"} {
		for workers := 1; workers <= 3; workers++ {
			t.Run(fmt.Sprintf("%s/%d", mode, workers), func(t *testing.T) {
				b := listeningBroker(t)
				var ws []*testWorker
				for i := range workers {
					ws = append(ws, startWorker(t, b, line, pol, fmt.Sprintf("w%d", i+1), "test", "build"))
				}
				m := stream.NewMetrics()
				remote := newRemote(b, m, "build", 2*time.Second, 0.3)
				var got, gotRej []byte
				if mode == "ahead" {
					last := publishMessages(t, b.JS, msgs)
					waitFor(t, "the workers to prepare every message", 120*time.Second, func() bool {
						var n int64
						for _, w := range ws {
							n += w.stats.Messages.Load() + w.stats.Already.Load()
						}
						return n >= int64(last)
					})
					got, gotRej = runEngine(t, b, line, pol, remote, m, last)
					if byWorker, byEngine := remote.Counts(); byEngine != 0 || byWorker != int64(last) {
						t.Errorf("the engine took %d messages from workers and prepared %d itself, want all %d from workers", byWorker, byEngine, last)
					}
				} else {
					// The feed comes in while the engine and the workers run;
					// a worker stops half-way (its messages not yet
					// acknowledged go to another, or to the engine).
					var wg sync.WaitGroup
					wg.Add(1)
					go func() {
						defer wg.Done()
						for i := 0; i < len(msgs); i += 8 {
							publishMessages(t, b.JS, msgs[i:min(i+8, len(msgs))])
							if i >= len(msgs)/2 && workers > 1 {
								ws[0].stop()
							}
							time.Sleep(20 * time.Millisecond)
						}
					}()
					got, gotRej = runEngine(t, b, line, pol, remote, m, uint64(len(msgs)))
					wg.Wait()
				}
				byWorker, byEngine := remote.Counts()
				t.Logf("%d messages from workers, %d prepared by the engine", byWorker, byEngine)
				if !bytes.Equal(got, wantAlerts) {
					t.Errorf("alerts: %d, want %d, or not the same bytes", len(lines(got)), len(lines(wantAlerts)))
				}
				if !bytes.Equal(gotRej, wantRejects) {
					t.Errorf("rejects: %d, want %d, or not the same bytes", len(lines(gotRej)), len(lines(wantRejects)))
				}
				if p := m.Problems(); len(p) > 0 {
					t.Errorf("problems: %v", p)
				}
			})
		}
	}
}

func firstN(b []byte, n int) string { return string(b[:min(n, len(b))]) }

// A worker that prepares otherwise than the engine would — here, with
// other weights while claiming the engine's configuration — is inside the
// operator's trust: only workers and engines may publish prepared
// messages. Without audits the engine cannot tell, and its alerts are
// wrong; the replay `linewatch verify` makes, from the records themselves
// through the engine alone, gives the right ones, so the lie is caught
// there. With audits the engine catches it itself: it uses its own
// records, stops using workers' messages, and reports the problem. A
// worker of another configuration or build is refused outright.
func TestLyingWorker(t *testing.T) {
	line := loadLine(t, "front-2024")
	pol := detect.DefaultPolicy()
	lie := pol
	lie.Weights.Crossing, lie.Weights.Incursion, lie.Weights.Fire = 2*pol.Weights.Crossing, 2*pol.Weights.Incursion, 2*pol.Weights.Fire
	msgs := workerFeed(t, line)
	// What verify does: the records, through the engine alone.
	b := listeningBroker(t)
	honest, _ := runEngine(t, b, line, pol, nil, stream.NewMetrics(), publishMessages(t, b.JS, msgs))

	tests := []struct {
		name      string
		pol       detect.Policy // the worker's
		config    string        // what it claims
		build     string
		audit     float64
		same      bool // the engine's alerts are the honest ones
		problem   bool
		byWorkers bool // the engine used workers' messages
	}{
		{"lies unaudited", lie, "test", "build", 0, false, false, true},
		{"lies audited", lie, "test", "build", 1, true, true, false},
		{"another configuration", pol, "other", "build", 0, true, false, false},
		{"another build", pol, "test", "other", 0, true, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := listeningBroker(t)
			last := publishMessages(t, b.JS, msgs)
			w := startWorker(t, b, line, tt.pol, "liar", tt.config, tt.build)
			waitFor(t, "the worker to prepare every message", 120*time.Second, func() bool {
				return w.stats.Messages.Load() >= int64(last)
			})
			m := stream.NewMetrics()
			remote := newRemote(b, m, "build", time.Second, tt.audit)
			got, _ := runEngine(t, b, line, pol, remote, m, last)
			if same := bytes.Equal(got, honest); same != tt.same {
				t.Errorf("the engine's alerts are the honest ones: %v, want %v", same, tt.same)
			}
			if problem := len(m.Problems()) > 0; problem != tt.problem {
				t.Errorf("problems %v, want one: %v", m.Problems(), tt.problem)
			}
			byWorker, _ := remote.Counts()
			if tt.byWorkers != (byWorker == int64(last)) {
				t.Errorf("%d of %d messages taken from the worker", byWorker, last)
			}
		})
	}
}
