package stream

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/linewatch/linewatch/tlog"
)

// Checkpoint is what a restart resumes from: everything that depends on
// the records consumed so far, taken between two records.
type Checkpoint struct {
	Version int
	// Config identifies the line and policy the state was computed with;
	// a restart with others would mix two analyses.
	Config string
	// Seq is the broker stream sequence of the last record consumed.
	Seq uint64
	// Ref is the source's "now" (µs) after it: where the next records'
	// instants start from (Batcher.Ref).
	Ref     int64
	Counts  Counts
	Alerts  []byte // the alert sink's position (AlertSink.State)
	Rejects int64  // the rejects file's length
	Engine  []byte // detect.Stream.MarshalBinary
	// LogSize and LogRoot are the tree head of the log (Config.Log) when
	// the checkpoint was taken: the entries a restart finds in the log
	// and appends after. A checkpoint of a driver without a log has
	// LogSize 0.
	LogSize uint64
	LogRoot tlog.Hash
	Written time.Time
}

const checkpointVersion = 1

var (
	bucketName    = []byte("linewatch")
	checkpointKey = []byte("checkpoint")
)

// Store keeps the checkpoint: a local file (BoltStore, the embedded
// server's default) or a JetStream key-value bucket (KVStore, for a NATS
// cluster, where any engine can resume it). Save replaces the checkpoint
// atomically: a Load after a crash finds the last one saved whole.
type Store interface {
	// Load returns the checkpoint, or nil if there is none yet.
	Load() (*Checkpoint, error)
	// Save writes the checkpoint, durably when it returns. It returns an
	// error wrapping ErrFenced when another engine wrote the checkpoint
	// since this one loaded or saved it.
	Save(cp *Checkpoint) error
	// Path says where the checkpoint is, for messages.
	Path() string
	Close() error
}

// ErrFenced is returned by Store.Save when another engine took the state
// over: this one must stop writing.
var ErrFenced = errors.New("another engine has taken the state over")

// BoltStore keeps the checkpoint in a bbolt file under the state
// directory. bbolt writes a transaction atomically and locks the file, so
// two processes cannot share a state directory.
type BoltStore struct {
	db   *bolt.DB
	path string
}

// OpenStore opens (creating it if needed) the checkpoint file in dir. A
// directory it creates is its owner's only (0700): it holds the sightings
// JetStream stored and the key of the embedded server's listener.
func OpenStore(dir string) (*BoltStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	path := filepath.Join(dir, "checkpoint.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("state %s is in use by another process", dir)
		}
		return nil, fmt.Errorf("state: %w", err)
	}
	return &BoltStore{db: db, path: path}, nil
}

// Path is the checkpoint file's path.
func (s *BoltStore) Path() string { return s.path }

// Load returns the checkpoint, or nil if there is none yet.
func (s *BoltStore) Load() (*Checkpoint, error) {
	var cp *Checkpoint
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketName)
		if b == nil {
			return nil
		}
		data := b.Get(checkpointKey)
		if data == nil {
			return nil
		}
		var err error
		cp, err = decodeCheckpoint(data)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", s.path, err)
	}
	return cp, nil
}

// Save writes the checkpoint in one transaction (synced to disk when it
// returns).
func (s *BoltStore) Save(cp *Checkpoint) error {
	data, err := encodeCheckpoint(cp)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketName)
		if err != nil {
			return err
		}
		return b.Put(checkpointKey, data)
	})
}

// Close closes the file.
func (s *BoltStore) Close() error { return s.db.Close() }

func encodeCheckpoint(cp *Checkpoint) ([]byte, error) {
	cp.Version = checkpointVersion
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(cp); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func decodeCheckpoint(data []byte) (*Checkpoint, error) {
	cp := new(Checkpoint)
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(cp); err != nil {
		return nil, err
	}
	if cp.Version != checkpointVersion {
		return nil, fmt.Errorf("version %d, want %d", cp.Version, checkpointVersion)
	}
	return cp, nil
}
