package policy

import (
	"fmt"
	"math"
	"strconv"

	"github.com/linewatch/linewatch/detect"
	"github.com/linewatch/linewatch/internal/num"
)

// JSON writes the effective policy p, keys in SPEC §7 order, in the
// policy's own notation: durations as a policy writes them (24h, 7d, 1h30m),
// window_origin as RFC 3339 UTC, scores and weights at the 6 decimals they
// are used with. The output is itself a policy that Parse reads back to
// the same values (JSON is YAML).
func JSON(p detect.Policy) []byte {
	return appendJSONValue(make([]byte, 0, 640), entries(p))
}

// Map returns the effective policy p as JSON writes it, for reports:
// durations and window_origin as strings, numbers as float64 or int,
// weights as a map[string]any.
func Map(p detect.Policy) map[string]any {
	m := make(map[string]any, 20)
	for _, e := range entries(p) {
		m[e.key] = plainValue(e.val)
	}
	return m
}

type policyEntry struct {
	key string
	val any // string, float64, int, micro, or []policyEntry
}

// micro is a micro-unit value, written as its exact decimal.
type micro int64

func entries(p detect.Policy) []policyEntry {
	return []policyEntry{
		{"window", num.FormatDuration(p.Window)},
		{"window_origin", num.FormatTime(p.WindowOrigin)},
		{"sector_km", p.SectorKm},
		{"buffer_m", p.BufferM},
		{"max_track_gap", num.FormatDuration(p.MaxTrackGap)},
		{"min_confidence", p.MinConfidence},
		{"end_reach_m", p.EndReachM},
		{"allowed_lateness", num.FormatDuration(p.AllowedLateness)},
		{"max_future", num.FormatDuration(p.MaxFuture)},
		{"weights", []policyEntry{
			{"crossing", micro(detect.RoundMicro(p.Weights.Crossing))},
			{"incursion", micro(detect.RoundMicro(p.Weights.Incursion))},
			{"fire", micro(detect.RoundMicro(p.Weights.Fire))},
			{"buffer", micro(detect.RoundMicro(p.Weights.Buffer))},
		}},
		{"hot_score", micro(p.HotScoreMicro)},
		{"join_sectors", p.JoinSectors},
		{"join_gap_windows", p.JoinGapWindows},
		{"significant_score", micro(p.SignificantScoreMicro)},
		{"significant_depth_m", p.SignificantDepthM},
		{"significant_strength", p.SignificantStrength},
		{"deliberate_min_ground", p.DeliberateMinGround},
		{"deliberate_min_tracks", p.DeliberateMinTracks},
		{"sustained_min_hot_windows", p.SustainedMinHotWindows},
		{"corroboration_min_affiliations", p.CorroborationMinAffiliations},
	}
}

func appendJSONValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return strconv.AppendQuote(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	case micro:
		return num.AppendMicro(b, int64(v))
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return append(b, "null"...) // only in a Policy that fails Validate
		}
		return strconv.AppendFloat(b, v, 'f', -1, 64)
	case []policyEntry:
		b = append(b, '{')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, e.key)
			b = append(b, ':')
			b = appendJSONValue(b, e.val)
		}
		return append(b, '}')
	}
	panic(fmt.Sprintf("policy: value of type %T", v))
}

func plainValue(v any) any {
	switch v := v.(type) {
	case micro:
		return detect.MicroFloat(int64(v))
	case []policyEntry:
		m := make(map[string]any, len(v))
		for _, e := range v {
			m[e.key] = plainValue(e.val)
		}
		return m
	}
	return v
}
