package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"syscall"
	"time"
)

// NoSpace tells whether err is a write that failed for want of space: the
// disk is full (ENOSPC), a quota is reached (EDQUOT) or a file size limit
// (EFBIG).
func NoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) || errors.Is(err, syscall.EFBIG)
}

// RunResuming runs d on the source made for the sequence after which it
// resumes (after, from d.Restore), as Driver.Run does. When the run stops
// because the driver could not write its output, rejects or checkpoint
// for want of space (NoSpace), it does not give up: it says so in the log
// and in /healthz, waits (1 s, then twice as long each time, up to 30 s),
// and starts again from the last checkpoint with a new driver, as a
// restart of the process would — the files cut back to what the checkpoint
// covers, the records after it consumed again — so that the output is the
// same as if the disk had never been full. It returns the driver that ran
// last. Without a Store there is nothing to resume from: the error is
// returned.
func RunResuming(ctx context.Context, d *Driver, after uint64, source func(after uint64) Source, log *slog.Logger) (*Driver, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	wait := time.Second
	for {
		err := d.Run(ctx, source(after))
		if err == nil || d.cfg.Store == nil || !NoSpace(err) {
			return d, err
		}
		d.cfg.Metrics.SetProblem("engine", "cannot write: "+err.Error())
		for {
			log.Error("cannot write the output or the checkpoint; resuming from the last checkpoint when there is space",
				"error", err.Error(), "retry_in", wait.String())
			select {
			case <-ctx.Done():
				// Stopped while waiting: the last checkpoint stands.
				nd := New(d.cfg)
				_, rerr := nd.Restore()
				return nd, rerr
			case <-time.After(wait):
			}
			wait = min(2*wait, 30*time.Second)
			nd := New(d.cfg)
			if after, err = nd.Restore(); err != nil {
				if NoSpace(err) {
					continue
				}
				return nd, fmt.Errorf("restoring the checkpoint: %w", err)
			}
			d = nd
			log.Info("resuming from the last checkpoint", "after", after)
			break
		}
	}
}
