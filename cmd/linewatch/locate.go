package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"time"

	"github.com/linewatch/linewatch/feed"
	"github.com/linewatch/linewatch/geo"
	"github.com/urfave/cli/v2"
)

func init() { register(locateCommand) }

func locateCommand() *cli.Command {
	return &cli.Command{
		Name:      "locate",
		Usage:     "annotate sightings with their side, distance, chainage and sector",
		UsageText: "linewatch locate --line L.geojson [--policy P.yaml] [-o OUT] [--rejects FILE] SIGHTINGS...",
		Description: "Reads GeoJSON Features (GeoJSON text sequences, newline-delimited GeoJSON or a\n" +
			"FeatureCollection; .gz or - for standard input) and writes each one on a line,\n" +
			"unchanged but for added properties lw_side, lw_distance_m, lw_km, lw_sector and\n" +
			"lw_beyond_end, taken at the Point, the last coordinate of a LineString or the\n" +
			"first point of a MultiPoint. Records that are not such Features are counted and\n" +
			"written to --rejects. Example:\n\n" +
			"  linewatch locate --line fixtures/lines/front-2024.geojson -o located.ndjson \\\n" +
			"    --rejects rejects.ndjson fixtures/sightings/front-2024-q1.ndjson.gz",
		Flags: append(lineFlags(),
			&cli.StringFlag{Name: "rejects", Usage: "write rejected records to `FILE`, one JSON object per line", TakesFile: true},
		),
		Action: locateAction,
	}
}

func locateAction(c *cli.Context) error {
	inputs := c.Args().Slice()
	if len(inputs) == 0 {
		return usageError(c, "no SIGHTINGS: name one or more files, or - for standard input")
	}
	l, _, err := loadLine(c)
	if err != nil {
		return err
	}
	for _, name := range inputs {
		if name == "-" {
			continue
		}
		if err := checkInput(name); err != nil {
			return err
		}
	}
	var rejects *rejectFile
	if name := c.String("rejects"); name != "" {
		if rejects, err = createRejects(name); err != nil {
			return err
		}
	}
	out, err := openOutput(c)
	if err != nil {
		if rejects != nil {
			rejects.Close()
		}
		return err
	}
	start := time.Now()
	st, runErr := locateRun(l, inputs, out, rejects, runtime.GOMAXPROCS(0))
	closeErr := out.Close()
	if rejects != nil {
		closeErr = errors.Join(closeErr, rejects.Close())
	}
	if runErr != nil {
		return runErr // one line: the error, no summary
	}
	wall := time.Since(start).Seconds()
	fmt.Fprintf(c.App.ErrWriter, "linewatch locate: %d records read, %d annotated, %d rejected in %.3f s (%.0f records/s)\n",
		st.read, st.annotated, st.rejected, wall, float64(st.read)/max(wall, 1e-9))
	return closeErr
}

// The locate pipeline. One goroutine reads the records and copies them into
// batches; a pool of workers annotates the batches; the calling goroutine
// writes them in input order. A fixed number of batches circulates, so
// memory stays flat whatever the size of the input.
const (
	batchRecords = 1024
	batchBytes   = 1 << 20
)

type locateBatch struct {
	seq     int
	raw     []byte        // the records' text, one after the other
	ends    []int         // where each record's text ends in raw
	recs    []feed.Record // the records; their Raw points into raw
	out     []byte        // the annotated Features, one per line
	rejects []rejected
}

// shrink lets go of buffers that a few huge records grew, so that memory
// stays flat.
func (b *locateBatch) shrink() {
	const keep = 4 * batchBytes
	if cap(b.raw) > keep {
		b.raw = nil
	}
	if cap(b.out) > keep {
		b.out = nil
	}
}

type rejected struct {
	rec    int // index in recs
	reason string
}

type locateStats struct{ read, annotated, rejected int }

