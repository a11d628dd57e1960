package stream

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
	"github.com/linewatch/linewatch/output"
)

// AlertSink is where alerts go. The driver writes the alerts of a batch,
// then calls Flush; before a checkpoint it calls Sync and records State,
// which Restore takes back after a restart.
type AlertSink interface {
	Write(a detect.Alert) error
	// Flush hands on what was written (alerts leave within a batch).
	Flush() error
	// Sync makes everything written so far durable.
	Sync() error
	// State is the sink's position, for a checkpoint.
	State() []byte
	// Restore goes back to a position State gave (nil: the beginning,
	// with nothing written).
	Restore(state []byte) error
	Close() error
}

// FileSink writes alerts as GeoJSONSeq, one Feature per line, to a Log.
type FileSink struct {
	log  *Log
	line *geo.Line
	pol  detect.Policy
	buf  []byte
}

// NewFileSink returns a sink writing to log.
func NewFileSink(log *Log, line *geo.Line, pol detect.Policy) *FileSink {
	return &FileSink{log: log, line: line, pol: pol}
}

func (s *FileSink) Write(a detect.Alert) error {
	s.buf = output.AppendAlert(s.buf[:0], s.line, s.pol, a)
	s.buf = append(s.buf, '\n')
	_, err := s.log.Write(s.buf)
	return err
}

func (s *FileSink) Flush() error { return s.log.Flush() }
func (s *FileSink) Sync() error  { return s.log.Sync() }
func (s *FileSink) Close() error { return s.log.Close() }

// State is the file's length.
func (s *FileSink) State() []byte {
	return binary.AppendVarint(nil, s.log.Len())
}

// Restore cuts the file back to the length State gave.
func (s *FileSink) Restore(state []byte) error {
	var n int64
	if len(state) > 0 {
		var k int
		if n, k = binary.Varint(state); k <= 0 {
			return errors.New("checkpoint: bad output position")
		}
	}
	return s.log.Truncate(n)
}

// NATSSink publishes alerts to a JetStream subject, each with the message
// id "episode id:status:n", n counting the alerts of that episode: a
// re-emitted alert after a restart has the id it had, and JetStream drops
// it as a duplicate (within the stream's duplicate window).
type NATSSink struct {
	js      jetstream.JetStream
	subject string
	line    *geo.Line
	pol     detect.Policy
	counts  map[string]uint64 // alerts so far, by open episode id
	pending []jetstream.PubAckFuture
	timeout time.Duration
}

// NewNATSSink returns a sink publishing to subject, which a JetStream
// stream must capture (EnsureStream).
func NewNATSSink(js jetstream.JetStream, subject string, line *geo.Line, pol detect.Policy) *NATSSink {
	return &NATSSink{js: js, subject: subject, line: line, pol: pol, counts: map[string]uint64{}, timeout: 30 * time.Second}
}

func (s *NATSSink) Write(a detect.Alert) error {
	id := a.Episode.ID
	s.counts[id]++
	msgID := id + ":" + a.Status.String() + ":" + strconv.FormatUint(s.counts[id], 10)
	for _, r := range a.Replaces {
		delete(s.counts, r)
	}
	if a.Status == detect.Closed {
		delete(s.counts, id)
	}
	data := output.AppendAlert(nil, s.line, s.pol, a)
	m := &nats.Msg{Subject: s.subject, Data: data, Header: nats.Header{}}
	m.Header.Set(jetstream.MsgIDHeader, msgID)
	f, err := s.js.PublishMsgAsync(m)
	if err != nil {
		return fmt.Errorf("publishing alert %s: %w", msgID, err)
	}
	s.pending = append(s.pending, f)
	return nil
}

// Flush has nothing to do: publishing is under way.
func (s *NATSSink) Flush() error { return nil }

// Sync waits until JetStream has stored every alert published.
func (s *NATSSink) Sync() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	for _, f := range s.pending {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("publishing alert %s: %w", f.Msg().Header.Get(jetstream.MsgIDHeader), err)
		case <-ctx.Done():
			return fmt.Errorf("publishing alerts: no acknowledgement from JetStream in %s", s.timeout)
		}
	}
	s.pending = s.pending[:0]
	return nil
}

type natsSinkState struct{ Counts map[string]uint64 }

// State is the alert counts of the open episodes.
func (s *NATSSink) State() []byte {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(natsSinkState{s.counts}); err != nil {
		panic(err) // a map of strings to numbers always encodes
	}
	return b.Bytes()
}

func (s *NATSSink) Restore(state []byte) error {
	s.counts = map[string]uint64{}
	if len(state) == 0 {
		return nil
	}
	var st natsSinkState
	if err := gob.NewDecoder(bytes.NewReader(state)).Decode(&st); err != nil {
		return fmt.Errorf("checkpoint: alert counts: %w", err)
	}
	if st.Counts != nil {
		s.counts = st.Counts
	}
	return nil
}

func (s *NATSSink) Close() error { return s.Sync() }
