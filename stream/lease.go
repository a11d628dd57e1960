package stream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// DefaultLeaseTTL is how long a lease lasts without being renewed.
const DefaultLeaseTTL = 5 * time.Second

// Lease makes one engine of a group active: the one that holds the key
// NAME.lease in the state bucket. The key is written with a time-to-live
// (JetStream's per-message TTL), and the holder renews it, each write on
// condition of the revision it wrote before; when the holder dies, or is
// cut off from the servers, the key expires on the server's clock and
// another engine creates it. JetStream's replicated key-value store is
// the arbiter: no clocks are compared between hosts.
//
// The lease decides who should write; it does not by itself stop an engine
// that lost it without knowing (paused, or cut off) from writing. That is
// what the conditional writes of the checkpoint (KVStore) and of the
// alerts (NATSSink) do.
type Lease struct {
	kv     jetstream.KeyValue
	js     jetstream.JetStream
	key    string
	holder LeaseHolder
	ttl    time.Duration
	log    *slog.Logger

	mu   sync.Mutex
	rev  uint64
	lost chan struct{} // closed when the lease is lost
	why  error
	stop chan struct{}
	done chan struct{}
}

// LeaseHolder is the value of the lease key: who holds it.
type LeaseHolder struct {
	ID    string    `json:"id"`
	Host  string    `json:"host"`
	PID   int       `json:"pid"`
	Since time.Time `json:"since"`
}

// NewLease returns the lease of the engine group name in kv, not yet
// acquired.
func NewLease(js jetstream.JetStream, kv jetstream.KeyValue, name string, ttl time.Duration, log *slog.Logger) *Lease {
	if ttl < time.Second {
		ttl = DefaultLeaseTTL
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	return &Lease{kv: kv, js: js, key: sanitizeToken(name) + ".lease", ttl: ttl, log: log,
		holder: LeaseHolder{ID: nuid.Next(), Host: host, PID: os.Getpid()}}
}

// Key is the lease's key in the bucket.
func (l *Lease) Key() string { return l.key }

// Holder is who this lease's holder is, when it holds it.
func (l *Lease) Holder() LeaseHolder { return l.holder }

// Current returns who holds the lease now (ok false: nobody).
func (l *Lease) Current(ctx context.Context) (h LeaseHolder, ok bool, err error) {
	e, err := l.kv.Get(ctx, l.key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return h, false, nil
	}
	if err != nil {
		return h, false, err
	}
	if err := json.Unmarshal(e.Value(), &h); err != nil {
		return h, false, fmt.Errorf("lease %s: %w", l.key, err)
	}
	return h, true, nil
}

// Acquire waits until this engine holds the lease (or ctx is done), then
// keeps renewing it until Release or until it is lost (Lost).
func (l *Lease) Acquire(ctx context.Context) error {
	poll := min(max(l.ttl/10, 100*time.Millisecond), time.Second)
	said := false
	for {
		l.holder.Since = time.Now().UTC()
		val, _ := json.Marshal(l.holder)
		cctx, cancel := context.WithTimeout(ctx, l.ttl)
		rev, err := l.kv.Create(cctx, l.key, val, jetstream.KeyTTL(l.ttl))
		cancel()
		sent := l.holder.Since
		if err == nil {
			l.mu.Lock()
			l.rev, l.why = rev, nil
			l.lost, l.stop, l.done = make(chan struct{}), make(chan struct{}), make(chan struct{})
			l.mu.Unlock()
			go l.renew(sent)
			return nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && ctx.Err() == nil {
			l.log.Warn("cannot reach the lease", "key", l.key, "error", err.Error())
		} else if !said {
			if h, ok, _ := l.Current(ctx); ok {
				l.log.Info("standby: another engine is active", "active_host", h.Host, "active_pid", h.PID, "lease", l.key)
				said = true
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// renew rewrites the lease every quarter of its TTL. It gives it up as
// lost when a write finds another revision (someone else holds it now),
// or when no write has succeeded for long enough that the server may
// have let it expire.
func (l *Lease) renew(last time.Time) {
	defer close(l.done)
	t := time.NewTicker(l.ttl / 4)
	defer t.Stop()
	// The server lets the key expire ttl after it stored the last write;
	// that was after last, so giving up a little before ttl from last is
	// safe whatever the clocks say.
	deadline := l.ttl - l.ttl/5
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		sent := time.Now()
		val, _ := json.Marshal(l.holder)
		m := &nats.Msg{Subject: "$KV." + l.kv.Bucket() + "." + l.key, Data: val}
		ctx, cancel := context.WithTimeout(context.Background(), l.ttl/4)
		l.mu.Lock()
		rev := l.rev
		l.mu.Unlock()
		ack, err := l.js.PublishMsg(ctx, m, jetstream.WithExpectLastSequencePerSubject(rev), jetstream.WithMsgTTL(l.ttl))
		cancel()
		if err == nil {
			l.mu.Lock()
			l.rev = ack.Sequence
			l.mu.Unlock()
			last = sent
			continue
		}
		var apiErr *jetstream.APIError
		if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
			l.lose(fmt.Errorf("lease %s: another engine holds it now", l.key))
			return
		}
		if time.Since(last) >= deadline {
			l.lose(fmt.Errorf("lease %s: not renewed for %s (%v): another engine may hold it now", l.key, time.Since(last).Round(time.Millisecond), err))
			return
		}
		l.log.Warn("cannot renew the lease; trying again", "key", l.key, "error", err.Error())
	}
}

func (l *Lease) lose(why error) {
	l.mu.Lock()
	l.why = why
	l.mu.Unlock()
	close(l.lost)
}

// Lost is closed when the lease is lost; Err then says why.
func (l *Lease) Lost() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}

// Err says why the lease was lost.
func (l *Lease) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.why
}

// Release stops renewing the lease and deletes it, if this engine still
// holds it, so that a standby takes over at once rather than after the
// TTL.
func (l *Lease) Release() {
	l.mu.Lock()
	stop, done := l.stop, l.done
	l.mu.Unlock()
	if stop == nil {
		return
	}
	close(stop)
	<-done
	l.mu.Lock()
	l.stop = nil
	rev, lost := l.rev, l.why != nil
	l.mu.Unlock()
	if lost {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), l.ttl)
	defer cancel()
	if err := l.kv.Delete(ctx, l.key, jetstream.LastRevision(rev)); err != nil {
		l.log.Warn("could not release the lease; it expires by itself", "key", l.key, "error", err.Error())
	}
}
