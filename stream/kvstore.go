package stream

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// DefaultStateBucket is the JetStream key-value bucket that holds the
// engines' checkpoints and leases on a NATS cluster.
const DefaultStateBucket = "linewatch"

// KVStore keeps the checkpoint in a JetStream key-value bucket, so that an
// engine on any host can resume it. With a bucket of 3 replicas the
// checkpoint survives the loss of any one NATS server.
//
// The checkpoint of one engine group (named after its durable consumer)
// is the key NAME.checkpoint. A checkpoint larger than a message is split
// into chunks, written first under keys of their own
// (NAME.chunk.WRITER.GEN.I, unique to the writing process), and the head
// key, written last, names them with their SHA-256: a checkpoint is
// replaced by one write of the head, which is what makes it atomic.
//
// Every write of the head is conditional on the revision this store last
// loaded or wrote, so an engine that another one has taken over from (it
// was paused, or cut off from the network, while its lease ran out)
// cannot overwrite the newer checkpoint: Save then returns ErrFenced.
type KVStore struct {
	js     jetstream.JetStream
	kv     jetstream.KeyValue
	bucket string
	name   string // the key prefix: the engine group
	writer string // unique to this store: its chunks' keys
	rev    uint64 // revision of the head this store last read or wrote (0: none)
	gen    uint64
	chunk  int    // the largest chunk, in bytes
	chunks string // key prefix of the chunks the head names ("": none)

	// Timeout bounds each operation on the bucket.
	Timeout time.Duration
}

// kvHead is the value of the head key.
type kvHead struct {
	Data   []byte `json:"data,omitempty"`   // the checkpoint, when it fits
	Chunks string `json:"chunks,omitempty"` // else: the key prefix of its chunks
	N      int    `json:"n,omitempty"`      // how many
	Size   int    `json:"size,omitempty"`
	Sum    []byte `json:"sha256,omitempty"`
}

// StateBucket returns the key-value bucket that holds the state, creating
// it (file storage, with replicas, one value per key, and the markers
// that per-key time-to-live, which the lease uses, needs) if absent.
func StateBucket(ctx context.Context, js jetstream.JetStream, bucket string, replicas int) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, bucket)
	if err == nil {
		return kv, nil
	}
	if !errors.Is(err, jetstream.ErrBucketNotFound) {
		return nil, fmt.Errorf("JetStream key-value bucket %s: %w", bucket, err)
	}
	kv, err = js.CreateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:         bucket,
		Description:    "linewatch: engine checkpoints and leases",
		History:        1,
		Storage:        jetstream.FileStorage,
		Replicas:       max(replicas, 1),
		LimitMarkerTTL: time.Minute,
	})
	if errors.Is(err, jetstream.ErrBucketExists) {
		return js.KeyValue(ctx, bucket)
	}
	if err != nil {
		return nil, fmt.Errorf("creating JetStream key-value bucket %s: %w", bucket, err)
	}
	return kv, nil
}

// OpenKVStore opens the checkpoint of the engine group name in kv. chunk
// is the largest value it writes (the connection's maximum payload, less
// room for headers).
func OpenKVStore(js jetstream.JetStream, kv jetstream.KeyValue, name string, chunk int) *KVStore {
	return &KVStore{js: js, kv: kv, bucket: kv.Bucket(), name: sanitizeToken(name), writer: nuid.Next(),
		chunk: max(chunk, 1024), Timeout: 30 * time.Second}
}

// Path says where the checkpoint is.
func (s *KVStore) Path() string {
	return "JetStream key-value " + s.bucket + "/" + s.headKey()
}

func (s *KVStore) headKey() string { return s.name + ".checkpoint" }

// Close does nothing: the bucket belongs to the connection.
func (s *KVStore) Close() error { return nil }

