package pipeline

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/linewatch/linewatch/feed"
)

// numbered is a test batch: its workers parse each record's text as a
// number.
type numbered struct {
	Records
	nums []int
}

func (b *numbered) Reset() {
	b.Records.Reset()
	b.nums = b.nums[:0]
}

func record(i int) feed.Record {
	return feed.Record{File: "t", Line: i + 1, Raw: []byte(strconv.Itoa(i))}
}

// parse is a worker that takes a random while over each batch.
func parse(seed uint64) func(*numbered) {
	r := rand.New(rand.NewPCG(seed, 1))
	return func(b *numbered) {
		time.Sleep(time.Duration(r.IntN(300)) * time.Microsecond)
		for _, rec := range b.Recs {
			n, err := strconv.Atoi(string(rec.Raw))
			if err != nil {
				n = -1
			}
			b.nums = append(b.nums, n)
		}
	}
}

func config(workers int, sink func(*numbered) error) Config[*numbered] {
	return Config[*numbered]{
		Workers:    workers,
		MaxRecords: 7,
		New:        func() *numbered { return new(numbered) },
		Worker:     func(w int) func(*numbered) { return parse(uint64(w)) },
		Sink:       sink,
	}
}

// inOrder is a sink that checks the records come whole and in order.
type inOrder struct {
	t    *testing.T
	next int
}

func (o *inOrder) sink(b *numbered) error {
	for i, n := range b.nums {
		if n != o.next || b.Recs[i].Line != o.next+1 {
			o.t.Fatalf("record %d (line %d) where %d was due", n, b.Recs[i].Line, o.next)
		}
		o.next++
	}
	return nil
}

