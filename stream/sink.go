package stream

import (
	"encoding/binary"
	"errors"

	"github.com/nats-io/nats.go/jetstream"
)

// AlertSink is where alerts go. The driver writes the alerts of a batch —
// each a GeoJSON Feature as output.AppendAlert writes it, with the log's
// "log" member when the driver keeps a log — then calls Flush; before a
// checkpoint it calls Sync and records State, which Restore takes back
// after a restart.
type AlertSink interface {
	// Write writes one alert, a Feature without a line end; the sink
	// does not keep alert once Write returns.
	Write(alert []byte) error
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
	log *Log
}

// NewFileSink returns a sink writing to log.
func NewFileSink(log *Log) *FileSink {
	return &FileSink{log: log}
}

func (s *FileSink) Write(alert []byte) error {
	if _, err := s.log.Write(alert); err != nil {
		return err
	}
	_, err := s.log.Write(newline)
	return err
}

var newline = []byte{'\n'}

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

// NATSSink publishes alerts to a JetStream subject, one message each, in
// the order the engine emits them, through a NATSLog: each carries the
// message id "alert:N" (N counts the alerts from the start of the
// analysis), and a takeover or restart publishes none twice and loses
// none (see NATSLog).
type NATSSink struct {
	log *NATSLog
}

// NewNATSSink returns a sink publishing to subject, which a JetStream
// stream must capture (EnsureStream).
func NewNATSSink(js jetstream.JetStream, subject string) *NATSSink {
	return &NATSSink{log: NewNATSLog(js, subject, "alert")}
}

// SetOrigin names the analysis the alerts belong to (NATSLog.Origin).
func (s *NATSSink) SetOrigin(origin string) { s.log.Origin = origin }

func (s *NATSSink) Write(alert []byte) error {
	_, err := s.log.Write(alert)
	return err
}

// Flush has nothing to do: publishing is under way.
func (s *NATSSink) Flush() error { return nil }

// Sync waits until JetStream has stored every alert published.
func (s *NATSSink) Sync() error { return s.log.Sync() }

// State is how many alerts were written.
func (s *NATSSink) State() []byte {
	return binary.AppendUvarint([]byte{natsSinkState}, uint64(s.log.Len()))
}

// natsSinkState marks the state's format.
const natsSinkState = 1

func (s *NATSSink) Restore(state []byte) error {
	var n uint64
	if len(state) > 0 {
		var k int
		if state[0] == natsSinkState {
			n, k = binary.Uvarint(state[1:])
		}
		if k <= 0 {
			return errors.New("checkpoint: the alert position is not in this version's format: publish to another -o nats://SUBJECT, or start a new state")
		}
	}
	return s.log.Truncate(int64(n))
}

func (s *NATSSink) Close() error { return s.log.Close() }
