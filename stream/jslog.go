package stream

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linewatch/linewatch/tlog"
)

// JetStreamLog keeps a log (tlog.Storage) in JetStream, for an engine
// group whose state is there: its tiles, entry bundles, signed bodies and
// long records in an object store (objects of any size, replicated like
// the rest), its checkpoint under a key of the state bucket. A group of
// engines shares it; the active one writes it.
//
// Every object but the checkpoint is immutable and a function of the
// records consumed, so an engine that lost its lease without knowing
// writes the very bytes the active one does. The checkpoint is written on
// condition of the revision this store claimed or last wrote (as KVStore
// writes the engine's checkpoint): once another engine has claimed the
// log, a checkpoint from this one fails with ErrFenced, so that a stale
// engine can never move the log's published checkpoint.
//
// JetStream acknowledges a write once the replicas have it, so every Put
// is durable when it returns and Sync has nothing to do.
type JetStreamLog struct {
	obj    jetstream.ObjectStore
	bucket string
	kv     jetstream.KeyValue
	prefix string // object names: the engine group's
	key    string // the checkpoint's key

	mu  sync.Mutex
	rev uint64 // the checkpoint's revision claimed or last written (0: none)

	// Timeout bounds each operation, retried meanwhile while the cluster
	// elects leaders.
	Timeout time.Duration
}

// OpenJetStreamLog opens (creating it if absent, with replicas) the object
// store bucket that holds the logs of engine groups, and returns the log of
// group name in it, its checkpoint kept in kv (the state bucket) as
// NAME.log.
func OpenJetStreamLog(ctx context.Context, js jetstream.JetStream, bucket string, kv jetstream.KeyValue, name string, replicas int) (*JetStreamLog, error) {
	obj, err := js.ObjectStore(ctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		obj, err = js.CreateObjectStore(ctx, jetstream.ObjectStoreConfig{
			Bucket:      bucket,
			Description: "linewatch: the tamper-evident logs of engine groups (tiles, entry bundles, signed bodies)",
			Storage:     jetstream.FileStorage,
			Replicas:    max(replicas, 1),
		})
		if errors.Is(err, jetstream.ErrBucketExists) {
			obj, err = js.ObjectStore(ctx, bucket)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("JetStream object store %s: %w", bucket, err)
	}
	n := sanitizeToken(name)
	return &JetStreamLog{obj: obj, bucket: bucket, kv: kv, prefix: n + "/", key: n + ".log", Timeout: 30 * time.Second}, nil
}

// Where says where the log is, for messages.
func (l *JetStreamLog) Where() string {
	return fmt.Sprintf("JetStream object store %s/%s* (checkpoint: key-value %s/%s)", l.bucket, l.prefix, l.kv.Bucket(), l.key)
}

// Claim makes this engine the one whose checkpoints count: it reads the
// checkpoint's revision, on which its next write is conditional. The
// engine claims the log after it has claimed the state (KVStore.Claim), so
// an engine that took over before it cannot be a step ahead.
func (l *JetStreamLog) Claim(ctx context.Context) error {
	var rev uint64
	err := retry(l.Timeout, apiAttempt, func(ctx context.Context) error {
		e, err := l.kv.Get(ctx, l.key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			rev = 0
			return nil
		case err != nil:
			return err
		}
		rev = e.Revision()
		return nil
	})
	if err != nil {
		return fmt.Errorf("log checkpoint %s/%s: %w", l.kv.Bucket(), l.key, err)
	}
	l.mu.Lock()
	l.rev = rev
	l.mu.Unlock()
	return nil
}

// Get returns an object, or an error wrapping fs.ErrNotExist.
func (l *JetStreamLog) Get(_ context.Context, name string) ([]byte, error) {
	var data []byte
	err := retry(l.Timeout, apiAttempt, func(ctx context.Context) error {
		if name == tlog.CheckpointName {
			e, err := l.kv.Get(ctx, l.key)
			if err != nil {
				return err
			}
			data = e.Value()
			return nil
		}
		var err error
		data, err = l.obj.GetBytes(ctx, l.prefix+name)
		return err
	})
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrObjectNotFound) {
		return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return data, nil
}

// Put writes an object; the checkpoint only on condition that no other
// engine wrote it since this one claimed it (else ErrFenced).
func (l *JetStreamLog) Put(_ context.Context, name string, data []byte) error {
	if name == tlog.CheckpointName {
		return l.putCheckpoint(data)
	}
	err := retry(l.Timeout, apiAttempt, func(ctx context.Context) error {
		_, err := l.obj.PutBytes(ctx, l.prefix+name, data)
		return err
	})
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func (l *JetStreamLog) putCheckpoint(data []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var rev uint64
	tries := 0
	err := retry(l.Timeout, apiAttempt, func(ctx context.Context) error {
		tries++
		var err error
		if l.rev == 0 {
			rev, err = l.kv.Create(ctx, l.key, data)
		} else {
			rev, err = l.kv.Update(ctx, l.key, data, l.rev)
		}
		if tries > 1 && (errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)) {
			// An attempt before this one may have been stored, its answer
			// lost: then the checkpoint is ours.
			if e, gerr := l.kv.Get(ctx, l.key); gerr == nil && string(e.Value()) == string(data) {
				rev, err = e.Revision(), nil
			}
		}
		return err
	})
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return fmt.Errorf("log checkpoint %s/%s: %w (it is no longer at revision %d)", l.kv.Bucket(), l.key, ErrFenced, l.rev)
	}
	if err != nil {
		return fmt.Errorf("log checkpoint %s/%s: %w", l.kv.Bucket(), l.key, err)
	}
	l.rev = rev
	return nil
}

// Delete removes an object (a partial tile once its full tile is written).
func (l *JetStreamLog) Delete(_ context.Context, name string) error {
	err := retry(l.Timeout, apiAttempt, func(ctx context.Context) error {
		return l.obj.Delete(ctx, l.prefix+name)
	})
	if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// Sync has nothing to do: every Put was acknowledged by the replicas.
func (l *JetStreamLog) Sync(context.Context) error { return nil }

// Probe tells why the log cannot be written now ("" when it can).
func (l *JetStreamLog) Probe(ctx context.Context) string {
	if _, err := l.obj.Status(ctx); err != nil {
		return "JetStream object store " + l.bucket + ": " + err.Error()
	}
	return ""
}
