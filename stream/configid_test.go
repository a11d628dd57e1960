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
		if got := ConfigID(line, tc.pol, nil, "LINEWATCH_SIGHTINGS"); got != tc.want {
			t.Errorf("ConfigID = %s, want %s", got, tc.want)
		}
	}
	// No affiliations and the default corroboration threshold keep the id
	// of a state begun before either existed (the pins above).
	if got := ConfigID(line, detect.DefaultPolicy(), map[string]string{}, "LINEWATCH_SIGHTINGS"); got != tests[0].want {
		t.Errorf("ConfigID with an empty registry = %s, want %s", got, tests[0].want)
	}
	corroborate2 := detect.DefaultPolicy()
	corroborate2.CorroborationMinAffiliations = 2
	base := ConfigID(line, detect.DefaultPolicy(), nil, "LINEWATCH_SIGHTINGS")
	for i, id := range []string{
		ConfigID(LineConfig{File: []byte("LINE2"), Left: "UA", Right: "RU"}, detect.DefaultPolicy(), nil, "LINEWATCH_SIGHTINGS"),
		ConfigID(LineConfig{File: []byte("LINE"), Left: "UA", Right: "RU", BufferM: 100}, detect.DefaultPolicy(), nil, "LINEWATCH_SIGHTINGS"),
		ConfigID(line, detect.DefaultPolicy(), nil, "OTHER"),
		ConfigID(line, detect.DefaultPolicy(), map[string]string{"obsA": "UA"}, "LINEWATCH_SIGHTINGS"),
		ConfigID(line, corroborate2, nil, "LINEWATCH_SIGHTINGS"),
		ConfigID(line, detect.DefaultPolicy(), nil, "LINEWATCH_SIGHTINGS", "obsA"),
	} {
		if id == base {
			t.Errorf("case %d: the same id for another configuration", i)
		}
	}
}
