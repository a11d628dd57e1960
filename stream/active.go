package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/linewatch/linewatch/tlog"
)

// GroupConfig is what RunGroup needs: the engine's configuration (its
// Store a KVStore) and the lease that makes one engine of the group
// active.
type GroupConfig struct {
	Engine Config
	Store  *KVStore
	Lease  *Lease
	// Source makes the source for a run resuming after a sequence.
	Source func(after uint64) Source
	Log    *slog.Logger
}

// RunGroup runs an engine as one of a group of identical ones on a NATS
// cluster, of which one is active and the others wait (standby). It waits
// for the lease; once it holds it, it claims the checkpoint (KVStore.Claim:
// from then on, the engine active before can no longer write it), restores
// the engine from it and consumes the stream after it, as RunResuming
// does. When the lease is lost (the engine was cut off from the servers
// for longer than its TTL), or another engine wrote the state meanwhile
// (ErrFenced), it stops consuming and goes back to waiting. It returns
// when ctx is done (releasing the lease, so that a standby takes over at
// once) or on an error a takeover would not cure (the state belongs to
// another configuration); after any other error it stands by for a while
// and tries again. The driver it returns is the last one that ran (nil
// if none did).
func RunGroup(ctx context.Context, g GroupConfig) (*Driver, error) {
	log := g.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := g.Engine.Metrics
	if m == nil {
		m = NewMetrics()
		g.Engine.Metrics = m
	}
	var last *Driver
	wait := time.Second
	holding := false // the lease, from an earlier turn of the loop
	// pause waits before trying again; false when ctx is done.
	pause := func(what string, err error) bool {
		log.Error(what, "error", err.Error(), "retry_in", wait.String())
		m.SetProblem("engine", err.Error())
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
		return true
	}
	for {
		if holding && g.Lease.Err() != nil {
			g.Lease.Release()
			holding = false
		}
		if !holding {
			m.SetRole(RoleStandby)
			if err := g.Lease.Acquire(ctx); err != nil {
				return last, nil // stopped while waiting
			}
			holding = true
		}
		took := time.Now()
		d, err := g.activate(ctx, log)
		if err != nil {
			if fatal(err) {
				g.Lease.Release()
				return last, err
			}
			if errors.Is(err, ErrFenced) {
				g.Lease.Release()
				holding = false
			}
			if !pause("cannot take the state over; trying again", err) {
				g.Lease.Release()
				return last, nil
			}
			continue
		}
		last = d
		m.SetRole(RoleActive)
		// What stopped the engine before is over.
		m.SetProblem("engine", "")
		m.SetProblem("nats", "")
		log.Info("active: resuming from the checkpoint", "after", d.Seq(), "lease", g.Lease.Key(), "takeover_ms", time.Since(took).Milliseconds())
		runCtx, cancel := context.WithCancel(ctx)
		lost := g.Lease.Lost()
		go func() {
			select {
			case <-lost:
				cancel()
			case <-runCtx.Done():
			}
		}()
		d, err = RunResuming(runCtx, d, d.Seq(), g.Source, log)
		cancel()
		last = d
		if ctx.Err() != nil {
			g.Lease.Release()
			return d, err
		}
		if err == nil && g.Lease.Err() == nil {
			err = errors.New("the input ended") // a NATS source does not end by itself
		}
		if time.Since(took) > time.Minute {
			wait = time.Second // it ran well for a while
		}
		if why := g.Lease.Err(); why != nil || errors.Is(err, ErrFenced) || !g.held() {
			if why == nil {
				why = err
			}
			g.Lease.Release()
			holding = false
			log.Warn("no longer active: back to standby", "why", fmt.Sprint(why))
			continue
		}
		if fatal(err) {
			g.Lease.Release()
			return d, err
		}
		// Whatever stopped the engine (the cluster lost its quorum for
		// longer than the timeouts, the stream or consumer looked changed
		// while its leader moved), it starts again from the checkpoint,
		// keeping its lease while it can.
		if !pause("the engine stopped; resuming from the checkpoint", err) {
			g.Lease.Release()
			return d, nil
		}
	}
}

// fatal tells whether an error is one a takeover would not cure: the state
// belongs to another configuration, or the log to other records.
func fatal(err error) bool {
	return errors.Is(err, ErrOtherConfig) || errors.Is(err, ErrLogState) || errors.Is(err, tlog.ErrDiverged)
}

// activate claims the state and restores an engine from it.
func (g *GroupConfig) activate(ctx context.Context, log *slog.Logger) (*Driver, error) {
	if _, err := g.Store.Claim(); err != nil {
		return nil, err
	}
	if err := g.Store.Sweep(); err != nil {
		log.Warn("could not remove the chunks of unfinished checkpoints", "error", err.Error())
	}
	d := New(g.Engine)
	if _, err := d.Restore(); err != nil {
		return nil, err
	}
	return d, nil
}

// held tells whether the lease on the server is still this engine's.
func (g *GroupConfig) held() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h, ok, err := g.Lease.Current(ctx)
	if err != nil {
		return true // cannot tell: the renewal will
	}
	return ok && h.ID == g.Lease.Holder().ID
}

// Roles of an engine in a group.
const (
	RoleActive  = "active"
	RoleStandby = "standby"
)