// locateRun annotates the records of inputs with workers goroutines,
// writes them to out and the rejected ones to rejects (if not nil).
func locateRun(l *geo.Line, inputs []string, out io.Writer, rejects *rejectFile, workers int) (locateStats, error) {
	workers = max(workers, 1)
	nb := 2*workers + 2
	free := make(chan *locateBatch, nb)
	for range nb {
		free <- &locateBatch{}
	}
	work := make(chan *locateBatch, nb)
	done := make(chan *locateBatch, nb)
	stop := make(chan struct{}) // closed when the writer gives up

	var readErr error
	go func() {
		defer close(work)
		readErr = readBatches(inputs, free, work, stop)
	}()

	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := newAnnotator(l)
			for b := range work {
				a.annotateBatch(b)
				done <- b
			}
		}()
	}
	go func() {
		wg.Wait()
		close(done)
	}()

	var st locateStats
	var writeErr error
	pending := map[int]*locateBatch{}
	next := 0
	for b := range done {
		pending[b.seq] = b
		for {
			b, ok := pending[next]
			if !ok {
				break
			}
			delete(pending, next)
			next++
			if writeErr == nil {
				st.read += len(b.recs)
				st.rejected += len(b.rejects)
				st.annotated += len(b.recs) - len(b.rejects)
				writeErr = writeBatch(b, out, rejects)
				if writeErr != nil {
					close(stop)
				}
			}
			b.shrink()
			free <- b
		}
	}
	if readErr != nil {
		return st, unusable(readErr)
	}
	if writeErr != nil {
		return st, failed(writeErr)
	}
	return st, nil
}

// readBatches reads the records of inputs into batches taken from free and
// sends them, numbered, to work.
func readBatches(inputs []string, free <-chan *locateBatch, work chan<- *locateBatch, stop <-chan struct{}) error {
	seq := 0
	var b *locateBatch
	take := func() bool {
		select {
		case b = <-free:
		case <-stop:
			return false
		}
		b.seq, seq = seq, seq+1
		b.raw, b.ends, b.recs, b.out, b.rejects = b.raw[:0], b.ends[:0], b.recs[:0], b.out[:0], b.rejects[:0]
		return true
	}
	send := func() {
		// Raw of each record points into raw once raw stops growing.
		off := 0
		for i, end := range b.ends {
			b.recs[i].Raw = b.raw[off:end:end]
			off = end
		}
		work <- b
		b = nil
	}
	for _, name := range inputs {
		src, err := feed.Open(name)
		if err != nil {
			return fmt.Errorf("input: %w", err)
		}
		for {
			rec, err := src.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				src.Close()
				if b != nil {
					send()
				}
				return fmt.Errorf("input %s: %w", name, err)
			}
			if b == nil && !take() {
				src.Close()
				return nil
			}
			b.raw = append(b.raw, rec.Raw...)
			b.ends = append(b.ends, len(b.raw))
			rec.Raw = nil
			b.recs = append(b.recs, rec)
			if len(b.recs) == batchRecords || len(b.raw) >= batchBytes {
				send()
			}
		}
		src.Close()
	}
	if b != nil {
		send()
	}
	return nil
}

// annotateBatch annotates the records of b into b.out.
func (a *annotator) annotateBatch(b *locateBatch) {
	for i := range b.recs {
		r := &b.recs[i]
		if r.Err != "" {
			b.rejects = append(b.rejects, rejected{i, r.Err})
			continue
		}
		var reason string
		b.out, reason = a.annotate(b.out, r.Raw)
		if reason != "" {
			b.rejects = append(b.rejects, rejected{i, reason})
		}
	}
}

func writeBatch(b *locateBatch, out io.Writer, rejects *rejectFile) error {
	if _, err := out.Write(b.out); err != nil {
		return fmt.Errorf("writing output: %w", err)
	}
	if rejects != nil {
		for _, r := range b.rejects {
			if err := rejects.write(&b.recs[r.rec], r.reason); err != nil {
				return fmt.Errorf("writing rejects: %w", err)
			}
		}
	}
	return nil
}

// rejectFile is the --rejects file: one JSON object per line for each
// rejected record (SPEC §5), written by feed.RejectWriter.
type rejectFile struct {
	f *os.File
	w *feed.RejectWriter
}

func createRejects(name string) (*rejectFile, error) {
	f, err := os.Create(name)
	if err != nil {
		return nil, unusable(fmt.Errorf("rejects: %w", err))
	}
	return &rejectFile{f: f, w: feed.NewRejectWriter(f)}, nil
}

func (r *rejectFile) write(rec *feed.Record, reason string) error {
	return r.w.Write(*rec, reason)
}

func (r *rejectFile) Close() error {
	err := errors.Join(r.w.Flush(), r.f.Close())
	if err != nil {
		return failed(fmt.Errorf("writing rejects: %w", err))
	}
	return nil
}