func TestOrderUnderRandomDelays(t *testing.T) {
	for _, workers := range []int{1, 2, 3, 8} {
		o := &inOrder{t: t}
		const n = 5000
		err := Run(context.Background(), config(workers, o.sink), func(f *Feeder[*numbered]) error {
			for i := range n {
				if err := f.Add(record(i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if o.next != n {
			t.Errorf("workers %d: %d records reached the sink, want %d", workers, o.next, n)
		}
	}
}

func TestBatchesFillUpTo(t *testing.T) {
	// By count, by size, and by hand.
	var lens []int
	cfg := config(2, func(b *numbered) error { lens = append(lens, b.Len()); return nil })
	cfg.MaxRecords, cfg.MaxBytes = 3, 10
	err := Run(context.Background(), cfg, func(f *Feeder[*numbered]) error {
		for _, raw := range []string{"1", "2", "3", "4", "5", "123456789", "6", "7"} {
			if err := f.Add(feed.Record{Raw: []byte(raw)}); err != nil {
				return err
			}
		}
		if err := f.Flush(); err != nil {
			return err
		}
		_, err := f.Current() // taken, left empty: handed on all the same
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []int{3, 3, 2, 0} // 1 2 3 | 4 5 123456789 (11 bytes) | 6 7 (by hand) | (empty)
	if len(lens) != len(want) {
		t.Fatalf("batches of %v, want %v", lens, want)
	}
	for i := range want {
		if lens[i] != want[i] {
			t.Fatalf("batches of %v, want %v", lens, want)
		}
	}
}

func TestBatchesOfOneInput(t *testing.T) {
	// A batch holds the records of one input, and says which.
	var got [][2]int // input, records
	cfg := config(2, func(b *numbered) error { got = append(got, [2]int{b.Input, b.Len()}); return nil })
	cfg.MaxRecords = 4
	err := Run(context.Background(), cfg, func(f *Feeder[*numbered]) error {
		for input, n := range []int{6, 0, 3, 2} {
			if err := f.Input(input); err != nil {
				return err
			}
			for i := range n {
				if err := f.Add(record(i)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]int{{0, 4}, {0, 2}, {2, 3}, {3, 2}}
	if !slices.Equal(got, want) {
		t.Errorf("batches (input, records) %v, want %v", got, want)
	}
}

func TestReadErrorAfterWhatWasRead(t *testing.T) {
	// What was read before the error all reaches the sink, the batch being
	// filled included; then Run returns the reader's error.
	boom := errors.New("broken gzip")
	o := &inOrder{t: t}
	err := Run(context.Background(), config(3, o.sink), func(f *Feeder[*numbered]) error {
		for i := range 2500 {
			if err := f.Add(record(i)); err != nil {
				return err
			}
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Run: %v, want %v", err, boom)
	}
	if o.next != 2500 {
		t.Errorf("%d records reached the sink, want 2500", o.next)
	}
}

func TestSinkErrorStopsTheReader(t *testing.T) {
	full := errors.New("disk full")
	sunk := 0
	readerDone := make(chan error, 1)
	err := Run(context.Background(), config(2, func(b *numbered) error {
		if sunk == 3 {
			return full
		}
		sunk++
		return nil
	}), func(f *Feeder[*numbered]) error {
		// An endless input: only the pipeline's stop ends it.
		for i := 0; ; i++ {
			if err := f.Add(record(i)); err != nil {
				readerDone <- err
				return err
			}
		}
	})
	if !errors.Is(err, full) {
		t.Fatalf("Run: %v, want %v", err, full)
	}
	select {
	case err := <-readerDone:
		if err == nil {
			t.Error("the reader was told nothing")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reader was never stopped")
	}
}

func TestCancel(t *testing.T) {
	// A reader blocked on its input (standard input, say) does not hold
	// Run up.
	ctx, cancel := context.WithCancel(context.Background())
	blocked := make(chan struct{})
	defer close(blocked)
	sunk := make(chan struct{}, 1)
	var errc = make(chan error, 1)
	go func() {
		errc <- Run(ctx, config(2, func(*numbered) error {
			select {
			case sunk <- struct{}{}:
			default:
			}
			return nil
		}), func(f *Feeder[*numbered]) error {
			if err := f.Add(record(0)); err != nil {
				return err
			}
			if err := f.Flush(); err != nil {
				return err
			}
			<-blocked
			return nil
		})
	}()
	<-sunk
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run: %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return when its context was canceled")
	}

	// A reader that keeps adding is told to stop.
	ctx, cancel = context.WithCancel(context.Background())
	var readErr error
	readerDone := make(chan struct{})
	var once sync.Once
	err := Run(ctx, config(2, func(*numbered) error { once.Do(cancel); return nil }), func(f *Feeder[*numbered]) error {
		defer close(readerDone)
		for i := 0; ; i++ {
			if readErr = f.Add(record(i)); readErr != nil {
				return readErr
			}
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run: %v, want context.Canceled", err)
	}
	select {
	case <-readerDone:
		if !errors.Is(readErr, context.Canceled) {
			t.Errorf("the reader got %v, want context.Canceled", readErr)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the reader was never stopped")
	}
}

func TestFixedPool(t *testing.T) {
	// While the sink is held up, the reader gets no further than the pool
	// of batches allows, whatever the input's size; no batch is made
	// besides the pool.
	const workers, batches, per = 2, 5, 7
	var made, added atomic.Int64
	release := make(chan struct{})
	seen := map[*numbered]bool{}
	cfg := config(workers, func(b *numbered) error {
		<-release
		seen[b] = true
		return nil
	})
	cfg.Batches = batches
	cfg.New = func() *numbered { made.Add(1); return new(numbered) }
	cfg.Worker = func(int) func(*numbered) { return func(*numbered) {} }
	errc := make(chan error, 1)
	go func() {
		errc <- Run(context.Background(), cfg, func(f *Feeder[*numbered]) error {
			for i := range 20_000 {
				if err := f.Add(record(i)); err != nil {
					return err
				}
				added.Add(1)
			}
			return nil
		})
	}()
	// Wait for the reader to come to rest.
	for last := int64(-1); ; {
		time.Sleep(20 * time.Millisecond)
		n := added.Load()
		if n == last {
			break
		}
		last = n
	}
	if n := added.Load(); n > batches*per {
		t.Errorf("the reader went %d records ahead of a stalled sink; %d batches of %d hold %d", n, batches, per, batches*per)
	}
	close(release)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if made.Load() != batches || len(seen) > batches {
		t.Errorf("%d batches made, %d seen; the pool has %d", made.Load(), len(seen), batches)
	}
}

func TestTick(t *testing.T) {
	// Tick comes while the input is idle, on Run's goroutine.
	ticks := make(chan struct{}, 100)
	cfg := config(1, func(*numbered) error { return nil })
	cfg.Every = time.Millisecond
	cfg.Tick = func() error { ticks <- struct{}{}; return nil }
	err := Run(context.Background(), cfg, func(f *Feeder[*numbered]) error {
		<-ticks
		<-ticks
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	stop := errors.New("checkpoint failed")
	cfg.Tick = func() error { return stop }
	err = Run(context.Background(), cfg, func(f *Feeder[*numbered]) error {
		<-f.Context().Done()
		return f.Context().Err()
	})
	if !errors.Is(err, stop) {
		t.Fatalf("Run: %v, want %v", err, stop)
	}
}

func TestWorkersEach(t *testing.T) {
	// Each worker is made once, with its own number.
	var mu sync.Mutex
	got := map[int]int{}
	cfg := config(4, func(*numbered) error { return nil })
	cfg.Worker = func(w int) func(*numbered) {
		mu.Lock()
		got[w]++
		mu.Unlock()
		return func(*numbered) {}
	}
	if err := Run(context.Background(), cfg, func(f *Feeder[*numbered]) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || got[0] != 1 || got[1] != 1 || got[2] != 1 || got[3] != 1 {
		t.Errorf("workers made: %v", got)
	}
}

// ReadBlocks hands the sink the records ReadSource does, in order and
// with their lines and offsets, from files of lines (split by the
// workers) and from a file that is not (read record by record); a batch
// of blocks holds the records of one input.
func TestReadBlocks(t *testing.T) {
	var lines strings.Builder
	for i := range 5000 {
		if i%97 == 0 {
			lines.WriteString("\r\n")
		}
		lines.WriteString(strconv.Itoa(i))
		if i%13 == 0 {
			lines.WriteString("\r")
		}
		lines.WriteString("\n")
	}
	inputs := []string{
		lines.String(),
		"7\n8",           // no newline at the end
		"",               // nothing
		"\x1e1\n\x1e2\n", // a text sequence: not a file of lines
		lines.String()[:3000],
	}
	type got struct {
		input  int
		line   int
		offset int64
		raw    string
	}
	read := func(blocks bool) []got {
		var out []got
		cfg := config(2, func(b *numbered) error {
			for _, rec := range b.Recs {
				if rec.File != "f"+strconv.Itoa(b.Input) {
					t.Fatalf("record of %s in a batch of input %d", rec.File, b.Input)
				}
				out = append(out, got{b.Input, rec.Line, rec.Offset, string(rec.Raw)})
			}
			return nil
		})
		err := Run(context.Background(), cfg, func(f *Feeder[*numbered]) error {
			for i, in := range inputs {
				if err := f.Input(i); err != nil {
					return err
				}
				src := feed.NewSource("f"+strconv.Itoa(i), iotest.HalfReader(strings.NewReader(in)))
				var err error
				if blocks {
					err = f.ReadBlocks(src)
				} else {
					err = f.ReadSource(src, nil)
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	want, blocks := read(false), read(true)
	if len(want) < 5000 {
		t.Fatalf("ReadSource gave %d records", len(want))
	}
	if !slices.Equal(blocks, want) {
		for i := range min(len(blocks), len(want)) {
			if blocks[i] != want[i] {
				t.Fatalf("record %d: ReadBlocks gave %+v, ReadSource %+v", i, blocks[i], want[i])
			}
		}
		t.Fatalf("ReadBlocks gave %d records, ReadSource %d", len(blocks), len(want))
	}
}
