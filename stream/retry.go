package stream

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// transient tells whether a NATS or JetStream error may pass by itself:
// no answer in time (a request sent while a cluster elects a leader is
// lost, not refused), no responders, a connection being reestablished.
func transient(err error) bool {
	if err == nil {
		return false
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		// 10008: JetStream system temporarily unavailable.
		return apiErr.ErrorCode == 10008 || apiErr.Code == 503
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrDisconnected) || errors.Is(err, nats.ErrConnectionReconnecting) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount)
}

// retry calls f, each time with its own deadline of attempt, until it
// returns nil or an error that is not transient, or until total has
// passed (then it returns f's last error). A cluster that lost a server
// answers again once it has elected new leaders, within seconds; a
// request made meanwhile gets no answer, so waiting out one long deadline
// would waste the time the cluster took to recover.
func retry(total, attempt time.Duration, f func(ctx context.Context) error) error {
	deadline := time.Now().Add(total)
	pause := 100 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(context.Background(), min(attempt, max(time.Until(deadline), time.Millisecond)))
		err := f(ctx)
		cancel()
		if err == nil || !transient(err) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(pause)
		pause = min(2*pause, time.Second)
	}
}

// apiAttempt is how long one JetStream request is waited for.
const apiAttempt = 3 * time.Second
