package stream

import (
	"testing"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/geo"
)

// /healthz reads the consumed and the stream's last sequence together: the
// engine may have consumed records the last look at the stream (twice a
// second) did not see yet, and the last sequence is never shown below the
// consumed one.
func TestHealthSequencesConsistent(t *testing.T) {
	pol := detect.DefaultPolicy()
	l, err := geo.LoadFile("../fixtures/lines/front-2024.geojson", pol.LineOptions())
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics()
	m.setStreamLast(5)
	m.setEngine(&Counts{}, detect.NewStream(detect.NewJudge(l, pol)), 10)
	h := m.Health()
	if h.Consumed == nil || h.StreamLast == nil || h.Lag == nil {
		t.Fatalf("health %+v", h)
	}
	if *h.StreamLast < *h.Consumed || *h.Lag != 0 {
		t.Fatalf("stream_last_seq %d below consumed_seq %d (lag %d)", *h.StreamLast, *h.Consumed, *h.Lag)
	}
	m.setStreamLast(12)
	if h := m.Health(); *h.StreamLast != 12 || *h.Lag != 2 {
		t.Fatalf("after the stream grew: %+v", h)
	}
}
