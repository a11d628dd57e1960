package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// OriginHeader names, on every message a NATSLog publishes, the analysis
// it belongs to (NATSLog.Origin).
const OriginHeader = "Linewatch-Origin"

// NATSLog is an append-only log of messages on a JetStream subject, written
// by one engine at a time and resumable by any: the alerts (NATSSink) or
// the rejected records (--rejects nats://SUBJECT) of an analysis. It is
// the counterpart of Log for a state kept in JetStream, where a file on one
// host could not follow the engine to another.
//
// The N-th message written since the start of the analysis carries the
// message id "KIND:N", and is published on condition that the last
// message in the stream is the (N-1)-th (Nats-Expected-Last-Msg-Id).
// So the stream holds each message once, in order, whoever wrote it:
//
//   - A restart or takeover goes back to the position a checkpoint
//     recorded (Truncate) and runs the records after it again, which
//     gives the same messages again; those the stream holds already (its
//     last message says how far it got) are not published again.
//   - An engine that lost its place without knowing it (paused, or cut
//     off, while another took over) writes either exactly the message that
//     comes next — the same bytes the other would write: JetStream drops
//     the second copy as a duplicate — or fails on the condition, and
//     Sync returns ErrFenced.
//
// The stream must hold this log's messages only (a stream of its own).
type NATSLog struct {
	js      jetstream.JetStream
	subject string
	kind    string
	// Origin, if set, names the analysis (line, policy, sightings stream);
	// a log whose stream holds another's messages refuses to resume.
	Origin string
	// Timeout bounds the wait for JetStream's acknowledgements in Sync.
	Timeout time.Duration

	n       uint64 // messages written, or found stored
	skip    uint64 // messages 1..skip are stored already
	lastID  string // id of the stream's last message ("": none)
	pending []jetstream.PubAckFuture
}

// NewNATSLog returns a log on subject whose message ids start with kind.
// Call Truncate before writing.
func NewNATSLog(js jetstream.JetStream, subject, kind string) *NATSLog {
	return &NATSLog{js: js, subject: subject, kind: kind, Timeout: 30 * time.Second}
}

// Name is the log's subject, for messages.
func (l *NATSLog) Name() string { return "nats://" + l.subject }

// Len is the number of messages written since the start of the analysis.
func (l *NATSLog) Len() int64 { return int64(l.n) }

// Truncate goes back to position n (a checkpoint's Len): the next message
// written is the (n+1)-th. It reads the stream's last message to learn
// how far the log got (an engine may have written past the checkpoint
// before it stopped); the messages up to there are not published again.
func (l *NATSLog) Truncate(n int64) error {
	l.pending = l.pending[:0]
	var stored uint64
	var lastID string
	err := retry(l.Timeout, apiAttempt, func(ctx context.Context) error {
		name, err := l.js.StreamNameBySubject(ctx, l.subject)
		if err != nil {
			return fmt.Errorf("%s: no JetStream stream captures it: %w", l.Name(), err)
		}
		st, err := l.js.Stream(ctx, name)
		if err != nil {
			return fmt.Errorf("%s: %w", l.Name(), err)
		}
		info, err := st.Info(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", l.Name(), err)
		}
		stored, lastID = 0, ""
		if info.State.Msgs == 0 {
			return nil
		}
		m, err := st.GetMsg(ctx, info.State.LastSeq)
		if err != nil {
			return fmt.Errorf("%s: reading stream %s's last message: %w", l.Name(), name, err)
		}
		id := m.Header.Get(jetstream.MsgIDHeader)
		k, ok := l.ordinal(id)
		switch {
		case !ok:
			return fmt.Errorf("%s: stream %s's last message (sequence %d) is not a %s linewatch wrote: give this log a stream of its own", l.Name(), name, m.Sequence, l.kind)
		case l.Origin != "" && m.Header.Get(OriginHeader) != l.Origin:
			return fmt.Errorf("%s: stream %s holds the %ss of another analysis (another line, policy or sightings stream): publish to another subject, or purge it", l.Name(), name, l.kind)
		}
		stored, lastID = k, id
		if uint64(n) > stored {
			return fmt.Errorf("%s: stream %s holds %d %ss, fewer than the %d the checkpoint covers: it was purged or replaced", l.Name(), name, stored, l.kind, n)
		}
		return nil
	})
	if err != nil {
		return err
	}
	l.n, l.skip, l.lastID = uint64(n), stored, lastID
	return nil
}

// ordinal reads N from a message id "KIND:N".
func (l *NATSLog) ordinal(id string) (uint64, bool) {
	s, ok := strings.CutPrefix(id, l.kind+":")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil && n > 0
}

// Write publishes p (without a trailing newline) as the next message, or
// skips it if the stream holds it already.
func (l *NATSLog) Write(p []byte) (int, error) {
	l.n++
	if l.n <= l.skip {
		return len(p), nil
	}
	id := l.kind + ":" + strconv.FormatUint(l.n, 10)
	// A copy: the message may be published again (Sync) after the caller
	// has reused p.
	m := &nats.Msg{Subject: l.subject, Data: bytes.Clone(bytes.TrimSuffix(p, []byte("\n"))), Header: nats.Header{}}
	m.Header.Set(jetstream.MsgIDHeader, id)
	if l.lastID != "" {
		m.Header.Set(jetstream.ExpectedLastMsgIDHeader, l.lastID)
	}
	if l.Origin != "" {
		m.Header.Set(OriginHeader, l.Origin)
	}
	var f jetstream.PubAckFuture
	err := retry(l.Timeout, apiAttempt, func(context.Context) error {
		var err error
		f, err = l.js.PublishMsgAsync(m)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("publishing %s %s: %w", l.kind, id, err)
	}
	l.lastID = id
	l.pending = append(l.pending, f)
	return len(p), nil
}

// Flush has nothing to do: publishing is under way.
func (l *NATSLog) Flush() error { return nil }

// Sync waits until JetStream has stored every message published. When a
// message was not acknowledged (a server was lost on the way, say), it
// and every one after it are published again, one at a time, with the
// same ids: what was stored already is a duplicate JetStream drops. A
// message refused because another engine wrote the log meanwhile is
// ErrFenced.
func (l *NATSLog) Sync() error {
	ctx, cancel := context.WithTimeout(context.Background(), l.Timeout)
	defer cancel()
	for i, f := range l.pending {
		select {
		case <-f.Ok():
			continue
		case <-f.Err():
		case <-ctx.Done():
		}
		// From here on, again, in order.
		for _, g := range l.pending[i:] {
			if err := l.republish(g.Msg()); err != nil {
				return err
			}
		}
		break
	}
	l.pending = l.pending[:0]
	return nil
}

func (l *NATSLog) republish(m *nats.Msg) error {
	id := m.Header.Get(jetstream.MsgIDHeader)
	err := retry(l.Timeout, apiAttempt, func(ctx context.Context) error {
		_, err := l.js.PublishMsg(ctx, m)
		return err
	})
	var apiErr *jetstream.APIError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &apiErr) && apiErr.ErrorCode == errWrongLastMsgID:
		return fmt.Errorf("publishing %s %s to %s: %w (another engine wrote the stream meanwhile)", l.kind, id, l.Name(), ErrFenced)
	}
	return fmt.Errorf("publishing %s %s to %s: %w", l.kind, id, l.Name(), err)
}

// errWrongLastMsgID is JetStream's error code for a message refused on
// Nats-Expected-Last-Msg-Id.
const errWrongLastMsgID jetstream.ErrorCode = 10070

// Close waits for what is under way.
func (l *NATSLog) Close() error { return l.Sync() }
