package stream

import (
	"sync"
	"sync/atomic"
	"time"
)

// alertWriter writes the alerts of each batch that made some once a
// checkpoint of the log covers them, on a goroutine of its own: the
// engine consumes the next batches while the log's writes and syncs,
// which a checkpoint waits for, go on. Alerts are written in the order
// they were made, each group after the checkpoint that covers it, and the
// driver's own checkpoint waits for all of them (drain), so that what a
// restart resumes from is as it was when the driver wrote them itself.
type alertWriter struct {
	d    *Driver
	jobs chan alertJob
	wg   sync.WaitGroup // jobs handed in and not yet done
	err  atomic.Pointer[error]
	done chan struct{} // closed when the goroutine has returned
}

// alertJob is the alerts of one batch.
type alertJob struct {
	alerts []byte
	ends   []int     // where each alert ends in alerts
	closed int       // how many closed an episode
	sealed time.Time // when the batch's last record was read
}

func newAlertWriter(d *Driver) *alertWriter {
	w := &alertWriter{d: d, jobs: make(chan alertJob, 16), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *alertWriter) run() {
	defer close(w.done)
	for job := range w.jobs {
		if w.failed() == nil {
			if err := w.write(job); err != nil {
				w.err.CompareAndSwap(nil, &err)
			}
		}
		w.wg.Done()
	}
}

func (w *alertWriter) write(job alertJob) error {
	if err := w.d.publish(job.alerts, job.ends); err != nil {
		return err
	}
	if job.closed > 0 && !job.sealed.IsZero() {
		w.d.observeClosed(job.closed, time.Since(job.sealed))
	}
	return nil
}

// add hands in the alerts the driver made since the last call (d.alerts,
// d.ends), and clears them.
func (w *alertWriter) add(closed int, sealed time.Time) error {
	if err := w.failed(); err != nil {
		return err
	}
	d := w.d
	job := alertJob{alerts: append([]byte(nil), d.alerts...), ends: append([]int(nil), d.ends...), closed: closed, sealed: sealed}
	d.alerts, d.ends = d.alerts[:0], d.ends[:0]
	w.wg.Add(1)
	w.jobs <- job
	return nil
}

// failed is the error that stopped the writer, if any.
func (w *alertWriter) failed() error {
	if p := w.err.Load(); p != nil {
		return *p
	}
	return nil
}

// drain waits until every alert handed in is written, and returns the
// error that stopped the writer, if any.
func (w *alertWriter) drain() error {
	w.wg.Wait()
	return w.failed()
}

// close drains the writer and stops its goroutine.
func (w *alertWriter) close() error {
	err := w.drain()
	close(w.jobs)
	<-w.done
	return err
}
