package stream_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/linewatch/linewatch/stream"
)

// A message that JetStream did not take the first time is published again
// by Sync with the bytes it was written with, even though the writer
// reused its buffer for the next one (the driver formats every alert and
// reject into one buffer).
func TestNATSLogRepublishesWhatWasWritten(t *testing.T) {
	b := startBroker(t, t.TempDir())
	defer b.Close()
	ctx := context.Background()
	l := stream.NewNATSLog(b.JS, "linewatch.out", "alert")
	l.Timeout = 10 * time.Second
	// No stream captures the subject yet: the two publishes fail.
	buf := []byte("first")
	if _, err := l.Write(buf); err != nil {
		t.Fatal(err)
	}
	copy(buf, "other")
	if _, err := l.Write(buf); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the failures come back
	st, err := stream.EnsureStream(ctx, b.JS, stream.StreamSpec{Name: "OUT", Subject: "linewatch.out", Duplicates: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Sync(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for seq := uint64(1); seq <= 2; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(m.Data)+" "+m.Header.Get(jetstream.MsgIDHeader))
	}
	if got[0] != "first alert:1" || got[1] != "other alert:2" {
		t.Fatalf("stored %q", got)
	}
}