// Load reads the checkpoint and remembers its revision, which the next
// Save expects.
func (s *KVStore) Load() (*Checkpoint, error) {
	var cp *Checkpoint
	var rev uint64
	var chunks string
	err := retry(s.Timeout, apiAttempt, func(ctx context.Context) error {
		cp, rev, chunks = nil, 0, ""
		e, err := s.kv.Get(ctx, s.headKey())
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		var h kvHead
		if err := json.Unmarshal(e.Value(), &h); err != nil {
			return err
		}
		data := h.Data
		if h.Chunks != "" {
			data = make([]byte, 0, h.Size)
			for i := range h.N {
				c, err := s.kv.Get(ctx, h.Chunks+"."+strconv.Itoa(i))
				if err != nil {
					return fmt.Errorf("chunk %d of %d: %w", i, h.N, err)
				}
				data = append(data, c.Value()...)
			}
			if sum := sha256.Sum256(data); string(sum[:]) != string(h.Sum) || len(data) != h.Size {
				return errors.New("its chunks do not add up to what the head names")
			}
		}
		if cp, err = decodeCheckpoint(data); err != nil {
			return err
		}
		rev, chunks = e.Revision(), h.Chunks
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s: %w", s.Path(), err)
	}
	s.rev, s.chunks = rev, chunks
	return cp, nil
}

// Save writes the checkpoint: its chunks if it needs them, then the head,
// on condition that the head is still at the revision this store knows;
// then it removes the chunks of the checkpoint it replaced.
func (s *KVStore) Save(cp *Checkpoint) error {
	data, err := encodeCheckpoint(cp)
	if err != nil {
		return err
	}
	var h kvHead
	if len(data) <= s.chunk {
		h.Data = data
	} else {
		s.gen++
		sum := sha256.Sum256(data)
		h = kvHead{Chunks: s.name + ".chunk." + s.writer + "." + strconv.FormatUint(s.gen, 10), Size: len(data), Sum: sum[:]}
		var acks []jetstream.PubAckFuture
		for off := 0; off < len(data); off += s.chunk {
			subj := "$KV." + s.bucket + "." + h.Chunks + "." + strconv.Itoa(h.N)
			f, err := s.js.PublishAsync(subj, data[off:min(off+s.chunk, len(data))])
			if err != nil {
				// Disconnected, say: published again below.
				f = nil
			}
			acks = append(acks, f)
			h.N++
		}
		for i, f := range acks {
			if f != nil {
				select {
				case <-f.Ok():
					continue
				case <-f.Err():
				case <-time.After(s.Timeout):
				}
			}
			// A chunk's key is this writer's own: writing it again is safe.
			off := i * s.chunk
			chunk := data[off:min(off+s.chunk, len(data))]
			key := h.Chunks + "." + strconv.Itoa(i)
			if err := retry(s.Timeout, apiAttempt, func(ctx context.Context) error {
				_, err := s.kv.Put(ctx, key, chunk)
				return err
			}); err != nil {
				return fmt.Errorf("checkpoint %s: chunk %d: %w", s.Path(), i, err)
			}
		}
	}
	head, err := json.Marshal(h)
	if err != nil {
		return err
	}
	var rev uint64
	tries := 0
	err = retry(s.Timeout, apiAttempt, func(ctx context.Context) error {
		tries++
		var err error
		if s.rev == 0 {
			rev, err = s.kv.Create(ctx, s.headKey(), head)
		} else {
			rev, err = s.kv.Update(ctx, s.headKey(), head, s.rev)
		}
		if tries > 1 && (errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)) {
			// An attempt before this one may have been stored, its answer
			// lost: then the head is ours.
			if e, gerr := s.kv.Get(ctx, s.headKey()); gerr == nil && string(e.Value()) == string(head) {
				rev, err = e.Revision(), nil
			}
		}
		return err
	})
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		ctx, cancel := context.WithTimeout(context.Background(), apiAttempt)
		s.purge(ctx, h.Chunks)
		cancel()
		return fmt.Errorf("checkpoint %s: %w (it is no longer at revision %d)", s.Path(), ErrFenced, s.rev)
	}
	if err != nil {
		return fmt.Errorf("checkpoint %s: %w", s.Path(), err)
	}
	old := s.chunks
	s.rev, s.chunks = rev, h.Chunks
	ctx, cancel := context.WithTimeout(context.Background(), apiAttempt)
	s.purge(ctx, old)
	cancel()
	return nil
}

// purge removes the chunks under prefix, if any (without leaving
// markers: nothing refers to them).
func (s *KVStore) purge(ctx context.Context, prefix string) {
	if prefix == "" {
		return
	}
	st, err := s.js.Stream(ctx, "KV_"+s.bucket)
	if err != nil {
		return
	}
	// Left behind, they are taken at the next takeover (Sweep).
	st.Purge(ctx, jetstream.WithPurgeSubject("$KV."+s.bucket+"."+prefix+".>"))
}

// Sweep removes the chunks that no checkpoint names: those of engines
// that stopped between writing chunks and the head. An engine calls it
// once it has taken the state over.
func (s *KVStore) Sweep() error {
	ctx, cancel := context.WithTimeout(context.Background(), apiAttempt)
	defer cancel()
	st, err := s.js.Stream(ctx, "KV_"+s.bucket)
	if err != nil {
		return err
	}
	pre := "$KV." + s.bucket + "."
	info, err := st.Info(ctx, jetstream.WithSubjectFilter(pre+s.name+".chunk.>"))
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for subj := range info.State.Subjects {
		k := strings.TrimPrefix(subj, pre)
		i := strings.LastIndexByte(k, '.')
		if i < 0 {
			continue
		}
		p := k[:i]
		if p != s.chunks && !seen[p] {
			seen[p] = true
			s.purge(ctx, p)
		}
	}
	return nil
}

// Claim loads the checkpoint and writes it back unchanged, which moves
// the head to a revision of this store's own: from then on a checkpoint
// written by an engine that held the state before fails (ErrFenced), and
// only this one's count. It returns the checkpoint (nil: none yet).
func (s *KVStore) Claim() (*Checkpoint, error) {
	for range 10 {
		cp, err := s.Load()
		if err != nil {
			return nil, err
		}
		if cp == nil {
			return nil, nil // the first Save, a Create, is exclusive
		}
		err = s.Save(cp)
		if errors.Is(err, ErrFenced) {
			continue // the engine before wrote once more meanwhile
		}
		if err != nil {
			return nil, err
		}
		return cp, nil
	}
	return nil, fmt.Errorf("checkpoint %s: another engine keeps writing it", s.Path())
}

// Probe tells why the bucket cannot be used now ("" when it can).
func (s *KVStore) Probe(ctx context.Context) string {
	if _, err := s.kv.Status(ctx); err != nil {
		return "JetStream key-value bucket " + s.bucket + ": " + err.Error()
	}
	return ""
}
