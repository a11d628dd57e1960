package stream

import (
	"errors"
	"testing"
)

// Only a failed write to the store's files makes the store watch restart
// the embedded server; a server still starting under load does not.
func TestWriteFailure(t *testing.T) {
	for _, tc := range []struct {
		msg  string
		want bool
	}{
		{"JetStream stream 'LINEWATCH_SIGHTINGS' is not current: write /s/1.blk: no space left on device", true},
		{"write /s/msgs/1.blk: file too large", true},
		{"read /s/1.blk: input/output error", true},
		{"failed to be ready for connections after 1ms: startup did not complete", false},
		{"JetStream is disabled", false},
		{"JetStream has not established contact with a meta leader", false},
	} {
		if got := writeFailure(errors.New(tc.msg)); got != tc.want {
			t.Errorf("writeFailure(%q) = %v, want %v", tc.msg, got, tc.want)
		}
	}
}
