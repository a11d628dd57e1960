package detect

import (
	"math"
	"testing"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		edit func(*Policy)
		want string
	}{
		{func(p *Policy) { p.Window = 0 }, "policy: window: must be > 0, got 0s"},
		{func(p *Policy) { p.WindowOrigin = math.MaxInt64 }, "policy: window_origin: out of range (years 0000 to 9999)"},
		{func(p *Policy) { p.MinConfidence = 2 }, "policy: min_confidence: must be a number in [0, 1], got 2"},
		{func(p *Policy) { p.Weights.Fire = -1 }, "policy: weights: fire: must be a number ≥ 0, got -1"},
		{func(p *Policy) { p.SustainedMinHotWindows = 0 }, "policy: sustained_min_hot_windows: must be an integer ≥ 1, got 0"},
		{func(p *Policy) { p.HotScoreMicro = 0 }, "policy: hot_score: must be a number ≥ 0.000001 (scores are kept to 6 decimals), got 0"},
		{func(p *Policy) { p.HotScoreMicro = RoundMicro(5) }, ""},
		{func(p *Policy) { p.SignificantScoreMicro = RoundMicro(12.5) }, ""},
		{func(p *Policy) { p.SignificantScoreMicro = -1 }, "policy: significant_score: must be a number ≥ 0, got -0.000001"},
	}
	for i, tc := range tests {
		p := DefaultPolicy()
		tc.edit(&p)
		err := p.Validate()
		if got := errString(err); got != tc.want {
			t.Errorf("case %d: Validate() = %q, want %q", i, got, tc.want)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
