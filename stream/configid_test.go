package stream

import (
	"testing"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/policy"
)

// TestConfigID pins the identity of a state: a state written before must
// still be recognised, and another policy, line or stream must not be.
func TestConfigID(t *testing.T) {
	other, err := policy.Parse([]byte("window: 7d\nhot_score: 2.5\nsignificant_score: 12.3456785\nweights: {fire: 0.25}\n"))
	if err != nil {
		t.Fatal(err)
	}
	line := LineConfig{File: []byte("LINE"), Left: "UA", Right: "RU"}
	tests := []struct {
		pol  detect.Policy
		want string
	}{
		{detect.DefaultPolicy(), "52a41a060f63f0fb5769c7dd4e45b59f"},
		{other, "fa2863599db2240c9330b8f45c395bc0"},
	}
	for _, tc := range tests {
		if got := ConfigID(line, tc.pol, "LINEWATCH_SIGHTINGS"); got != tc.want {
			t.Errorf("ConfigID = %s, want %s", got, tc.want)
		}
	}
	base := ConfigID(line, detect.DefaultPolicy(), "LINEWATCH_SIGHTINGS")
	for i, id := range []string{
		ConfigID(LineConfig{File: []byte("LINE2"), Left: "UA", Right: "RU"}, detect.DefaultPolicy(), "LINEWATCH_SIGHTINGS"),
		ConfigID(LineConfig{File: []byte("LINE"), Left: "UA", Right: "RU", BufferM: 100}, detect.DefaultPolicy(), "LINEWATCH_SIGHTINGS"),
		ConfigID(line, detect.DefaultPolicy(), "OTHER"),
	} {
		if id == base {
			t.Errorf("case %d: the same id for another configuration", i)
		}
	}
}
