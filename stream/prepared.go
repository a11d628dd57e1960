package stream

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/encoding/protowire"
)

// A prepared message is what a worker made of one message of the
// sightings stream: for each of its records, in order, why it is rejected
// or its detect.Prepared. It is Protocol Buffers' wire format, written
// field by field: a reader skips the field numbers it does not know, so a
// field can be added without breaking readers; a change readers must not
// miss takes a new version, which they refuse.
//
//	message:  1 version (varint, 1), 2 config (the engine's ConfigID),
//	          3 build (the linewatch build that prepared it: BuildID),
//	          4 worker (its name, for the logs), 5 seq (the sightings
//	          message's stream sequence), 6 stored (its JetStream time, µs,
//	          zigzag: the max_future check's "now"), 7 sum (SHA-256 of its
//	          records as split: recordsSum), 8 record (repeated, in order:
//	          a record's ordinal in the message is its place here)
//	record:   1 reason (rejected: why; absent when accepted),
//	          2 prepared (detect.Prepared.AppendBinary; accepted only),
//	          3 leaf (reserved: the record's leaf hash in the log)
const preparedVersion = 1

// preparedHeader is a prepared message's fields but its records.
type preparedHeader struct {
	version       uint64
	config, build string
	worker        string
	seq           uint64
	stored        int64
	sum           []byte
	records       int
}

// appendPrepared appends the prepared message of msg (whose records b
// holds, prepared in b.items) to dst.
func appendPrepared(dst []byte, h *preparedHeader, b *Batch, m message) ([]byte, error) {
	dst = protowire.AppendTag(dst, 1, protowire.VarintType)
	dst = protowire.AppendVarint(dst, preparedVersion)
	dst = appendString(dst, 2, h.config)
	dst = appendString(dst, 3, h.build)
	dst = appendString(dst, 4, h.worker)
	dst = protowire.AppendTag(dst, 5, protowire.VarintType)
	dst = protowire.AppendVarint(dst, m.seq)
	dst = protowire.AppendTag(dst, 6, protowire.VarintType)
	dst = protowire.AppendVarint(dst, protowire.EncodeZigZag(m.ref))
	sum := recordsSum(b, m)
	dst = protowire.AppendTag(dst, 7, protowire.BytesType)
	dst = protowire.AppendBytes(dst, sum[:])
	var rec []byte
	for i := m.first; i < m.first+m.n; i++ {
		var err error
		if rec, err = appendRecord(rec[:0], &b.items[i]); err != nil {
			return nil, err
		}
		dst = protowire.AppendTag(dst, 8, protowire.BytesType)
		dst = protowire.AppendBytes(dst, rec)
	}
	return dst, nil
}

// appendRecord appends one record's fields.
func appendRecord(dst []byte, it *item) ([]byte, error) {
	if it.reason != "" {
		return appendString(dst, 1, it.reason), nil
	}
	dst = protowire.AppendTag(dst, 2, protowire.BytesType)
	// A prepared sighting is a few dozen bytes: its length takes one or
	// two bytes, reserved here and set once it is written.
	at := len(dst)
	dst = append(dst, 0, 0)
	dst, err := it.p.AppendBinary(dst)
	if err != nil {
		return nil, err
	}
	n := len(dst) - at - 2
	switch {
	case n < 1<<7:
		copy(dst[at+1:], dst[at+2:])
		dst = dst[:len(dst)-1]
		dst[at] = byte(n)
	case n < 1<<14:
		protowire.AppendVarint(dst[:at], uint64(n))
	default:
		body := bytes.Clone(dst[at+2:])
		dst = protowire.AppendBytes(dst[:at], body)
	}
	return dst, nil
}

func appendString(dst []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return dst
	}
	dst = protowire.AppendTag(dst, num, protowire.BytesType)
	return protowire.AppendString(dst, s)
}

// errPrepared is what a prepared message that cannot be read is refused
// with.
var errPrepared = errors.New("malformed prepared message")

// readPrepared reads a prepared message: its header, and its records into
// items, which must have room for exactly as many.
func readPrepared(data []byte, items []item) (preparedHeader, error) {
	var h preparedHeader
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return h, fmt.Errorf("%w: %v", errPrepared, protowire.ParseError(n))
		}
		data = data[n:]
		var u uint64
		var v []byte
		switch typ {
		case protowire.VarintType:
			u, n = protowire.ConsumeVarint(data)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(data)
		default:
			n = protowire.ConsumeFieldValue(num, typ, data)
		}
		if n < 0 {
			return h, fmt.Errorf("%w: field %d: %v", errPrepared, num, protowire.ParseError(n))
		}
		data = data[n:]
		switch num {
		case 1:
			h.version = u
			if u != preparedVersion {
				return h, fmt.Errorf("%w: version %d, this linewatch reads version %d", errPrepared, u, preparedVersion)
			}
		case 2:
			h.config = string(v)
		case 3:
			h.build = string(v)
		case 4:
			h.worker = string(v)
		case 5:
			h.seq = u
		case 6:
			h.stored = protowire.DecodeZigZag(u)
		case 7:
			h.sum = v
		case 8:
			if h.records >= len(items) {
				return h, fmt.Errorf("%w: more records than the sightings message holds (%d)", errPrepared, len(items))
			}
			if err := readRecord(v, &items[h.records]); err != nil {
				return h, fmt.Errorf("%w: record %d: %v", errPrepared, h.records, err)
			}
			h.records++
		}
	}
	if h.version == 0 {
		return h, fmt.Errorf("%w: no version", errPrepared)
	}
	return h, nil
}

// readRecord reads one record's fields into it.
func readRecord(data []byte, it *item) error {
	*it = item{}
	accepted := false
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
		if typ != protowire.BytesType {
			if n = protowire.ConsumeFieldValue(num, typ, data); n < 0 {
				return protowire.ParseError(n)
			}
			data = data[n:]
			continue
		}
		v, n := protowire.ConsumeBytes(data)
		if n < 0 {
			return protowire.ParseError(n)
		}
		data = data[n:]
		switch num {
		case 1:
			it.reason = string(v)
		case 2:
			if err := it.p.UnmarshalBinary(v); err != nil {
				return err
			}
			accepted = true
		}
	}
	if accepted == (it.reason != "") {
		return errors.New("a record is either rejected or prepared")
	}
	return nil
}

// recordsSum is the SHA-256 of a message's records as split (each
// record's text and the splitter's reason, length first): it binds a
// prepared message to the very records the engine holds.
func recordsSum(b *Batch, m message) [32]byte {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for i := m.first; i < m.first+m.n; i++ {
		r := &b.Recs[i]
		h.Write(binary.AppendUvarint(n[:0], uint64(len(r.Raw))))
		h.Write(r.Raw)
		h.Write(binary.AppendUvarint(n[:0], uint64(len(r.Err))))
		h.Write([]byte(r.Err))
	}
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// message is one broker message among a batch's records.
type message struct {
	seq      uint64
	ref      int64 // its JetStream time, µs
	first, n int   // its records: Recs[first : first+n]
}

// DefaultPreparedStream is the JetStream stream that holds what workers
// prepared.
const DefaultPreparedStream = "LINEWATCH_PREPARED"

// PreparedSubject is the subject prefix of the prepared messages of the
// engine group whose durable consumer is group: message S of the
// sightings stream is prepared on PREFIX.S.
func PreparedSubject(group string) string { return "linewatch.prepared." + sanitizeToken(group) }

func preparedSubject(group string, seq uint64) string {
	return PreparedSubject(group) + "." + strconv.FormatUint(seq, 10)
}

// EnsurePreparedStream returns the stream of prepared messages, creating
// it if absent: it captures linewatch.prepared.>, keeps one message per
// subject (the first one stored: workers publish on condition that the
// subject is empty), answers direct gets (the engine looks a message up by
// its subject), and keeps messages for maxAge — long enough for an engine
// that lags behind or takes over to find them, and no longer, since an
// engine prepares itself what it does not find. While JetStream does not
// answer it tries again, as EnsureStream does.
func EnsurePreparedStream(ctx context.Context, js jetstream.JetStream, name string, replicas int, maxAge time.Duration) (jetstream.Stream, error) {
	var s jetstream.Stream
	err := retryCtx(ctx, setupWait, apiAttempt, func(ctx context.Context) error {
		var err error
		s, err = ensurePreparedStream(ctx, js, name, replicas, maxAge)
		return err
	})
	return s, err
}

// ensurePreparedStream is one attempt of EnsurePreparedStream.
func ensurePreparedStream(ctx context.Context, js jetstream.JetStream, name string, replicas int, maxAge time.Duration) (jetstream.Stream, error) {
	s, err := js.Stream(ctx, name)
	if err == nil {
		// Made by someone else, it might capture what is not prepared
		// records, or keep them otherwise.
		if c := s.CachedInfo().Config; len(c.Subjects) != 1 || c.Subjects[0] != preparedSubjects || c.MaxMsgsPerSubject != 1 || !c.AllowDirect {
			return nil, fmt.Errorf("JetStream stream %s is not a stream of prepared records (subjects %q, %d messages a subject, direct get %v): delete it, or name another with --prepared-stream",
				name, c.Subjects, c.MaxMsgsPerSubject, c.AllowDirect)
		}
		return s, nil
	}
	if !errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil, fmt.Errorf("JetStream stream %s: %w", name, err)
	}
	s, err = js.CreateStream(ctx, jetstream.StreamConfig{
		Name:              name,
		Description:       "linewatch: sightings messages prepared by workers, one per subject",
		Subjects:          []string{preparedSubjects},
		Storage:           jetstream.FileStorage,
		Retention:         jetstream.LimitsPolicy,
		MaxMsgsPerSubject: 1,
		MaxAge:            maxAge,
		AllowDirect:       true,
		Replicas:          max(replicas, 1),
		Compression:       jetstream.S2Compression,
		Duplicates:        time.Minute,
	})
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		return js.Stream(ctx, name)
	}
	if err != nil {
		return nil, fmt.Errorf("creating JetStream stream %s (an engine with --worker-wait creates it): %w", name, err)
	}
	return s, nil
}

// preparedSubjects is what the prepared stream captures.
const preparedSubjects = "linewatch.prepared.>"

// DefaultPreparedMaxAge is how long the prepared stream keeps a message.
const DefaultPreparedMaxAge = time.Hour
